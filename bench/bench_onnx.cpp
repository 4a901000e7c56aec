// Rewrite benchmarks on the real exported networks: ONNX load, the lite dictionary, ONNX save, timed separately.
//
// Models come from tests/models/export_models.py --out <dir>; <dir> is SURGERY_BENCH_MODELS (env) or
// the build folder's models/ (compile-time default). A missing model skips its benchmarks.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "surgery/onnx.hpp"
#include "surgery/surgery.hpp"

namespace {

namespace ir = surgery::ir;
namespace rewrite = surgery::rewrite;
namespace rules = surgery::rules;
namespace sonnx = surgery::onnx; // not `onnx`: that is libonnx's namespace
namespace fs = std::filesystem;

fs::path models_dir() {
    if (const char* d = std::getenv("SURGERY_BENCH_MODELS")) return d;
    return SURGERY_BENCH_MODELS_DIR;
}

fs::path model_path(const std::string& name) { return models_dir() / (name + ".onnx"); }

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

/// "mobilenet_v3_lite": the paper's MobileNetV3 dictionary of the demo (SE removal, HardSwish and
/// HardSigmoid to ReLU); "lite": the full lite rule set, rules::lite() (every lite rule, then the exact
/// clean-up: BN folding, Identity/Dropout removal, Transpose merging, big max-pool decomposition).
const rewrite::dictionary& dictionary_named(const std::string& which) {
    static const rewrite::dictionary mnv3 = rules::mobilenet_v3_lite();
    static const rewrite::dictionary full = rules::lite();
    return which == "mobilenet_v3_lite" ? mnv3 : full;
}

bool require(benchmark::State& st, const fs::path& p) {
    if (fs::exists(p)) return true;
    st.SkipWithError(("missing " + p.string() + ": run tests/models/export_models.py --out " + models_dir().string()).c_str());
    return false;
}

/// onnx::load: read the file, parse the protobuf, convert to ir::Graph (with shape inference).
void load(benchmark::State& st, const std::string& model) {
    const fs::path p = model_path(model);
    if (!require(st, p)) return;
    std::size_t nodes = 0;
    for (auto _ : st) {
        ir::Graph g = sonnx::load(p);
        nodes = g.num_nodes();
        benchmark::DoNotOptimize(&g);
    }
    st.counters["nodes"] = static_cast<double>(nodes);
    st.counters["bytes"] = static_cast<double>(fs::file_size(p));
}

/// Protobuf parse + conversion from bytes already in memory (no file I/O).
void parse_convert(benchmark::State& st, const std::string& model) {
    const fs::path p = model_path(model);
    if (!require(st, p)) return;
    const std::string bytes = read_bytes(p);
    for (auto _ : st) {
        ::onnx::ModelProto m;
        m.ParseFromString(bytes);
        ir::Graph g = sonnx::from_model_proto(m);
        benchmark::DoNotOptimize(&g);
    }
}

/// Conversion alone, from a parsed ModelProto.
void convert(benchmark::State& st, const std::string& model) {
    const fs::path p = model_path(model);
    if (!require(st, p)) return;
    ::onnx::ModelProto m;
    m.ParseFromString(read_bytes(p));
    for (auto _ : st) {
        ir::Graph g = sonnx::from_model_proto(m);
        benchmark::DoNotOptimize(&g);
    }
}

/// rewrite::apply on a fresh copy of the loaded graph; copy and destruction not timed.
void apply(benchmark::State& st, const std::string& model, const std::string& dict) {
    const fs::path p = model_path(model);
    if (!require(st, p)) return;
    const ir::Graph g = sonnx::load(p);
    std::optional<ir::Graph> work;
    rewrite::report rep;
    for (auto _ : st) {
        st.PauseTiming();
        work.emplace(g);
        st.ResumeTiming();
        rep = rewrite::apply(*work, dictionary_named(dict));
        st.PauseTiming();
        work.reset();
        st.ResumeTiming();
    }
    st.counters["nodes_before"] = static_cast<double>(rep.nodes_before);
    st.counters["nodes_after"] = static_cast<double>(rep.nodes_after);
    st.counters["replaced"] = static_cast<double>(rep.total_replaced());
}

/// Reference for apply: copying the loaded graph once (apply makes one internal copy).
void copy(benchmark::State& st, const std::string& model) {
    const fs::path p = model_path(model);
    if (!require(st, p)) return;
    const ir::Graph g = sonnx::load(p);
    for (auto _ : st) {
        ir::Graph c = g;
        benchmark::DoNotOptimize(&c);
    }
}

/// onnx::to_model_proto + serialisation to bytes, on the rewritten graph (no checker, no file I/O).
void serialize(benchmark::State& st, const std::string& model) {
    const fs::path p = model_path(model);
    if (!require(st, p)) return;
    ir::Graph g = sonnx::load(p);
    (void)rewrite::apply(g, dictionary_named("lite"));
    std::size_t bytes = 0;
    for (auto _ : st) {
        std::string out;
        sonnx::to_model_proto(g).SerializeToString(&out);
        bytes = out.size();
        benchmark::DoNotOptimize(out.data());
    }
    st.counters["bytes"] = static_cast<double>(bytes);
}

/// onnx::save of the rewritten graph: conversion, libonnx checker + strict shape inference, atomic write.
void save(benchmark::State& st, const std::string& model) {
    const fs::path p = model_path(model);
    if (!require(st, p)) return;
    ir::Graph g = sonnx::load(p);
    (void)rewrite::apply(g, dictionary_named("lite"));
    const fs::path out = fs::temp_directory_path() / ("surgery_bench_" + model + "_lite.onnx");
    for (auto _ : st) sonnx::save(g, out);
    fs::remove(out);
}

/// The whole tool pipeline: load, lite dictionary, save.
void pipeline(benchmark::State& st, const std::string& model) {
    const fs::path p = model_path(model);
    if (!require(st, p)) return;
    const fs::path out = fs::temp_directory_path() / ("surgery_bench_" + model + "_pipeline.onnx");
    for (auto _ : st) {
        ir::Graph g = sonnx::load(p);
        (void)rewrite::apply(g, dictionary_named("lite"));
        sonnx::save(g, out);
    }
    fs::remove(out);
}

} // namespace

int main(int argc, char** argv) {
    // NAME.onnx: PyTorch's eval export (BatchNorm already folded into the convolutions);
    // NAME_bn.onnx: BatchNormalization kept, so the exact clean-up has real folding to do.
    for (const std::string m : {"mobilenet_v3_large", "mobilenet_v3_large_bn", "efficientnet_b0", "efficientnet_b0_bn", "convnext_tiny"}) {
        const std::string pre = "onnx/" + m + "/";
        const bool main_model = m == "mobilenet_v3_large";
        benchmark::RegisterBenchmark((pre + "load").c_str(), load, m)->Unit(benchmark::kMillisecond);
        if (main_model) {
            benchmark::RegisterBenchmark((pre + "parse_convert").c_str(), parse_convert, m)->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark((pre + "convert").c_str(), convert, m)->Unit(benchmark::kMillisecond);
        }
        benchmark::RegisterBenchmark((pre + "copy").c_str(), copy, m)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark((pre + "apply_mobilenet_v3_lite").c_str(), apply, m, std::string("mobilenet_v3_lite"))
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark((pre + "apply_lite").c_str(), apply, m, std::string("lite"))->Unit(benchmark::kMicrosecond);
        if (main_model) benchmark::RegisterBenchmark((pre + "serialize").c_str(), serialize, m)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((pre + "save").c_str(), save, m)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((pre + "load_apply_save").c_str(), pipeline, m)->Unit(benchmark::kMillisecond);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
