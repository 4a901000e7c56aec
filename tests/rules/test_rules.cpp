// Built-in rules: exact rules proven exact with the reference executor (hand-built and random graphs),
// approximate rules checked for structure and shapes.
#include <doctest/doctest.h>

#include <random>

#include "surgery/reference/equivalence.hpp"
#include "surgery/rewrite.hpp"
#include "surgery/rules.hpp"
#include "surgery/zoo/mobilenet_v3.hpp"

using namespace surgery;
using namespace surgery::ir;

namespace {
/// Applies `d` to a copy of `g`, checks every rule it used is exact, and returns the max relative deviation.
double exact_deviation(const Graph& g, const rewrite::dictionary& d, std::size_t min_replaced = 1) {
    Graph lite = g;
    const auto rep = rewrite::apply(lite, d);
    CHECK(rep.total_replaced() >= min_replaced);
    for (const auto& r : rep.rules)
        if (r.replaced) CHECK_MESSAGE(r.kind == rewrite::exactness::exact, r.name);
    const auto eq = reference::compare(g, lite, 11, 2);
    return eq.max_rel;
}
std::size_t count(const Graph& g, OpKind k) { return g.op_histogram()[k]; }

/// Focus as PyTorch exports it: two row slices shared by four column slices, then Concat.
ValueId focus(Builder& b, ValueId x) {
    constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
    auto rows0 = b.slice(x, {0}, {big}, {2}, {2});
    auto rows1 = b.slice(x, {1}, {big}, {2}, {2});
    return b.concat({b.slice(rows0, {0}, {big}, {3}, {2}), b.slice(rows1, {0}, {big}, {3}, {2}), b.slice(rows0, {1}, {big}, {3}, {2}),
                     b.slice(rows1, {1}, {big}, {3}, {2})},
                    1);
}
} // namespace

TEST_CASE("fold_batchnorm is exact, with and without conv bias, grouped and strided") {
    Graph g;
    Builder b(g, 21);
    auto x = b.input("x", {1, 8, 12, 12});
    auto y = b.batch_norm(b.conv(x, {.out_channels = 16, .kernel = 3, .stride = 2, .bias = false}));
    y = b.batch_norm(b.conv(b.relu(y), {.kernel = 3, .depthwise = true}), 1e-3f);
    y = b.batch_norm(b.conv(y, {.out_channels = 8, .kernel = 1, .groups = 2}));
    b.output(y);
    Graph lite = g;
    const auto rep = rewrite::apply(lite, rules::exact_cleanup());
    CHECK(rep.rules.back().name == "fold_batchnorm");
    CHECK(rep.rules.back().replaced == 3);
    CHECK(count(lite, op_kind_v<ops::BatchNormalization>) == 0);
    CHECK(reference::compare(g, lite, 3, 2).max_rel < 1e-5);
}

TEST_CASE("a BatchNormalization whose conv output is also read elsewhere is not folded") {
    Graph g;
    Builder b(g, 2);
    auto x = b.input("x", {1, 4, 6, 6});
    auto c = b.conv(x, {.out_channels = 4});
    b.output(b.add(b.batch_norm(c), c));
    Graph lite = g;
    CHECK(rewrite::apply(lite, rules::exact_cleanup()).total_replaced() == 0);
}

TEST_CASE("Focus -> space-to-depth Conv is exact") {
    Graph g;
    Builder b(g, 4);
    auto x = b.input("x", {1, 3, 16, 16});
    auto f = focus(b, x);
    b.output(b.relu(b.conv(f, {.out_channels = 8})));
    Graph lite = g;
    const auto rep = rewrite::apply(lite, rewrite::dictionary("f", {rules::focus_to_conv()}));
    CHECK(rep.rules[0].replaced == 1);
    CHECK(count(lite, op_kind_v<ops::Slice>) == 0);
    CHECK(count(lite, op_kind_v<ops::Concat>) == 0);
    CHECK(reference::compare(g, lite, 5).max_rel < 1e-6);
}

