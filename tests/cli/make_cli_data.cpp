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
//   dyn_batch.onnx        Conv then HardSwish on input 'images' [?, 3, 8, 8] (a dynamic batch axis)
//   init_inputs.onnx      y = HardSwish(x * w + x): w [2, 4] is a graph input with an initializer (as
//                         exporters that keep initializers as inputs write every weight);
//                         init_x.npy, init_y.npy (the output with w's initializer), init_w2.npy
//                         (another w) and init_y2.npy (the output with it)
//   init2_a.onnx, init2_b.onnx  y = x * w1 + w2, w1 and w2 [2, 4] graph inputs with initializers; the
//                         two differ only in w2's; init2_c.onnx: init2_a's, but w2 has no initializer
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

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
            // A Reshape whose target is computed from the input's shape, as torch's exporter writes
            // (Shape -> Slice -> Concat): the Conv after it has a shape, and MACs, only once that
            // arithmetic is evaluated: [1,48,8,8] -> [1,3,32,32], 1 * 8 * 32 * 32 * 3 * 3 * 3 = 221184.
            ir::Graph g;
            g.name = "shape_arith";
            ir::Builder b(g, 4);
            auto xin = b.input("x", {1, 48, 8, 8});
            auto dims = b.apply(ir::ops::ShapeOf{}, {xin});
            auto batch = b.apply(ir::ops::Slice{}, {dims, b.ints({0}), b.ints({1}), b.ints({0})});
            auto target = b.apply(ir::ops::Concat{.axis = 0}, {batch, b.ints({3, 32, -1})});
            std::mt19937_64 rng(7);
            auto w = b.constant(ir::Tensor::uniform({8, 3, 3, 3}, rng, -0.3f, 0.3f), "late_conv.weight");
            ir::ops::Conv conv;
            conv.kernel_shape = {3, 3};
            conv.pads = {1, 1, 1, 1};
            auto y = b.apply(std::move(conv), {b.apply(ir::ops::Reshape{}, {xin, target}), w}, "late_conv");
            g.set_value_name(y, "y");
            b.output(y);
            surgery::onnx::save(g, dir / "shape_arith.onnx");
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
        {
            ir::Graph g;
            g.name = "dyn_batch";
            ir::Builder b(g, 4);
            auto y = b.hardswish(b.conv(b.input("images", {-1, 3, 8, 8}), {.out_channels = 4, .kernel = 3}));
            g.set_value_name(y, "y");
            b.output(y);
            surgery::onnx::save(g, dir / "dyn_batch.onnx");
        }
        {
            ir::Graph g;
            g.name = "init_inputs";
            ir::Builder b(g);
            auto xin = b.input("x", {2, 4});
            auto w = b.input("w", {2, 4});
            std::mt19937_64 rng(9);
            g.set_default(w, std::make_shared<const ir::Tensor>(ir::Tensor::uniform({2, 4}, rng, 0.5f, 1.5f)));
            auto y = b.hardswish(b.add(b.mul(xin, w), xin));
            g.set_value_name(y, "y");
            b.output(y);
            surgery::onnx::save(g, dir / "init_inputs.onnx");
            const ir::Tensor xi = ir::Tensor::uniform({2, 4}, rng, -3.0f, 3.0f), w2 = ir::Tensor::uniform({2, 4}, rng, -2.0f, -1.0f);
            io::write_npy(xi, dir / "init_x.npy");
            io::write_npy(w2, dir / "init_w2.npy");
            reference::executor ex(g);
            io::write_npy(ex.run(std::vector<ir::Tensor>{xi})[0], dir / "init_y.npy");
            io::write_npy(ex.run(std::vector<ir::Tensor>{xi, w2})[0], dir / "init_y2.npy");
        }
        for (const char* which : {"a", "b", "c"}) {
            ir::Graph g;
            g.name = std::string("init2_") + which;
            ir::Builder b(g);
            auto xin = b.input("x", {2, 4});
            auto w1 = b.input("w1", {2, 4});
            auto w2 = b.input("w2", {2, 4});
            std::mt19937_64 rng(11);
            g.set_default(w1, std::make_shared<const ir::Tensor>(ir::Tensor::uniform({2, 4}, rng, 0.5f, 1.5f)));
            const float lo = which[0] == 'b' ? 5.0f : 0.0f; // B's w2 is far from A's
            const ir::Tensor w2_default = ir::Tensor::uniform({2, 4}, rng, lo, lo + 1.0f);
            if (which[0] != 'c') g.set_default(w2, std::make_shared<const ir::Tensor>(w2_default));
            auto y = b.add(b.mul(xin, w1), w2);
            g.set_value_name(y, "y");
            b.output(y);
            surgery::onnx::save(g, dir / (std::string("init2_") + which + ".onnx"));
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
