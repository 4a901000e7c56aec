// The searcher on a user's boost::adjacency_list, through the Boost.Graph adapter.
#include <doctest/doctest.h>

#include <optional>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "surgery/adapters/boost_graph.hpp"
#include "surgery/pattern.hpp"
#include "surgery/search.hpp"

using namespace surgery;
namespace P = surgery::pattern;
namespace ops = surgery::ir::ops;
using bgraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, adapters::op_vertex>;

static_assert(searchable_graph<bgraph>);

namespace {
std::size_t add(bgraph& g, const char* op, std::initializer_list<std::size_t> inputs) {
    auto v = boost::add_vertex(adapters::op_vertex{op, false}, g);
    for (auto i : inputs) boost::add_edge(i, v, g);
    return v;
}
} // namespace

TEST_CASE("chains, the restart case and escaping interiors on Boost.Graph") {
    bgraph g;
    auto x = add(g, "Input", {});
    auto a1 = add(g, "Relu", {x});
    auto a2 = add(g, "Relu", {a1});
    auto s = add(g, "Sigmoid", {a2});
    add(g, "Tanh", {s});
    auto m = search::find_chains(g, P::chain<P::op<ops::Relu>, P::op<ops::Sigmoid>>{});
    REQUIRE(m.size() == 1);
    CHECK(m[0].nodes == std::vector<std::size_t>{a2, s});
    CHECK(m[0].entries == std::vector<std::size_t>{a1});
    CHECK(m[0].exits == std::vector<std::size_t>{s});
    add(g, "Relu", {a2}); // a2 now escapes
    CHECK(search::find_chains(g, P::chain<P::op<ops::Relu>, P::op<ops::Sigmoid>>{}).empty());
    CHECK(search::find_chains(g, P::runtime_chain("Sigmoid,Tanh")).size() == 1);
}

TEST_CASE("DAG patterns and unknown op names on Boost.Graph") {
    bgraph g;
    auto x = add(g, "MyCustomOp", {});
    auto sg = add(g, "Sigmoid", {x});
    auto mul = add(g, "Mul", {sg, x});
    add(g, "MyCustomOp", {mul});
    auto m = search::find_dags(g, P::library::silu<>{});
    REQUIRE(m.size() == 1);
    CHECK(m[0].captures[0] == x);
    CHECK(search::find_chains(g, P::runtime_chain("MyCustomOp,Sigmoid")).empty()); // x has two consumers
    CHECK(search::find_chains(g, P::runtime_chain("Mul,MyCustomOp")).size() == 1);
    CHECK(search::find_chains(g, P::chain<P::op<ops::Mul>, P::any_op>{}).size() == 1);
}

TEST_CASE("a node of large in-degree: every input in the order its edges were added, in one walk") {
    static_assert(graph_with_input_range<bgraph>);
    using T = graph_traits<bgraph>;
    constexpr std::size_t n_inputs = 2000;
    bgraph g;
    std::vector<std::size_t> sources;
    for (std::size_t i = 0; i < n_inputs; ++i) sources.push_back(add(g, "Input", {}));
    // Edges added in an order unlike the vertex ids: the inputs follow the edges.
    std::vector<std::size_t> expected;
    for (std::size_t i = 0; i < n_inputs; ++i) expected.push_back(sources[(i * 7) % n_inputs]);
    const auto concat = boost::add_vertex(adapters::op_vertex{"Concat", false}, g);
    for (std::size_t s : expected) boost::add_edge(s, concat, g);
    add(g, "Relu", {concat});

    std::vector<std::size_t> seen;
    for_each_input(g, concat, [&](std::size_t slot, const std::optional<std::size_t>& v) {
        CHECK(slot == seen.size());
        REQUIRE(v);
        seen.push_back(*v);
    });
    CHECK(seen == expected);
    for (std::size_t i = 0; i < n_inputs; i += 97) CHECK(T::input(g, concat, i) == expected[i]); // the same as input(g, n, i)
    CHECK(T::inputs(g, concat) == expected);
    // The searcher's order check and a match's entries go through them.
    const auto m = search::find_chains(g, P::chain<P::op<ops::Concat>, P::op<ops::Relu>>{});
    REQUIRE(m.size() == 1);
    CHECK(m[0].entries == expected);
}
