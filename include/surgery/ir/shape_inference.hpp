// Shape and element-type inference: each op's own rule (found by overload), run over a graph.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/infer_context.hpp"

namespace surgery::ir {

/// Output shapes and types of one node, as computed by `infer_node`.
struct inferred_outputs {
    std::vector<std::optional<Shape>> shapes;
    std::vector<DType> dtypes;
};

/// Whether op type `T` has a shape rule `infer(const T&, infer_context&)`.
template <class T>
concept has_shape_rule = requires(const T& op, infer_context& c) { infer(op, c); };

namespace detail {
template <class T>
inline constexpr bool missing_shape_rule = false;

template <class T>
void run_shape_rule(const Op& op, infer_context& c) {
    if constexpr (has_shape_rule<T>) {
        infer(*std::get_if<T>(&op), c);
    } else {
        // The instantiation context names the op type that lacks its rule.
        static_assert(missing_shape_rule<T>,
                      "surgery::ir: an op of the catalogue has no shape rule; define "
                      "`void infer(const ops::YourOp&, infer_context&)` beside its struct (see ir/op_def.hpp)");
    }
}

template <class L>
struct shape_rule_table;
template <class... Ts>
struct shape_rule_table<type_list<Ts...>> {
    static constexpr std::array<void (*)(const Op&, infer_context&), sizeof...(Ts)> value{&run_shape_rule<Ts>...};
};
} // namespace detail

/// Runs op `op`'s shape rule on inputs described by `inputs` (one per input slot) for a node with
/// `outputs.size()` outputs. `outputs` may hold the stored shapes (`stored_shape`, `stored_dtype`);
/// the rule fills `shape` and `dtype`. Throws `graph_error` naming `node` when the inputs are
/// inconsistent with the op.
inline void infer_op(const Op& op, std::span<const infer_input> inputs, std::span<infer_output> outputs, std::string_view node,
                     std::int64_t opset = 17) {
    const DType first = !inputs.empty() && inputs[0].present ? inputs[0].dtype : DType::f32;
    for (auto& o : outputs) {
        o.shape.reset();
        o.dtype = first;
    }
    const std::string op_name(name_of(op));
    infer_context c(node, op_name, inputs, outputs, opset);
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (c.known(i)) check_shape_bounds(c.shape(i), "input " + std::to_string(i), c);
    detail::shape_rule_table<catalogue>::value[op.index()](op, c);
    for (std::size_t o = 0; o < outputs.size(); ++o)
        if (outputs[o].shape) check_shape_bounds(*outputs[o].shape, "output " + std::to_string(o), c);
}

/// Computes the output shapes and types of node `n` from its inputs' shapes (and constant inputs
/// where the op needs them). An output shape is empty (`nullopt`) when it depends on something
/// unknown. Throws `graph_error` naming the node when the inputs are inconsistent.
[[nodiscard]] inline inferred_outputs infer_node(const Graph& g, NodeId n) {
    const Node& nd = g.node(n);
    std::vector<infer_input> ins(nd.inputs.size());
    for (std::size_t i = 0; i < nd.inputs.size(); ++i) {
        const ValueId v = nd.inputs[i];
        if (!v) continue;
        const Value& val = g.value(v);
        ins[i] = infer_input{true, &val.shape, val.dtype, g.constant(v)};
    }
    std::vector<infer_output> outs(nd.outputs.size());
    for (std::size_t o = 0; o < nd.outputs.size(); ++o) {
        const Value& val = g.value(nd.outputs[o]);
        outs[o].stored_shape = val.shape;
        outs[o].stored_dtype = val.dtype;
    }
    infer_op(nd.op, ins, outs, g.label(n), g.opset);
    inferred_outputs r;
    for (auto& o : outs) {
        r.shapes.push_back(std::move(o.shape));
        r.dtypes.push_back(o.dtype);
    }
    return r;
}

namespace detail {
/// Completes `inferred` with what `known` tells (a shape stored before) where the inference left a
/// dim unknown (-1), when both have the same rank. Returns whether they contradict: a dim known in
/// both, with different sizes (`inferred`'s is kept). Shared by `infer_shapes` without overwrite and
/// by `refine_shapes`, which differ only in what they do with a contradiction.
inline bool fill_unknown_dims(Shape& inferred, const Shape& known) noexcept {
    if (inferred.size() != known.size()) return false;
    bool contradicts = false;
    for (std::size_t d = 0; d < inferred.size(); ++d) {
        if (inferred[d] < 0) inferred[d] = known[d];
        else if (known[d] >= 0 && known[d] != inferred[d]) contradicts = true;
    }
    return contradicts;
}
} // namespace detail

/// Infers shapes and types of every node output, in topological order. Input and constant shapes
/// must be set. An output whose shape cannot be inferred keeps the shape it has (e.g. from the
/// model's declarations). With `overwrite` false, an output that already has a static shape is
/// checked against a static inferred one (a mismatch is an error) instead of being replaced.
inline void infer_shapes(Graph& g, bool overwrite = true) {
    for (NodeId n : g.topological_order()) {
        inferred_outputs r = infer_node(g, n);
        const Node& nd = g.node(n);
        for (std::size_t o = 0; o < nd.outputs.size(); ++o) {
            ValueId v = nd.outputs[o];
            const auto& old = g.value(v).shape;
            if (r.shapes[o]) {
                // Without overwrite, dims the rule could not tell keep the declared ones.
                if (!overwrite && old) {
                    if (is_static(*old) && is_static(*r.shapes[o]) && *old != *r.shapes[o])
                        throw graph_error(g.label(n), "output " + std::to_string(o) + " is declared " + to_string(*old) + " but inferred " +
                                                          to_string(*r.shapes[o]));
                    detail::fill_unknown_dims(*r.shapes[o], *old);
                }
                g.set_shape(v, std::move(r.shapes[o]));
            }
            g.set_dtype(v, r.dtypes[o] != DType::undefined ? r.dtypes[o] : g.value(v).dtype); // undefined: the declared type stays
        }
    }
}

/// How much shape `s` tells: -1 without a shape, else the number of its known dims.
[[nodiscard]] inline std::ptrdiff_t known_dims(const std::optional<Shape>& s) noexcept {
    if (!s) return -1;
    return std::count_if(s->begin(), s->end(), [](std::int64_t d) { return d >= 0; });
}

/// Carries what became known about the values `changed` (a rewrite replaced them by constants, or by
/// values of better-known shape) to everything downstream: each consumer is inferred again, and an
/// output whose inferred shape tells more than the one it has (a shape where there was none, a dim
/// where there was -1) or whose type was undefined takes what was inferred, and its consumers
/// follow. Shapes only ever gain, so this ends, and it visits only what gains: a rewrite that
/// changes no shape costs nothing. What contradicts the stored shape (a known dim inferred as another
/// number, a rule that now fails) is left as it was; `verify` reports such a graph. Returns the
/// number of outputs that gained.
inline std::size_t refine_shapes(Graph& g, const std::vector<ValueId>& changed) {
    std::vector<NodeId> work;
    std::vector<char> queued;
    auto push_consumers = [&](ValueId v) {
        if (!v || v.index() >= g.value_bound() || !g.value(v).alive) return;
        for (const Use& u : g.value(v).uses) {
            if (queued.empty()) queued.assign(g.node_bound(), 0);
            if (u.node.index() >= queued.size() || queued[u.node.index()]) continue;
            queued[u.node.index()] = 1;
            work.push_back(u.node);
        }
    };
    for (ValueId v : changed) push_consumers(v);
    std::size_t gained = 0;
    while (!work.empty()) {
        const NodeId n = work.back();
        work.pop_back();
        queued[n.index()] = 0;
        if (!g.node(n).alive) continue;
        inferred_outputs r;
        try {
            r = infer_node(g, n);
        } catch (const graph_error&) {
            continue; // a contradiction: verify's to report, not this refinement's
        }
        const Node& nd = g.node(n);
        for (std::size_t o = 0; o < nd.outputs.size(); ++o) {
            const ValueId v = nd.outputs[o];
            bool gain = false;
            if (g.value(v).dtype == DType::undefined && r.dtypes[o] != DType::undefined) {
                g.set_dtype(v, r.dtypes[o]);
                gain = true;
            }
            const std::optional<Shape>& old = g.value(v).shape;
            std::optional<Shape>& inferred = r.shapes[o];
            if (inferred && known_dims(inferred) > known_dims(old) && (!old || old->size() == inferred->size())) {
                const std::ptrdiff_t before = known_dims(old);
                const bool contradicts = old && detail::fill_unknown_dims(*inferred, *old);
                if (!contradicts && known_dims(inferred) > before) {
                    g.set_shape(v, std::move(*inferred));
                    gain = true;
                }
            }
            if (gain) {
                ++gained;
                push_consumers(v);
            }
        }
    }
    return gained;
}

} // namespace surgery::ir
