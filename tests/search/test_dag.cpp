// Tests of the DAG matcher: shared captures, commutative operands, SE blocks, closedness.
#include <doctest/doctest.h>

#include "surgery/ir.hpp"
#include "surgery/pattern.hpp"
#include "surgery/search.hpp"

using namespace surgery;
using namespace surgery::ir;
namespace P = surgery::pattern;
namespace L = surgery::pattern::library;

static_assert(P::dag_pattern<L::silu<>>);
static_assert(!P::dag_pattern<P::chain<P::op<ops::Relu>>>);
static_assert(P::capture_count_v<L::silu<>> == 1);
static_assert(P::capture_count_v<L::squeeze_excitation> == 2);
static_assert(P::node_count_v<L::silu<>> == 2);

TEST_CASE("x * sigmoid(x) matches in both operand orders; x * sigmoid(y) does not") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto y = b.input("y", {4});
    auto a = b.mul(x, b.sigmoid(x));     // x first
    auto c = b.mul(b.sigmoid(y), y);     // sigmoid first
    auto d = b.mul(x, b.sigmoid(y));     // different values: not SiLU
    b.output(a);
    b.output(c);
    b.output(d);
    auto m = search::find_dags(g, L::silu<>{});
    REQUIRE(m.size() == 2);
    CHECK(m[0].captures[0] == x);
    CHECK(m[1].captures[0] == y);
    CHECK(m[0].nodes.size() == 2);
    CHECK(m[0].nodes.back() == g.producer(a)); // root last
    CHECK(m[0].exits == std::vector<ValueId>{a});
    CHECK(m[0].input() == x);
}

TEST_CASE("a diamond whose sigmoid is also read elsewhere is not matched") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto s = b.sigmoid(x);
    b.output(b.mul(x, s));
    b.output(b.relu(s)); // the sigmoid escapes
    CHECK(search::find_dags(g, L::silu<>{}).empty());
}

TEST_CASE("x * hardsigmoid(x), HardSwish before opset 14") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    b.output(b.mul(b.hardsigmoid(x), x));
    CHECK(search::find_dags(g, L::hardswish_decomposed<>{}).size() == 1);
    CHECK(search::find_dags(g, L::silu<>{}).empty());
}

namespace {
ValueId se_block(Builder& b, ValueId x, bool silu_gate, bool hard) {
    const std::int64_t c = b.shape(x)[1];
    ValueId s = b.conv(b.global_average_pool(x), {.out_channels = c / 4, .kernel = 1});
    s = silu_gate ? b.silu(s) : b.relu(s);
    s = b.conv(s, {.out_channels = c, .kernel = 1});
    s = hard ? b.hardsigmoid(s) : b.sigmoid(s);
    return b.mul(s, x);
}
} // namespace

TEST_CASE("Squeeze-and-Excitation: MobileNetV3 (ReLU, HardSigmoid) and EfficientNet (SiLU diamond, Sigmoid) gates") {
    Graph g;
    Builder b(g, 5);
    auto x = b.input("x", {1, 16, 8, 8});
    auto y = b.relu(b.conv(x, {.out_channels = 16}));
    auto se1 = se_block(b, y, false, true);
    auto z = b.silu(b.conv(se1, {.out_channels = 16}));
    auto se2 = se_block(b, z, true, false);
    b.output(se2);
    auto m = search::find_dags(g, L::squeeze_excitation{});
    REQUIRE(m.size() == 2);
    CHECK(m[0].captures[0] == y);
    CHECK(m[0].nodes.size() == 6);
    CHECK(m[1].captures[0] == z);
    CHECK(m[1].nodes.size() == 7); // GAP, Conv, Sigmoid, Mul (SiLU), Conv, Sigmoid, Mul
    CHECK(m[1].captures[1].has_value());
    // The block's input also feeds the GAP and the Mul, both inside: still closed.
    CHECK(m[0].exits == std::vector<ValueId>{se1});
}

TEST_CASE("SE whose gate is read outside the block is not matched") {
    Graph g;
    Builder b(g, 5);
    auto x = b.input("x", {1, 8, 4, 4});
    ValueId s = b.conv(b.global_average_pool(x), {.out_channels = 2, .kernel = 1});
    s = b.conv(b.relu(s), {.out_channels = 8, .kernel = 1});
    auto gate = b.hardsigmoid(s);
    b.output(b.mul(gate, x));
    b.output(gate);
    CHECK(search::find_dags(g, L::squeeze_excitation{}).empty());
}

TEST_CASE("either<> and value leaves; overlapping candidates are claimed once") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    // Two SiLUs in a row: the second's x is the first's output.
    auto s1 = b.silu(x);
    auto s2 = b.silu(s1);
    b.output(s2);
    auto m = search::find_dags(g, L::silu<>{});
    REQUIRE(m.size() == 2);
    CHECK(m[1].captures[0] == s1);
    using add_or_mul = P::node<P::any_of<P::op<ops::Add>, P::op<ops::Mul>>, P::value, P::either<P::node<P::op<ops::Sigmoid>, P::value>, P::node<P::op<ops::Relu>, P::value>>>;
    CHECK(search::find_dags(g, add_or_mul{}).size() == 2);
}
