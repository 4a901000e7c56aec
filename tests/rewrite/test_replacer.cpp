// Tests of the transactional replacer: every replacement kind, validation failures leave the graph untouched.
#include <doctest/doctest.h>

#include "surgery/ir.hpp"
#include "surgery/pattern.hpp"
#include "surgery/rewrite.hpp"
#include "surgery/search.hpp"

using namespace surgery;
using namespace surgery::ir;
namespace P = surgery::pattern;

namespace {
/// Everything observable about a graph, to prove a failed rewrite changed nothing.
std::string fingerprint(const Graph& g) {
    std::string s;
    for (NodeId n : g.topological_order()) {
        s += g.label(n) + "(";
        for (ValueId v : g.node(n).inputs) s += (v ? g.label(v) : std::string("-")) + ",";
        s += ")->";
        for (ValueId v : g.node(n).outputs) s += g.label(v) + (g.value(v).shape ? to_string(*g.value(v).shape) : "?") + ",";
        s += ";";
    }
    for (ValueId o : g.outputs()) s += "out:" + g.label(o);
    s += " nodes=" + std::to_string(g.num_nodes()) + " values=" + std::to_string(g.value_bound());
    return s;
}

struct fixture {
    Graph g;
    ValueId x, mid, out;
    fixture() {
        Builder b(g, 9);
        x = b.input("x", {1, 4, 8, 8});
        mid = b.hardswish(b.conv(x, {.out_channels = 4}));
        out = b.relu(mid);
        g.set_value_name(out, "y");
        b.output(out);
    }
};
} // namespace

TEST_CASE("bypass removes the match and rewires its consumers") {
    fixture f;
    auto m = search::find_chains(f.g, P::chain<P::op<ops::HardSwish>>{});
    REQUIRE(m.size() == 1);
    rewrite::replace(f.g, m[0], rewrite::identity(), "drop_hardswish");
    CHECK(f.g.num_nodes() == 2);
    CHECK(f.g.op_histogram()[op_kind_v<ops::HardSwish>] == 0);
    CHECK(f.g.node(f.g.producer(f.out)).inputs[0] == f.g.node(f.g.topological_order()[0]).outputs[0]);
    CHECK_NOTHROW(verify(f.g));
}

TEST_CASE("a single op takes the exit's name, so graph outputs keep their names") {
    fixture f;
    auto m = search::find_chains(f.g, P::chain<P::op<ops::Relu>>{});
    rewrite::replace(f.g, m.at(0), rewrite::with_op(ops::Sigmoid{}), "relu_to_sigmoid");
    REQUIRE(f.g.outputs().size() == 1);
    CHECK(f.g.value(f.g.outputs()[0]).name == "y");
    CHECK(f.g.node(f.g.producer(f.g.outputs()[0])).is<ops::Sigmoid>());
    CHECK_NOTHROW(verify(f.g));
}

TEST_CASE("bypassing a node that produces a graph output: the intermediate value before it takes the output's name") {
    fixture f;
    auto m = search::find_chains(f.g, P::chain<P::op<ops::Relu>>{});
    rewrite::replace(f.g, m.at(0), rewrite::identity(), "drop_relu");
    REQUIRE(f.g.outputs().size() == 1);
    CHECK(f.g.outputs()[0] == f.mid);
    CHECK(f.g.value(f.g.outputs()[0]).name == "y");
    CHECK(f.g.node(f.g.producer(f.g.outputs()[0])).is<ops::HardSwish>());
    CHECK(f.g.num_nodes() == 2);
    CHECK_NOTHROW(verify(f.g));
}

TEST_CASE("bypassing a node whose input is a graph input inserts an Identity to keep the output's name") {
    Graph g;
    Builder b(g, 9);
    const ValueId x = b.input("x", {1, 4});
    const ValueId out = b.relu(x);
    g.set_value_name(out, "y");
    b.output(out);
    auto m = search::find_chains(g, P::chain<P::op<ops::Relu>>{});
    rewrite::replace(g, m.at(0), rewrite::identity(), "drop_relu");
    CHECK(g.value(g.outputs()[0]).name == "y");
    CHECK(g.value(x).name == "x");
    CHECK(g.node(g.producer(g.outputs()[0])).is<ops::Identity>());
}

