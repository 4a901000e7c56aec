// Tests of the data-movement kernels on float and int64 tensors: Reshape, Flatten, Transpose,
// Concat, Slice (negative steps, clamping), Split, Squeeze, Unsqueeze, Identity, Dropout, Constant.
#include "helpers.hpp"

#include <algorithm>
#include <limits>
#include <memory>

using namespace reftest;

namespace {
Tensor shape_ints_iota(const Shape& s, std::int64_t start = 0) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(surgery::ir::numel(s)));
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = start + static_cast<std::int64_t>(k);
    return Tensor::ints(s, std::move(v));
}
} // namespace

TEST_CASE("Reshape: 0 copies a dim, -1 is inferred, allowzero keeps 0") {
    const Tensor x = iota({2, 3, 4});
    const Tensor s1 = Tensor::vector({0, -1});
    Tensor y = eval1(ops::Reshape{}, {&x, &s1});
    CHECK(y.shape == Shape{2, 12});
    CHECK(y.f == x.f);
    const Tensor s2 = Tensor::vector({4, 0, -1});
    CHECK(eval1(ops::Reshape{}, {&x, &s2}).shape == Shape{4, 3, 2});
    const Tensor empty = Tensor::floats({0, 3, 4}, {});
    const Tensor s3 = Tensor::vector({3, 4, 0});
    ops::Reshape az;
    az.allowzero = 1;
    CHECK(eval1(az, {&empty, &s3}).shape == Shape{3, 4, 0});
    const Tensor bad = Tensor::vector({5, -1});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Reshape{}, {&x, &bad}), doctest::Contains("cannot reshape"), surgery::graph_error);
    const Tensor two = Tensor::vector({-1, -1});
    CHECK_THROWS_AS((void)eval1(ops::Reshape{}, {&x, &two}), surgery::graph_error);
    const Tensor fshape = Tensor::floats({2}, {2, 12});
    CHECK_THROWS_AS((void)eval1(ops::Reshape{}, {&x, &fshape}), surgery::graph_error);
    const Tensor xi = shape_ints_iota({6});
    const Tensor s4 = Tensor::vector({3, 2});
    const Tensor yi = eval1(ops::Reshape{}, {&xi, &s4});
    CHECK(yi.dtype == DType::i64);
    CHECK(yi.i == xi.i);
}

TEST_CASE("Flatten, Squeeze, Unsqueeze, Identity") {
    const Tensor x = iota({2, 1, 3, 1});
    ops::Flatten f;
    f.axis = 2;
    CHECK(eval1(f, {&x}).shape == Shape{2, 3});
    f.axis = 0;
    CHECK(eval1(f, {&x}).shape == Shape{1, 6});
    f.axis = -1;
    CHECK(eval1(f, {&x}).shape == Shape{6, 1});
    f.axis = 4;
    CHECK(eval1(f, {&x}).shape == Shape{6, 1});
    f.axis = 5;
    CHECK_THROWS_AS((void)eval1(f, {&x}), surgery::graph_error);
    CHECK(eval1(ops::Squeeze{}, {&x}).shape == Shape{2, 3});
    const Tensor ax = Tensor::vector({-1});
    CHECK(eval1(ops::Squeeze{}, {&x, &ax}).shape == Shape{2, 1, 3});
    const Tensor ax0 = Tensor::vector({0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Squeeze{}, {&x, &ax0}), doctest::Contains("cannot squeeze"), surgery::graph_error);
    const Tensor v = iota({3});
    const Tensor ua = Tensor::vector({2, 0, -1});
    const Tensor u = eval1(ops::Unsqueeze{}, {&v, &ua});
    CHECK(u.shape == Shape{1, 3, 1, 1});
    CHECK(u.f == v.f);
    const Tensor dup = Tensor::vector({1, 1});
    CHECK_THROWS_AS((void)eval1(ops::Unsqueeze{}, {&v, &dup}), surgery::graph_error);
    const Tensor s = shape_ints_iota({});
    CHECK(eval1(ops::Unsqueeze{}, {&s, &ax0}).shape == Shape{1});
    const Tensor xi = shape_ints_iota({2, 2});
    CHECK(eval1(ops::Identity{}, {&xi}) == xi);
}

TEST_CASE("Dropout at inference is the identity with an all-true mask") {
    const Tensor x = iota({2, 3});
    auto r = eval(ops::Dropout{}, {&x}, 2);
    CHECK(r[0] == x);
    CHECK(r[1].dtype == DType::boolean);
    CHECK(r[1].shape == x.shape);
    CHECK(std::all_of(r[1].i.begin(), r[1].i.end(), [](auto b) { return b == 1; }));
    const Tensor ratio = Tensor::scalar(0.3f);
    const Tensor train = Tensor::ints({}, {1}, DType::boolean);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Dropout{}, {&x, &ratio, &train}), doctest::Contains("training"), surgery::graph_error);
    const Tensor zero = Tensor::scalar(0.0f);
    CHECK(eval1(ops::Dropout{}, {&x, &zero, &train}) == x);
}

