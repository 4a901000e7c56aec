// Tests of the element-wise kernels: activations against their formulas, Clip, and broadcasting
// binary ops against a naive multi-index implementation for every rank combination.
#include "helpers.hpp"

#include <functional>
#include <limits>

using namespace reftest;

namespace {

std::vector<float> grid() {
    std::vector<float> v;
    for (int k = -120; k <= 120; ++k) v.push_back(static_cast<float>(k) * 0.1f);
    for (float f : {-30.0f, -12.0f, -9.5f, 9.5f, 17.0f, 30.0f, 0.0f, -0.0f, 1e-6f, -1e-6f}) v.push_back(f);
    return v;
}

void check_unary(const surgery::ir::Op& op, const std::function<double(double)>& f, double tol) {
    const std::vector<float> g = grid();
    const Tensor x = Tensor::floats({static_cast<std::int64_t>(g.size())}, g);
    const Tensor y = eval1(op, {&x});
    REQUIRE(y.shape == x.shape);
    for (std::size_t k = 0; k < g.size(); ++k) {
        CAPTURE(g[k]);
        const double e = f(static_cast<double>(g[k]));
        CHECK(std::abs(static_cast<double>(y.f[k]) - e) <= tol * std::max(1.0, std::abs(e)));
    }
}

} // namespace

TEST_CASE("activations match their formulas") {
    check_unary(ops::Relu{}, [](double x) { return x > 0 ? x : 0.0; }, 0);
    check_unary(ops::Sigmoid{}, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, 2e-7);
    check_unary(ops::Tanh{}, [](double x) { return std::tanh(x); }, 3e-7); // Eigen saturates at +-1 from |x| ~ 7.9
    check_unary(ops::Erf{}, [](double x) { return std::erf(x); }, 2e-7);
    check_unary(ops::HardSwish{}, [](double x) { return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0); }, 1e-7);
    ops::HardSigmoid hs;
    hs.alpha = 0.3f;
    hs.beta = 0.4f;
    check_unary(hs, [](double x) { return std::clamp(0.3 * x + 0.4, 0.0, 1.0); }, 1e-7);
    ops::LeakyRelu lr;
    lr.alpha = 0.2f;
    check_unary(lr, [](double x) { return x >= 0 ? x : static_cast<double>(0.2f) * x; }, 1e-7);
    // 1 + erf(x / sqrt 2) cancels for x << 0: a few float ulps of 1 in absolute terms.
    check_unary(ops::Gelu{}, [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }, 1e-6);
    ops::Gelu gt;
    gt.approximate = "tanh";
    check_unary(gt, [](double x) { return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }, 1e-6);
    const Tensor pos = Tensor::floats({4}, {0.0f, 1.0f, 4.0f, 2.0f});
    CHECK(eval1(ops::Sqrt{}, {&pos}).f == std::vector<float>{0.0f, 1.0f, 2.0f, std::sqrt(2.0f)});
    ops::Gelu bad;
    bad.approximate = "cubic";
    CHECK_THROWS_AS((void)eval1(bad, {&pos}), surgery::graph_error);
    const Tensor ints = Tensor::ints({2}, {1, 2});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Relu{}, {&ints}), doctest::Contains("float32"), surgery::graph_error);
}

TEST_CASE("Clip with optional bounds, float and int") {
    const Tensor x = Tensor::floats({5}, {-3, -1, 0, 2, 7});
    const Tensor lo = Tensor::scalar(-1.5f), hi = Tensor::scalar(4.0f);
    CHECK(eval1(ops::Clip{}, {&x, &lo, &hi}).f == std::vector<float>{-1.5f, -1, 0, 2, 4});
    CHECK(eval1(ops::Clip{}, {&x, &lo}).f == std::vector<float>{-1.5f, -1, 0, 2, 7});
    CHECK(eval1(ops::Clip{}, {&x, nullptr, &hi}).f == std::vector<float>{-3, -1, 0, 2, 4});
    CHECK(eval1(ops::Clip{}, {&x}).f == x.f);
    const Tensor xi = Tensor::ints({4}, {-5, 0, 5, 10});
    const Tensor li = Tensor::ints({}, {0}), hi_i = Tensor::ints({}, {6});
    const Tensor yi = eval1(ops::Clip{}, {&xi, &li, &hi_i});
    CHECK(yi.dtype == DType::i64);
    CHECK(yi.i == std::vector<std::int64_t>{0, 0, 5, 6});
    const Tensor vec = Tensor::floats({2}, {0, 1});
    CHECK_THROWS_AS((void)eval1(ops::Clip{}, {&x, &vec}), surgery::graph_error);
    CHECK_THROWS_AS((void)eval1(ops::Clip{}, {&x, &li}), surgery::graph_error); // type mismatch
}

