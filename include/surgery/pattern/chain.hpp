// pattern::chain<Ps...>: a straight chain of single-node patterns, with its window tables computed at compile time.
//
// The searcher matches all window alignments at once (bit-parallel, one bit per chain position), so
// a failed partial match never needs a rescan: the "restart table" is the per-op-kind position mask
// below, built by the compiler. This is exact for wildcards, alternatives and predicates, where a
// KMP failure function is not (two positions may accept the same node without being equal).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "surgery/pattern/op.hpp"

namespace surgery::pattern {

/// The smallest unsigned type with at least `N` bits (N <= 64).
template <std::size_t N>
using mask_for = std::conditional_t<(N <= 8), std::uint8_t,
                                    std::conditional_t<(N <= 16), std::uint16_t, std::conditional_t<(N <= 32), std::uint32_t, std::uint64_t>>>;

/// Longest chain the searcher handles (one bit of a 64-bit word per position).
inline constexpr std::size_t max_chain_length = 64;

struct chain_tag {};

/// A straight chain `P0 -> P1 -> ... -> Pn-1`: each node's only consumer is the next one.
template <class... Ps>
struct chain : chain_tag {
    static_assert(sizeof...(Ps) > 0, "surgery::pattern::chain<Ps...>: a chain needs at least one op pattern, e.g. chain<op<ir::ops::Relu>>");
    static_assert(sizeof...(Ps) <= max_chain_length,
                  "surgery::pattern::chain<Ps...>: a chain has at most 64 positions; split it into two rules");
    static_assert((single_node_pattern<Ps> && ...),
                  "surgery::pattern::chain<Ps...>: every element must be a single-node pattern (pattern::op<T>, "
                  "pattern::any_of<...>, pattern::any_op); for branching shapes use pattern::node<...>");

    static constexpr std::size_t size = sizeof...(Ps);
    using mask_type = mask_for<sizeof...(Ps)>;
    using elements = std::tuple<Ps...>;

    /// base[k]: chain positions that every node of kind k matches (bit j = position j).
    static constexpr std::array<mask_type, ir::op_count> base = [] {
        std::array<mask_type, ir::op_count> t{};
        for (std::size_t k = 0; k < ir::op_count; ++k) {
            std::size_t j = 0;
            mask_type m = 0;
            ((m = static_cast<mask_type>(m | (Ps::unconditional(static_cast<ir::OpKind>(k)) ? (mask_type{1} << j) : 0)), ++j), ...);
            t[k] = m;
        }
        return t;
    }();

    /// check[k]: chain positions a node of kind k matches only if that position's predicates hold.
    static constexpr std::array<mask_type, ir::op_count> check = [] {
        std::array<mask_type, ir::op_count> t{};
        for (std::size_t k = 0; k < ir::op_count; ++k) {
            std::size_t j = 0;
            mask_type m = 0;
            const auto kk = static_cast<ir::OpKind>(k);
            ((m = static_cast<mask_type>(m | ((Ps::accepts_kind(kk) && !Ps::unconditional(kk)) ? (mask_type{1} << j) : 0)), ++j), ...);
            t[k] = m;
        }
        return t;
    }();
    /// True when some position has predicates: otherwise the per-kind table alone decides.
    static constexpr bool has_checks = [] {
        for (mask_type c : check)
            if (c) return true;
        return false;
    }();

    /// Positions whose pattern accepts nodes the op catalogue does not know (wildcards).
    static constexpr mask_type unknown_kind = [] {
        std::size_t j = 0;
        mask_type m = 0;
        ((m = static_cast<mask_type>(m | (std::is_same_v<Ps, any_op> ? (mask_type{1} << j) : 0)), ++j), ...);
        return m;
    }();

    /// Evaluates the pattern at every position in `candidates` on node `n`; returns those that match.
    template <searchable_graph G>
    static mask_type refine(mask_type candidates, const G& g, node_t<G> n) {
        mask_type out = 0;
        std::size_t j = 0;
        ((out = static_cast<mask_type>(out | (((candidates >> j) & 1u) && Ps::test(g, n) ? (mask_type{1} << j) : 0)), ++j), ...);
        return out;
    }

    /// All positions node `n` matches (any graph).
    template <searchable_graph G>
    static mask_type positions(const G& g, node_t<G> n) {
        const auto k = kind_of(g, n);
        if (!k) return unknown_kind;
        const mask_type c = check[*k];
        return static_cast<mask_type>(base[*k] | (c ? refine(c, g, n) : mask_type{0}));
    }
};

namespace detail {
template <class T>
struct is_chain : std::false_type {};
template <class... Ps>
struct is_chain<chain<Ps...>> : std::true_type {};
} // namespace detail

/// A compile-time straight-chain pattern, `pattern::chain<...>`.
template <class P>
concept chain_pattern = detail::is_chain<P>::value;

} // namespace surgery::pattern
