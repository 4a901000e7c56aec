// Tests of the indexing kernels against hand-computed values and direct formulas: Shape, Size,
// ConstantOfShape, Range, Gather(Elements, ND), Scatter(Elements, ND), Expand, Tile, Pad (every mode,
// negative pads, axes), DepthToSpace, SpaceToDepth, Trilu, CumSum, NonZero, OneHot and Einsum (the
// equations MaxViT exports, diagonals, ellipsis broadcasting, implicit output); hostile values fail
// with the node's name instead of overflowing.
#include "helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>

using namespace reftest;

namespace {

constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();

Tensor ints_of(const Shape& s, std::vector<std::int64_t> v, DType t = DType::i64) { return Tensor::ints(s, std::move(v), t); }

Tensor ints_iota(const Shape& s, std::int64_t start = 0) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(surgery::ir::numel(s)));
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = start + static_cast<std::int64_t>(k);
    return Tensor::ints(s, std::move(v));
}

/// A tensor with a shape and no data, like the stand-ins of constant folding.
Tensor shape_only(const Shape& s) {
    Tensor t;
    t.shape = s;
    return t;
}

bool near(const std::vector<float>& a, const std::vector<float>& b, double tol = 1e-5) { return a.size() == b.size() && max_rel_diff(a, b) < tol; }

/// Einsum by brute force over every assignment of the letters in `terms` (no ellipsis).
Tensor naive_einsum(const std::vector<std::string>& terms, const std::string& out, const std::vector<const Tensor*>& in) {
    std::map<char, std::int64_t> size;
    for (std::size_t t = 0; t < terms.size(); ++t)
        for (std::size_t d = 0; d < terms[t].size(); ++d) size[terms[t][d]] = in[t]->shape[d];
    std::vector<char> letters;
    for (const auto& [c, n] : size) letters.push_back(c);
    Shape os;
    for (char c : out) os.push_back(size[c]);
    std::vector<double> acc(static_cast<std::size_t>(surgery::ir::numel(os)), 0.0);
    std::map<char, std::int64_t> at;
    std::function<void(std::size_t)> rec = [&](std::size_t k) {
        if (k == letters.size()) {
            double p = 1;
            for (std::size_t t = 0; t < terms.size(); ++t) {
                std::vector<std::int64_t> idx;
                for (char c : terms[t]) idx.push_back(at[c]);
                p *= in[t]->f[static_cast<std::size_t>(ravel(idx, in[t]->shape))];
            }
            std::vector<std::int64_t> oi;
            for (char c : out) oi.push_back(at[c]);
            acc[static_cast<std::size_t>(ravel(oi, os))] += p;
            return;
        }
        for (std::int64_t v = 0; v < size[letters[k]]; ++v) {
            at[letters[k]] = v;
            rec(k + 1);
        }
    };
    rec(0);
    std::vector<float> f(acc.begin(), acc.end());
    return Tensor::floats(os, f);
}

Tensor einsum(const std::string& eq, const std::vector<const Tensor*>& in) {
    ops::Einsum op;
    op.equation = eq;
    return eval1(op, in);
}

} // namespace

TEST_CASE("Shape: start and end slice and clamp; only the shape is read") {
    const Tensor x = shape_only({2, 3, 4, 5});
    const Tensor y = eval1(ops::ShapeOf{}, {&x});
    CHECK(y.dtype == DType::i64);
    CHECK(y.i == std::vector<std::int64_t>{2, 3, 4, 5});
    auto sliced = [&](std::int64_t start, std::int64_t end) {
        ops::ShapeOf op;
        op.start = start;
        op.end = end;
        return eval1(op, {&x}).i;
    };
    CHECK(sliced(1, big) == std::vector<std::int64_t>{3, 4, 5});
    CHECK(sliced(1, 2) == std::vector<std::int64_t>{3});
    CHECK(sliced(0, -1) == std::vector<std::int64_t>{2, 3, 4});
    CHECK(sliced(-1, big) == std::vector<std::int64_t>{5});
    CHECK(sliced(-10, 10) == std::vector<std::int64_t>{2, 3, 4, 5}); // clamped
    CHECK(sliced(3, 1).empty());
    CHECK(sliced(std::numeric_limits<std::int64_t>::min(), big).size() == 4);
    const Tensor s = shape_only({});
    CHECK(eval1(ops::ShapeOf{}, {&s}).shape == Shape{0});
    const Tensor n = eval1(ops::Size{}, {&x});
    CHECK(n.shape == Shape{});
    CHECK(n.i == std::vector<std::int64_t>{120});
    CHECK(eval1(ops::Size{}, {&s}).i == std::vector<std::int64_t>{1});
}

