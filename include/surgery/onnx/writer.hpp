// Writing ir::Graph as ONNX: to_model_proto(graph), check(model) with libonnx's checker, save(graph, path).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <numbers>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/name_map.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/onnx/detail/attributes.hpp"
#include "surgery/onnx/detail/parallel_check.hpp"
#include "surgery/onnx/detail/proto.hpp"
#include "surgery/onnx/tensor.hpp"
#include "surgery/rewrite/lowering.hpp"

namespace surgery::onnx {

namespace detail {

/// A model larger than protobuf's 2 GB limit (weights in external data are not supported).
struct too_large_model : io_error {
    too_large_model() : io_error("the model is larger than 2 GB, which needs external data (not supported)") {}
};

/// Turns one ir::Graph into a ModelProto at the graph's opset.
class model_writer {
public:
    explicit model_writer(const ir::Graph& g) : g_(g), opset_(g.opset) {}

    /// Fills the empty model `m` (built in place: `m` may live in an arena).
    void run(pb::ModelProto& m) {
        header(m);
        gp_ = m.mutable_graph();
        graph(nullptr);
        domain_imports(m);
    }

    /// The bytes `run` would give once serialized, without the whole model in memory: the nodes and
    /// value infos are serialized as they are made (into `arena`, messages reused), the rest of the
    /// graph and of the model around them. Byte for byte what `SerializeToString` gives for the model
    /// `run` fills (fields in field-number order). Also larger than protobuf's 2 GB limit (the caller
    /// checks the size).
    std::string run_bytes(google::protobuf::Arena& arena) {
        auto* m = google::protobuf::Arena::CreateMessage<pb::ModelProto>(&arena);
        header(*m);
        gp_ = google::protobuf::Arena::CreateMessage<pb::GraphProto>(&arena);
        std::string body;
        graph(&body);
        // ModelProto: ir_version (1) and producer_name (2), the graph (7), opset_import (8) and
        // metadata_props (14): `header` sets no other field.
        std::string out;
        {
            pb::ModelProto head;
            head.set_ir_version(m->ir_version());
            head.set_producer_name(m->producer_name());
            head.SerializeToString(&out);
        }
        domain_imports(*m);
        m->clear_ir_version();
        m->clear_producer_name();
        const std::string tail = m->SerializeAsString();
        out.reserve(out.size() + 16 + body.size() + tail.size());
        append_varint(out, (7u << 3) | 2u);
        append_varint(out, body.size());
        out += body;
        body = std::string();
        out += tail;
        return out;
    }

private:
    static void append_varint(std::string& out, std::uint64_t v) {
        for (; v >= 0x80u; v >>= 7) out.push_back(static_cast<char>((v & 0x7fu) | 0x80u));
        out.push_back(static_cast<char>(v));
    }
    /// Appends `msg` serialized (protobuf serializes nothing of a message over 2 GB: that is an error).
    static void append_message(std::string& out, const google::protobuf::MessageLite& msg) {
        if (msg.ByteSizeLong() > static_cast<std::size_t>(INT32_MAX)) throw too_large_model();
        if (!msg.AppendToString(&out)) throw io_error("cannot serialize the model");
    }
    /// Field `field` of a message, holding `msg` (wire type 2: length-delimited).
    static void append_field(std::string& out, std::uint32_t field, const google::protobuf::MessageLite& msg) {
        append_varint(out, (field << 3) | 2u);
        append_varint(out, msg.ByteSizeLong());
        append_message(out, msg);
    }

