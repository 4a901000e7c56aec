// Reading ONNX models into ir::Graph: load(path) and from_model_proto(model).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/shape_inference.hpp"
#include "surgery/onnx/detail/attributes.hpp"
#include "surgery/onnx/detail/proto.hpp"
#include "surgery/onnx/tensor.hpp"

namespace surgery::onnx {

namespace detail {

/// Opset that introduced an op of the catalogue, where later than opset 1.
[[nodiscard]] constexpr std::int64_t since_opset(std::string_view op) noexcept {
    if (op == "Erf") return 9;
    if (op == "Resize") return 10;
    if (op == "HardSwish") return 14;
    if (op == "LayerNormalization") return 17;
    if (op == "Gelu") return 20;
    return 1;
}

/// An element type and (possibly partial) shape declared by a ValueInfoProto.
struct declared_type {
    ir::DType dtype = ir::DType::undefined; ///< undefined when not declared
    std::optional<ir::Shape> shape;          ///< empty when the rank is unknown
};

/// Merges shape `b` into `a` dimension by dimension; false when both know a dimension and disagree.
[[nodiscard]] inline bool merge_shapes(ir::Shape& a, const ir::Shape& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] >= 0 && b[i] >= 0 && a[i] != b[i]) return false;
        if (a[i] < 0) a[i] = b[i];
    }
    return true;
}

/// Turns one ModelProto into an ir::Graph; every error names the node (name and index) or value.
class model_reader {
public:
    explicit model_reader(const pb::ModelProto& m) : m_(m) {}

    ir::Graph run() {
        if (!m_.has_graph()) throw io_error("the model has no graph");
        read_opset();
        const pb::GraphProto& gp = m_.graph();
        g_.name = gp.name();
        g_.producer_name = m_.producer_name();
        g_.opset = std::max(opset_, std::int64_t{11}); // older forms are converted to opset-11 ones below
        if (gp.sparse_initializer_size() > 0) throw io_error("sparse initializers are not supported");

        const std::unordered_set<std::string> placeholders = empty_placeholders(gp);
        for (int i = 0; i < gp.initializer_size(); ++i) {
            const pb::TensorProto& t = gp.initializer(i);
            if (t.name().empty()) throw io_error("initializer #" + std::to_string(i) + " has no name");
            if (placeholders.count(t.name())) {
                placeholders_.insert(t.name());
                continue;
            }
            define(t.name(), g_.add_constant(t.name(), from_tensor_proto(t, "initializer '" + t.name() + "'")), "initializer");
        }
        for (const auto& vi : gp.value_info()) declared_[vi.name()] = declared("value_info '" + vi.name() + "'", vi, true);
        for (const auto& vi : gp.output()) declared_[vi.name()] = declared("graph output '" + vi.name() + "'", vi, false);
        for (const auto& vi : gp.input()) {
            if (vi.name().empty()) throw io_error("a graph input has no name");
            if (values_.count(vi.name())) {
                // Also an initializer: a constant for us. Its declared shape must match the data.
                const declared_type d = declared("graph input '" + vi.name() + "'", vi, true);
                const ir::Value& v = g_.value(values_.at(vi.name()));
                if (d.shape && v.shape) {
                    ir::Shape s = *v.shape;
                    if (!merge_shapes(s, *d.shape))
                        throw io_error("graph input '" + vi.name() + "' is declared " + ir::to_string(*d.shape) + " but its initializer is " +
                                       ir::to_string(*v.shape));
                }
                continue;
            }
            const declared_type d = declared("graph input '" + vi.name() + "'", vi, false);
            if (d.dtype == ir::DType::undefined) throw io_error("graph input '" + vi.name() + "' has no element type");
            const ir::ValueId id = g_.add_input(vi.name(), d.shape.value_or(ir::Shape{}), d.dtype);
            if (!d.shape) g_.set_shape(id, std::nullopt);
            define(vi.name(), id, "graph input");
        }

        for (const auto& n : gp.node()) {
            for (const auto& in : n.input()) consumed_.insert(in);
        }
        for (const auto& o : gp.output()) consumed_.insert(o.name());

        for (std::size_t idx : node_order(gp)) read_node(gp.node(static_cast<int>(idx)), idx);

        for (const auto& o : gp.output()) {
            if (o.name().empty()) throw io_error("a graph output has no name");
            auto it = values_.find(o.name());
            if (it == values_.end()) throw io_error("graph output '" + o.name() + "' is not produced by any node, initializer or input");
            g_.add_output(it->second);
        }
        return std::move(g_);
    }

private:
    // ---- model-level -----------------------------------------------------------------------

