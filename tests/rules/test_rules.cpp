// Built-in rules on small built graphs: exact rules proven exact with the reference executor,
// approximate rules shown to remove what they target and to compute the expected lite function
// (the same network built with the replacement, same weights). Every form of the pattern library
// is exercised; constants that differ from the form's are refused.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include "surgery/reference/equivalence.hpp"
#include "surgery/reference/executor.hpp"
#include "surgery/rewrite.hpp"
#include "surgery/rules.hpp"
#include "surgery/zoo/mobilenet_v3.hpp"

using namespace surgery;
using namespace surgery::ir;

namespace {

template <class Op>
std::size_t count(const Graph& g) {
    return g.op_histogram()[op_kind_v<Op>];
}

/// A dictionary of the named built-in rules (in registry order).
rewrite::dictionary rules_named(std::initializer_list<std::string_view> names, const rules::options& o = {}) {
    rewrite::dictionary d("test", {});
    for (const auto& e : rules::registry())
        for (auto n : names)
            if (e.name == n) d.add(e.make(o).rule);
    REQUIRE(d.size() == names.size());
    return d;
}

struct applied {
    Graph g;
    rewrite::report rep;
    std::size_t replaced(std::string_view rule) const {
        for (const auto& r : rep.rules)
            if (r.name == rule) return r.replaced;
        return 0;
    }
    std::size_t matches(std::string_view rule) const {
        for (const auto& r : rep.rules)
            if (r.name == rule) return r.matches;
        return 0;
    }
};

applied run_rules(const Graph& g, const rewrite::dictionary& d) {
    applied a{g, {}};
    a.rep = rewrite::apply(a.g, d);
    CHECK(a.rep.converged);
    return a;
}
applied run_rules(const Graph& g, std::string_view rule, const rules::options& o = {}) {
    return run_rules(g, rewrite::dictionary("one", {rules::make_rule(rule, o)}));
}

double deviation(const Graph& a, const Graph& b, int trials = 2) { return reference::compare(a, b, 11, trials).max_rel; }

/// Focus as PyTorch exports it: two row slices shared by four column slices, then Concat.
ValueId focus(Builder& b, ValueId x, std::int64_t step = 2) {
    constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
    auto rows0 = b.slice(x, {0}, {big}, {2}, {step});
    auto rows1 = b.slice(x, {1}, {big}, {2}, {step});
    return b.concat({b.slice(rows0, {0}, {big}, {3}, {step}), b.slice(rows1, {0}, {big}, {3}, {step}), b.slice(rows0, {1}, {big}, {3}, {step}),
                     b.slice(rows1, {1}, {big}, {3}, {step})},
                    1);
}

} // namespace

// ---- exact rules ---------------------------------------------------------------------------------

TEST_CASE("fold_batchnorm: Conv (bias or not, grouped, strided, depthwise) + BN is exact") {
    Graph g;
    Builder b(g, 21);
    auto x = b.input("x", {1, 8, 12, 12});
    auto y = b.batch_norm(b.conv(x, {.out_channels = 16, .kernel = 3, .stride = 2, .bias = false}));
    y = b.batch_norm(b.conv(b.relu(y), {.kernel = 3, .depthwise = true}), 1e-3f);
    y = b.batch_norm(b.conv(y, {.out_channels = 8, .kernel = 1, .groups = 2}));
    b.output(y);
    const auto a = run_rules(g, "fold_batchnorm");
    CHECK(a.replaced("fold_batchnorm") == 3);
    CHECK(count<ops::BatchNormalization>(a.g) == 0);
    CHECK(deviation(g, a.g) < 1e-5);
}

TEST_CASE("fold_batchnorm: ConvTranspose (groups 1 and 2), Gemm (transB 0/1, alpha, beta, no C), MatMul either side") {
    Graph g;
    Builder b(g, 5);
    auto x = b.input("x", {1, 4, 5, 5});
    ops::ConvTranspose ct;
    ct.strides = {2, 2};
    ct.pads = {1, 1, 1, 1};
    ct.group = 2;
    auto y = b.batch_norm(b.apply(ct, {x, b.constant(Tensor::uniform({4, 3, 3, 3}, b.rng(), -0.5f, 0.5f)), b.constant(Tensor::uniform({6}, b.rng()))}));
    ops::ConvTranspose ct1;
    y = b.batch_norm(b.apply(ct1, {y, b.constant(Tensor::uniform({6, 4, 2, 2}, b.rng(), -0.5f, 0.5f))}));
    b.output(y);

    auto v = b.input("v", {3, 6});
    ops::Gemm g0;
    g0.alpha = 0.5f;
    g0.beta = 2.0f;
    auto z = b.batch_norm(b.apply(g0, {v, b.constant(Tensor::uniform({6, 5}, b.rng())), b.constant(Tensor::uniform({5}, b.rng()))}));
    z = b.batch_norm(b.linear(z, 7));
    ops::Gemm g2;
    g2.transB = 1;
    z = b.batch_norm(b.apply(g2, {z, b.constant(Tensor::uniform({4, 7}, b.rng()))}));
    z = b.batch_norm(b.apply(ops::MatMul{}, {z, b.constant(Tensor::uniform({4, 6}, b.rng()))}));
    b.output(z);

    auto u = b.input("u", {2, 5, 7});
    b.output(b.batch_norm(b.apply(ops::MatMul{}, {b.constant(Tensor::uniform({3, 5}, b.rng())), u})));

    const auto a = run_rules(g, "fold_batchnorm");
    CHECK(a.replaced("fold_batchnorm") == 7);
    CHECK(count<ops::BatchNormalization>(a.g) == 0);
    CHECK(deviation(g, a.g) < 1e-5);
}