    void header(pb::ModelProto& m) const {
        if (opset_ < min_write_opset || opset_ > max_write_opset)
            throw io_error("graph '" + g_.name + "' has opset " + std::to_string(opset_) + "; model-surgery writes opsets " +
                           std::to_string(min_write_opset) + " to " + std::to_string(max_write_opset));
        m.set_ir_version(ir_version_for_opset(opset_));
        m.set_producer_name(g_.producer_name);
        auto* os = m.add_opset_import();
        os->set_domain("");
        os->set_version(opset_);
        for (const auto& [domain, version] : g_.domain_opsets) {
            auto* extra = m.add_opset_import();
            extra->set_domain(domain);
            extra->set_version(version);
        }
        for (const auto& [key, value] : g_.metadata) {
            auto* kv = m.add_metadata_props();
            kv->set_key(key);
            kv->set_value(value);
        }
    }

    /// An opset import (version 1, the convention for a custom domain) for every domain the nodes use
    /// that the graph does not import: a rule may bring in a vendor op (ONNX's checker refuses a node
    /// of a domain without an import).
    void domain_imports(pb::ModelProto& m) const {
        for (const std::string& d : node_domains_) {
            const bool imported = std::any_of(g_.domain_opsets.begin(), g_.domain_opsets.end(), [&](const auto& o) { return o.first == d; });
            if (imported) continue;
            auto* os = m.add_opset_import();
            os->set_domain(d);
            os->set_version(1);
        }
    }

    /// The graph into `gp_`; with `stream`, its nodes and value infos are serialized into `stream`
    /// as they are made instead of kept (GraphProto fields: node 1, name 2, initializer 5, input 11,
    /// output 12, value_info 13, in that order, as protobuf writes them).
    void graph(std::string* stream) {
        const auto& order = g_.topological_order();
        assign_names(order);
        // Constants: those the written nodes or outputs read, and those nothing reads in the graph
        // either (kept as they are). One read only through a slot written as an attribute (e.g.
        // Squeeze axes below opset 13) is not written.
        // Only constants' names are looked up: constant name -> whether something reads it.
        ir::detail::name_map<unsigned char> constant_read;
        for (std::size_t i = 0; i < g_.value_bound(); ++i)
            if (const ir::Value& val = g_.value(ir::ValueId{i}); val.alive && val.is_constant()) constant_read.try_emplace(names_[i], 0);
        auto note = [&](const std::string& name) {
            if (unsigned char* r = constant_read.find(name)) *r = 1;
        };
        // Nodes (initializers a node needs, e.g. Split sizes as an input, stay in gp_ for later).
        auto flush_nodes = [&] {
            for (const auto& n : gp_->node()) {
                for (const auto& in : n.input()) note(in);
                if (stream) append_field(*stream, 1, n);
            }
            if (stream) gp_->mutable_node()->Clear(); // the cleared messages are reused
        };
        for (ir::NodeId n : order) {
            write_node(n);
            if (stream && gp_->node_size() >= 1024) flush_nodes();
        }
        flush_nodes();
        gp_->set_name(g_.name.empty() ? "graph" : g_.name);
        for (ir::ValueId v : g_.inputs()) value_info(v, *gp_->add_input());
        for (ir::ValueId v : g_.outputs()) value_info(v, *gp_->add_output());
        for (const auto& o : gp_->output()) note(o.name());
        for (std::size_t i = 0; i < g_.value_bound(); ++i) {
            const ir::Value& val = g_.value(ir::ValueId{i});
            if (val.alive && val.is_constant() && (*constant_read.find(names_.at(i)) || val.uses.empty()))
                to_tensor_proto(*val.data, std::string(names_.at(i)), *gp_->add_initializer());
        }
        // Inputs with a default value: an initializer of the same name (ONNX's form).
        for (ir::ValueId v : g_.inputs())
            if (const ir::Value& val = g_.value(v); val.data) to_tensor_proto(*val.data, std::string(names_.at(v.index())), *gp_->add_initializer());
        if (stream) append_message(*stream, *gp_); // name, initializers, inputs, outputs
        pb::ValueInfoProto* vi = stream ? google::protobuf::Arena::CreateMessage<pb::ValueInfoProto>(gp_->GetArena()) : nullptr;
        for (ir::NodeId n : order)
            for (ir::ValueId v : g_.node(n).outputs)
                if (!g_.is_output(v) && (g_.value(v).shape || g_.value(v).dtype != ir::DType::undefined) && !names_[v.index()].empty()) {
                    if (!stream) {
                        value_info(v, *gp_->add_value_info());
                        continue;
                    }
                    vi->Clear();
                    value_info(v, *vi);
                    append_field(*stream, 13, *vi);
                }
    }