    void read_opset() {
        bool found = false;
        for (const auto& os : m_.opset_import()) {
            if (os.domain().empty() || os.domain() == "ai.onnx") {
                opset_ = os.version();
                found = true;
            }
        }
        if (!found) {
            if (m_.ir_version() >= 3 || m_.opset_import_size() > 0)
                throw io_error("the model imports no opset of the default ONNX domain");
            opset_ = 1; // IR versions 1 and 2 predate opset_import
        }
        if (opset_ < min_read_opset || opset_ > max_read_opset)
            throw io_error("opset " + std::to_string(opset_) + " is not supported (model-surgery reads opsets " +
                           std::to_string(min_read_opset) + " to " + std::to_string(max_read_opset) + ")");
    }

    declared_type declared(const std::string& what, const pb::ValueInfoProto& vi, bool lenient) const {
        declared_type d;
        if (!vi.has_type()) return d;
        const pb::TypeProto& t = vi.type();
        if (!t.has_tensor_type()) {
            if (lenient) return d;
            throw io_error(what + " is not a tensor (sequence, map, optional and sparse values are not supported)");
        }
        const auto& tt = t.tensor_type();
        if (tt.elem_type() != pb::TensorProto_DataType_UNDEFINED) {
            d.dtype = to_dtype(tt.elem_type());
            if (d.dtype == ir::DType::undefined)
                throw io_error(what + " has element type " + std::string(elem_type_name(tt.elem_type())) +
                               ", which model-surgery does not support (float32, int64, int32, bool)");
        }
        if (tt.has_shape()) {
            ir::Shape s;
            for (const auto& dim : tt.shape().dim()) {
                if (dim.has_dim_value()) {
                    if (dim.dim_value() < 0) throw io_error(what + " has a negative dimension " + std::to_string(dim.dim_value()));
                    s.push_back(dim.dim_value());
                } else {
                    s.push_back(-1); // symbolic or unknown
                }
            }
            ir::Shape known;
            for (auto x : s) known.push_back(x < 0 ? 1 : x);
            (void)checked_numel(known, what);
            d.shape = std::move(s);
        }
        return d;
    }

    /// Initializers that are empty tensors read only as Resize's roi or scales: how opsets 11-12
    /// (and exporters) say "not given". They become omitted inputs instead of constants.
    static std::unordered_set<std::string> empty_placeholders(const pb::GraphProto& gp) {
        std::unordered_set<std::string> empty, other_use;
        for (const auto& t : gp.initializer()) {
            bool zero = false;
            for (auto d : t.dims()) zero = zero || d == 0;
            if (zero) empty.insert(t.name());
        }
        if (empty.empty()) return empty;
        for (const auto& n : gp.node())
            for (int k = 0; k < n.input_size(); ++k)
                if (n.op_type() != "Resize" || (k != 1 && k != 2)) other_use.insert(n.input(k));
        for (const auto& o : gp.output()) other_use.insert(o.name());
        for (const auto& vi : gp.input()) other_use.insert(vi.name()); // overridable: not a placeholder
        std::erase_if(empty, [&](const std::string& name) { return other_use.count(name) > 0; });
        return empty;
    }

    void define(const std::string& name, ir::ValueId id, const char* kind) {
        if (!values_.emplace(name, id).second) throw io_error(std::string(kind) + " '" + name + "' is defined twice");
    }