namespace {

/// Naive numpy broadcasting: every output multi-index mapped back into each operand.
template <class T, class F>
std::vector<T> naive_binary(const Shape& sa, const std::vector<T>& a, const Shape& sb, const std::vector<T>& b, Shape& out, F f) {
    const std::size_t r = std::max(sa.size(), sb.size());
    out.assign(r, 1);
    auto dim = [&](const Shape& s, std::size_t k) { return k < r - s.size() ? std::int64_t{1} : s[k - (r - s.size())]; };
    for (std::size_t k = 0; k < r; ++k) out[k] = std::max(dim(sa, k), dim(sb, k));
    std::vector<T> y(static_cast<std::size_t>(surgery::ir::numel(out)));
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(y.size()); ++k) {
        const auto o = unravel(k, out);
        std::int64_t ia = 0, ib = 0;
        for (std::size_t d = 0; d < r; ++d) {
            if (d >= r - sa.size()) ia = ia * dim(sa, d) + (dim(sa, d) == 1 ? 0 : o[d]);
            if (d >= r - sb.size()) ib = ib * dim(sb, d) + (dim(sb, d) == 1 ? 0 : o[d]);
        }
        y[static_cast<std::size_t>(k)] = f(a[static_cast<std::size_t>(ia)], b[static_cast<std::size_t>(ib)]);
    }
    return y;
}

} // namespace

TEST_CASE("binary ops broadcast like numpy for every rank combination") {
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<int> coin(0, 2);
    const std::vector<std::int64_t> dims{3, 4, 2, 5, 3};
    int tested = 0;
    for (std::size_t ra = 0; ra <= 4; ++ra)
        for (std::size_t rb = 0; rb <= 4; ++rb)
            for (int rep = 0; rep < 6; ++rep) {
                const std::size_t r = std::max(ra, rb);
                Shape full(dims.end() - static_cast<std::ptrdiff_t>(r), dims.end()), sa, sb;
                for (std::size_t k = 0; k < r; ++k) {
                    // Each operand keeps the dim or broadcasts it (size 1); never both mismatched.
                    const int c = coin(rng);
                    if (k >= r - ra) sa.push_back(c == 1 ? 1 : full[k]);
                    if (k >= r - rb) sb.push_back(c == 2 ? 1 : full[k]);
                }
                CAPTURE(surgery::ir::to_string(sa));
                CAPTURE(surgery::ir::to_string(sb));
                const Tensor a = random_tensor(sa, rng, 0.5f, 2.0f), b = random_tensor(sb, rng, 0.5f, 2.0f);
                Shape out;
                auto check = [&](const surgery::ir::Op& op, auto f) {
                    const Tensor y = eval1(op, {&a, &b});
                    const auto e = naive_binary(sa, a.f, sb, b.f, out, f);
                    REQUIRE(y.shape == out);
                    CHECK(max_rel_diff(y.f, e) < 1e-6);
                };
                check(ops::Add{}, [](float u, float v) { return u + v; });
                check(ops::Sub{}, [](float u, float v) { return u - v; });
                check(ops::Mul{}, [](float u, float v) { return u * v; });
                check(ops::Div{}, [](float u, float v) { return u / v; });
                check(ops::Pow{}, [](float u, float v) { return std::pow(u, v); });
                // Integers through the same plans.
                std::vector<std::int64_t> ia(a.f.size()), ib(b.f.size());
                for (std::size_t k = 0; k < ia.size(); ++k) ia[k] = static_cast<std::int64_t>(a.f[k] * 10) - 7;
                for (std::size_t k = 0; k < ib.size(); ++k) ib[k] = static_cast<std::int64_t>(b.f[k] * 10) + 1;
                const Tensor ta = Tensor::ints(sa, ia), tb = Tensor::ints(sb, ib);
                const Tensor yi = eval1(ops::Sub{}, {&ta, &tb});
                CHECK(yi.i == naive_binary(sa, ia, sb, ib, out, [](std::int64_t u, std::int64_t v) { return u - v; }));
                const Tensor yd = eval1(ops::Div{}, {&ta, &tb});
                CHECK(yd.i == naive_binary(sa, ia, sb, ib, out, [](std::int64_t u, std::int64_t v) { return u / v; }));
                ++tested;
            }
    CHECK(tested == 150);
}

