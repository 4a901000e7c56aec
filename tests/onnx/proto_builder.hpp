// Test helper: builds small onnx::ModelProtos in code (older opsets, malformed graphs).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace surgery::test {

/// A ModelProto under construction: `input`, `initializer`, `node`, `output` append to its graph.
class proto_builder {
public:
    explicit proto_builder(std::int64_t opset, std::string domain = "") {
        m_.set_ir_version(opset >= 15 ? 8 : opset >= 12 ? 7 : opset == 11 ? 6 : 3);
        m_.set_producer_name("test");
        auto* os = m_.add_opset_import();
        os->set_domain(std::move(domain));
        os->set_version(opset);
        m_.mutable_graph()->set_name("test");
    }

    static void set_type(::onnx::ValueInfoProto& vi, const std::vector<std::int64_t>& shape, int elem) {
        auto* tt = vi.mutable_type()->mutable_tensor_type();
        tt->set_elem_type(elem);
        auto* s = tt->mutable_shape();
        for (auto d : shape) {
            auto* dim = s->add_dim();
            if (d >= 0) dim->set_dim_value(d);
            else dim->set_dim_param("N");
        }
    }

    proto_builder& input(const std::string& name, const std::vector<std::int64_t>& shape, int elem = ::onnx::TensorProto_DataType_FLOAT) {
        auto* vi = m_.mutable_graph()->add_input();
        vi->set_name(name);
        set_type(*vi, shape, elem);
        return *this;
    }
    proto_builder& output(const std::string& name, const std::vector<std::int64_t>& shape = {}, bool typed = false,
                          int elem = ::onnx::TensorProto_DataType_FLOAT) {
        auto* vi = m_.mutable_graph()->add_output();
        vi->set_name(name);
        if (typed) set_type(*vi, shape, elem);
        else vi->mutable_type()->mutable_tensor_type()->set_elem_type(elem);
        return *this;
    }
    proto_builder& floats(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& data) {
        auto* t = m_.mutable_graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(::onnx::TensorProto_DataType_FLOAT);
        for (auto d : dims) t->add_dims(d);
        for (auto v : data) t->add_float_data(v);
        return *this;
    }
    proto_builder& ints(const std::string& name, const std::vector<std::int64_t>& data) {
        auto* t = m_.mutable_graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(::onnx::TensorProto_DataType_INT64);
        t->add_dims(static_cast<std::int64_t>(data.size()));
        for (auto v : data) t->add_int64_data(v);
        return *this;
    }
    /// Appends a node; returns it so attributes can be added with the helpers below.
    ::onnx::NodeProto& node(const std::string& op, std::initializer_list<std::string> ins, std::initializer_list<std::string> outs,
                            const std::string& name = {}) {
        auto* n = m_.mutable_graph()->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& s : ins) n->add_input(s);
        for (const auto& s : outs) n->add_output(s);
        return *n;
    }
    [[nodiscard]] ::onnx::ModelProto& model() noexcept { return m_; }

private:
    ::onnx::ModelProto m_;
};

inline ::onnx::AttributeProto& attr_i(::onnx::NodeProto& n, const std::string& name, std::int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto_AttributeType_INT);
    a->set_i(v);
    return *a;
}
inline ::onnx::AttributeProto& attr_f(::onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto_AttributeType_FLOAT);
    a->set_f(v);
    return *a;
}
inline ::onnx::AttributeProto& attr_s(::onnx::NodeProto& n, const std::string& name, const std::string& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto_AttributeType_STRING);
    a->set_s(v);
    return *a;
}
inline ::onnx::AttributeProto& attr_ints(::onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto_AttributeType_INTS);
    for (auto x : v) a->add_ints(x);
    return *a;
}

/// The attribute `name` of `n`, or nullptr.
inline const ::onnx::AttributeProto* find_attr(const ::onnx::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute())
        if (a.name() == name) return &a;
    return nullptr;
}

} // namespace surgery::test
