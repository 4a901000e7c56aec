// Reading ONNX models into ir::Graph: load(path) and from_model_proto(model).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/name_map.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/shape_inference.hpp"

#include "surgery/onnx/detail/attributes.hpp"
#include "surgery/onnx/detail/proto.hpp"
#include "surgery/onnx/tensor.hpp"

namespace surgery::onnx {

namespace detail {

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

} // namespace detail

/// Options of `load` and `from_model_proto`.
struct load_options {
    /// Graph inputs that also have an initializer become constants (their value frozen). By
    /// default they stay inputs, with the initializer as their default value, so the model's
    /// interface is unchanged.
    bool freeze_inputs = false;
    /// Run ONNX's shape inference first when the model has ops outside the catalogue, so that
    /// their outputs get shapes even where the model declares none.
    bool onnx_shape_inference = true;
};

namespace detail {

/// Names seen so far (a node's attributes): a list while short, a hash set beyond; no allocation
/// for the usual handful. The names are views: their strings must outlive the set.
class seen_names {
public:
    /// False when `name` was seen before.
    bool insert(std::string_view name) {
        if (set_.empty()) {
            const auto end = list_.begin() + static_cast<std::ptrdiff_t>(size_);
            if (std::find(list_.begin(), end, name) != end) return false;
            if (size_ < list_.size()) {
                list_[size_++] = name;
                return true;
            }
            set_.insert(list_.begin(), list_.end());
        }
        return set_.insert(name).second;
    }

private:
    std::array<std::string_view, 16> list_{};
    std::size_t size_ = 0;
    std::unordered_set<std::string_view> set_;
};

/// How messages name a node, "node 'conv1' (index 3)", with its op ": op 'Conv'" when given;
/// formatted only when a message is built (a large model would otherwise cost strings per node).
class node_what {
public:
    node_what(const pb::NodeProto& n, std::size_t index) : n_(&n), index_(index) {}
    /// The same with ": op '<op>'" after it; `op` must outlive the result.
    [[nodiscard]] node_what with_op(std::string_view op) const {
        node_what w = *this;
        w.op_ = op;
        w.has_op_ = true;
        return w;
    }
    [[nodiscard]] std::string str() const {
        std::string s = n_->name().empty() ? "node #" + std::to_string(index_) : "node '" + n_->name() + "' (index " + std::to_string(index_) + ")";
        if (has_op_) s.append(": op '").append(op_).append("'");
        return s;
    }
    friend std::string operator+(const node_what& w, std::string_view tail) {
        std::string s = w.str();
        s.append(tail);
        return s;
    }

private:
    const pb::NodeProto* n_;
    std::size_t index_;
    std::string_view op_;
    bool has_op_ = false;
};

/// Turns one ModelProto into an ir::Graph; every error names the node (name and index) or value.
class model_reader {
public:
    explicit model_reader(const pb::ModelProto& m, load_options options = {}, bool file_order = false)
        : m_(m), options_(options), file_order_(file_order) {}

    /// Reads `m`: first in file order, which ONNX requires (every node after the producers of its
    /// inputs), resolving each name once; if a node reads a value not defined yet or redefines one,
    /// again from the start with the nodes sorted first (an unsorted file is accepted; a cycle, a
    /// missing value or a value defined twice is reported by the sorting pass, naming the node).
    [[nodiscard]] static ir::Graph read(const pb::ModelProto& m, const load_options& options) {
        try {
            return model_reader(m, options, true).run();
        } catch (const not_in_file_order&) {
            return model_reader(m, options, false).run();
        }
    }

