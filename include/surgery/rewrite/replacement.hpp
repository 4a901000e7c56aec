// Replacement kinds: bypass (identity), one op, a chain of ops, or a generator that builds nodes from the match.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/search/match.hpp"

namespace surgery::rewrite {

using ir_match = search::match<ir::Graph>;

/// What a generator sees: the graph, a builder for new nodes, the match, and helpers to read the
/// matched nodes' attributes and weights. New nodes may read the match's entry values only.
class context {
public:
    context(ir::Graph& g, ir::Builder& b, const ir_match& m, std::string_view rule) : graph(g), build(b), match(m), rule_(rule) {}

    ir::Graph& graph;
    ir::Builder& build;
    const ir_match& match;

    [[nodiscard]] std::string_view rule() const noexcept { return rule_; }
    /// The node of pattern node `i` (chain position, or pattern node in the order written).
    [[nodiscard]] const ir::Node& node(std::size_t i) const { return graph.node(matched(i)); }
    /// The attributes of the i-th matched node, which must be of op type `Op`.
    template <ir::op_type Op>
    [[nodiscard]] const Op& attrs(std::size_t i) const {
        const Op* a = node(i).template as<Op>();
        if (!a) fail("matched node " + std::to_string(i) + " is " + std::string(ir::name_of(node(i).op)) + ", not " + std::string(Op::name));
        return *a;
    }
    /// The constant tensor at input `slot` of the i-th matched node (weights); fails when not constant.
    [[nodiscard]] const ir::Tensor& weight(std::size_t i, std::size_t slot) const {
        const auto& ins = node(i).inputs;
        const ir::Tensor* t = slot < ins.size() ? graph.constant(ins[slot]) : nullptr;
        if (!t) fail("input " + std::to_string(slot) + " of '" + graph.label(matched(i)) + "' is not a constant");
        return *t;
    }
    /// Whether input `slot` of the i-th matched node is present and constant.
    [[nodiscard]] bool has_weight(std::size_t i, std::size_t slot) const {
        const auto& ins = node(i).inputs;
        return slot < ins.size() && graph.constant(ins[slot]) != nullptr;
    }
    /// The value captured under `name` (named captures of text patterns; fails when not bound).
    [[nodiscard]] ir::ValueId capture(std::string_view name) const {
        auto v = match.capture(name);
        if (!v) fail("the pattern has no capture '" + std::string(name) + "'");
        return *v;
    }
    /// The value in capture slot `slot` (`pattern::bind<slot>`).
    [[nodiscard]] ir::ValueId capture(std::size_t slot) const {
        if (slot >= match.captures.size() || !match.captures[slot]) fail("capture slot " + std::to_string(slot) + " is not bound");
        return *match.captures[slot];
    }
    /// The constant tensor behind `v` (fails when `v` is not a constant).
    [[nodiscard]] const ir::Tensor& constant(ir::ValueId v) const {
        const ir::Tensor* t = graph.constant(v);
        if (!t) fail("'" + graph.label(v) + "' is not a constant");
        return *t;
    }
    /// The node matched by pattern node `i` (chain position, or pattern node in the order written).
    [[nodiscard]] ir::NodeId matched(std::size_t i) const {
        if (i >= match.bound.size()) fail("the pattern has no node " + std::to_string(i));
        return match.bound[i];
    }
    /// The match's main data input (capture 0, or the first node's first input).
    [[nodiscard]] ir::ValueId input() const {
        auto v = match.input();
        if (!v) fail("the match has no input value");
        return *v;
    }
    /// The shape of value `v` (fails when unknown).
    [[nodiscard]] const ir::Shape& shape(ir::ValueId v) const {
        const auto& s = graph.value(v).shape;
        if (!s) fail("value '" + graph.label(v) + "' has no known shape");
        return *s;
    }
    /// Stops the rewrite of this match with an error naming the rule and the node; the graph is restored.
    [[noreturn]] void fail(const std::string& message) const {
        throw rewrite_error(std::string(rule_), graph.label(match.nodes.front()), message);
    }

private:
    std::string_view rule_;
};

namespace detail {
template <class OpP>
struct op_type_of {
    using type = void; // alternatives and wildcards have no single op type
};
template <class OpP>
    requires requires { typename OpP::op_type; }
struct op_type_of<OpP> {
    using type = typename OpP::op_type;
};

/// The single-node patterns of a pattern in the order its nodes are numbered (chain order, or
/// the DAG's nodes in the order written: a node before its operands).
template <class P>
struct pattern_nodes;
template <class... Ps>
struct pattern_nodes<pattern::chain<Ps...>> {
    using type = ir::type_list<Ps...>;
};
template <class P>
struct operand_nodes {
    using type = ir::type_list<>;
};
template <std::size_t I, class P>
struct operand_nodes<pattern::bind<I, P>> : operand_nodes<P> {};
template <class OpP, class... Os>
struct operand_nodes<pattern::node<OpP, Os...>> {
    using type = ir::concat_t<ir::type_list<OpP>, typename operand_nodes<Os>::type...>;
};
template <class OpP, class... Os>
struct pattern_nodes<pattern::node<OpP, Os...>> : operand_nodes<pattern::node<OpP, Os...>> {};

template <std::size_t I, class L>
struct list_at;
template <std::size_t I, class T, class... Ts>
struct list_at<I, ir::type_list<T, Ts...>> : list_at<I - 1, ir::type_list<Ts...>> {};
template <class T, class... Ts>
struct list_at<0, ir::type_list<T, Ts...>> {
    using type = T;
};
} // namespace detail

/// A context that knows its pattern type: `c.op<1>()` is the attributes of pattern node 1 with
/// their type deduced (for `chain<op<Conv>, op<BatchNormalization>>`, a `const ops::BatchNormalization&`).
template <class P>
class typed_context : public context {
public:
    explicit typed_context(context& c) : context(c) {}

