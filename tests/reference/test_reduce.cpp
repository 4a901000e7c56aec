// Tests of the reduction kernels: every Reduce* against a direct formula over all axis subsets, the
// ONNX example values, empty reductions, integer wrap-around, NaN, and ArgMax/ArgMin tie rules.
#include "helpers.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

using namespace reftest;
using surgery::ir::ops::reduce_kind;

namespace {

constexpr float reduce_inf = std::numeric_limits<float>::infinity();

/// The ONNX test data of the reductions: shape [3, 2, 2].
Tensor example() { return Tensor::floats({3, 2, 2}, {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2}); }

Tensor reduce_ints_of(const Shape& s, std::vector<std::int64_t> v, DType t = DType::i64) { return Tensor::ints(s, std::move(v), t); }

/// Reduces `x` over the `red` axes by folding the elements with `f` in double, then `fin(acc, count)`.
Tensor naive(const Tensor& x, const std::vector<bool>& red, bool keep, double init, const std::function<double(double, double)>& f,
             const std::function<double(double, double)>& fin) {
    const Shape& s = x.shape;
    Shape out, full = s;
    double count = 1;
    for (std::size_t k = 0; k < s.size(); ++k) {
        if (red[k]) {
            full[k] = 1;
            count *= static_cast<double>(s[k]);
        }
        if (!red[k]) out.push_back(s[k]);
        else if (keep) out.push_back(1);
    }
    std::vector<double> acc(static_cast<std::size_t>(surgery::ir::numel(full)), init);
    for (std::int64_t k = 0; k < x.size(); ++k) {
        auto idx = unravel(k, s);
        for (std::size_t d = 0; d < s.size(); ++d)
            if (red[d]) idx[d] = 0;
        double& a = acc[static_cast<std::size_t>(ravel(idx, full))];
        a = f(a, static_cast<double>(x.f[static_cast<std::size_t>(k)]));
    }
    std::vector<float> y;
    for (double v : acc) y.push_back(static_cast<float>(fin(v, count)));
    return Tensor::floats(out, y);
}

struct formula {
    double init;
    std::function<double(double, double)> f, fin;
};

formula formula_of(reduce_kind k) {
    auto id = [](double a, double) { return a; };
    auto sum = [](double a, double v) { return a + v; };
    switch (k) {
    case reduce_kind::sum: return {0, sum, id};
    case reduce_kind::mean: return {0, sum, [](double a, double n) { return a / n; }};
    case reduce_kind::max: return {-INFINITY, [](double a, double v) { return std::max(a, v); }, id};
    case reduce_kind::min: return {INFINITY, [](double a, double v) { return std::min(a, v); }, id};
    case reduce_kind::prod: return {1, [](double a, double v) { return a * v; }, id};
    case reduce_kind::l1: return {0, [](double a, double v) { return a + std::abs(v); }, id};
    case reduce_kind::l2: return {0, [](double a, double v) { return a + v * v; }, [](double a, double) { return std::sqrt(a); }};
    case reduce_kind::sum_square: return {0, [](double a, double v) { return a + v * v; }, id};
    case reduce_kind::log_sum: return {0, sum, [](double a, double) { return std::log(a); }};
    case reduce_kind::log_sum_exp: return {0, [](double a, double v) { return a + std::exp(v); }, [](double a, double) { return std::log(a); }};
    }
    return {0, sum, id};
}

template <reduce_kind K>
void check_against_formula() {
    CAPTURE(ops::Reduce<K>::name);
    std::mt19937_64 rng(7);
    const Shape s{2, 3, 1, 4};
    // Positive data for the logarithms, small enough for the products.
    const Tensor x = random_tensor(s, rng, 0.5f, 1.5f);
    const formula fm = formula_of(K);
    for (int mask = 1; mask < 16; ++mask)
        for (int keep = 0; keep < 2; ++keep) {
            CAPTURE(mask);
            CAPTURE(keep);
            std::vector<bool> red;
            std::vector<std::int64_t> axes;
            for (std::int64_t k = 0; k < 4; ++k) {
                red.push_back((mask >> k & 1) != 0);
                if (red.back()) axes.push_back(mask % 2 ? k - 4 : k); // negative axes too
            }
            ops::Reduce<K> op;
            op.keepdims = keep;
            const Tensor at = Tensor::vector(axes);
            const Tensor y = eval1(op, {&x, &at});
            const Tensor e = naive(x, red, keep != 0, fm.init, fm.f, fm.fin);
            REQUIRE(y.shape == e.shape);
            CHECK(max_rel_diff(y.f, e.f) < 1e-5);
        }
    // No axes: everything; noop_with_empty_axes: the identity.
    ops::Reduce<K> all;
    const Tensor y = eval1(all, {&x});
    CHECK(y.shape == Shape{1, 1, 1, 1});
    const Tensor e = naive(x, {true, true, true, true}, true, fm.init, fm.f, fm.fin);
    CHECK(max_rel_diff(y.f, e.f) < 1e-5);
    const Tensor none = Tensor::ints({0}, {});
    CHECK(eval1(all, {&x, &none}).shape == Shape{1, 1, 1, 1});
    all.noop_with_empty_axes = 1;
    all.keepdims = 0;
    CHECK(eval1(all, {&x}) == x);
    CHECK(eval1(all, {&x, &none}) == x);
}

} // namespace

