// Tests of the math kernels (ir/ops/math.hpp): unary float ops against double-precision formulas and
// their NaN/math_inf edges, integer Neg/Abs/Sign with wrap-around, variadic Min/Max/Sum/Mean broadcasting
// across every input, Mod in both forms, PRelu's one-way broadcasting.
#include "helpers.hpp"

#include <functional>
#include <limits>

using namespace reftest;

namespace {

constexpr float math_inf = std::numeric_limits<float>::infinity();
constexpr float math_nan = std::numeric_limits<float>::quiet_NaN();
constexpr std::int64_t math_i64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t math_i32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t i32_max = std::numeric_limits<std::int32_t>::max();

std::vector<float> math_grid() {
    std::vector<float> v;
    for (int k = -120; k <= 120; ++k) v.push_back(static_cast<float>(k) * 0.1f);
    for (float f : {-30.0f, -12.0f, -9.5f, 9.5f, 17.0f, 30.0f, 0.0f, -0.0f, 1e-6f, -1e-6f}) v.push_back(f);
    return v;
}

/// |y - f(x)| <= rel * |f(x)| + abs over the math_grid (or `xs`).
void math_check_unary(const surgery::ir::Op& op, const std::function<double(double)>& f, double rel, double abs = 0.0,
                 std::vector<float> xs = math_grid()) {
    const Tensor x = Tensor::floats({static_cast<std::int64_t>(xs.size())}, xs);
    const Tensor y = eval1(op, {&x});
    REQUIRE(y.dtype == DType::f32);
    REQUIRE(y.shape == x.shape);
    for (std::size_t k = 0; k < xs.size(); ++k) {
        CAPTURE(xs[k]);
        const double e = f(static_cast<double>(xs[k]));
        CHECK(std::abs(static_cast<double>(y.f[k]) - e) <= rel * std::abs(e) + abs);
    }
}

std::vector<float> apply(const surgery::ir::Op& op, std::vector<float> xs) {
    const auto n = static_cast<std::int64_t>(xs.size());
    const Tensor x = Tensor::floats({n}, std::move(xs));
    return eval1(op, {&x}).f;
}

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

/// Naive numpy broadcasting of any number of operands.
template <class T, class F>
std::vector<T> naive_fold(const std::vector<Shape>& shapes, const std::vector<std::vector<T>>& data, Shape& out, F f) {
    std::size_t r = 0;
    for (const auto& s : shapes) r = std::max(r, s.size());
    out.assign(r, 1);
    auto dim = [&](const Shape& s, std::size_t k) { return k < r - s.size() ? std::int64_t{1} : s[k - (r - s.size())]; };
    for (const auto& s : shapes)
        for (std::size_t k = 0; k < r; ++k)
            if (dim(s, k) != 1) out[k] = dim(s, k);
    std::vector<T> y(static_cast<std::size_t>(surgery::ir::numel(out)));
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(y.size()); ++k) {
        const auto o = unravel(k, out);
        for (std::size_t j = 0; j < shapes.size(); ++j) {
            std::int64_t at = 0;
            for (std::size_t d = r - shapes[j].size(); d < r; ++d) at = at * dim(shapes[j], d) + (dim(shapes[j], d) == 1 ? 0 : o[d]);
            const T v = data[j][static_cast<std::size_t>(at)];
            y[static_cast<std::size_t>(k)] = j == 0 ? v : f(y[static_cast<std::size_t>(k)], v);
        }
    }
    return y;
}

} // namespace

// ---- type-level facts ---------------------------------------------------------------------------

static_assert(surgery::ir::is_commutative_v<ops::Max> && surgery::ir::is_commutative_v<ops::Sum> && !surgery::ir::is_commutative_v<ops::Mod>);
static_assert(surgery::ir::is_elementwise_v<ops::Exp> && surgery::ir::is_elementwise_v<ops::PRelu>);
static_assert(surgery::ir::since_v<ops::Round> == 11 && surgery::ir::since_v<ops::Mod> == 10 && surgery::ir::since_v<ops::Mish> == 18 &&
              surgery::ir::since_v<ops::Celu> == 12 && surgery::ir::since_v<ops::Sign> == 9);
static_assert(ops::Max::arity.max_inputs == surgery::ir::arity_t::variadic && ops::Max::arity.min_inputs == 1);
static_assert(ref::has_kernel<ops::Neg> && ref::has_kernel<ops::Softplus> && ref::has_kernel<ops::Mean>);

// ---- unary float ops ----------------------------------------------------------------------------

