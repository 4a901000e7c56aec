// Tests of the sliding-window chain searcher, including the torch.fx original's faults as regressions.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/ir.hpp"
#include "surgery/pattern.hpp"
#include "surgery/search.hpp"

using namespace surgery;
using namespace surgery::ir;
namespace P = surgery::pattern;

namespace {
using relu = P::op<ops::Relu>;
using sigm = P::op<ops::Sigmoid>;
using tanh_ = P::op<ops::Tanh>;

std::vector<std::string> labels(const Graph& g, const search::match<Graph>& m) {
    std::vector<std::string> out;
    for (auto n : m.nodes) out.push_back(g.label(n));
    return out;
}
} // namespace

TEST_CASE("adjacent in the node list but not connected is not a match (torch.fx fault 1)") {
    Graph g;
    auto x = g.add_input("x", {4});
    auto y = g.add_input("y", {4});
    // Node list order: relu(x), sigmoid(y): adjacent, but the sigmoid does not read the relu.
    auto r = g.add_node(ops::Relu{}, {x}, 1, "r");
    auto s = g.add_node(ops::Sigmoid{}, {y}, 1, "s");
    g.add_output(g.node(r).outputs[0]);
    g.add_output(g.node(s).outputs[0]);
    CHECK(search::find_chains(g, P::chain<relu, sigm>{}).empty());
    CHECK(search::find_chains(g, P::runtime_chain("Relu,Sigmoid")).empty());
}

TEST_CASE("a failed partial match restarts: [A,B] is found in A -> A -> B (torch.fx fault 3)") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto a1 = b.relu(x);
    auto a2 = b.relu(a1);
    auto bb = b.sigmoid(a2);
    b.output(bb);
    auto m = search::find_chains(g, P::chain<relu, sigm>{});
    REQUIRE(m.size() == 1);
    CHECK(m[0].nodes[0] == g.producer(a2));
    CHECK(m[0].nodes[1] == g.producer(bb));
    CHECK(m[0].entries == std::vector<ValueId>{a1});
    CHECK(m[0].exits == std::vector<ValueId>{bb});
    // Longer overlap: A A A B A B with pattern [A, A, B] matches once, at the second A.
    Graph h;
    Builder c(h);
    auto v = c.relu(c.input("x", {4}));
    auto v2 = c.relu(v);
    auto v3 = c.relu(v2);
    auto v4 = c.sigmoid(v3);
    c.output(c.sigmoid(c.relu(v4)));
    auto mm = search::find_chains(h, P::chain<relu, relu, sigm>{});
    REQUIRE(mm.size() == 1);
    CHECK(mm[0].nodes[0] == h.producer(v2));
}

TEST_CASE("a match whose interior feeds another node is refused (torch.fx fault 4)") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto r = b.relu(x);
    auto s = b.sigmoid(r);
    b.output(s);
    b.output(b.apply(ops::Tanh{}, {r})); // r is read outside the would-be match
    CHECK(search::find_chains(g, P::chain<relu, sigm>{}).empty());
    // An interior value that is a graph output is refused too.
    Graph h;
    Builder c(h);
    auto r2 = c.relu(c.input("x", {4}));
    c.output(c.sigmoid(r2));
    c.output(r2);
    CHECK(search::find_chains(h, P::chain<relu, sigm>{}).empty());
    // The last node's output may go anywhere.
    Graph k;
    Builder d(k);
    auto r3 = d.relu(d.input("x", {4}));
    auto s3 = d.sigmoid(r3);
    d.output(d.apply(ops::Tanh{}, {s3}));
    d.output(s3);
    CHECK(search::find_chains(k, P::chain<relu, sigm>{}).size() == 1);
}