    ir::Graph run() {
        if (!m_.has_graph()) throw io_error("the model has no graph");
        read_opset();
        const pb::GraphProto& gp = m_.graph();
        g_.name = gp.name();
        g_.producer_name = m_.producer_name();
        g_.opset = std::max(opset_, std::int64_t{11}); // older forms are converted to opset-11 ones below
        for (const auto& os : m_.opset_import())
            if (!ir::plain_domain(os.domain()).empty()) g_.domain_opsets.emplace_back(os.domain(), os.version());
        for (const auto& kv : m_.metadata_props()) g_.metadata.emplace_back(kv.key(), kv.value());
        if (gp.sparse_initializer_size() > 0) throw io_error("sparse initializers are not supported");
        if (gp.output_size() == 0) throw io_error("the graph has no outputs (ONNX requires at least one)");

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
        for (const auto& vi : gp.value_info()) declare(vi.name(), declared("value_info", vi, true));
        for (const auto& vi : gp.output()) declare(vi.name(), declared("graph output", vi, false));
        std::unordered_set<std::string_view> input_names; // views into the model, which outlives this
        for (const auto& vi : gp.input()) {
            if (vi.name().empty()) throw io_error("a graph input has no name");
            if (!input_names.insert(vi.name()).second) throw io_error("graph input '" + vi.name() + "' is listed twice");
            if (values_.contains(vi.name())) {
                // Also an initializer: a constant when freezing, else an input whose default is the initializer.
                const declared_type d = declared("graph input", vi, true);
                const ir::ValueId cv = *values_.find(vi.name());
                const ir::Value& v = g_.value(cv); // an initializer: only those are defined before the inputs
                if (d.shape && v.shape) {
                    ir::Shape s = *v.shape;
                    if (!merge_shapes(s, *d.shape))
                        throw io_error("graph input '" + vi.name() + "' is declared " + ir::to_string(*d.shape) + " but its initializer is " +
                                       ir::to_string(*v.shape));
                }
                if (!options_.freeze_inputs) {
                    std::shared_ptr<const ir::Tensor> data = v.data;
                    const ir::ValueId id = g_.add_input(vi.name(), d.shape ? *d.shape : data->shape, data->dtype);
                    g_.set_default(id, std::move(data));
                    g_.erase_value(cv);
                    values_.assign(vi.name(), id);
                }
                continue;
            }
            const declared_type d = declared("graph input", vi, false);
            if (d.dtype == ir::DType::undefined) throw io_error("graph input '" + vi.name() + "' has no element type");
            const ir::ValueId id = g_.add_input(vi.name(), d.shape.value_or(ir::Shape{}), d.dtype);
            if (!d.shape) g_.set_shape(id, std::nullopt);
            define(vi.name(), id, "graph input");
        }

        g_.reserve(static_cast<std::size_t>(gp.node_size()), static_cast<std::size_t>(gp.node_size() + gp.initializer_size() + gp.input_size()));
        values_.reserve(static_cast<std::size_t>(gp.node_size() + gp.initializer_size() + gp.input_size()));

        if (file_order_) {
            for (int i = 0; i < gp.node_size(); ++i) read_node(gp.node(i), static_cast<std::size_t>(i));
        } else {
            for (std::size_t idx : node_order(gp)) read_node(gp.node(static_cast<int>(idx)), idx);
        }

        for (const auto& o : gp.output()) {
            if (o.name().empty()) throw io_error("a graph output has no name");
            const ir::ValueId* v = values_.find(o.name());
            if (!v) throw io_error("graph output '" + o.name() + "' is not produced by any node, initializer or input");
            g_.add_output(*v);
        }
        return std::move(g_);
    }

private:
    // ---- model-level -----------------------------------------------------------------------

