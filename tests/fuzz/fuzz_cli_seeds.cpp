// Writes the seed corpus of fuzz_cli_run into the directory given as argv[1]: small models paired
// with matching (and mismatching) .npy inputs, in the target's format (4-byte length, model, .npy).
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>

#include "surgery/io/file.hpp"
#include "surgery/io/npy.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/onnx.hpp"

namespace fs = std::filesystem;
using namespace surgery;

namespace {

std::string bytes_of(const ir::Graph& g) {
    std::string out;
    surgery::onnx::to_model_proto(g).SerializeToString(&out);
    return out;
}

void seed(const fs::path& dir, const std::string& name, const std::string& model, const std::string& npy) {
    std::string out(4, '\0');
    const auto n = static_cast<std::uint32_t>(model.size());
    std::memcpy(out.data(), &n, 4);
    io::write_file_atomically(dir / (name + ".bin"), out + model + npy);
}

ir::Graph single(const std::string& in, const std::string& out, ir::Shape shape, bool relu6) {
    ir::Graph g;
    g.name = "seed";
    g.opset = 17;
    ir::Builder b(g);
    auto x = b.input(in, shape);
    auto y = relu6 ? b.relu6(x) : b.relu(x);
    g.set_value_name(y, out);
    b.output(y);
    return g;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: fuzz_cli_seeds DIR\n";
        return 2;
    }
    try {
        const fs::path dir = argv[1];
        fs::create_directories(dir);
        std::mt19937_64 rng(1);
        const auto x14 = io::format_npy(ir::Tensor::uniform({1, 4}, rng));
        seed(dir, "relu", bytes_of(single("x", "y", {1, 4}, false)), x14);
        seed(dir, "relu_random_input", bytes_of(single("x", "y", {1, 4}, false)), "");
        seed(dir, "relu6_wrong_shape", bytes_of(single("x", "y", {2, 2}, true)), x14);
        seed(dir, "names", bytes_of(single("in\x1b[31m", std::string("out\0\xff", 5), {1, 4}, false)), x14);
        seed(dir, "huge_declared_input", bytes_of(single("x", "y", {1, std::int64_t{1} << 30}, false)), "");
        seed(dir, "empty_input", bytes_of(single("x", "y", {0, 4}, false)), io::format_npy(ir::Tensor::floats({0, 4}, {})));
        {
            ir::Graph g;
            g.name = "conv";
            g.opset = 17;
            ir::Builder b(g, 3);
            auto x = b.input("x", {1, 3, 8, 8});
            auto y = b.hardswish(b.batch_norm(b.conv(x, {.out_channels = 4, .kernel = 3, .stride = 2})));
            b.output(b.linear(b.flatten(b.global_average_pool(y)), 3));
            seed(dir, "conv", bytes_of(g), io::format_npy(ir::Tensor::uniform({1, 3, 8, 8}, rng)));
        }
        {
            ir::Graph g;
            g.name = "int";
            g.opset = 17;
            ir::Builder b(g);
            auto x = b.input("x", {2, 3});
            b.output(b.flatten(x));
            seed(dir, "flatten", bytes_of(g), io::format_npy(ir::Tensor::uniform({2, 3}, rng)));
        }
        std::cout << "wrote the fuzz_cli_run seeds into " << io::quoted(dir) << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "fuzz_cli_seeds: " << e.what() << "\n";
        return 1;
    }
}
