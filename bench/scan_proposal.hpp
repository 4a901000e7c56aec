// A proposed variant of search::detail::scan, benchmarked beside the library's to quantify a change to
// include/surgery/search/chain.hpp (not used by the library; same results, checked at start-up).
//
// Differences from the library's scan (same bit-parallel recurrence F(n) = B(n) & (last | F(next) >> 1)):
//  1. the match starts (bit 0 of F) are collected during the reverse pass, so the forward pass visits
//     only them instead of all N nodes (it was a second full pass with an unpredictable branch);
//  2. no `claimed` array: a claimed node gets F = 0. Every node on the path of a start has a non-zero
//     F (bit j at step j), so "some node on the path has F == 0" is exactly "it overlaps a match";
//  3. f is not zero-initialised: nodes that match no position write 0 explicitly.
// A branch-free reverse pass (zero sentinel for "no successor", no `if (!b)`) was measured too and
// was slower: the serial dependency f[p] <- f[next[p]] then runs for every node instead of ~80%.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "surgery/ir/graph.hpp"

namespace surgery::bench {

template <class Mask, class PositionsFn, class Visit>
void scan_proposal(std::size_t n_nodes, const std::uint32_t* next, std::size_t k, PositionsFn&& positions, Visit&& visit) {
    if (n_nodes == 0 || k == 0) return;
    std::unique_ptr<Mask[]> f(new Mask[n_nodes]); // default-initialised: every entry is written below
    const Mask last = static_cast<Mask>(Mask{1} << (k - 1));
    std::vector<std::uint32_t> starts; // decreasing positions
    for (std::size_t p = n_nodes; p-- > 0;) {
        const Mask b = positions(p);
        if (!b) {
            f[p] = 0;
            continue;
        }
        const std::uint32_t nx = next[p];
        const Mask fp = static_cast<Mask>(b & (nx != ir::flow_index::npos ? static_cast<Mask>(last | (f[nx] >> 1)) : last));
        f[p] = fp;
        if (fp & 1u) starts.push_back(static_cast<std::uint32_t>(p));
    }
    std::vector<std::uint32_t> path(k);
    for (std::size_t i = starts.size(); i-- > 0;) {
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

/// count_chains for a compile-time chain `P` on an ir::Graph, with the proposed scan.
template <class P>
std::size_t count_chains_proposal(const ir::Graph& g) {
    using Mask = typename P::mask_type;
    const ir::flow_index& fi = g.flow();
    const ir::OpKind* kinds = fi.kinds.data();
    std::size_t count = 0;
    scan_proposal<Mask>(
        fi.order.size(), fi.next.data(), P::size,
        [&](std::size_t p) -> Mask {
            const ir::OpKind k = kinds[p];
            const Mask c = P::check[k];
            return static_cast<Mask>(P::base[k] | (c ? P::refine(c, g, fi.order[p]) : Mask{0}));
        },
        [&](std::span<const std::uint32_t>) { ++count; });
    return count;
}

} // namespace surgery::bench