    // ---- names -----------------------------------------------------------------------------

    /// Every value written gets a unique, non-empty name: its own when it has one not taken yet.
    void assign_names(const std::vector<ir::NodeId>& order) {
        names_.assign(g_.value_bound(), std::string_view{});
        used_.reserve(g_.value_bound());
        std::vector<ir::ValueId> all(g_.inputs().begin(), g_.inputs().end());
        for (std::size_t i = 0; i < g_.value_bound(); ++i)
            if (g_.value(ir::ValueId{i}).alive && g_.value(ir::ValueId{i}).is_constant()) all.push_back(ir::ValueId{i});
        for (ir::NodeId n : order)
            for (ir::ValueId v : g_.node(n).outputs) all.push_back(v);
        for (ir::ValueId v : all) {
            const std::string& name = g_.value(v).name;
            if (name.empty()) continue;
            if (const auto [stored, inserted] = used_.insert(name); inserted) names_[v.index()] = stored;
        }
        for (ir::ValueId v : all)
            if (names_[v.index()].empty()) {
                const ir::Value& val = g_.value(v);
                std::string base = val.name;
                if (base.empty()) {
                    // Built with += only: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
                    const std::string index = std::to_string(val.producer ? val.slot : v.index());
                    if (val.producer) {
                        base = g_.label(val.producer);
                        if (g_.node(val.producer).outputs.size() > 1) base.append(":").append(index);
                    } else {
                        base.append("v").append(index);
                    }
                }
                names_[v.index()] = fresh(base);
            }
    }

    /// A name not taken yet, derived from `base`, now taken (a view into used_, which keeps it).
    std::string_view fresh(const std::string& base) {
        std::string name = base;
        for (int k = 1; used_.contains(name); ++k) name = base + "_" + std::to_string(k);
        return used_.insert(name).first;
    }

    /// Fills `vi` (empty) with the name, element type and shape of `v`.
    void value_info(ir::ValueId v, pb::ValueInfoProto& vi) const {
        if (!v || v.index() >= names_.size() || names_[v.index()].empty())
            throw io_error("graph '" + g_.name + "': a graph output refers to a value that is not in the graph (run ir::verify)");
        const ir::Value& val = g_.value(v);
        const std::string_view name = names_[v.index()];
        vi.set_name(name.data(), name.size());
        auto* tt = vi.mutable_type()->mutable_tensor_type();
        if (val.dtype != ir::DType::undefined) tt->set_elem_type(to_elem_type(val.dtype));
        if (val.shape) {
            auto* shape = tt->mutable_shape();
            for (std::int64_t d : *val.shape) {
                auto* dim = shape->add_dim();
                if (d >= 0) dim->set_dim_value(d);
            }
        }
    }

    // ---- nodes -----------------------------------------------------------------------------

    /// A new initializer holding `t`, named after `base`; returns its name.
    std::string_view add_initializer(const std::string& base, const ir::Tensor& t) {
        const std::string_view name = fresh(base);
        to_tensor_proto(t, std::string(name), *gp_->add_initializer());
        return name;
    }

    pb::NodeProto& add_node_proto(std::string_view type, const std::string& name, std::span<const std::string_view> ins,
                                  std::span<const std::string_view> outs) {
        pb::NodeProto& p = *gp_->add_node();
        p.set_op_type(type.data(), type.size());
        p.set_name(name);
        while (!ins.empty() && ins.back().empty()) ins = ins.first(ins.size() - 1);
        for (std::string_view s : ins) p.add_input(s.data(), s.size());
        for (std::string_view s : outs) p.add_output(s.data(), s.size());
        return p;
    }

