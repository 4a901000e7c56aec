// Generic import and export of op attributes through the ops' attribute tables (ir::ops::T::attributes()).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/onnx/detail/proto.hpp"
#include "surgery/onnx/tensor.hpp"

namespace surgery::onnx::detail {

using AttrType = pb::AttributeProto_AttributeType;

/// How one C++ member type maps to an ONNX attribute type.
template <class M>
struct attr_codec;

template <>
struct attr_codec<float> {
    static constexpr AttrType type = pb::AttributeProto_AttributeType_FLOAT;
    static void read(const pb::AttributeProto& a, float& m, const std::string&) { m = a.f(); }
    static void write(pb::AttributeProto& a, const float& m) { a.set_f(m); }
};
template <>
struct attr_codec<std::int64_t> {
    static constexpr AttrType type = pb::AttributeProto_AttributeType_INT;
    static void read(const pb::AttributeProto& a, std::int64_t& m, const std::string&) { m = a.i(); }
    static void write(pb::AttributeProto& a, const std::int64_t& m) { a.set_i(m); }
};
template <>
struct attr_codec<std::string> {
    static constexpr AttrType type = pb::AttributeProto_AttributeType_STRING;
    static void read(const pb::AttributeProto& a, std::string& m, const std::string&) { m = a.s(); }
    static void write(pb::AttributeProto& a, const std::string& m) { a.set_s(m); }
};
template <>
struct attr_codec<ir::Ints> {
    static constexpr AttrType type = pb::AttributeProto_AttributeType_INTS;
    static void read(const pb::AttributeProto& a, ir::Ints& m, const std::string&) { m.assign(a.ints().begin(), a.ints().end()); }
    static void write(pb::AttributeProto& a, const ir::Ints& m) {
        for (auto v : m) a.add_ints(v);
    }
};
template <>
struct attr_codec<ir::Floats> {
    static constexpr AttrType type = pb::AttributeProto_AttributeType_FLOATS;
    static void read(const pb::AttributeProto& a, ir::Floats& m, const std::string&) { m.assign(a.floats().begin(), a.floats().end()); }
    static void write(pb::AttributeProto& a, const ir::Floats& m) {
        for (auto v : m) a.add_floats(v);
    }
};
template <>
struct attr_codec<std::shared_ptr<const ir::Tensor>> {
    static constexpr AttrType type = pb::AttributeProto_AttributeType_TENSOR;
    static void read(const pb::AttributeProto& a, std::shared_ptr<const ir::Tensor>& m, const std::string& what) {
        m = std::make_shared<const ir::Tensor>(from_tensor_proto(a.t(), what));
    }
    static void write(pb::AttributeProto& a, const std::shared_ptr<const ir::Tensor>& m) {
        if (!m) throw io_error("attribute '" + a.name() + "' holds no tensor");
        *a.mutable_t() = to_tensor_proto(*m);
    }
};

[[nodiscard]] constexpr std::string_view attr_type_name(int t) noexcept {
    switch (t) {
    case pb::AttributeProto_AttributeType_FLOAT: return "float";
    case pb::AttributeProto_AttributeType_INT: return "int";
    case pb::AttributeProto_AttributeType_STRING: return "string";
    case pb::AttributeProto_AttributeType_TENSOR: return "tensor";
    case pb::AttributeProto_AttributeType_GRAPH: return "graph";
    case pb::AttributeProto_AttributeType_FLOATS: return "floats";
    case pb::AttributeProto_AttributeType_INTS: return "ints";
    case pb::AttributeProto_AttributeType_STRINGS: return "strings";
    case pb::AttributeProto_AttributeType_TENSORS: return "tensors";
    case pb::AttributeProto_AttributeType_GRAPHS: return "graphs";
    case pb::AttributeProto_AttributeType_SPARSE_TENSOR: return "sparse tensor";
    case pb::AttributeProto_AttributeType_SPARSE_TENSORS: return "sparse tensors";
    case pb::AttributeProto_AttributeType_TYPE_PROTO: return "type";
    case pb::AttributeProto_AttributeType_TYPE_PROTOS: return "types";
    default: return "undefined";
    }
}

/// The type of `a`; for files written before attributes carried their type (IR version 1), guessed
/// from the field that is set, `expected` when nothing tells.
[[nodiscard]] inline int effective_type(const pb::AttributeProto& a, AttrType expected) {
    if (a.type() != pb::AttributeProto_AttributeType_UNDEFINED) return a.type();
    if (a.has_f()) return pb::AttributeProto_AttributeType_FLOAT;
    if (a.has_i()) return pb::AttributeProto_AttributeType_INT;
    if (a.has_s()) return pb::AttributeProto_AttributeType_STRING;
    if (a.has_t()) return pb::AttributeProto_AttributeType_TENSOR;
    if (a.has_g()) return pb::AttributeProto_AttributeType_GRAPH;
    if (a.floats_size() > 0) return pb::AttributeProto_AttributeType_FLOATS;
    if (a.ints_size() > 0) return pb::AttributeProto_AttributeType_INTS;
    if (a.strings_size() > 0) return pb::AttributeProto_AttributeType_STRINGS;
    return expected;
}

/// Sets the attribute of `op` named by `a` from `a`. Returns false when `op` has no such attribute;
/// throws `io_error` (prefixed by `what`) when the ONNX type does not match the member's.
/// `what` is a std::string or anything that gives one with `what + "text"` (formatted only for a message).
template <class What>
[[nodiscard]] bool read_attribute(ir::Op& op, const pb::AttributeProto& a, const What& what) {
    if (!a.ref_attr_name().empty())
        throw io_error(what + ": attribute '" + a.name() + "' refers to a function attribute, which is not supported");
    bool found = false;
    std::visit(
        [&](auto& o) {
            std::apply(
                [&](const auto&... entry) {
                    auto one = [&](const auto& e) {
                        if (found || e.name != a.name()) return;
                        found = true;
                        using M = std::remove_cvref_t<decltype(o.*(e.member))>;
                        const int t = effective_type(a, attr_codec<M>::type);
                        if (t != attr_codec<M>::type)
                            throw io_error(what + ": attribute '" + a.name() + "' has type " + std::string(attr_type_name(t)) +
                                           ", expected " + std::string(attr_type_name(attr_codec<M>::type)));
                        if constexpr (std::is_same_v<M, std::shared_ptr<const ir::Tensor>>) // the only reader that can fail
                            attr_codec<M>::read(a, o.*(e.member), what + ": attribute '" + a.name() + "'");
                        else
                            attr_codec<M>::read(a, o.*(e.member), std::string{});
                    };
                    (one(entry), ...);
                    (void)one; // ops without attributes
                },
                std::remove_cvref_t<decltype(o)>::attributes());
        },
        op);
    return found;
}

/// Attributes ONNX requires even when they equal the IR's default (the IR default is not ONNX's).
[[nodiscard]] inline bool attribute_required(const ir::Op& op, std::string_view name) noexcept {
    return std::holds_alternative<ir::ops::Concat>(op) && name == "axis";
}

/// The attributes of `op` that differ from the op's defaults (plus required ones), as AttributeProtos.
[[nodiscard]] inline std::vector<pb::AttributeProto> non_default_attributes(const ir::Op& op) {
    std::vector<pb::AttributeProto> out;
    std::visit(
        [&](const auto& o) {
            using T = std::remove_cvref_t<decltype(o)>;
            const T defaults{};
            std::apply(
                [&](const auto&... entry) {
                    auto one = [&](const auto& e) {
                        using M = std::remove_cvref_t<decltype(o.*(e.member))>;
                        if (o.*(e.member) == defaults.*(e.member) && !attribute_required(op, e.name)) return;
                        pb::AttributeProto a;
                        a.set_name(std::string(e.name));
                        a.set_type(attr_codec<M>::type);
                        attr_codec<M>::write(a, o.*(e.member));
                        out.push_back(std::move(a));
                    };
                    (one(entry), ...);
                    (void)one; // ops without attributes
                },
                T::attributes());
        },
        op);
    return out;
}

} // namespace surgery::onnx::detail
