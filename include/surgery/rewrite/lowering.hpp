// Lowering to an older opset: ops that ONNX added after a model's opset, rewritten into the form
// exporters write for them, as rules whose replacement is a form of the pattern library.
//
//   HardSwish(x)                  below 14  ->  forms::hardswish_hardsigmoid  x * HardSigmoid[alpha=1/6](x)
//   Gelu[approximate='none'](x)   below 20  ->  forms::gelu_erf               x * (Erf(x / sqrt 2) + 1) * 0.5
//   Gelu[approximate='tanh'](x)   below 20  ->  forms::gelu_tanh              x * (Tanh(...) + 1) * 0.5
//
// The writer lowers a graph before writing it (onnx/writer.hpp), so a shape is defined once: what
// the writer emits for an old opset is the first alternative of the very pattern that the rules
// (`gelu_to_relu`, `hardswish_to_relu`) and the executor's fusions match.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/pattern/text.hpp"
#include "surgery/rewrite/replacer.hpp"
#include "surgery/rewrite/text_rule.hpp"
#include "surgery/search/program.hpp"

namespace surgery::rewrite {

/// One lowering: the op (as a text pattern capturing its input `x`), the opset that introduced it,
/// and the library form it is written as below that opset.
struct lowering {
    std::string_view op;      ///< the op's name, e.g. "HardSwish"
    std::int64_t since = 0;   ///< lowered when the graph's opset is below this
    std::string_view pattern; ///< e.g. "Gelu[approximate='tanh'](x)"
    const pattern::form* into = nullptr;
};

/// Every lowering, in the order they are applied.
inline constexpr lowering lowerings[] = {
    {"HardSwish", 14, "HardSwish(x)", &pattern::forms::hardswish_hardsigmoid},
    {"Gelu", 20, "Gelu[approximate='none'](x)", &pattern::forms::gelu_erf},
    {"Gelu", 20, "Gelu[approximate='tanh'](x)", &pattern::forms::gelu_tanh},
};

namespace detail {
/// The compiled pattern and replacement of lowering `l` (built once; the table is constant).
struct compiled_lowering {
    pattern::text_pattern pat;
    text_replacement with;
    explicit compiled_lowering(const lowering& l)
        : pat(l.pattern), with(pattern::parse_expression(l.into->text), pat, l.into->text, 0, /*first_alternative=*/true) {}
};

inline const compiled_lowering& compiled(std::size_t i) {
    static const std::vector<compiled_lowering> all = [] {
        std::vector<compiled_lowering> v;
        for (const lowering& l : lowerings) v.emplace_back(l);
        return v;
    }();
    return all.at(i);
}
} // namespace detail

/// Whether `g` holds an op that must be lowered for its opset (`g.opset`).
[[nodiscard]] inline bool needs_lowering(const ir::Graph& g) {
    if (std::none_of(std::begin(lowerings), std::end(lowerings), [&](const lowering& l) { return g.opset < l.since; })) return false;
    const auto histogram = g.op_histogram(); // one pass over the nodes, however many lowerings apply
    for (const lowering& l : lowerings)
        if (g.opset < l.since)
            if (const auto k = ir::kind_from_name(l.op); k && histogram[*k] != 0) return true;
    return false;
}

/// `g` with every op newer than `g.opset` that has a lowering rewritten into its library form (the
/// new nodes are named after the lowered node: `<node>/<Op>_<k>`; the form's output keeps the
/// node's output name). Ops without a lowering are left for the writer to refuse.
/// Throws `rewrite_error` naming the node when a lowering cannot be applied.
[[nodiscard]] inline ir::Graph lower(const ir::Graph& g) {
    ir::Graph out = g; // constants are shared: this copies structure, not weights
    for (std::size_t i = 0; i < std::size(lowerings); ++i) {
        const lowering& l = lowerings[i];
        if (out.opset >= l.since) continue;
        const detail::compiled_lowering& c = detail::compiled(i);
        const std::string rule_name = "lower " + std::string(l.pattern) + " below opset " + std::to_string(l.since);
        const replacement with = generate([&c](context& ctx) { return c.with.build(ctx); });
        for (const auto& m : search::find_program(out, c.pat.view())) (void)replace(out, m, with, rule_name);
    }
    return out;
}

} // namespace surgery::rewrite