TEST_CASE("binary ops: special cases and errors") {
    const Tensor a = Tensor::floats({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor two = Tensor::scalar(2.0f), half = Tensor::scalar(0.5f);
    CHECK(eval1(ops::Pow{}, {&a, &two}).f == std::vector<float>{1, 4, 9, 16, 25, 36});
    CHECK(eval1(ops::Pow{}, {&a, &half}).f[3] == 2.0f);
    const Tensor e3 = Tensor::ints({}, {3});
    const Tensor yp = eval1(ops::Pow{}, {&a, &e3}); // float base, int exponent
    CHECK(yp.dtype == DType::f32);
    CHECK(yp.f[1] == 8.0f);
    const Tensor ib = Tensor::ints({3}, {1, 2, 3});
    const Tensor fe = Tensor::floats({3}, {4, 5, 6});
    const Tensor yi = eval1(ops::Pow{}, {&ib, &fe}); // int base, float exponent: int result
    CHECK(yi.dtype == DType::i64);
    CHECK(yi.i == std::vector<std::int64_t>{1, 32, 729});
    const Tensor neg = Tensor::ints({2}, {-7, 7}), d2 = Tensor::ints({}, {2});
    CHECK(eval1(ops::Div{}, {&neg, &d2}).i == std::vector<std::int64_t>{-3, 3}); // truncation toward zero
    const Tensor zero = Tensor::ints({}, {0});
    CHECK_THROWS_AS((void)eval1(ops::Div{}, {&neg, &zero}), surgery::graph_error);
    const Tensor b = Tensor::floats({4}, {1, 2, 3, 4});
    CHECK_THROWS_WITH_AS((void)eval1(ops::Add{}, {&a, &b}), doctest::Contains("cannot be broadcast"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Add{}, {&a, &ib}), doctest::Contains("different types"), surgery::graph_error);
    const Tensor empty = Tensor::floats({0, 3}, {});
    CHECK_THROWS_AS((void)eval1(ops::Mul{}, {&empty, &a}), surgery::graph_error); // [0,3] x [2,3]
    const Tensor row = Tensor::floats({1, 3}, {1, 2, 3});
    const Tensor ye = eval1(ops::Mul{}, {&empty, &row});
    CHECK(ye.shape == Shape{0, 3});
    CHECK(ye.f.empty());
}

TEST_CASE("element-wise kernels write in place over an input they may consume") {
    std::mt19937_64 rng(5);
    Tensor x = random_tensor({2, 8, 5, 5}, rng);
    const Tensor bias = random_tensor({8, 1, 1}, rng);
    const Tensor expected = eval1(ops::Add{}, {&x, &bias});
    const float* storage = x.f.data();
    std::vector<const Tensor*> in{&x, &bias};
    std::vector<Tensor*> consumable{&x, nullptr};
    std::vector<Tensor> out(1);
    ref::node_io io;
    io.node = "add";
    io.op = "Add";
    io.inputs = in;
    io.consumable = consumable;
    io.outputs = out;
    ref::kernel_for(surgery::ir::op_kind_v<ops::Add>)(ops::Add{}, io);
    CHECK(out[0].f.data() == storage); // the input's buffer became the output
    CHECK(out[0].f == expected.f);
    CHECK(x.f.empty());
    // A unary kernel likewise.
    Tensor r = out[0];
    const float* rs = r.f.data();
    std::vector<const Tensor*> rin{&r};
    std::vector<Tensor*> rcons{&r};
    std::vector<Tensor> rout(1);
    io.inputs = rin;
    io.consumable = rcons;
    io.outputs = rout;
    ref::kernel_for(surgery::ir::op_kind_v<ops::Relu>)(ops::Relu{}, io);
    CHECK(rout[0].f.data() == rs);
    for (std::size_t k = 0; k < expected.f.size(); ++k) CHECK(rout[0].f[k] == std::max(expected.f[k], 0.0f));
}
