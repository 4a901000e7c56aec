// Tests of the logic kernels (ir/ops/logic.hpp): comparisons with NaN and broadcasting, the boolean
// ops, Where's three-way broadcasting, Cast between the stored types (and its refusal of the others),
// IsNaN and IsInf.
#include "helpers.hpp"

#include <limits>

using namespace reftest;

namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t i32_min = std::numeric_limits<std::int32_t>::min();

using ints = std::vector<std::int64_t>;

Tensor bools(Shape s, ints v) { return Tensor::ints(std::move(s), std::move(v), DType::boolean); }

ops::Cast cast_to(std::int64_t to) {
    ops::Cast c;
    c.to = to;
    return c;
}

} // namespace

static_assert(surgery::ir::is_commutative_v<ops::Equal> && surgery::ir::is_commutative_v<ops::Xor> && !surgery::ir::is_commutative_v<ops::Less>);
static_assert(surgery::ir::since_v<ops::Where> == 9 && surgery::ir::since_v<ops::Cast> == 6 && surgery::ir::since_v<ops::LessOrEqual> == 12 &&
              surgery::ir::since_v<ops::CastLike> == 15);
static_assert(surgery::ir::dtype_from_onnx(1) == DType::f32 && surgery::ir::dtype_from_onnx(7) == DType::i64 &&
              surgery::ir::dtype_from_onnx(9) == DType::boolean && surgery::ir::dtype_from_onnx(10) == DType::f16 &&
              surgery::ir::dtype_from_onnx(16) == DType::bf16 && surgery::ir::dtype_from_onnx(17) == DType::undefined &&
              surgery::ir::dtype_from_onnx(0) == DType::undefined);
static_assert(surgery::ir::onnx_type_number(DType::i32) == 6 && surgery::ir::onnx_type_number(DType::f64) == 11);

TEST_CASE("comparisons: IEEE semantics, broadcasting, every stored type") {
    const Tensor a = Tensor::floats({2, 3}, {1.0f, nan_f, -inf, 2.0f, 0.0f, inf});
    const Tensor b = Tensor::floats({3}, {1.0f, nan_f, -0.0f});
    const Tensor eq = eval1(ops::Equal{}, {&a, &b});
    CHECK(eq.dtype == DType::boolean);
    CHECK(eq.shape == Shape{2, 3});
    CHECK(eq.i == ints{1, 0, 0, 0, 0, 0});
    CHECK(eval1(ops::Less{}, {&a, &b}).i == ints{0, 0, 1, 0, 0, 0});
    CHECK(eval1(ops::Greater{}, {&a, &b}).i == ints{0, 0, 0, 1, 0, 1});
    CHECK(eval1(ops::LessOrEqual{}, {&a, &b}).i == ints{1, 0, 1, 0, 0, 0});
    CHECK(eval1(ops::GreaterOrEqual{}, {&a, &b}).i == ints{1, 0, 0, 1, 0, 1});
    const Tensor z = Tensor::floats({1}, {0.0f}), mz = Tensor::floats({1}, {-0.0f});
    CHECK(eval1(ops::Equal{}, {&z, &mz}).i == ints{1});
    // int64 (shape arithmetic: Equal(shape, -1) in exported models) and int32.
    const Tensor s = Tensor::ints({4}, {1, -1, 3, i64_min}), m1 = Tensor::ints({}, {-1});
    CHECK(eval1(ops::Equal{}, {&s, &m1}).i == ints{0, 1, 0, 0});
    CHECK(eval1(ops::Less{}, {&s, &m1}).i == ints{0, 0, 0, 1});
    const Tensor s32 = Tensor::ints({3}, {5, -5, 0}, DType::i32), t32 = Tensor::ints({3, 1}, {0, 5, -6}, DType::i32);
    const Tensor g32 = eval1(ops::GreaterOrEqual{}, {&s32, &t32});
    CHECK(g32.shape == Shape{3, 3});
    CHECK(g32.i == ints{1, 0, 1, 1, 0, 0, 1, 1, 1});
    // bool: Equal only.
    const Tensor p = bools({4}, {0, 0, 1, 1}), q = bools({4}, {0, 1, 0, 1});
    CHECK(eval1(ops::Equal{}, {&p, &q}).i == ints{1, 0, 0, 1});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Less{}, {&p, &q}), doctest::Contains("Less: bool tensors are not ordered"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Equal{}, {&a, &s}), doctest::Contains("different types float32 and int64"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Equal{}, {&s, &s32}), doctest::Contains("different types int64 and int32"), surgery::graph_error);
    const Tensor four = Tensor::floats({4}, {1, 2, 3, 4});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Greater{}, {&a, &four}), doctest::Contains("cannot be broadcast"), surgery::graph_error);
}