    template <std::size_t I>
    [[nodiscard]] const auto& op() const {
        using nodes = typename detail::pattern_nodes<P>::type;
        static_assert(I < nodes::size, "surgery::rewrite::typed_context<P>::op<I>: the pattern has fewer nodes than I + 1");
        using Op = typename detail::op_type_of<typename detail::list_at<I, nodes>::type>::type;
        static_assert(!std::is_void_v<Op>,
                      "surgery::rewrite::typed_context<P>::op<I>: pattern node I accepts several op types (any_of or any_op); "
                      "use attrs<Op>(I) and say which");
        return attrs<Op>(I);
    }
};

/// Replace the match by its input: the match's single exit value is replaced by `match.input()`.
struct bypass {};

/// Replace the match by one op applied to the match's input.
struct single_op {
    ir::Op op;
};

/// Replace the match by a chain of ops, the first applied to the match's input.
struct op_chain {
    std::vector<ir::Op> ops;
};

/// Replace the match by nodes built by a callback; it returns the new exit values, one per match
/// exit, or none to decline the match (it is not an instance the callback can rewrite).
struct generator {
    std::function<std::vector<ir::ValueId>(context&)> build;
};

/// One of the replacement kinds.
using replacement = std::variant<bypass, single_op, op_chain, generator>;

/// Replacement that removes the match (its output becomes its input).
[[nodiscard]] inline replacement identity() { return bypass{}; }

/// Replacement by one op, e.g. `with_op(ir::ops::Relu{})`.
[[nodiscard]] inline replacement with_op(ir::Op op) { return single_op{std::move(op)}; }

/// Replacement by a chain of ops, e.g. `with_chain({ir::ops::Conv{...}, ir::ops::Relu{}})` (weightless ops only).
[[nodiscard]] inline replacement with_chain(std::vector<ir::Op> ops) { return op_chain{std::move(ops)}; }

/// Replacement built by `fn(context&)`, returning either one `ir::ValueId` or a `std::vector<ir::ValueId>`.
template <class F>
[[nodiscard]] replacement generate(F fn) {
    if constexpr (std::is_convertible_v<std::invoke_result_t<F&, context&>, ir::ValueId>) {
        return generator{[fn = std::move(fn)](context& c) mutable { return std::vector<ir::ValueId>{fn(c)}; }};
    } else {
        static_assert(std::is_convertible_v<std::invoke_result_t<F&, context&>, std::vector<ir::ValueId>>,
                      "surgery::rewrite::generate(fn): fn(context&) must return ir::ValueId or std::vector<ir::ValueId>");
        return generator{std::move(fn)};
    }
}

/// Short text for a replacement, for reports.
[[nodiscard]] inline std::string describe(const replacement& r) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bypass>) return "identity";
            else if constexpr (std::is_same_v<T, single_op>) return std::string(ir::name_of(x.op));
            else if constexpr (std::is_same_v<T, op_chain>) {
                std::string s;
                for (const auto& o : x.ops) s += (s.empty() ? "" : ",") + std::string(ir::name_of(o));
                return s;
            } else return "generated";
        },
        r);
}

} // namespace surgery::rewrite