TEST_CASE("hyperparameter predicates are respected (torch.fx fault 2)") {
    Graph g;
    Builder b(g, 3);
    auto x = b.input("x", {1, 8, 16, 16});
    auto c7 = b.relu(b.conv(x, {.out_channels = 8, .kernel = 7}));
    auto c3 = b.relu(b.conv(c7, {.out_channels = 8, .kernel = 3}));
    auto dw = b.relu(b.conv(c3, {.kernel = 3, .depthwise = true}));
    auto s2 = b.relu(b.conv(dw, {.out_channels = 8, .kernel = 3, .stride = 2}));
    b.output(s2);
    CHECK(search::find_chains(g, P::chain<P::op<ops::Conv, P::kernel<7, 7>>, relu>{}).size() == 1);
    CHECK(search::find_chains(g, P::chain<P::op<ops::Conv, P::kernel<7>>, relu>{}).size() == 1);
    CHECK(search::find_chains(g, P::chain<P::op<ops::Conv, P::kernel<3>>, relu>{}).size() == 3);
    CHECK(search::find_chains(g, P::chain<P::op<ops::Conv, P::kernel<3>, P::stride<1>>, relu>{}).size() == 2);
    CHECK(search::find_chains(g, P::chain<P::op<ops::Conv, P::depthwise>, relu>{}).size() == 1);
    CHECK(search::find_chains(g, P::chain<P::op<ops::Conv, P::kernel_at_least<5>>>{}).size() == 1);
    using group1 = decltype([](const ops::Conv& c) { return c.group == 1; });
    CHECK(search::find_chains(g, P::chain<P::op<ops::Conv, group1>, relu>{}).size() == 3);
    // Alternatives mixing a predicated and a plain alternative of the same op.
    CHECK(search::find_chains(g, P::chain<P::any_of<P::op<ops::Conv, P::kernel<7>>, P::op<ops::Conv>>, relu>{}).size() == 4);
}

TEST_CASE("chains at the start and the end of the graph, single-op chains, wildcards") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto a = b.relu(x);       // first node of the graph
    auto s = b.sigmoid(a);
    auto t = b.apply(ops::Tanh{}, {s}); // last node, a graph output
    b.output(t);
    CHECK(search::find_chains(g, P::chain<relu, sigm, tanh_>{}).size() == 1);
    CHECK(search::find_chains(g, P::chain<relu>{}).size() == 1);
    CHECK(search::find_chains(g, P::chain<tanh_>{}).size() == 1);
    CHECK(search::find_chains(g, P::chain<P::any_op, P::any_op>{}).size() == 1); // relu-sigmoid, then tanh alone
    CHECK(search::find_chains(g, P::chain<P::any_op, tanh_>{}).size() == 1);
    CHECK(search::find_chains(g, P::runtime_chain("*,Tanh")).size() == 1);
    CHECK(search::find_chains(g, P::runtime_chain("Relu|Sigmoid,Sigmoid|Tanh")).size() == 1);
}

TEST_CASE("patterns that match nowhere, empty graphs, leftmost non-overlapping") {
    Graph empty;
    CHECK(search::find_chains(empty, P::chain<relu>{}).empty());
    Graph g;
    Builder b(g);
    auto v = b.input("x", {4});
    for (int i = 0; i < 5; ++i) v = b.relu(v);
    b.output(v);
    CHECK(search::find_chains(g, P::chain<sigm>{}).empty());
    auto m = search::find_chains(g, P::chain<relu, relu>{});
    REQUIRE(m.size() == 2); // relu0-relu1, relu2-relu3; relu4 left over
    CHECK(labels(g, m[0]) == std::vector<std::string>{"relu_0", "relu_1"});
    CHECK(labels(g, m[1]) == std::vector<std::string>{"relu_2", "relu_3"});
}

TEST_CASE("multiple outputs: a Split feeding two chains, entries include weights") {
    Graph g;
    Builder b(g, 1);
    auto x = b.input("x", {1, 4, 8, 8});
    ops::Split sp;
    sp.axis = 1;
    auto parts = b.apply_n(sp, {x}, 2);
    auto l = b.sigmoid(b.relu(parts[0]));
    auto r = b.sigmoid(b.relu(parts[1]));
    b.output(b.concat({l, r}, 1));
    CHECK(search::find_chains(g, P::chain<relu, sigm>{}).size() == 2);
    // Split has two consumers: it cannot be interior.
    CHECK(search::find_chains(g, P::chain<P::op<ops::Split>, relu>{}).empty());
    auto conv = b.conv(x, {.out_channels = 4, .kernel = 1});
    b.output(b.relu(conv));
    auto m = search::find_chains(g, P::chain<P::op<ops::Conv>, relu>{});
    REQUIRE(m.size() == 1);
    CHECK(m[0].entries.size() == 3); // x, weight, bias
    CHECK(m[0].entries[0] == x);
    CHECK(m[0].input() == x);
}

