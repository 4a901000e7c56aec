// Real networks exported from PyTorch (tests/models/export_models.py): loaded with surgery::onnx, run with
// the reference executor, compared with PyTorch's output; and unchanged by a save/load round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "surgery/ir.hpp"
#include "surgery/onnx.hpp"
#include "surgery/reference/executor.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rules.hpp"

#include "../onnx/graph_compare.hpp"

namespace fs = std::filesystem;
namespace so = surgery::onnx;
namespace ir = surgery::ir;
namespace ref = surgery::reference;

namespace {

// Max abs error relative to the largest |output|: float32 accumulation order differs from
// PyTorch's (im2col/Winograd/MKL-DNN), a few ulps per op over 50-150 layers.
constexpr double tolerance = 1e-4;

const std::vector<std::string> models{"mobilenet_v3_large", "efficientnet_b0", "convnext_tiny",
                                      "mobilenet_v2",       "resnet18",        "yolox_nano_like"};

/// Where export_models.py wrote the models: $SURGERY_MODELS_DIR (set by the CTest entry that
/// depends on the export fixture), or empty when the test is not run through it.
fs::path models_dir() {
    const char* env = std::getenv("SURGERY_MODELS_DIR");
    return env ? fs::path(env) : fs::path{};
}

struct error_figures {
    double max_abs_error = 0, max_abs_ref = 0;
    [[nodiscard]] double relative() const { return max_abs_ref > 0 ? max_abs_error / max_abs_ref : max_abs_error; }
};

error_figures compare(const ir::Tensor& got, const ir::Tensor& want) {
    REQUIRE(got.dtype == ir::DType::f32);
    REQUIRE(got.shape == want.shape);
    REQUIRE(got.f.size() == want.f.size());
    error_figures e;
    const auto bad = std::find_if(got.f.begin(), got.f.end(), [](float v) { return !std::isfinite(v); });
    REQUIRE_MESSAGE(bad == got.f.end(), "non-finite output at flat index " << (bad - got.f.begin()));
    for (std::size_t k = 0; k < want.f.size(); ++k) {
        e.max_abs_error = std::max(e.max_abs_error, static_cast<double>(std::abs(got.f[k] - want.f[k])));
        e.max_abs_ref = std::max(e.max_abs_ref, static_cast<double>(std::abs(want.f[k])));
    }
    return e;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

TEST_CASE("real networks: load, verify, run against PyTorch, save/load round trip") {
    const fs::path dir = models_dir();
    REQUIRE_MESSAGE(!dir.empty(), "SURGERY_MODELS_DIR is not set: run the CTest test 'networks', which depends on the model export fixture, "
                                  "or export the models with tests/models/export_models.py --out DIR and set SURGERY_MODELS_DIR=DIR");
    REQUIRE_MESSAGE(fs::exists(dir / "manifest.json"), dir << " has no manifest.json: did tests/models/export_models.py run?");
    const fs::path tmp = fs::temp_directory_path() / ("surgery_networks_" + std::to_string(std::random_device{}()));
    fs::create_directories(tmp);

    std::size_t plain_nodes = 0;
    std::printf("%-26s %6s %11s %11s %10s %8s %8s\n", "model", "nodes", "max|err|", "max|ref|", "rel err", "load s", "run s");
    for (const std::string& name : models) {
        for (const std::string variant : {"", "_bn"}) {
            const std::string model = name + variant;
            CAPTURE(model);
            const auto t0 = std::chrono::steady_clock::now();
            ir::Graph g = so::load(dir / (model + ".onnx"));
            const double load_s = seconds_since(t0);
            CHECK_NOTHROW(ir::verify(g));
            REQUIRE(g.inputs().size() == 1);
            REQUIRE(g.outputs().size() == 1);
            // NAME.onnx has BatchNorm folded into the convolutions; NAME_bn.onnx keeps it (when the
            // network has any: ConvNeXt has LayerNorm only, and both files are the same).
            const std::size_t bn = g.op_histogram()[ir::op_kind_v<ir::ops::BatchNormalization>];
            if (variant.empty()) {
                CHECK(bn == 0);
                plain_nodes = g.num_nodes();
            } else {
                CHECK((bn > 0) == (g.num_nodes() > plain_nodes));
            }

            const ir::Tensor input = so::load_tensor(dir / (name + "_input.pb"));
            const ir::Tensor want = so::load_tensor(dir / (name + "_output.pb"));
            const auto t1 = std::chrono::steady_clock::now();
            const std::vector<ir::Tensor> got = ref::run(g, {input});
            const double run_s = seconds_since(t1);
            REQUIRE(got.size() == 1);
            const error_figures e = compare(got[0], want);
            std::printf("%-26s %6zu %11.3e %11.3e %10.3e %8.2f %8.2f\n", model.c_str(), g.num_nodes(), e.max_abs_error, e.max_abs_ref,
                        e.relative(), load_s, run_s);
            std::fflush(stdout);
            CHECK_MESSAGE(e.relative() <= tolerance, model << ": max abs error " << e.max_abs_error << " relative to max |output| "
                                                           << e.max_abs_ref << " is " << e.relative());

            // Without the executor's fusion and constant folding: the plain kernels agree too.
            ref::executor_options unfused;
            unfused.fuse_activations = false;
            unfused.fold_constants = false;
            const std::vector<ir::Tensor> plain = ref::run(g, {input}, unfused);
            CHECK(compare(plain[0], want).relative() <= tolerance);

            // save -> load gives the same graph, which computes exactly the same output.
            const fs::path file = tmp / (model + ".onnx");
            so::save(g, file);
            const ir::Graph back = so::load(file);
            CHECK(surgery::test::graph_difference(g, back) == "");
            const std::vector<ir::Tensor> again = ref::run(back, {input});
            CHECK_MESSAGE(again[0] == got[0], model << ": output changed after save/load");
        }
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);
}

// The exact clean-up on the exports that keep BatchNormalization: BN-free (folded into the convolutions),
// no Identity/Dropout left, and the same outputs as PyTorch. Then the full lite dictionary: every
// approximate rule fires where the paper says it should, and the result verifies and runs. (BatchNormalization
// may stay in a lite network: LayerNorm becomes BatchNorm, which folds only into a preceding convolution.)
TEST_CASE("real networks: exact clean-up keeps PyTorch's outputs, the lite dictionary removes what it claims") {
    const fs::path dir = models_dir();
    REQUIRE_MESSAGE(!dir.empty(), "SURGERY_MODELS_DIR is not set (see the test case above)");
    std::printf("%-20s %22s %10s %22s %12s\n", "model", "exact: nodes", "rel err", "lite: nodes", "lite rules");
    for (const std::string& model : models) {
        CAPTURE(model);
        ir::Graph g = so::load(dir / (model + "_bn.onnx"));
        const ir::Tensor input = so::load_tensor(dir / (model + "_input.pb"));
        const ir::Tensor want = so::load_tensor(dir / (model + "_output.pb"));

        ir::Graph exact = g;
        const auto rep = surgery::rewrite::apply(exact, surgery::rules::exact_cleanup());
        CHECK(rep.converged);
        const auto hist = exact.op_histogram();
        CHECK(hist[ir::op_kind_v<ir::ops::BatchNormalization>] == 0);
        CHECK(hist[ir::op_kind_v<ir::ops::Identity>] == 0);
        CHECK(hist[ir::op_kind_v<ir::ops::Dropout>] == 0);
        if (g.op_histogram()[ir::op_kind_v<ir::ops::BatchNormalization>] > 0) CHECK(exact.num_nodes() < g.num_nodes());
        const error_figures e = compare(ref::run(exact, {input})[0], want);
        CHECK_MESSAGE(e.relative() <= tolerance, model << ": exact clean-up changed the output by " << e.relative());

        ir::Graph lite = g;
        const auto lrep = surgery::rewrite::apply(lite, surgery::rules::lite());
        CHECK(lrep.converged);
        const auto lh = lite.op_histogram();
        for (auto kind : {ir::op_kind_v<ir::ops::HardSwish>, ir::op_kind_v<ir::ops::HardSigmoid>, ir::op_kind_v<ir::ops::Sigmoid>,
                          ir::op_kind_v<ir::ops::Erf>, ir::op_kind_v<ir::ops::LayerNormalization>})
            CHECK_MESSAGE(lh[kind] == 0, model << ": " << ir::op_names[kind] << " left after the lite dictionary");
        std::size_t fired = 0;
        for (const auto& r : lrep.rules) fired += r.replaced > 0 ? 1 : 0;
        CHECK(fired >= 2);
        const auto y = ref::run(lite, {input});
        REQUIRE(y.size() == 1);
        CHECK(y[0].shape == want.shape);
        CHECK(std::all_of(y[0].f.begin(), y[0].f.end(), [](float v) { return std::isfinite(v); }));
        std::printf("%-20s %10zu -> %-9zu %10.3e %10zu -> %-9zu %12zu\n", model.c_str(), g.num_nodes(), exact.num_nodes(), e.relative(), g.num_nodes(),
                    lite.num_nodes(), fired);
        std::fflush(stdout);
    }
}