    static void erase_attr(std::vector<pb::AttributeProto>& attrs, std::string_view name) {
        std::erase_if(attrs, [&](const pb::AttributeProto& a) { return a.name() == name; });
    }
    static const pb::AttributeProto* find_attr(const std::vector<pb::AttributeProto>& attrs, std::string_view name) {
        for (const auto& a : attrs)
            if (a.name() == name) return &a;
        return nullptr;
    }
    static pb::AttributeProto ints_attr(const std::string& name, const std::vector<std::int64_t>& v) {
        pb::AttributeProto a;
        a.set_name(name);
        a.set_type(pb::AttributeProto_AttributeType_INTS);
        for (auto x : v) a.add_ints(x);
        return a;
    }
    static pb::AttributeProto int_attr(const std::string& name, std::int64_t v) {
        pb::AttributeProto a;
        a.set_name(name);
        a.set_type(pb::AttributeProto_AttributeType_INT);
        a.set_i(v);
        return a;
    }
    static pb::AttributeProto float_attr(const std::string& name, float v) {
        pb::AttributeProto a;
        a.set_name(name);
        a.set_type(pb::AttributeProto_AttributeType_FLOAT);
        a.set_f(v);
        return a;
    }

    /// An opaque node, written as it was read: op_type, domain, attributes byte for byte.
    void write_opaque(const ir::ops::Opaque& op, const ir::Node& nd, const std::string& what, std::span<const std::string_view> ins,
                      std::span<const std::string_view> outs) {
        ins = ins.first(ins.size() - std::min<std::size_t>(ins.size(), op.implicit_inputs)); // subgraph captures are not node inputs
        pb::NodeProto& p = *gp_->add_node();
        p.set_op_type(op.op_type);
        if (!op.op_domain.empty()) p.set_domain(op.op_domain);
        p.set_name(nd.name);
        for (std::string_view x : ins) p.add_input(x.data(), x.size());
        for (std::string_view x : outs) p.add_output(x.data(), x.size());
        for (const auto& a : op.attrs)
            if (!p.add_attribute()->ParseFromString(a.encoded))
                throw io_error(what + ": attribute '" + a.name + "' does not decode (was the graph changed by hand?)");
    }

