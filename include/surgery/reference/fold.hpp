// Constant folding: nodes computable at load time (all inputs constant, or a shape query on a
// value of known shape) become constants, computed by the reference kernels; shapes follow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/shape_inference.hpp"
#include "surgery/reference/kernels.hpp"

namespace surgery::reference {

struct fold_options {
    /// Outputs larger than this many elements are not folded (they would grow the model: a
    /// ConstantOfShape of an activation's shape, for instance).
    std::int64_t max_elements = std::int64_t{1} << 20;
    /// Passes of folding and shape inference before giving up on a fixpoint.
    int max_passes = 16;
};

struct fold_report {
    std::size_t folded_nodes = 0; ///< nodes replaced by constants
    std::size_t passes = 0;
};

namespace detail {
/// Ops that read only their input's shape (Shape, Size): foldable when that shape is static.
template <class T>
concept shape_query = requires { T::reads_shape_only; } && T::reads_shape_only;

[[nodiscard]] inline bool reads_shape_only(const ir::Op& op) {
    return std::visit([](const auto& o) { return shape_query<std::decay_t<decltype(o)>>; }, op);
}
} // namespace detail

/// Folds every node of `g` whose value is known before any input arrives: all its inputs are
/// constants, or it only queries the shape of a value whose shape is static. Each folded output
/// becomes a constant with the output's name (graph outputs included); shape inference then runs
/// again, which may make more shapes static (Shape -> Gather -> Concat -> Reshape chains), until
/// nothing changes. Ops outside the catalogue and outputs above `max_elements` are left alone.
/// A kernel that rejects its inputs throws `graph_error` naming the node (the model is wrong).
inline fold_report fold_constants(ir::Graph& g, const fold_options& opts = {}) {
    fold_report rep;
    for (int pass = 0; pass < opts.max_passes; ++pass) {
        ++rep.passes;
        bool changed = false;
        const std::vector<ir::NodeId> order = g.topological_order(); // a copy: folding changes the graph
        for (ir::NodeId n : order) {
            const ir::Node& nd = g.node(n);
            if (!nd.alive || nd.is<ir::ops::Opaque>() || nd.outputs.empty()) continue;
            const bool shape_only = detail::reads_shape_only(nd.op);
            std::vector<std::unique_ptr<ir::Tensor>> shells; // shape-only stand-ins
            std::vector<const ir::Tensor*> ins;
            bool ok = true;
            for (ir::ValueId v : nd.inputs) {
                if (!v) {
                    ins.push_back(nullptr);
                    continue;
                }
                if (const ir::Tensor* t = g.constant(v)) {
                    ins.push_back(t);
                    continue;
                }
                const ir::Value& val = g.value(v);
                if (shape_only && val.shape && ir::is_static(*val.shape)) {
                    auto shell = std::make_unique<ir::Tensor>();
                    shell->dtype = val.dtype;
                    shell->shape = *val.shape;
                    ins.push_back(shell.get());
                    shells.push_back(std::move(shell));
                    continue;
                }
                ok = false;
                break;
            }
            if (!ok) continue;
            bool small = true;
            for (ir::ValueId o : nd.outputs) {
                const auto& s = g.value(o).shape;
                if (!s || !ir::is_static(*s) || ir::numel(*s) > opts.max_elements || !ir::has_storage(g.value(o).dtype)) small = false;
            }
            if (!small) continue;
            kernel_options ko;
            ko.opset = g.opset;
            std::vector<ir::Tensor> outs = evaluate(nd.op, ins, nd.outputs.size(), ko, g.label(n));
            const ir::small_vector<ir::ValueId, 4> old_outputs = nd.outputs;
            for (std::size_t o = 0; o < old_outputs.size(); ++o) {
                const ir::ValueId ov = old_outputs[o];
                const bool used = !g.value(ov).uses.empty() || g.is_output(ov);
                if (!used) continue;
                std::string name = g.value(ov).name;
                g.set_value_name(ov, {});
                const ir::ValueId cv = g.add_constant(name.empty() ? g.label(n) + ":" + std::to_string(o) : std::move(name),
                                                      std::make_shared<const ir::Tensor>(std::move(outs[o])));
                g.replace_all_uses(ov, cv);
            }
            g.erase_node(n);
            ++rep.folded_nodes;
            changed = true;
        }
        if (!changed) break;
        g.remove_dead();
        ir::infer_shapes(g, false);
    }
    return rep;
}

} // namespace surgery::reference