static_assert(std::is_same_v<ops::ReduceMean, ops::Reduce<reduce_kind::mean>>);
static_assert(ops::ReduceSum::name == "ReduceSum" && ops::ReduceLogSumExp::name == "ReduceLogSumExp");
static_assert(ops::ReduceSum::legacy_inputs[0].before == 13 && ops::ReduceL2::legacy_inputs[0].before == 18);
static_assert(ops::ArgMax::name == "ArgMax" && ops::ArgMin::name == "ArgMin");

TEST_CASE("every reduction against its formula over all axis subsets, keepdims and negative axes") {
    check_against_formula<reduce_kind::sum>();
    check_against_formula<reduce_kind::mean>();
    check_against_formula<reduce_kind::max>();
    check_against_formula<reduce_kind::min>();
    check_against_formula<reduce_kind::prod>();
    check_against_formula<reduce_kind::l1>();
    check_against_formula<reduce_kind::l2>();
    check_against_formula<reduce_kind::sum_square>();
    check_against_formula<reduce_kind::log_sum>();
    check_against_formula<reduce_kind::log_sum_exp>();
}

TEST_CASE("the ONNX example: [3, 2, 2] reduced over axis 1") {
    const Tensor x = example();
    const Tensor ax = Tensor::vector({1});
    ops::ReduceSum sum;
    sum.keepdims = 0;
    CHECK(eval1(sum, {&x, &ax}).f == std::vector<float>{25, 3, 70, 3, 115, 3});
    ops::ReduceMax mx;
    CHECK(eval1(mx, {&x, &ax}).f == std::vector<float>{20, 2, 40, 2, 60, 2});
    CHECK(eval1(mx, {&x, &ax}).shape == Shape{3, 1, 2});
    ops::ReduceMin mn;
    CHECK(eval1(mn, {&x, &ax}).f == std::vector<float>{5, 1, 30, 1, 55, 1});
    ops::ReduceProd pr;
    CHECK(eval1(pr, {&x, &ax}).f == std::vector<float>{100, 2, 1200, 2, 3300, 2});
    ops::ReduceMean me;
    CHECK(eval1(me, {&x, &ax}).f == std::vector<float>{12.5f, 1.5f, 35, 1.5f, 57.5f, 1.5f});
    ops::ReduceSumSquare sq;
    CHECK(eval1(sq, {&x, &ax}).f == std::vector<float>{425, 5, 2500, 5, 6625, 5});
    ops::ReduceL1 l1;
    const Tensor neg = Tensor::floats({2, 2}, {-1, 2, 3, -4});
    const Tensor last = Tensor::vector({-1});
    CHECK(eval1(l1, {&neg, &last}).f == std::vector<float>{3, 7});
    ops::ReduceL2 l2;
    const Tensor y = eval1(l2, {&neg, &last});
    CHECK(y.f[0] == doctest::Approx(std::sqrt(5.0)));
    CHECK(y.f[1] == doctest::Approx(5.0));
}

TEST_CASE("log-sum-exp is stable for large values; log-sum of zero is -inf") {
    const Tensor x = Tensor::floats({2, 2}, {1000, 1000, -1000, -reduce_inf});
    const Tensor ax = Tensor::vector({1});
    ops::ReduceLogSumExp lse;
    lse.keepdims = 0;
    const Tensor y = eval1(lse, {&x, &ax});
    CHECK(y.f[0] == doctest::Approx(1000.0 + std::log(2.0)));
    CHECK(y.f[1] == doctest::Approx(-1000.0));
    const Tensor all_neg_inf = Tensor::floats({2}, {-reduce_inf, -reduce_inf});
    CHECK(eval1(lse, {&all_neg_inf}).f[0] == -reduce_inf);
    const Tensor pos_inf = Tensor::floats({2}, {reduce_inf, 1});
    CHECK(eval1(lse, {&pos_inf}).f[0] == reduce_inf);
    ops::ReduceLogSum ls;
    const Tensor zeros = Tensor::floats({2}, {0, 0});
    CHECK(eval1(ls, {&zeros}).f[0] == -reduce_inf);
}