TEST_CASE("fold_batchnorm leaves training-mode BatchNorm, BN on a shared conv output and MatMul on [B, T, C] alone") {
    Graph g;
    Builder b(g, 2);
    auto x = b.input("x", {1, 4, 6, 6});
    auto c = b.conv(x, {.out_channels = 4});
    b.output(b.add(b.batch_norm(c), c)); // the conv output is read twice
    ops::BatchNormalization train;
    train.training_mode = 1;
    auto c2 = b.conv(x, {.out_channels = 4});
    b.output(b.apply(train, {c2, b.constant(filled(4, 1.0f)), b.constant(filled(4, 0.0f)), b.constant(filled(4, 0.0f)), b.constant(filled(4, 1.0f))}));
    auto t = b.input("t", {2, 3, 5});
    b.output(b.batch_norm(b.apply(ops::MatMul{}, {t, b.constant(Tensor::uniform({5, 3}, b.rng()))}))); // BN over T, not the MatMul's columns
    const auto a = run_rules(g, "fold_batchnorm");
    CHECK(a.replaced("fold_batchnorm") == 0);
    CHECK(a.matches("fold_batchnorm") == 2); // training mode and [B, T, C] found, both declined
    CHECK(count<ops::BatchNormalization>(a.g) == 3);
}

TEST_CASE("fold_affine_into_conv: per-channel Mul, Div, Add, Sub after Conv and ConvTranspose are exact; other constants stay") {
    Graph g;
    Builder b(g, 8);
    auto x = b.input("x", {1, 3, 8, 8});
    auto y = b.mul(b.conv(x, {.out_channels = 6}), b.constant(Tensor::uniform({6, 1, 1}, b.rng(), 0.5f, 2.0f)));
    y = b.apply(ops::Div{}, {b.conv(y, {.out_channels = 6, .bias = false}), b.scalar(3.0f)});
    y = b.add(b.constant(Tensor::uniform({1, 6, 1, 1}, b.rng())), b.conv(y, {.kernel = 3, .depthwise = true}));
    y = b.apply(ops::Sub{}, {b.conv(y, {.out_channels = 4}), b.constant(Tensor::uniform({4, 1, 1}, b.rng()))});
    ops::ConvTranspose ct;
    y = b.mul(b.apply(ct, {y, b.constant(Tensor::uniform({4, 2, 2, 2}, b.rng()))}), b.constant(Tensor::uniform({2, 1, 1}, b.rng())));
    auto keep = b.mul(b.conv(y, {.out_channels = 2}), b.constant(Tensor::uniform({1, 1, 9, 9}, b.rng()))); // varies over H, W: not a channel scale
    b.output(keep);
    const auto a = run_rules(g, "fold_affine_into_conv");
    CHECK(a.replaced("fold_affine_into_conv") == 5);
    CHECK(count<ops::Mul>(a.g) == 1);
    CHECK(count<ops::Div>(a.g) + count<ops::Add>(a.g) + count<ops::Sub>(a.g) == 0);
    CHECK(deviation(g, a.g) < 1e-5);
}

TEST_CASE("remove_identity and remove_noop_reshape: a graph output keeps its name, the producer takes it") {
    Graph g;
    Builder b(g, 3);
    auto x = b.input("x", {1, 3, 8, 8});
    auto c = b.conv(x, {.out_channels = 4});
    auto out = b.identity(b.identity(b.relu(c)));
    g.set_value_name(out, "logits");
    b.output(out);
    auto r = b.apply(ops::Reshape{}, {b.sigmoid(c), b.ints({1, 4, 8, 8})});
    g.set_value_name(r, "probs");
    b.output(r);
    auto passthrough = b.identity(x); // a graph input straight to an output: the Identity must stay
    g.set_value_name(passthrough, "echo");
    b.output(passthrough);

    const auto a = run_rules(g, rules::exact_cleanup());
    CHECK(count<ops::Identity>(a.g) == 1);
    CHECK(count<ops::Reshape>(a.g) == 0);
    REQUIRE(a.g.outputs().size() == 3);
    CHECK(a.g.value(a.g.outputs()[0]).name == "logits");
    CHECK(a.g.value(a.g.outputs()[1]).name == "probs");
    CHECK(a.g.value(a.g.outputs()[2]).name == "echo");
    CHECK(a.g.node(a.g.producer(a.g.outputs()[0])).is<ops::Relu>());
    CHECK(a.g.node(a.g.producer(a.g.outputs()[1])).is<ops::Sigmoid>());
    CHECK(a.g.inputs().size() == 1);
    CHECK(deviation(g, a.g) == 0.0);
}

TEST_CASE("remove_dropout: inference Dropout and ratio-0 training Dropout go; training Dropout with p > 0 and a read mask stay") {
    Graph g;
    Builder b(g, 4);
    auto x = b.input("x", {1, 4, 6, 6});
    auto y = b.apply(ops::Dropout{}, {b.relu(x)});                                                          // inference (no training_mode)
    y = b.apply(ops::Dropout{}, {y, b.scalar(0.5f), b.constant(Tensor::ints({}, {0}, DType::boolean))}); // training_mode false
    y = b.apply(ops::Dropout{}, {b.sigmoid(y), b.scalar(0.0f), b.constant(Tensor::ints({}, {1}, DType::boolean))}); // p = 0, training
    auto kept = b.apply(ops::Dropout{}, {y, b.scalar(0.3f), b.constant(Tensor::ints({}, {1}, DType::boolean))});    // training, p = 0.3
    const auto masked = b.apply_n(ops::Dropout{}, {y}, 2);                                                    // the mask is read
    b.output(kept);
    b.output(masked[1]);
    b.output(masked[0]);
    const auto a = run_rules(g, "remove_dropout");
    CHECK(a.replaced("remove_dropout") == 3);
    CHECK(count<ops::Dropout>(a.g) == 2);
    CHECK(a.g.value(a.g.outputs()[0]).name == g.value(g.outputs()[0]).name);
}