TEST_CASE("unary math ops match their formulas") {
    const std::vector<float> positive{1e-30f, 1e-6f, 0.1f, 0.5f, 1.0f, 2.0f, 10.0f, 1e6f, 3e38f};
    math_check_unary(ops::Exp{}, [](double x) { return std::exp(x); }, 3e-7);
    math_check_unary(ops::Log{}, [](double x) { return std::log(x); }, 3e-7, 1e-7, positive);
    math_check_unary(ops::Reciprocal{}, [](double x) { return 1.0 / x; }, 1e-7, 0.0, positive);
    math_check_unary(ops::Floor{}, [](double x) { return std::floor(x); }, 0.0);
    math_check_unary(ops::Ceil{}, [](double x) { return std::ceil(x); }, 0.0);
    math_check_unary(ops::Sin{}, [](double x) { return std::sin(x); }, 0.0, 3e-7);
    math_check_unary(ops::Cos{}, [](double x) { return std::cos(x); }, 0.0, 3e-7);
    math_check_unary(ops::Neg{}, [](double x) { return -x; }, 0.0);
    math_check_unary(ops::Abs{}, [](double x) { return std::abs(x); }, 0.0);
    math_check_unary(ops::Sign{}, [](double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }, 0.0);
    math_check_unary(ops::Softsign{}, [](double x) { return x / (1 + std::abs(x)); }, 2e-7);
    // Softplus within 1e-6 relative everywhere (PyTorch and ONNX Runtime agree with the exact value
    // to that precision), also where log(1 + e^x) would overflow or lose everything.
    std::vector<float> wide = math_grid();
    for (float f : {-100.0f, -80.0f, -50.0f, 50.0f, 88.0f, 89.0f, 100.0f, 1e4f}) wide.push_back(f);
    math_check_unary(ops::Softplus{}, softplus, 1e-6, 1e-44, wide); // 1e-44: the spacing of float denormals (e^-100)
    math_check_unary(ops::Mish{}, [](double x) { return x * std::tanh(softplus(x)); }, 2e-6, 1e-30, wide);
    ops::Elu elu;
    elu.alpha = 0.7f;
    math_check_unary(elu, [](double x) { return x > 0 ? x : 0.7 * std::expm1(x); }, 3e-7, 1e-30);
    math_check_unary(ops::Elu{}, [](double x) { return x > 0 ? x : std::expm1(x); }, 3e-7, 1e-30);
    const double sa = 1.67326319217681884765625, sg = 1.05070102214813232421875;
    math_check_unary(ops::Selu{}, [&](double x) { return sg * (x > 0 ? x : sa * std::expm1(x)); }, 3e-7, 1e-30);
    ops::Celu celu;
    celu.alpha = 2.0f;
    math_check_unary(celu, [](double x) { return std::max(0.0, x) + std::min(0.0, 2.0 * std::expm1(x / 2.0)); }, 3e-7, 1e-30);
    ops::ThresholdedRelu tr;
    tr.alpha = 0.5f;
    math_check_unary(tr, [](double x) { return x > 0.5 ? x : 0.0; }, 0.0);
    math_check_unary(ops::ThresholdedRelu{}, [](double x) { return x > 1.0 ? x : 0.0; }, 0.0);
}

TEST_CASE("Round halves to even, as ONNX and numpy do") {
    const std::vector<float> y = apply(ops::Round{}, {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.5f, 0.49999997f, -1.2f, 1.7f, 8388609.0f, math_inf, -math_inf});
    const std::vector<float> e{-2.0f, -2.0f, -0.0f, 0.0f, 2.0f, 2.0f, 4.0f, 0.0f, -1.0f, 2.0f, 8388609.0f, math_inf, -math_inf};
    CHECK(y == e);
    CHECK(std::signbit(y[2]));
    CHECK(std::isnan(apply(ops::Round{}, {math_nan})[0]));
}

