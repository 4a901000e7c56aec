// Single-node patterns: pattern::op<Op, Preds...>, pattern::any_of<Ps...>, pattern::any_op.
//
// A single-node pattern is a type with
//   static constexpr bool accepts_kind(ir::OpKind)   // could match some node of that kind
//   static constexpr bool unconditional(ir::OpKind)  // matches every node of that kind (no predicate)
//   template <class G> static bool test(const G&, node_t<G>)
// The searcher builds its compile-time tables from the first two and calls `test` only where a
// predicate has to look at attributes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <variant>

#include "surgery/graph_traits.hpp"
#include "surgery/ir/ops.hpp"

namespace surgery::pattern {

namespace detail {
template <class...>
inline constexpr bool always_false = false;

template <class Pred, class Op, class G>
bool eval_predicate(const Op& attrs, const G& g, node_t<G> n) {
    if constexpr (std::is_invocable_r_v<bool, const Pred&, const Op&>) {
        return Pred{}(attrs);
    } else if constexpr (std::is_invocable_r_v<bool, const Pred&, const Op&, const G&, node_t<G>>) {
        return Pred{}(attrs, g, n);
    } else {
        static_assert(always_false<Pred, Op>,
                      "surgery::pattern::op<Op, Preds...>: a predicate must be callable as pred(const Op&) -> bool, or as "
                      "pred(const Op&, const Graph&, node) -> bool for the graph being searched; check the predicate's "
                      "parameter type against Op");
        return false;
    }
}
} // namespace detail

/// Tag base of single-node patterns (op, any_of, any_op).
struct single_node_tag {};

/// A pattern that matches one node.
template <class P>
concept single_node_pattern = std::is_base_of_v<single_node_tag, P> && requires(ir::OpKind k) {
    { P::accepts_kind(k) } -> std::same_as<bool>;
    { P::unconditional(k) } -> std::same_as<bool>;
};

/// Matches a node whose op is `Op` and whose attributes satisfy every predicate in `Preds`.
/// A predicate is a default-constructible callable type: `pattern::kernel<7, 7>`, `pattern::depthwise`,
/// or a lambda type such as `decltype([](const ir::ops::Conv& c) { return c.group == 1; })`.
template <class Op, class... Preds>
struct op : single_node_tag {
    static_assert(ir::is_op_v<Op>,
                  "surgery::pattern::op<Op, Preds...>: Op must be an op type of the catalogue, e.g. ir::ops::Conv or "
                  "ir::ops::Relu (see surgery/ir/ops.hpp)");
    static_assert((std::is_default_constructible_v<Preds> && ...),
                  "surgery::pattern::op<Op, Preds...>: a predicate must be a default-constructible type such as "
                  "pattern::kernel<7, 7> or decltype([](const Op&) { return ...; }) (a lambda without captures)");

    using op_type = Op;
    static constexpr ir::OpKind kind = [] {
        if constexpr (ir::is_op_v<Op>)
            return ir::op_kind_v<Op>;
        else
            return ir::OpKind{0};
    }();
    static constexpr bool has_predicates = sizeof...(Preds) > 0;

    static constexpr bool accepts_kind(ir::OpKind k) noexcept { return k == kind; }
    static constexpr bool unconditional(ir::OpKind k) noexcept { return !has_predicates && k == kind; }

    /// Evaluates the predicates on a node already known to be of kind `Op`.
    template <class G>
    static bool test_attributes(const G& g, node_t<G> n) {
        if constexpr (!has_predicates) {
            return true;
        } else {
            static_assert(graph_with_attributes<G, Op>,
                          "surgery::pattern::op<Op, Preds...>: attribute predicates need typed attributes from the graph; "
                          "add `template <class Op> static const Op* attributes(const G&, node_type)` to your "
                          "surgery::graph_traits specialisation, or drop the predicates");
            const Op* a = graph_traits<G>::template attributes<Op>(g, n);
            if (!a) return false;
            return (detail::eval_predicate<Preds>(*a, g, n) && ...);
        }
    }

    template <searchable_graph G>
    static bool test(const G& g, node_t<G> n) {
        const auto k = kind_of(g, n);
        return k && *k == kind && test_attributes(g, n);
    }
};

/// Matches a node matched by any of `Ps` (each a single-node pattern).
template <class... Ps>
struct any_of : single_node_tag {
    static_assert(sizeof...(Ps) > 0, "surgery::pattern::any_of<Ps...>: give at least one alternative");
    static_assert((single_node_pattern<Ps> && ...),
                  "surgery::pattern::any_of<Ps...>: every alternative must be a single-node pattern "
                  "(pattern::op<T>, pattern::any_of<...>, pattern::any_op)");

    static constexpr bool accepts_kind(ir::OpKind k) noexcept { return (Ps::accepts_kind(k) || ...); }
    static constexpr bool unconditional(ir::OpKind k) noexcept { return (Ps::unconditional(k) || ...); }

