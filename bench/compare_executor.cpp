// The reference executor's side of bench/compare_pytorch.py: times one exported model, 1 thread, and
// prints one JSON line in the format of tests/models/compare_pytorch.py (plus a per-op-kind profile).
//
//   compare_executor --models-dir DIR --model NAME [--repeat N] [--warmup W] [--profile-runs P]
//
// Reads DIR/NAME.onnx, DIR/NAME_input.pb and DIR/NAME_output.pb (tests/models/export_models.py).
// The timed runs have profiling off; --profile-runs further runs with it on give the breakdown.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "surgery/onnx.hpp"
#include "surgery/reference/executor.hpp"

namespace {

namespace fs = std::filesystem;
namespace ir = surgery::ir;
namespace ref = surgery::reference;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

std::string json_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

int usage() {
    std::fprintf(stderr, "usage: compare_executor --models-dir DIR --model NAME [--repeat N] [--warmup W] [--profile-runs P]\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    fs::path dir;
    std::string model;
    int repeat = 20, warmup = 3, profile_runs = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        const char* v = argv[++i];
        if (a == "--models-dir") dir = v;
        else if (a == "--model") model = v;
        else if (a == "--repeat") repeat = std::atoi(v);
        else if (a == "--warmup") warmup = std::atoi(v);
        else if (a == "--profile-runs") profile_runs = std::atoi(v);
        else return usage();
    }
    if (dir.empty() || model.empty() || repeat < 1 || warmup < 0 || profile_runs < 0) return usage();
    try {
        using clock = std::chrono::steady_clock;
        const ir::Graph g = surgery::onnx::load(dir / (model + ".onnx"));
        const ir::Tensor input = surgery::onnx::load_tensor(dir / (model + "_input.pb"));
        const fs::path ref_path = dir / (model + "_output.pb");

        const auto t0 = clock::now();
        ref::executor_options opts;
        opts.threads = 1;
        ref::executor ex(g, opts);
        const double plan_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();

        std::vector<ref::Tensor> out;
        for (int i = 0; i < warmup; ++i) out = ex.run(std::vector<ref::Tensor>{input});
        std::vector<double> ms;
        for (int i = 0; i < repeat; ++i) {
            std::vector<ref::Tensor> in{input}; // copied outside the timed region
            const auto a = clock::now();
            out = ex.run(std::move(in));
            ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - a).count());
        }

        double diff = -1.0;
        if (fs::exists(ref_path)) {
            const ir::Tensor expect = surgery::onnx::load_tensor(ref_path);
            if (out.size() == 1 && out[0].f.size() == expect.f.size()) {
                diff = 0.0;
                for (std::size_t i = 0; i < expect.f.size(); ++i)
                    diff = std::max(diff, static_cast<double>(std::fabs(out[0].f[i] - expect.f[i])));
            }
        }

        // Profile: separate runs (timing every step costs a little), summed per op kind.
        std::string profile = "{}", conv_profile = "{}";
        if (profile_runs > 0) {
            ref::executor_options popts = opts;
            popts.profile = true;
            ref::executor pex(g, popts);
            for (int i = 0; i < profile_runs; ++i) out = pex.run(std::vector<ref::Tensor>{input});
            const auto& rep = pex.profile();
            std::vector<std::pair<std::uint64_t, std::size_t>> rows;
            for (std::size_t k = 0; k < rep.ns_by_kind.size(); ++k)
                if (rep.ns_by_kind[k]) rows.emplace_back(rep.ns_by_kind[k], k);
            std::sort(rows.rbegin(), rows.rend());
            profile = "{";
            for (std::size_t r = 0; r < rows.size(); ++r) {
                char buf[128];
                std::snprintf(buf, sizeof buf, "%s\"%s\": %.3f", r ? ", " : "", json_escape(ir::op_names[rows[r].second]).c_str(),
                              static_cast<double>(rows[r].first) / 1e6 / static_cast<double>(std::max<std::size_t>(rep.runs, 1)));
                profile += buf;
            }
            profile += "}";
            // Convolutions by algorithm class: depthwise, 1x1 (a GEMM), other (im2col + GEMM).
            double dw = 0, pw = 0, other = 0;
            for (const auto& n : rep.nodes) {
                const ir::Node& nd = g.node(n.node);
                const auto* c = nd.as<ir::ops::Conv>();
                if (!c) continue;
                const auto& ws = g.value(nd.inputs[1]).shape;
                const bool one = ws && ws->size() == 4 && (*ws)[2] == 1 && (*ws)[3] == 1;
                const bool depthwise = c->group > 1 && ws && ws->size() > 1 && (*ws)[1] == 1;
                (depthwise ? dw : one ? pw : other) += static_cast<double>(n.ns);
            }
            const double runs = static_cast<double>(std::max<std::size_t>(rep.runs, 1)) * 1e6;
            char buf[160];
            std::snprintf(buf, sizeof buf, "{\"depthwise\": %.3f, \"1x1\": %.3f, \"other\": %.3f}", dw / runs, pw / runs, other / runs);
            conv_profile = buf;
        }

        char diff_buf[32];
        std::snprintf(diff_buf, sizeof diff_buf, "%.3g", diff);
        const std::string diff_text = diff < 0 ? "null" : diff_buf;
        std::printf("{\"model\": \"%s\", \"median_ms\": %.3f, \"min_ms\": %.3f, \"repeat\": %d, \"threads\": 1, \"warmup\": %d, "
                    "\"max_abs_diff\": %s, \"plan_ms\": %.3f, \"steps\": %zu, \"fused_nodes\": %zu, \"nodes\": %zu, "
                    "\"profile_ms_by_kind\": %s, \"conv_ms_by_class\": %s}\n",
                    json_escape(model).c_str(), median(ms), *std::min_element(ms.begin(), ms.end()), repeat, warmup,
                    diff_text.c_str(), plan_ms, ex.stats().steps, ex.stats().fused_nodes, g.num_nodes(),
                    profile.c_str(), conv_profile.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "compare_executor: %s: %s\n", model.c_str(), e.what());
        return 1;
    }
}
