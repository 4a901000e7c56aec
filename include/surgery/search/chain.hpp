// The sliding-window straight chain searcher: linear in the graph, exact for wildcards and predicates.
//
// Semantics (fixing the torch.fx original): consecutive nodes of a match are connected by data flow
// (node i's outputs are read by node i+1 and by nothing else); no interior value is a graph output;
// matches are leftmost in topological order and do not overlap; a failed partial match does not
// hide a later one (pattern [A,B] is found in A -> A -> B).
//
// How: every node has at most one "sole consumer" (the only node reading its outputs). A chain
// match is a path along sole-consumer links. One reverse pass over the topological order computes,
// for each node, the bit set F of chain positions j such that the pattern's suffix P[j..] matches
// the path starting at that node:  F(n) = B(n) & (last | F(next(n)) >> 1), where B(n) (positions
// node n satisfies) comes from the pattern's compile-time per-kind tables. A match starts at n iff
// bit 0 of F(n) is set. A forward pass over the starts then claims matches leftmost-first. Each node
// is visited at most twice, whatever the pattern; no recursion.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/graph_traits.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/search/match.hpp"

namespace surgery::search {

namespace detail {

inline constexpr std::uint32_t npos = ir::flow_index::npos;

/// Topological order and sole-consumer links of any searchable graph (ir::Graph caches its own).
template <searchable_graph G>
struct owned_flow {
    std::vector<node_t<G>> order;
    std::vector<std::uint32_t> next;
};

/// `graph_error` about the node at position `p` of a graph's topological order.
template <searchable_graph G>
[[noreturn]] void bad_order(const G& g, const node_t<G>& n, std::size_t p, const std::string& what) {
    std::string label(graph_traits<G>::op_name(g, n));
    label.append(" at position ").append(std::to_string(p)).append(" of graph_traits::topological_order");
    throw graph_error(label, what);
}

/// The position of each node of `order` (a graph's topological order) by node index, after checking
/// what the searchers rely on: indices below node_bound, each node at most once, and every producer
/// of a node that the order lists listed before it (not so after a cycle, or for an order that is not
/// topological). Nodes left out (a view of part of a graph) are outside: not searched from.
template <searchable_graph G>
[[nodiscard]] std::vector<std::uint32_t> order_positions(const G& g, std::span<const node_t<G>> order) {
    using T = graph_traits<G>;
    const std::size_t bound = T::node_bound(g);
    if (order.size() >= npos) throw graph_error("", "search: the graph has more nodes than the searcher indexes");
    std::vector<std::uint32_t> pos(bound, npos);
    for (std::size_t p = 0; p < order.size(); ++p) {
        const std::size_t i = T::index(g, order[p]);
        if (i >= bound) // not a node to ask the name of
            throw graph_error("position " + std::to_string(p) + " of graph_traits::topological_order",
                              "graph_traits::index is " + std::to_string(i) + ", not below graph_traits::node_bound (" + std::to_string(bound) + ")");
        if (pos[i] != npos) bad_order(g, order[p], p, "the node is listed twice");
        pos[i] = static_cast<std::uint32_t>(p);
    }
    for (std::size_t p = 0; p < order.size(); ++p) {
        for_each_input(g, order[p], [&](std::size_t s, const std::optional<value_t<G>>& v) {
            if (!v) return;
            const auto pr = T::producer(g, *v);
            if (!pr) return;
            const std::size_t i = T::index(g, *pr);
            if (i < bound && pos[i] == npos) return; // left out of the order
            if (i >= bound || pos[i] >= p)
                bad_order(g, order[p], p, "the producer of input " + std::to_string(s) +
                                              " is not listed before it (the graph has a cycle, or the order is not topological)");
        });
    }
    return pos;
}

template <searchable_graph G>
owned_flow<G> build_flow(const G& g) {
    using T = graph_traits<G>;
    owned_flow<G> f;
    for (auto&& n : T::topological_order(g)) f.order.push_back(n);
    const std::size_t n_nodes = f.order.size();
    const std::vector<std::uint32_t> pos = order_positions(g, std::span<const node_t<G>>(f.order));
    f.next.assign(n_nodes, npos);
    for (std::size_t p = 0; p < n_nodes; ++p) {
        const auto& n = f.order[p];
        std::optional<node_t<G>> sole;
        bool ok = true;
        const std::size_t no = T::num_outputs(g, n);
        for (std::size_t o = 0; o < no && ok; ++o) {
            const auto v = T::output(g, n, o);
            if (T::is_graph_output(g, v)) {
                ok = false;
                break;
            }
            for (auto&& c : T::consumers(g, v)) {
                if (!sole) sole = c;
                else if (!(c == *sole)) {
                    ok = false;
                    break;
                }
            }
        }
        if (ok && sole) {
            const std::size_t i = T::index(g, *sole);
            if (i >= pos.size() || (pos[i] != npos && pos[i] <= p))
                bad_order(g, n, p, "graph_traits::consumers names a node that is not listed after it");
            f.next[p] = pos[i]; // npos for a consumer left out of the order: a chain stops there
        }
    }
    return f;
}

/// The core: positions(p) gives the pattern positions the node at topological position p satisfies.
/// Calls `visit(std::span<const std::uint32_t> match_positions)` for each match, leftmost first.
///
/// Tuned for the common case (measured in bench/bench_search.cpp): the reverse pass carries the
/// successor's F in a register when it is the next position in topological order (chains usually
/// are consecutive), so the loop-carried dependency does not go through memory; it has no
/// data-dependent branch (match starts are appended unconditionally, the length advancing by bit 0
/// of F); the forward pass visits only the starts. A claimed node gets F = 0: every node on the
/// path of a start has a non-zero F (bit j at step j), so a zero F on the path means an overlap.
template <class Mask, class PositionsFn, class Visit>
void scan(std::size_t n_nodes, const std::uint32_t* next, std::size_t k, PositionsFn&& positions, Visit&& visit) {
    if (n_nodes == 0 || k == 0) return;
    std::unique_ptr<Mask[]> f(new Mask[n_nodes + 1]); // every entry read is written first
    f[n_nodes] = 0;                                   // F of "no successor"
    std::unique_ptr<std::uint32_t[]> starts(new std::uint32_t[n_nodes]);
    std::size_t n_starts = 0; // starts[0, n_starts): decreasing positions
    const Mask last = static_cast<Mask>(Mask{1} << (k - 1));
    Mask carried = 0; // F of position p + 1
    for (std::size_t p = n_nodes; p-- > 0;) {
        const std::uint32_t nx = next[p];
        const Mask succ = nx == p + 1 ? carried : f[nx != npos ? nx : n_nodes];
        const Mask fp = static_cast<Mask>(positions(p) & (last | (succ >> 1)));
        f[p] = fp;
        carried = fp;
        starts[n_starts] = static_cast<std::uint32_t>(p);
        n_starts += static_cast<std::size_t>(fp & 1u);
    }
    std::vector<std::uint32_t> path(k);
    for (std::size_t i = n_starts; i-- > 0;) {
        std::uint32_t q = starts[i];
        bool free = true;
        for (std::size_t j = 0; j < k; ++j) {
            if (!f[q]) {
                free = false;
                break;
            }
            path[j] = q;
            if (j + 1 < k) q = next[q];
        }
        if (!free) continue;
        for (std::uint32_t x : path) f[x] = 0;
        visit(std::span<const std::uint32_t>(path));
    }
}

template <searchable_graph G>
struct flow_ref {
    std::span<const node_t<G>> order;
    const std::uint32_t* next;
    const ir::OpKind* kinds; ///< null when the graph gives no cached kinds
};

/// Runs `body(flow_ref)` on the graph's cached flow index, or on one built for the call.
template <searchable_graph G, class Body>
void with_flow(const G& g, Body&& body) {
    if constexpr (graph_with_flow_index<G>) {
        const ir::flow_index& fi = graph_traits<G>::flow(g);
        body(flow_ref<G>{std::span<const node_t<G>>(fi.order), fi.next.data(), fi.kinds.data()});
    } else {
        const owned_flow<G> f = build_flow(g);
        body(flow_ref<G>{std::span<const node_t<G>>(f.order), f.next.data(), nullptr});
    }
}

template <searchable_graph G>
match<G> make_match(const G& g, std::span<const node_t<G>> order, std::span<const std::uint32_t> path) {
    match<G> m;
    m.nodes.reserve(path.size());
    for (std::uint32_t p : path) m.nodes.push_back(order[p]);
    fill_boundary(g, m);
    return m;
}

} // namespace detail

/// Calls `visit(std::span<const node_t<G>> nodes)` for every match of chain `P`, leftmost first,
/// without building match objects (the cheapest way to count or collect matches).
template <pattern::chain_pattern P, searchable_graph G, class Visit>
void for_each_chain(const G& g, P, Visit&& visit) {
    using Mask = typename P::mask_type;
    detail::with_flow(g, [&](const detail::flow_ref<G>& fr) {
        std::vector<node_t<G>> nodes(P::size);
        auto on_match = [&](std::span<const std::uint32_t> path) {
            for (std::size_t j = 0; j < path.size(); ++j) nodes[j] = fr.order[path[j]];
            visit(std::span<const node_t<G>>(nodes));
        };
        if (fr.kinds) {
            detail::scan<Mask>(fr.order.size(), fr.next, P::size,
                               [&](std::size_t p) -> Mask {
                                   const ir::OpKind k = fr.kinds[p];
                                   if constexpr (!P::has_checks) {
                                       return P::base[k]; // no predicates: one table lookup
                                   } else {
                                       const Mask c = P::check[k];
                                       return static_cast<Mask>(P::base[k] | (c ? P::refine(c, g, fr.order[p]) : Mask{0}));
                                   }
                               },
                               on_match);
        } else {
            detail::scan<Mask>(fr.order.size(), fr.next, P::size, [&](std::size_t p) -> Mask { return P::positions(g, fr.order[p]); },
                               on_match);
        }
    });
}

/// Every match of chain pattern `P` in `g`: leftmost in topological order, non-overlapping, each
/// with its nodes (in chain order), entry values and exit values.
template <pattern::chain_pattern P, searchable_graph G>
[[nodiscard]] std::vector<match<G>> find_chains(const G& g, P pat = {}) {
    std::vector<match<G>> out;
    for_each_chain(g, pat, [&](std::span<const node_t<G>> nodes) {
        match<G> m;
        m.nodes.assign(nodes.begin(), nodes.end());
        m.bound = m.nodes;
        detail::fill_boundary(g, m);
        out.push_back(std::move(m));
    });
    return out;
}

/// Number of matches of `P` (no match objects are built).
template <class P, searchable_graph G>
[[nodiscard]] std::size_t count_chains(const G& g, const P& pat) {
    std::size_t n = 0;
    for_each_chain(g, pat, [&](auto) { ++n; });
    return n;
}

} // namespace surgery::search

// Chains given as text (runtime_chain) are searched through their pattern program.
#include "surgery/search/program.hpp" // IWYU pragma: export