TEST_CASE("Focus with an odd layout (step 3) is declined, not broken") {
    Graph g;
    Builder b(g, 4);
    auto x = b.input("x", {1, 3, 12, 12});
    constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
    auto r0 = b.slice(x, {0}, {big}, {2}, {3});
    auto r1 = b.slice(x, {1}, {big}, {2}, {3});
    b.output(b.concat({b.slice(r0, {0}, {big}, {3}, {3}), b.slice(r1, {0}, {big}, {3}, {3}), b.slice(r0, {1}, {big}, {3}, {3}),
                       b.slice(r1, {1}, {big}, {3}, {3})},
                      1));
    Graph lite = g;
    const auto rep = rewrite::apply(lite, rewrite::dictionary("f", {rules::focus_to_conv()}));
    CHECK(rep.rules[0].matches >= 1);
    CHECK(rep.rules[0].replaced == 0);
    CHECK(lite.num_nodes() == g.num_nodes());
}

TEST_CASE("SPP max-pools 5/9/13 become exact 3x3 stacks; transposes merge exactly") {
    Graph g;
    Builder b(g, 6);
    auto x = b.input("x", {1, 4, 10, 10});
    auto spp = b.concat({x, b.max_pool(x, 5, 1, 2), b.max_pool(x, 9, 1, 4), b.max_pool(x, 13, 1, 6)}, 1);
    auto t = b.transpose(b.transpose(spp, {0, 2, 3, 1}), {0, 3, 1, 2}); // cancels
    auto u = b.transpose(b.transpose(t, {0, 2, 3, 1}), {0, 1, 3, 2});   // merges into one
    b.output(b.relu(u));
    Graph lite = g;
    const auto rep = rewrite::apply(lite, rules::exact_cleanup());
    CHECK(count(lite, op_kind_v<ops::MaxPool>) == 2 + 4 + 6);
    CHECK(count(lite, op_kind_v<ops::Transpose>) == 1);
    for (const auto& r : rep.rules)
        if (r.replaced) CHECK(r.kind == rewrite::exactness::exact);
    CHECK(reference::compare(g, lite, 8).max_rel == 0.0); // max and copies: bit-exact
}

TEST_CASE("exact rules are exact on random graphs") {
    std::mt19937 rng(777);
    for (int trial = 0; trial < 25; ++trial) {
        Graph g;
        Builder b(g, rng());
        const std::int64_t c0 = 2 + static_cast<std::int64_t>(rng() % 6);
        ValueId v = b.input("x", {1, c0, 9 + static_cast<std::int64_t>(rng() % 6), 9 + static_cast<std::int64_t>(rng() % 6)});
        for (int layer = 0; layer < 6; ++layer) {
            switch (rng() % 6) {
            case 0: v = b.batch_norm(b.conv(v, {.out_channels = 2 + static_cast<std::int64_t>(rng() % 8), .kernel = 1 + 2 * static_cast<std::int64_t>(rng() % 2), .bias = rng() % 2 == 0})); break;
            case 1: v = b.batch_norm(b.conv(v, {.kernel = 3, .depthwise = true})); break;
            case 2: v = b.identity(b.relu(v)); break;
            case 3: v = b.apply(ops::Dropout{}, {v}); break;
            case 4: v = b.max_pool(v, 5 + 2 * static_cast<std::int64_t>(rng() % 2), 1, 2 + static_cast<std::int64_t>(rng() % 2)); break;
            default: v = b.transpose(b.transpose(v, {0, 2, 3, 1}), {0, 3, 1, 2}); break;
            }
        }
        b.output(b.sigmoid(v));
        CHECK(exact_deviation(g, rules::exact_cleanup(), 0) < 1e-5);
    }
}

