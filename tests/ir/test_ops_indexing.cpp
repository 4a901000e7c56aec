// Shape rules of the indexing and reduction families: computed shapes and types from constant
// operands, unknown dims (never errors) when an operand's value or shape is not known, and errors
// naming the node for operands that cannot fit.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "surgery/ir.hpp"

using namespace surgery;
using namespace surgery::ir;

namespace {

/// One input of a node under test: its shape (nullopt: unknown rank), type and, for constants, value.
struct operand {
    bool present = true;
    std::optional<Shape> shape;
    DType dtype = DType::f32;
    std::optional<Tensor> value;
};

operand of(Shape s, DType t = DType::f32) { return {true, std::move(s), t, std::nullopt}; }
operand unknown(DType t = DType::f32) { return {true, std::nullopt, t, std::nullopt}; }
operand constant(Tensor t) {
    operand o{true, t.shape, t.dtype, std::nullopt};
    o.value = std::move(t);
    return o;
}
operand ints(std::vector<std::int64_t> v) { return constant(Tensor::vector(std::move(v))); }
operand absent() { return {false, std::nullopt, DType::undefined, std::nullopt}; }

/// Runs `op`'s shape rule; returns output 0.
infer_output infer1(const Op& op, const std::vector<operand>& in, std::size_t outputs = 1) {
    std::vector<infer_input> ins;
    for (const operand& o : in) ins.push_back({o.present, &o.shape, o.dtype, o.value ? &*o.value : nullptr});
    std::vector<infer_output> outs(outputs);
    infer_op(op, ins, outs, "rule_under_test");
    return outs[0];
}

std::optional<Shape> shape_of(const Op& op, const std::vector<operand>& in) { return infer1(op, in).shape; }

/// The error message of the rule on these inputs (empty when accepted).
std::string error_of(const Op& op, const std::vector<operand>& in) {
    try {
        (void)infer1(op, in);
    } catch (const graph_error& e) {
        CHECK(e.node() == "rule_under_test");
        return e.what();
    }
    return {};
}

bool idx_contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

constexpr std::int64_t idx_big = std::numeric_limits<std::int64_t>::max();

} // namespace

// The catalogue knows the families by their ONNX names.
static_assert(is_op_v<ops::ShapeOf> && is_op_v<ops::Einsum> && is_op_v<ops::ReduceLogSumExp> && is_op_v<ops::ArgMin>);
static_assert(kind_from_name("Shape") == op_kind_v<ops::ShapeOf>);
static_assert(kind_from_name("ReduceSum") == op_kind_v<ops::ReduceSum>);
static_assert(since_v<ops::Einsum> == 12 && since_v<ops::Range> == 11 && since_v<ops::Trilu> == 14 && since_v<ops::ShapeOf> == 1);
static_assert(has(traits_v<ops::Gather>, trait::data_movement) && has(traits_v<ops::ShapeOf>, trait::shape_compute));
static_assert(ops::ShapeOf::reads_shape_only && ops::Size::reads_shape_only);
static_assert(legacy_inputs_of<ops::Pad>().size() == 2 && legacy_inputs_of<ops::Pad>()[1].kind == legacy_kind::float_scalar);

TEST_CASE("Shape, Size, ConstantOfShape, Range") {
    ops::ShapeOf sh;
    auto o = infer1(sh, {of({2, -1, 4})});
    CHECK(o.shape == Shape{3});
    CHECK(o.dtype == DType::i64);
    sh.start = -2;
    sh.end = 99;
    CHECK(shape_of(sh, {of({2, -1, 4})}) == Shape{2});
    CHECK(infer1(sh, {unknown()}).dtype == DType::i64);
    CHECK(!shape_of(sh, {unknown()}));
    o = infer1(ops::Size{}, {unknown()});
    CHECK(o.shape == Shape{});
    CHECK(o.dtype == DType::i64);

    ops::ConstantOfShape cs;
    CHECK(shape_of(cs, {ints({2, 3})}) == Shape{2, 3});
    CHECK(shape_of(cs, {of({2}, DType::i64)}) == Shape{-1, -1}); // rank from the operand's length
    CHECK(!shape_of(cs, {of({-1}, DType::i64)}));
    cs.value = std::make_shared<const Tensor>(Tensor::ints({1}, {1}, DType::i32));
    CHECK(infer1(cs, {ints({2})}).dtype == DType::i32);
    CHECK(idx_contains(error_of(cs, {ints({2, -3})}), "shape"));
    CHECK(idx_contains(error_of(cs, {ints({idx_big})}), "2^40"));
    CHECK(idx_contains(error_of(cs, {constant(Tensor::floats({1}, {2}))}), "int64"));

    const operand s = constant(Tensor::scalar(0)), l = constant(Tensor::scalar(10)), d = constant(Tensor::scalar(3));
    CHECK(shape_of(ops::Range{}, {s, l, d}) == Shape{4});
    CHECK(shape_of(ops::Range{}, {s, of({}), d}) == Shape{-1});
    const operand a = constant(Tensor::ints({}, {5}, DType::i32)), b = constant(Tensor::ints({}, {-5}, DType::i32)),
                  step = constant(Tensor::ints({}, {-2}, DType::i32));
    o = infer1(ops::Range{}, {a, b, step});
    CHECK(o.shape == Shape{5});
    CHECK(o.dtype == DType::i32);
    const operand zero = constant(Tensor::ints({}, {0}, DType::i32));
    CHECK(idx_contains(error_of(ops::Range{}, {a, b, zero}), "delta"));
}

