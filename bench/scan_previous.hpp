// Baseline: the chain searcher's scan as it was before commit 4c8c297 (kept to measure that change in the same run).
//
// Same bit-parallel recurrence as search::detail::scan, F(n) = B(n) & (last | F(next) >> 1), but:
// a data-dependent branch in the reverse pass (`if (!b) continue`), the successor's F always
// reloaded from f[] (on a path the loop-carried dependency goes through a store and a reload), a
// forward pass over all N nodes and a separate zero-initialised `claimed` array. The library's
// current scan (include/surgery/search/chain.hpp) was derived from this benchmark's measurements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "surgery/ir/graph.hpp"

namespace surgery::bench {

template <class Mask, class PositionsFn, class Visit>
void scan_previous(std::size_t n_nodes, const std::uint32_t* next, std::size_t k, PositionsFn&& positions, Visit&& visit) {
    if (n_nodes == 0 || k == 0) return;
    std::vector<Mask> f(n_nodes);
    const Mask last = static_cast<Mask>(Mask{1} << (k - 1));
    for (std::size_t p = n_nodes; p-- > 0;) {
        const Mask b = positions(p);
        if (!b) continue; // f[p] stays 0
        const std::uint32_t nx = next[p];
        const Mask tail = nx != ir::flow_index::npos ? static_cast<Mask>(last | (f[nx] >> 1)) : last;
        f[p] = static_cast<Mask>(b & tail);
    }
    std::vector<std::uint8_t> claimed(n_nodes, 0);
    std::vector<std::uint32_t> path(k);
    for (std::size_t p = 0; p < n_nodes; ++p) {
        if (!(f[p] & 1u) || claimed[p]) continue;
        std::uint32_t q = static_cast<std::uint32_t>(p);
        bool free = true;
        for (std::size_t j = 0; j < k; ++j) {
            if (claimed[q]) {
                free = false;
                break;
            }
            path[j] = q;
            if (j + 1 < k) q = next[q];
        }
        if (!free) continue;
        for (std::uint32_t x : path) claimed[x] = 1;
        visit(std::span<const std::uint32_t>(path));
    }
}

/// count_chains for a compile-time chain `P` on an ir::Graph, with the previous scan (same pattern tables).
template <class P>
std::size_t count_chains_previous(const ir::Graph& g) {
    using Mask = typename P::mask_type;
    const ir::flow_index& fi = g.flow();
    const ir::OpKind* kinds = fi.kinds.data();
    std::size_t count = 0;
    scan_previous<Mask>(
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