TEST_CASE("activations to ReLU: ReLU6, GELU (erf form and op), SiLU, HardSwish") {
    Graph g;
    Builder b(g, 9);
    auto x = b.input("x", {1, 4, 5, 5});
    auto a = b.relu6(x);
    // GELU as exported: (x * (erf(x / sqrt2) + 1)) * 0.5
    auto e = b.apply(ops::Erf{}, {b.apply(ops::Div{}, {a, b.scalar(1.4142135f)})});
    auto gl = b.mul(b.mul(a, b.add(e, b.scalar(1.0f))), b.scalar(0.5f));
    auto s = b.silu(gl);
    auto h = b.hardswish(s);
    b.output(b.apply(ops::Gelu{}, {h}));
    Graph lite = g;
    const auto rep = rewrite::apply(lite, rules::lite());
    CHECK(lite.num_nodes() == 5);
    CHECK(count(lite, op_kind_v<ops::Relu>) == 5);
    CHECK(*lite.value(lite.outputs()[0]).shape == Shape{1, 4, 5, 5});
    CHECK(rep.converged);
}

TEST_CASE("ConvNeXt-style block: 7x7 depthwise -> 3x3 stack, LayerNorm -> BatchNorm (folded), GELU -> ReLU") {
    Graph g;
    Builder b(g, 13);
    auto x = b.input("x", {1, 8, 14, 14});
    auto d = b.conv(x, {.kernel = 7, .depthwise = true});
    auto t = b.transpose(d, {0, 2, 3, 1});
    auto ln = b.layer_norm(t);
    // Linear as MatMul + Add, GELU, Linear
    auto w1 = b.constant(Tensor::uniform({8, 32}, b.rng(), -0.3f, 0.3f));
    auto h = b.apply(ops::MatMul{}, {ln, w1});
    auto e = b.apply(ops::Erf{}, {b.apply(ops::Div{}, {h, b.scalar(1.4142135f)})});
    h = b.mul(b.mul(h, b.add(e, b.scalar(1.0f))), b.scalar(0.5f));
    auto w2 = b.constant(Tensor::uniform({32, 8}, b.rng(), -0.3f, 0.3f));
    auto back = b.transpose(b.apply(ops::MatMul{}, {h, w2}), {0, 3, 1, 2});
    // LayerNorm2d in a downsampling layer
    auto ln2 = b.transpose(b.layer_norm(b.transpose(b.add(back, x), {0, 2, 3, 1})), {0, 3, 1, 2});
    b.output(ln2);
    Graph lite = g;
    const auto rep = rewrite::apply(lite, rules::lite());
    CHECK(rep.converged);
    CHECK(count(lite, op_kind_v<ops::LayerNormalization>) == 0);
    CHECK(count(lite, op_kind_v<ops::Erf>) == 0);
    CHECK(count(lite, op_kind_v<ops::BatchNormalization>) == 1); // the block's BN folded into the last 3x3 conv
    CHECK(count(lite, op_kind_v<ops::Conv>) == 3);               // 7x7 -> three 3x3
    for (NodeId n : lite.topological_order())
        if (auto* c = lite.node(n).as<ops::Conv>()) CHECK(c->kernel_shape == Ints{3, 3});
    CHECK(*lite.value(lite.outputs()[0]).shape == Shape{1, 8, 14, 14});
    const auto eq = reference::compare(g, lite, 1);
    CHECK(std::isfinite(eq.max_abs)); // approximate: runs and stays finite
}

TEST_CASE("the lite dictionary on MobileNetV3-Large keeps the output shape and removes every unsupported op") {
    Graph g = zoo::mobilenet_v3_large();
    Graph lite = g;
    const auto rep = rewrite::apply(lite, rules::lite());
    CHECK(rep.converged);
    CHECK(count(lite, op_kind_v<ops::HardSwish>) == 0);
    CHECK(count(lite, op_kind_v<ops::BatchNormalization>) == 0);
    CHECK(count(lite, op_kind_v<ops::Dropout>) == 0);
    CHECK(count(lite, op_kind_v<ops::Mul>) == 0);
    // 5x5 depthwise convs became 3x3 stacks.
    for (NodeId n : lite.topological_order())
        if (auto* c = lite.node(n).as<ops::Conv>()) CHECK(c->kernel_shape[0] <= 3);
    const auto eq = reference::compare(g, lite, 1);
    CHECK(eq.outputs.size() == 1);
}
