// Shape inference on hostile values: attributes and constants straight from a model file must give a
// graph_error naming the node, never signed overflow or an out-of-range float conversion (cases found
// by tests/fuzz/fuzz_onnx_load).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "surgery/ir.hpp"

using namespace surgery;
using namespace surgery::ir;

namespace {

constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();

/// Infers the shapes of `op` on `inputs` (a node named "hostile") and returns the error message (empty
/// when it was accepted).
std::string rejection(Graph& g, Op op, std::vector<ValueId> inputs, std::size_t outputs = 1) {
    const NodeId n = g.add_node(std::move(op), std::move(inputs), outputs, "hostile");
    try {
        (void)infer_node(g, n);
    } catch (const graph_error& e) {
        CHECK(e.node() == "hostile");
        return e.what();
    }
    return {};
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

} // namespace

TEST_CASE("pool and conv attributes beyond 2^40 are rejected, not overflowed") {
    Graph g;
    const ValueId x = g.add_input("x", {1, 2, 8, 8});
    ops::MaxPool dilated;
    dilated.kernel_shape = {2, 2};
    dilated.dilations = {big, 1};
    CHECK(contains(rejection(g, dilated, {x}), "dilations"));
    ops::MaxPool dilated_product; // each value in range, the dilated kernel is not
    dilated_product.kernel_shape = {3, 3};
    dilated_product.dilations = {std::int64_t{1} << 40, 1};
    CHECK(contains(rejection(g, dilated_product, {x}), "dilated kernel"));
    ops::MaxPool padded;
    padded.kernel_shape = {2, 2};
    padded.pads = {big - 4, 0, big - 4, 0};
    CHECK(contains(rejection(g, padded, {x}), "pads"));
    ops::MaxPool ceil;
    ceil.kernel_shape = {2, 2};
    ceil.ceil_mode = 1;
    ceil.strides = {big, 1};
    CHECK(contains(rejection(g, ceil, {x}), "strides"));
    ops::MaxPool same;
    same.kernel_shape = {2, 2};
    same.auto_pad = "SAME_UPPER";
    same.strides = {big, big};
    CHECK(contains(rejection(g, same, {x}), "strides"));
    // In range: accepted and computed.
    ops::MaxPool fine;
    fine.kernel_shape = {2, 2};
    fine.strides = {2, 2};
    const auto inferred = infer_node(g, g.add_node(fine, {x}));
    CHECK(inferred.shapes[0] == Shape{1, 2, 4, 4});
}

TEST_CASE("Reshape, Split and Resize constants beyond the limits are rejected") {
    Graph g;
    const ValueId x = g.add_input("x", {1, 2, 8, 8});
    const ValueId huge_shape = g.add_constant("shape", Tensor::vector({std::int64_t{1} << 32, std::int64_t{1} << 32}));
    CHECK(contains(rejection(g, ops::Reshape{}, {x, huge_shape}), "too large"));

    ops::Split split;
    split.axis = 1;
    const ValueId sizes = g.add_constant("split_sizes", Tensor::vector({big, big}));
    CHECK(contains(rejection(g, split, {x, sizes}, 2), "split"));

    const ValueId empty = ValueId{};
    int k = 0;
    for (float bad : {1e30f, std::numeric_limits<float>::quiet_NaN(), -2.0f, std::numeric_limits<float>::infinity()}) {
        CAPTURE(bad);
        const ValueId scales = g.add_constant("scales" + std::to_string(k++), Tensor::floats({4}, {1, 1, bad, 1}));
        CHECK(contains(rejection(g, ops::Resize{}, {x, empty, scales}), "scales"));
    }
    const ValueId huge_sizes = g.add_constant("sizes", Tensor::vector({1, 2, big, big}));
    CHECK(contains(rejection(g, ops::Resize{}, {x, empty, empty, huge_sizes}), "sizes"));
    const ValueId negative_sizes = g.add_constant("neg_sizes", Tensor::vector({1, 2, -3, 8}));
    CHECK(contains(rejection(g, ops::Resize{}, {x, empty, empty, negative_sizes}), "sizes"));
}

TEST_CASE("a Concat whose axis would pass 2^40 is rejected; inputs beyond the limits are rejected") {
    Graph g;
    const ValueId a = g.add_input("a", {1, std::int64_t{1} << 40});
    CHECK(contains(rejection(g, ops::Concat{.axis = 1}, {a, a}), "above 2^40"));
    const ValueId too_big = g.add_input("b", {std::int64_t{1} << 41, 2});
    CHECK(contains(rejection(g, ops::Relu{}, {too_big}), "input 0"));
}

TEST_CASE("refine_shapes carries a value made constant to everything downstream, and only gains") {
    Graph g;
    Builder b(g, 1);
    const ValueId x = b.input("x", {2, 3, 4, 5});
    const ValueId s = b.input("s", {2}, DType::i64); // a target shape not known when the graph is built
    const ValueId flat = b.apply(ops::Reshape{}, {x, s});
    const ValueId y = b.relu(b.sigmoid(flat));
    const ValueId z = b.apply(ops::ShapeOf{}, {y});
    b.output(y);
    b.output(z);
    infer_shapes(g);
    REQUIRE(g.value(flat).shape);
    CHECK(*g.value(flat).shape == Shape{-1, -1});
    CHECK(*g.value(y).shape == Shape{-1, -1});

    CHECK(refine_shapes(g, {x}) == 0); // nothing new about x: nothing is inferred again to any gain

    const ValueId c = b.ints({6, -1});
    g.replace_all_uses(s, c);
    CHECK(refine_shapes(g, {c}) == 3); // the Reshape, Sigmoid and Relu outputs; ShapeOf's was known ([2])
    CHECK(*g.value(flat).shape == Shape{6, 20});
    CHECK(*g.value(y).shape == Shape{6, 20});
    CHECK(*g.value(z).shape == Shape{2});
    CHECK(refine_shapes(g, {c}) == 0); // a second time there is nothing left to gain

    // A contradiction (a stored dim another than the one inferred) is left for verify to report.
    g.set_shape(y, Shape{6, 21});
    const ValueId c2 = b.ints({-1, 20});
    g.replace_all_uses(c, c2);
    g.set_shape(flat, Shape{-1, 20});
    CHECK(refine_shapes(g, {c2}) == 1); // the Reshape regains its 6; the Sigmoid gains nothing
    CHECK(*g.value(y).shape == Shape{6, 21});
    CHECK_THROWS_AS(verify(g), graph_error);
}