    void read_opset() {
        bool found = false;
        for (const auto& os : m_.opset_import()) {
            if (ir::plain_domain(os.domain()).empty()) {
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

    /// What `vi` (a `kind`: "graph input", ...) declares.
    declared_type declared(const char* kind, const pb::ValueInfoProto& vi, bool lenient) const {
        // The description for messages, built only when one is (most values have no error).
        const auto what = [&] { return std::string(kind) + " '" + vi.name() + "'"; };
        declared_type d;
        if (!vi.has_type()) return d;
        const pb::TypeProto& t = vi.type();
        if (!t.has_tensor_type()) {
            if (lenient) return d;
            throw io_error(what() + " is not a tensor (sequence, map, optional and sparse values are not supported)");
        }
        const auto& tt = t.tensor_type();
        if (tt.elem_type() != pb::TensorProto_DataType_UNDEFINED) {
            d.dtype = to_dtype(tt.elem_type());
            if (d.dtype == ir::DType::undefined) {
                const std::string_view name = elem_type_name(tt.elem_type());
                throw io_error(what() + " has element type " +
                               (name == "unknown" ? "code " + std::to_string(tt.elem_type()) + ", which is not one ONNX defines"
                                                  : std::string(name) + ", which model-surgery does not know"));
            }
        }
        if (tt.has_shape()) {
            ir::Shape s;
            for (const auto& dim : tt.shape().dim()) {
                if (dim.has_dim_value()) {
                    if (dim.dim_value() < 0) throw io_error(what() + " has a negative dimension " + std::to_string(dim.dim_value()));
                    s.push_back(dim.dim_value());
                } else {
                    s.push_back(-1); // symbolic or unknown
                }
            }
            (void)checked_numel(ir::with_dynamic_dims(s, 1), what); // the count at size 1 for unknown dimensions must be bounded
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
        const auto r = values_.try_emplace(name, id);
        if (!r.inserted) {
            if (file_order_) throw not_in_file_order{};
            throw io_error(std::string(kind) + " '" + name + "' is defined twice");
        }
        journal_.push_back(r.key);
    }

    /// Node indices in topological order (file order when the file is already sorted, as ONNX requires;
    /// unsorted files are accepted). Missing inputs and cycles are reported with the node.
    std::vector<std::size_t> node_order(const pb::GraphProto& gp) const {
        const auto count = static_cast<std::size_t>(gp.node_size());
        // Keys are views into the model, which outlives this call.
        std::unordered_map<std::string_view, std::size_t> producer;
        producer.reserve(count);
        for (std::size_t i = 0; i < count; ++i)
            for (const auto& o : gp.node(static_cast<int>(i)).output()) {
                if (o.empty()) continue;
                if (values_.contains(o) || !producer.emplace(o, i).second)
                    throw io_error(node_label(gp.node(static_cast<int>(i)), i) + ": output '" + o + "' is already defined elsewhere");
            }
        // Edges producer -> consumer, then grouped by producer (one array, no list per node).
        std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
        edges.reserve(count);
        std::vector<std::size_t> indeg(count, 0);
        bool sorted = true; // every node after the producers of its inputs: the file order is the order
        for (std::size_t i = 0; i < count; ++i) {
            const auto& n = gp.node(static_cast<int>(i));
            for (const auto& in : n.input()) {
                if (in.empty() || values_.contains(in) || placeholders_.count(in)) continue;
                auto it = producer.find(in);
                if (it == producer.end())
                    throw io_error(node_label(n, i) + ": op '" + n.op_type() + "' reads '" + in +
                                   "', which no node, initializer or graph input defines");
                edges.emplace_back(static_cast<std::uint32_t>(it->second), static_cast<std::uint32_t>(i));
                sorted = sorted && it->second < i;
                ++indeg[i];
            }
        }
        std::vector<std::size_t> order;
        order.reserve(count);
        if (sorted) { // what Kahn's algorithm below gives for a sorted file, without the queue
            for (std::size_t i = 0; i < count; ++i) order.push_back(i);
            return order;
        }
        std::vector<std::size_t> first(count + 1, 0);
        for (const auto& e : edges) ++first[e.first + 1];
        for (std::size_t i = 0; i < count; ++i) first[i + 1] += first[i];
        std::vector<std::uint32_t> consumer_of(edges.size());
        {
            std::vector<std::size_t> fill(first.begin(), first.end() - 1);
            for (const auto& e : edges) consumer_of[fill[e.first]++] = e.second;
        }
        const auto consumers = [&](std::size_t i) {
            return std::span<const std::uint32_t>(consumer_of.data() + first[i], first[i + 1] - first[i]);
        };
        std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
        for (std::size_t i = 0; i < count; ++i)
            if (indeg[i] == 0) ready.push(i);
        while (!ready.empty()) {
            const std::size_t i = ready.top();
            ready.pop();
            order.push_back(i);
            for (std::size_t c : consumers(i))
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
    [[nodiscard]] bool legacy_attribute(const ir::Op& op, std::string_view type, std::string_view a) const {
        for (const ir::legacy_input& li : ir::legacy_inputs_of(op))
            if (li.attribute == a && opset_ < li.before) return true;
        const bool binary = type == "Add" || type == "Sub" || type == "Mul" || type == "Div" || type == "Pow";
        if (a == "consumed_inputs" && opset_ < 7) return true;
        if (type == "BatchNormalization" && ((a == "is_test" && opset_ < 7) || (a == "spatial" && opset_ < 9))) return true;
        if (type == "Dropout" && a == "is_test" && opset_ < 7) return true;
        if (binary && (a == "broadcast" || a == "axis") && opset_ < 7) return true;
        if (type == "Gemm" && a == "broadcast" && opset_ < 7) return true;
        if (type == "Resize" && (a == "antialias" || a == "keep_aspect_ratio_policy" || a == "axes") && opset_ >= 18) return true;
        return false;
    }

    /// Whether a node or a graph output reads `name` (rarely needed: the set is built on first use).
    bool consumed(std::string_view name) {
        if (!consumed_built_) {
            const pb::GraphProto& gp = m_.graph();
            for (const auto& n : gp.node())
                for (const auto& in : n.input()) consumed_.insert(in);
            for (const auto& o : gp.output()) consumed_.insert(o.name());
            consumed_built_ = true;
        }
        return consumed_.count(name) > 0;
    }

    /// The value named `name`, which node `op_what` reads; reading in file order, a name not
    /// defined yet makes `read` start again sorted.
    ir::ValueId defined(const std::string& name, const node_what& op_what) const {
        if (const ir::ValueId* v = values_.find(name)) return *v;
        if (file_order_) throw not_in_file_order{};
        throw io_error(op_what + " reads '" + name + "', which is not defined");
    }

    /// Records what the model declares for value `name` (a later declaration replaces an earlier one).
    void declare(const std::string& name, declared_type d) {
        const auto r = declared_index_.try_emplace(name, static_cast<std::uint32_t>(declared_.size()));
        if (r.inserted) declared_.push_back(std::move(d));
        else declared_[*r.value] = std::move(d);
    }

    /// What the model declares for value `name`, if anything.
    [[nodiscard]] const declared_type* declaration(std::string_view name) const {
        if (declared_.empty()) return nullptr;
        const std::uint32_t* i = declared_index_.find(name);
        return i ? &declared_[*i] : nullptr;
    }

    /// A value this reader has just defined (an expansion's intermediate).
    ir::ValueId known(std::string_view name) const {
        if (const ir::ValueId* v = values_.find(name)) return *v;
        throw io_error("internal error: value '" + std::string(name) + "' was not defined");
    }

    /// A value name not used in the model, derived from `base`.
    std::string fresh_name(const std::string& base) {
        std::string name = base;
        for (int k = 1; values_.contains(name) || consumed(name); ++k) name = base + "_" + std::to_string(k);
        return name;
    }

    ir::ValueId new_constant(const std::string& base, ir::Tensor t) {
        const std::string name = fresh_name(base);
        const ir::ValueId id = g_.add_constant(name, std::move(t));
        journal_.push_back(values_.try_emplace(name, id).key);
        return id;
    }

    static ir::Ints ints_of(const pb::AttributeProto& a) { return ir::Ints(a.ints().begin(), a.ints().end()); }

    /// Reading in file order met a node that reads a value not defined yet, or defines one again:
    /// `read` starts again with the nodes sorted. Not an exception type callers catch.
    struct not_in_file_order {};

    /// A form of a catalogue op that the IR does not represent: the node is carried as opaque.
    struct unsupported_form {
        std::string why;
    };

    void read_node(const pb::NodeProto& n, std::size_t index) {
        const node_what what(n, index);
        const std::string& type = n.op_type();
        const std::string domain(ir::plain_domain(n.domain()));
        if (type.empty()) throw io_error(what + ": the node has no op_type");
        if (domain.empty() && type == "Constant") return fold_constant(n, what);
        if (domain.empty()) check_schema(n, what);
        const auto kind = ir::kind_from_name(type, domain);
        if (!kind) return read_opaque(n, what, domain);
        const node_what op_what = what.with_op(type);
        const ir::Checkpoint cp = g_.checkpoint();
        journal_.clear();
        try {
            // An op older than the form the IR holds (Tile before opset 6, ...) travels as opaque.
            if (domain.empty() && opset_ < ir::since_of(*kind))
                throw unsupported_form{"the IR holds its form from opset " + std::to_string(ir::since_of(*kind)) + " on; the model imports opset " +
                                       std::to_string(opset_)};
            read_catalogue_node(n, *kind, op_what);
        } catch (const unsupported_form& u) {
            // Undo what the attempt added (helper constants), then carry the node unchanged.
            g_.rollback(cp);
            for (std::string_view name : journal_) values_.erase(name);
            opaque_reasons_.push_back(op_what + ": " + u.why);
            read_opaque(n, what, domain);
        }
    }

    /// What ONNX's checker refuses in a node of the default domain, when the linked libonnx knows
    /// the model's opset: an op that exists only from a later opset, and an attribute its schema does
    /// not have. Ops libonnx does not know, newer opsets and other domains are carried on trust
    /// (as opaque nodes when outside the catalogue): no model is refused for an op it does not know.
    void check_schema(const pb::NodeProto& n, const node_what& what) {
        const auto& map = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
        const auto range = map.find("");
        if (range == map.end() || opset_ > range->second.second) return;
        const std::string& type = n.op_type();
        auto cached = schemas_.find(type);
        if (cached == schemas_.end())
            cached = schemas_.emplace(type, ::onnx::OpSchemaRegistry::Schema(type, static_cast<int>(opset_), "")).first;
        const ::onnx::OpSchema* schema = cached->second;
        if (!schema) {
            // The first opset that has the op: the newest schema of the first opset with one (the
            // newest schema of all would name the op's latest revision instead).
            for (int v = static_cast<int>(opset_) + 1; v <= range->second.second; ++v)
                if (const ::onnx::OpSchema* first = ::onnx::OpSchemaRegistry::Schema(type, v, ""))
                    throw io_error(what + ": op '" + type + "' does not exist in opset " + std::to_string(opset_) + " (ONNX defines it from opset " +
                                   std::to_string(first->SinceVersion()) + ")");
            return; // an op libonnx does not know at all (newer, or a custom op without a domain): opaque, on trust
        }
        for (const auto& a : n.attribute())
            if (!schema->attributes().count(a.name()))
                throw io_error(what + ": op '" + type + "' has no attribute '" + a.name() + "' in opset " + std::to_string(opset_) +
                               " (ONNX's schema, version " + std::to_string(schema->SinceVersion()) + ")");
    }

    void read_catalogue_node(const pb::NodeProto& n, ir::OpKind kind, const node_what& op_what) {
        const std::string& type = n.op_type();
        ir::Op op = ir::make_op(kind);
        // Defaults that older opsets define differently from the IR (the IR holds the newest form).
        if (auto* sm = std::get_if<ir::ops::Softmax>(&op); sm && opset_ < 13) sm->axis = 1;
        if (auto* ls = std::get_if<ir::ops::LogSoftmax>(&op); ls && opset_ < 13) ls->axis = 1;
        if (auto* c = std::get_if<ir::ops::Concat>(&op); c && opset_ < 4) c->axis = 1;
        if (type == "Resize" && opset_ < 11) throw unsupported_form{"the opset-10 Resize (scales only) is not in the IR"};

        seen_names seen_attrs;
        for (const auto& a : n.attribute()) {
            if (!seen_attrs.insert(a.name())) throw io_error(op_what + " has attribute '" + a.name() + "' twice");
            if (legacy_attribute(op, type, a.name())) continue;
            for (const ir::legacy_input& li : ir::legacy_inputs_of(op)) // an attribute ONNX turned into an input
                if (li.attribute == a.name() && opset_ >= li.before)
                    throw io_error(op_what + " has no attribute '" + a.name() + "' in opset " + std::to_string(opset_) +
                                   " (it is input " + std::to_string(li.slot) + " from opset " + std::to_string(li.before) + " on)");
            if (!read_attribute(op, a, op_what)) throw unsupported_form{"attribute '" + a.name() + "' is not one the IR knows for this op"};
        }

        std::vector<ir::ValueId> inputs;
        for (const auto& in : n.input()) {
            if (in.empty() || (!placeholders_.empty() && placeholders_.count(in))) {
                inputs.push_back(ir::ValueId::none());
                continue;
            }
            inputs.push_back(defined(in, op_what));
        }
        std::vector<std::string> outputs(n.output().begin(), n.output().end());
        while (!outputs.empty() && outputs.back().empty()) outputs.pop_back();

        convert_legacy(n, op, inputs, op_what);
        while (!inputs.empty() && !inputs.back()) inputs.pop_back();

        bool bn_test_mode = false; // opset < 7: is_test = 1 says inference whatever outputs are declared
        if (opset_ < 7)
            for (const auto& a : n.attribute())
                if (a.name() == "is_test" && a.i() != 0) bn_test_mode = true;
        if (bn_test_mode && std::holds_alternative<ir::ops::BatchNormalization>(op)) {
            for (std::size_t k = 1; k < outputs.size(); ++k)
                if (!outputs[k].empty() && consumed(outputs[k])) // read by a node or a graph output
                    throw unsupported_form{"the statistics outputs of an is_test BatchNormalization are read"};
            outputs.resize(1);
        }
        if (std::holds_alternative<ir::ops::BatchNormalization>(op) && opset_ < 14 && outputs.size() > 1) {
            // Before opset 14 the number of outputs selects training mode (batch statistics).
            throw unsupported_form{"the training form (statistics outputs) of opset " + std::to_string(opset_) + " is not in the IR"};
        }
        check_arity(op, inputs.size(), outputs.size(), op_what);
        if (auto* sp = std::get_if<ir::ops::Split>(&op); sp && sp->num_outputs == static_cast<std::int64_t>(outputs.size()))
            sp->num_outputs = 0; // opset 18 spells out what the output count says; the IR leaves it implicit

        if (auto* sm = std::get_if<ir::ops::Softmax>(&op); sm && opset_ < 13) {
            if (legacy_softmax(n, op, sm->axis, inputs[0], outputs.at(0), op_what)) return;
        }
        if (auto* ls = std::get_if<ir::ops::LogSoftmax>(&op); ls && opset_ < 13) {
            if (legacy_softmax(n, op, ls->axis, inputs[0], outputs.at(0), op_what)) return;
        }
        add(std::move(op), std::move(inputs), outputs, n.name(), op_what);
    }

    /// A node of an op outside the catalogue (or of a form the IR does not hold): its op_type,
    /// domain and attributes kept exactly; its output shapes from the model's declarations.
    void read_opaque(const pb::NodeProto& n, const node_what& what, const std::string& domain) {
        const std::string qualified = domain.empty() ? n.op_type() : domain + "::" + n.op_type();
        const node_what op_what = what.with_op(qualified);
        ir::ops::Opaque op;
        op.op_type = n.op_type();
        op.op_domain = domain;
        seen_names seen_attrs;
        for (const auto& a : n.attribute()) {
            if (!seen_attrs.insert(a.name())) throw io_error(op_what + " has attribute '" + a.name() + "' twice");
            ir::ops::opaque_attribute oa;
            oa.name = a.name();
            oa.type = effective_type(a, pb::AttributeProto_AttributeType_UNDEFINED);
            if (!a.SerializeToString(&oa.encoded)) throw io_error(op_what + ": attribute '" + a.name() + "' cannot be serialized");
            switch (oa.type) {
            case pb::AttributeProto_AttributeType_INT: oa.i = a.i(); break;
            case pb::AttributeProto_AttributeType_FLOAT: oa.f = a.f(); break;
            case pb::AttributeProto_AttributeType_STRING: oa.s = a.s(); break;
            case pb::AttributeProto_AttributeType_INTS: oa.ints.assign(a.ints().begin(), a.ints().end()); break;
            case pb::AttributeProto_AttributeType_FLOATS: oa.floats.assign(a.floats().begin(), a.floats().end()); break;
            default: break;
            }
            op.attrs.push_back(std::move(oa));
        }
        std::vector<ir::ValueId> inputs;
        for (const auto& in : n.input()) {
            if (in.empty()) {
                inputs.push_back(ir::ValueId::none());
                continue;
            }
            inputs.push_back(defined(in, op_what));
        }
        // Values its subgraphs read from this graph stay alive through implicit uses.
        for (const std::string& name : outer_references(n)) {
            const ir::ValueId* v = values_.find(name);
            if (!v) continue; // defined further out, or an error ONNX's checker reports
            inputs.push_back(*v);
            ++op.implicit_inputs;
        }
        std::vector<std::string> outputs(n.output().begin(), n.output().end());
        add(std::move(op), std::move(inputs), outputs, n.name(), op_what);
    }

    /// Names read by the subgraphs of `n` (If/Loop/Scan bodies, at any depth) that they do not define.
    static std::vector<std::string> outer_references(const pb::NodeProto& n) {
        std::vector<std::string> out;
        std::unordered_set<std::string> seen;
        std::vector<std::pair<const pb::GraphProto*, std::unordered_set<std::string>>> work;
        auto push_graphs = [&](const pb::NodeProto& node, const std::unordered_set<std::string>& scope) {
            for (const auto& a : node.attribute()) {
                if (a.has_g()) work.emplace_back(&a.g(), scope);
                for (const auto& g : a.graphs()) work.emplace_back(&g, scope);
            }
        };
        push_graphs(n, {});
        while (!work.empty()) {
            auto [g, scope] = std::move(work.back());
            work.pop_back();
            for (const auto& vi : g->input()) scope.insert(vi.name());
            for (const auto& t : g->initializer()) scope.insert(t.name());
            for (const auto& node : g->node()) {
                for (const auto& in : node.input())
                    if (!in.empty() && !scope.count(in) && seen.insert(in).second) out.push_back(in);
                push_graphs(node, scope);
                for (const auto& o : node.output()) scope.insert(o);
            }
        }
        return out;
    }

    static void check_arity(const ir::Op& op, std::size_t ins, std::size_t outs, const node_what& op_what) {
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

    /// Adds a node, names its outputs, sets the declared shapes and types, infers its shapes and
    /// checks them against the declared ones.
    void add(ir::Op op, std::vector<ir::ValueId> inputs, const std::vector<std::string>& outputs, const std::string& node_name,
             const node_what& op_what) {
        const std::size_t arity_inputs = inputs.size();
        const bool opaque = std::holds_alternative<ir::ops::Opaque>(op);
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
            if (opaque) { // what the model says is all there is
                const declared_type* d = outputs[o].empty() ? nullptr : declaration(outputs[o]);
                g_.set_shape(nd.outputs[o], d ? d->shape : std::nullopt);
                g_.set_dtype(nd.outputs[o], d ? d->dtype : ir::DType::undefined);
            }
        }
        if (opaque) return;
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
            const declared_type* d = outputs[o].empty() ? nullptr : declaration(outputs[o]);
            if (d) {
                const declared_type& dt = *d;
                if (dt.shape) {
                    if (!shape) shape = dt.shape;
                    else if (!merge_shapes(*shape, *dt.shape))
                        throw io_error(op_what + ": output '" + outputs[o] + "' is declared " + ir::to_string(*dt.shape) + " but inferred " +
                                       ir::to_string(*r.shapes[o]));
                }
                // Undefined: not inferable (an input comes from an op outside the catalogue, whose
                // output types only the model's declarations give); the declaration stands.
                if (dtype == ir::DType::undefined) dtype = dt.dtype;
                else if (dt.dtype != ir::DType::undefined && dt.dtype != dtype)
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
    void fold_constant(const pb::NodeProto& n, const node_what& what) {
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

    void convert_legacy(const pb::NodeProto& n, const ir::Op& op, std::vector<ir::ValueId>& inputs, const node_what& op_what) {
        const std::string& type = n.op_type();
        const std::string base = (n.name().empty() ? type : n.name()) + "/";
        // Inputs that older opsets took as attributes (the op's own table).
        for (const ir::legacy_input& li : ir::legacy_inputs_of(op)) {
            if (opset_ >= li.before) continue;
            const pb::AttributeProto* a = find_attr(n, li.attribute);
            if (inputs.size() <= li.slot) inputs.resize(li.slot + 1, ir::ValueId::none());
            if (!a) continue;
            if (inputs[li.slot]) throw io_error(op_what + ": '" + std::string(li.attribute) + "' is given both as attribute and as input");
            const std::string attr_name(li.attribute);
            if (li.kind == ir::legacy_kind::ints) {
                if (effective_type(*a, pb::AttributeProto_AttributeType_INTS) != pb::AttributeProto_AttributeType_INTS)
                    throw io_error(op_what + ": attribute '" + attr_name + "' must be ints");
                inputs[li.slot] = new_constant(base + attr_name, ir::Tensor::vector(ints_of(*a)));
            } else {
                if (effective_type(*a, pb::AttributeProto_AttributeType_FLOAT) != pb::AttributeProto_AttributeType_FLOAT)
                    throw io_error(op_what + ": attribute '" + attr_name + "' must be a float");
                inputs[li.slot] = new_constant(base + attr_name, ir::Tensor::scalar(a->f()));
            }
        }
        if (opset_ < 10 && type == "Slice" && (!find_attr(n, "starts") || !find_attr(n, "ends")))
            throw io_error(op_what + " (opset < 10) needs the 'starts' and 'ends' attributes");
        if (opset_ < 9 && type == "BatchNormalization") {
            if (const pb::AttributeProto* sp = find_attr(n, "spatial"); sp && sp->i() == 0)
                throw unsupported_form{"spatial = 0 (per-activation statistics) is not in the IR"};
        }
        if (opset_ < 7 && type == "PRelu" && inputs.size() == 2 && inputs[0] && inputs[1]) {
            // Before opset 7 a 1-D slope of the channel count applies per channel (axis 1).
            const std::optional<ir::Shape> xs = g_.value(inputs[0]).shape;
            const ir::Tensor* slope = g_.constant(inputs[1]);
            if (xs && xs->size() > 2 && slope && slope->shape.size() == 1 && slope->shape[0] == (*xs)[1] && slope->shape[0] > 1) {
                ir::Tensor t = *slope;
                t.shape.resize(xs->size() - 1, 1);
                inputs[1] = new_constant(base + "slope", std::move(t));
            }
        } else if (opset_ < 7 && (type == "Add" || type == "Sub" || type == "Mul" || type == "Div" || type == "Pow")) {
            legacy_broadcast(n, inputs, base, op_what);
        } else if (opset_ >= 18 && type == "Resize") {
            const pb::AttributeProto* aa = find_attr(n, "antialias");
            const pb::AttributeProto* kp = find_attr(n, "keep_aspect_ratio_policy");
            const pb::AttributeProto* ax = find_attr(n, "axes");
            if ((aa && aa->i() != 0) || (kp && kp->s() != "stretch") || (ax && ax->ints_size() > 0))
                throw unsupported_form{"antialias, axes and keep_aspect_ratio_policy other than their defaults are not in the IR"};
        }
        if (type == "Resize") {
            // Empty roi/scales (e.g. from a folded Constant node) also mean "not given".
            for (std::size_t s = 1; s < 3 && s < inputs.size(); ++s)
                if (const ir::Tensor* t = g_.constant(inputs[s]); t && t->size() == 0) inputs[s] = ir::ValueId::none();
        }
    }

    /// Opset < 7 element-wise ops: `broadcast = 1` with `axis` aligns B with A starting at `axis`;
    /// turned into numpy broadcasting by giving a constant B trailing dimensions of size 1.
    void legacy_broadcast(const pb::NodeProto& n, std::vector<ir::ValueId>& inputs, const std::string& base, const node_what& op_what) {
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

    /// Softmax and LogSoftmax before opset 13 flatten the input to 2-D at `axis`. Equal to the IR's
    /// (opset 13) form when `axis` is the last one; otherwise written as Flatten -> op -> Reshape.
    /// Returns true when it added the nodes itself.
    bool legacy_softmax(const pb::NodeProto& n, const ir::Op& op, std::int64_t axis_attr, ir::ValueId x, const std::string& out,
                        const node_what& op_what) {
        const std::optional<ir::Shape> xs = g_.value(x).shape; // a copy: adding nodes below moves the graph's values
        if (!xs) throw unsupported_form{"the 2-D semantics of opset < 13 need the input's rank"};
        const auto r = static_cast<std::int64_t>(xs->size());
        const std::int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
        if (axis < 0 || axis >= r) throw io_error(op_what + ": axis " + std::to_string(axis_attr) + " is out of range for rank " + std::to_string(r));
        if (axis == r - 1) return false;
        if (!ir::is_static(*xs)) throw unsupported_form{"the 2-D semantics of opset < 13 over an inner axis need a static input shape"};
        const std::string base = n.name().empty() ? std::string(ir::name_of(op)) : n.name();
        ir::ops::Flatten fl;
        fl.axis = axis;
        const std::string flat = fresh_name(base + "/flatten");
        add(fl, {x}, {flat}, base + "/flatten", op_what);
        ir::Op two_d = op;
        std::visit([](auto& o) {
            if constexpr (requires { o.axis; }) o.axis = 1;
        }, two_d);
        const std::string soft = fresh_name(base + "/2d");
        add(two_d, {known(flat)}, {soft}, n.name(), op_what);
        const ir::ValueId shape = new_constant(base + "/shape", ir::Tensor::vector(*xs));
        add(ir::ops::Reshape{}, {known(soft), shape}, {out}, base + "/reshape", op_what);
        return true;
    }

    const pb::ModelProto& m_;
    ir::Graph g_;
    std::int64_t opset_ = 0;
    ir::detail::name_map<ir::ValueId> values_; ///< every name defined so far (keys copied: fresh names are not in the model)
    std::unordered_set<std::string_view> consumed_; ///< names read by a node or a graph output (views into m_), built on first use
    bool consumed_built_ = false;
    std::unordered_map<std::string, const ::onnx::OpSchema*> schemas_; ///< check_schema's lookups, by op_type
    std::unordered_set<std::string> placeholders_;
    ir::detail::name_map<std::uint32_t> declared_index_; ///< value name -> index in declared_
    std::vector<declared_type> declared_;                ///< what value_info and graph outputs declare
    load_options options_;
    std::vector<std::string_view> journal_;   ///< names defined while reading the current node (views into values_' keys)
    bool file_order_ = false;                 ///< reading in file order (see `read`)
    std::vector<std::string> opaque_reasons_; ///< catalogue ops carried as opaque, and why
};

/// Whether a node of `g` (top level) is outside the catalogue, so that ONNX's shape inference is
/// worth running to give its outputs shapes.
[[nodiscard]] inline bool has_foreign_nodes(const pb::GraphProto& g) {
    for (const auto& n : g.node()) {
        const std::string_view d = ir::plain_domain(n.domain());
        if (!(d.empty() && n.op_type() == "Constant") && !ir::kind_from_name(n.op_type(), d)) return true;
    }
    return false;
}

} // namespace detail

/// Converts an ONNX model to an `ir::Graph`: initializers (and graph inputs that are also
/// initializers) become constants, Constant nodes are folded into constants, attributes are read
/// through the op catalogue's tables with ONNX's defaults, older opsets' forms are converted to the
/// IR's, and shapes are inferred and checked against the declared ones. The graph's opset is the
/// model's (at least 11: older models are converted to opset-11 forms).
/// Throws `io_error` naming the node (name and index) and op for anything the IR cannot represent.
[[nodiscard]] inline ir::Graph from_model_proto(const ::onnx::ModelProto& model, const load_options& options = {}) {
    try {
        std::string unsafe;
        if (options.onnx_shape_inference && model.has_graph() && detail::has_foreign_nodes(model.graph()) &&
            !detail::node_crashing_onnx_inference(model.graph(), unsafe)) { // such a node is refused by the reader, or kept opaque
            // ONNX's own inference knows the standard ops the catalogue does not; what it cannot
            // infer (vendor ops, errors in the model) is simply left to the model's declarations.
            detail::arena_model copy;
            copy->CopyFrom(model);
            try {
                ::onnx::shape_inference::InferShapes(*copy, ::onnx::OpSchemaRegistry::Instance(),
                                                     ::onnx::ShapeInferenceOptions{false, 0, true});
            } catch (const std::exception&) {
                return detail::model_reader::read(model, options);
            }
            return detail::model_reader::read(*copy, options);
        }
        return detail::model_reader::read(model, options);
    } catch (const io_error&) {
        throw;
    } catch (const surgery::error& e) { // e.g. a graph_error of the IR: still a problem of the file
        throw io_error(e.what());
    }
}

/// Reads an ONNX file. Errors are `io_error`s whose message starts with the file name.
[[nodiscard]] inline ir::Graph load(const std::filesystem::path& path, const load_options& options = {}) {
    detail::arena_model model;
    detail::parse(*model, detail::read_file(path), detail::quoted(path));
    try {
        return from_model_proto(*model, options);
    } catch (const io_error& e) {
        throw io_error(detail::quoted(path) + ": " + e.what());
    }
}

} // namespace surgery::onnx
