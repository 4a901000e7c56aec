// The rules on real PyTorch exports (tests/models/export_forms.py, run by the CTest fixture
// `surgery_forms`; entry `rules_exports`, test suite "exports"):
// - every exporter form: the rule fires, what it targets is gone, and the rewritten graph computes
//   what PyTorch computes with the rule's replacement swapped in (exact rules: the original);
// - the paper's networks: `paper` on the export equals the PyTorch module-swap lite network
//   (HardSwish/HardSigmoid/SiLU/ReLU6/GELU -> ReLU, SqueezeExcitation -> Identity) within 1e-4.
// Outside that entry ($SURGERY_FORMS_DIR unset) the cases say so and pass.
#include <doctest/doctest.h>

#if defined(SURGERY_RULES_WITH_ONNX)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "surgery/onnx.hpp"
#include "surgery/reference/executor.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rules.hpp"

namespace fs = std::filesystem;
namespace so = surgery::onnx;
namespace ir = surgery::ir;
namespace ref = surgery::reference;
using namespace surgery;

namespace {

constexpr double tolerance = 1e-4;

fs::path forms_dir() {
    const char* env = std::getenv("SURGERY_FORMS_DIR");
    return env ? fs::path(env) : fs::path{};
}

/// max |got - want| / max |want|.
double relative_error(const ir::Tensor& got, const ir::Tensor& want) {
    REQUIRE(got.shape == want.shape);
    double err = 0, ref_max = 0;
    for (std::size_t k = 0; k < want.f.size(); ++k) {
        REQUIRE(std::isfinite(got.f[k]));
        err = std::max(err, static_cast<double>(std::abs(got.f[k] - want.f[k])));
        ref_max = std::max(ref_max, static_cast<double>(std::abs(want.f[k])));
    }
    return ref_max > 0 ? err / ref_max : err;
}

enum class expect { function, structure, untouched, kept_random };

struct form_case {
    const char* name;
    std::vector<std::string> rules;    ///< applied together (the module swap replaced all of them)
    std::vector<std::string> gone;     ///< op types that must not remain
    expect what = expect::function;
    std::size_t min_nodes_removed = 0; ///< at least this many nodes fewer
    std::size_t max_nodes_added = 0;   ///< rules that grow the graph by design: at most this many more
};

const std::vector<form_case> form_cases{
    {"ln_tokens_op17", {"layernorm_to_batchnorm"}, {"LayerNormalization"}, expect::function, 0, 2}, // BatchNorm between two Transposes
    {"ln_tokens_op14", {"layernorm_to_batchnorm"}, {"ReduceMean", "Pow", "Sqrt", "Div"}},
    {"ln_nhwc_op17", {"layernorm_to_batchnorm", "gelu_to_relu", "merge_transposes"}, {"LayerNormalization", "Erf"}},
    {"ln_nhwc_op14", {"layernorm_to_batchnorm", "gelu_to_relu", "merge_transposes"}, {"ReduceMean", "Erf", "Sqrt"}},
    {"ln2d_op17", {"layernorm_to_batchnorm", "merge_transposes"}, {"LayerNormalization", "Transpose"}},
    {"ln2d_op14", {"layernorm_to_batchnorm", "merge_transposes"}, {"ReduceMean", "Transpose"}},
    {"ln_channels_op14", {"layernorm_to_batchnorm"}, {"ReduceMean", "Sqrt", "Transpose"}},
    {"ln_channels_op17", {"layernorm_to_batchnorm"}, {"ReduceMean", "Sqrt", "Transpose"}},
    {"gelu_erf", {"gelu_to_relu"}, {"Erf", "Mul", "Div"}},
    {"gelu_tanh", {"gelu_to_relu"}, {"Tanh", "Mul"}},
    {"gelu_tanh_written", {"gelu_to_relu"}, {"Tanh", "Mul", "Pow"}},
    {"hardswish_op14", {"hardswish_to_relu"}, {"HardSwish"}},
    {"hardswish_op13", {"hardswish_to_relu"}, {"HardSigmoid", "Mul"}},
    {"hardswish_written", {"hardswish_to_relu"}, {"Clip", "Mul", "Div"}},
    {"hardsigmoid_op", {"hardsigmoid_to_relu"}, {"HardSigmoid"}},
    {"hardsigmoid_written", {"hardsigmoid_to_relu"}, {"Clip", "Div"}},
    {"silu", {"silu_to_relu"}, {"Sigmoid", "Mul"}},
    {"swish_beta", {"silu_to_relu"}, {"Sigmoid", "Mul"}},
    {"relu6_op10", {"relu6_to_relu"}, {"Clip"}},
    {"relu6_op13", {"relu6_to_relu"}, {"Clip"}},
    {"leaky_relu", {"leaky_relu_to_relu"}, {"LeakyRelu"}},
    {"prelu", {"prelu_to_relu"}, {"PRelu"}},
    {"elu", {"elu_to_relu"}, {"Elu"}},
    {"mish", {"mish_to_relu"}, {"Softplus", "Tanh", "Mul"}},
    {"se_mobilenet_v3", {"remove_squeeze_excitation"}, {"GlobalAveragePool", "HardSigmoid", "Mul"}, expect::function, 5},
    {"se_efficientnet", {"remove_squeeze_excitation"}, {"GlobalAveragePool", "Sigmoid", "Mul"}, expect::function, 6},
    {"se_regnet", {"remove_squeeze_excitation"}, {"GlobalAveragePool", "Sigmoid", "Mul"}, expect::function, 5},
    {"se_mean", {"remove_squeeze_excitation"}, {"ReduceMean", "Sigmoid", "Mul"}, expect::function, 5},
    {"conv_bn", {"fold_batchnorm"}, {"BatchNormalization"}},
    {"convtranspose_bn", {"fold_batchnorm"}, {"BatchNormalization"}},
    {"linear_bn1d", {"fold_batchnorm"}, {"BatchNormalization"}},
    {"matmul_bn", {"fold_batchnorm"}, {"BatchNormalization"}},
    {"dropout_train", {"remove_dropout"}, {}, expect::kept_random},
    {"dropout_train_p0", {"remove_dropout"}, {"Dropout"}},
    {"focus", {"focus_to_conv"}, {"Slice", "Concat"}},
    {"conv7x7", {"large_kernel_to_3x3"}, {}, expect::structure, 0, 2}, // three 3x3 convs for one 7x7
    {"dwconv5x5", {"large_kernel_to_3x3"}, {}, expect::untouched},
    {"noop_tail", {"remove_noop_reshape"}, {"Reshape"}},
};

const std::vector<std::string> networks{"mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "efficientnet_b1",
                                        "regnet_y_400mf"};

} // namespace

