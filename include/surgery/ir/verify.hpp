// Structural verification of an ir::Graph: acyclic, SSA, use lists, arity and shape consistency.
#pragma once

#include <string>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/shape_inference.hpp"

namespace surgery::ir {

/// Checks that `g` is well formed and throws `graph_error` naming the first offending node otherwise:
/// no cycle; every live value defined exactly once (node outputs point back at their producer);
/// use lists agree with node inputs; no node reads a dead value; input/output counts within the
/// op's arity; and, where shapes are known, every stored output shape equals the inferred one.
inline void verify(const Graph& g) {
    const auto& order = g.topological_order(); // throws on a cycle
    (void)order;
    for (std::size_t i = 0; i < g.node_bound(); ++i) {
        const NodeId n{i};
        const Node& nd = g.node(n);
        if (!nd.alive) continue;
        const arity_t ar = arity_of(nd.op);
        if (nd.inputs.size() < ar.min_inputs || (ar.max_inputs != arity_t::variadic && nd.inputs.size() > ar.max_inputs))
            throw graph_error(g.label(n), "has " + std::to_string(nd.inputs.size()) + " inputs, outside the arity of " + std::string(name_of(nd.op)));
        if (nd.outputs.size() < ar.min_outputs || (ar.max_outputs != arity_t::variadic && nd.outputs.size() > ar.max_outputs))
            throw graph_error(g.label(n), "has " + std::to_string(nd.outputs.size()) + " outputs, outside the arity of " + std::string(name_of(nd.op)));
        for (std::size_t s = 0; s < nd.inputs.size(); ++s) {
            const ValueId in = nd.inputs[s];
            if (!in) {
                if (s < ar.min_inputs) throw graph_error(g.label(n), "required input " + std::to_string(s) + " is missing");
                continue;
            }
            if (in.index() >= g.value_bound() || !g.value(in).alive)
                throw graph_error(g.label(n), "input " + std::to_string(s) + " reads a value that does not exist");
            if (!g.lists_use(in, {n, static_cast<std::uint32_t>(s)})) throw graph_error(g.label(n), "input " + std::to_string(s) + " is missing from the use list of '" + g.label(in) + "'");
        }
        for (std::size_t o = 0; o < nd.outputs.size(); ++o) {
            const Value& v = g.value(nd.outputs[o]);
            if (!v.alive || v.kind != ValueKind::node_output || v.producer != n || v.slot != o)
                throw graph_error(g.label(n), "output " + std::to_string(o) + " is not defined by this node (value defined twice?)");
        }
    }
    for (std::size_t i = 0; i < g.value_bound(); ++i) {
        const Value& v = g.value(ValueId{i});
        if (!v.alive) continue;
        if (v.is_constant() && !v.data) throw graph_error({}, "constant '" + g.label(ValueId{i}) + "' has no data");
        for (const Use& u : v.uses) {
            if (u.node.index() >= g.node_bound() || !g.node(u.node).alive || u.slot >= g.node(u.node).inputs.size() ||
                g.node(u.node).inputs[u.slot] != ValueId{i})
                throw graph_error({}, "use list of value '" + g.label(ValueId{i}) + "' names a node that does not read it");
        }
    }
    for (ValueId o : g.outputs())
        if (!o || o.index() >= g.value_bound() || !g.value(o).alive) throw graph_error({}, "a graph output refers to a removed value");
    for (NodeId n : g.topological_order()) {
        const inferred_outputs r = infer_node(g, n);
        const Node& nd = g.node(n);
        for (std::size_t o = 0; o < nd.outputs.size(); ++o) {
            const auto& stored = g.value(nd.outputs[o]).shape;
            if (stored && r.shapes[o] && is_static(*stored) && is_static(*r.shapes[o]) && *stored != *r.shapes[o])
                throw graph_error(g.label(n), "output " + std::to_string(o) + " is recorded as " + to_string(*stored) + " but the op gives " + to_string(*r.shapes[o]));
        }
    }
}

} // namespace surgery::ir
