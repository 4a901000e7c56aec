// Numerical checks of the opset conversions with the reference executor: a converted graph computes what
// the older opset's semantics say.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "surgery/ir.hpp"
#include "surgery/onnx.hpp"
#include "surgery/reference/executor.hpp"

#include "proto_builder.hpp"

namespace so = surgery::onnx;
namespace ir = surgery::ir;
namespace ref = surgery::reference;
using surgery::test::attr_f;
using surgery::test::attr_i;
using surgery::test::attr_ints;
using surgery::test::proto_builder;

namespace {

ir::Tensor random_tensor(ir::Shape shape, unsigned seed) {
    std::mt19937_64 rng(seed);
    return ir::Tensor::uniform(std::move(shape), rng, -3.0f, 3.0f);
}

float max_abs_diff(const ir::Tensor& a, const ir::Tensor& b) {
    REQUIRE(a.shape == b.shape);
    float m = 0;
    for (std::size_t k = 0; k < a.f.size(); ++k) m = std::max(m, std::abs(a.f[k] - b.f[k]));
    return m;
}

} // namespace

TEST_CASE("Softmax of opset 11 over a non-last axis: softmax over all trailing dimensions") {
    proto_builder b(11);
    b.input("x", {2, 3, 4, 5}).output("y");
    attr_i(b.node("Softmax", {"x"}, {"y"}, "sm"), "axis", 1);
    const ir::Graph g = so::from_model_proto(b.model());
    const ir::Tensor x = random_tensor({2, 3, 4, 5}, 1);
    const ir::Tensor y = ref::run(g, {x})[0];
    ir::Tensor want = x;
    for (std::size_t n = 0; n < 2; ++n) {
        const std::size_t base = n * 60;
        float mx = -INFINITY, sum = 0;
        for (std::size_t k = 0; k < 60; ++k) mx = std::max(mx, x.f[base + k]);
        for (std::size_t k = 0; k < 60; ++k) sum += std::exp(x.f[base + k] - mx);
        for (std::size_t k = 0; k < 60; ++k) want.f[base + k] = std::exp(x.f[base + k] - mx) / sum;
    }
    CHECK(max_abs_diff(y, want) < 1e-6f);
}

TEST_CASE("opset 6 Add with broadcast along axis 1 adds the bias per channel") {
    proto_builder b(6);
    b.input("x", {2, 3, 4, 5}).floats("bias", {3}, {10, 20, 30}).output("y");
    auto& n = b.node("Add", {"x", "bias"}, {"y"}, "add");
    attr_i(n, "broadcast", 1);
    attr_i(n, "axis", 1);
    const ir::Graph g = so::from_model_proto(b.model());
    const ir::Tensor x = random_tensor({2, 3, 4, 5}, 2);
    const ir::Tensor y = ref::run(g, {x})[0];
    ir::Tensor want = x;
    for (std::size_t k = 0; k < want.f.size(); ++k) want.f[k] += 10.0f * static_cast<float>(1 + (k / 20) % 3);
    CHECK(max_abs_diff(y, want) == 0.0f);
}

TEST_CASE("opset 6 Clip and opset 9 Slice attributes act as the inputs they became") {
    proto_builder b(9);
    b.input("x", {4, 6}).output("y");
    auto& c = b.node("Clip", {"x"}, {"c"}, "clip");
    attr_f(c, "min", -1.0f);
    attr_f(c, "max", 0.5f);
    auto& s = b.node("Slice", {"c"}, {"y"}, "slice");
    attr_ints(s, "starts", {1, -4});
    attr_ints(s, "ends", {3, 1000});
    attr_ints(s, "axes", {0, 1});
    const ir::Graph g = so::from_model_proto(b.model());
    const ir::Tensor x = random_tensor({4, 6}, 3);
    const ir::Tensor y = ref::run(g, {x})[0];
    REQUIRE(y.shape == ir::Shape{2, 4});
    for (std::size_t r = 0; r < 2; ++r)
        for (std::size_t col = 0; col < 4; ++col)
            CHECK(y.f[r * 4 + col] == std::clamp(x.f[(r + 1) * 6 + col + 2], -1.0f, 0.5f));
}

TEST_CASE("HardSwish and Gelu written as decompositions compute the same as the ops") {
    ir::Graph g;
    g.opset = 20;
    ir::Builder b(g);
    auto x = b.input("x", {3, 7});
    auto h = b.hardswish(x);
    ir::ops::Gelu ge;
    b.output(b.apply(ge, {h}));
    ge.approximate = "tanh";
    b.output(b.apply(ge, {x}));
    const ir::Tensor in = random_tensor({3, 7}, 4);
    const auto want = ref::run(g, {in});
    g.opset = 13;
    const ::onnx::ModelProto m = so::to_model_proto(g);
    so::check(m);
    const ir::Graph back = so::from_model_proto(m);
    CHECK(back.op_histogram()[ir::op_kind_v<ir::ops::Gelu>] == 0);
    const auto got = ref::run(back, {in});
    CHECK(max_abs_diff(got[0], want[0]) < 1e-5f);
    CHECK(max_abs_diff(got[1], want[1]) < 1e-5f);
}
