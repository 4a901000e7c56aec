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
    /// The i-th matched node (chain order, or topological order for DAG patterns).
    [[nodiscard]] const ir::Node& node(std::size_t i) const { return graph.node(match.nodes.at(i)); }
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
        if (!t) fail("input " + std::to_string(slot) + " of '" + graph.label(match.nodes.at(i)) + "' is not a constant");
        return *t;
    }
    /// Whether input `slot` of the i-th matched node is present and constant.
    [[nodiscard]] bool has_weight(std::size_t i, std::size_t slot) const {
        const auto& ins = node(i).inputs;
        return slot < ins.size() && graph.constant(ins[slot]) != nullptr;
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