TEST_CASE("a chain of ops replaces a chain") {
    fixture f;
    auto m = search::find_chains(f.g, P::chain<P::op<ops::HardSwish>, P::op<ops::Relu>>{});
    rewrite::replace(f.g, m.at(0), rewrite::with_chain({ops::Sigmoid{}, ops::Tanh{}, ops::Relu{}}), "three");
    auto h = f.g.op_histogram();
    CHECK(h[op_kind_v<ops::Sigmoid>] == 1);
    CHECK(h[op_kind_v<ops::Tanh>] == 1);
    CHECK(h[op_kind_v<ops::Relu>] == 1);
    CHECK(h[op_kind_v<ops::HardSwish>] == 0);
    CHECK_NOTHROW(verify(f.g));
}

TEST_CASE("a generator reads the matched node's attributes and weights") {
    fixture f;
    auto m = search::find_chains(f.g, P::chain<P::op<ops::Conv>, P::op<ops::HardSwish>>{});
    std::int64_t seen_channels = 0;
    rewrite::replace(f.g, m.at(0), rewrite::generate([&](rewrite::context& c) {
                         const auto& conv = c.attrs<ops::Conv>(0);
                         seen_channels = c.weight(0, 1).shape[0];
                         // Rebuild the conv with a 1x1 kernel, then a ReLU.
                         ops::Conv one = conv;
                         one.kernel_shape = {1, 1};
                         one.pads = {0, 0, 0, 0};
                         auto w = c.build.constant(Tensor::zeros({seen_channels, 4, 1, 1}));
                         return c.build.relu(c.build.apply(one, {c.input(), w}));
                     }),
                     "shrink");
    CHECK(seen_channels == 4);
    CHECK_NOTHROW(verify(f.g));
    CHECK(f.g.op_histogram()[op_kind_v<ops::HardSwish>] == 0);
}

TEST_CASE("a replacement whose shape does not fit is rejected, naming rule and node, and nothing changes") {
    fixture f;
    const std::string before = fingerprint(f.g);
    auto m = search::find_chains(f.g, P::chain<P::op<ops::HardSwish>>{});
    ops::MaxPool pool;
    pool.kernel_shape = {2, 2};
    pool.strides = {2, 2};
    try {
        rewrite::replace(f.g, m.at(0), rewrite::with_op(pool), "bad_pool");
        FAIL("expected rewrite_error");
    } catch (const rewrite_error& e) {
        CHECK(e.rule() == "bad_pool");
        CHECK(e.node() == "hardswish_1");
        CHECK(std::string(e.what()).find("[1,4,4,4] where the match produced [1,4,8,8]") != std::string::npos);
    }
    CHECK(fingerprint(f.g) == before);
    CHECK_NOTHROW(verify(f.g));
}

TEST_CASE("a generator that fails half-way leaves no node behind") {
    fixture f;
    const std::string before = fingerprint(f.g);
    auto m = search::find_chains(f.g, P::chain<P::op<ops::Conv>>{});
    CHECK_THROWS_WITH_AS(rewrite::replace(f.g, m.at(0), rewrite::generate([](rewrite::context& c) {
                                              auto r = c.build.relu(c.input()); // built, then abandoned
                                              (void)c.build.sigmoid(r);
                                              c.fail("weights are not quantisable");
                                              return r;
                                          }),
                                          "quantise"),
                         doctest::Contains("rule 'quantise' at node 'conv_0': weights are not quantisable"), rewrite_error);
    CHECK(fingerprint(f.g) == before);
    // Reading a value inside the match is refused too.
    CHECK_THROWS_WITH_AS(rewrite::replace(f.g, search::find_chains(f.g, P::chain<P::op<ops::Conv>, P::op<ops::HardSwish>>{}).at(0),
                                          rewrite::generate([&](rewrite::context& c) { return c.build.relu(f.mid); }), "inside"),
                         doctest::Contains("inside the match"), rewrite_error);
    CHECK(fingerprint(f.g) == before);
}

TEST_CASE("an element-type mismatch is rejected") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    b.output(b.relu(x));
    auto m = search::find_chains(g, P::chain<P::op<ops::Relu>>{});
    CHECK_THROWS_WITH_AS(
        rewrite::replace(g, m.at(0), rewrite::generate([](rewrite::context& c) { return c.build.ints({1, 2, 3, 4}); }), "to_int"),
        doctest::Contains("int64 where the match produced float32"), rewrite_error);
}
