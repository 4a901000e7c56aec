// Tests of GlobalAveragePool, AveragePool and MaxPool: ONNX examples, ceil_mode edge cases, and a
// naive implementation on random data (pads, dilations, count_include_pad, 1-D to 3-D).
#include "helpers.hpp"

#include <limits>

using namespace reftest;

namespace {

struct pool_case {
    Shape x;
    surgery::ir::Ints kernel, strides, pads, dilations;
    bool ceil = false;
    bool include_pad = false;
};

/// Output length per ONNX/PyTorch: ceil_mode rounds up but a window starting in the end padding is dropped.
std::int64_t out_len(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t pb, std::int64_t pe, bool ceil) {
    const std::int64_t span = in + pb + pe - ((k - 1) * d + 1);
    std::int64_t o = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && (o - 1) * s >= in + pb) --o;
    return o;
}

/// Naive pooling: for every output position, walk every tap and test it against the input
/// (and, for the average's divisor with count_include_pad, against the padded input).
std::pair<Tensor, Tensor> naive_pool(const Tensor& x, const pool_case& c, bool max) {
    const std::size_t sp = x.shape.size() - 2;
    std::vector<std::int64_t> st(sp, 1), dl(sp, 1), pb(sp, 0), pe(sp, 0);
    Shape out{x.shape[0], x.shape[1]};
    for (std::size_t i = 0; i < sp; ++i) {
        if (!c.strides.empty()) st[i] = c.strides[i];
        if (!c.dilations.empty()) dl[i] = c.dilations[i];
        if (!c.pads.empty()) {
            pb[i] = c.pads[i];
            pe[i] = c.pads[i + sp];
        }
        out.push_back(out_len(x.shape[2 + i], c.kernel[i], st[i], dl[i], pb[i], pe[i], c.ceil));
    }
    const Shape ksp(c.kernel.begin(), c.kernel.end()), xsp(x.shape.begin() + 2, x.shape.end());
    std::vector<float> y(static_cast<std::size_t>(surgery::ir::numel(out)));
    std::vector<std::int64_t> ind(y.size());
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(y.size()); ++k) {
        const auto o = unravel(k, out);
        double sum = 0.0, best = -INFINITY;
        std::int64_t count = 0, arg = -1;
        for (std::int64_t t = 0; t < surgery::ir::numel(ksp); ++t) {
            const auto kidx = unravel(t, ksp);
            bool inside = true, in_padded = true;
            std::vector<std::int64_t> pos(sp);
            for (std::size_t i = 0; i < sp; ++i) {
                pos[i] = o[2 + i] * st[i] - pb[i] + kidx[i] * dl[i];
                inside = inside && pos[i] >= 0 && pos[i] < xsp[i];
                in_padded = in_padded && pos[i] >= -pb[i] && pos[i] < xsp[i] + pe[i];
            }
            if (c.include_pad && in_padded) ++count;
            if (!inside) continue;
            if (!c.include_pad) ++count;
            const std::int64_t flat = (o[0] * x.shape[1] + o[1]) * surgery::ir::numel(xsp) + ravel(pos, xsp);
            const double v = x.f[static_cast<std::size_t>(flat)];
            sum += v;
            if (v > best) {
                best = v;
                arg = flat;
            }
        }
        y[static_cast<std::size_t>(k)] = static_cast<float>(max ? best : sum / static_cast<double>(count));
        ind[static_cast<std::size_t>(k)] = arg;
    }
    return {Tensor::floats(out, y), Tensor::ints(out, ind)};
}

} // namespace