TEST_CASE("Transpose: every permutation of a rank-4 tensor, with size-1 dims, float and int") {
    const Shape shapes[] = {{2, 3, 4, 5}, {1, 3, 1, 5}, {2, 1, 4, 1}, {3, 17, 19, 2}};
    for (const Shape& s : shapes) {
        const Tensor x = iota(s, 0.0f);
        const Tensor xi = shape_ints_iota(s);
        std::vector<std::int64_t> perm{0, 1, 2, 3};
        do {
            CAPTURE(surgery::ir::to_string(perm));
            CAPTURE(surgery::ir::to_string(s));
            ops::Transpose op;
            op.perm = perm;
            const Tensor y = eval1(op, {&x});
            Shape out(4);
            for (std::size_t j = 0; j < 4; ++j) out[j] = s[static_cast<std::size_t>(perm[j])];
            REQUIRE(y.shape == out);
            bool ok = true;
            for (std::int64_t k = 0; k < surgery::ir::numel(out); ++k) {
                const auto o = unravel(k, out);
                std::vector<std::int64_t> in(4);
                for (std::size_t j = 0; j < 4; ++j) in[static_cast<std::size_t>(perm[j])] = o[j];
                ok = ok && y.f[static_cast<std::size_t>(k)] == x.f[static_cast<std::size_t>(ravel(in, s))];
            }
            CHECK(ok);
            const Tensor yi = eval1(op, {&xi});
            for (std::size_t k = 0; k < yi.i.size(); ++k) ok = ok && static_cast<float>(yi.i[k]) == y.f[k];
            CHECK(ok);
        } while (std::next_permutation(perm.begin(), perm.end()));
    }
    const Tensor x = iota({2, 3});
    CHECK(eval1(ops::Transpose{}, {&x}).f == std::vector<float>{1, 4, 2, 5, 3, 6}); // default: reversed
    ops::Transpose bad;
    bad.perm = {0, 0};
    CHECK_THROWS_AS((void)eval1(bad, {&x}), surgery::graph_error);
}

TEST_CASE("Concat on any axis, float and int") {
    const Tensor a = iota({2, 2, 3}), b = iota({2, 1, 3}, 100.0f);
    ops::Concat op;
    op.axis = -2;
    const Tensor y = eval1(op, {&a, &b});
    CHECK(y.shape == Shape{2, 3, 3});
    CHECK(y.f == std::vector<float>{1, 2, 3, 4, 5, 6, 100, 101, 102, 7, 8, 9, 10, 11, 12, 103, 104, 105});
    op.axis = 0;
    CHECK_THROWS_WITH_AS((void)eval1(op, {&a, &b}), doctest::Contains("off the concat axis"), surgery::graph_error);
    const Tensor i1 = Tensor::vector({1, 2}), i2 = Tensor::vector({3});
    const Tensor yi = eval1(op, {&i1, &i2});
    CHECK(yi.i == std::vector<std::int64_t>{1, 2, 3});
    CHECK_THROWS_WITH_AS((void)eval1(op, {&i1, &a}), doctest::Contains("type"), surgery::graph_error);
}

namespace {
/// Python's slice semantics on one axis, which ONNX Slice follows after clamping.
std::vector<std::int64_t> py_slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
    std::vector<std::int64_t> idx;
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = std::clamp<std::int64_t>(start, 0, dim);
        end = std::clamp<std::int64_t>(end, 0, dim);
        for (std::int64_t i = start; i < end; i += step) idx.push_back(i);
    } else {
        start = std::clamp<std::int64_t>(start, -1, dim - 1);
        end = std::clamp<std::int64_t>(end, -1, dim - 1);
        for (std::int64_t i = start; i > end; i += step) idx.push_back(i);
    }
    return idx;
}
} // namespace