TEST_CASE("ConstantOfShape: default float zero, typed values, empty shapes, hostile shapes") {
    const Tensor shape = Tensor::vector({2, 3});
    Tensor y = eval1(ops::ConstantOfShape{}, {&shape});
    CHECK(y.dtype == DType::f32);
    CHECK(y.shape == Shape{2, 3});
    CHECK(y.f == std::vector<float>(6, 0.0f));
    ops::ConstantOfShape ones;
    ones.value = std::make_shared<const Tensor>(Tensor::ints({1}, {1}, DType::i32));
    y = eval1(ones, {&shape});
    CHECK(y.dtype == DType::i32);
    CHECK(y.i == std::vector<std::int64_t>(6, 1));
    const Tensor scalar = Tensor::ints({0}, {});
    CHECK(eval1(ones, {&scalar}).shape == Shape{});
    const Tensor zero = Tensor::vector({0, 4});
    CHECK(eval1(ones, {&zero}).i.empty());
    const Tensor negative = Tensor::vector({2, -1});
    CHECK_THROWS_WITH_AS((void)eval1(ones, {&negative}), doctest::Contains("negative"), surgery::graph_error);
    const Tensor huge = Tensor::vector({std::int64_t{1} << 40, std::int64_t{1} << 40});
    CHECK_THROWS_WITH_AS((void)eval1(ones, {&huge}), doctest::Contains("2^62"), surgery::graph_error);
    ops::ConstantOfShape two;
    two.value = std::make_shared<const Tensor>(Tensor::floats({2}, {1, 2}));
    CHECK_THROWS_WITH_AS((void)eval1(two, {&shape}), doctest::Contains("one element"), surgery::graph_error);
    const Tensor fshape = Tensor::floats({1}, {2});
    CHECK_THROWS_AS((void)eval1(ones, {&fshape}), surgery::graph_error);
}

TEST_CASE("Range: float and integer, negative delta, extremes without overflow") {
    const Tensor s = Tensor::scalar(1), l = Tensor::scalar(5), d = Tensor::scalar(2);
    CHECK(eval1(ops::Range{}, {&s, &l, &d}).f == std::vector<float>{1, 3});
    const Tensor hs = Tensor::scalar(0), hl = Tensor::scalar(1), hd = Tensor::scalar(0.25f);
    CHECK(eval1(ops::Range{}, {&hs, &hl, &hd}).f == std::vector<float>{0, 0.25f, 0.5f, 0.75f});
    const Tensor a = ints_of({}, {10}, DType::i32), b = ints_of({}, {6}, DType::i32), c = ints_of({}, {-3}, DType::i32);
    const Tensor y = eval1(ops::Range{}, {&a, &b, &c});
    CHECK(y.dtype == DType::i32);
    CHECK(y.i == std::vector<std::int64_t>{10, 7});
    CHECK(eval1(ops::Range{}, {&b, &a, &c}).shape == Shape{0}); // empty: the limit is on the wrong side
    const Tensor lo = ints_of({}, {std::numeric_limits<std::int64_t>::min()}), hi = ints_of({}, {big}), step = ints_of({}, {big});
    CHECK(eval1(ops::Range{}, {&lo, &hi, &step}).i == std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), -1, big - 1});
    const Tensor one = ints_of({}, {1});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Range{}, {&lo, &hi, &one}), doctest::Contains("2^40"), surgery::graph_error);
    const Tensor zero = ints_of({}, {0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Range{}, {&lo, &hi, &zero}), doctest::Contains("delta is 0"), surgery::graph_error);
    const Tensor nan = Tensor::scalar(NAN);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Range{}, {&s, &nan, &d}), doctest::Contains("finite"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Range{}, {&s, &hi, &d}), doctest::Contains("one type"), surgery::graph_error);
}

TEST_CASE("Gather: axes, negative and multi-dimensional indices, integer data, bounds") {
    const Tensor x = iota({3, 4}, 0.0f);
    const Tensor idx = ints_of({2}, {2, -3});
    Tensor y = eval1(ops::Gather{}, {&x, &idx});
    CHECK(y.shape == Shape{2, 4});
    CHECK(y.f == std::vector<float>{8, 9, 10, 11, 0, 1, 2, 3});
    ops::Gather g1;
    g1.axis = -1;
    const Tensor idx2 = ints_of({2, 2}, {3, 0, 1, 1}, DType::i32);
    y = eval1(g1, {&x, &idx2});
    CHECK(y.shape == Shape{3, 2, 2});
    CHECK(y.f == std::vector<float>{3, 0, 1, 1, 7, 4, 5, 5, 11, 8, 9, 9});
    const Tensor scalar = ints_of({}, {1});
    y = eval1(g1, {&x, &scalar});
    CHECK(y.shape == Shape{3});
    CHECK(y.f == std::vector<float>{1, 5, 9});
    const Tensor xi = ints_iota({4});
    CHECK(eval1(ops::Gather{}, {&xi, &idx}).i == std::vector<std::int64_t>{2, 1});
    const Tensor none = ints_of({0}, {});
    CHECK(eval1(ops::Gather{}, {&x, &none}).shape == Shape{0, 4});
    const Tensor out = ints_of({1}, {3});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Gather{}, {&x, &out}), doctest::Contains("out of range"), surgery::graph_error);
    const Tensor far = ints_of({1}, {-big});
    CHECK_THROWS_AS((void)eval1(ops::Gather{}, {&x, &far}), surgery::graph_error);
    const Tensor fidx = Tensor::floats({1}, {0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Gather{}, {&x, &fidx}), doctest::Contains("int32 or int64"), surgery::graph_error);
}