TEST_CASE("remove_neutral_arithmetic: an epsilon is not a zero (LayerNorm's var + 1e-6 stays), nor is 1 - 1e-7 a one") {
    Graph g;
    Builder b(g, 9);
    auto x = b.input("x", {1, 8});
    b.output(b.add(x, b.scalar(1e-6f)));
    b.output(b.mul(x, b.scalar(1.0f - 1e-7f)));
    const auto a = run_rules(g, rules::exact_cleanup());
    CHECK(count<ops::Add>(a.g) == 1);
    CHECK(count<ops::Mul>(a.g) == 1);
    CHECK(a.replaced("remove_neutral_arithmetic") == 0);
}

TEST_CASE("no-op Transpose, Reshape, Cast, Pad and neutral arithmetic are removed exactly; real ones stay") {
    Graph g;
    Builder b(g, 9);
    auto x = b.input("x", {1, 4, 5, 6});
    auto y = b.transpose(b.relu(x), {0, 1, 2, 3});
    y = b.apply(ops::Unsqueeze{}, {b.apply(ops::Squeeze{}, {y, b.ints({0})}), b.ints({0})}); // a round trip: merged, then gone
    ops::Cast to_float;
    to_float.to = onnx_type_number(DType::f32);
    y = b.apply(to_float, {y});
    y = b.apply(ops::Pad{}, {y, b.ints({0, 0, 0, 0, 0, 0, 0, 0})});
    y = b.mul(b.scalar(1.0f), b.add(y, b.constant(Tensor::zeros({1, 4, 1, 1}))));
    y = b.apply(ops::Sub{}, {b.apply(ops::Div{}, {y, b.scalar(1.0f)}), b.scalar(0.0f)});
    auto real = b.transpose(b.apply(ops::Pad{}, {y, b.ints({0, 0, 1, 0, 0, 0, 0, 1})}), {0, 1, 3, 2});
    b.output(b.add(real, b.constant(Tensor::zeros({1, 4, 7, 6})))); // broadcasts nothing away but... shapes equal: removed
    b.output(b.mul(y, b.constant(filled(1, 1.0f))));
    b.output(b.add(b.input("s", {1}), b.constant(Tensor::zeros({2, 3})))); // broadcasts s to [2, 3]: stays
    const auto a = run_rules(g, rules::exact_cleanup());
    CHECK(a.replaced("remove_noop_transpose") == 1);
    CHECK(a.replaced("remove_noop_cast") == 1);
    CHECK(a.replaced("remove_noop_pad") == 1);
    CHECK(a.replaced("remove_neutral_arithmetic") == 6);
    CHECK(count<ops::Pad>(a.g) == 1);
    CHECK(count<ops::Transpose>(a.g) == 1);
    CHECK(count<ops::Squeeze>(a.g) + count<ops::Unsqueeze>(a.g) + count<ops::Reshape>(a.g) + count<ops::Cast>(a.g) == 0);
    CHECK(count<ops::Add>(a.g) == 1);
    CHECK(deviation(g, a.g) == 0.0);
}

TEST_CASE("merge_transposes and merge_reshapes are exact") {
    Graph g;
    Builder b(g, 6);
    auto x = b.input("x", {1, 4, 10, 10});
    auto t = b.transpose(b.transpose(b.relu(x), {0, 2, 3, 1}), {0, 3, 1, 2}); // cancels
    auto u = b.transpose(b.transpose(t, {0, 2, 3, 1}), {0, 1, 3, 2});         // merges into one
    auto f = b.apply(ops::Reshape{}, {b.flatten(b.sigmoid(u)), b.ints({1, 40, 10})});
    b.output(f);
    const auto a = run_rules(g, rules::exact_cleanup());
    CHECK(count<ops::Transpose>(a.g) == 1);
    CHECK(count<ops::Reshape>(a.g) == 1);
    CHECK(count<ops::Flatten>(a.g) == 0);
    CHECK(deviation(g, a.g) == 0.0);
}

TEST_CASE("maxpool_to_3x3_stack: SPP pools 5/9/13 become exact 3x3 stacks; a strided pool stays") {
    Graph g;
    Builder b(g, 6);
    auto x = b.input("x", {1, 4, 10, 10});
    b.output(b.concat({x, b.max_pool(x, 5, 1, 2), b.max_pool(x, 9, 1, 4), b.max_pool(x, 13, 1, 6)}, 1));
    b.output(b.max_pool(x, 5, 2, 2));
    const auto a = run_rules(g, "maxpool_to_3x3_stack");
    CHECK(a.replaced("maxpool_to_3x3_stack") == 3);
    CHECK(count<ops::MaxPool>(a.g) == 2 + 4 + 6 + 1);
    CHECK(deviation(g, a.g) == 0.0); // max and copies: bit-exact
}