TEST_CASE("Gather, GatherElements, GatherND, scatters") {
    ops::Gather g;
    g.axis = 1;
    CHECK(shape_of(g, {of({2, 5, 3}), of({4, -1}, DType::i64)}) == Shape{2, 4, -1, 3});
    CHECK(shape_of(g, {of({2, 5, 3}), constant(Tensor::ints({}, {-5}))}) == Shape{2, 3});
    CHECK(!shape_of(g, {of({2, 5, 3}), unknown(DType::i64)}));
    CHECK(idx_contains(error_of(g, {of({2, 5, 3}), constant(Tensor::vector({5}))}), "out of range"));
    CHECK(idx_contains(error_of(g, {of({2, 5, 3}), of({1}, DType::f32)}), "int32 or int64"));
    g.axis = 3;
    CHECK(idx_contains(error_of(g, {of({2, 5, 3}), of({1}, DType::i64)}), "axis"));

    ops::GatherElements ge;
    ge.axis = -1;
    CHECK(shape_of(ge, {of({3, 4}), of({3, 7}, DType::i64)}) == Shape{3, 7});
    CHECK(shape_of(ge, {unknown(), of({3, 7}, DType::i64)}) == Shape{3, 7});
    CHECK(idx_contains(error_of(ge, {of({3, 4}), of({3}, DType::i64)}), "rank"));
    CHECK(idx_contains(error_of(ge, {of({3, 4}), of({5, 1}, DType::i64)}), "larger"));

    ops::GatherND gn;
    CHECK(shape_of(gn, {of({2, 3, 4}), of({5, 2}, DType::i64)}) == Shape{5, 4});
    gn.batch_dims = 1;
    CHECK(shape_of(gn, {of({2, 3, 4}), of({2, 5, 1}, DType::i64)}) == Shape{2, 5, 4});
    CHECK(!shape_of(gn, {of({2, 3, 4}), of({2, 5, -1}, DType::i64)}));
    CHECK(idx_contains(error_of(gn, {of({2, 3, 4}), of({2, 5, 3}, DType::i64)}), "last dim"));

    ops::ScatterND sn;
    CHECK(shape_of(sn, {of({8}), of({4, 1}, DType::i64), of({4})}) == Shape{8});
    sn.reduction = "sub";
    CHECK(idx_contains(error_of(sn, {of({8}), of({4, 1}, DType::i64), of({4})}), "reduction"));
    ops::ScatterElements se;
    CHECK(shape_of(se, {of({3, 3}), of({2, 3}, DType::i64), of({2, 3})}) == Shape{3, 3});
    CHECK(idx_contains(error_of(se, {of({3, 3}), of({2, 3}, DType::i64), of({3, 2})}), "updates"));
}