TEST_CASE("GatherElements and GatherND: the ONNX examples, negative indices, batch_dims") {
    const Tensor d2 = Tensor::floats({2, 2}, {1, 2, 3, 4});
    ops::GatherElements ge;
    ge.axis = 1;
    const Tensor i2 = ints_of({2, 2}, {0, 0, 1, 0});
    CHECK(eval1(ge, {&d2, &i2}).f == std::vector<float>{1, 1, 4, 3});
    const Tensor d3 = iota({3, 3});
    const Tensor i3 = ints_of({2, 3}, {1, 2, 0, 2, 0, 0});
    CHECK(eval1(ops::GatherElements{}, {&d3, &i3}).f == std::vector<float>{4, 8, 3, 7, 2, 3});
    const Tensor neg = ints_of({2, 3}, {-1, -2, 0, -2, 0, 0});
    CHECK(eval1(ops::GatherElements{}, {&d3, &neg}).f == std::vector<float>{7, 5, 3, 4, 2, 3});
    const Tensor bad = ints_of({1, 1}, {3});
    CHECK_THROWS_AS((void)eval1(ops::GatherElements{}, {&d3, &bad}), surgery::graph_error);
    const Tensor wide = ints_of({1, 4}, {0, 0, 0, 0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::GatherElements{}, {&d3, &wide}), doctest::Contains("larger than data"), surgery::graph_error);

    const Tensor dn = ints_iota({2, 2});
    const Tensor pairs = ints_of({2, 2}, {0, 0, 1, 1});
    CHECK(eval1(ops::GatherND{}, {&dn, &pairs}).i == std::vector<std::int64_t>{0, 3});
    const Tensor rows = ints_of({2, 1}, {1, 0});
    Tensor y = eval1(ops::GatherND{}, {&dn, &rows});
    CHECK(y.shape == Shape{2, 2});
    CHECK(y.i == std::vector<std::int64_t>{2, 3, 0, 1});
    const Tensor db = ints_iota({2, 2, 2});
    ops::GatherND batched;
    batched.batch_dims = 1;
    y = eval1(batched, {&db, &rows});
    CHECK(y.shape == Shape{2, 2});
    CHECK(y.i == std::vector<std::int64_t>{2, 3, 4, 5});
    const Tensor negative = ints_of({1, 2}, {-1, -2});
    CHECK(eval1(ops::GatherND{}, {&dn, &negative}).i == std::vector<std::int64_t>{2});
    const Tensor too_long = ints_of({1, 3}, {0, 0, 0});
    CHECK_THROWS_AS((void)eval1(ops::GatherND{}, {&dn, &too_long}), surgery::graph_error);
}

TEST_CASE("ScatterElements and ScatterND: the ONNX examples and every reduction") {
    const Tensor data = Tensor::floats({1, 5}, {1, 2, 3, 4, 5});
    ops::ScatterElements se;
    se.axis = 1;
    const Tensor idx = ints_of({1, 2}, {1, 3});
    const Tensor upd = Tensor::floats({1, 2}, {1.1f, 2.1f});
    CHECK(eval1(se, {&data, &idx, &upd}).f == std::vector<float>{1, 1.1f, 3, 2.1f, 5});
    const Tensor dup = ints_of({1, 2}, {1, -4});
    se.reduction = "add";
    CHECK(near(eval1(se, {&data, &dup, &upd}).f, {1, 5.2f, 3, 4, 5}));
    se.reduction = "mul";
    CHECK(near(eval1(se, {&data, &dup, &upd}).f, {1, 2 * 1.1f * 2.1f, 3, 4, 5}));
    se.reduction = "max";
    CHECK(eval1(se, {&data, &dup, &upd}).f == std::vector<float>{1, 2.1f, 3, 4, 5});
    se.reduction = "min";
    CHECK(eval1(se, {&data, &dup, &upd}).f == std::vector<float>{1, 1.1f, 3, 4, 5});
    se.reduction = "sub";
    CHECK_THROWS_WITH_AS((void)eval1(se, {&data, &dup, &upd}), doctest::Contains("reduction"), surgery::graph_error);
    const Tensor d2 = Tensor::zeros({3, 3});
    const Tensor i2 = ints_of({2, 3}, {1, 0, 2, 0, 2, 1});
    const Tensor u2 = Tensor::floats({2, 3}, {1, 1.1f, 1.2f, 2, 2.1f, 2.2f});
    CHECK(eval1(ops::ScatterElements{}, {&d2, &i2, &u2}).f == std::vector<float>{2, 1.1f, 0, 1, 0, 2.2f, 0, 2.1f, 1.2f});

    const Tensor dn = Tensor::floats({8}, {1, 2, 3, 4, 5, 6, 7, 8});
    const Tensor in = ints_of({4, 1}, {4, 3, 1, 7});
    const Tensor un = Tensor::floats({4}, {9, 10, 11, 12});
    CHECK(eval1(ops::ScatterND{}, {&dn, &in, &un}).f == std::vector<float>{1, 11, 3, 10, 9, 6, 7, 12});
    ops::ScatterND add;
    add.reduction = "add";
    const Tensor twice = ints_of({2, 1}, {0, 0});
    const Tensor ut = Tensor::floats({2}, {5, 6});
    CHECK(eval1(add, {&dn, &twice, &ut}).f[0] == 12.0f);
    const Tensor di = ints_iota({2, 2});
    const Tensor row = ints_of({1, 1}, {1});
    const Tensor ui = ints_of({1, 2}, {big, big});
    add.reduction = "add";
    constexpr std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
    CHECK(eval1(add, {&di, &row, &ui}).i == std::vector<std::int64_t>{0, 1, lowest + 1, lowest + 2}); // 2 + (2^63 - 1) wraps
    const Tensor bad_updates = Tensor::floats({3}, {1, 2, 3});
    CHECK_THROWS_WITH_AS((void)eval1(ops::ScatterND{}, {&dn, &in, &bad_updates}), doctest::Contains("updates"), surgery::graph_error);
}