TEST_CASE("unary math ops at NaN, infinities and zero") {
    CHECK(apply(ops::Exp{}, {math_inf, -math_inf, 0.0f, 100.0f}) == std::vector<float>{math_inf, 0.0f, 1.0f, math_inf});
    const auto lg = apply(ops::Log{}, {0.0f, -1.0f, math_inf});
    CHECK(lg[0] == -math_inf);
    CHECK(std::isnan(lg[1]));
    CHECK(lg[2] == math_inf);
    CHECK(apply(ops::Reciprocal{}, {0.0f, -0.0f, math_inf}) == std::vector<float>{math_inf, -math_inf, 0.0f});
    CHECK(apply(ops::Softplus{}, {math_inf, -math_inf, 1e30f}) == std::vector<float>{math_inf, 0.0f, 1e30f});
    CHECK(apply(ops::Softplus{}, {-100.0f})[0] == std::log1p(std::exp(-100.0f))); // a denormal, not Eigen's e^-88.7
    CHECK(std::isnan(apply(ops::Softsign{}, {math_inf})[0])); // math_inf / (1 + math_inf), as ONNX defines it
    CHECK(apply(ops::Elu{}, {-math_inf, math_inf}) == std::vector<float>{-1.0f, math_inf});
    CHECK(apply(ops::Sign{}, {-0.0f, math_inf, -math_inf, -1e-30f}) == std::vector<float>{0.0f, 1.0f, -1.0f, -1.0f});
    for (const surgery::ir::Op& op : std::vector<surgery::ir::Op>{ops::Exp{}, ops::Log{}, ops::Neg{}, ops::Abs{}, ops::Sign{}, ops::Floor{},
                                                                   ops::Ceil{}, ops::Round{}, ops::Softplus{}, ops::Softsign{}, ops::Mish{},
                                                                   ops::Elu{}, ops::Selu{}, ops::Celu{}, ops::Sin{}, ops::Cos{}, ops::Reciprocal{}}) {
        CAPTURE(surgery::ir::name_of(op));
        CHECK(std::isnan(apply(op, {math_nan})[0]));
    }
    CHECK(apply(ops::ThresholdedRelu{}, {math_nan})[0] == 0.0f); // NaN > alpha is false
    // Empty tensors are fine.
    const Tensor empty = Tensor::floats({0, 3}, {});
    CHECK(eval1(ops::Exp{}, {&empty}).shape == Shape{0, 3});
}

TEST_CASE("Neg, Abs and Sign on integer tensors wrap instead of overflowing") {
    const Tensor x = Tensor::ints({5}, {math_i64_min, -7, 0, 7, i64_max});
    const Tensor n = eval1(ops::Neg{}, {&x});
    CHECK(n.dtype == DType::i64);
    CHECK(n.i == std::vector<std::int64_t>{math_i64_min, 7, 0, -7, -i64_max});
    CHECK(eval1(ops::Abs{}, {&x}).i == std::vector<std::int64_t>{math_i64_min, 7, 0, 7, i64_max});
    CHECK(eval1(ops::Sign{}, {&x}).i == std::vector<std::int64_t>{-1, -1, 0, 1, 1});
    const Tensor x32 = Tensor::ints({4}, {math_i32_min, -3, 3, i32_max}, DType::i32);
    const Tensor n32 = eval1(ops::Neg{}, {&x32});
    CHECK(n32.dtype == DType::i32);
    CHECK(n32.i == std::vector<std::int64_t>{math_i32_min, 3, -3, -i32_max}); // -INT32_MIN wraps to INT32_MIN in int32
    CHECK(eval1(ops::Abs{}, {&x32}).i == std::vector<std::int64_t>{math_i32_min, 3, 3, i32_max});
    CHECK(eval1(ops::Sign{}, {&x32}).dtype == DType::i32);
    const Tensor b = Tensor::ints({2}, {0, 1}, DType::boolean);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Neg{}, {&b}), doctest::Contains("bool"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Exp{}, {&x}), doctest::Contains("float32"), surgery::graph_error);
    Tensor half = Tensor::floats({1}, {1.0f});
    half.dtype = DType::f16;
    half.f.clear();
    CHECK_THROWS_WITH_AS((void)eval1(ops::Abs{}, {&half}), doctest::Contains("float16"), surgery::graph_error);
}

// ---- Min, Max, Sum, Mean ------------------------------------------------------------------------