    template <searchable_graph G>
    static bool test(const G& g, node_t<G> n) {
        return (Ps::test(g, n) || ...);
    }
};

/// Matches any node (wildcard).
struct any_op : single_node_tag {
    static constexpr bool accepts_kind(ir::OpKind) noexcept { return true; }
    static constexpr bool unconditional(ir::OpKind) noexcept { return true; }
    template <searchable_graph G>
    static bool test(const G&, node_t<G>) {
        return true;
    }
};

/// A string usable as a template argument: `named_op<"MyNpuOp">`.
template <std::size_t N>
struct fixed_string {
    char data[N]{};
    constexpr fixed_string(const char (&s)[N]) noexcept { // NOLINT: implicit on purpose, from a literal
        for (std::size_t i = 0; i < N; ++i) data[i] = s[i];
    }
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {data, N - 1}; }
};

namespace detail {
/// The catalogue kind a `named_op` names (`Relu`, `ai.onnx::Relu`, `com.microsoft::...`), if any.
[[nodiscard]] constexpr std::optional<ir::OpKind> named_kind(std::string_view name) noexcept {
    const ir::op_name_parts parts = ir::split_op_name(name);
    return ir::kind_from_name(parts.name, parts.domain);
}
template <fixed_string Name>
inline constexpr std::optional<ir::OpKind> catalogue_kind = named_kind(Name.view());
template <fixed_string Name>
struct named_attrs {
    using type = ir::ops::Opaque;
};
template <fixed_string Name>
    requires(catalogue_kind<Name>.has_value())
struct named_attrs<Name> {
    using type = std::variant_alternative_t<*catalogue_kind<Name>, ir::Op>;
};
} // namespace detail

/// Matches a node by ONNX op_type: a catalogue op (then the same as `op<ThatOp, Preds...>`), or an
/// op outside the catalogue, such as a vendor op that reaches the graph as `ir::ops::Opaque`
/// (then predicates receive the `ir::ops::Opaque`, whose `attribute(name)` reads its attributes).
template <fixed_string Name, class... Preds>
struct named_op : single_node_tag {
    static_assert(Name.view().size() > 0, "surgery::pattern::named_op<Name>: the op name is empty");
    using op_type = typename detail::named_attrs<Name>::type;
    static constexpr std::string_view op_name = Name.view();
    static constexpr bool in_catalogue = detail::catalogue_kind<Name>.has_value();
    static constexpr ir::OpKind kind = in_catalogue ? *detail::catalogue_kind<Name> : ir::opaque_kind;
    static constexpr bool has_predicates = sizeof...(Preds) > 0;

    static constexpr bool accepts_kind(ir::OpKind k) noexcept { return k == kind; }
    /// Opaque nodes always need their name compared, so they are never unconditional.
    static constexpr bool unconditional(ir::OpKind k) noexcept { return in_catalogue && !has_predicates && k == kind; }

    template <searchable_graph G>
    static bool test(const G& g, node_t<G> n) {
        if (!op_name_matches(g, n, op_name)) return false;
        if constexpr (!has_predicates) {
            return true;
        } else {
            static_assert(graph_with_attributes<G, op_type>,
                          "surgery::pattern::named_op<Name, Preds...>: attribute predicates need typed attributes from the graph; "
                          "add `template <class Op> static const Op* attributes(const G&, node_type)` to your "
                          "surgery::graph_traits specialisation, or drop the predicates");
            const op_type* a = graph_traits<G>::template attributes<op_type>(g, n);
            if (!a) return false;
            return (detail::eval_predicate<Preds>(*a, g, n) && ...);
        }
    }
};

/// Predicate on an opaque op: attribute `Attr` is an INT or FLOAT equal to `Value`.
template <fixed_string Attr, auto Value>
struct attribute_is {
    bool operator()(const ir::ops::Opaque& o) const {
        const ir::ops::opaque_attribute* a = o.attribute(Attr.view());
        if (!a) return false;
        if constexpr (std::is_integral_v<decltype(Value)>) return a->i && *a->i == static_cast<std::int64_t>(Value);
        else return a->f && *a->f == static_cast<float>(Value);
    }
};

/// Predicate on an opaque op: attribute `Attr` is the STRING `Value`.
template <fixed_string Attr, fixed_string Value>
struct attribute_equals {
    bool operator()(const ir::ops::Opaque& o) const {
        const ir::ops::opaque_attribute* a = o.attribute(Attr.view());
        return a && a->s && *a->s == Value.view();
    }
};

/// True when `P` may match node `n` only after its predicates were checked; used by the searcher.
template <single_node_pattern P, searchable_graph G>
bool test_node(const G& g, node_t<G> n) {
    return P::test(g, n);
}

} // namespace surgery::pattern
