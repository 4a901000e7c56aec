// Tests of reference::random_inputs, compare_tensors and compare: identical graphs agree exactly,
// a perturbed weight is caught, interface mismatches are errors naming the output.
#include "helpers.hpp"

using namespace reftest;
using surgery::ir::Builder;
using surgery::ir::Graph;

namespace {

Graph small_net(std::uint64_t seed, std::int64_t classes = 5) {
    Graph g;
    Builder b(g, seed);
    auto x = b.input("x", {2, 3, 12, 12});
    auto y = b.relu(b.batch_norm(b.conv(x, {.out_channels = 8, .kernel = 3})));
    y = b.conv(y, {.kernel = 3, .stride = 2, .depthwise = true});
    y = b.flatten(b.global_average_pool(y));
    b.output(b.linear(y, classes));
    return g;
}

} // namespace

TEST_CASE("random_inputs: seeded, shaped, typed") {
    Graph g;
    Builder b(g);
    b.input("a", {2, 3});
    b.input("k", {4}, DType::i64);
    const auto r1 = ref::random_inputs(g, 5), r2 = ref::random_inputs(g, 5), r3 = ref::random_inputs(g, 6);
    REQUIRE(r1.size() == 2);
    CHECK(r1[0].shape == Shape{2, 3});
    CHECK(r1[1].dtype == DType::i64);
    CHECK(r1 == r2);
    CHECK(r1[0].f != r3[0].f);
    for (auto v : r1[1].i) CHECK((v >= 0 && v < 4));
    const auto u = ref::random_inputs(g, 5, ref::input_distribution::uniform);
    for (float v : u[0].f) CHECK((v >= -1.0f && v < 1.0f));
    // Normal samples: mean ~ 0, variance ~ 1.
    Graph big;
    Builder bb(big);
    bb.input("z", {100000});
    const auto z = ref::random_inputs(big, 1)[0].f;
    double m = 0, v = 0;
    for (float f : z) m += f;
    m /= static_cast<double>(z.size());
    for (float f : z) v += (f - m) * (f - m);
    v /= static_cast<double>(z.size());
    CHECK(std::abs(m) < 0.02);
    CHECK(std::abs(v - 1.0) < 0.02);
    Graph dyn;
    Builder bd(dyn);
    bd.input("batch_images", {-1, 3});
    CHECK_THROWS_WITH_AS((void)ref::random_inputs(dyn, 1), doctest::Contains("'batch_images'"), surgery::error);
    // With a size for dynamic dimensions: that size, and the same numbers as the static shape.
    ref::random_input_options three;
    three.dynamic_dims = 3;
    const auto d3 = ref::random_inputs(dyn, 1, three);
    CHECK(d3[0].shape == Shape{3, 3});
    Graph fixed;
    Builder bf(fixed);
    bf.input("batch_images", {3, 3});
    CHECK(d3 == ref::random_inputs(fixed, 1));
    CHECK(ref::random_input_shape(dyn, dyn.inputs()[0], 2) == Shape{2, 3});
    CHECK(surgery::ir::with_dynamic_dims(Shape{-1, 4, -1}, 5) == Shape{5, 4, 5});
}

TEST_CASE("compare on a graph with a dynamic batch axis: refused without a size for it, run at that size with one") {
    Graph g;
    Builder b(g, 7);
    b.output(b.relu(b.conv(b.input("x", {-1, 3, 6, 6}), {.out_channels = 4, .kernel = 3})));
    Graph h = g;
    CHECK_THROWS_WITH_AS((void)ref::compare(g, h, 0), doctest::Contains("dynamic shape [?,3,6,6]"), surgery::error);
    ref::random_input_options two;
    two.dynamic_dims = 2;
    const ref::equivalence_report r = ref::compare(g, h, 0, 2, two);
    REQUIRE(r.outputs.size() == 1);
    CHECK(r.max_rel == 0.0);
    CHECK(r.outputs[0].ref_max_abs > 0.0);
}