TEST_CASE("And, Or, Xor, Not on bool tensors") {
    const Tensor p = bools({2, 2}, {0, 0, 1, 1}), q = bools({2}, {0, 1});
    CHECK(eval1(ops::And{}, {&p, &q}).i == ints{0, 0, 0, 1});
    CHECK(eval1(ops::Or{}, {&p, &q}).i == ints{0, 1, 1, 1});
    const Tensor x = eval1(ops::Xor{}, {&p, &q});
    CHECK(x.dtype == DType::boolean);
    CHECK(x.shape == Shape{2, 2});
    CHECK(x.i == ints{0, 1, 1, 0});
    const Tensor n = eval1(ops::Not{}, {&p});
    CHECK(n.dtype == DType::boolean);
    CHECK(n.i == ints{1, 1, 0, 0});
    const Tensor f = Tensor::floats({2}, {0, 1});
    CHECK_THROWS_WITH_AS((void)eval1(ops::And{}, {&p, &f}), doctest::Contains("And: input 1 has type float32; the op takes bool"), surgery::graph_error);
    const Tensor i = Tensor::ints({2}, {0, 1});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Not{}, {&i}), doctest::Contains("Not: input 0 has type int64"), surgery::graph_error);
}

TEST_CASE("Where broadcasts condition, X and Y together") {
    std::mt19937_64 rng(9);
    const std::vector<std::array<Shape, 3>> cases{
        {{{2, 3}, {2, 3}, {2, 3}}}, {{{3, 1}, {1, 4}, {}}}, {{{2, 1, 4}, {3, 1}, {1}}}, {{{1}, {2, 2}, {2, 1, 2}}}, {{{0, 2}, {2}, {1, 2}}}};
    for (const auto& sh : cases) {
        CAPTURE(surgery::ir::to_string(sh[0]));
        CAPTURE(surgery::ir::to_string(sh[1]));
        CAPTURE(surgery::ir::to_string(sh[2]));
        ints cv(static_cast<std::size_t>(surgery::ir::numel(sh[0])));
        for (auto& v : cv) v = static_cast<std::int64_t>(rng() % 2);
        const Tensor c = bools(sh[0], cv);
        const Tensor x = random_tensor(sh[1], rng), y = random_tensor(sh[2], rng);
        const Tensor out = eval1(ops::Where{}, {&c, &x, &y});
        Shape cx, o;
        REQUIRE(ref::detail::broadcast_shapes(sh[0], sh[1], cx));
        REQUIRE(ref::detail::broadcast_shapes(cx, sh[2], o));
        REQUIRE(out.shape == o);
        REQUIRE(out.dtype == DType::f32);
        const std::size_t r = o.size();
        auto at = [&](const Shape& s, const std::vector<std::int64_t>& idx) {
            std::int64_t k = 0;
            for (std::size_t d = r - s.size(); d < r; ++d) k = k * s[d - (r - s.size())] + (s[d - (r - s.size())] == 1 ? 0 : idx[d]);
            return static_cast<std::size_t>(k);
        };
        for (std::int64_t k = 0; k < out.size(); ++k) {
            const auto idx = unravel(k, o);
            const float e = cv[at(sh[0], idx)] ? x.f[at(sh[1], idx)] : y.f[at(sh[2], idx)];
            CHECK(out.f[static_cast<std::size_t>(k)] == e);
        }
    }
    // Integer and bool values (the torchvision ViT: Where(bool, int64, int64) on a shape).
    const Tensor c = bools({3}, {1, 0, 1});
    const Tensor xi = Tensor::ints({3}, {1, 2, 3}), yi = Tensor::ints({}, {-1});
    const Tensor wi = eval1(ops::Where{}, {&c, &xi, &yi});
    CHECK(wi.dtype == DType::i64);
    CHECK(wi.i == ints{1, -1, 3});
    const Tensor xb = bools({3}, {0, 0, 0}), yb = bools({3}, {1, 1, 1});
    const Tensor wb = eval1(ops::Where{}, {&c, &xb, &yb});
    CHECK(wb.dtype == DType::boolean);
    CHECK(wb.i == ints{0, 1, 0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Where{}, {&xi, &xi, &yi}), doctest::Contains("Where: input 0 has type int64"), surgery::graph_error);
    const Tensor yf = Tensor::scalar(1.0f);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Where{}, {&c, &xi, &yf}), doctest::Contains("X has type int64, Y has float32"), surgery::graph_error);
    const Tensor y2 = Tensor::ints({2}, {0, 0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Where{}, {&c, &xi, &y2}), doctest::Contains("cannot be broadcast"), surgery::graph_error);
}