TEST_CASE("focus_to_conv: PyTorch's shared row slices, eight slices, one two-axis slice per part; other layouts declined") {
    constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
    Graph g;
    Builder b(g, 4);
    auto x = b.input("x", {1, 3, 16, 16});
    b.output(b.relu(b.conv(focus(b, x), {.out_channels = 8})));
    // Eight slices (no sharing), parts in another order.
    auto part = [&](std::int64_t r, std::int64_t c) { return b.slice(b.slice(x, {c}, {big}, {3}, {2}), {r}, {big}, {2}, {2}); };
    b.output(b.concat({part(1, 1), part(0, 0), part(0, 1), part(1, 0)}, 1));
    // One Slice over both axes per part.
    auto both = [&](std::int64_t r, std::int64_t c) { return b.slice(x, {r, c}, {big, big}, {2, 3}, {2, 2}); };
    b.output(b.concat({both(0, 0), both(1, 0), both(0, 1), both(1, 1)}, 1));
    // Step 3 and a repeated cell: not a Focus.
    b.output(focus(b, b.input("y", {1, 2, 12, 12}), 3));
    b.output(b.concat({both(0, 0), both(0, 0), both(0, 1), both(1, 1)}, 1));
    const auto a = run_rules(g, "focus_to_conv");
    CHECK(a.replaced("focus_to_conv") == 3);
    CHECK(a.matches("focus_to_conv") == 5);
    CHECK(count<ops::Conv>(a.g) == 4);
    CHECK(deviation(g, a.g) < 1e-6);
}

TEST_CASE("fold_constants and remove_dead_code: constant subgraphs become constants, dead nodes go even when nothing else fires") {
    Graph g;
    Builder b(g, 1);
    auto x = b.input("x", {2, 3, 4});
    auto shape = b.apply(ops::ShapeOf{}, {x});                                   // static: folds
    auto flat = b.apply(ops::Reshape{}, {x, b.apply(ops::Concat{.axis = 0}, {b.apply(ops::Slice{}, {shape, b.ints({0}), b.ints({1}), b.ints({0})}), b.ints({-1})})});
    auto k = b.add(b.scalar(2.0f), b.mul(b.scalar(3.0f), b.scalar(4.0f)));      // 14
    b.output(b.mul(b.relu(flat), k));
    (void)b.sigmoid(b.relu(x)); // dead
    const auto a = run_rules(g, rules_named({"fold_constants", "remove_dead_code"}));
    CHECK(a.replaced("fold_constants") >= 5);
    CHECK(a.replaced("remove_dead_code") == 1);
    CHECK(count<ops::ShapeOf>(a.g) + count<ops::Concat>(a.g) + count<ops::Add>(a.g) + count<ops::Sigmoid>(a.g) == 0);
    CHECK(a.g.num_nodes() == 3); // Reshape, Relu, Mul
    CHECK(deviation(g, a.g) == 0.0);

    Graph only_dead;
    Builder d(only_dead, 1);
    auto in = d.input("x", {4});
    d.output(d.relu(in));
    (void)d.sigmoid(in);
    const auto e = run_rules(only_dead, rules::exact_cleanup());
    CHECK(e.g.num_nodes() == 1);
}

TEST_CASE("exact preset is exact on random graphs") {
    std::mt19937 rng(777);
    for (int trial = 0; trial < 20; ++trial) {
        CAPTURE(trial);
        Graph g;
        Builder b(g, rng());
        const std::int64_t c0 = 2 + static_cast<std::int64_t>(rng() % 6);
        ValueId v = b.input("x", {1, c0, 9 + static_cast<std::int64_t>(rng() % 6), 9 + static_cast<std::int64_t>(rng() % 6)});
        for (int layer = 0; layer < 6; ++layer) {
            switch (rng() % 8) {
            case 0: v = b.batch_norm(b.conv(v, {.out_channels = 2 + static_cast<std::int64_t>(rng() % 8), .kernel = 1 + 2 * static_cast<std::int64_t>(rng() % 2), .bias = rng() % 2 == 0})); break;
            case 1: v = b.batch_norm(b.conv(v, {.kernel = 3, .depthwise = true})); break;
            case 2: v = b.identity(b.relu(v)); break;
            case 3: v = b.apply(ops::Dropout{}, {v}); break;
            case 4: v = b.max_pool(v, 5 + 2 * static_cast<std::int64_t>(rng() % 2), 1, 2 + static_cast<std::int64_t>(rng() % 2)); break;
            case 5: v = b.mul(b.conv(v, {.out_channels = 3}), b.constant(Tensor::uniform({3, 1, 1}, b.rng()))); break;
            case 6: v = b.add(v, b.mul(b.scalar(0.5f), b.scalar(2.0f))); break;
            default: v = b.transpose(b.transpose(v, {0, 2, 3, 1}), {0, 3, 1, 2}); break;
            }
        }
        b.output(b.sigmoid(v));
        const auto a = run_rules(g, rules::exact_cleanup());
        for (const auto& r : a.rep.rules) CHECK(r.kind == rewrite::exactness::exact);
        CHECK(deviation(g, a.g) < 1e-5);
    }
}

// ---- approximate rules -----------------------------------------------------------------------------

