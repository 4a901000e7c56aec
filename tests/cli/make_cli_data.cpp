// Writes the small models and tensors the CLI tests run on into the directory given as argv[1].
//
//   small.onnx            MobileNetV3-Large at 64x64 (100 classes): every lite rule of the paper has work
//   small_input.npy/.pb   one seeded input for it
//   two_io.onnx           inputs a, b [2,4]; outputs sum = a + b, act = HardSwish(a * b)
//   two_a.npy, two_b.npy  inputs for it
//   conv_relu.onnx        Conv 3->8 then Relu: a text rule 'Conv=>identity' cannot fit (shape change)
//   unknown_op.onnx       a node 'mystery_node' of op 'FancyOp', which model-surgery does not support
//   malformed.onnx/.pb    bytes that are not a protobuf; truncated.onnx: half of small.onnx
//   f64.npy               a float64 array (unsupported element type)
//   huge_input.onnx       a Relu whose input is declared [1, 2^30]: 4 GiB of random floats, refused by the budget
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include <onnx/onnx_pb.h>

#include "surgery/io/file.hpp"
#include "surgery/io/npy.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/onnx.hpp"
#include "surgery/reference/equivalence.hpp"
#include "surgery/zoo/mobilenet_v3.hpp"

namespace fs = std::filesystem;
using namespace surgery;

namespace {

void write_bytes(const fs::path& p, const std::string& bytes) { io::write_file_atomically(p, bytes); }

void unknown_op_model(const fs::path& p) {
    ::onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("make_cli_data");
    auto* os = m.add_opset_import();
    os->set_domain("");
    os->set_version(17);
    auto* g = m.mutable_graph();
    g->set_name("unknown_op");
    auto typed = [](::onnx::ValueInfoProto* vi, const std::string& name) {
        vi->set_name(name);
        auto* tt = vi->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(::onnx::TensorProto_DataType_FLOAT);
        tt->mutable_shape()->add_dim()->set_dim_value(1);
        tt->mutable_shape()->add_dim()->set_dim_value(4);
    };
    typed(g->add_input(), "x");
    auto* relu = g->add_node();
    relu->set_op_type("Relu");
    relu->set_name("relu_node");
    relu->add_input("x");
    relu->add_output("r");
    auto* n = g->add_node();
    n->set_op_type("FancyOp");
    n->set_name("mystery_node");
    n->add_input("r");
    n->add_output("y");
    typed(g->add_output(), "y");
    std::string bytes;
    m.SerializeToString(&bytes);
    write_bytes(p, bytes);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_cli_data DIR\n";
        return 2;
    }
    try {
        const fs::path dir = argv[1];
        fs::create_directories(dir);

        const ir::Graph small = zoo::mobilenet_v3_large({.resolution = 64, .num_classes = 100, .seed = 3});
        surgery::onnx::save(small, dir / "small.onnx");
        const auto x = reference::random_inputs(small, 11);
        io::write_npy(x[0], dir / "small_input.npy");
        surgery::onnx::save_tensor(x[0], dir / "small_input.pb", "input");

        {
            ir::Graph g;
            g.name = "two_io";
            ir::Builder b(g);
            auto a = b.input("a", {2, 4});
            auto c = b.input("b", {2, 4});
            auto sum = b.add(a, c);
            g.set_value_name(sum, "sum");
            auto act = b.hardswish(b.mul(a, c));
            g.set_value_name(act, "act");
            b.output(sum);
            b.output(act);
            surgery::onnx::save(g, dir / "two_io.onnx");
            std::mt19937_64 rng(5);
            io::write_npy(ir::Tensor::uniform({2, 4}, rng), dir / "two_a.npy");
            io::write_npy(ir::Tensor::uniform({2, 4}, rng), dir / "two_b.npy");
        }
        {
            ir::Graph g;
            g.name = "conv_relu";
            ir::Builder b(g, 2);
            auto xin = b.input("x", {1, 3, 8, 8});
            auto y = b.relu(b.conv(xin, {.out_channels = 8, .kernel = 3}, "the_conv"));
            g.set_value_name(y, "y");
            b.output(y);
            surgery::onnx::save(g, dir / "conv_relu.onnx");
        }
        {
            ir::Graph g;
            g.name = "huge_input";
            ir::Builder b(g);
            auto y = b.relu(b.input("x", {1, std::int64_t{1} << 30}));
            g.set_value_name(y, "y");
            b.output(y);
            surgery::onnx::save(g, dir / "huge_input.onnx");
        }
        unknown_op_model(dir / "unknown_op.onnx");
        write_bytes(dir / "malformed.onnx", "this is not an ONNX model\n");
        write_bytes(dir / "malformed.pb", "\xff\xff\xff not a TensorProto");
        const std::string full = io::read_file(dir / "small.onnx");
        write_bytes(dir / "truncated.onnx", full.substr(0, full.size() / 2));
        {
            std::string f64 = io::format_npy(ir::Tensor::floats({2}, {0, 0}));
            const auto pos = f64.find("<f4");
            f64.replace(pos, 3, "<f8");
            f64 += std::string(8, '\0'); // two doubles instead of two floats
            write_bytes(dir / "f64.npy", f64);
        }
        std::cout << "wrote the CLI test data into " << io::quoted(dir) << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "make_cli_data: " << e.what() << "\n";
        return 1;
    }
}
