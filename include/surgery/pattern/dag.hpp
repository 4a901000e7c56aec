// DAG patterns: pattern::node<OpP, Operands...> with shared captures, so that x * sigmoid(x) can be written.
//
//   using silu = node<op<Mul>, bind<0>, node<op<Sigmoid>, bind<0>>>;   // both operands are the same value
//
// Value patterns (operands): `value` (any value), `bind<I>` (capture slot I: the first occurrence
// binds it, later ones must see the same value), `bind<I, P>` (value produced by P, captured in I),
// `either<Ps...>` (alternatives), and `node<...>` (the value is produced by a matching node).
// Commutative ops (Add, Mul) match their two operands in either order.
#pragma once

#include <cstddef>
#include <type_traits>

#include "surgery/pattern/op.hpp"

namespace surgery::pattern {

/// Number of capture slots a DAG pattern may use.
inline constexpr std::size_t max_captures = 16;

struct value_tag {};

/// Any value (a graph input, a constant or a node output); not captured.
struct value : value_tag {};

/// Capture slot `I`: the first occurrence binds the value (after matching `P` against it), later
/// occurrences require the very same value.
template <std::size_t I, class P = value>
struct bind : value_tag {
    static_assert(I < max_captures, "surgery::pattern::bind<I, P>: capture slots are 0..15; reuse slots or split the pattern");
    static constexpr std::size_t slot = I;
    using inner = P;
};

/// The value matches one of `Ps` (tried in order).
template <class... Ps>
struct either : value_tag {
    static_assert(sizeof...(Ps) > 0, "surgery::pattern::either<Ps...>: give at least one alternative");
};

/// A value produced by a node matched by `OpP` whose first inputs match `Operands...` (further
/// inputs, such as weights, are not constrained).
template <class OpP, class... Operands>
struct node : value_tag {
    static_assert(single_node_pattern<OpP>,
                  "surgery::pattern::node<OpP, Operands...>: OpP must be a single-node pattern such as "
                  "pattern::op<ir::ops::Mul>; the operands follow it, e.g. node<op<Mul>, bind<0>, value>");
    static_assert((std::is_base_of_v<value_tag, Operands> && ...),
                  "surgery::pattern::node<OpP, Operands...>: each operand must be a value pattern (pattern::value, "
                  "pattern::bind<I>, pattern::either<...> or pattern::node<...>)");
    using op_pattern = OpP;
    static constexpr std::size_t arity = sizeof...(Operands);
};

namespace detail {
template <class P>
struct capture_count : std::integral_constant<std::size_t, 0> {};
template <std::size_t I, class P>
struct capture_count<bind<I, P>> : std::integral_constant<std::size_t, (I + 1 > capture_count<P>::value ? I + 1 : capture_count<P>::value)> {};
template <class... Ps>
struct capture_count<either<Ps...>> : std::integral_constant<std::size_t, std::max({std::size_t{0}, capture_count<Ps>::value...})> {};
template <class OpP, class... Os>
struct capture_count<node<OpP, Os...>> : std::integral_constant<std::size_t, std::max({std::size_t{0}, capture_count<Os>::value...})> {};

template <class P>
struct node_count : std::integral_constant<std::size_t, 0> {};
template <std::size_t I, class P>
struct node_count<bind<I, P>> : node_count<P> {};
template <class... Ps>
struct node_count<either<Ps...>> : std::integral_constant<std::size_t, std::max({std::size_t{0}, node_count<Ps>::value...})> {};
template <class OpP, class... Os>
struct node_count<node<OpP, Os...>> : std::integral_constant<std::size_t, 1 + (node_count<Os>::value + ... + 0)> {};

template <class P>
struct is_node : std::false_type {};
template <class OpP, class... Os>
struct is_node<node<OpP, Os...>> : std::true_type {};
} // namespace detail

/// A DAG pattern: rooted at a `pattern::node<...>` (the node whose output leaves the match).
template <class P>
concept dag_pattern = detail::is_node<P>::value;

/// Capture slots used by `P` (one past the largest `bind` index).
template <class P>
inline constexpr std::size_t capture_count_v = detail::capture_count<P>::value;

/// Upper bound on the number of nodes a match of `P` contains.
template <class P>
inline constexpr std::size_t node_count_v = detail::node_count<P>::value;

} // namespace surgery::pattern