namespace {
using act_fn = std::function<ValueId(Builder&, ValueId)>;

/// conv -> act -> conv twice (x feeds both branches), and the same network with ReLU: `rule`
/// must replace every occurrence and leave the ReLU network, with the same weights.
void check_to_relu(std::string_view rule, const act_fn& act, std::size_t occurrences = 2) {
    auto build = [&](const act_fn& f) {
        Graph g;
        Builder b(g, 42);
        auto x = b.input("x", {1, 3, 7, 7});
        auto h = f(b, b.conv(x, {.out_channels = 6}));
        auto y = b.conv(h, {.out_channels = 4, .kernel = 1});
        auto z = b.conv(f(b, b.conv(x, {.out_channels = 5})), {.out_channels = 4, .kernel = 1});
        b.output(b.add(y, z));
        return g;
    };
    const Graph g = build(act);
    const Graph want = build([](Builder& b, ValueId v) { return b.relu(v); });
    const auto a = run_rules(g, rule);
    CHECK(a.replaced(rule) == occurrences);
    auto hist = a.g.op_histogram();
    hist[op_kind_v<ops::Conv>] = hist[op_kind_v<ops::Relu>] = hist[op_kind_v<ops::Add>] = 0;
    for (std::size_t k = 0; k < op_count; ++k) CHECK_MESSAGE(hist[k] == 0, op_names[k] << " left by " << rule);
    CHECK(a.g.num_nodes() == want.num_nodes());
    CHECK(deviation(want, a.g) < 1e-6);
}

ValueId op1(Builder& b, Op op, ValueId x) { return b.apply(std::move(op), {x}); }
ValueId div(Builder& b, ValueId x, ValueId y) { return b.apply(ops::Div{}, {x, y}); }
ValueId clip(Builder& b, ValueId x, std::optional<float> lo, float hi) {
    return b.apply(ops::Clip{}, {x, lo ? b.scalar(*lo) : ValueId{}, b.scalar(hi)});
}
ValueId erf_gelu_inner(Builder& b, ValueId x, bool by_mul) {
    return op1(b, ops::Erf{}, by_mul ? b.mul(x, b.scalar(0.70710678f)) : div(b, x, b.scalar(1.41421356f)));
}
ValueId tanh_inner(Builder& b, ValueId x, bool pow) {
    auto cube = pow ? b.apply(ops::Pow{}, {x, b.scalar(3.0f)}) : b.mul(x, b.mul(x, x));
    return op1(b, ops::Tanh{}, b.mul(b.scalar(0.7978845834732056f), b.add(x, b.mul(b.scalar(0.044715f), cube))));
}
} // namespace

TEST_CASE("gelu_to_relu: the op, erf and tanh forms in every association") {
    check_to_relu("gelu_to_relu", [](Builder& b, ValueId x) { return op1(b, ops::Gelu{}, x); });
    check_to_relu("gelu_to_relu", [](Builder& b, ValueId x) { return op1(b, ops::Gelu{.approximate = "tanh"}, x); });
    check_to_relu("gelu_to_relu", [](Builder& b, ValueId x) { return b.mul(b.mul(x, b.add(erf_gelu_inner(b, x, false), b.scalar(1.0f))), b.scalar(0.5f)); });
    check_to_relu("gelu_to_relu", [](Builder& b, ValueId x) { return b.mul(b.mul(b.scalar(0.5f), x), b.add(b.scalar(1.0f), erf_gelu_inner(b, x, true))); });
    check_to_relu("gelu_to_relu", [](Builder& b, ValueId x) { return b.mul(x, b.mul(b.add(erf_gelu_inner(b, x, false), b.scalar(1.0f)), b.scalar(0.5f))); });
    check_to_relu("gelu_to_relu", [](Builder& b, ValueId x) { return b.mul(b.scalar(0.5f), b.mul(x, b.add(b.scalar(1.0f), tanh_inner(b, x, false)))); });
    check_to_relu("gelu_to_relu", [](Builder& b, ValueId x) { return b.mul(b.mul(x, b.scalar(0.5f)), b.add(tanh_inner(b, x, true), b.scalar(1.0f))); });
    check_to_relu("gelu_to_relu", [](Builder& b, ValueId x) { return b.mul(x, b.mul(b.scalar(0.5f), b.add(tanh_inner(b, x, true), b.scalar(1.0f)))); });
}

TEST_CASE("gelu_to_relu checks its constants: 0.5, 1 and 1/sqrt(2) (or sqrt 2 as divisor)") {
    auto refused = [](const act_fn& f) {
        Graph g;
        Builder b(g, 1);
        auto x = b.input("x", {1, 4});
        b.output(f(b, b.relu(x)));
        const auto a = run_rules(g, "gelu_to_relu");
        CHECK(a.matches("gelu_to_relu") == 0);
    };
    refused([](Builder& b, ValueId x) { return b.mul(b.mul(x, b.add(op1(b, ops::Erf{}, div(b, x, b.scalar(2.0f))), b.scalar(1.0f))), b.scalar(0.5f)); });
    refused([](Builder& b, ValueId x) { return b.mul(b.mul(x, b.add(erf_gelu_inner(b, x, false), b.scalar(1.0f))), b.scalar(0.6f)); });
    refused([](Builder& b, ValueId x) { return b.mul(b.mul(x, b.add(erf_gelu_inner(b, x, false), b.scalar(2.0f))), b.scalar(0.5f)); });
    refused([](Builder& b, ValueId x) { return b.mul(b.mul(x, b.add(erf_gelu_inner(b, x, false), b.input("one", {1}))), b.scalar(0.5f)); });
    refused([](Builder& b, ValueId x) { return b.mul(b.scalar(0.5f), b.mul(x, b.add(b.scalar(1.0f), op1(b, ops::Tanh{}, b.mul(b.scalar(0.8f), x))))); });
}