TEST_CASE("Expand: bidirectional broadcasting, integer and bool data, hostile shapes") {
    const Tensor x = Tensor::floats({3, 1}, {1, 2, 3});
    const Tensor s1 = Tensor::vector({2, 1, 6});
    Tensor y = eval1(ops::Expand{}, {&x, &s1});
    CHECK(y.shape == Shape{2, 3, 6});
    for (std::int64_t k = 0; k < 36; ++k) CHECK(y.f[static_cast<std::size_t>(k)] == static_cast<float>((k / 6) % 3 + 1));
    const Tensor s2 = Tensor::vector({3, 4});
    y = eval1(ops::Expand{}, {&x, &s2});
    CHECK(y.f == std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
    const Tensor keep = Tensor::vector({1});
    CHECK(eval1(ops::Expand{}, {&x, &keep}) == x); // a 1 keeps the input's dim
    const Tensor b = ints_of({2}, {1, 0}, DType::boolean);
    const Tensor s3 = Tensor::vector({2, 2});
    y = eval1(ops::Expand{}, {&b, &s3});
    CHECK(y.dtype == DType::boolean);
    CHECK(y.i == std::vector<std::int64_t>{1, 0, 1, 0});
    const Tensor bad = Tensor::vector({2, 2});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Expand{}, {&x, &bad}), doctest::Contains("cannot be broadcast"), surgery::graph_error);
    const Tensor neg = Tensor::vector({-1});
    CHECK_THROWS_AS((void)eval1(ops::Expand{}, {&x, &neg}), surgery::graph_error);
    const Tensor huge = Tensor::vector({big, 3, 1});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Expand{}, {&x, &huge}), doctest::Contains("2^40"), surgery::graph_error);
    const Tensor zero = Tensor::vector({0, 1, 1});
    CHECK(eval1(ops::Expand{}, {&x, &zero}).shape == Shape{0, 3, 1});
}

TEST_CASE("Tile: repeats per axis, zero repeats, hostile repeats") {
    const Tensor x = Tensor::floats({2, 2}, {1, 2, 3, 4});
    const Tensor r = Tensor::vector({2, 3});
    const Tensor y = eval1(ops::Tile{}, {&x, &r});
    CHECK(y.shape == Shape{4, 6});
    CHECK(y.f == std::vector<float>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
    const Tensor xi = ints_iota({3});
    const Tensor r2 = Tensor::vector({2});
    CHECK(eval1(ops::Tile{}, {&xi, &r2}).i == std::vector<std::int64_t>{0, 1, 2, 0, 1, 2});
    const Tensor r0 = Tensor::vector({0, 1});
    CHECK(eval1(ops::Tile{}, {&x, &r0}).shape == Shape{0, 2});
    const Tensor short_r = Tensor::vector({2});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Tile{}, {&x, &short_r}), doctest::Contains("rank"), surgery::graph_error);
    const Tensor neg = Tensor::vector({-1, 1});
    CHECK_THROWS_AS((void)eval1(ops::Tile{}, {&x, &neg}), surgery::graph_error);
    const Tensor huge = Tensor::vector({std::int64_t{1} << 40, std::int64_t{1} << 40});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Tile{}, {&x, &huge}), doctest::Contains("2^40"), surgery::graph_error);
    const Tensor s = Tensor::scalar(5);
    const Tensor none = Tensor::ints({0}, {});
    CHECK(eval1(ops::Tile{}, {&s, &none}).f == std::vector<float>{5});
}