    /// Node indices in topological order (file order when the file is already sorted, as ONNX requires;
    /// unsorted files are accepted). Missing inputs and cycles are reported with the node.
    std::vector<std::size_t> node_order(const pb::GraphProto& gp) const {
        const auto count = static_cast<std::size_t>(gp.node_size());
        std::unordered_map<std::string, std::size_t> producer;
        for (std::size_t i = 0; i < count; ++i)
            for (const auto& o : gp.node(static_cast<int>(i)).output()) {
                if (o.empty()) continue;
                if (values_.count(o) || !producer.emplace(o, i).second)
                    throw io_error(node_label(gp.node(static_cast<int>(i)), i) + ": output '" + o + "' is already defined elsewhere");
            }
        std::vector<std::vector<std::size_t>> consumers(count);
        std::vector<std::size_t> indeg(count, 0);
        for (std::size_t i = 0; i < count; ++i) {
            const auto& n = gp.node(static_cast<int>(i));
            for (const auto& in : n.input()) {
                if (in.empty() || values_.count(in) || placeholders_.count(in)) continue;
                auto it = producer.find(in);
                if (it == producer.end())
                    throw io_error(node_label(n, i) + ": op '" + n.op_type() + "' reads '" + in +
                                   "', which no node, initializer or graph input defines");
                consumers[it->second].push_back(i);
                ++indeg[i];
            }
        }
        std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
        for (std::size_t i = 0; i < count; ++i)
            if (indeg[i] == 0) ready.push(i);
        std::vector<std::size_t> order;
        order.reserve(count);
        while (!ready.empty()) {
            const std::size_t i = ready.top();
            ready.pop();
            order.push_back(i);
            for (std::size_t c : consumers[i])
                if (--indeg[c] == 0) ready.push(c);
        }
        if (order.size() != count) {
            for (std::size_t i = 0; i < count; ++i)
                if (indeg[i] != 0) throw io_error(node_label(gp.node(static_cast<int>(i)), i) + ": the graph has a cycle through this node");
        }
        return order;
    }

    // ---- nodes -----------------------------------------------------------------------------

    static std::string node_label(const pb::NodeProto& n, std::size_t index) {
        return n.name().empty() ? "node #" + std::to_string(index) : "node '" + n.name() + "' (index " + std::to_string(index) + ")";
    }

