// A proposed variant of search::detail::scan, benchmarked beside the library's to quantify a change to
// include/surgery/search/chain.hpp (not used by the library; same results, checked at start-up).
//
// Differences from the library's scan (same bit-parallel recurrence F(n) = B(n) & (last | F(next) >> 1)):
//  1. the successor's F is carried in a register when next == p + 1 (the common case: a chain is
//     usually consecutive in topological order), so the loop-carried dependency no longer goes
//     through a store and a reload of f[] (store-forwarding latency was the floor on long paths);
//     other successors read f[next], and "no successor" reads a zero sentinel f[n];
//  2. no data-dependent branch in the reverse pass: no `if (!b) continue` (B = 0 gives F = 0
//     anyway), and match starts (bit 0 of F) are appended unconditionally to a buffer whose length
//     advances by F & 1. On CNN-like graphs both branches were taken at random (~20%);
//  3. the forward pass visits only the collected starts, not all N nodes;
//  4. no `claimed` array: a claimed node gets F = 0. Every node on the path of a start has a non-zero
//     F (bit j at step j), so "some node on the path has F == 0" is exactly "it overlaps a match";
//  5. f and the start buffer are not zero-initialised (every entry used is written first).
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
    std::unique_ptr<Mask[]> f(new Mask[n_nodes + 1]); // default-initialised: written before read
    f[n_nodes] = 0;                                   // F of "no successor"
    std::unique_ptr<std::uint32_t[]> starts(new std::uint32_t[n_nodes]);
    std::size_t n_starts = 0; // starts[0..n_starts): decreasing positions
    const Mask last = static_cast<Mask>(Mask{1} << (k - 1));
    Mask carried = 0; // F of position p + 1
    for (std::size_t p = n_nodes; p-- > 0;) {
        const std::uint32_t nx = next[p];
        Mask succ;
        if (nx == p + 1) succ = carried; // predictable: taken along every chain
        else succ = f[nx != ir::flow_index::npos ? nx : n_nodes];
        const Mask fp = static_cast<Mask>(positions(p) & (last | (succ >> 1)));
        f[p] = fp;
        carried = fp;
        starts[n_starts] = static_cast<std::uint32_t>(p);
        n_starts += fp & 1u;
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
