// Tests of rules given as text (DAG patterns, captures, constants, attributes, replacement
// expressions), of typed contexts and of the tensor algebra rules use.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "surgery/ir.hpp"
#include "surgery/ir/tensor_math.hpp"
#include "surgery/pattern.hpp"
#include "surgery/reference/executor.hpp"
#include "surgery/rewrite.hpp"

using namespace surgery;
using namespace surgery::ir;
namespace P = surgery::pattern;

namespace {
std::string error_of(std::string_view text) {
    try {
        (void)rewrite::parse_rule(text);
    } catch (const pattern_error& e) {
        return e.what();
    }
    return {};
}

Graph silu_net() {
    Graph g;
    Builder b(g, 11);
    auto x = b.input("x", {1, 4, 6, 6});
    auto y = b.silu(b.conv(x, {.out_channels = 4, .kernel = 3}));
    y = b.relu6(b.conv(y, {.out_channels = 4, .kernel = 3}));
    b.output(b.hardsigmoid(y));
    return g;
}
} // namespace

TEST_CASE("a DAG text rule rewrites x * Sigmoid(x) into Relu(x)") {
    Graph g = silu_net();
    rewrite::dictionary d("t", {rewrite::parse_rule("x * Sigmoid(x) => Relu(x)")});
    const auto rep = rewrite::apply(g, d);
    CHECK(rep.rules[0].replaced == 1);
    CHECK(g.op_histogram()[op_kind_v<ops::Sigmoid>] == 0);
    CHECK(g.op_histogram()[op_kind_v<ops::Relu>] == 1);
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("a replacement by an op outside the catalogue takes the shape and type of what it replaces") {
    Graph g = silu_net();
    rewrite::dictionary d("t", {rewrite::parse_rule("x * Sigmoid(x) => com.vendor::NpuSilu(x)")});
    const auto rep = rewrite::apply(g, d);
    REQUIRE(rep.rules[0].replaced == 1);
    int found = 0;
    for (NodeId n : g.topological_order()) {
        const auto* op = g.node(n).as<ops::Opaque>();
        if (!op) continue;
        ++found;
        CHECK(op->op_domain == "com.vendor");
        CHECK(op->op_type == "NpuSilu");
        const ValueId y = g.node(n).outputs[0];
        REQUIRE(g.value(y).shape.has_value()); // nothing infers an opaque op's output: the replaced value's
        CHECK(*g.value(y).shape == *g.value(g.node(n).inputs[0]).shape); // SiLU keeps the shape of its input
        CHECK(g.value(y).dtype == DType::f32);
    }
    CHECK(found == 1);
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("constant operands select the rewrite; replacements take several operands") {
    Graph g = silu_net();
    // ReLU6 only (not any Clip), to a Clip with other bounds built from numbers.
    rewrite::dictionary d("t", {rewrite::parse_rule("Clip(x, 0, 6) => Clip(x, 0, 4)")});
    (void)rewrite::apply(g, d);
    bool found = false;
    for (NodeId n : g.topological_order())
        if (g.node(n).is<ops::Clip>()) {
            found = true;
            CHECK(g.constant(g.node(n).inputs[2])->f == std::vector<float>{4.0f});
        }
    CHECK(found);
    // A rule whose constants do not match changes nothing.
    Graph h = silu_net();
    const auto rep = rewrite::apply(h, rewrite::dictionary("t", {rewrite::parse_rule("Clip(x, 0, 5) => Relu(x)")}));
    CHECK(rep.total_replaced() == 0);
}

TEST_CASE("replacement ops take attributes; bypass to a capture; numerics of an exact text rule") {
    Graph g;
    Builder b(g, 2);
    auto x = b.input("x", {1, 3, 4, 4});
    auto y = b.apply(ops::Div{}, {x, b.scalar(2.0f)});
    b.output(b.apply(ops::Mul{}, {y, b.scalar(1.0f)}));
    const Graph before = g;
    rewrite::dictionary d("t", {rewrite::parse_rule("Div(x, 2) => Mul(x, 0.5)"), rewrite::parse_rule("Mul(x, 1) => x")});
    const auto rep = rewrite::apply(g, d);
    CHECK(rep.total_replaced() == 2);
    CHECK(g.op_histogram()[op_kind_v<ops::Div>] == 0);
    std::mt19937_64 rng(1);
    const Tensor in = Tensor::uniform({1, 3, 4, 4}, rng);
    CHECK(reference::run(before, {in})[0].f == reference::run(g, {in})[0].f);

    Graph h;
    Builder hb(h, 2);
    auto hx = hb.input("x", {1, 3, 8, 8});
    hb.output(hb.relu(hx));
    (void)rewrite::apply(h, rewrite::dictionary("t", {rewrite::parse_rule("Relu(x) => MaxPool[kernel_shape=(3,3), pads=(1,1,1,1)](x)")}));
    REQUIRE(h.op_histogram()[op_kind_v<ops::MaxPool>] == 1);
    for (NodeId n : h.topological_order())
        if (const auto* mp = h.node(n).as<ops::MaxPool>()) CHECK(mp->kernel_shape == Ints{3, 3});
}

TEST_CASE("text rule errors point at the column of either side") {
    CHECK(error_of("x * Sigmoid(x) => Relu(y)").find("'y' is not captured") != std::string::npos);
    CHECK(error_of("x * Sigmoid(x) => Relu(y)").find("column 24") != std::string::npos);
    CHECK(error_of("Relu(x) => Nope(x)").find("not in the op catalogue") != std::string::npos);
    CHECK(error_of("Relu(x) => Relu(x, x)").find("takes 1 operands") != std::string::npos);
    CHECK(error_of("Relu(x) => Clip[alpha=1](x)").find("has no attribute 'alpha'") != std::string::npos);
    CHECK(error_of("Relu(x) => MaxPool[kernel_shape='x'](x)").find("list of integers") != std::string::npos);
    CHECK(error_of("Relu(x) => ").find("empty") != std::string::npos);
    CHECK(error_of("Relu(x)").find("expected 'PATTERN => REPLACEMENT'") != std::string::npos);
    CHECK(error_of("Relu(x) => _").find("cannot be built") != std::string::npos);
    CHECK(error_of("HardSwish => Conv").find("needs more than one input") != std::string::npos);
    // Numbers that do not fit the type they become are refused, not wrapped or made infinite.
    CHECK(error_of("Relu(x) => x + 1e40").find("exceeds a float32") != std::string::npos);
    CHECK(error_of("Relu(x) => x + 1e40").find("column 16") != std::string::npos);
    CHECK(error_of("Relu(x) => x + 3e38").empty());
    CHECK(error_of("Relu(x) => Softmax[axis=1e30](x)").find("64-bit integer") != std::string::npos);
    CHECK(error_of("Relu(x) => Softmax[axis=1.5](x)").find("64-bit integer") != std::string::npos);
    CHECK(error_of("Relu(x) => LeakyRelu[alpha=1e39](x)").find("float32") != std::string::npos);
    CHECK(error_of("Relu(x) => MaxPool[kernel_shape=(1e30,3)](x)").find("64-bit integers") != std::string::npos);
    CHECK(error_of("Conv[kernel=(1e300)](x, w) => Relu(x)").find("64-bit integers") != std::string::npos);
    // Ops of another domain in a replacement; a domain is not taken for a capture.
    CHECK(error_of("Relu(x) => com.vendor::MyNpuOp(x)").empty());
    CHECK(error_of("com.vendor::MyNpuOp(x) => Relu(x)").empty());
}

TEST_CASE("integer attributes of a replacement take the whole int64 range, exactly") {
    // Shape clamps start and end to the rank, so both ends of the range give a valid node.
    Graph g;
    Builder b(g);
    auto x = b.input("x", {1, 3, 8, 8});
    b.output(b.apply(ops::ShapeOf{}, {x}));
    const auto report =
        rewrite::apply(g, rewrite::dictionary("t", {rewrite::parse_rule("Shape[start=0](x) => Shape[start=-9223372036854775808, end=9223372036854775807](x)")}));
    CHECK(report.rules[0].replaced == 1);
    for (NodeId n : g.topological_order()) {
        const auto* s = g.node(n).as<ops::ShapeOf>();
        REQUIRE(s);
        CHECK(s->start == std::numeric_limits<std::int64_t>::min());
        CHECK(s->end == std::numeric_limits<std::int64_t>::max());
    }
    CHECK(error_of("Relu(x) => MaxPool[kernel_shape=(9223372036854775807, -9223372036854775808)](x)").empty());
    CHECK(error_of("Relu(x) => Shape[end=9007199254740993](x)").empty());
    // One beyond either end is refused, as a 64-bit integer attribute and in a list.
    const std::string above = error_of("Relu(x) => Shape[end=9223372036854775808](x)");
    CHECK(above.find("attribute 'end' is a 64-bit integer") != std::string::npos);
    CHECK(above.find("column 18") != std::string::npos);
    const std::string below = error_of("Relu(x) => Shape[start=-9223372036854775809](x)");
    CHECK(below.find("attribute 'start' is a 64-bit integer") != std::string::npos);
    CHECK(below.find("column 18") != std::string::npos);
    CHECK(error_of("Relu(x) => MaxPool[kernel_shape=(1, -9223372036854775809)](x)").find("column 37") != std::string::npos);
    CHECK(error_of("Relu(x) => MaxPool[kernel_shape=9223372036854775808](x)").find("list of integers") != std::string::npos);
}

TEST_CASE("a rule from text keeps the op names its pattern compares by name") {
    CHECK(rewrite::parse_rule("Hardswish => Relu").op_names == std::vector<std::string>{"Hardswish"});
    CHECK(rewrite::parse_rule("Relu((com.vendor::Gate(x) | Frob(x))) => x").op_names == std::vector<std::string>{"com.vendor::Gate", "Frob"});
    CHECK(rewrite::parse_rule("HardSwish => Relu").op_names.empty());
    CHECK(rewrite::make_rule("c", P::runtime_chain("Conv,Frob"), rewrite::identity(), rewrite::exactness::approximate).op_names ==
          std::vector<std::string>{"Frob"});
}

TEST_CASE("typed contexts read matched nodes with their types") {
    using pat = P::chain<P::op<ops::Conv>, P::op<ops::BatchNormalization>>;
    std::int64_t seen_group = 0;
    float seen_eps = 0.0f;
    auto r = rewrite::make_rule("probe", pat{},
                                [&](rewrite::typed_context<pat>& c) -> std::vector<ValueId> {
                                    const ops::Conv& conv = c.op<0>();
                                    const ops::BatchNormalization& bn = c.op<1>();
                                    seen_group = conv.group;
                                    seen_eps = bn.epsilon;
                                    return {}; // decline: nothing changes
                                },
                                rewrite::exactness::exact);
    Graph g;
    Builder b(g, 4);
    auto x = b.input("x", {1, 4, 5, 5});
    b.output(b.batch_norm(b.conv(x, {.out_channels = 4, .kernel = 3, .depthwise = true}), 1e-3f));
    const auto rep = rewrite::apply(g, rewrite::dictionary("t", {r}));
    CHECK(rep.rules[0].matches == 1);
    CHECK(rep.rules[0].replaced == 0);
    CHECK(seen_group == 4);
    CHECK(seen_eps == doctest::Approx(1e-3f));
}

TEST_CASE("tensor algebra: broadcasting, scale_along, centre_crop, permute") {
    const Tensor a = Tensor::floats({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor row = Tensor::floats({3}, {10, 20, 30});
    CHECK((a + row).f == std::vector<float>{11, 22, 33, 14, 25, 36});
    CHECK((a * 2.0f).f == std::vector<float>{2, 4, 6, 8, 10, 12});
    CHECK(scale_along(a, Tensor::floats({2}, {1, -1}), 0).f == std::vector<float>{1, 2, 3, -4, -5, -6});
    CHECK_THROWS_AS((void)scale_along(a, Tensor::floats({3}, {1, 1, 1}), 0), surgery::error);
    CHECK_THROWS_AS((void)(a + Tensor::floats({2}, {1, 1})), surgery::error);
    Tensor k = Tensor::zeros({1, 1, 5, 5});
    for (std::int64_t i = 0; i < 25; ++i) k.f[static_cast<std::size_t>(i)] = static_cast<float>(i);
    const Tensor c = centre_crop(k, {3, 3});
    CHECK(c.shape == Shape{1, 1, 3, 3});
    CHECK(c.f == std::vector<float>{6, 7, 8, 11, 12, 13, 16, 17, 18});
    CHECK(permute(a, {1, 0}).f == std::vector<float>{1, 4, 2, 5, 3, 6});
    CHECK(dirac(2, 3).f[4] == 1.0f);
    CHECK(dirac(2, 3).f[13] == 1.0f);
}
