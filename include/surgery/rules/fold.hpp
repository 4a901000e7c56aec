// The constant-folding rule: nodes whose value is known before any input arrives become constants,
// computed by the reference kernels (this header is the rules' only use of reference/; the other
// rule headers stay free of it, so the executor and the writer may include them).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/reference/fold.hpp"
#include "surgery/reference/kernels.hpp"
#include "surgery/rules/common.hpp"
#include "surgery/search/match.hpp"

namespace surgery::rules {

namespace defs {

namespace detail {

/// Whether node `n` can be computed once the values in `known` are: every input constant (or
/// about to be, `known`), or for a shape query of static shape; outputs used, none a graph output,
/// every output static, with storage and at most `max_elements` elements. Ops outside the
/// catalogue and Dropout (random in training) are not.
inline bool foldable(const ir::Graph& g, ir::NodeId n, std::int64_t max_elements, const std::vector<char>& known) {
    const ir::Node& nd = g.node(n);
    if (nd.is<ir::ops::Opaque>() || nd.is<ir::ops::Dropout>() || nd.outputs.empty()) return false;
    const bool shape_only = reference::detail::reads_shape_only(nd.op);
    for (ir::ValueId v : nd.inputs) {
        if (!v || g.constant(v) || known[v.index()]) continue;
        const auto& s = g.value(v).shape;
        if (!(shape_only && s && ir::is_static(*s))) return false;
    }
    bool used = false;
    for (ir::ValueId o : nd.outputs) {
        const ir::Value& val = g.value(o);
        if (g.is_output(o) || !val.shape || !ir::is_static(*val.shape) || ir::numel(*val.shape) > max_elements || !ir::has_storage(val.dtype))
            return false;
        used = used || !val.uses.empty();
    }
    return used;
}

} // namespace detail

/// Nodes whose inputs are all constants (and shape queries of static shapes) replaced by their
/// value, computed by the reference kernels: Constant-fed arithmetic, Shape -> Gather -> Concat
/// chains, PyTorch's Identity over deduplicated initializers. Outputs above `max_elements`
/// elements stay computed (folding them would grow the model).
[[nodiscard]] inline definition fold_constants(std::int64_t max_elements = std::int64_t{1} << 20) {
    rule_form form{"(a node whose inputs are constants, or a shape query of a static shape)",
                   "exporters' shape arithmetic, Identity over shared initializers, constant subexpressions", {}};
    form.find = [max_elements](const ir::Graph& g) {
        std::vector<rewrite::ir_match> out;
        // Folding a node makes its outputs constants before its consumers are rewritten (the
        // matches are replaced in topological order), so a whole constant chain folds in one pass.
        std::vector<char> known(g.value_bound(), 0);
        for (ir::NodeId n : g.topological_order()) {
            if (!detail::foldable(g, n, max_elements, known)) continue;
            for (ir::ValueId o : g.node(n).outputs) known[o.index()] = 1;
            out.push_back(single_node_match(g, n));
        }
        return out;
    };
    return define("fold_constants", rewrite::exactness::exact, "subgraphs computable without the inputs replaced by constants", {std::move(form)},
                  "constants (the computed values)", [](rewrite::context& c) -> std::vector<ir::ValueId> {
                      const ir::Graph& g = c.graph;
                      const ir::NodeId n = c.matched(0);
                      const ir::Node& nd = g.node(n);
                      std::vector<ir::Tensor> shells; // shape-only stand-ins for the inputs of a shape query
                      shells.reserve(nd.inputs.size());
                      std::vector<const ir::Tensor*> ins;
                      const bool shape_only = reference::detail::reads_shape_only(nd.op);
                      for (ir::ValueId v : nd.inputs) {
                          if (!v) {
                              ins.push_back(nullptr);
                          } else if (const ir::Tensor* t = g.constant(v)) {
                              ins.push_back(t);
                          } else if (!shape_only || !static_shape(g, v)) {
                              return {}; // an input that was to be folded first was not: nothing to compute with
                          } else {
                              ir::Tensor shell;
                              shell.dtype = g.value(v).dtype;
                              shell.shape = *g.value(v).shape;
                              shells.push_back(std::move(shell));
                              ins.push_back(&shells.back());
                          }
                      }
                      reference::kernel_options ko;
                      ko.opset = g.opset;
                      std::vector<ir::Tensor> values = reference::evaluate(nd.op, ins, nd.outputs.size(), ko, g.label(n));
                      std::vector<ir::ValueId> out;
                      for (std::size_t o = 0; o < values.size(); ++o) out.push_back(c.build.constant(std::move(values[o])));
                      return out;
                  });
}

} // namespace defs

[[nodiscard]] inline rewrite::rule fold_constants() { return defs::fold_constants().rule; }

} // namespace surgery::rules