TEST_CASE("Expand, Tile, Pad: constant operands compute, unknown ones give unknown dims") {
    CHECK(shape_of(ops::Expand{}, {of({3, 1}), ints({2, 1, 6})}) == Shape{2, 3, 6});
    CHECK(shape_of(ops::Expand{}, {of({-1, 1}), ints({1, 6})}) == Shape{-1, 6});
    CHECK(shape_of(ops::Expand{}, {of({3, 1}), of({3}, DType::i64)}) == Shape{-1, -1, -1});
    CHECK(!shape_of(ops::Expand{}, {of({3, 1}), unknown(DType::i64)}));
    CHECK(idx_contains(error_of(ops::Expand{}, {of({3, 2}), ints({4})}), "broadcast"));
    CHECK(idx_contains(error_of(ops::Expand{}, {of({3, 1}), constant(Tensor::floats({1}, {4}))}), "int64"));

    CHECK(shape_of(ops::Tile{}, {of({2, -1}), ints({3, 2})}) == Shape{6, -1});
    CHECK(shape_of(ops::Tile{}, {of({2, 3}), of({2}, DType::i64)}) == Shape{-1, -1});
    CHECK(idx_contains(error_of(ops::Tile{}, {of({2, 3}), ints({3})}), "rank"));
    CHECK(idx_contains(error_of(ops::Tile{}, {of({1 << 20, 3}), ints({std::int64_t{1} << 30, 1})}), "2^40"));
    CHECK(idx_contains(error_of(ops::Tile{}, {of({2, 3}), ints({-1, 1})}), "repeats"));

    ops::Pad pad;
    CHECK(shape_of(pad, {of({1, 3, 4, -1}), ints({0, 0, 1, 1, 0, 0, 1, 1})}) == Shape{1, 3, 6, -1});
    CHECK(shape_of(pad, {of({2, 5}), ints({0, -1, 0, -2})}) == Shape{2, 2});
    CHECK(shape_of(pad, {of({2, 5}), ints({1, 1}), absent(), ints({-1})}) == Shape{2, 7});
    CHECK(shape_of(pad, {of({2, 5}), of({4}, DType::i64)}) == Shape{-1, -1});
    CHECK(idx_contains(error_of(pad, {of({2, 5}), ints({0, 0, 0})}), "pads"));
    CHECK(idx_contains(error_of(pad, {of({2, 5}), ints({0, -3, 0, -3})}), "crop"));
    CHECK(idx_contains(error_of(pad, {of({2, 5}), ints({0, idx_big, 0, 0})}), "2^40"));
    pad.mode = "reflect";
    CHECK(idx_contains(error_of(pad, {of({0, 5}), ints({1, 0, 0, 0})}), "no elements"));
    pad.mode = "mirror";
    CHECK(idx_contains(error_of(pad, {of({2, 5}), ints({0, 0, 0, 0})}), "mode"));
}

TEST_CASE("DepthToSpace, SpaceToDepth, Trilu, CumSum, NonZero, OneHot") {
    ops::DepthToSpace d2s;
    d2s.blocksize = 2;
    CHECK(shape_of(d2s, {of({1, 8, 2, 3})}) == Shape{1, 2, 4, 6});
    CHECK(shape_of(d2s, {of({1, -1, 2, -1})}) == Shape{1, -1, 4, -1});
    CHECK(idx_contains(error_of(d2s, {of({1, 6, 2, 3})}), "divisible"));
    CHECK(idx_contains(error_of(d2s, {of({8, 2, 3})}), "[N, C, H, W]"));
    d2s.mode = "RCD";
    CHECK(idx_contains(error_of(d2s, {of({1, 8, 2, 3})}), "mode"));
    ops::SpaceToDepth s2d;
    s2d.blocksize = 2;
    CHECK(shape_of(s2d, {of({1, 3, 4, 6})}) == Shape{1, 12, 2, 3});
    CHECK(idx_contains(error_of(s2d, {of({1, 3, 5, 6})}), "divisible"));
    s2d.blocksize = idx_big;
    CHECK(idx_contains(error_of(s2d, {of({1, 3, 4, 6})}), "blocksize"));

    CHECK(shape_of(ops::Trilu{}, {of({2, 3, 4})}) == Shape{2, 3, 4});
    CHECK(idx_contains(error_of(ops::Trilu{}, {of({4})}), "rank"));
    CHECK(shape_of(ops::CumSum{}, {of({2, 3}), constant(Tensor::ints({}, {-1}))}) == Shape{2, 3});
    CHECK(idx_contains(error_of(ops::CumSum{}, {of({2, 3}), constant(Tensor::ints({}, {2}))}), "axis"));
    const auto nz = infer1(ops::NonZero{}, {of({2, 3})});
    CHECK(nz.shape == Shape{2, -1});
    CHECK(nz.dtype == DType::i64);

    ops::OneHot oh;
    const operand depth = constant(Tensor::ints({}, {10})), values = constant(Tensor::floats({2}, {0, 1}));
    auto o = infer1(oh, {of({2, 3}, DType::i64), depth, values});
    CHECK(o.shape == Shape{2, 3, 10});
    CHECK(o.dtype == DType::f32);
    oh.axis = 0;
    CHECK(shape_of(oh, {of({2, 3}, DType::i64), of({}, DType::i64), values}) == Shape{-1, 2, 3});
    CHECK(shape_of(oh, {of({2, 3}, DType::i64), constant(Tensor::scalar(4.9f)), values}) == Shape{4, 2, 3});
    CHECK(idx_contains(error_of(oh, {of({2}, DType::i64), constant(Tensor::scalar(NAN)), values}), "depth"));
    CHECK(idx_contains(error_of(oh, {of({2}, DType::i64), constant(Tensor::ints({}, {0})), values}), "depth"));
    oh.axis = 3;
    CHECK(idx_contains(error_of(oh, {of({2, 3}, DType::i64), depth, values}), "axis"));
}