namespace {
/// The specification, implemented the slow obvious way: for each node in topological order, follow
/// sole-consumer links for k nodes; greedy claiming.
std::vector<std::vector<NodeId>> reference_search(const Graph& g, const std::vector<std::set<OpKind>>& pat) {
    const auto& order = g.topological_order();
    std::set<NodeId> claimed;
    std::vector<std::vector<NodeId>> out;
    auto sole = [&](NodeId n) -> std::optional<NodeId> {
        std::optional<NodeId> c;
        for (ValueId o : g.node(n).outputs) {
            if (g.is_output(o)) return std::nullopt;
            for (const Use& u : g.value(o).uses) {
                if (c && *c != u.node) return std::nullopt;
                c = u.node;
            }
        }
        return c;
    };
    for (NodeId s : order) {
        std::vector<NodeId> path;
        std::optional<NodeId> cur = s;
        for (std::size_t j = 0; j < pat.size(); ++j) {
            if (!cur || !pat[j].count(g.node(*cur).kind()) || claimed.count(*cur)) break;
            path.push_back(*cur);
            if (j + 1 < pat.size()) cur = sole(*cur);
        }
        if (path.size() != pat.size()) continue;
        for (auto n : path) claimed.insert(n);
        out.push_back(path);
    }
    return out;
}
} // namespace

TEST_CASE("the searcher agrees with the specification on random graphs (compile-time and runtime patterns)") {
    std::mt19937 rng(12345);
    const std::array<Op, 3> kinds{ops::Relu{}, ops::Sigmoid{}, ops::Tanh{}};
    const std::array<OpKind, 3> kk{op_kind_v<ops::Relu>, op_kind_v<ops::Sigmoid>, op_kind_v<ops::Tanh>};
    for (int trial = 0; trial < 300; ++trial) {
        Graph g;
        std::vector<ValueId> vals{g.add_input("x", {4})};
        const int n = 1 + static_cast<int>(rng() % 40);
        for (int i = 0; i < n; ++i) {
            const ValueId a = vals[rng() % vals.size()];
            if (rng() % 4 == 0) {
                const ValueId c = vals[rng() % vals.size()];
                vals.push_back(g.node(g.add_node(ops::Add{}, {a, c})).outputs[0]);
            } else {
                vals.push_back(g.node(g.add_node(kinds[rng() % 3], {a})).outputs[0]);
            }
        }
        g.add_output(vals.back());
        if (rng() % 2) g.add_output(vals[rng() % vals.size()]);
        // Pattern [Relu, Sigmoid|Relu, *]
        std::vector<std::set<OpKind>> spec{{kk[0]}, {kk[1], kk[0]}, {}};
        for (std::size_t k = 0; k < op_count; ++k) spec[2].insert(static_cast<OpKind>(k));
        const auto expected = reference_search(g, spec);
        const auto got = search::find_chains(g, P::chain<relu, P::any_of<sigm, relu>, P::any_op>{});
        const auto got_rt = search::find_chains(g, P::runtime_chain("Relu,Sigmoid|Relu,*"));
        REQUIRE(got.size() == expected.size());
        REQUIRE(got_rt.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            CHECK(got[i].nodes == expected[i]);
            CHECK(got_rt[i].nodes == expected[i]);
        }
        // Pattern [Relu, Relu]: overlapping candidates.
        const auto e2 = reference_search(g, {{kk[0]}, {kk[0]}});
        const auto g2 = search::find_chains(g, P::chain<relu, relu>{});
        REQUIRE(g2.size() == e2.size());
        for (std::size_t i = 0; i < g2.size(); ++i) CHECK(g2[i].nodes == e2[i]);
    }
}

namespace {
std::size_t predicate_calls = 0;
struct counting_predicate {
    bool operator()(const ops::Relu&) const {
        ++predicate_calls;
        return true;
    }
};
} // namespace

TEST_CASE("a 1,000,000-node graph is searched in one pass, without recursion") {
    // Long straight chains of Relu -> Sigmoid -> Relu -> ... : deep enough that a recursive walk
    // would overflow the stack, and a rescan after each failed window would be quadratic.
    Graph g;
    constexpr std::size_t n = 1'000'000;
    ValueId v = g.add_input("x", {1});
    for (std::size_t i = 0; i < n; ++i) {
        const bool last_of_run = (i % 1000) == 999;
        v = g.node(g.add_node(last_of_run ? Op{ops::Tanh{}} : (i % 2 ? Op{ops::Sigmoid{}} : Op{ops::Relu{}}), {v})).outputs[0];
    }
    g.add_output(v);
    REQUIRE(g.num_nodes() == n);
    predicate_calls = 0;
    // [Relu(pred), Sigmoid, Relu, Tanh]: matches only at the end of each 1000-run.
    const auto m = search::find_chains(g, P::chain<P::op<ops::Relu, counting_predicate>, sigm, relu, tanh_>{});
    CHECK(m.size() == n / 1000);
    // Each Relu's predicate is evaluated once (one pattern position has it), not once per window.
    CHECK(predicate_calls == n / 2);
    const std::size_t count = search::count_chains(g, P::chain<relu, sigm>{});
    CHECK(count == n / 1000 * 499); // per run of 1000: 499 Relu-Sigmoid pairs, then Relu -> Tanh
    CHECK(search::count_chains(g, P::runtime_chain("Relu,Sigmoid")) == count);
    // The DAG matcher on the same graph: no match, bounded work per node, no recursion over the graph.
    CHECK(search::find_dags(g, P::library::silu<>{}).empty());
}