TEST_CASE("hardswish_to_relu and hardsigmoid_to_relu: the ops, x * HardSigmoid(x), and relu6(x + 3) / 6 written out") {
    check_to_relu("hardswish_to_relu", [](Builder& b, ValueId x) { return b.hardswish(x); });
    check_to_relu("hardswish_to_relu", [](Builder& b, ValueId x) { return b.mul(x, b.hardsigmoid(x)); });
    check_to_relu("hardswish_to_relu", [](Builder& b, ValueId x) { return div(b, b.mul(x, clip(b, b.add(x, b.scalar(3.0f)), 0.0f, 6.0f)), b.scalar(6.0f)); });
    check_to_relu("hardswish_to_relu",
                  [](Builder& b, ValueId x) { return div(b, b.mul(x, clip(b, b.relu(b.add(x, b.scalar(3.0f))), std::nullopt, 6.0f)), b.scalar(6.0f)); });
    check_to_relu("hardswish_to_relu", [](Builder& b, ValueId x) { return b.mul(x, div(b, clip(b, b.add(b.scalar(3.0f), x), 0.0f, 6.0f), b.scalar(6.0f))); });
    check_to_relu("hardsigmoid_to_relu", [](Builder& b, ValueId x) { return b.hardsigmoid(x); });
    check_to_relu("hardsigmoid_to_relu", [](Builder& b, ValueId x) { return div(b, clip(b, b.relu(b.add(x, b.scalar(3.0f))), 0.0f, 6.0f), b.scalar(6.0f)); });
}

TEST_CASE("silu_to_relu, relu6_to_relu and the opt-in activations") {
    check_to_relu("silu_to_relu", [](Builder& b, ValueId x) { return b.silu(x); });
    check_to_relu("silu_to_relu", [](Builder& b, ValueId x) { return b.mul(x, b.sigmoid(b.mul(b.scalar(1.5f), x))); });
    check_to_relu("relu6_to_relu", [](Builder& b, ValueId x) { return b.relu6(x); });
    check_to_relu("relu6_to_relu", [](Builder& b, ValueId x) { return clip(b, b.relu(x), std::nullopt, 6.0f); });
    check_to_relu("mish_to_relu", [](Builder& b, ValueId x) { return op1(b, ops::Mish{}, x); });
    check_to_relu("mish_to_relu", [](Builder& b, ValueId x) { return b.mul(x, op1(b, ops::Tanh{}, op1(b, ops::Softplus{}, x))); });
    check_to_relu("leaky_relu_to_relu", [](Builder& b, ValueId x) { return op1(b, ops::LeakyRelu{}, x); });
    check_to_relu("prelu_to_relu", [](Builder& b, ValueId x) { return b.apply(ops::PRelu{}, {x, b.constant(Tensor::zeros({b.shape(x)[1], 1, 1}) + 0.25f)}); });
    check_to_relu("elu_to_relu", [](Builder& b, ValueId x) { return op1(b, ops::Elu{}, x); });
    check_to_relu("elu_to_relu", [](Builder& b, ValueId x) { return op1(b, ops::Selu{}, x); });

    // Clip(Relu(x), 3, 6) is not a ReLU6; a Clip to other bounds neither.
    Graph g;
    Builder b(g, 1);
    auto x = b.input("x", {1, 4});
    b.output(clip(b, b.relu(x), 3.0f, 6.0f));
    b.output(clip(b, x, 0.0f, 5.0f));
    CHECK(run_rules(g, "relu6_to_relu").replaced("relu6_to_relu") == 0);
}

namespace {
/// A Squeeze-and-Excitation block over `x` with the given squeeze, activation and gate.
ValueId se_block(Builder& b, ValueId x, bool mean, int act, int gate) {
    const std::int64_t c = b.shape(x)[1];
    auto s = mean ? b.apply(ops::ReduceMean{}, {x, b.ints({2, 3})}) : b.global_average_pool(x);
    auto h = b.conv(s, {.out_channels = 4, .kernel = 1});
    h = act == 0 ? b.relu(h) : act == 1 ? b.silu(h) : b.hardswish(h);
    auto e = b.conv(h, {.out_channels = c, .kernel = 1});
    e = gate == 0 ? b.sigmoid(e) : gate == 1 ? b.hardsigmoid(e) : div(b, clip(b, b.add(e, b.scalar(3.0f)), 0.0f, 6.0f), b.scalar(6.0f));
    return b.mul(x, e);
}
} // namespace

TEST_CASE("remove_squeeze_excitation: GlobalAveragePool or ReduceMean squeeze, ReLU / SiLU / HardSwish inside, Sigmoid / HardSigmoid / relu6 gate") {
    for (int mean = 0; mean < 2; ++mean)
        for (int act = 0; act < 3; ++act)
            for (int gate = 0; gate < 3; ++gate) {
                CAPTURE(mean);
                CAPTURE(act);
                CAPTURE(gate);
                auto build = [&](bool with_se) {
                    Graph g;
                    Builder b(g, 7);
                    auto x = b.input("x", {1, 3, 6, 6});
                    auto h = b.relu(b.conv(x, {.out_channels = 8}));
                    Builder side(g, 99, "se_"); // the SE block's weights do not disturb the main line's
                    if (with_se) h = se_block(side, h, mean == 1, act, gate);
                    b.output(b.conv(h, {.out_channels = 2, .kernel = 1}));
                    return g;
                };
                const Graph g = build(true), want = build(false);
                const auto a = run_rules(g, "remove_squeeze_excitation");
                CHECK(a.replaced("remove_squeeze_excitation") == 1);
                CHECK(a.g.num_nodes() == want.num_nodes());
                CHECK(deviation(want, a.g) < 1e-6);
            }
    // A mean over the channels is not a squeeze.
    Graph g;
    Builder b(g, 7);
    auto x = b.input("x", {1, 8, 6, 6});
    auto s = b.apply(ops::ReduceMean{}, {x, b.ints({1})});
    b.output(b.mul(x, b.sigmoid(b.conv(b.relu(b.conv(s, {.out_channels = 4, .kernel = 1})), {.out_channels = 8, .kernel = 1}))));
    const auto a = run_rules(g, "remove_squeeze_excitation");
    CHECK(a.matches("remove_squeeze_excitation") == 1);
    CHECK(a.replaced("remove_squeeze_excitation") == 0);
}