    void write_node(ir::NodeId id) {
        const ir::Node& nd = g_.node(id);
        if (const std::string_view d = ir::plain_domain(ir::domain_of(nd.op)); !d.empty() && !node_domains_.count(d)) node_domains_.emplace(d);
        const std::string& name = nd.name; // written as is: an unnamed node stays unnamed
        // For messages and the names of helper values: built only when needed (most nodes need neither).
        const auto label = [&] { return g_.label(id); };
        const auto what = [&] { return "node '" + label() + "': op '" + ir::qualified_name_of(nd.op) + "'"; };
        const auto at = [&] { return " cannot be written at opset " + std::to_string(opset_); };
        std::vector<std::string_view>& ins = ins_; // the names of the node's inputs and outputs (views into names_)
        std::vector<std::string_view>& outs = outs_;
        ins.clear();
        outs.clear();
        for (std::size_t s = 0; s < nd.inputs.size(); ++s) {
            const ir::ValueId v = nd.inputs[s];
            if (v && (v.index() >= names_.size() || names_[v.index()].empty()))
                throw io_error(what() + ": input " + std::to_string(s) + " reads a value that is not in the graph (run ir::verify)");
            ins.push_back(v ? names_[v.index()] : std::string_view{});
        }
        for (ir::ValueId v : nd.outputs) outs.push_back(names_.at(v.index()));
        if (const auto* op = nd.as<ir::ops::Opaque>()) return write_opaque(*op, nd, what(), ins, outs);
        std::vector<pb::AttributeProto> attrs = non_default_attributes(nd.op);

        auto has_input = [&](std::size_t slot) { return slot < nd.inputs.size() && nd.inputs[slot]; };
        // Inputs that this opset takes as attributes (the op's own table).
        std::size_t first_legacy = ins.size();
        for (const ir::legacy_input& li : ir::legacy_inputs_of(nd.op)) {
            if (opset_ >= li.before) continue;
            first_legacy = std::min<std::size_t>(first_legacy, li.slot);
            if (!has_input(li.slot)) continue;
            const ir::Tensor* t = g_.constant(nd.inputs[li.slot]);
            const std::string attr_name(li.attribute);
            if (!t) throw io_error(what() + ": " + attr_name + " (input " + std::to_string(li.slot) + ") must be a constant to be written as an attribute at opset " + std::to_string(opset_));
            if (li.kind == ir::legacy_kind::ints) {
                attrs.push_back(ints_attr(attr_name, t->as_ints()));
            } else {
                if (t->size() != 1) throw io_error(what() + ": " + attr_name + " must be a scalar to be written as an attribute at opset " + std::to_string(opset_));
                attrs.push_back(float_attr(attr_name, t->as_floats()[0]));
            }
        }
        if (first_legacy < ins.size()) {
            for (std::size_t s = first_legacy; s < nd.inputs.size(); ++s) {
                bool legacy = false;
                for (const ir::legacy_input& li : ir::legacy_inputs_of(nd.op)) legacy = legacy || (li.slot == s && opset_ < li.before);
                if (legacy || !has_input(s)) continue;
                // A later input that is not an attribute at this opset (Dropout's training_mode below 12).
                const ir::Tensor* t = g_.constant(nd.inputs[s]);
                if (!t || t->size() != 1 || t->as_ints()[0] != 0)
                    throw io_error(what() + ": input " + std::to_string(s) + at());
            }
            ins.resize(first_legacy);
        }

        const auto base = [&] { return label() + "/"; };
        if (const auto* sp = nd.as<ir::ops::Split>()) {
            erase_attr(attrs, "num_outputs");
            if (opset_ >= 18 && !has_input(1)) attrs.push_back(int_attr("num_outputs", static_cast<std::int64_t>(nd.outputs.size())));
            (void)sp;
        } else if (const auto* rm = nd.as<ir::ops::ReduceMean>()) {
            if (opset_ < 18 && rm->noop_with_empty_axes != 0) throw io_error(what() + ": noop_with_empty_axes" + at() + " (needs 18)");
        } else if (const auto* sm = nd.as<ir::ops::Softmax>(); sm && opset_ < 13) {
            if (!last_axis(nd, sm->axis)) throw io_error(what() + ": a Softmax over axis " + std::to_string(sm->axis) + " other than the last" + at() + " (needs 13)");
            erase_attr(attrs, "axis");
            attrs.push_back(int_attr("axis", sm->axis));
        } else if (const auto* ls = nd.as<ir::ops::LogSoftmax>(); ls && opset_ < 13) {
            if (!last_axis(nd, ls->axis)) throw io_error(what() + ": a LogSoftmax over axis " + std::to_string(ls->axis) + " other than the last" + at() + " (needs 13)");
            erase_attr(attrs, "axis");
            attrs.push_back(int_attr("axis", ls->axis));
        } else if (const auto* bn = nd.as<ir::ops::BatchNormalization>()) {
            if (opset_ < 14) {
                if (bn->training_mode != 0 || nd.outputs.size() > 1) throw io_error(what() + ": training mode" + at() + " (needs 14)");
                erase_attr(attrs, "training_mode");
            }
        } else if (const auto* rs = nd.as<ir::ops::Reshape>()) {
            if (opset_ < 14 && rs->allowzero != 0) throw io_error(what() + ": allowzero" + at() + " (needs 14)");
        } else if (nd.is<ir::ops::Resize>()) {
            if (opset_ < 13) { // roi and scales are required inputs before opset 13: empty tensors say "not given"
                ins.resize(std::max<std::size_t>(ins.size(), 3));
                if (ins[1].empty()) ins[1] = add_initializer(base() + "roi", ir::Tensor::floats({0}, {}));
                if (ins[2].empty()) ins[2] = add_initializer(base() + "scales", ir::Tensor::floats({0}, {}));
            }
        }

        if (opset_ < ir::since_of(nd.kind())) throw io_error(what() + at() + " (needs " + std::to_string(ir::since_of(nd.kind())) + ")");
        // Attributes, attribute values and inputs that ONNX added after the op (the op's own table).
        for (const ir::newer_part& part : ir::newer_parts_of(nd.op)) {
            if (opset_ >= part.since) continue;
            const std::string needs = " (needs " + std::to_string(part.since) + ")";
            if (part.input) {
                if (part.slot < ins.size() && !ins[part.slot].empty())
                    throw io_error(what() + ": input " + std::to_string(part.slot) + " ('" + std::string(part.name) + "')" + at() + needs);
                continue;
            }
            const pb::AttributeProto* a = find_attr(attrs, part.name);
            if (!a) continue;
            if (part.value.empty()) throw io_error(what() + ": attribute '" + std::string(part.name) + "'" + at() + needs);
            if (a->s() == part.value)
                throw io_error(what() + ": " + std::string(part.name) + " = '" + std::string(part.value) + "'" + at() + needs);
        }
        pb::NodeProto& p = add_node_proto(ir::name_of(nd.op), name, ins, outs);
        for (auto& a : attrs) *p.add_attribute() = std::move(a);
    }

