// Baseline: the paper's window search without a restart table (try the pattern forward from every node, rescanning).
//
// Same match semantics as surgery::search::for_each_chain, so the counts can be checked equal:
// consecutive nodes are linked by data flow (node i's outputs are read by node i+1 and by no other
// node, and are not graph outputs), matches are leftmost in topological order and do not overlap.
// What is missing is the searcher's trick: after a failed partial match this code starts again
// from the next node, so a node can be examined up to k times (O(N*k)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/pattern/runtime_chain.hpp"

namespace surgery::bench {

/// A chain as the naive search sees it: for each position, the set of accepted op kinds (bit k).
struct naive_chain {
    std::vector<std::uint64_t> accepts;

    explicit naive_chain(const pattern::runtime_chain& rc) {
        for (const auto& p : rc.positions()) {
            std::uint64_t m = 0;
            for (auto k : p.kinds) m |= std::uint64_t{1} << k;
            accepts.push_back(p.any ? ~std::uint64_t{0} : m);
        }
    }
    [[nodiscard]] std::size_t size() const noexcept { return accepts.size(); }
    [[nodiscard]] bool accepts_at(std::size_t j, ir::OpKind k) const noexcept { return (accepts[j] >> k) & 1u; }
};

/// The paper's loop on the graph itself, as torch.fx code would do it with `node.users`: for each
/// node in topological order, walk forward through sole consumers while the ops match. The sole
/// consumer is recomputed from the use lists at every step (nothing precomputed).
template <class Visit>
void naive_window_graph(const ir::Graph& g, const naive_chain& pat, Visit&& visit) {
    const auto& order = g.topological_order();
    const std::size_t k = pat.size();
    std::vector<std::uint8_t> claimed(g.node_bound(), 0);
    std::vector<ir::NodeId> path(k);
    auto sole_consumer = [&g](ir::NodeId n) -> ir::NodeId {
        ir::NodeId sole;
        for (ir::ValueId o : g.node(n).outputs) {
            if (g.is_output(o)) return ir::NodeId{};
            for (const ir::Use& u : g.value(o).uses) {
                if (!sole) sole = u.node;
                else if (sole != u.node) return ir::NodeId{};
            }
        }
        return sole;
    };
    for (ir::NodeId start : order) {
        ir::NodeId q = start;
        std::size_t j = 0;
        for (; j < k; ++j) {
            if (claimed[q.index()] || !pat.accepts_at(j, g.node(q).kind())) break;
            path[j] = q;
            if (j + 1 < k) {
                q = sole_consumer(q);
                if (!q) {
                    j = k + 1; // no link: fail
                    break;
                }
            }
        }
        if (j != k) continue;
        for (ir::NodeId n : path) claimed[n.index()] = 1;
        visit(static_cast<const std::vector<ir::NodeId>&>(path));
    }
}

/// The same loop on the graph's cached flow index (op kinds and sole-consumer links as arrays),
/// i.e. on exactly the data the library's searcher reads: isolates the algorithm from the layout.
template <class Visit>
void naive_window_flow(const ir::flow_index& fi, const naive_chain& pat, Visit&& visit) {
    const std::size_t n = fi.order.size(), k = pat.size();
    std::vector<std::uint8_t> claimed(n, 0);
    std::vector<std::uint32_t> path(k);
    for (std::size_t p = 0; p < n; ++p) {
        std::uint32_t q = static_cast<std::uint32_t>(p);
        std::size_t j = 0;
        for (; j < k; ++j) {
            if (claimed[q] || !pat.accepts_at(j, fi.kinds[q])) break;
            path[j] = q;
            if (j + 1 < k) {
                q = fi.next[q];
                if (q == ir::flow_index::npos) {
                    j = k + 1;
                    break;
                }
            }
        }
        if (j != k) continue;
        for (std::uint32_t x : path) claimed[x] = 1;
        visit(static_cast<const std::vector<std::uint32_t>&>(path));
    }
}

} // namespace surgery::bench