TEST_SUITE("exports") {

TEST_CASE("every exporter form: the rule fires, its targets are gone, the result computes the lite function") {
    const fs::path dir = forms_dir();
    if (dir.empty()) {
        MESSAGE("SURGERY_FORMS_DIR is not set: run the CTest entry 'rules_exports' (its fixture exports the forms)");
        return;
    }
    std::printf("%-20s %-34s %6s %12s %12s\n", "form", "rules", "nodes", "original", "rewritten");
    for (const form_case& fc : form_cases) {
        CAPTURE(fc.name);
        const ir::Graph g = so::load(dir / (std::string(fc.name) + ".onnx"));
        const ir::Tensor input = so::load_tensor(dir / (std::string(fc.name) + "_input.pb"));
        rewrite::dictionary d("form", {});
        for (const auto& r : fc.rules) d.add(rules::make_rule(r));
        ir::Graph lite = g;
        const auto rep = rewrite::apply(lite, d);
        CHECK(rep.converged);
        std::size_t replaced = 0;
        for (const auto& r : rep.rules) replaced += r.replaced;
        const auto counts = lite.op_counts();
        for (const auto& op : fc.gone) CHECK_MESSAGE(counts.count(op) == 0, op << " left in " << fc.name);
        CHECK(lite.num_nodes() + fc.min_nodes_removed <= g.num_nodes() + fc.max_nodes_added);
        double before = 0, after = 0;
        switch (fc.what) {
        case expect::function: {
            CHECK(replaced >= 1);
            const ir::Tensor want = so::load_tensor(dir / (std::string(fc.name) + "_expect.pb"));
            before = relative_error(ref::run(g, {input})[0], so::load_tensor(dir / (std::string(fc.name) + "_output.pb")));
            after = relative_error(ref::run(lite, {input})[0], want);
            CHECK_MESSAGE(before <= tolerance, fc.name << ": the executor disagrees with PyTorch on the export");
            CHECK_MESSAGE(after <= tolerance, fc.name << ": the rewritten graph is not the lite function");
            break;
        }
        case expect::structure:
            CHECK(replaced >= 1);
            CHECK(ref::run(lite, {input})[0].shape == so::load_tensor(dir / (std::string(fc.name) + "_output.pb")).shape);
            break;
        case expect::untouched: CHECK(replaced == 0); break;
        case expect::kept_random:
            CHECK(replaced == 0);
            CHECK(counts.count("Dropout") == 1);
            break;
        }
        std::string joined;
        for (const auto& r : fc.rules) joined += (joined.empty() ? "" : ",") + r;
        std::printf("%-20s %-34s %2zu->%-2zu %12.3e %12.3e\n", fc.name, joined.c_str(), g.num_nodes(), lite.num_nodes(), before, after);
    }
}

TEST_CASE("paper networks: the paper preset equals PyTorch's module-swap lite network within 1e-4") {
    const fs::path dir = forms_dir();
    if (dir.empty()) {
        MESSAGE("SURGERY_FORMS_DIR is not set: run the CTest entry 'rules_exports' (its fixture exports the networks)");
        return;
    }
    std::printf("%-20s %14s %14s %12s %10s\n", "network", "nodes", "module swap", "rel. error", "time (s)");
    for (const std::string& name : networks) {
        CAPTURE(name);
        const auto t0 = std::chrono::steady_clock::now();
        const ir::Graph g = so::load(dir / (name + ".onnx"));
        const ir::Graph swap = so::load(dir / (name + "_swap.onnx"));
        const ir::Tensor input = so::load_tensor(dir / (name + "_input.pb"));
        const ir::Tensor want = so::load_tensor(dir / (name + "_expect.pb"));
        ir::Graph lite = g;
        const auto rep = rewrite::apply(lite, rules::paper());
        CHECK(rep.converged);
        // Structure: the ops the module swap has, in the same numbers; none of the replaced ones left.
        auto ours = lite.op_counts(), theirs = swap.op_counts();
        for (const char* op : {"HardSwish", "HardSigmoid", "Sigmoid", "Clip", "Mul", "Identity", "BatchNormalization"})
            CHECK_MESSAGE(ours.count(op) == 0, op << " left in " << name);
        for (const char* op : {"Conv", "Relu", "Gemm", "Add"}) CHECK_MESSAGE(ours[op] == theirs[op], op << " in " << name);
        const double err = relative_error(ref::run(lite, {input})[0], want);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%-20s %6zu -> %-5zu %14zu %12.3e %10.2f\n", name.c_str(), g.num_nodes(), lite.num_nodes(), swap.num_nodes(), err, secs);
        std::fflush(stdout);
        CHECK_MESSAGE(err <= tolerance, name << ": paper preset vs module swap, relative error " << err);
    }
}

} // TEST_SUITE

#endif