TEST_CASE("reductions over an empty axis give the identity of their operation") {
    const Tensor x = Tensor::floats({2, 0, 3}, {});
    const Tensor ax = Tensor::vector({1});
    auto one = [&](auto op) {
        op.keepdims = 0;
        const Tensor y = eval1(op, {&x, &ax});
        REQUIRE(y.shape == Shape{2, 3});
        return y.f[0];
    };
    CHECK(one(ops::ReduceSum{}) == 0.0f);
    CHECK(one(ops::ReduceProd{}) == 1.0f);
    CHECK(one(ops::ReduceMax{}) == -reduce_inf);
    CHECK(one(ops::ReduceMin{}) == reduce_inf);
    CHECK(std::isnan(one(ops::ReduceMean{})));
    CHECK(one(ops::ReduceL1{}) == 0.0f);
    CHECK(one(ops::ReduceL2{}) == 0.0f);
    CHECK(one(ops::ReduceSumSquare{}) == 0.0f);
    CHECK(one(ops::ReduceLogSum{}) == -reduce_inf);
    CHECK(one(ops::ReduceLogSumExp{}) == -reduce_inf);
    // A zero-size kept axis: an empty output.
    const Tensor ax2 = Tensor::vector({2});
    CHECK(eval1(ops::ReduceSum{}, {&x, &ax2}).shape == Shape{2, 0, 1});
    // A scalar reduces to itself.
    const Tensor s = Tensor::scalar(3.0f);
    CHECK(eval1(ops::ReduceSum{}, {&s}).f == std::vector<float>{3});
}

TEST_CASE("NaN propagates through max and min") {
    const Tensor x = Tensor::floats({2, 3}, {1, NAN, 3, 4, 5, 6});
    const Tensor ax = Tensor::vector({1});
    const Tensor mx = eval1(ops::ReduceMax{}, {&x, &ax});
    CHECK(std::isnan(mx.f[0]));
    CHECK(mx.f[1] == 6.0f);
    const Tensor ax0 = Tensor::vector({0});
    const Tensor mn = eval1(ops::ReduceMin{}, {&x, &ax0});
    CHECK(mn.f[0] == 1.0f);
    CHECK(std::isnan(mn.f[1]));
    CHECK(mn.f[2] == 3.0f);
}