TEST_CASE("pool: ONNX examples for ceil_mode, pads and count_include_pad") {
    const Tensor x4 = iota({1, 1, 4, 4});
    ops::MaxPool mp;
    mp.kernel_shape = {3, 3};
    mp.strides = {2, 2};
    mp.ceil_mode = 1;
    Tensor y = eval1(mp, {&x4});
    CHECK(y.shape == Shape{1, 1, 2, 2});
    CHECK(y.f == std::vector<float>{11, 12, 15, 16});
    ops::AveragePool ap;
    ap.kernel_shape = {3, 3};
    ap.strides = {2, 2};
    ap.ceil_mode = 1;
    y = eval1(ap, {&x4});
    CHECK(y.f == std::vector<float>{6, 7.5f, 12, 13.5f});

    const Tensor x5 = iota({1, 1, 5, 5});
    ops::MaxPool mp5;
    mp5.kernel_shape = {5, 5};
    mp5.pads = {2, 2, 2, 2};
    y = eval1(mp5, {&x5});
    CHECK(y.shape == Shape{1, 1, 5, 5});
    CHECK(y.f == std::vector<float>{13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25});

    ops::AveragePool ap5;
    ap5.kernel_shape = {3, 3};
    ap5.pads = {2, 2, 2, 2};
    ap5.count_include_pad = 1;
    y = eval1(ap5, {&x5});
    CHECK(y.shape == Shape{1, 1, 7, 7});
    CHECK(y.f[0] == doctest::Approx(1.0 / 9.0));           // only x[0][0] in the window, divided by 9
    CHECK(y.f[24] == doctest::Approx((7 + 8 + 9 + 12 + 13 + 14 + 17 + 18 + 19) / 9.0));
    ap5.count_include_pad = 0;
    y = eval1(ap5, {&x5});
    CHECK(y.f[0] == doctest::Approx(1.0));                  // divided by the one real element
    CHECK(y.f[1] == doctest::Approx((1 + 2) / 2.0));
}

TEST_CASE("pool: ceil_mode drops a last window that would start in the end padding") {
    const Tensor x = iota({1, 1, 5, 5});
    ops::MaxPool mp;
    mp.kernel_shape = {2, 2};
    mp.strides = {2, 2};
    mp.pads = {1, 1, 1, 1};
    mp.ceil_mode = 1;
    // span = 5 + 2 - 2 = 5, ceil(5 / 2) + 1 = 4 windows, but the 4th starts at 6 - 1 = 5 = past the input.
    CHECK(eval1(mp, {&x}).shape == Shape{1, 1, 3, 3});
    mp.ceil_mode = 0;
    CHECK(eval1(mp, {&x}).shape == Shape{1, 1, 3, 3});
    mp.pads = {0, 0, 0, 0};
    mp.ceil_mode = 1;
    const Tensor y = eval1(mp, {&x}); // in 5, k 2, s 2: ceil gives a 3rd window of one element
    CHECK(y.shape == Shape{1, 1, 3, 3});
    CHECK(y.f[2] == 10);
    CHECK(y.f[8] == 25);
    ops::AveragePool ap;
    ap.kernel_shape = {2, 2};
    ap.strides = {2, 2};
    ap.ceil_mode = 1;
    ap.count_include_pad = 1; // the area past the input added by ceil_mode is not counted
    const Tensor a = eval1(ap, {&x});
    CHECK(a.f[8] == 25);
    CHECK(a.f[2] == doctest::Approx((5 + 10) / 2.0));
}

TEST_CASE("pool: MaxPool Indices output, row-major and storage_order 1 (ONNX examples)") {
    const Tensor x = iota({1, 1, 5, 5});
    ops::MaxPool mp;
    mp.kernel_shape = {2, 2};
    mp.strides = {2, 2};
    mp.storage_order = 1;
    auto r = eval(mp, {&x}, 2);
    CHECK(r[0].f == std::vector<float>{7, 9, 17, 19});
    CHECK(r[1].dtype == DType::i64);
    CHECK(r[1].i == std::vector<std::int64_t>{6, 16, 8, 18});
    ops::MaxPool mp5;
    mp5.kernel_shape = {5, 5};
    mp5.pads = {2, 2, 2, 2};
    r = eval(mp5, {&x}, 2);
    CHECK(r[1].i == std::vector<std::int64_t>{12, 13, 14, 14, 14, 17, 18, 19, 19, 19, 22, 23, 24, 24, 24, 22, 23, 24, 24, 24, 22, 23, 24, 24, 24});
    // Indices count N and C too.
    const Tensor x2 = iota({2, 3, 4, 4});
    r = eval(mp, {&x2}, 2);
    mp.storage_order = 0;
    auto naive = naive_pool(x2, {{2, 3, 4, 4}, {2, 2}, {2, 2}, {}, {}}, true);
    r = eval(mp, {&x2}, 2);
    CHECK(r[1].i == naive.second.i);
    CHECK(r[1].i.back() == 95);
}

