// Test helper: structural comparison of two ir::Graphs (ops, attributes, constants, wiring, shapes).
#pragma once

#include <algorithm>

#include <string>
#include <unordered_map>

#include "surgery/ir.hpp"

namespace surgery::test {

/// `g.label(v)` without its "%" + std::to_string, which GCC 12 flags with a false -Wrestrict.
inline std::string value_label(const ir::Graph& g, ir::ValueId v) {
    std::string out = g.value(v).name;
    if (out.empty()) out.append("%").append(std::to_string(v.index()));
    return out;
}

/// Where a value comes from, independent of ids and names: graph input k, constant (by content),
/// or output `slot` of the node at position `pos` of the topological order.
struct value_origin {
    ir::ValueKind kind;
    std::size_t index = 0; // input position or node position
    std::uint32_t slot = 0;
};

/// Empty when `a` and `b` are the same graph up to ids (and up to the names of values unnamed in
/// `a` when `names` is false); otherwise a description of the first difference.
inline std::string graph_difference(const ir::Graph& a, const ir::Graph& b, bool names = true) {
    auto origins = [](const ir::Graph& g) {
        std::unordered_map<std::size_t, value_origin> m;
        for (std::size_t k = 0; k < g.inputs().size(); ++k) m[g.inputs()[k].index()] = {ir::ValueKind::input, k, 0};
        const auto& order = g.topological_order();
        for (std::size_t p = 0; p < order.size(); ++p) {
            const auto& outs = g.node(order[p]).outputs;
            for (std::uint32_t s = 0; s < outs.size(); ++s) m[outs[s].index()] = {ir::ValueKind::node_output, p, s};
        }
        return m;
    };
    const auto oa = origins(a), ob = origins(b);
    auto same_value = [&](ir::ValueId va, ir::ValueId vb, const std::string& where, bool check_name = true) -> std::string {
        if (va.valid() != vb.valid()) return where + ": one side omits the value";
        if (!va) return {};
        const ir::Value& x = a.value(va);
        const ir::Value& y = b.value(vb);
        if (x.kind != y.kind) return where + ": '" + value_label(a, va) + "' and '" + value_label(b, vb) + "' are of different kinds";
        if (names && check_name && !x.name.empty() && x.name != y.name) return where + ": value named '" + x.name + "' vs '" + y.name + "'";
        if (x.dtype != y.dtype)
            return where + ": '" + value_label(a, va) + "' is " + std::string(ir::to_string(x.dtype)) + " vs " + std::string(ir::to_string(y.dtype));
        if (x.shape != y.shape)
            return where + ": '" + value_label(a, va) + "' has shape " + (x.shape ? ir::to_string(*x.shape) : "?") + " vs " +
                   (y.shape ? ir::to_string(*y.shape) : "?");
        if (x.is_constant()) {
            if (!(*x.data == *y.data)) return where + ": constant '" + value_label(a, va) + "' differs";
            return {};
        }
        const value_origin& p = oa.at(va.index());
        const value_origin& q = ob.at(vb.index());
        if (p.index != q.index || p.slot != q.slot) return where + ": '" + value_label(a, va) + "' comes from a different place";
        return {};
    };
    if (a.opset != b.opset) return "opset " + std::to_string(a.opset) + " vs " + std::to_string(b.opset);
    if (a.inputs().size() != b.inputs().size()) return "different numbers of graph inputs";
    for (std::size_t k = 0; k < a.inputs().size(); ++k)
        if (auto d = same_value(a.inputs()[k], b.inputs()[k], "graph input " + std::to_string(k)); !d.empty()) return d;
    const auto& na = a.topological_order();
    const auto& nb = b.topological_order();
    if (na.size() != nb.size()) return std::to_string(na.size()) + " nodes vs " + std::to_string(nb.size());
    for (std::size_t p = 0; p < na.size(); ++p) {
        const ir::Node& x = a.node(na[p]);
        const ir::Node& y = b.node(nb[p]);
        const std::string where = "node " + std::to_string(p) + " ('" + a.label(na[p]) + "')";
        if (!(x.op == y.op)) return where + ": op or attributes differ (" + std::string(ir::name_of(x.op)) + " vs " + std::string(ir::name_of(y.op)) + ")";
        if (names && !x.name.empty() && x.name != y.name) return where + ": named '" + y.name + "' on the other side";
        if (x.inputs.size() != y.inputs.size()) return where + ": input counts differ";
        if (x.outputs.size() != y.outputs.size()) return where + ": output counts differ";
        for (std::size_t s = 0; s < x.inputs.size(); ++s) {
            // An input the model's opset holds as an attribute (ReduceMean's axes before 18, ...)
            // comes back as a constant under a new name.
            const auto legacy = ir::legacy_inputs_of(x.op);
            const bool as_attribute = std::any_of(legacy.begin(), legacy.end(), [&](const ir::legacy_input& l) { return l.slot == s && b.opset < l.before; });
            if (auto d = same_value(x.inputs[s], y.inputs[s], where + " input " + std::to_string(s), !as_attribute); !d.empty()) return d;
        }
        for (std::size_t s = 0; s < x.outputs.size(); ++s)
            if (auto d = same_value(x.outputs[s], y.outputs[s], where + " output " + std::to_string(s)); !d.empty()) return d;
    }
    if (a.outputs().size() != b.outputs().size()) return "different numbers of graph outputs";
    for (std::size_t k = 0; k < a.outputs().size(); ++k)
        if (auto d = same_value(a.outputs()[k], b.outputs()[k], "graph output " + std::to_string(k)); !d.empty()) return d;
    return {};
}

} // namespace surgery::test
