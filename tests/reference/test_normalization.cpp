// Tests of BatchNormalization, LayerNormalization, Softmax and ReduceMean against direct formulas.
#include "helpers.hpp"

#include <limits>

using namespace reftest;

TEST_CASE("BatchNormalization: inference and training mode") {
    std::mt19937_64 rng(21);
    const Tensor x = random_tensor({2, 3, 4, 5}, rng);
    const Tensor scale = random_tensor({3}, rng, 0.5f, 1.5f), bias = random_tensor({3}, rng), mean = random_tensor({3}, rng),
                 var = random_tensor({3}, rng, 0.5f, 1.5f);
    ops::BatchNormalization op;
    op.epsilon = 1e-3f;
    const Tensor y = eval1(op, {&x, &scale, &bias, &mean, &var});
    REQUIRE(y.shape == x.shape);
    double worst = 0;
    for (std::size_t k = 0; k < x.f.size(); ++k) {
        const std::size_t c = (k / 20) % 3;
        const double e = (x.f[k] - mean.f[c]) / std::sqrt(static_cast<double>(var.f[c]) + 1e-3) * scale.f[c] + bias.f[c];
        worst = std::max(worst, std::abs(e - y.f[k]));
    }
    CHECK(worst < 1e-5);
    // [N, C] input (after Flatten) works too.
    const Tensor x2 = random_tensor({4, 3}, rng);
    CHECK(eval1(op, {&x2, &scale, &bias, &mean, &var}).shape == Shape{4, 3});

    op.training_mode = 1;
    op.momentum = 0.8f;
    auto r = eval(op, {&x, &scale, &bias, &mean, &var}, 3);
    for (std::size_t c = 0; c < 3; ++c) {
        double s = 0, s2 = 0;
        for (std::size_t n = 0; n < 2; ++n)
            for (std::size_t k = 0; k < 20; ++k) s += x.f[(n * 3 + c) * 20 + k];
        const double mu = s / 40;
        for (std::size_t n = 0; n < 2; ++n)
            for (std::size_t k = 0; k < 20; ++k) s2 += std::pow(x.f[(n * 3 + c) * 20 + k] - mu, 2);
        const double v = s2 / 40;
        CHECK(r[1].f[c] == doctest::Approx(mean.f[c] * 0.8 + mu * 0.2).epsilon(1e-5));
        CHECK(r[2].f[c] == doctest::Approx(var.f[c] * 0.8 + v * 0.2).epsilon(1e-5));
        const double e0 = (x.f[c * 20] - mu) / std::sqrt(v + 1e-3) * scale.f[c] + bias.f[c];
        CHECK(r[0].f[c * 20] == doctest::Approx(e0).epsilon(1e-4));
    }
    const Tensor short_scale = random_tensor({2}, rng);
    op.training_mode = 0;
    CHECK_THROWS_WITH_AS((void)eval1(op, {&x, &short_scale, &bias, &mean, &var}), doctest::Contains("scale"), surgery::graph_error);
}

TEST_CASE("LayerNormalization over every axis, with Mean and InvStdDev outputs") {
    std::mt19937_64 rng(22);
    const Shape s{2, 3, 4, 5};
    const Tensor x = random_tensor(s, rng, -2.0f, 3.0f);
    for (std::int64_t axis = -4; axis < 4; ++axis) {
        CAPTURE(axis);
        const std::size_t ax = static_cast<std::size_t>(axis < 0 ? axis + 4 : axis);
        const Shape ns(s.begin() + static_cast<std::ptrdiff_t>(ax), s.end());
        const Tensor scale = random_tensor(ns, rng, 0.5f, 1.5f), bias = random_tensor(ns, rng);
        ops::LayerNormalization op;
        op.axis = axis;
        op.epsilon = 1e-4f;
        auto r = eval(op, {&x, &scale, &bias}, 3);
        const std::int64_t inner = surgery::ir::numel(ns), outer = surgery::ir::numel(s) / inner;
        Shape stat = s;
        for (std::size_t k = ax; k < 4; ++k) stat[k] = 1;
        REQUIRE(r[1].shape == stat);
        REQUIRE(r[2].shape == stat);
        double worst = 0;
        for (std::int64_t o = 0; o < outer; ++o) {
            double mu = 0, var = 0;
            for (std::int64_t k = 0; k < inner; ++k) mu += x.f[static_cast<std::size_t>(o * inner + k)];
            mu /= static_cast<double>(inner);
            for (std::int64_t k = 0; k < inner; ++k) var += std::pow(x.f[static_cast<std::size_t>(o * inner + k)] - mu, 2);
            var /= static_cast<double>(inner);
            const double inv = 1.0 / std::sqrt(var + 1e-4);
            CHECK(r[1].f[static_cast<std::size_t>(o)] == doctest::Approx(mu).epsilon(1e-5));
            CHECK(r[2].f[static_cast<std::size_t>(o)] == doctest::Approx(inv).epsilon(1e-5));
            for (std::int64_t k = 0; k < inner; ++k) {
                const auto i = static_cast<std::size_t>(o * inner + k);
                const double e = (x.f[i] - mu) * inv * scale.f[static_cast<std::size_t>(k)] + bias.f[static_cast<std::size_t>(k)];
                worst = std::max(worst, std::abs(e - r[0].f[i]));
            }
        }
        CHECK(worst < 2e-5);
    }
    // Scale broadcast from a smaller shape, no bias.
    const Tensor one = Tensor::floats({1}, {2.0f});
    ops::LayerNormalization op;
    const Tensor y = eval1(op, {&x, &one});
    const Tensor five = Tensor::floats({5}, std::vector<float>(5, 2.0f));
    const Tensor y1 = eval1(op, {&x, &five});
    CHECK(y.f == y1.f);
    const Tensor bad = random_tensor({4}, rng);
    CHECK_THROWS_WITH_AS((void)eval1(op, {&x, &bad}), doctest::Contains("does not broadcast"), surgery::graph_error);
}

