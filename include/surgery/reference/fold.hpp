// Constant folding: nodes computable at load time (all inputs constant, or a shape query on a
// value of known shape) become constants, computed by the reference kernels; shapes follow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/shape_inference.hpp"
#include "surgery/reference/kernels.hpp"

namespace surgery::reference {

struct fold_options {
    /// Outputs larger than this many elements are not folded (they would grow the model: a
    /// ConstantOfShape of an activation's shape, for instance).
    std::int64_t max_elements = std::int64_t{1} << 20;
    /// Passes over the graph before giving up on a fixpoint (one folds everything; the next confirms).
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

/// Whether node `n` can be computed before any input arrives, once the values marked in `known`
/// (indexed by value; shorter than the graph means unmarked) are constants too: every input is a
/// constant or marked, or the node is a shape query (Shape, Size) of a static shape; some output is
/// used; every output has a static shape of at most `max_elements` elements and a type with storage;
/// no output is a graph output unless `graph_outputs`. Ops outside the catalogue and Dropout
/// (random in training) are not. The one test of foldability, for `fold_constants` below and for
/// the `fold_constants` rule.
[[nodiscard]] inline bool foldable(const ir::Graph& g, ir::NodeId n, std::int64_t max_elements, std::span<const char> known = {},
                                   bool graph_outputs = false) {
    const ir::Node& nd = g.node(n);
    if (!nd.alive || nd.is<ir::ops::Opaque>() || nd.is<ir::ops::Dropout>() || nd.outputs.empty()) return false;
    const bool shape_only = detail::reads_shape_only(nd.op);
    for (ir::ValueId v : nd.inputs) {
        if (!v || g.constant(v) || (v.index() < known.size() && known[v.index()])) continue;
        const auto& s = g.value(v).shape;
        if (!(shape_only && s && ir::is_static(*s))) return false;
    }
    bool used = false;
    for (ir::ValueId o : nd.outputs) {
        const ir::Value& val = g.value(o);
        if ((!graph_outputs && g.is_output(o)) || !val.shape || !ir::is_static(*val.shape) || ir::numel(*val.shape) > max_elements ||
            !ir::has_storage(val.dtype))
            return false;
        used = used || !val.uses.empty() || g.is_output(o);
    }
    return used;
}

/// The values of node `n`'s outputs, computed by the reference kernels from its inputs as they are
/// now: constants, and for a shape query, a static shape. Empty if an input is neither (a node
/// `foldable` only once other nodes are folded). A kernel that rejects its inputs throws
/// `graph_error` naming the node.
[[nodiscard]] inline std::vector<ir::Tensor> fold_values(const ir::Graph& g, ir::NodeId n) {
    const ir::Node& nd = g.node(n);
    std::vector<ir::Tensor> shells; // shape-only stand-ins for the inputs of a shape query
    shells.reserve(nd.inputs.size());
    std::vector<const ir::Tensor*> ins;
    const bool shape_only = detail::reads_shape_only(nd.op);
    for (ir::ValueId v : nd.inputs) {
        if (!v) {
            ins.push_back(nullptr);
        } else if (const ir::Tensor* t = g.constant(v)) {
            ins.push_back(t);
        } else if (const auto& s = g.value(v).shape; shape_only && s && ir::is_static(*s)) {
            ir::Tensor shell;
            shell.dtype = g.value(v).dtype;
            shell.shape = *s;
            shells.push_back(std::move(shell));
            ins.push_back(&shells.back());
        } else {
            return {};
        }
    }
    kernel_options ko;
    ko.opset = g.opset;
    return evaluate(nd.op, ins, nd.outputs.size(), ko, g.label(n));
}

/// Folds every node of `g` whose value is known before any input arrives (`foldable`, graph
/// outputs included). Each folded output becomes a constant with the output's name; what that makes
/// known downstream is inferred at once (`ir::refine_shapes`), so the nodes after it in the same
/// pass see it: a Shape -> Gather -> Concat -> Reshape chain, and the chains that read the shape it
/// makes static, fold in one pass, the second confirming the fixpoint. Unused nodes and constants
/// are removed at the end. The rewrite driver's form of the same folding is the `fold_constants`
/// rule (rules/fold.hpp), which leaves graph outputs computed.
inline fold_report fold_constants(ir::Graph& g, const fold_options& opts = {}) {
    fold_report rep;
    for (int pass = 0; pass < opts.max_passes; ++pass) {
        ++rep.passes;
        bool changed = false;
        const std::vector<ir::NodeId> order = g.topological_order(); // a copy: folding changes the graph
        for (ir::NodeId n : order) {
            if (!foldable(g, n, opts.max_elements, {}, true)) continue;
            std::vector<ir::Tensor> values = fold_values(g, n);
            if (values.empty()) continue;
            const ir::small_vector<ir::ValueId, 4> old_outputs = g.node(n).outputs;
            std::vector<ir::ValueId> made;
            for (std::size_t o = 0; o < old_outputs.size(); ++o) {
                const ir::ValueId ov = old_outputs[o];
                if (g.value(ov).uses.empty() && !g.is_output(ov)) continue;
                std::string name = g.value(ov).name;
                g.set_value_name(ov, {});
                const ir::ValueId cv = g.add_constant(name.empty() ? g.label(n) + ":" + std::to_string(o) : std::move(name),
                                                      std::make_shared<const ir::Tensor>(std::move(values[o])));
                g.replace_all_uses(ov, cv);
                made.push_back(cv);
            }
            g.erase_node(n);
            ir::refine_shapes(g, made);
            ++rep.folded_nodes;
            changed = true;
        }
        if (!changed) break;
    }
    g.remove_dead();
    return rep;
}

/// The shapes of `g`'s values as they are once its constant shape arithmetic is evaluated, without
/// changing its nodes (what ONNX calls data propagation): a copy is folded (`fold_constants`), and
/// each value of `g` takes the copy's shape where that tells more (a shape where there was none, a
/// dim where there was -1; a known dim is never changed), and its type where that was undefined. A
/// value the copy folded away has the static shape it had when it was folded; what `g`'s own nodes
/// then infer from the gains follows (`ir::refine_shapes`). For statistics of a model as it was read
/// (MACs behind a computed Reshape or Resize target). Returns the number of values that gained. A
/// kernel that rejects its inputs throws `graph_error` naming the node, and `g` is then unchanged.
inline std::size_t propagate_shapes(ir::Graph& g, const fold_options& opts = {}) {
    ir::Graph folded = g; // constants are shared: this copies structure, not weights
    fold_constants(folded, opts);
    std::size_t gained = 0;
    std::vector<ir::ValueId> changed;
    for (std::size_t i = 0; i < g.value_bound() && i < folded.value_bound(); ++i) {
        const ir::ValueId v{i};
        const ir::Value& mine = g.value(v);
        const ir::Value& theirs = folded.value(v); // dead if folded away: its shape stays as it was
        if (!mine.alive) continue;
        bool gain = false;
        if (mine.dtype == ir::DType::undefined && theirs.dtype != ir::DType::undefined) {
            g.set_dtype(v, theirs.dtype);
            gain = true;
        }
        if (theirs.shape && ir::known_dims(theirs.shape) > ir::known_dims(mine.shape) && (!mine.shape || mine.shape->size() == theirs.shape->size())) {
            ir::Shape merged = *theirs.shape;
            if (!(mine.shape && ir::detail::fill_unknown_dims(merged, *mine.shape))) {
                g.set_shape(v, std::move(merged));
                gain = true;
            }
        }
        if (gain) {
            ++gained;
            changed.push_back(v);
        }
    }
    return gained + ir::refine_shapes(g, changed);
}

} // namespace surgery::reference