    /// Whether `axis` is the last axis of node `nd`'s input 0 (for the 2-D semantics before opset 13).
    [[nodiscard]] bool last_axis(const ir::Node& nd, std::int64_t axis) const {
        const auto& xs = g_.value(nd.inputs[0]).shape;
        return axis == -1 || (xs && axis == static_cast<std::int64_t>(xs->size()) - 1);
    }

    const ir::Graph& g_;
    std::int64_t opset_;
    pb::GraphProto* gp_ = nullptr;
    std::vector<std::string_view> names_; ///< by value id: the name written (views into used_); empty: not written
    std::vector<std::string_view> ins_, outs_; ///< write_node's working lists, kept for their capacity
    ir::detail::name_set used_; ///< names taken
    std::set<std::string, std::less<>> node_domains_; ///< domains of the nodes written (default domain aside)
};

} // namespace detail

/// The highest default-domain opset the linked libonnx knows (17 for Debian 12's libonnx 1.12).
[[nodiscard]] inline std::int64_t checker_max_opset() {
    const auto& map = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    auto it = map.find("");
    return it == map.end() ? 0 : it->second.second;
}

namespace detail {
/// `write(model_writer&)` with a writer of `g`, or of `g` lowered when it has ops newer than its
/// opset (HardSwish below 14, Gelu below 20: rewritten into the library's forms for them,
/// rewrite/lowering.hpp); the library's errors become `io_error`s.
template <class Write>
decltype(auto) with_writer(const ir::Graph& g, Write&& write) {
    try {
        if (rewrite::needs_lowering(g)) {
            const ir::Graph lowered = rewrite::lower(g);
            model_writer w(lowered);
            return write(w);
        }
        model_writer w(g);
        return write(w);
    } catch (const io_error&) {
        throw;
    } catch (const surgery::error& e) {
        throw io_error(e.what());
    }
}

/// `to_model_proto` (below) into the empty model `m`, which may live in an arena (see arena_model).
inline void write_model(const ir::Graph& g, pb::ModelProto& m) {
    with_writer(g, [&](model_writer& w) { w.run(m); });
}

/// The bytes of `to_model_proto(g)` serialized, made without the whole model in memory (see
/// model_writer::run_bytes); may exceed protobuf's 2 GB limit (the caller checks).
inline std::string write_model_bytes(const ir::Graph& g) {
    arena_model scratch; // its arena holds the messages the writer reuses
    return with_writer(g, [&](model_writer& w) { return w.run_bytes(scratch.arena()); });
}
} // namespace detail

/// Converts `g` to an ONNX model at `g.opset` (11 to 20). Only attributes that differ from ONNX's
/// defaults are written; unnamed (or clashing) values get unique names; intermediate shapes are
/// written as value_info. Forms that changed between opsets are written in the opset's own form
/// (e.g. Squeeze axes as an attribute below 13, Split sizes as an input from 13); HardSwish below
/// opset 14 and Gelu below 20 are written as their standard decompositions, the pattern library's
/// forms (rewrite/lowering.hpp).
/// Throws `io_error` naming the node when an op cannot be expressed at the graph's opset.
[[nodiscard]] inline ::onnx::ModelProto to_model_proto(const ir::Graph& g) {
    ::onnx::ModelProto m;
    detail::write_model(g, m);
    return m;
}

namespace detail {
/// `check`, with ONNX's shape inference run on `model` itself (changed) or, when null, on a copy of
/// `checked`. With `parallel`, the checker and shape inference run on two threads where that is safe
/// (check_model_in_parallel; not for a model with graph attributes, nor on one core).
inline void check_model(const ::onnx::ModelProto& checked, ::onnx::ModelProto* scratch, bool parallel = false) {
    const ::onnx::ModelProto& model = checked;
    std::int64_t opset = -1;
    for (const auto& os : model.opset_import())
        if (ir::plain_domain(os.domain()).empty()) opset = os.version();
    if (opset > checker_max_opset())
        throw io_error("ONNX checker: opset " + std::to_string(opset) + " is newer than the linked libonnx knows (up to " +
                       std::to_string(checker_max_opset()) + ")");
    if (std::string what; model.has_graph())
        if (const ::onnx::NodeProto* n = node_crashing_onnx_inference(model.graph(), what))
            throw io_error("ONNX checker: node '" + n->name() + "' (" + n->op_type() + "): " + what);
    const ::onnx::ShapeInferenceOptions options{/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/false};
    try {
        if (const unsigned cores = std::thread::hardware_concurrency();
            parallel && cores > 1 && model.has_graph() && !has_graph_attribute(model.graph())) {
            std::optional<::onnx::ModelProto> copy;
            check_model_in_parallel(model, scratch ? *scratch : copy.emplace(), options, std::min(cores, 8u));
            return;
        }
        ::onnx::checker::check_model(model);
        std::optional<::onnx::ModelProto> copy;
        if (!scratch) scratch = &copy.emplace(model);
        ::onnx::shape_inference::InferShapes(*scratch, ::onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception& e) {
        throw io_error(std::string("ONNX checker: ") + e.what());
    }
}
} // namespace detail

/// Runs libonnx's checker (`onnx::checker::check_model`) and its shape inference in strict mode
/// with type checking (the "full check"). Throws `io_error` carrying ONNX's message, also when the
/// model's opset is newer than the linked libonnx knows (see `checker_max_opset`).
inline void check(const ::onnx::ModelProto& model) { detail::check_model(model, nullptr); }

/// The same for a model the caller no longer needs: shape inference runs on it (it gains inferred
/// value_info) instead of on a copy, which for a large model is most of the check's memory.
inline void check(::onnx::ModelProto&& model) { detail::check_model(model, &model); }

/// When a model is checked with `check` before it is written.
enum class check_policy : std::uint8_t {
    /// When the linked libonnx knows the graph's opset and has a schema for every op of the default
    /// domain (the default): a model carrying an op it does not know (a newer op, or a custom op
    /// without a domain, kept opaque) is written unchecked, as ONNX's checker would refuse it.
    when_supported,
    always, ///< always: an opset or op libonnx does not know is an error
    never,
};

struct save_options {
    check_policy check = check_policy::when_supported;
};

namespace detail {
/// Whether libonnx can check model `m` of default-domain opset `opset`: it knows the opset and has
/// a schema for every op of the default domain (looked up once per op type).
[[nodiscard]] inline bool checkable(const pb::ModelProto& m, std::int64_t opset) {
    if (opset > checker_max_opset()) return false;
    std::unordered_set<std::string_view> known;
    for (const auto& n : m.graph().node()) {
        if (!ir::plain_domain(n.domain()).empty() || known.count(n.op_type())) continue;
        if (!::onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(opset), "")) return false;
        known.insert(n.op_type());
    }
    return true;
}
} // namespace detail

/// The bytes `save` writes for a graph, made in two steps so that the caller can drop the graph in
/// between: serialized when constructed (node by node: the whole `ModelProto` is never built next to
/// the graph), checked by `checked()`, which parses the bytes back for libonnx's checker when the
/// policy asks for a check (for a large model, the graph and libonnx's shape inference are then not in
/// memory at once). `path` names the target in messages.
///
///     onnx::serialized_model s(g, "out.onnx");
///     g = ir::Graph{};                       // optional: the bytes no longer need the graph
///     std::string bytes = std::move(s).checked();
class serialized_model {
public:
    serialized_model(const ir::Graph& g, std::filesystem::path path, check_policy policy = check_policy::when_supported)
        : path_(std::move(path)), policy_(policy), opset_(g.opset) {
        // libonnx's checker beside its inference (detail::check_model_in_parallel) for a large graph
        // of the IR's own ops only: their attributes are the writer's. An opaque op carries the
        // input's, unchecked, which the checker sees before inference does, as in the plain check.
        parallel_check_ = g.num_nodes() >= parallel_check_min_nodes;
        for (std::size_t i = 0; i < g.node_bound() && parallel_check_; ++i)
            if (const ir::Node& n = g.node(ir::NodeId{i}); n.alive && n.kind() == ir::opaque_kind) parallel_check_ = false;
        try {
            bytes_ = detail::write_model_bytes(g);
        } catch (const detail::too_large_model& e) {
            throw io_error(detail::quoted(path_) + ": " + e.what());
        }
    }