TEST_CASE("Min, Max, Sum and Mean broadcast across all their inputs") {
    std::mt19937_64 rng(11);
    const std::vector<std::vector<Shape>> cases{
        {{2, 3, 4}},
        {{2, 3, 4}, {2, 3, 4}},
        {{2, 1, 4}, {3, 1}, {4}},
        {{}, {3, 1, 2}, {1, 5, 1}, {2}},
        {{1}, {4, 1}, {1, 1, 1}},
        {{0, 3}, {1, 3}},
    };
    for (const auto& shapes : cases) {
        std::vector<Tensor> ts;
        std::vector<std::vector<float>> data;
        std::vector<std::vector<std::int64_t>> ints;
        for (const auto& s : shapes) {
            ts.push_back(random_tensor(s, rng, -4.0f, 4.0f));
            data.push_back(ts.back().f);
            std::vector<std::int64_t> iv;
            for (float f : ts.back().f) iv.push_back(static_cast<std::int64_t>(f * 100.0f));
            ints.push_back(std::move(iv));
        }
        std::vector<const Tensor*> in;
        for (const auto& t : ts) in.push_back(&t);
        Shape out;
        auto check = [&](const surgery::ir::Op& op, auto f, bool mean = false) {
            CAPTURE(surgery::ir::name_of(op));
            CAPTURE(in.size());
            const Tensor y = eval1(op, in);
            std::vector<float> e = naive_fold(shapes, data, out, f);
            if (mean)
                for (float& v : e) v /= static_cast<float>(shapes.size());
            REQUIRE(y.shape == out);
            CHECK(max_rel_diff(y.f, e) < 1e-6);
        };
        check(ops::Min{}, [](float u, float v) { return std::min(u, v); });
        check(ops::Max{}, [](float u, float v) { return std::max(u, v); });
        check(ops::Sum{}, [](float u, float v) { return u + v; });
        check(ops::Mean{}, [](float u, float v) { return u + v; }, true);
        // Integers through the same folds.
        std::vector<Tensor> its;
        for (std::size_t j = 0; j < shapes.size(); ++j) its.push_back(Tensor::ints(shapes[j], ints[j]));
        std::vector<const Tensor*> iin;
        for (const auto& t : its) iin.push_back(&t);
        const Tensor ymin = eval1(ops::Min{}, iin), ysum = eval1(ops::Sum{}, iin);
        CHECK(ymin.dtype == DType::i64);
        CHECK(ymin.i == naive_fold(shapes, ints, out, [](std::int64_t u, std::int64_t v) { return std::min(u, v); }));
        CHECK(eval1(ops::Max{}, iin).i == naive_fold(shapes, ints, out, [](std::int64_t u, std::int64_t v) { return std::max(u, v); }));
        CHECK(ysum.i == naive_fold(shapes, ints, out, [](std::int64_t u, std::int64_t v) { return u + v; }));
    }
}

TEST_CASE("Min, Max, Sum, Mean: NaN, wrap-around and errors") {
    const Tensor a = Tensor::floats({3}, {math_nan, 1.0f, -math_inf});
    const Tensor b = Tensor::floats({3}, {0.0f, math_nan, 2.0f});
    for (const surgery::ir::Op& op : std::vector<surgery::ir::Op>{ops::Min{}, ops::Max{}}) {
        const Tensor y = eval1(op, {&a, &b});
        CHECK(std::isnan(y.f[0])); // NaN wins, as numpy's minimum/maximum
        CHECK(std::isnan(y.f[1]));
    }
    CHECK(eval1(ops::Min{}, {&a, &b}).f[2] == -math_inf);
    CHECK(eval1(ops::Max{}, {&a, &b}).f[2] == 2.0f);
    // Integer sums wrap modulo the type's width.
    const Tensor big = Tensor::ints({2}, {i64_max, math_i64_min}), one = Tensor::ints({}, {1}), minus = Tensor::ints({}, {-1});
    CHECK(eval1(ops::Sum{}, {&big, &one}).i == std::vector<std::int64_t>{math_i64_min, math_i64_min + 1});
    CHECK(eval1(ops::Sum{}, {&big, &minus, &minus}).i == std::vector<std::int64_t>{i64_max - 2, i64_max - 1});
    const Tensor big32 = Tensor::ints({2}, {i32_max, math_i32_min}, DType::i32), one32 = Tensor::ints({}, {1}, DType::i32);
    const Tensor s32 = eval1(ops::Sum{}, {&big32, &one32});
    CHECK(s32.dtype == DType::i32);
    CHECK(s32.i == std::vector<std::int64_t>{math_i32_min, math_i32_min + 1});
    // One input: a copy.
    CHECK(eval1(ops::Max{}, {&a}).shape == a.shape);
    CHECK(eval1(ops::Mean{}, {&b}).f[2] == 2.0f);
    const Tensor m = eval1(ops::Mean{}, {&b, &b, &b});
    CHECK(m.f[0] == 0.0f);
    CHECK(m.f[2] == 2.0f);
    // Errors name the op and the problem.
    const Tensor four = Tensor::floats({4}, {1, 2, 3, 4});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Max{}, {&a, &b, &four}), doctest::Contains("Max: shapes [3] and [4] cannot be broadcast"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Sum{}, {&a, &one}), doctest::Contains("input 1 has type int64, input 0 has float32"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Mean{}, {&big, &one}), doctest::Contains("floating-point"), surgery::graph_error);
    const Tensor flags = Tensor::ints({2}, {0, 1}, DType::boolean);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Min{}, {&flags, &flags}), doctest::Contains("bool"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Sum{}, {&a, nullptr}), doctest::Contains("input 1 is missing"), surgery::graph_error);
}

// ---- Mod -----------------------------------------------------------------------------------------