TEST_CASE("Slice: negative and clamped starts/ends, negative axes and steps") {
    constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max(), small = std::numeric_limits<std::int64_t>::min();
    const Shape s{4, 5, 6};
    const Tensor x = iota(s, 0.0f);
    struct sl {
        std::int64_t start, end, step;
    };
    const std::vector<sl> specs{{0, big, 1}, {1, -1, 2}, {-1, small, -1}, {big, small, -2}, {-2, 1, -1}, {3, 1, 1},
                                {-100, 100, 3}, {5, -100, -3}, {2, 2, 1}, {0, -1, 4}};
    for (std::int64_t axis : {0, 1, -1}) {
        const std::size_t ax = static_cast<std::size_t>(axis < 0 ? axis + 3 : axis);
        for (const sl& p : specs) {
            CAPTURE(axis);
            CAPTURE(p.start);
            CAPTURE(p.end);
            CAPTURE(p.step);
            const Tensor st = Tensor::vector({p.start}), en = Tensor::vector({p.end}), axt = Tensor::vector({axis}), stp = Tensor::vector({p.step});
            const Tensor y = eval1(ops::Slice{}, {&x, &st, &en, &axt, &stp});
            const auto idx = py_slice(s[ax], p.start, p.end, p.step);
            Shape out = s;
            out[ax] = static_cast<std::int64_t>(idx.size());
            REQUIRE(y.shape == out);
            bool ok = true;
            for (std::int64_t k = 0; k < surgery::ir::numel(out); ++k) {
                auto o = unravel(k, out);
                o[ax] = idx[static_cast<std::size_t>(o[ax])];
                ok = ok && y.f[static_cast<std::size_t>(k)] == x.f[static_cast<std::size_t>(ravel(o, s))];
            }
            CHECK(ok);
        }
    }
    // Several axes at once, default axes and steps, int data (the YOLO Focus slices).
    const Tensor xi = shape_ints_iota({1, 2, 4, 4});
    const Tensor st = Tensor::vector({1, 0}), en = Tensor::vector({big, big}), axt = Tensor::vector({2, 3}), stp = Tensor::vector({2, 2});
    const Tensor yi = eval1(ops::Slice{}, {&xi, &st, &en, &axt, &stp});
    CHECK(yi.shape == Shape{1, 2, 2, 2});
    CHECK(yi.i == std::vector<std::int64_t>{4, 6, 12, 14, 20, 22, 28, 30});
    const Tensor st2 = Tensor::vector({0, 1}), en2 = Tensor::vector({1, 2});
    CHECK(eval1(ops::Slice{}, {&xi, &st2, &en2}).shape == Shape{1, 1, 4, 4});
    const Tensor zero = Tensor::vector({0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Slice{}, {&xi, &st2, &en2, &axt, &zero}),
                         doctest::Contains("same length"), surgery::graph_error);
    const Tensor step0 = Tensor::vector({1, 0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Slice{}, {&xi, &st2, &en2, &axt, &step0}), doctest::Contains("0"), surgery::graph_error);
}

TEST_CASE("Split: sizes from the input, or equal parts") {
    const Tensor x = iota({2, 6});
    ops::Split op;
    op.axis = 1;
    const Tensor sizes = Tensor::vector({1, 2, 3});
    auto r = eval(op, {&x, &sizes}, 3);
    CHECK(r[0].shape == Shape{2, 1});
    CHECK(r[1].f == std::vector<float>{2, 3, 8, 9});
    CHECK(r[2].f == std::vector<float>{4, 5, 6, 10, 11, 12});
    const Tensor sizes2 = Tensor::vector({4, 2});
    r = eval(op, {&x, &sizes2}, 2);
    CHECK(r[0].shape == Shape{2, 4});
    CHECK(r[1].f == std::vector<float>{5, 6, 11, 12});
    r = eval(op, {&x}, 3);
    CHECK(r[2].f == std::vector<float>{5, 6, 11, 12});
    op.num_outputs = 4; // opset 18: chunks of ceil(6 / 4) = 2, the last one smaller
    r = eval(op, {&x}, 4);
    CHECK(r[2].shape == Shape{2, 2});
    CHECK(r[3].shape == Shape{2, 0});
    op.num_outputs = 0;
    const Tensor zeros = Tensor::vector({0, 6, 0});
    r = eval(op, {&x, &zeros}, 3);
    CHECK(r[0].shape == Shape{2, 0});
    CHECK(r[1].f == x.f);
    const Tensor bad = Tensor::vector({2, 2});
    CHECK_THROWS_WITH_AS((void)eval(op, {&x, &bad}, 2), doctest::Contains("sum to"), surgery::graph_error);
    const Tensor xi = shape_ints_iota({4});
    op.axis = 0;
    r = eval(op, {&xi}, 2);
    CHECK(r[1].i == std::vector<std::int64_t>{2, 3});
}

TEST_CASE("Constant produces its value") {
    ops::Constant c;
    c.value = std::make_shared<const Tensor>(Tensor::vector({1, 2, 3}));
    const Tensor y = eval1(c, {});
    CHECK(y == *c.value);
    CHECK_THROWS_AS((void)eval1(ops::Constant{}, {}), surgery::graph_error);
}