namespace {
/// LayerNorm over the last axis written out as PyTorch exports it below opset 17.
ValueId layernorm_decomposed(Builder& b, ValueId x, std::int64_t axis, const Tensor& scale, const Tensor& bias, float eps) {
    auto mean = b.apply(ops::ReduceMean{}, {x, b.ints({axis})});
    auto d = b.apply(ops::Sub{}, {x, mean});
    auto var = b.apply(ops::ReduceMean{}, {b.apply(ops::Pow{}, {d, b.scalar(2.0f)}), b.ints({axis})});
    auto n = div(b, d, op1(b, ops::Sqrt{}, b.add(var, b.scalar(eps))));
    return b.add(b.mul(n, b.constant(scale)), b.constant(bias));
}
} // namespace

TEST_CASE("layernorm_to_batchnorm: the op and the decomposed form, over the last axis and over channels, become x * scale + bias") {
    std::mt19937_64 rng(3);
    const Tensor scale = Tensor::uniform({6}, rng, 0.5f, 1.5f), bias = Tensor::uniform({6}, rng, -0.5f, 0.5f);
    const Tensor scale3 = reshape(scale, {6, 1, 1}), bias3 = reshape(bias, {6, 1, 1});
    struct variant {
        const char* name;
        Shape shape;
        std::function<ValueId(Builder&, ValueId)> norm;
        std::function<ValueId(Builder&, ValueId)> affine; // what the BatchNorm computes at first
    };
    const std::vector<variant> variants{
        {"op, tokens", {2, 5, 6},
         [&](Builder& b, ValueId x) { return b.apply(ops::LayerNormalization{}, {x, b.constant(scale), b.constant(bias)}); },
         [&](Builder& b, ValueId x) { return b.add(b.mul(x, b.constant(scale)), b.constant(bias)); }},
        {"decomposed, tokens", {2, 5, 6}, [&](Builder& b, ValueId x) { return layernorm_decomposed(b, x, -1, scale, bias, 1e-5f); },
         [&](Builder& b, ValueId x) { return b.add(b.mul(x, b.constant(scale)), b.constant(bias)); }},
        {"decomposed, NCHW channels", {1, 6, 4, 5}, [&](Builder& b, ValueId x) { return layernorm_decomposed(b, x, 1, scale3, bias3, 1e-6f); },
         [&](Builder& b, ValueId x) { return b.add(b.mul(x, b.constant(scale3)), b.constant(bias3)); }},
        {"op, [N, C]", {3, 6}, [&](Builder& b, ValueId x) { return b.apply(ops::LayerNormalization{}, {x, b.constant(scale)}); },
         [&](Builder& b, ValueId x) { return b.mul(x, b.constant(scale)); }},
    };
    for (const auto& v : variants) {
        CAPTURE(v.name);
        auto build = [&](const std::function<ValueId(Builder&, ValueId)>& f) {
            Graph g;
            Builder b(g, 5);
            b.output(b.relu(f(b, b.relu(b.input("x", v.shape)))));
            return g;
        };
        const Graph g = build(v.norm), want = build(v.affine);
        const auto a = run_rules(g, rules_named({"layernorm_to_batchnorm", "merge_transposes"}));
        CHECK(a.replaced("layernorm_to_batchnorm") == 1);
        CHECK(count<ops::LayerNormalization>(a.g) + count<ops::ReduceMean>(a.g) == 0);
        CHECK(count<ops::BatchNormalization>(a.g) == 1);
        CHECK(deviation(want, a.g) < 1e-5);
    }
    // Over several axes (LayerNormalization axis 1 of a rank-3 tensor) it is not a per-channel norm.
    Graph g;
    Builder b(g, 5);
    ops::LayerNormalization ln;
    ln.axis = 1;
    b.output(b.apply(ln, {b.input("x", {2, 5, 6}), b.constant(Tensor::uniform({5, 6}, b.rng()))}));
    CHECK(run_rules(g, "layernorm_to_batchnorm").replaced("layernorm_to_batchnorm") == 0);
}

TEST_CASE("ConvNeXt block: LayerNorm2d and the NHWC LayerNorm leave one BatchNorm each, their Transposes cancel or stay with the Linear layers") {
    Graph g;
    Builder b(g, 13);
    auto x = b.input("x", {1, 8, 14, 14});
    auto d = b.conv(x, {.kernel = 7, .depthwise = true});
    auto t = b.transpose(d, {0, 2, 3, 1});
    auto ln = b.layer_norm(t);
    auto h = b.apply(ops::MatMul{}, {ln, b.constant(Tensor::uniform({8, 32}, b.rng(), -0.3f, 0.3f))});
    h = b.apply(ops::Gelu{}, {h});
    auto back = b.transpose(b.apply(ops::MatMul{}, {h, b.constant(Tensor::uniform({32, 8}, b.rng(), -0.3f, 0.3f))}), {0, 3, 1, 2});
    b.output(b.transpose(b.layer_norm(b.transpose(b.add(back, x), {0, 2, 3, 1})), {0, 3, 1, 2})); // LayerNorm2d
    const auto a = run_rules(g, rules::paper());
    CHECK(count<ops::LayerNormalization>(a.g) == 0);
    CHECK(count<ops::Gelu>(a.g) == 0);
    CHECK(count<ops::BatchNormalization>(a.g) == 1); // the block's BN folded into the last 3x3 conv; the LayerNorm2d's stays
    CHECK(count<ops::Transpose>(a.g) == 2);          // around the Linear layers only
    CHECK(count<ops::Conv>(a.g) == 3);               // 7x7 -> three 3x3
    for (NodeId n : a.g.topological_order())
        if (auto* c = a.g.node(n).as<ops::Conv>()) CHECK(c->kernel_shape == Ints{3, 3});
    CHECK(*a.g.value(a.g.outputs()[0]).shape == Shape{1, 8, 14, 14});
}

