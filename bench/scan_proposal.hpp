// A proposed variant of search::detail::scan, benchmarked beside the library's to quantify a change to
// include/surgery/search/chain.hpp (not used by the library; same results, checked at start-up).
//
// Differences from the library's scan (same bit-parallel recurrence F(n) = B(n) & (last | F(next) >> 1)):
//  1. branch-free reverse pass: no `if (!b) continue`, and the missing successor reads a zero
//     sentinel f[n] instead of testing `next == npos` (random op kinds made both branches mispredict);
//  2. f is not zero-initialised (every entry is written) and the match starts (bit 0) are collected
//     during the reverse pass, so there is no second pass over all N nodes;
//  3. no `claimed` array: a claimed node gets f = 0. Every node on the path of a start has a non-zero
//     f (bit j at step j), so "some node on the path has f == 0" is exactly "it overlaps a match".
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
    std::unique_ptr<Mask[]> f(new Mask[n_nodes + 1]); // default-initialised: no memset
    f[n_nodes] = 0;                                   // sentinel read for "no sole consumer"
    const Mask last = static_cast<Mask>(Mask{1} << (k - 1));
    std::vector<std::uint32_t> starts; // decreasing positions
    for (std::size_t p = n_nodes; p-- > 0;) {
        const std::uint32_t nx = next[p];
        const std::size_t succ = nx != ir::flow_index::npos ? nx : n_nodes;
        const Mask fp = static_cast<Mask>(positions(p) & (last | (f[succ] >> 1)));
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