namespace {
/// A user's graph whose topological order is whatever the user says (one output per node, named
/// by the node's index; -1 - k is graph input k).
struct listed_graph {
    std::vector<std::string> ops;
    std::vector<std::vector<int>> inputs;
    std::vector<int> order;
    std::vector<int> outputs;
};
} // namespace

template <>
struct surgery::graph_traits<listed_graph> {
    using node_type = int;
    using value_type = int;
    static std::size_t node_bound(const listed_graph& g) { return g.ops.size(); }
    static std::size_t index(const listed_graph&, int n) { return static_cast<std::size_t>(n); }
    static const std::vector<int>& topological_order(const listed_graph& g) { return g.order; }
    static std::string_view op_name(const listed_graph& g, int n) { return g.ops[static_cast<std::size_t>(n)]; }
    static std::size_t num_inputs(const listed_graph& g, int n) { return g.inputs[static_cast<std::size_t>(n)].size(); }
    static std::optional<int> input(const listed_graph& g, int n, std::size_t i) { return g.inputs[static_cast<std::size_t>(n)][i]; }
    static std::size_t num_outputs(const listed_graph&, int) { return 1; }
    static int output(const listed_graph&, int n, std::size_t) { return n; }
    static std::optional<int> producer(const listed_graph&, int v) { return v < 0 ? std::nullopt : std::optional<int>(v); }
    static std::vector<int> consumers(const listed_graph& g, int v) {
        std::vector<int> out;
        for (std::size_t n = 0; n < g.inputs.size(); ++n)
            for (int in : g.inputs[n])
                if (in == v) out.push_back(static_cast<int>(n));
        return out;
    }
    static bool is_graph_output(const listed_graph& g, int v) { return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end(); }
};

TEST_CASE("a user's order that is not topological (a cycle, a node twice, an index out of range) is refused, not searched") {
    static_assert(searchable_graph<listed_graph>);
    using three = P::chain<relu, relu, relu>;
    // Relu 0 -> 1 -> 2, listed in order: found.
    listed_graph ok{{"Relu", "Relu", "Relu"}, {{-1}, {0}, {1}}, {0, 1, 2}, {2}};
    CHECK(search::find_chains(ok, three{}).size() == 1);
    CHECK(search::find_chains(ok, P::runtime_chain("Relu,Relu")).size() == 1);
    auto refused = [](const listed_graph& g, const char* what) {
        CHECK_THROWS_WITH_AS((void)search::find_chains(g, three{}), doctest::Contains(what), graph_error);
        CHECK_THROWS_WITH_AS((void)search::find_chains(g, P::runtime_chain("Relu,Relu")), doctest::Contains(what), graph_error);
        CHECK_THROWS_WITH_AS((void)search::find_dags(g, P::library::silu<>{}), doctest::Contains(what), graph_error);
    };
    listed_graph cycle = ok; // 0 reads 2: a cycle 0 -> 1 -> 2 -> 0
    cycle.inputs[0] = {2};
    refused(cycle, "is not listed before it (the graph has a cycle, or the order is not topological)");
    listed_graph self{{"Relu"}, {{0}}, {0}, {}};
    refused(self, "is not listed before it");
    listed_graph reversed = ok;
    reversed.order = {2, 1, 0};
    refused(reversed, "Relu at position 0 of graph_traits::topological_order");
    listed_graph twice = ok;
    twice.order = {0, 1, 1, 2};
    refused(twice, "listed twice");
    listed_graph outside = ok;
    outside.order = {0, 1, 7};
    refused(outside, "not below graph_traits::node_bound");
    // An order that leaves nodes out (a view of part of the graph) is searched over what it lists.
    listed_graph view = ok;
    view.order = {1, 2};
    CHECK(search::find_chains(view, P::chain<relu, relu>{}).size() == 1);
    CHECK(search::find_chains(view, three{}).empty());
    view.order = {0, 1};
    CHECK(search::find_chains(view, P::chain<relu, relu>{}).size() == 1);
}