TEST_CASE("large_kernel_to_3x3: kernels of 7 and more by default (5x5 stay), the threshold is an option, the first layer is the centre crop") {
    auto build = [](std::int64_t k, std::int64_t stride, bool depthwise) {
        Graph g;
        Builder b(g, 31);
        auto x = b.input("x", {1, 4, 15, 15});
        b.output(b.conv(x, {.out_channels = 4, .kernel = k, .stride = stride, .depthwise = depthwise}));
        return g;
    };
    CHECK(run_rules(build(5, 1, true), "large_kernel_to_3x3").replaced("large_kernel_to_3x3") == 0);
    for (const auto& shape : {std::tuple{7, 1, true}, std::tuple{9, 2, false}, std::tuple{5, 1, false}}) {
        const auto [k_, stride, dw] = shape;
        const int k = k_; // not a structured binding: CAPTURE's lambda cannot capture one with clang 14
        CAPTURE(k);
        const Graph g = build(k, stride, dw);
        rules::options o;
        o.large_kernel_min = 5;
        const auto a = run_rules(g, "large_kernel_to_3x3", o);
        CHECK(a.replaced("large_kernel_to_3x3") == 1);
        CHECK(count<ops::Conv>(a.g) == static_cast<std::size_t>((k - 1) / 2));
        // The stack computes the centre-cropped conv: build that and compare.
        Graph want = g;
        const NodeId conv = want.topological_order()[0];
        auto op = std::get<ops::Conv>(want.node(conv).op);
        op.kernel_shape = {3, 3};
        op.pads = {1, 1, 1, 1};
        want.op(conv) = op;
        const ValueId w = want.node(conv).inputs[1];
        const ValueId cropped = want.add_constant("w3", centre_crop(*want.constant(w), {3, 3}));
        want.set_input(conv, 1, cropped);
        infer_shapes(want);
        CHECK(deviation(want, a.g) < 1e-6);
    }
    CHECK_THROWS_AS((void)rules::make_rule("large_kernel_to_3x3", rules::options{.large_kernel_min = 3}), error);
}

TEST_CASE("the paper preset on MobileNetV3-Large: no HardSwish, no SE; 5x5 kernels kept") {
    const Graph g = zoo::mobilenet_v3_large();
    const auto a = run_rules(g, rules::paper());
    CHECK(count<ops::HardSwish>(a.g) + count<ops::HardSigmoid>(a.g) + count<ops::BatchNormalization>(a.g) + count<ops::Dropout>(a.g) == 0);
    CHECK(count<ops::Mul>(a.g) == 0);
    bool has_5x5 = false;
    for (NodeId n : a.g.topological_order())
        if (auto* c = a.g.node(n).as<ops::Conv>(); c && c->kernel_shape == Ints{5, 5}) has_5x5 = true;
    CHECK(has_5x5);
    CHECK(reference::compare(g, a.g, 1).outputs.size() == 1);
}

TEST_CASE("a rule that cannot apply to one match declines it and the dictionary goes on") {
    Graph g;
    Builder b(g, 4);
    auto x = b.input("x", {1, 3, 12, 12});
    b.output(focus(b, x, 3));                                     // declined by focus_to_conv
    b.output(b.relu(b.conv(focus(b, x), {.out_channels = 4})));  // rewritten
    b.output(b.hardswish(x));                                     // rewritten by the next rule
    const auto a = run_rules(g, rules::paper());
    CHECK(a.replaced("focus_to_conv") == 1);
    CHECK(a.replaced("hardswish_to_relu") == 1);
}

TEST_CASE("no built-in rule matches what it produced: each converges in one rewriting pass") {
    // Every rule on a graph where it fires: the second pass finds nothing new for it.
    Graph g;
    Builder b(g, 17);
    auto x = b.input("x", {1, 3, 16, 16});
    auto y = b.conv(focus(b, x), {.out_channels = 8, .kernel = 7});
    y = b.hardswish(b.batch_norm(y));
    y = b.max_pool(b.identity(b.relu6(b.silu(y))), 5, 1, 2);
    y = b.mul(y, b.hardsigmoid(b.conv(b.relu(b.conv(b.global_average_pool(y), {.out_channels = 3, .kernel = 1})), {.out_channels = 8, .kernel = 1})));
    b.output(b.apply(ops::Gelu{}, {b.transpose(b.transpose(y, {0, 2, 3, 1}), {0, 3, 1, 2})}));
    for (const auto& e : rules::registry()) {
        CAPTURE(e.name);
        Graph work = g;
        const auto rep = rewrite::apply(work, rewrite::dictionary("one", {e.make({}).rule}));
        CHECK(rep.converged);
        CHECK(rep.iterations <= 2);
    }
}