    /// The bytes, once the model is under 2 GB and has passed ONNX's checker with full shape
    /// inference (as the policy says); `io_error` naming the file otherwise. Consumes the object.
    [[nodiscard]] std::string checked() && {
        if (bytes_.size() > static_cast<std::size_t>(INT32_MAX)) throw io_error(detail::quoted(path_) + ": " + detail::too_large_model().what());
        if (policy_ == check_policy::always || (policy_ == check_policy::when_supported && opset_ <= checker_max_opset())) {
            detail::arena_model model;
            detail::parse(*model, bytes_, detail::quoted(path_) + " (as written)");
            if (policy_ == check_policy::always || detail::checkable(*model, opset_)) {
                try {
                    // the model is ours and is dropped afterwards: inference runs on it (next to the checker)
                    detail::check_model(*model, &*model, parallel_check_);
                } catch (const io_error& e) {
                    throw io_error(detail::quoted(path_) + ": the model does not pass the ONNX checker, not written: " + e.what());
                }
            }
        }
        return std::move(bytes_);
    }

    /// Graphs of this many nodes and more (with no opaque op) are checked on two threads.
    static constexpr std::size_t parallel_check_min_nodes = 1024;

private:
    std::filesystem::path path_;
    std::string bytes_;
    check_policy policy_;
    std::int64_t opset_;
    bool parallel_check_ = false;
};

/// Writes `g` to `path` as an ONNX model, atomically (a temporary file in the same directory renamed
/// over `path`; on failure nothing is left behind and an existing file is untouched). The model is
/// checked with `check` first according to `options.check`.
inline void save(const ir::Graph& g, const std::filesystem::path& path, const save_options& options = {}) {
    detail::write_file_atomically(path, serialized_model(g, path, options.check).checked());
}

} // namespace surgery::onnx
