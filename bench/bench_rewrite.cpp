// Rewrite benchmarks: the paper's MobileNetV3 dictionary, the full lite rule set and the exact clean-up applied to
// MobileNetV3-Large built in the IR, graph construction and copies excluded; with a breakdown of where
// rewrite::apply spends its time.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <optional>

#include "surgery/surgery.hpp"
#include "surgery/zoo/mobilenet_v3.hpp"

namespace {

using namespace surgery;

const ir::Graph& mobilenet() {
    static const ir::Graph g = zoo::mobilenet_v3_large();
    return g;
}

/// The paper's MobileNetV3 dictionary of the demo.
const rewrite::dictionary& mnv3_lite() {
    static const rewrite::dictionary d = rules::mobilenet_v3_lite();
    return d;
}

/// The full lite rule set: every lite rule, then the exact clean-up.
const rewrite::dictionary& lite() {
    static const rewrite::dictionary d = rules::lite();
    return d;
}

void counters(benchmark::State& st, const rewrite::report& r) {
    st.counters["nodes_before"] = static_cast<double>(r.nodes_before);
    st.counters["nodes_after"] = static_cast<double>(r.nodes_after);
    st.counters["replaced"] = static_cast<double>(r.total_replaced());
    st.counters["iterations"] = static_cast<double>(r.iterations);
}

/// rewrite::apply on a fresh copy of the network each iteration; copying and destroying the copy are
/// not timed. apply itself works on an internal copy and commits it (that copy is part of its cost).
void apply_dictionary(benchmark::State& st, const rewrite::dictionary& dict, rewrite::apply_options opts) {
    const ir::Graph& g = mobilenet();
    std::optional<ir::Graph> work;
    rewrite::report rep;
    for (auto _ : st) {
        st.PauseTiming();
        work.emplace(g);
        st.ResumeTiming();
        rep = rewrite::apply(*work, dict, opts);
        st.PauseTiming();
        work.reset();
        st.ResumeTiming();
    }
    counters(st, rep);
}

void apply_mobilenet_v3_lite(benchmark::State& st) { apply_dictionary(st, mnv3_lite(), {}); }
void apply_lite(benchmark::State& st) { apply_dictionary(st, lite(), {}); }
void apply_lite_noverify(benchmark::State& st) { apply_dictionary(st, lite(), {.max_iterations = 8, .verify = false}); }
void apply_exact(benchmark::State& st) {
    static const rewrite::dictionary d = rules::exact_cleanup();
    apply_dictionary(st, d, {});
}

// ---- breakdown and reference costs --------------------------------------------------------------

/// Reference: one copy of the graph (structure; weights are shared). apply makes one internally.
void copy_graph(benchmark::State& st) {
    const ir::Graph& g = mobilenet();
    for (auto _ : st) {
        ir::Graph c = g;
        benchmark::DoNotOptimize(&c);
    }
    st.counters["nodes"] = static_cast<double>(g.num_nodes());
}

/// Shape inference over the whole graph (apply runs it once on its working copy).
void infer_shapes(benchmark::State& st) {
    std::optional<ir::Graph> work;
    for (auto _ : st) {
        st.PauseTiming();
        work.emplace(mobilenet());
        st.ResumeTiming();
        ir::infer_shapes(*work, true);
        st.PauseTiming();
        work.reset();
        st.ResumeTiming();
    }
}

/// ir::verify of the graph (apply runs it on the result unless apply_options::verify is false).
void verify(benchmark::State& st) {
    const ir::Graph& g = mobilenet();
    for (auto _ : st) ir::verify(g);
}

/// The searches of one pass of the full lite dictionary (every rule's finder, nothing replaced).
void search_lite(benchmark::State& st) {
    const ir::Graph& g = mobilenet();
    std::size_t m = 0;
    for (auto _ : st) {
        m = 0;
        for (const auto& r : lite().rules()) m += r.find(g).size();
        benchmark::DoNotOptimize(m);
    }
    st.counters["matches"] = static_cast<double>(m);
}

/// Building the dictionary object itself (type-erased rules), once per program in practice.
void make_lite_dictionary(benchmark::State& st) {
    for (auto _ : st) {
        auto d = rules::lite();
        benchmark::DoNotOptimize(&d);
    }
}

/// Building MobileNetV3-Large with the builder (random weights: dominated by weight generation).
void build_mobilenet(benchmark::State& st) {
    for (auto _ : st) {
        ir::Graph g = zoo::mobilenet_v3_large();
        benchmark::DoNotOptimize(&g);
    }
}

} // namespace

BENCHMARK(copy_graph)->Unit(benchmark::kMicrosecond);
BENCHMARK(apply_mobilenet_v3_lite)->Unit(benchmark::kMicrosecond);
BENCHMARK(apply_lite)->Unit(benchmark::kMicrosecond);
BENCHMARK(apply_lite_noverify)->Unit(benchmark::kMicrosecond);
BENCHMARK(apply_exact)->Unit(benchmark::kMicrosecond);
BENCHMARK(infer_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(verify)->Unit(benchmark::kMicrosecond);
BENCHMARK(search_lite)->Unit(benchmark::kMicrosecond);
BENCHMARK(make_lite_dictionary)->Unit(benchmark::kMicrosecond);
BENCHMARK(build_mobilenet)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