TEST_CASE("integer reductions: int64 and int32, wrapping instead of overflowing") {
    const Tensor x = reduce_ints_of({2, 3}, {1, -2, 3, 4, 5, -6});
    const Tensor ax = Tensor::vector({1});
    CHECK(eval1(ops::ReduceSum{}, {&x, &ax}).i == std::vector<std::int64_t>{2, 3});
    CHECK(eval1(ops::ReduceProd{}, {&x, &ax}).i == std::vector<std::int64_t>{-6, -120});
    CHECK(eval1(ops::ReduceMax{}, {&x, &ax}).i == std::vector<std::int64_t>{3, 5});
    CHECK(eval1(ops::ReduceMin{}, {&x, &ax}).i == std::vector<std::int64_t>{-2, -6});
    CHECK(eval1(ops::ReduceL1{}, {&x, &ax}).i == std::vector<std::int64_t>{6, 15});
    CHECK(eval1(ops::ReduceSumSquare{}, {&x, &ax}).i == std::vector<std::int64_t>{14, 77});
    CHECK(eval1(ops::ReduceMean{}, {&x, &ax}).i == std::vector<std::int64_t>{0, 1}); // 2/3 and 3/3, truncated
    CHECK(eval1(ops::ReduceSum{}, {&x, &ax}).dtype == DType::i64);
    constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
    const Tensor huge = reduce_ints_of({2}, {big, 1});
    CHECK(eval1(ops::ReduceSum{}, {&huge}).i[0] == std::numeric_limits<std::int64_t>::min());
    CHECK(eval1(ops::ReduceProd{}, {&huge}).i[0] == big);
    const Tensor most_negative = reduce_ints_of({1}, {std::numeric_limits<std::int64_t>::min()});
    CHECK(eval1(ops::ReduceL1{}, {&most_negative}).i[0] == std::numeric_limits<std::int64_t>::min());
    const Tensor i32 = reduce_ints_of({2}, {2147483647, 1}, DType::i32);
    const Tensor s32 = eval1(ops::ReduceSum{}, {&i32});
    CHECK(s32.dtype == DType::i32);
    CHECK(s32.i[0] == -2147483648LL);
    const Tensor empty = reduce_ints_of({0}, {}, DType::i32);
    CHECK(eval1(ops::ReduceMax{}, {&empty}).i[0] == -2147483648LL);
    CHECK(eval1(ops::ReduceMin{}, {&empty}).i[0] == 2147483647LL);
    CHECK_THROWS_WITH_AS((void)eval1(ops::ReduceL2{}, {&x}), doctest::Contains("float32 only"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(ops::ReduceLogSumExp{}, {&x}), doctest::Contains("not supported"), surgery::graph_error);
    const Tensor b = reduce_ints_of({2}, {1, 0}, DType::boolean);
    CHECK_THROWS_AS((void)eval1(ops::ReduceSum{}, {&b}), surgery::graph_error);
}

TEST_CASE("reduction axes errors name the node") {
    const Tensor x = example();
    const Tensor out_of_range = Tensor::vector({3});
    CHECK_THROWS_WITH_AS((void)eval1(ops::ReduceSum{}, {&x, &out_of_range}), doctest::Contains("node_under_test"), surgery::graph_error);
    const Tensor repeated = Tensor::vector({1, -2});
    CHECK_THROWS_WITH_AS((void)eval1(ops::ReduceSum{}, {&x, &repeated}), doctest::Contains("repeat"), surgery::graph_error);
    const Tensor float_axes = Tensor::floats({1}, {1});
    CHECK_THROWS_WITH_AS((void)eval1(ops::ReduceMax{}, {&x, &float_axes}), doctest::Contains("integer"), surgery::graph_error);
}

TEST_CASE("ArgMax and ArgMin: axis, keepdims, ties, select_last_index, NaN, integers") {
    const Tensor x = Tensor::floats({2, 3}, {2, 7, 7, 9, 1, 1});
    ops::ArgMax am;
    am.axis = 1;
    Tensor y = eval1(am, {&x});
    CHECK(y.dtype == DType::i64);
    CHECK(y.shape == Shape{2, 1});
    CHECK(y.i == std::vector<std::int64_t>{1, 0});
    am.select_last_index = 1;
    CHECK(eval1(am, {&x}).i == std::vector<std::int64_t>{2, 0});
    ops::ArgMin an;
    an.axis = -1;
    an.keepdims = 0;
    y = eval1(an, {&x});
    CHECK(y.shape == Shape{2});
    CHECK(y.i == std::vector<std::int64_t>{0, 1});
    an.select_last_index = 1;
    CHECK(eval1(an, {&x}).i == std::vector<std::int64_t>{0, 2});
    ops::ArgMax down; // axis 0
    CHECK(eval1(down, {&x}).i == std::vector<std::int64_t>{1, 0, 0});
    const Tensor nan = Tensor::floats({4}, {1, NAN, 5, NAN});
    CHECK(eval1(ops::ArgMax{}, {&nan}).i[0] == 1);
    CHECK(eval1(ops::ArgMin{}, {&nan}).i[0] == 1);
    ops::ArgMax last;
    last.select_last_index = 1;
    CHECK(eval1(last, {&nan}).i[0] == 3);
    const Tensor xi = reduce_ints_of({3}, {-5, 4, 4}, DType::i32);
    CHECK(eval1(ops::ArgMax{}, {&xi}).i[0] == 1);
    CHECK(eval1(ops::ArgMin{}, {&xi}).i[0] == 0);
    const Tensor empty = Tensor::floats({0, 2}, {});
    CHECK_THROWS_WITH_AS((void)eval1(ops::ArgMax{}, {&empty}), doctest::Contains("no elements"), surgery::graph_error);
    ops::ArgMax far;
    far.axis = 2;
    CHECK_THROWS_AS((void)eval1(far, {&x}), surgery::graph_error);
    // A zero-size axis other than the one reduced: an empty output.
    am.axis = 1;
    CHECK(eval1(am, {&empty}).shape == Shape{0, 1});
}