TEST_CASE("inputs with a default value (initializers listed as graph inputs) keep it when use_defaults is set") {
    // y = x * w, w an input whose default is a tensor of 2s: the executor uses the default for an
    // input it is not given; random_inputs leaves such inputs out with use_defaults.
    Graph g;
    Builder b(g);
    auto x = b.input("x", {2, 3});
    auto w = b.input("w", {2, 3});
    g.set_default(w, std::make_shared<const Tensor>(Tensor::floats({2, 3}, {2, 2, 2, 2, 2, 2})));
    b.output(b.mul(x, w));
    const auto all = ref::random_inputs(g, 4);
    CHECK(all.size() == 2);
    ref::random_input_options keep;
    keep.use_defaults = true;
    const auto required = ref::random_inputs(g, 4, keep);
    REQUIRE(required.size() == 1);
    CHECK(required[0].shape == Shape{2, 3});
    const auto y = ref::executor(g).run(required);
    for (std::size_t k = 0; k < 6; ++k) CHECK(y[0].f[k] == 2.0f * required[0].f[k]);
    // Two graphs that differ only in their defaults: equal on random defaults, different on their own.
    Graph h = g;
    h.set_default(h.inputs()[1], std::make_shared<const Tensor>(Tensor::floats({2, 3}, {3, 3, 3, 3, 3, 3})));
    CHECK(ref::compare(g, h, 0).max_rel == 0.0);
    CHECK(ref::compare(g, h, 0, 1, keep).max_rel == doctest::Approx(0.5)); // |2x - 3x| / max|2x|
}

TEST_CASE("compare_tensors: absolute, relative and non-finite deviations") {
    const Tensor e = Tensor::floats({4}, {1, -4, 2, 0});
    Tensor a = e;
    a.f[1] = -3.5f;
    auto d = ref::compare_tensors(e, a);
    CHECK(d.max_abs == doctest::Approx(0.5));
    CHECK(d.ref_max_abs == doctest::Approx(4.0));
    CHECK(d.max_rel == doctest::Approx(0.125));
    CHECK(ref::compare_tensors(e, e).max_abs == 0.0);
    const Tensor z = Tensor::floats({2}, {0, 0}), nz = Tensor::floats({2}, {0, 1e-3f});
    CHECK(ref::compare_tensors(z, z).max_rel == 0.0);
    CHECK(std::isinf(ref::compare_tensors(z, nz).max_rel));
    const Tensor n1 = Tensor::floats({2}, {NAN, INFINITY}), n2 = Tensor::floats({2}, {NAN, 1.0f});
    CHECK(ref::compare_tensors(n1, n1).max_abs == 0.0);
    CHECK(std::isinf(ref::compare_tensors(n1, n2).max_abs));
    CHECK_THROWS_WITH_AS((void)ref::compare_tensors(e, Tensor::floats({2, 2}, {1, 2, 3, 4})), doctest::Contains("shapes differ"), surgery::error);
    CHECK_THROWS_AS((void)ref::compare_tensors(e, Tensor::ints({4}, {1, 2, 3, 4})), surgery::error);
}

TEST_CASE("compare: identical graphs agree exactly; a perturbed weight is caught") {
    const Graph g = small_net(1);
    auto same = ref::compare(g, small_net(1), 42, 3);
    REQUIRE(same.outputs.size() == 1);
    CHECK(same.max_abs == 0.0);
    CHECK(same.within(0.0));
    CHECK(same.outputs[0].ref_max_abs > 0.0);

    // Perturb one weight of the first conv by 1e-2.
    Graph p = g;
    const auto conv_node = *p.find_node("conv_0");
    const auto w_id = p.node(conv_node).inputs[1];
    Tensor w = *p.constant(w_id);
    w.f[7] += 1e-2f;
    p.set_input(conv_node, 1, p.add_constant("perturbed", std::move(w)));
    const auto r = ref::compare(g, p, 42, 3);
    CHECK(r.max_abs > 1e-5);
    CHECK(r.max_rel > 1e-6);
    CHECK_FALSE(r.within(1e-7));
    CHECK(r.within(0.5));
    CHECK(r.to_string().find(r.outputs[0].name) != std::string::npos);

    // Same check with explicit inputs.
    const auto inputs = ref::random_inputs(g, 3);
    const auto r2 = ref::compare(g, p, inputs);
    CHECK(r2.max_abs > 0.0);
    CHECK(r2.max_abs <= r.max_abs * 10);
}

TEST_CASE("compare: interface mismatches are errors naming the output") {
    const Graph g = small_net(1, 5), h = small_net(1, 6);
    try {
        (void)ref::compare(g, h, 1);
        FAIL("expected an error");
    } catch (const surgery::error& e) {
        CHECK(std::string(e.what()).find("output '") != std::string::npos);
        CHECK(std::string(e.what()).find("[2,5]") != std::string::npos);
    }
    Graph two = small_net(1);
    two.add_output(two.inputs()[0]);
    CHECK_THROWS_WITH_AS((void)ref::compare(g, two, 1), doctest::Contains("outputs"), surgery::error);
    CHECK_THROWS_AS((void)ref::compare(g, g, 1, 0), surgery::error);
}
