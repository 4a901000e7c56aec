// Search benchmarks: the chain searcher (compile-time and runtime patterns) and the DAG matcher on synthetic
// network-like graphs of 1e3..1e6 nodes, against Boost.Graph VF2 and a naive window search, in one run.
//
// Every timed search runs on a graph whose cached flow index (topological order, op kinds and
// sole-consumer links; ir::Graph::flow()) is already built: that is the state a graph is in after
// loading or after the first search. Its one-off cost is measured separately (flow_build).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "surgery/adapters/boost_graph.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/search.hpp"

#include "naive_window.hpp"
#include "scan_previous.hpp"
#include "synthetic.hpp"
#include "vf2_baseline.hpp"

namespace {

using namespace surgery;
namespace P = surgery::pattern;
namespace O = surgery::ir::ops;

// ---- the patterns: 1, 3 and 6 ops, each as a compile-time chain and as text ------------------

using conv = P::op<O::Conv>;
using bn = P::op<O::BatchNormalization>;
using relu = P::op<O::Relu>;

template <int K>
struct chain_of;
template <>
struct chain_of<1> {
    using type = P::chain<relu>;
    static constexpr const char* text = "Relu";
};
template <>
struct chain_of<3> {
    using type = P::chain<conv, bn, relu>;
    static constexpr const char* text = "Conv,BatchNormalization,Relu";
};
template <>
struct chain_of<6> {
    using type = P::chain<conv, bn, relu, conv, bn, relu>;
    static constexpr const char* text = "Conv,BatchNormalization,Relu,Conv,BatchNormalization,Relu";
};

/// Worst case for the naive window: Relu x (K-1) then Sigmoid, on a path of Relu nodes.
template <int K>
struct worst_chain;
template <>
struct worst_chain<6> {
    using type = P::chain<relu, relu, relu, relu, relu, P::op<O::Sigmoid>>;
    static constexpr const char* text = "Relu,Relu,Relu,Relu,Relu,Sigmoid";
};
template <>
struct worst_chain<16> {
    using type = P::chain<relu, relu, relu, relu, relu, relu, relu, relu, relu, relu, relu, relu, relu, relu, relu, P::op<O::Sigmoid>>;
    static constexpr const char* text = "Relu,Relu,Relu,Relu,Relu,Relu,Relu,Relu,Relu,Relu,Relu,Relu,Relu,Relu,Relu,Sigmoid";
};

// ---- graphs, built once per size and shared by all benchmarks ---------------------------------

struct synthetic_graph {
    ir::Graph g;
    bench::synthetic_stats stats;
};

synthetic_graph& synthetic_entry(std::size_t n) {
    static std::map<std::size_t, std::unique_ptr<synthetic_graph>> cache;
    auto& slot = cache[n];
    if (!slot) {
        slot = std::make_unique<synthetic_graph>();
        slot->g = bench::make_synthetic(n, 42, &slot->stats);
    }
    return *slot;
}

ir::Graph& synthetic(std::size_t n) { return synthetic_entry(n).g; }

ir::Graph& relu_path(std::size_t n) {
    static std::map<std::size_t, std::unique_ptr<ir::Graph>> cache;
    auto& slot = cache[n];
    if (!slot) {
        slot = std::make_unique<ir::Graph>(bench::make_relu_path(n));
        (void)slot->flow();
    }
    return *slot;
}

/// The graph with its flow index built (the state every timed search starts from).
const ir::Graph& warm(std::size_t n) {
    const ir::Graph& g = synthetic(n);
    (void)g.flow();
    return g;
}

const bench::boost_graph& boost_version(std::size_t n) {
    static std::map<std::size_t, std::unique_ptr<bench::boost_graph>> cache;
    auto& slot = cache[n];
    if (!slot) slot = std::make_unique<bench::boost_graph>(bench::to_boost(synthetic(n)));
    return *slot;
}

std::size_t arg(const benchmark::State& st) { return static_cast<std::size_t>(st.range(0)); }

/// ns_per_node = elapsed / (iterations * nodes), plus the node and match counts.
void report(benchmark::State& st, std::size_t nodes, std::size_t matches) {
    st.counters["ns_per_node"] = benchmark::Counter(static_cast<double>(nodes),
                                                    benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    st.counters["nodes"] = static_cast<double>(nodes);
    st.counters["matches"] = static_cast<double>(matches);
}

// ---- the library -------------------------------------------------------------------------------

template <int K>
void count_ct(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    using Pat = typename chain_of<K>::type;
    std::size_t m = 0;
    for (auto _ : st) {
        m = search::count_chains(g, Pat{});
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

template <int K>
void count_rt(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    const P::runtime_chain pat(chain_of<K>::text);
    std::size_t m = 0;
    for (auto _ : st) {
        m = search::count_chains(g, pat);
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

template <int K>
void find_ct(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    using Pat = typename chain_of<K>::type;
    std::size_t m = 0;
    for (auto _ : st) {
        auto ms = search::find_chains(g, Pat{});
        m = ms.size();
        benchmark::DoNotOptimize(ms.data());
    }
    report(st, g.num_nodes(), m);
}

template <int K>
void find_rt(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    const P::runtime_chain pat(chain_of<K>::text);
    std::size_t m = 0;
    for (auto _ : st) {
        auto ms = search::find_chains(g, pat);
        m = ms.size();
        benchmark::DoNotOptimize(ms.data());
    }
    report(st, g.num_nodes(), m);
}

/// The searcher's previous scan (bench/scan_previous.hpp), same pattern tables.
template <int K>
void previous_ct(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    std::size_t m = 0;
    for (auto _ : st) {
        m = bench::count_chains_previous<typename chain_of<K>::type>(g);
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

/// The library's searcher through its Boost.Graph adapter (no cached flow index: built every call).
template <int K>
void boost_adapter(benchmark::State& st) {
    const bench::boost_graph& b = boost_version(arg(st));
    using Pat = typename chain_of<K>::type;
    std::size_t m = 0;
    for (auto _ : st) {
        m = search::count_chains(b, Pat{});
        benchmark::DoNotOptimize(m);
    }
    report(st, boost::num_vertices(b), m);
}

/// One-off cost: topological order + flow index rebuilt after a change (Graph::op() invalidates).
void flow_build(benchmark::State& st) {
    ir::Graph& g = synthetic(arg(st));
    for (auto _ : st) {
        (void)g.op(g.topological_order().front()); // invalidates the cached order and flow index
        benchmark::DoNotOptimize(&g.flow());
    }
    report(st, g.num_nodes(), 0);
}

template <class Dag>
void dag(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    std::size_t m = 0;
    for (auto _ : st) {
        auto ms = search::find_dags(g, Dag{});
        m = ms.size();
        benchmark::DoNotOptimize(ms.data());
    }
    report(st, g.num_nodes(), m);
}

// ---- baselines ---------------------------------------------------------------------------------

template <int K>
void naive_graph(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    const bench::naive_chain pat{P::runtime_chain(chain_of<K>::text)};
    std::size_t m = 0;
    for (auto _ : st) {
        m = 0;
        bench::naive_window_graph(g, pat, [&m](const auto&) { ++m; });
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

template <int K>
void naive_flow(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    const bench::naive_chain pat{P::runtime_chain(chain_of<K>::text)};
    std::size_t m = 0;
    for (auto _ : st) {
        m = 0;
        bench::naive_window_flow(g.flow(), pat, [&m](const auto&) { ++m; });
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

template <int K>
void vf2(benchmark::State& st) {
    const bench::boost_graph& b = boost_version(arg(st));
    const bench::boost_graph pat = bench::path_pattern(P::runtime_chain(chain_of<K>::text));
    const std::size_t ours = search::count_chains(warm(arg(st)), typename chain_of<K>::type{});
    bench::vf2_result r;
    for (auto _ : st) {
        r = bench::vf2_chain_search(pat, b);
        benchmark::DoNotOptimize(r);
    }
    if (r.matches != ours) {
        st.SkipWithError(("VF2 found " + std::to_string(r.matches) + " matches, the library " + std::to_string(ours)).c_str());
        return;
    }
    report(st, boost::num_vertices(b), r.matches);
    st.counters["vf2_mappings"] = static_cast<double>(r.mappings);
}

/// Floor: one pass over the flow index's op kinds (std::count), the least a search can read.
void floor_kinds(benchmark::State& st) {
    const ir::Graph& g = warm(arg(st));
    const auto& kinds = g.flow().kinds;
    std::size_t m = 0;
    for (auto _ : st) {
        m = static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), ir::op_kind_v<O::Relu>));
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

/// One-off: generating the synthetic graph (context for the numbers above, not a target).
void build_synthetic(benchmark::State& st) {
    std::size_t n = 0;
    for (auto _ : st) {
        ir::Graph g = bench::make_synthetic(arg(st));
        n = g.num_nodes();
        benchmark::DoNotOptimize(&g);
    }
    report(st, n, 0);
}

// ---- worst case for the naive window: a path of Relu nodes, pattern Relu x (K-1) -> Sigmoid ------

template <int K>
void worst_count(benchmark::State& st) {
    const ir::Graph& g = relu_path(arg(st));
    std::size_t m = 0;
    for (auto _ : st) {
        m = search::count_chains(g, typename worst_chain<K>::type{});
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

template <int K>
void worst_previous(benchmark::State& st) {
    const ir::Graph& g = relu_path(arg(st));
    std::size_t m = 0;
    for (auto _ : st) {
        m = bench::count_chains_previous<typename worst_chain<K>::type>(g);
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

template <int K>
void worst_naive_flow(benchmark::State& st) {
    const ir::Graph& g = relu_path(arg(st));
    const bench::naive_chain pat{P::runtime_chain(worst_chain<K>::text)};
    std::size_t m = 0;
    for (auto _ : st) {
        m = 0;
        bench::naive_window_flow(g.flow(), pat, [&m](const auto&) { ++m; });
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

template <int K>
void worst_naive_graph(benchmark::State& st) {
    const ir::Graph& g = relu_path(arg(st));
    const bench::naive_chain pat{P::runtime_chain(worst_chain<K>::text)};
    std::size_t m = 0;
    for (auto _ : st) {
        m = 0;
        bench::naive_window_graph(g, pat, [&m](const auto&) { ++m; });
        benchmark::DoNotOptimize(m);
    }
    report(st, g.num_nodes(), m);
}

// ---- the same searches over many distinct graphs (no warm branch predictor or cache) ----------------
//
// A benchmark re-searching one small graph lets the branch predictor learn that graph's op sequence
// and keeps it in L1/L2: the 1e3 and 1e4 figures above are best cases. Here each iteration searches
// the next of `copies` different graphs of the same size (seeds 1000..), 1e5 nodes in all.

std::vector<ir::Graph>& distinct_graphs(std::size_t n) {
    static std::map<std::size_t, std::vector<ir::Graph>> cache;
    auto& v = cache[n];
    if (v.empty()) {
        const std::size_t copies = std::max<std::size_t>(100000 / n, 1);
        for (std::size_t i = 0; i < copies; ++i) {
            v.push_back(bench::make_synthetic(n, 1000 + i));
            (void)v.back().flow();
        }
    }
    return v;
}

template <class Search>
void distinct(benchmark::State& st, Search search) {
    const auto& gs = distinct_graphs(arg(st));
    std::size_t i = 0, nodes = 0, m = 0;
    for (auto _ : st) {
        const ir::Graph& g = gs[i++ % gs.size()];
        nodes += g.num_nodes();
        m = search(g);
        benchmark::DoNotOptimize(m);
    }
    st.counters["ns_per_node"] = benchmark::Counter(static_cast<double>(nodes), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    st.counters["graphs"] = static_cast<double>(gs.size());
}

void distinct_count_ct3(benchmark::State& st) {
    distinct(st, [](const ir::Graph& g) { return search::count_chains(g, typename chain_of<3>::type{}); });
}
void distinct_previous_ct3(benchmark::State& st) {
    distinct(st, [](const ir::Graph& g) { return bench::count_chains_previous<typename chain_of<3>::type>(g); });
}
void distinct_naive_flow3(benchmark::State& st) {
    static const bench::naive_chain pat{P::runtime_chain(chain_of<3>::text)};
    distinct(st, [](const ir::Graph& g) {
        std::size_t m = 0;
        bench::naive_window_flow(g.flow(), pat, [&m](const auto&) { ++m; });
        return m;
    });
}

// ---- registration ------------------------------------------------------------------------------

std::size_t env_size(const char* name, std::size_t fallback) {
    const char* v = std::getenv(name);
    return v ? static_cast<std::size_t>(std::strtod(v, nullptr)) : fallback;
}

const std::vector<std::int64_t> sizes = {1000, 10000, 100000, 1000000};

benchmark::internal::Benchmark* with_sizes(benchmark::internal::Benchmark* b, std::size_t max_n = ~std::size_t{0}) {
    for (std::int64_t n : sizes)
        if (static_cast<std::size_t>(n) <= max_n) b->Arg(n);
    return b->Unit(benchmark::kMicrosecond);
}

template <int K>
void register_chain(std::size_t vf2_max) {
    const std::string k = "/k" + std::to_string(K);
    with_sizes(benchmark::RegisterBenchmark(("count/ct" + k).c_str(), count_ct<K>));
    with_sizes(benchmark::RegisterBenchmark(("count/rt" + k).c_str(), count_rt<K>));
    with_sizes(benchmark::RegisterBenchmark(("previous/ct" + k).c_str(), previous_ct<K>));
    with_sizes(benchmark::RegisterBenchmark(("find/ct" + k).c_str(), find_ct<K>));
    with_sizes(benchmark::RegisterBenchmark(("find/rt" + k).c_str(), find_rt<K>));
    with_sizes(benchmark::RegisterBenchmark(("naive_flow" + k).c_str(), naive_flow<K>));
    with_sizes(benchmark::RegisterBenchmark(("naive_graph" + k).c_str(), naive_graph<K>));
    with_sizes(benchmark::RegisterBenchmark(("boost_adapter/ct" + k).c_str(), boost_adapter<K>));
    // A 1-op pattern is a plain vertex scan for VF2 (linear): run it on every size.
    with_sizes(benchmark::RegisterBenchmark(("vf2" + k).c_str(), vf2<K>), K == 1 ? ~std::size_t{0} : vf2_max);
}

template <int K>
void register_worst() {
    const std::string k = "/k" + std::to_string(K);
    with_sizes(benchmark::RegisterBenchmark(("worst/count/ct" + k).c_str(), worst_count<K>));
    with_sizes(benchmark::RegisterBenchmark(("worst/previous/ct" + k).c_str(), worst_previous<K>));
    with_sizes(benchmark::RegisterBenchmark(("worst/naive_flow" + k).c_str(), worst_naive_flow<K>));
    with_sizes(benchmark::RegisterBenchmark(("worst/naive_graph" + k).c_str(), worst_naive_graph<K>));
}

/// Before timing anything: the library and the naive baseline must agree on every count.
template <int K>
bool check(std::size_t n) {
    const ir::Graph& g = warm(n);
    const P::runtime_chain rt(chain_of<K>::text);
    const std::size_t ct = search::count_chains(g, typename chain_of<K>::type{});
    const std::size_t r = search::count_chains(g, rt);
    std::size_t ng = 0, nf = 0;
    bench::naive_window_graph(g, bench::naive_chain(rt), [&](const auto&) { ++ng; });
    bench::naive_window_flow(g.flow(), bench::naive_chain(rt), [&](const auto&) { ++nf; });
    const std::size_t ba = search::count_chains(boost_version(n), typename chain_of<K>::type{});
    const std::size_t pr = bench::count_chains_previous<typename chain_of<K>::type>(g);
    const bench::vf2_result v = bench::vf2_chain_search(bench::path_pattern(rt), boost_version(n));
    const bool ok = ct == r && ct == ng && ct == nf && ct == ba && ct == pr && ct == v.matches && ct > 0;
    if (!ok)
        std::fprintf(stderr,
                     "bench_search: count mismatch k=%d n=%zu: ct=%zu rt=%zu naive_graph=%zu naive_flow=%zu boost_adapter=%zu previous=%zu "
                     "vf2=%zu\n",
                     K, n, ct, r, ng, nf, ba, pr, v.matches);
    return ok;
}

template <int K>
bool check_worst(std::size_t n) {
    const ir::Graph& g = relu_path(n);
    const std::size_t ct = search::count_chains(g, typename worst_chain<K>::type{});
    const std::size_t pr = bench::count_chains_previous<typename worst_chain<K>::type>(g);
    std::size_t nf = 0;
    bench::naive_window_flow(g.flow(), bench::naive_chain(P::runtime_chain(worst_chain<K>::text)), [&](const auto&) { ++nf; });
    const bool ok = ct == 1 && pr == 1 && nf == 1;
    if (!ok) std::fprintf(stderr, "bench_search: worst case k=%d: ct=%zu previous=%zu naive_flow=%zu (want 1)\n", K, ct, pr, nf);
    return ok;
}

/// The DAG matcher must find exactly the SiLU diamonds and SE blocks the generator inserted.
bool check_dags(std::size_t n) {
    const synthetic_graph& s = synthetic_entry(n);
    (void)s.g.flow();
    const std::size_t silu = search::find_dags(s.g, P::library::silu<>{}).size();
    const std::size_t se = search::find_dags(s.g, P::library::squeeze_excitation{}).size();
    const bool ok = silu == s.stats.silu && se == s.stats.squeeze_excitation && silu > 0 && se > 0;
    if (!ok)
        std::fprintf(stderr, "bench_search: DAG count mismatch n=%zu: SiLU %zu (generated %zu), SE %zu (generated %zu)\n", n, silu,
                     s.stats.silu, se, s.stats.squeeze_excitation);
    return ok;
}

} // namespace

int main(int argc, char** argv) {
    // VF2 is quadratic here (it scans every vertex of the big graph at each depth of its search):
    // by default the 3- and 6-op searches run up to 1e5 nodes (~5 and ~9 s per search there; 1e6
    // would take minutes per search); SURGERY_BENCH_VF2_MAX=1e6 runs them on the largest graph too.
    const std::size_t vf2_max = env_size("SURGERY_BENCH_VF2_MAX", 100000);
    if (!(check<1>(10000) && check<3>(10000) && check<6>(10000) && check_worst<6>(10000) && check_worst<16>(10000) && check_dags(10000))) return 1;

    with_sizes(benchmark::RegisterBenchmark("build_synthetic", build_synthetic));
    with_sizes(benchmark::RegisterBenchmark("flow_build", flow_build));
    with_sizes(benchmark::RegisterBenchmark("floor_kinds", floor_kinds));
    register_chain<1>(vf2_max);
    register_chain<3>(vf2_max);
    register_chain<6>(vf2_max);
    register_worst<6>();
    register_worst<16>();
    with_sizes(benchmark::RegisterBenchmark("distinct/count/ct/k3", distinct_count_ct3), 10000);
    with_sizes(benchmark::RegisterBenchmark("distinct/previous/ct/k3", distinct_previous_ct3), 10000);
    with_sizes(benchmark::RegisterBenchmark("distinct/naive_flow/k3", distinct_naive_flow3), 10000);
    with_sizes(benchmark::RegisterBenchmark("dag/silu", dag<P::library::silu<>>));
    with_sizes(benchmark::RegisterBenchmark("dag/squeeze_excitation", dag<P::library::squeeze_excitation>));

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