TEST_CASE("Cast between float32, int64, int32 and bool") {
    const Tensor f = Tensor::floats({9}, {-2.7f, -0.5f, -0.0f, 0.0f, 0.5f, 2.7f, 1e10f, nan_f, -inf});
    const Tensor to_i64 = eval1(cast_to(7), {&f});
    CHECK(to_i64.dtype == DType::i64);
    // Truncation toward zero; NaN and out-of-range values (undefined in ONNX) give the type's
    // minimum, as x86 conversions (numpy, ONNX Runtime) do.
    CHECK(to_i64.i == ints{-2, 0, 0, 0, 0, 2, 10000000000, i64_min, i64_min});
    const Tensor to_i32 = eval1(cast_to(6), {&f});
    CHECK(to_i32.dtype == DType::i32);
    CHECK(to_i32.i == ints{-2, 0, 0, 0, 0, 2, i32_min, i32_min, i32_min});
    const Tensor to_b = eval1(cast_to(9), {&f});
    CHECK(to_b.dtype == DType::boolean);
    CHECK(to_b.i == ints{1, 1, 0, 0, 1, 1, 1, 1, 1}); // only zeros are false; NaN is true
    const Tensor same = eval1(cast_to(1), {&f});
    CHECK(same.dtype == DType::f32);
    CHECK(same.f.size() == f.f.size());
    CHECK(same.f[5] == 2.7f);
    // Integers: int64 -> int32 keeps the low 32 bits (numpy's astype), -> float rounds, -> bool.
    const Tensor i = Tensor::ints({5}, {(std::int64_t{1} << 32) + 5, std::int64_t{1} << 31, -1, 0, (std::int64_t{1} << 24) + 1});
    CHECK(eval1(cast_to(6), {&i}).i == ints{5, i32_min, -1, 0, (std::int64_t{1} << 24) + 1});
    CHECK(eval1(cast_to(1), {&i}).f == std::vector<float>{4294967296.0f, 2147483648.0f, -1.0f, 0.0f, 16777216.0f});
    CHECK(eval1(cast_to(9), {&i}).i == ints{1, 1, 1, 0, 1});
    CHECK(eval1(cast_to(7), {&i}).i == i.i);
    const Tensor b = bools({2}, {0, 1});
    CHECK(eval1(cast_to(1), {&b}).f == std::vector<float>{0.0f, 1.0f});
    const Tensor bi = eval1(cast_to(6), {&b});
    CHECK(bi.dtype == DType::i32);
    CHECK(bi.i == ints{0, 1});
    // CastLike takes the type of its second input.
    const Tensor like = Tensor::ints({}, {0}, DType::i32);
    const Tensor cl = eval1(ops::CastLike{}, {&f, &like});
    CHECK(cl.dtype == DType::i32);
    CHECK(cl.i == to_i32.i);
}

TEST_CASE("Cast to or from a type without data fails naming the type") {
    const Tensor f = Tensor::floats({2}, {1.0f, 2.0f});
    CHECK_THROWS_WITH_AS((void)eval1(cast_to(10), {&f}), doctest::Contains("Cast: casting to float16 (ONNX type 10) is not supported"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(cast_to(11), {&f}), doctest::Contains("float64"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(cast_to(8), {&f}), doctest::Contains("string"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(cast_to(3), {&f}), doctest::Contains("int8"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(cast_to(42), {&f}), doctest::Contains("to = 42 is not an element type"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Cast{}, {&f}), doctest::Contains("'to' is not set"), surgery::graph_error);
    Tensor half;
    half.dtype = DType::f16;
    half.shape = {2};
    CHECK_THROWS_WITH_AS((void)eval1(cast_to(1), {&half}), doctest::Contains("input 0 has type float16, which has no data in the IR"), surgery::graph_error);
}

TEST_CASE("IsNaN and IsInf") {
    const Tensor x = Tensor::floats({6}, {0.0f, nan_f, inf, -inf, 1e38f, -1.0f});
    const Tensor n = eval1(ops::IsNaN{}, {&x});
    CHECK(n.dtype == DType::boolean);
    CHECK(n.i == ints{0, 1, 0, 0, 0, 0});
    CHECK(eval1(ops::IsInf{}, {&x}).i == ints{0, 0, 1, 1, 0, 0});
    ops::IsInf pos;
    pos.detect_negative = 0;
    CHECK(eval1(pos, {&x}).i == ints{0, 0, 1, 0, 0, 0});
    ops::IsInf neg;
    neg.detect_positive = 0;
    CHECK(eval1(neg, {&x}).i == ints{0, 0, 0, 1, 0, 0});
    const Tensor i = Tensor::ints({1}, {1});
    CHECK_THROWS_WITH_AS((void)eval1(ops::IsNaN{}, {&i}), doctest::Contains("floating-point"), surgery::graph_error);
}
