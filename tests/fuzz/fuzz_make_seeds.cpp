// Writes the fuzzers' seed corpus: small valid inputs (and a few near-misses) that reach deep into each reader.
//
//   fuzz_make_seeds OUT_DIR [MODEL.onnx...]
//
// OUT_DIR/{npy,rule,onnx}.dict (libFuzzer dictionaries), OUT_DIR/npy, OUT_DIR/rule and, with ONNX, OUT_DIR/onnx (built models, legacy-opset models, and the
// given model files copied) and OUT_DIR/tensor (TensorProto .pb files). Kilobytes in all.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/ir/builder.hpp"
#include "surgery/io/npy.hpp"

#if SURGERY_FUZZ_WITH_ONNX
#include "onnx/proto_builder.hpp"
#include "onnx/zoo.hpp"
#include "surgery/onnx.hpp"
#endif

namespace fs = std::filesystem;
namespace ir = surgery::ir;

namespace {

void write(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

/// A .npy file of format `major`.0 with header dict `dict` and raw data `data`, padded as NumPy pads.
std::string npy(int major, const std::string& dict, const std::string& data) {
    const std::size_t preamble = major == 1 ? 10 : 12;
    std::string header = dict;
    header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
    header.push_back('\n');
    std::string out("\x93NUMPY", 6);
    out.push_back(static_cast<char>(major));
    out.push_back('\0');
    for (int k = 0; k < (major == 1 ? 2 : 4); ++k) out.push_back(static_cast<char>((header.size() >> (8 * k)) & 0xff));
    return out + header + data;
}

void npy_seeds(const fs::path& dir) {
    std::mt19937_64 rng(3);
    write(dir / "f32_2x3.npy", surgery::io::format_npy(ir::Tensor::uniform({2, 3}, rng)));
    write(dir / "f32_1x2x2x2.npy", surgery::io::format_npy(ir::Tensor::uniform({1, 2, 2, 2}, rng)));
    write(dir / "f32_scalar.npy", surgery::io::format_npy(ir::Tensor::scalar(1.5f)));
    write(dir / "i64_vector.npy", surgery::io::format_npy(ir::Tensor::vector({1, -2, 3, 1 << 20})));
    write(dir / "i64_empty_0x3.npy", surgery::io::format_npy(ir::Tensor::ints({0, 3}, {})));
    const std::string two_floats("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
    const std::string two_floats_be("\x3f\x80\x00\x00\x40\x00\x00\x00", 8);
    write(dir / "f32_big_endian.npy", npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", two_floats_be));
    write(dir / "f32_native_order.npy", npy(1, "{'descr': '=f4', 'fortran_order': False, 'shape': (1, 2), }", two_floats));
    write(dir / "f32_v2.npy", npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", two_floats));
    write(dir / "i64_v3_py2_long.npy", npy(3, "{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (1L,), }", std::string(8, '\x07')));
    write(dir / "fortran_order.npy", npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", two_floats));
    write(dir / "f64_unsupported.npy", npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0')));
}

void rule_seeds(const fs::path& dir) {
    const std::vector<std::string> rules = {
        "HardSwish=>Relu",
        "HardSigmoid=>Relu",
        "Conv,BatchNormalization,HardSwish=>identity",
        "Conv -> BatchNormalization -> Relu => Relu",
        "Sigmoid,Mul=>Relu",
        "Mul=>Relu",
        "Relu|Clip,*=>Identity",
        "GlobalAveragePool,Conv,Relu,Conv,HardSigmoid=>identity",
        "MaxPool,Identity=>Relu,Identity,Tanh",
        "Flatten,Gemm=>Flatten",
        "Identity => identity",
        "Tanh,Softmax=>Softmax,Sigmoid",
        "Conv,BatchNormalization,Relu|Clip,*",
        "HardSigmoid=>Relu\nHardSwish=>Relu\nIdentity=>identity",
        "Relu=>Relu\nSigmoid,Relu=>Relu",
        "Foo,Bar|Relu=>Relu",
    };
    for (std::size_t k = 0; k < rules.size(); ++k) write(dir / ("rule_" + std::to_string(k) + ".txt"), rules[k]);
}

/// libFuzzer dictionaries (`-dict=`): the tokens a reader looks for, which mutation rarely guesses.
void dictionaries(const fs::path& dir) {
    auto quoted = [](std::string_view token) {
        std::string s = "\"";
        for (char c : token) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u > 0x7e) {
                const char hex[] = "0123456789ABCDEF";
                s += "\\x";
                s += hex[u >> 4];
                s += hex[u & 15];
                continue;
            }
            if (c == '"' || c == '\\') s += '\\';
            s += c;
        }
        return s + "\"\n";
    };
    std::string ops;
    for (std::string_view name : ir::op_names) ops += quoted(name);
    std::string rule = ops;
    for (std::string_view t : {"=>", "->", "|", "*", ",", "identity", "\n"}) rule += quoted(t);
    write(dir / "rule.dict", rule);
    std::string npy_dict;
    for (std::string_view t : {"\x93NUMPY", "'descr'", "'fortran_order'", "'shape'", "<f4", ">f4", "=f4", "<i8", ">i8", "|f4", "True", "False",
                               "{", "}", "(", ")", ":", ",", "L"})
        npy_dict += quoted(t);
    write(dir / "npy.dict", npy_dict);
    std::string onnx_dict = ops;
    for (std::string_view t : {"ai.onnx", "value", "value_float", "value_floats", "value_int", "value_ints", "axis", "axes", "kernel_shape", "pads",
                               "strides", "dilations", "group", "auto_pad", "SAME_UPPER", "VALID", "epsilon", "alpha", "beta", "mode",
                               "nearest", "linear", "broadcast", "min", "max", "starts", "ends", "split", "perm", "keepdims"})
        onnx_dict += quoted(t);
    write(dir / "onnx.dict", onnx_dict);
}

#if SURGERY_FUZZ_WITH_ONNX
using surgery::test::attr_f;
using surgery::test::attr_i;
using surgery::test::attr_ints;
using surgery::test::proto_builder;

std::string bytes_of(const google::protobuf::MessageLite& m) {
    std::string s;
    if (!m.SerializeToString(&s)) throw surgery::io_error("fuzz_make_seeds: cannot serialize a seed");
    return s;
}

/// Models in the forms of older opsets, which the reader converts (legacy attributes, Constant nodes, placeholders).
std::vector<std::pair<std::string, ::onnx::ModelProto>> legacy_models() {
    std::vector<std::pair<std::string, ::onnx::ModelProto>> out;
    {
        proto_builder b(6);
        b.input("x", {1, 2, 3, 3}).floats("s", {2}, {1, 2}).floats("bias", {2}, {0, 1}).output("y");
        auto& c = b.node("Clip", {"x"}, {"c"}, "clip");
        attr_f(c, "min", 0.0f);
        attr_f(c, "max", 6.0f);
        auto& a = b.node("Add", {"c", "s"}, {"a"}, "add");
        attr_i(a, "broadcast", 1);
        attr_i(a, "axis", 1);
        b.floats("mean", {2}, {0, 0}).floats("var", {2}, {1, 1});
        attr_i(b.node("BatchNormalization", {"a", "s", "bias", "mean", "var"}, {"y"}, "bn"), "is_test", 1);
        out.emplace_back("opset6_clip_broadcast_bn.onnx", b.model());
    }
    {
        proto_builder b(4);
        b.input("x", {2, 6}).output("y");
        attr_ints(b.node("Reshape", {"x"}, {"y"}, "reshape"), "shape", {3, 4});
        out.emplace_back("opset4_reshape_attr.onnx", b.model());
    }
    {
        proto_builder b(9);
        b.input("x", {4, 6}).output("y");
        auto& n = b.node("Slice", {"x"}, {"y"}, "slice");
        attr_ints(n, "starts", {1, 0});
        attr_ints(n, "ends", {3, 100});
        attr_ints(n, "axes", {0, 1});
        out.emplace_back("opset9_slice_attr.onnx", b.model());
    }
    {
        proto_builder b(11);
        b.input("x", {1, 2, 1, 4}).output("y").output("z");
        attr_ints(b.node("Squeeze", {"x"}, {"s"}, "sq"), "axes", {2});
        attr_ints(b.node("Unsqueeze", {"s"}, {"u"}, "us"), "axes", {2});
        attr_i(b.node("Softmax", {"u"}, {"y"}, "softmax"), "axis", 1);
        auto* scales = b.node("Constant", {}, {"scales"}, "k").add_attribute();
        scales->set_name("value_floats");
        scales->set_type(::onnx::AttributeProto_AttributeType_FLOATS);
        for (float v : {1.0f, 1.0f, 2.0f, 2.0f}) scales->add_floats(v);
        b.floats("roi", {0}, {}); // an empty initializer: opset 11's "no roi"
        surgery::test::attr_s(b.node("Resize", {"u", "roi", "scales"}, {"z"}, "resize"), "mode", "nearest");
        out.emplace_back("opset11_squeeze_softmax_resize.onnx", b.model());
    }
    {
        proto_builder b(13);
        b.input("x", {2, 3}).output("y");
        auto& k = b.node("Constant", {}, {"k"}, "k");
        attr_f(k, "value_float", 0.5f);
        b.node("Mul", {"x", "k"}, {"m"}, "mul");
        auto& i = b.node("Constant", {}, {"shape"}, "shape");
        attr_ints(i, "value_ints", {3, 2});
        b.node("Reshape", {"m", "shape"}, {"y"}, "reshape"); // listed before its producer's consumers: unsorted is accepted
        out.emplace_back("opset13_constants.onnx", b.model());
    }
    return out;
}

/// A small graph with the ops the lite rules look for, at `opset`.
ir::Graph mobile_block(std::int64_t opset) {
    ir::Graph g;
    g.opset = opset;
    g.name = "mobile_block";
    ir::Builder b(g, 5);
    auto x = b.input("x", {1, 3, 8, 8});
    auto c = b.batch_norm(b.conv(x, {.out_channels = 4, .kernel = 3, .stride = 2}));
    c = opset >= 14 ? b.hardswish(c) : b.relu6(c);
    auto s = b.hardsigmoid(b.conv(b.relu(b.conv(b.global_average_pool(c), {.out_channels = 2, .kernel = 1})), {.out_channels = 4, .kernel = 1}));
    b.output(b.linear(b.flatten(b.global_average_pool(b.silu(b.mul(c, s)))), 3));
    return g;
}

void onnx_seeds(const fs::path& dir, const std::vector<fs::path>& extra) {
    for (std::int64_t opset : {11, 13, 17, 20}) write(dir / ("zoo_opset" + std::to_string(opset) + ".onnx"), bytes_of(surgery::onnx::to_model_proto(surgery::test::zoo(opset))));
    for (std::int64_t opset : {12, 14, 18})
        write(dir / ("mobile_block_opset" + std::to_string(opset) + ".onnx"), bytes_of(surgery::onnx::to_model_proto(mobile_block(opset))));
    for (const auto& [name, model] : legacy_models()) write(dir / name, bytes_of(model));
    for (const fs::path& p : extra) {
        if (!fs::is_regular_file(p)) continue;
        std::ifstream in(p, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        write(dir / ("testdata_" + p.parent_path().filename().string() + ".onnx"), bytes);
    }
}

void tensor_seeds(const fs::path& dir) {
    std::mt19937_64 rng(4);
    write(dir / "f32_2x3.pb", bytes_of(surgery::onnx::to_tensor_proto(ir::Tensor::uniform({2, 3}, rng), "w")));
    write(dir / "i64_vector.pb", bytes_of(surgery::onnx::to_tensor_proto(ir::Tensor::vector({1, 2, 3}), "shape")));
    ir::Tensor i32 = ir::Tensor::vector({7, -7});
    i32.dtype = ir::DType::i32;
    write(dir / "i32_vector.pb", bytes_of(surgery::onnx::to_tensor_proto(i32, "i32")));
    ir::Tensor bools = ir::Tensor::vector({1, 0, 1});
    bools.dtype = ir::DType::boolean;
    write(dir / "bool_vector.pb", bytes_of(surgery::onnx::to_tensor_proto(bools, "mask")));
    ::onnx::TensorProto typed; // the typed-field form (float_data) instead of raw_data
    typed.set_name("typed");
    typed.set_data_type(::onnx::TensorProto_DataType_FLOAT);
    typed.add_dims(2);
    typed.add_float_data(1.0f);
    typed.add_float_data(-2.0f);
    write(dir / "f32_float_data.pb", bytes_of(typed));
}
#endif

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: fuzz_make_seeds OUT_DIR [MODEL.onnx...]\n");
        return 2;
    }
    try {
        const fs::path out = argv[1];
        npy_seeds(out / "npy");
        rule_seeds(out / "rule");
        dictionaries(out);
#if SURGERY_FUZZ_WITH_ONNX
        onnx_seeds(out / "onnx", std::vector<fs::path>(argv + 2, argv + argc));
        tensor_seeds(out / "tensor");
#endif
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
