// The constant-folding rule: nodes whose value is known before any input arrives become constants,
// computed by the reference kernels (this header is the rules' only use of reference/; the other
// rule headers stay free of it, so the executor and the writer may include them).
#pragma once

#include <cstdint>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/reference/fold.hpp"
#include "surgery/rules/common.hpp"
#include "surgery/search/match.hpp"

namespace surgery::rules {

namespace defs {

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
            if (!reference::foldable(g, n, max_elements, known)) continue;
            for (ir::ValueId o : g.node(n).outputs) known[o.index()] = 1;
            out.push_back(single_node_match(g, n));
        }
        return out;
    };
    return define("fold_constants", rewrite::exactness::exact, "subgraphs computable without the inputs replaced by constants", {std::move(form)},
                  "constants (the computed values)", [](rewrite::context& c) -> std::vector<ir::ValueId> {
                      // Empty when an input that was to be folded first was not: nothing to compute with.
                      std::vector<ir::Tensor> values = reference::fold_values(c.graph, c.matched(0));
                      std::vector<ir::ValueId> out;
                      for (auto& v : values) out.push_back(c.build.constant(std::move(v)));
                      return out;
                  });
}

} // namespace defs

[[nodiscard]] inline rewrite::rule fold_constants() { return defs::fold_constants().rule; }

} // namespace surgery::rules