TEST_CASE("Mod: Python-style integer remainder (fmod = 0) and C fmod (fmod = 1)") {
    const Tensor a = Tensor::ints({8}, {-4, 7, 5, 4, -7, 8, math_i64_min, math_i64_min});
    const Tensor b = Tensor::ints({8}, {2, -3, 8, -2, 3, 5, -1, 3});
    // numpy.mod / Python %: the sign of the divisor.
    CHECK(eval1(ops::Mod{}, {&a, &b}).i == std::vector<std::int64_t>{0, -2, 5, 0, 2, 3, 0, 1});
    ops::Mod f;
    f.fmod = 1;
    // numpy.fmod / C %: the sign of the dividend; INT64_MIN % -1 is 0, not a trap.
    CHECK(eval1(f, {&a, &b}).i == std::vector<std::int64_t>{0, 1, 5, 0, -1, 3, 0, -2});
    // int32 keeps its type; broadcasting.
    const Tensor a32 = Tensor::ints({2, 3}, {-5, -4, -3, 3, 4, 5}, DType::i32), b32 = Tensor::ints({3}, {3, -3, 2}, DType::i32);
    const Tensor y32 = eval1(ops::Mod{}, {&a32, &b32});
    CHECK(y32.dtype == DType::i32);
    CHECK(y32.shape == Shape{2, 3});
    CHECK(y32.i == std::vector<std::int64_t>{1, -1, 1, 0, -2, 1});
    // Floats need fmod = 1 and follow C's fmod.
    const Tensor x = Tensor::floats({6}, {-4.3f, 7.2f, 5.0f, 4.3f, -7.2f, 1.0f});
    const Tensor y = Tensor::floats({6}, {2.1f, -3.4f, 8.0f, -2.1f, 3.4f, 0.0f});
    const Tensor r = eval1(f, {&x, &y});
    for (std::size_t k = 0; k < 5; ++k) CHECK(r.f[k] == std::fmod(x.f[k], y.f[k]));
    CHECK(std::isnan(r.f[5]));
    CHECK_THROWS_WITH_AS((void)eval1(ops::Mod{}, {&x, &y}), doctest::Contains("fmod must be 1"), surgery::graph_error);
    const Tensor zero = Tensor::ints({}, {0});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Mod{}, {&a, &zero}), doctest::Contains("Mod: integer division by zero"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Mod{}, {&a, &x}), doctest::Contains("different types"), surgery::graph_error);
}

// ---- PRelu ---------------------------------------------------------------------------------------

TEST_CASE("PRelu broadcasts its slope to X only") {
    std::mt19937_64 rng(7);
    const Tensor x = random_tensor({2, 3, 4, 5}, rng, -2.0f, 2.0f);
    const Tensor slope = Tensor::floats({3, 1, 1}, {0.1f, 0.2f, -0.5f});
    const Tensor y = eval1(ops::PRelu{}, {&x, &slope});
    REQUIRE(y.shape == x.shape);
    for (std::int64_t k = 0; k < x.size(); ++k) {
        const auto idx = unravel(k, x.shape);
        const float v = x.f[static_cast<std::size_t>(k)];
        CHECK(y.f[static_cast<std::size_t>(k)] == (v < 0 ? slope.f[static_cast<std::size_t>(idx[1])] * v : v));
    }
    const Tensor s = Tensor::scalar(0.25f);
    const Tensor x1 = Tensor::floats({4}, {-4.0f, 0.0f, 2.0f, math_nan});
    const Tensor y1 = eval1(ops::PRelu{}, {&x1, &s});
    CHECK(y1.f[0] == -1.0f);
    CHECK(y1.f[2] == 2.0f);
    CHECK(std::isnan(y1.f[3]));
    // X's shape is the output's: a slope that would grow X is an error.
    const Tensor wide = Tensor::floats({2, 4}, std::vector<float>(8, 0.5f));
    CHECK_THROWS_WITH_AS((void)eval1(ops::PRelu{}, {&x1, &wide}), doctest::Contains("does not broadcast to X"), surgery::graph_error);
    // Integers.
    const Tensor xi = Tensor::ints({3}, {-4, 0, 5}), si = Tensor::ints({1}, {3});
    CHECK(eval1(ops::PRelu{}, {&xi, &si}).i == std::vector<std::int64_t>{-12, 0, 5});
    const Tensor xbig = Tensor::ints({1}, {math_i64_min}), two = Tensor::ints({1}, {2});
    CHECK(eval1(ops::PRelu{}, {&xbig, &two}).i == std::vector<std::int64_t>{0}); // wraps modulo 2^64
}
