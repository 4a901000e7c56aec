// What every built-in rule is made of: its forms (patterns, each with the exporter that emits it),
// one replacement for all of them, and its reference entry (what it produces, exact or not);
// plus the helpers rules share (captured tensors, pass-through that keeps output names).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/tensor_math.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/pattern/text.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/search/program.hpp"

namespace surgery::rules {

/// Knobs of the built-in rules (`surgery lite --rules 'large_kernel_to_3x3[min_kernel=5]'`).
struct options {
    /// `large_kernel_to_3x3` rewrites kernels whose every spatial dim is at least this (odd; at
    /// least 5). The paper's default is 7: MobileNetV3's and EfficientNet's 5x5 stay.
    std::int64_t large_kernel_min = 7;
};

/// One graph form a rule matches.
struct rule_form {
    std::string text;   ///< the pattern, in the text language (or a description for a custom finder)
    std::string source; ///< who emits it
    /// Custom finder (dead code, constant folding); empty for a text pattern.
    std::function<std::vector<rewrite::ir_match>(const ir::Graph&)> find;
};

/// A built-in rule together with its reference entry.
struct definition {
    rewrite::rule rule;           ///< name, exactness, description, finder over every form, replacement
    std::vector<rule_form> forms; ///< what it matches, one entry per exporter form
    std::string produces;         ///< what a match becomes
};

/// The form `f` of the pattern library.
[[nodiscard]] inline rule_form from_library(const pattern::form& f) { return {std::string(f.text), std::string(f.source), {}}; }
/// A form given as text.
[[nodiscard]] inline rule_form text_form(std::string text, std::string source) { return {std::move(text), std::move(source), {}}; }

namespace detail {

/// The finder of one form.
inline std::function<std::vector<rewrite::ir_match>(const ir::Graph&)> finder_of(const rule_form& f) {
    if (f.find) return f.find;
    auto compiled = std::make_shared<const pattern::text_pattern>(f.text);
    return [compiled](const ir::Graph& g) { return search::find_program(g, compiled->view()); };
}

} // namespace detail

/// A rule from its forms and one replacement `build(context&)` for all of them. The rule's finder
/// returns the matches of every form, in form order, dropping any that overlaps an earlier one.
/// `build` returns the new exit value(s), or nothing to decline a match it cannot rewrite; an
/// exception it throws (a weight that does not fit, say) declines the match as well: a rule never
/// aborts the dictionary because one occurrence is not what it expects.
template <class Build>
[[nodiscard]] definition define(std::string name, rewrite::exactness kind, std::string description, std::vector<rule_form> forms,
                                std::string produces, Build build) {
    std::vector<std::function<std::vector<rewrite::ir_match>(const ir::Graph&)>> finders;
    std::string text;
    for (const auto& f : forms) {
        finders.push_back(detail::finder_of(f));
        text += (text.empty() ? "" : "  |  ") + f.text;
    }
    rewrite::rule r;
    r.name = std::move(name);
    r.pattern_text = std::move(text);
    r.kind = kind;
    r.description = std::move(description);
    r.find = [finders = std::move(finders)](const ir::Graph& g) {
        std::vector<rewrite::ir_match> out;
        if (finders.size() == 1) return finders[0](g);
        std::vector<char> claimed; // by node index: in a match of an earlier form (made at the first match)
        for (const auto& find : finders)
            for (auto& m : find(g)) {
                if (claimed.empty()) claimed.assign(g.node_bound(), 0);
                if (std::any_of(m.nodes.begin(), m.nodes.end(), [&](ir::NodeId n) { return claimed[n.index()] != 0; })) continue;
                for (ir::NodeId n : m.nodes) claimed[n.index()] = 1;
                out.push_back(std::move(m));
            }
        return out;
    };
    r.with = rewrite::generate([build = std::move(build)](rewrite::context& c) mutable -> std::vector<ir::ValueId> {
        try {
            if constexpr (std::is_convertible_v<std::invoke_result_t<Build&, rewrite::context&>, std::optional<ir::ValueId>>) {
                const std::optional<ir::ValueId> v = build(c);
                if (!v) return {};
                return {*v};
            } else {
                return build(c);
            }
        } catch (const error&) {
            return {}; // declined: the replacer rolls back whatever was built
        }
    });
    return {std::move(r), std::move(forms), std::move(produces)};
}

// ---- helpers for replacements -------------------------------------------------------------------

/// The match's input `x` (the capture named x, else capture 0 or the first entry).
[[nodiscard]] inline ir::ValueId input_of(const rewrite::context& c) {
    if (auto v = c.match.capture("x")) return *v;
    return c.input();
}

/// The constant tensor captured as `name` (`name:const` in the pattern).
[[nodiscard]] inline const ir::Tensor& captured(const rewrite::context& c, std::string_view name) { return c.constant(c.capture(name)); }

/// The constant tensor at input `slot` of node `n`, or nullptr when that input is absent or not constant.
[[nodiscard]] inline const ir::Tensor* constant_input(const ir::Graph& g, ir::NodeId n, std::size_t slot) {
    const auto& ins = g.node(n).inputs;
    return slot < ins.size() && ins[slot] ? g.constant(ins[slot]) : nullptr;
}

/// Whether input `slot` of node `n` is absent.
[[nodiscard]] inline bool absent_input(const ir::Graph& g, ir::NodeId n, std::size_t slot) {
    const auto& ins = g.node(n).inputs;
    return slot >= ins.size() || !ins[slot];
}

/// Whether outputs `from` on of node `n` are all unused (optional outputs such as a Dropout mask).
[[nodiscard]] inline bool outputs_unused_from(const ir::Graph& g, ir::NodeId n, std::size_t from) {
    const auto& outs = g.node(n).outputs;
    for (std::size_t i = from; i < outs.size(); ++i)
        if (!g.value(outs[i]).uses.empty() || g.is_output(outs[i])) return false;
    return true;
}

/// The first matched node of op type `Op` (pattern nodes of a text form are numbered in the order
/// written, so typed access by index depends on the form; this finds it by type).
template <ir::op_type Op>
[[nodiscard]] std::optional<ir::NodeId> matched_of(const rewrite::context& c) {
    for (ir::NodeId n : c.match.nodes)
        if (c.graph.node(n).is<Op>()) return n;
    return std::nullopt;
}

/// The static shape of `v`, or nothing.
[[nodiscard]] inline std::optional<ir::Shape> static_shape(const ir::Graph& g, ir::ValueId v) {
    const auto& s = g.value(v).shape;
    if (!s || !ir::is_static(*s)) return std::nullopt;
    return *s;
}

/// A match of the single node `n` (the rules whose finders are code: dead code, constant folding).
[[nodiscard]] inline rewrite::ir_match single_node_match(const ir::Graph& g, ir::NodeId n) {
    rewrite::ir_match m;
    m.nodes = {n};
    m.bound = {n};
    search::detail::fill_boundary(g, m);
    return m;
}

/// The replacement of a match that computes the identity of `x`: `x` itself. When the match's
/// output is a graph output, `x` takes the output's name (rewrite::replace renames an intermediate
/// value), so the interface is unchanged. Declines when `x` cannot take it: a graph input, a
/// constant or a graph output itself.
[[nodiscard]] inline std::optional<ir::ValueId> pass_through(rewrite::context& c, ir::ValueId x) {
    const ir::Graph& g = c.graph;
    const bool exit_is_output = std::any_of(c.match.exits.begin(), c.match.exits.end(), [&](ir::ValueId e) { return g.is_output(e); });
    // x takes the output's name (rewrite::replace); a graph input or output cannot take a second one.
    if (exit_is_output && (!g.producer(x) || g.is_output(x))) return std::nullopt;
    return x;
}

/// A node whose outputs are dead gets no replacement value: the replacer needs one per exit, so
/// this returns a typed placeholder that nothing reads (it goes with the dead-code sweep).
[[nodiscard]] inline ir::ValueId nothing(rewrite::context& c) {
    const ir::ValueId v = c.build.scalar(0.0f);
    c.graph.set_shape(v, std::nullopt); // no shape to compare with the exit's
    c.graph.set_dtype(v, c.graph.value(c.match.exits.front()).dtype);
    return v;
}

} // namespace surgery::rules