TEST_CASE("Einsum: shapes from the equation, unknown dims, errors") {
    ops::Einsum e;
    e.equation = "B G H I D, B G H J D -> B G H I J";
    CHECK(shape_of(e, {of({1, 64, 2, 49, 32}), of({1, 64, 2, 49, 32})}) == Shape{1, 64, 2, 49, 49});
    CHECK(shape_of(e, {of({-1, 64, 2, 49, 32}), of({1, 64, 2, -1, 32})}) == Shape{1, 64, 2, 49, -1});
    CHECK(!shape_of(e, {unknown(), of({1, 64, 2, 49, 32})}));
    CHECK(idx_contains(error_of(e, {of({1, 64, 2, 49, 32}), of({1, 64, 2, 49, 16})}), "size"));
    e.equation = "ij,jk";
    CHECK(shape_of(e, {of({2, 3}), of({3, 4})}) == Shape{2, 4});
    e.equation = "...ij,...jk->...ik";
    CHECK(shape_of(e, {of({5, 1, 2, 3}), of({7, 3, 4})}) == Shape{5, 7, 2, 4});
    CHECK(shape_of(e, {of({-1, 2, 3}), of({3, 4})}) == Shape{-1, 2, 4});
    e.equation = "ii->i";
    CHECK(shape_of(e, {of({3, 3})}) == Shape{3});
    CHECK(idx_contains(error_of(e, {of({3, 4})}), "size"));
    e.equation = "ij->jj";
    CHECK(idx_contains(error_of(e, {of({3, 4})}), "repeated"));
    e.equation = "ij,jk->ik";
    CHECK(idx_contains(error_of(e, {of({3, 4}), of({4, 5}, DType::i64)}), "type"));
}

TEST_CASE("reductions: axes constant or not, keepdims, noop_with_empty_axes; ArgMax") {
    ops::ReduceSum sum;
    CHECK(shape_of(sum, {of({2, 3, 4}), ints({1, -1})}) == Shape{2, 1, 1});
    sum.keepdims = 0;
    CHECK(shape_of(sum, {of({2, 3, 4}), ints({1, -1})}) == Shape{2});
    CHECK(shape_of(sum, {of({2, 3, 4})}) == Shape{});
    CHECK(shape_of(sum, {of({2, 3, 4}), of({2}, DType::i64)}) == Shape{-1}); // two axes go, which ones is unknown
    CHECK(!shape_of(sum, {of({2, 3, 4}), unknown(DType::i64)}));
    sum.noop_with_empty_axes = 1;
    CHECK(shape_of(sum, {of({2, 3, 4}), ints({})}) == Shape{2, 3, 4});
    CHECK(idx_contains(error_of(sum, {of({2, 3, 4}), ints({3})}), "axes"));
    CHECK(idx_contains(error_of(sum, {of({2, 3, 4}), ints({0, -3})}), "repeat"));
    CHECK(idx_contains(error_of(sum, {of({2, 3, 4}), constant(Tensor::floats({1}, {0}))}), "int64"));
    ops::ReduceLogSumExp lse;
    CHECK(shape_of(lse, {of({2, 3, 4}), of({1}, DType::i64)}) == Shape{-1, -1, -1});
    ops::ArgMax am;
    am.axis = -1;
    auto o = infer1(am, {of({2, 3, 4})});
    CHECK(o.shape == Shape{2, 3, 1});
    CHECK(o.dtype == DType::i64);
    am.keepdims = 0;
    CHECK(shape_of(am, {of({2, 3, 4})}) == Shape{2, 3});
    CHECK(idx_contains(error_of(am, {of({2, 0})}), "no elements"));
    CHECK(idx_contains(error_of(ops::ArgMin{}, {of({})}), "rank"));
}
