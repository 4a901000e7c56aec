// surgery demo: MobileNetV3-Large built in memory, the paper's dictionary applied, both networks run and compared.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/limits.hpp"
#include "cli/model.hpp"
#include "cli/outputs.hpp"
#include "cli/stats.hpp"
#include "cli/tensors.hpp"
#include "surgery/ir/verify.hpp"
#include "surgery/onnx/writer.hpp"
#include "surgery/reference/equivalence.hpp"
#include "surgery/reference/executor.hpp"
#include "surgery/rules.hpp"
#include "surgery/zoo/mobilenet_v3.hpp"

namespace surgery::cli {

const command_spec& demo_spec() {
    static const command_spec spec{
        "demo",
        "[--resolution R] [--seed S] [--repeat N] [--no-run] [--save DIR]",
        "The embedded default (no files needed): MobileNetV3-Large made lite, both networks run and compared.",
        "MobileNetV3-Large is built in the IR (seeded random weights), the paper's MobileNetV3 dictionary is\n"
        "applied and its report printed, then both networks run in the reference executor on one seeded input:\n"
        "the output deviation and the latency of each. The lite network is approximate by design (Squeeze-and-Excitation removed, HardSwish and HardSigmoid\n"
        "become ReLU): the deviation shows how far it moved before any retraining.",
        {
            {"resolution", 0, "R", "input height and width (default 224)"},
            {"seed", 0, "S", "seed of the weights (default 7); the input uses seed 0"},
            {"repeat", 'r', "N", "timed runs of each network (default 5)"},
            {"threads", 0, "N", "threads for the GEMM kernels (needs a build with OpenMP; default 1)"},
            {"no-run", 0, "", "only build and rewrite, do not run the networks"},
            {"save", 0, "DIR", "also write DIR/mobilenet_v3_large.onnx and DIR/mobilenet_v3_large_lite.onnx"},
            max_memory_option(),
        },
        0,
        0,
        "example:\n  surgery demo\n  surgery demo --save /tmp/models && surgery inspect /tmp/models/mobilenet_v3_large_lite.onnx",
    };
    return spec;
}

namespace {

struct timing {
    double median_ms = 0, min_ms = 0;
    std::vector<ir::Tensor> outputs;
};

timing time_network(const ir::Graph& g, const std::vector<ir::Tensor>& inputs, int repeat, int threads, std::uint64_t max_memory) {
    reference::executor_options eo;
    eo.max_memory = static_cast<std::size_t>(max_memory);
    eo.threads = threads;
    reference::executor ex(g, eo);
    timing t;
    t.outputs = ex.run(inputs); // warm-up
    std::vector<double> ms;
    for (int r = 0; r < repeat; ++r) {
        const auto t0 = clock::now();
        t.outputs = ex.run(inputs);
        ms.push_back(1e3 * seconds_since(t0));
    }
    t.median_ms = median(ms);
    t.min_ms = *std::min_element(ms.begin(), ms.end());
    return t;
}

} // namespace

int demo_main(const arguments& args) {
    const std::int64_t resolution = args.value("resolution") ? parse_int("resolution", *args.value("resolution"), 32, 1024) : 224;
    const auto seed = static_cast<std::uint64_t>(args.value("seed") ? parse_int("seed", *args.value("seed"), 0, INT64_MAX) : 7);
    const int repeat = static_cast<int>(args.value("repeat") ? parse_int("repeat", *args.value("repeat"), 1, 10000) : 5);
    const int threads = static_cast<int>(args.value("threads") ? parse_int("threads", *args.value("threads"), 1, 1024) : 1);
    const auto save_dir = args.value("save");
    memory_budget budget = budget_from(args);
    if (save_dir && !std::filesystem::is_directory(*save_dir)) throw io_error(io::quoted(*save_dir) + ": --save needs an existing directory");
    if (save_dir) {
        output_plan plan;
        plan.file(std::filesystem::path(*save_dir) / "mobilenet_v3_large.onnx", "--save");
        plan.file(std::filesystem::path(*save_dir) / "mobilenet_v3_large_lite.onnx", "--save");
        plan.check();
    }

    auto t0 = clock::now();
    ir::Graph net = zoo::mobilenet_v3_large({.resolution = resolution, .num_classes = 1000, .seed = seed});
    ir::verify(net);
    const double build_ms = 1e3 * seconds_since(t0);
    const ir::Graph original = net;
    const model_stats before = compute_stats(net);
    std::cout << "MobileNetV3-Large (built in memory, weight seed " << seed << "): " << net.num_nodes() << " nodes, output "
              << ir::to_string(*net.value(net.outputs()[0]).shape) << ", " << human(before.parameters) << " parameters, " << human(before.macs)
              << " MACs (built in " << format("%.1f", build_ms) << " ms)\n";

    const rewrite::dictionary dict = rules::mobilenet_v3_lite();
    std::cout << "dictionary '" << dict.name() << "':\n";
    for (const auto& r : dict.rules()) std::cout << "  " << r.name << ": " << r.description << "\n";
    t0 = clock::now();
    const rewrite::report rep = rewrite::apply(net, dict);
    const double rewrite_ms = 1e3 * seconds_since(t0);
    std::cout << rep.to_string();
    const model_stats after = compute_stats(net);
    std::cout << "lite network: " << net.num_nodes() << " nodes, output " << ir::to_string(*net.value(net.outputs()[0]).shape) << ", "
              << human(after.parameters) << " parameters, " << human(after.macs) << " MACs (rewrite took " << format("%.1f", rewrite_ms) << " ms)\n";

    if (save_dir) {
        const std::filesystem::path dir = *save_dir;
        output_transaction tx;
        tx.stage_file(dir / "mobilenet_v3_large.onnx", model_bytes(original, dir / "mobilenet_v3_large.onnx"));
        tx.stage_file(dir / "mobilenet_v3_large_lite.onnx", model_bytes(net, dir / "mobilenet_v3_large_lite.onnx"));
        tx.commit();
        std::cout << "wrote " << io::quoted(dir / "mobilenet_v3_large.onnx") << " and " << io::quoted(dir / "mobilenet_v3_large_lite.onnx") << "\n";
    }
    if (!args.has("no-run")) {
        charge_random_inputs(budget, original, "the demo network");
        const auto inputs = reference::random_inputs(original, 0);
        const timing a = time_network(original, inputs, repeat, threads, budget.remaining() / 2);
        const timing b = time_network(net, inputs, repeat, threads, budget.remaining() / 2);
        const auto d = reference::compare_tensors(a.outputs[0], b.outputs[0]);
        const auto ta = argmax_rows(a.outputs[0]), tb = argmax_rows(b.outputs[0]);
        std::cout << "reference executor, one random normal input (seed 0), median of " << repeat << " run(s), " << threads << " thread(s):\n";
        std::cout << format("  original: %8.2f ms (min %.2f)\n", a.median_ms, a.min_ms);
        std::cout << format("  lite:     %8.2f ms (min %.2f), %.2fx the original's speed\n", b.median_ms, b.min_ms,
                            b.median_ms > 0 ? a.median_ms / b.median_ms : 0.0);
        std::cout << format("  output deviation (lite vs original): max_abs %.3g, max_rel %.3g; argmax %zu vs %zu\n", d.max_abs, d.max_rel,
                            ta.empty() ? std::size_t{0} : ta[0], tb.empty() ? std::size_t{0} : tb[0]);
        std::cout << "  (the rules are approximate: the lite network needs fine-tuning to recover the original's accuracy)\n";
    }
    return rep.converged ? exit_ok : exit_failure;
}

} // namespace surgery::cli