    const pb::AttributeProto* find_attr(const pb::NodeProto& n, std::string_view name) const {
        for (const auto& a : n.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }

    /// Attributes of older opsets that the converters below handle instead of the generic table.
    [[nodiscard]] bool legacy_attribute(std::string_view op, std::string_view a) const {
        const bool binary = op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow";
        if (a == "consumed_inputs" && opset_ < 7) return true;
        if (op == "BatchNormalization" && ((a == "is_test" && opset_ < 7) || (a == "spatial" && opset_ < 9))) return true;
        if (op == "Dropout" && a == "is_test" && opset_ < 7) return true;
        if (binary && (a == "broadcast" || a == "axis") && opset_ < 7) return true;
        if (op == "Gemm" && a == "broadcast" && opset_ < 7) return true;
        if (op == "Clip" && (a == "min" || a == "max") && opset_ < 11) return true;
        if (op == "Slice" && (a == "starts" || a == "ends" || a == "axes") && opset_ < 10) return true;
        if ((op == "Squeeze" || op == "Unsqueeze") && a == "axes" && opset_ < 13) return true;
        if (op == "Reshape" && a == "shape" && opset_ < 5) return true;
        if (op == "Resize" && (a == "antialias" || a == "keep_aspect_ratio_policy" || a == "axes") && opset_ >= 18) return true;
        return false;
    }

    /// A value name not used in the model, derived from `base`.
    std::string fresh_name(const std::string& base) {
        std::string name = base;
        for (int k = 1; values_.count(name) || consumed_.count(name); ++k) name = base + "_" + std::to_string(k);
        return name;
    }

    ir::ValueId new_constant(const std::string& base, ir::Tensor t) {
        std::string name = fresh_name(base);
        ir::ValueId id = g_.add_constant(name, std::move(t));
        values_.emplace(std::move(name), id);
        return id;
    }

    static ir::Ints ints_of(const pb::AttributeProto& a) { return ir::Ints(a.ints().begin(), a.ints().end()); }

    void read_node(const pb::NodeProto& n, std::size_t index) {
        const std::string what = node_label(n, index);
        const std::string& type = n.op_type();
        if (!n.domain().empty() && n.domain() != "ai.onnx")
            throw io_error(what + ": op '" + type + "' of domain '" + n.domain() +
                           "' is not supported (model-surgery reads the default ONNX domain only)");
        if (type == "Constant") return fold_constant(n, what);
        const auto kind = ir::kind_from_name(type);
        if (!kind) throw io_error(what + ": op '" + type + "' is not supported by model-surgery");
        if (opset_ < since_opset(type))
            throw io_error(what + ": op '" + type + "' needs opset " + std::to_string(since_opset(type)) + " or later, but the model imports opset " +
                           std::to_string(opset_));
        if (type == "Resize" && opset_ < 11)
            throw io_error(what + ": op 'Resize' before opset 11 (the scales-only form) is not supported");
        const std::string op_what = what + ": op '" + type + "'";

        ir::Op op = ir::make_op(*kind);
        // Defaults that older opsets define differently from the IR (the IR holds the newest form).
        if (auto* s = std::get_if<ir::ops::Softmax>(&op); s && opset_ < 13) s->axis = 1;
        if (auto* c = std::get_if<ir::ops::Concat>(&op); c && opset_ < 4) c->axis = 1;

        for (const auto& a : n.attribute()) {
            if (legacy_attribute(type, a.name())) continue;
            if (!read_attribute(op, a, op_what))
                throw io_error(op_what + " has attribute '" + a.name() + "', which model-surgery does not know for this op");
        }

        std::vector<ir::ValueId> inputs;
        for (const auto& in : n.input()) {
            if (in.empty() || placeholders_.count(in)) {
                inputs.push_back(ir::ValueId::none());
                continue;
            }
            auto it = values_.find(in);
            if (it == values_.end()) throw io_error(op_what + " reads '" + in + "', which is not defined");
            inputs.push_back(it->second);
        }
        std::vector<std::string> outputs(n.output().begin(), n.output().end());
        while (!outputs.empty() && outputs.back().empty()) outputs.pop_back();

        convert_legacy(n, inputs, op_what);
        while (!inputs.empty() && !inputs.back()) inputs.pop_back();

        // BatchNormalization before opset 14 has up to 5 outputs (running and saved statistics, for
        // training); they are dropped when nothing reads them.
        if (std::holds_alternative<ir::ops::BatchNormalization>(op) && opset_ < 14) {
            while (outputs.size() > 1 && (outputs.back().empty() || !consumed_.count(outputs.back()))) outputs.pop_back();
            if (outputs.size() > 1) throw io_error(op_what + ": the training-mode outputs (mean, variance) are used, which is not supported");
        }
        check_arity(op, inputs.size(), outputs.size(), op_what);
        if (auto* sp = std::get_if<ir::ops::Split>(&op); sp && sp->num_outputs == static_cast<std::int64_t>(outputs.size()))
            sp->num_outputs = 0; // opset 18 spells out what the output count says; the IR leaves it implicit

        if (auto* sm = std::get_if<ir::ops::Softmax>(&op); sm && opset_ < 13) {
            if (legacy_softmax(n, *sm, inputs[0], outputs.at(0), op_what)) return;
        }
        add(std::move(op), std::move(inputs), outputs, n.name(), op_what);
    }

    static void check_arity(const ir::Op& op, std::size_t ins, std::size_t outs, const std::string& op_what) {
        const ir::arity_t ar = ir::arity_of(op);
        auto range = [](std::uint32_t lo, std::uint32_t hi) {
            if (hi == ir::arity_t::variadic) return "at least " + std::to_string(lo);
            return lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
        };
        if (ins < ar.min_inputs || (ar.max_inputs != ir::arity_t::variadic && ins > ar.max_inputs))
            throw io_error(op_what + " takes " + range(ar.min_inputs, ar.max_inputs) + " inputs, got " + std::to_string(ins));
        if (outs < ar.min_outputs || (ar.max_outputs != ir::arity_t::variadic && outs > ar.max_outputs))
            throw io_error(op_what + " produces " + range(ar.min_outputs, ar.max_outputs) + " outputs, got " + std::to_string(outs));
    }

    /// Adds a node, names its outputs, infers their shapes and merges the declared ones.
    void add(ir::Op op, std::vector<ir::ValueId> inputs, const std::vector<std::string>& outputs, const std::string& node_name,
             const std::string& op_what) {
        const std::size_t arity_inputs = inputs.size();
        for (std::size_t s = 0; s < arity_inputs; ++s)
            if (!inputs[s] && s < ir::arity_of(op).min_inputs) throw io_error(op_what + ": required input " + std::to_string(s) + " is empty");
        ir::NodeId id;
        try {
            id = g_.add_node(std::move(op), std::move(inputs), outputs.size(), node_name);
        } catch (const graph_error& e) {
            throw io_error(op_what + ": " + strip(e));
        }
        const ir::Node& nd = g_.node(id);
        for (std::size_t o = 0; o < outputs.size(); ++o) {
            g_.set_value_name(nd.outputs[o], outputs[o]);
            if (!outputs[o].empty()) define(outputs[o], nd.outputs[o], "value");
        }
        ir::inferred_outputs r;
        try {
            r = ir::infer_node(g_, id);
        } catch (const graph_error& e) {
            throw io_error(op_what + ": " + strip(e));
        }
        for (std::size_t o = 0; o < outputs.size(); ++o) {
            const ir::ValueId v = nd.outputs[o];
            std::optional<ir::Shape> shape = r.shapes[o];
            ir::DType dtype = r.dtypes[o];
            auto d = declared_.find(outputs[o]);
            if (!outputs[o].empty() && d != declared_.end()) {
                const declared_type& dt = d->second;
                if (dt.shape) {
                    if (!shape) shape = dt.shape;
                    else if (!merge_shapes(*shape, *dt.shape))
                        throw io_error(op_what + ": output '" + outputs[o] + "' is declared " + ir::to_string(*dt.shape) + " but inferred " +
                                       ir::to_string(*r.shapes[o]));
                }
                if (dt.dtype != ir::DType::undefined && dt.dtype != dtype)
                    throw io_error(op_what + ": output '" + outputs[o] + "' is declared " + std::string(ir::to_string(dt.dtype)) + " but inferred " +
                                   std::string(ir::to_string(dtype)));
            }
            g_.set_shape(v, shape);
            g_.set_dtype(v, dtype);
        }
    }

    static std::string strip(const graph_error& e) {
        std::string msg = e.what();
        const std::string prefix = "node '" + e.node() + "': ";
        if (!e.node().empty() && msg.rfind(prefix, 0) == 0) msg.erase(0, prefix.size());
        return msg;
    }

    /// A Constant node becomes a constant value (initializer).
    void fold_constant(const pb::NodeProto& n, const std::string& what) {
        if (n.output_size() != 1 || n.output(0).empty()) throw io_error(what + ": op 'Constant' must have exactly one output");
        if (n.input_size() != 0) throw io_error(what + ": op 'Constant' takes no inputs");
        if (n.attribute_size() != 1) throw io_error(what + ": op 'Constant' needs exactly one value attribute");
        const pb::AttributeProto& a = n.attribute(0);
        const std::string awhat = what + ": op 'Constant' attribute '" + a.name() + "'";
        ir::Tensor t;
        if (a.name() == "value") t = from_tensor_proto(a.t(), awhat);
        else if (a.name() == "value_float") t = ir::Tensor::scalar(a.f());
        else if (a.name() == "value_floats") t = ir::Tensor::floats({a.floats_size()}, ir::Floats(a.floats().begin(), a.floats().end()));
        else if (a.name() == "value_int") t = ir::Tensor::ints({}, {a.i()});
        else if (a.name() == "value_ints") t = ir::Tensor::vector(ints_of(a));
        else throw io_error(awhat + " is not supported (sparse and string constants are not)");
        define(n.output(0), g_.add_constant(n.output(0), std::move(t)), "value");
    }

    // ---- conversions of older opsets to the IR's forms ------------------------------------

    void convert_legacy(const pb::NodeProto& n, std::vector<ir::ValueId>& inputs, const std::string& op_what) {
        const std::string& type = n.op_type();
        const std::string base = (n.name().empty() ? type : n.name()) + "/";
        auto pad_inputs = [&](std::size_t k) {
            if (inputs.size() < k) inputs.resize(k, ir::ValueId::none());
        };
        if (opset_ < 11 && type == "Clip") {
            pad_inputs(1);
            inputs.resize(1);
            const pb::AttributeProto* lo = find_attr(n, "min");
            const pb::AttributeProto* hi = find_attr(n, "max");
            inputs.push_back(lo ? new_constant(base + "min", ir::Tensor::scalar(lo->f())) : ir::ValueId::none());
            inputs.push_back(hi ? new_constant(base + "max", ir::Tensor::scalar(hi->f())) : ir::ValueId::none());
        } else if (opset_ < 10 && type == "Slice") {
            const pb::AttributeProto* s = find_attr(n, "starts");
            const pb::AttributeProto* e = find_attr(n, "ends");
            const pb::AttributeProto* ax = find_attr(n, "axes");
            if (!s || !e) throw io_error(op_what + " (opset < 10) needs the 'starts' and 'ends' attributes");
            pad_inputs(1);
            inputs.resize(1);
            inputs.push_back(new_constant(base + "starts", ir::Tensor::vector(ints_of(*s))));
            inputs.push_back(new_constant(base + "ends", ir::Tensor::vector(ints_of(*e))));
            if (ax) inputs.push_back(new_constant(base + "axes", ir::Tensor::vector(ints_of(*ax))));
        } else if (opset_ < 13 && (type == "Squeeze" || type == "Unsqueeze")) {
            if (const pb::AttributeProto* ax = find_attr(n, "axes")) {
                pad_inputs(1);
                inputs.resize(1);
                inputs.push_back(new_constant(base + "axes", ir::Tensor::vector(ints_of(*ax))));
            }
        } else if (opset_ < 5 && type == "Reshape") {
            if (const pb::AttributeProto* sh = find_attr(n, "shape")) {
                pad_inputs(1);
                inputs.resize(1);
                inputs.push_back(new_constant(base + "shape", ir::Tensor::vector(ints_of(*sh))));
            }
        } else if (opset_ < 9 && type == "BatchNormalization") {
            if (const pb::AttributeProto* sp = find_attr(n, "spatial"); sp && sp->i() == 0)
                throw io_error(op_what + ": spatial = 0 (per-activation statistics) is not supported");
        } else if (opset_ < 7 && (type == "Add" || type == "Sub" || type == "Mul" || type == "Div" || type == "Pow")) {
            legacy_broadcast(n, inputs, base, op_what);
        } else if (opset_ >= 18 && type == "Resize") {
            const pb::AttributeProto* aa = find_attr(n, "antialias");
            const pb::AttributeProto* kp = find_attr(n, "keep_aspect_ratio_policy");
            const pb::AttributeProto* ax = find_attr(n, "axes");
            if ((aa && aa->i() != 0) || (kp && kp->s() != "stretch") || (ax && ax->ints_size() > 0))
                throw io_error(op_what + ": antialias, axes and keep_aspect_ratio_policy other than their defaults are not supported");
        }
        if (type == "Resize") {
            // Empty roi/scales (e.g. from a folded Constant node) also mean "not given".
            for (std::size_t s = 1; s < 3 && s < inputs.size(); ++s)
                if (const ir::Tensor* t = g_.constant(inputs[s]); t && t->size() == 0) inputs[s] = ir::ValueId::none();
        }
    }

    /// Opset < 7 element-wise ops: `broadcast = 1` with `axis` aligns B with A starting at `axis`;
    /// turned into numpy broadcasting by giving a constant B trailing dimensions of size 1.
    void legacy_broadcast(const pb::NodeProto& n, std::vector<ir::ValueId>& inputs, const std::string& base, const std::string& op_what) {
        const pb::AttributeProto* bc = find_attr(n, "broadcast");
        const pb::AttributeProto* ax = find_attr(n, "axis");
        if (!bc || bc->i() == 0 || !ax || inputs.size() != 2 || !inputs[0] || !inputs[1]) return;
        const std::optional<ir::Shape> sa = g_.value(inputs[0]).shape;
        const std::optional<ir::Shape> sb = g_.value(inputs[1]).shape;
        if (!sa || !sb) throw io_error(op_what + ": legacy broadcasting with 'axis' needs the ranks of both inputs");
        const auto ra = static_cast<std::int64_t>(sa->size()), rb = static_cast<std::int64_t>(sb->size());
        const std::int64_t axis = ax->i() < 0 ? ax->i() + ra : ax->i();
        if (axis < 0 || axis + rb > ra) throw io_error(op_what + ": broadcast axis " + std::to_string(ax->i()) + " is out of range");
        if (axis + rb == ra) return; // the same as numpy broadcasting
        const ir::Tensor* t = g_.constant(inputs[1]);
        if (!t) throw io_error(op_what + ": legacy broadcasting along axis " + std::to_string(ax->i()) + " of a non-constant input is not supported");
        ir::Tensor b = *t;
        b.shape.resize(static_cast<std::size_t>(ra - axis), 1);
        inputs[1] = new_constant(base + "broadcast", std::move(b));
    }

    /// Softmax before opset 13 flattens the input to 2-D at `axis`. Equal to the IR's (opset 13)
    /// Softmax when `axis` is the last one; otherwise written as Flatten -> Softmax -> Reshape.
    /// Returns true when it added the nodes itself.
    bool legacy_softmax(const pb::NodeProto& n, ir::ops::Softmax& sm, ir::ValueId x, const std::string& out, const std::string& op_what) {
        const std::optional<ir::Shape> xs = g_.value(x).shape; // a copy: adding nodes below moves the graph's values
        if (!xs) throw io_error(op_what + " (opset < 13) needs the input's rank to convert its 2-D semantics");
        const auto r = static_cast<std::int64_t>(xs->size());
        const std::int64_t axis = sm.axis < 0 ? sm.axis + r : sm.axis;
        if (axis < 0 || axis >= r) throw io_error(op_what + ": axis " + std::to_string(sm.axis) + " is out of range for rank " + std::to_string(r));
        if (axis == r - 1) return false;
        if (!ir::is_static(*xs))
            throw io_error(op_what + " (opset < 13) over axis " + std::to_string(sm.axis) + " of a tensor of unknown shape " + ir::to_string(*xs) +
                           " cannot be converted");
        const std::string base = n.name().empty() ? "softmax" : n.name();
        ir::ops::Flatten fl;
        fl.axis = axis;
        const std::string flat = fresh_name(base + "/flatten");
        add(fl, {x}, {flat}, base + "/flatten", op_what);
        ir::ops::Softmax s2;
        s2.axis = 1;
        const std::string soft = fresh_name(base + "/softmax2d");
        add(s2, {values_.at(flat)}, {soft}, n.name(), op_what);
        const ir::ValueId shape = new_constant(base + "/shape", ir::Tensor::vector(*xs));
        add(ir::ops::Reshape{}, {values_.at(soft), shape}, {out}, base + "/reshape", op_what);
        return true;
    }

    const pb::ModelProto& m_;
    ir::Graph g_;
    std::int64_t opset_ = 0;
    std::unordered_map<std::string, ir::ValueId> values_;
    std::unordered_set<std::string> consumed_;
    std::unordered_set<std::string> placeholders_;
    std::unordered_map<std::string, declared_type> declared_;
};

} // namespace detail

/// Converts an ONNX model to an `ir::Graph`: initializers (and graph inputs that are also
/// initializers) become constants, Constant nodes are folded into constants, attributes are read
/// through the op catalogue's tables with ONNX's defaults, older opsets' forms are converted to the
/// IR's, and shapes are inferred and checked against the declared ones. The graph's opset is the
/// model's (at least 11: older models are converted to opset-11 forms).
/// Throws `io_error` naming the node (name and index) and op for anything the IR cannot represent.
[[nodiscard]] inline ir::Graph from_model_proto(const ::onnx::ModelProto& model) {
    try {
        return detail::model_reader(model).run();
    } catch (const io_error&) {
        throw;
    } catch (const surgery::error& e) { // e.g. a graph_error of the IR: still a problem of the file
        throw io_error(e.what());
    }
}

/// Reads an ONNX file. Errors are `io_error`s whose message starts with the file name.
[[nodiscard]] inline ir::Graph load(const std::filesystem::path& path) {
    ::onnx::ModelProto model;
    detail::parse(model, detail::read_file(path), detail::quoted(path));
    try {
        return from_model_proto(model);
    } catch (const io_error& e) {
        throw io_error(detail::quoted(path) + ": " + e.what());
    }
}

} // namespace surgery::onnx