TEST_CASE("Softmax along any axis, large inputs, legacy (opset < 13) semantics") {
    std::mt19937_64 rng(23);
    const Shape s{2, 3, 4};
    const Tensor x = random_tensor(s, rng, -5.0f, 5.0f);
    for (std::int64_t axis = -3; axis < 3; ++axis) {
        CAPTURE(axis);
        ops::Softmax op;
        op.axis = axis;
        const Tensor y = eval1(op, {&x});
        const std::size_t ax = static_cast<std::size_t>(axis < 0 ? axis + 3 : axis);
        double worst = 0;
        for (std::int64_t k = 0; k < 24; ++k) {
            auto idx = unravel(k, s);
            double den = 0;
            for (std::int64_t j = 0; j < s[ax]; ++j) {
                idx[ax] = j;
                den += std::exp(static_cast<double>(x.f[static_cast<std::size_t>(ravel(idx, s))]));
            }
            worst = std::max(worst, std::abs(std::exp(static_cast<double>(x.f[static_cast<std::size_t>(k)])) / den - y.f[static_cast<std::size_t>(k)]));
        }
        CHECK(worst < 1e-6);
    }
    const Tensor big = Tensor::floats({1, 4}, {10000, 10001, 10002, 10003});
    const Tensor yb = eval1(ops::Softmax{}, {&big});
    CHECK(yb.f[3] == doctest::Approx(0.6439142598879722));
    CHECK(yb.f[0] == doctest::Approx(0.03205860328008499));
    // Opset 11: axis 1 normalises over the flattened [3 x 4] block.
    ops::Softmax legacy;
    legacy.axis = 1;
    const Tensor yl = eval1(legacy, {&x}, {ref::conv_algorithm::automatic, 11});
    double sum = 0;
    for (std::size_t k = 0; k < 12; ++k) sum += yl.f[k];
    CHECK(sum == doctest::Approx(1.0));
    const Tensor y13 = eval1(legacy, {&x});
    CHECK(y13.f != yl.f);
}

TEST_CASE("ReduceMean: axes as attribute or input, keepdims, noop_with_empty_axes") {
    const Shape s{2, 3, 4};
    const Tensor x = iota(s);
    auto naive = [&](const std::vector<bool>& red, bool keep) {
        Shape out;
        for (std::size_t k = 0; k < 3; ++k) {
            if (!red[k]) out.push_back(s[k]);
            else if (keep) out.push_back(1);
        }
        Shape full = s;
        for (std::size_t k = 0; k < 3; ++k)
            if (red[k]) full[k] = 1;
        std::vector<double> sum(static_cast<std::size_t>(surgery::ir::numel(full)), 0.0);
        double count = 1;
        for (std::size_t k = 0; k < 3; ++k)
            if (red[k]) count *= static_cast<double>(s[k]);
        for (std::int64_t k = 0; k < 24; ++k) {
            auto idx = unravel(k, s);
            for (std::size_t d = 0; d < 3; ++d)
                if (red[d]) idx[d] = 0;
            sum[static_cast<std::size_t>(ravel(idx, full))] += x.f[static_cast<std::size_t>(k)];
        }
        std::vector<float> y;
        for (double v : sum) y.push_back(static_cast<float>(v / count));
        return Tensor::floats(out, y);
    };
    for (int mask = 1; mask < 8; ++mask)
        for (int keep = 0; keep < 2; ++keep) {
            CAPTURE(mask);
            CAPTURE(keep);
            std::vector<bool> red{(mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0};
            std::vector<std::int64_t> axes;
            for (std::int64_t k = 0; k < 3; ++k)
                if (red[static_cast<std::size_t>(k)]) axes.push_back(k - (keep ? 3 : 0)); // negative axes too
            ops::ReduceMean op;
            op.keepdims = keep;
            const Tensor e = naive(red, keep != 0);
            const Tensor at = Tensor::vector(axes);
            const Tensor y = eval1(op, {&x, &at});
            REQUIRE(y.shape == e.shape);
            CHECK(max_rel_diff(y.f, e.f) < 1e-6);
        }
    ops::ReduceMean all;
    const Tensor y = eval1(all, {&x});
    CHECK(y.shape == Shape{1, 1, 1});
    CHECK(y.f[0] == doctest::Approx(12.5));
    all.noop_with_empty_axes = 1;
    CHECK(eval1(all, {&x}) == x);
    const Tensor bad_axis = Tensor::vector({3});
    CHECK_THROWS_AS((void)eval1(all, {&x, &bad_axis}), surgery::graph_error);
}