TEST_CASE("pool: random cases against a naive implementation") {
    const std::vector<pool_case> cases = {
        {{2, 3, 9, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, false, false},
        {{2, 3, 9, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, false, true},
        {{1, 2, 10, 7}, {3, 2}, {3, 2}, {0, 1, 2, 0}, {}, true, false},
        {{1, 2, 10, 7}, {3, 2}, {3, 2}, {0, 1, 2, 0}, {}, true, true},
        {{1, 2, 12, 12}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, false, false},
        {{1, 2, 12, 13}, {2, 3}, {2, 2}, {1, 0, 0, 1}, {3, 2}, true, true},
        {{1, 1, 20, 20}, {5, 5}, {1, 1}, {2, 2, 2, 2}, {}, false, false}, // YOLO SPP
        {{2, 3, 17}, {4}, {3}, {1, 2}, {}, true, true},                      // 1-D
        {{1, 2, 5, 6, 7}, {2, 3, 2}, {2, 1, 2}, {1, 0, 1, 0, 1, 1}, {}, true, false}, // 3-D
    };
    std::mt19937_64 rng(7);
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
        CAPTURE(ci);
        const pool_case& c = cases[ci];
        const Tensor x = random_tensor(c.x, rng);
        ops::MaxPool mp;
        mp.kernel_shape = c.kernel;
        mp.strides = c.strides;
        mp.pads = c.pads;
        mp.dilations = c.dilations;
        mp.ceil_mode = c.ceil ? 1 : 0;
        const auto expected_max = naive_pool(x, c, true);
        const auto got = eval(mp, {&x}, 2);
        REQUIRE(got[0].shape == expected_max.first.shape);
        CHECK(got[0].f == expected_max.first.f);
        CHECK(got[1].i == expected_max.second.i);
        ops::AveragePool ap;
        ap.kernel_shape = c.kernel;
        ap.strides = c.strides;
        ap.pads = c.pads;
        ap.dilations = c.dilations;
        ap.ceil_mode = c.ceil ? 1 : 0;
        ap.count_include_pad = c.include_pad ? 1 : 0;
        const Tensor ya = eval1(ap, {&x});
        const auto expected_avg = naive_pool(x, c, false);
        REQUIRE(ya.shape == expected_avg.first.shape);
        CHECK(max_rel_diff(ya.f, expected_avg.first.f) < 1e-6);
    }
}

TEST_CASE("pool: auto_pad SAME_UPPER and SAME_LOWER") {
    const Tensor x = iota({1, 1, 5, 5});
    ops::MaxPool up;
    up.kernel_shape = {2, 2};
    up.auto_pad = "SAME_UPPER";
    Tensor y = eval1(up, {&x});
    CHECK(y.shape == Shape{1, 1, 5, 5});
    CHECK(y.f[0] == 7);
    CHECK(y.f[24] == 25);
    ops::MaxPool low = up;
    low.auto_pad = "SAME_LOWER";
    y = eval1(low, {&x});
    CHECK(y.f[0] == 1);
    CHECK(y.f[24] == 25);
    ops::AveragePool ap;
    ap.kernel_shape = {3, 3};
    ap.strides = {2, 2};
    ap.auto_pad = "SAME_UPPER";
    y = eval1(ap, {&x});
    CHECK(y.shape == Shape{1, 1, 3, 3});
    CHECK(y.f[0] == doctest::Approx((1 + 2 + 6 + 7) / 4.0));
}

TEST_CASE("pool: GlobalAveragePool and errors") {
    const Tensor x = iota({2, 3, 2, 2});
    const Tensor y = eval1(ops::GlobalAveragePool{}, {&x});
    CHECK(y.shape == Shape{2, 3, 1, 1});
    CHECK(y.f == std::vector<float>{2.5f, 6.5f, 10.5f, 14.5f, 18.5f, 22.5f});
    const Tensor x1 = iota({1, 2, 6});
    CHECK(eval1(ops::GlobalAveragePool{}, {&x1}).f == std::vector<float>{3.5f, 9.5f});
    ops::MaxPool mp; // no kernel_shape
    CHECK_THROWS_AS((void)eval1(mp, {&x}), surgery::graph_error);
    mp.kernel_shape = {3, 3, 3};
    CHECK_THROWS_AS((void)eval1(mp, {&x}), surgery::graph_error);
    mp.kernel_shape = {2, 2};
    mp.auto_pad = "SAME_MIDDLE";
    CHECK_THROWS_WITH_AS((void)eval1(mp, {&x}), doctest::Contains("auto_pad"), surgery::graph_error);
    const Tensor flat = iota({4});
    CHECK_THROWS_AS((void)eval1(ops::GlobalAveragePool{}, {&flat}), surgery::graph_error);
}