TEST_CASE("Pad: constant, reflect, edge and wrap (the ONNX examples), negative pads, axes") {
    const Tensor x = Tensor::floats({3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
    const Tensor pads = Tensor::vector({0, 2, 0, 0});
    ops::Pad constant;
    Tensor y = eval1(constant, {&x, &pads});
    CHECK(y.shape == Shape{3, 4});
    CHECK(y.f == std::vector<float>{0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f});
    const Tensor value = Tensor::scalar(-1);
    CHECK(eval1(constant, {&x, &pads, &value}).f[0] == -1.0f);
    ops::Pad reflect;
    reflect.mode = "reflect";
    CHECK(eval1(reflect, {&x, &pads}).f == std::vector<float>{1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f});
    ops::Pad edge;
    edge.mode = "edge";
    CHECK(eval1(edge, {&x, &pads}).f == std::vector<float>{1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f});
    ops::Pad wrap;
    wrap.mode = "wrap";
    const Tensor wp = Tensor::vector({2, 1, 1, 1});
    y = eval1(wrap, {&x, &wp});
    CHECK(y.shape == Shape{6, 4});
    CHECK(y.f == std::vector<float>{3.4f, 2.3f, 3.4f, 2.3f, 5.7f, 4.5f, 5.7f, 4.5f, 1.2f, 1.0f, 1.2f, 1.0f,
                                    3.4f, 2.3f, 3.4f, 2.3f, 5.7f, 4.5f, 5.7f, 4.5f, 1.2f, 1.0f, 1.2f, 1.0f});
    // Beyond the data: reflect and wrap repeat periodically (numpy's np.pad).
    const Tensor v = Tensor::floats({3}, {1, 2, 3});
    const Tensor p40 = Tensor::vector({4, 0});
    CHECK(eval1(reflect, {&v, &p40}).f == std::vector<float>{1, 2, 3, 2, 1, 2, 3});
    const Tensor p54 = Tensor::vector({5, 4});
    CHECK(eval1(wrap, {&v, &p54}).f == std::vector<float>{2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1});
    const Tensor single = Tensor::floats({1}, {7});
    const Tensor p22 = Tensor::vector({2, 2});
    CHECK(eval1(reflect, {&single, &p22}).f == std::vector<float>(5, 7.0f));
    // Negative pads crop; the other modes pad the cropped data.
    const Tensor w = Tensor::floats({5}, {1, 2, 3, 4, 5});
    const Tensor crop = Tensor::vector({-1, 2});
    CHECK(eval1(constant, {&w, &crop}).f == std::vector<float>{2, 3, 4, 5, 0, 0});
    CHECK(eval1(reflect, {&w, &crop}).f == std::vector<float>{2, 3, 4, 5, 4, 3});
    CHECK(eval1(edge, {&w, &crop}).f == std::vector<float>{2, 3, 4, 5, 5, 5});
    const Tensor crop_all = Tensor::vector({-2, -3});
    CHECK(eval1(constant, {&w, &crop_all}).shape == Shape{0});
    const Tensor crop_more = Tensor::vector({-3, -3});
    CHECK_THROWS_WITH_AS((void)eval1(constant, {&w, &crop_more}), doctest::Contains("crop"), surgery::graph_error);
    // axes (opset 18): pads for the listed axes only.
    const Tensor one_axis = Tensor::vector({1, 0});
    const Tensor last = Tensor::vector({-1});
    y = eval1(constant, {&x, &one_axis, &value, &last});
    CHECK(y.shape == Shape{3, 3});
    CHECK(y.f == std::vector<float>{-1, 1.0f, 1.2f, -1, 2.3f, 3.4f, -1, 4.5f, 5.7f});
    // Integer and bool data; a float fill value (the legacy attribute) converted to the data's type.
    const Tensor xi = ints_of({2}, {5, 6}, DType::i32);
    const Tensor p11 = Tensor::vector({1, 1});
    const Tensor fill = Tensor::scalar(-7.9f);
    y = eval1(constant, {&xi, &p11, &fill});
    CHECK(y.dtype == DType::i32);
    CHECK(y.i == std::vector<std::int64_t>{-7, 5, 6, -7});
    const Tensor nan_fill = Tensor::scalar(NAN);
    CHECK(eval1(constant, {&xi, &p11, &nan_fill}).i == std::vector<std::int64_t>{0, 5, 6, 0});
    const Tensor xb = ints_of({1}, {1}, DType::boolean);
    CHECK(eval1(edge, {&xb, &p11}).i == std::vector<std::int64_t>{1, 1, 1});
    // Errors.
    const Tensor odd = Tensor::vector({1, 1, 1});
    CHECK_THROWS_WITH_AS((void)eval1(constant, {&x, &odd}), doctest::Contains("twice"), surgery::graph_error);
    const Tensor empty = Tensor::floats({0}, {});
    CHECK_THROWS_WITH_AS((void)eval1(reflect, {&empty, &p11}), doctest::Contains("no elements"), surgery::graph_error);
    CHECK(eval1(constant, {&empty, &p11}).f == std::vector<float>{0, 0});
    const Tensor huge = Tensor::vector({big, 0});
    CHECK_THROWS_WITH_AS((void)eval1(constant, {&v, &huge}), doctest::Contains("outside"), surgery::graph_error);
    ops::Pad unknown;
    unknown.mode = "symmetric";
    CHECK_THROWS_WITH_AS((void)eval1(unknown, {&v, &p11}), doctest::Contains("mode"), surgery::graph_error);
}

TEST_CASE("DepthToSpace (DCR, CRD) and SpaceToDepth against their index formulas") {
    const std::int64_t b = 2, n = 2, c = 8, h = 2, w = 3, c2 = c / (b * b);
    const Tensor x = iota({n, c, h, w}, 0.0f);
    ops::DepthToSpace dcr;
    dcr.blocksize = b;
    ops::DepthToSpace crd = dcr;
    crd.mode = "CRD";
    const Tensor yd = eval1(dcr, {&x}), yc = eval1(crd, {&x});
    REQUIRE(yd.shape == Shape{n, c2, h * b, w * b});
    REQUIRE(yc.shape == yd.shape);
    bool ok = true;
    for (std::int64_t k = 0; k < x.size(); ++k) {
        const auto o = unravel(k, yd.shape); // [n, c', h b + i, w b + j]
        const std::int64_t i = o[2] % b, j = o[3] % b, hh = o[2] / b, ww = o[3] / b;
        const std::int64_t from_dcr = ravel({o[0], (i * b + j) * c2 + o[1], hh, ww}, x.shape);
        const std::int64_t from_crd = ravel({o[0], o[1] * b * b + i * b + j, hh, ww}, x.shape);
        ok = ok && yd.f[static_cast<std::size_t>(k)] == x.f[static_cast<std::size_t>(from_dcr)];
        ok = ok && yc.f[static_cast<std::size_t>(k)] == x.f[static_cast<std::size_t>(from_crd)];
    }
    CHECK(ok);
    ops::SpaceToDepth s2d;
    s2d.blocksize = b;
    CHECK(eval1(s2d, {&yd}) == x); // the inverse of DCR
    const Tensor xi = ints_iota({1, 4, 1, 1});
    CHECK(eval1(dcr, {&xi}).i == std::vector<std::int64_t>{0, 1, 2, 3});
    crd.blocksize = 3;
    CHECK_THROWS_WITH_AS((void)eval1(crd, {&x}), doctest::Contains("divisible"), surgery::graph_error);
    s2d.blocksize = 4;
    CHECK_THROWS_WITH_AS((void)eval1(s2d, {&x}), doctest::Contains("divisible"), surgery::graph_error);
    dcr.blocksize = 0;
    CHECK_THROWS_WITH_AS((void)eval1(dcr, {&x}), doctest::Contains("blocksize"), surgery::graph_error);
    const Tensor empty = Tensor::floats({1, std::int64_t{1} << 30, 0, 0}, {});
    s2d.blocksize = std::int64_t{1} << 20;
    CHECK_THROWS_WITH_AS((void)eval1(s2d, {&empty}), doctest::Contains("2^40"), surgery::graph_error);
}

TEST_CASE("Trilu: upper and lower with k, batches, huge k") {
    const Tensor x = iota({3, 4});
    ops::Trilu up;
    CHECK(eval1(up, {&x}).f == std::vector<float>{1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12});
    const Tensor k1 = ints_of({}, {1});
    CHECK(eval1(up, {&x, &k1}).f == std::vector<float>{0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12});
    ops::Trilu low;
    low.upper = 0;
    CHECK(eval1(low, {&x}).f == std::vector<float>{1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0});
    const Tensor km1 = ints_of({}, {-1});
    CHECK(eval1(low, {&x, &km1}).f == std::vector<float>{0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
    const Tensor kbig = ints_of({}, {big});
    CHECK(eval1(low, {&x, &kbig}) == x);
    CHECK(eval1(up, {&x, &kbig}).f == std::vector<float>(12, 0.0f));
    const Tensor ksmall = ints_of({}, {std::numeric_limits<std::int64_t>::min()});
    CHECK(eval1(up, {&x, &ksmall}) == x);
    const Tensor xb = ints_iota({2, 2, 2}, 1);
    CHECK(eval1(up, {&xb}).i == std::vector<std::int64_t>{1, 2, 0, 4, 5, 6, 0, 8});
    const Tensor v = iota({3});
    CHECK_THROWS_WITH_AS((void)eval1(up, {&v}), doctest::Contains("rank >= 2"), surgery::graph_error);
}

TEST_CASE("CumSum: exclusive, reverse, axes, integer wrap-around") {
    const Tensor x = Tensor::floats({5}, {1, 2, 3, 4, 5});
    const Tensor a0 = ints_of({}, {0});
    ops::CumSum op;
    CHECK(eval1(op, {&x, &a0}).f == std::vector<float>{1, 3, 6, 10, 15});
    op.exclusive = 1;
    CHECK(eval1(op, {&x, &a0}).f == std::vector<float>{0, 1, 3, 6, 10});
    op.reverse = 1;
    CHECK(eval1(op, {&x, &a0}).f == std::vector<float>{14, 12, 9, 5, 0});
    op.exclusive = 0;
    CHECK(eval1(op, {&x, &a0}).f == std::vector<float>{15, 14, 12, 9, 5});
    const Tensor m = iota({2, 3});
    const Tensor a1 = ints_of({1}, {-1}, DType::i32);
    CHECK(eval1(ops::CumSum{}, {&m, &a1}).f == std::vector<float>{1, 3, 6, 4, 9, 15});
    CHECK(eval1(ops::CumSum{}, {&m, &a0}).f == std::vector<float>{1, 2, 3, 5, 7, 9});
    const Tensor xi = ints_of({2}, {big, 1});
    CHECK(eval1(ops::CumSum{}, {&xi, &a0}).i == std::vector<std::int64_t>{big, std::numeric_limits<std::int64_t>::min()});
    const Tensor x32 = ints_of({2}, {2147483647, 1}, DType::i32);
    CHECK(eval1(ops::CumSum{}, {&x32, &a0}).i == std::vector<std::int64_t>{2147483647, -2147483648LL});
    const Tensor a2 = ints_of({}, {2});
    CHECK_THROWS_AS((void)eval1(ops::CumSum{}, {&m, &a2}), surgery::graph_error);
    const Tensor fa = Tensor::scalar(0);
    CHECK_THROWS_AS((void)eval1(ops::CumSum{}, {&m, &fa}), surgery::graph_error);
}

TEST_CASE("NonZero and OneHot") {
    const Tensor x = Tensor::floats({2, 2}, {1, 0, 1, NAN});
    Tensor y = eval1(ops::NonZero{}, {&x});
    CHECK(y.dtype == DType::i64);
    CHECK(y.shape == Shape{2, 3});
    CHECK(y.i == std::vector<std::int64_t>{0, 1, 1, 0, 0, 1});
    const Tensor s = ints_of({}, {3});
    CHECK(eval1(ops::NonZero{}, {&s}).shape == Shape{1, 1});
    const Tensor z = Tensor::zeros({3});
    CHECK(eval1(ops::NonZero{}, {&z}).shape == Shape{1, 0});

    const Tensor idx = ints_of({4}, {0, 2, -1, 5});
    const Tensor depth = ints_of({}, {3});
    const Tensor values = Tensor::floats({2}, {-1, 1});
    y = eval1(ops::OneHot{}, {&idx, &depth, &values});
    CHECK(y.shape == Shape{4, 3});
    CHECK(y.f == std::vector<float>{1, -1, -1, -1, -1, 1, -1, -1, 1, -1, -1, -1});
    ops::OneHot first;
    first.axis = 0;
    y = eval1(first, {&idx, &depth, &values});
    CHECK(y.shape == Shape{3, 4});
    CHECK(y.f == std::vector<float>{1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 1, -1});
    const Tensor fidx = Tensor::floats({2}, {1.7f, NAN});
    const Tensor fdepth = Tensor::scalar(2.0f);
    const Tensor ivalues = ints_of({2}, {0, 7});
    y = eval1(ops::OneHot{}, {&fidx, &fdepth, &ivalues});
    CHECK(y.dtype == DType::i64);
    CHECK(y.i == std::vector<std::int64_t>{0, 7, 0, 0});
    const Tensor zero = ints_of({}, {0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::OneHot{}, {&idx, &zero, &values}), doctest::Contains("depth"), surgery::graph_error);
    const Tensor nan_depth = Tensor::scalar(NAN);
    CHECK_THROWS_WITH_AS((void)eval1(ops::OneHot{}, {&idx, &nan_depth, &values}), doctest::Contains("depth"), surgery::graph_error);
    const Tensor three = Tensor::floats({3}, {0, 1, 2});
    CHECK_THROWS_WITH_AS((void)eval1(ops::OneHot{}, {&idx, &depth, &three}), doctest::Contains("two elements"), surgery::graph_error);
}

TEST_CASE("Einsum: matrix products, the MaxViT attention equations, implicit output, against brute force") {
    std::mt19937_64 rng(11);
    const Tensor a = random_tensor({3, 4}, rng), b = random_tensor({4, 5}, rng), c = random_tensor({5, 2}, rng);
    CHECK(near(einsum("ij,jk->ik", {&a, &b}).f, naive_einsum({"ij", "jk"}, "ik", {&a, &b}).f));
    CHECK(near(einsum("ij,jk", {&a, &b}).f, naive_einsum({"ij", "jk"}, "ik", {&a, &b}).f)); // implicit
    CHECK(near(einsum("ij, jk ,kl -> il", {&a, &b, &c}).f, naive_einsum({"ij", "jk", "kl"}, "il", {&a, &b, &c}).f));
    CHECK(near(einsum("ij,jk->ki", {&a, &b}).f, naive_einsum({"ij", "jk"}, "ki", {&a, &b}).f));
    CHECK(einsum("ij->ji", {&a}).shape == Shape{4, 3});
    CHECK(near(einsum("ij->ji", {&a}).f, naive_einsum({"ij"}, "ji", {&a}).f));
    CHECK(near(einsum("ij->", {&a}).f, naive_einsum({"ij"}, "", {&a}).f));
    const Tensor cb = random_tensor({2, 3}, rng);
    CHECK(einsum("ba,cb", {&a, &cb}).shape == Shape{4, 2}); // implicit output in ASCII order: a, c
    CHECK(near(einsum("ba,cb", {&a, &cb}).f, naive_einsum({"ba", "cb"}, "ac", {&a, &cb}).f));
    const Tensor u = random_tensor({5}, rng), v = random_tensor({5}, rng);
    CHECK(near(einsum("i,i", {&u, &v}).f, naive_einsum({"i", "i"}, "", {&u, &v}).f));
    CHECK(near(einsum("i,j->ij", {&u, &v}).f, naive_einsum({"i", "j"}, "ij", {&u, &v}).f));
    // Letters summed in one operand only; a label in all three operands and the output.
    const Tensor p = random_tensor({2, 3, 4}, rng), q = random_tensor({2, 4}, rng), r = random_tensor({2, 3}, rng);
    CHECK(near(einsum("bij,bj,bi->b", {&p, &q, &r}).f, naive_einsum({"bij", "bj", "bi"}, "b", {&p, &q, &r}).f));
    CHECK(near(einsum("bij,bj->i", {&p, &q}).f, naive_einsum({"bij", "bj"}, "i", {&p, &q}).f));
    // MaxViT (torchvision 0.14): attention scores and the weighted values, upper-case labels with spaces.
    const Tensor qk = random_tensor({1, 4, 2, 7, 5}, rng), kk = random_tensor({1, 4, 2, 7, 5}, rng);
    const Tensor s = einsum("B G H I D, B G H J D -> B G H I J", {&qk, &kk});
    CHECK(s.shape == Shape{1, 4, 2, 7, 7});
    CHECK(near(s.f, naive_einsum({"BGHID", "BGHJD"}, "BGHIJ", {&qk, &kk}).f));
    const Tensor vv = random_tensor({1, 4, 2, 7, 5}, rng);
    const Tensor o = einsum("B G H I J, B G H J D -> B G H I D", {&s, &vv});
    CHECK(o.shape == Shape{1, 4, 2, 7, 5});
    CHECK(near(o.f, naive_einsum({"BGHIJ", "BGHJD"}, "BGHID", {&s, &vv}).f));
    // Zero-size contraction: zeros.
    const Tensor e1 = Tensor::floats({2, 0}, {}), e2 = Tensor::floats({0, 3}, {});
    CHECK(einsum("ij,jk->ik", {&e1, &e2}).f == std::vector<float>(6, 0.0f));
}

TEST_CASE("Einsum: diagonals, traces, ellipsis broadcasting, integers, errors") {
    const Tensor m = iota({3, 3}, 0.0f);
    CHECK(einsum("ii->i", {&m}).f == std::vector<float>{0, 4, 8});
    CHECK(einsum("ii", {&m}).f == std::vector<float>{12}); // trace: a repeated label is summed in implicit mode
    const Tensor bm = iota({2, 3, 3}, 0.0f);
    const Tensor d = einsum("...ii->...i", {&bm});
    CHECK(d.shape == Shape{2, 3});
    CHECK(d.f == std::vector<float>{0, 4, 8, 9, 13, 17});
    const Tensor t3 = iota({2, 2, 2}, 0.0f);
    CHECK(einsum("iii->i", {&t3}).f == std::vector<float>{0, 7});
    // Ellipsis dims broadcast from 1 across operands, in implicit and explicit outputs.
    std::mt19937_64 rng(5);
    const Tensor x = random_tensor({2, 1, 3, 4}, rng), y = random_tensor({5, 4, 2}, rng);
    const Tensor z = einsum("...ij,...jk->...ik", {&x, &y});
    CHECK(z.shape == Shape{2, 5, 3, 2});
    const Tensor z2 = einsum("...ij,...jk", {&x, &y});
    CHECK(z2.shape == Shape{2, 5, 3, 2});
    const Tensor xb = Tensor::floats({2, 5, 3, 4}, [&] {
        std::vector<float> v;
        for (std::int64_t a = 0; a < 2; ++a)
            for (std::int64_t bb = 0; bb < 5; ++bb)
                for (std::int64_t k = 0; k < 12; ++k) v.push_back(x.f[static_cast<std::size_t>(a * 12 + k)]);
        return v;
    }());
    const Tensor yb = Tensor::floats({2, 5, 4, 2}, [&] {
        std::vector<float> v;
        for (std::int64_t a = 0; a < 2; ++a)
            for (std::int64_t k = 0; k < 40; ++k) v.push_back(y.f[static_cast<std::size_t>(k)]);
        return v;
    }());
    const Tensor expect = naive_einsum({"abij", "abjk"}, "abik", {&xb, &yb});
    CHECK(near(z.f, expect.f));
    CHECK(near(z2.f, expect.f));
    // Integers wrap.
    const Tensor ia = ints_of({1, 2}, {big, 2}), ib = ints_of({2, 1}, {2, 1});
    ops::Einsum mm;
    mm.equation = "ij,jk->ik";
    const Tensor iy = eval1(mm, {&ia, &ib});
    CHECK(iy.dtype == DType::i64);
    CHECK(iy.i == std::vector<std::int64_t>{0}); // 2 * (2^63 - 1) + 2 wraps to 0
    const Tensor i32 = ints_of({2}, {3, 4}, DType::i32);
    mm.equation = "i,i";
    CHECK(eval1(mm, {&i32, &i32}).i == std::vector<std::int64_t>{25});
    // Errors name the node.
    auto fails = [&](const std::string& eq, const std::vector<const Tensor*>& in, const char* what) {
        CAPTURE(eq);
        CHECK_THROWS_WITH_AS((void)einsum(eq, in), doctest::Contains(what), surgery::graph_error);
    };
    const Tensor a = iota({3, 4});
    fails("ij,jk->ik", {&a}, "input terms");
    fails("ijk->i", {&a}, "rank");
    fails("ij,ij->i", {&a, &m}, "size");
    fails("i1->i", {&a}, "letters");
    fails("ij->k", {&a}, "no input");
    fails("ij->ii", {&a}, "repeated");
    fails("ij->...ij", {&a}, "...");
    fails("...ij->ij", {&bm}, "...");
    fails("i..j->i", {&a}, "letters");
    const Tensor mixed = ints_of({3, 4}, std::vector<std::int64_t>(12, 1));
    fails("ij,ij->", {&a, &mixed}, "type");
    const Tensor bools = ints_of({2}, {1, 0}, DType::boolean);
    fails("i->i", {&bools}, "not supported");
}

TEST_CASE("Einsum: the equations of ONNX's own tests (float64 there, out of scope) in float32") {
    std::mt19937_64 rng(3);
    const Tensor x = random_tensor({3, 5, 5}, rng);
    CHECK(near(einsum("...ii ->...i", {&x}).f, naive_einsum({"bii"}, "bi", {&x}).f));
    const Tensor a = random_tensor({5, 2, 3}, rng), b = random_tensor({5, 3, 4}, rng);
    CHECK(near(einsum("bij, bjk -> bik", {&a, &b}).f, naive_einsum({"bij", "bjk"}, "bik", {&a, &b}).f));
    const Tensor u = random_tensor({5}, rng), v = random_tensor({5}, rng);
    CHECK(near(einsum("i,i", {&u, &v}).f, naive_einsum({"i", "i"}, "", {&u, &v}).f));
    const Tensor m = random_tensor({3, 4}, rng);
    CHECK(near(einsum("ij->i", {&m}).f, naive_einsum({"ij"}, "i", {&m}).f));
    CHECK(near(einsum("ij->ji", {&m}).f, naive_einsum({"ij"}, "ji", {&m}).f));
}
