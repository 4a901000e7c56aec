// Tests of Resize: ONNX examples (nearest modes, linear, cubic) and random cases against a direct
// port of the ONNX reference algorithm (recursive per-element interpolation, neighbours by distance).
#include "helpers.hpp"

#include <algorithm>
#include <functional>

using namespace reftest;

namespace {

Tensor resize_scales(const Tensor& x, const ops::Resize& op, std::vector<float> scales) {
    const Tensor sc = Tensor::floats({static_cast<std::int64_t>(scales.size())}, scales);
    return eval1(op, {&x, nullptr, &sc});
}
Tensor resize_sizes(const Tensor& x, const ops::Resize& op, std::vector<std::int64_t> sizes) {
    const Tensor sz = Tensor::vector(sizes);
    const Tensor empty_scales = Tensor::floats({0}, {});
    return eval1(op, {&x, nullptr, &empty_scales, &sz});
}
ops::Resize make(std::string mode, std::string ctm = "half_pixel", std::string nearest = "round_prefer_floor") {
    ops::Resize op;
    op.mode = std::move(mode);
    op.coordinate_transformation_mode = std::move(ctm);
    op.nearest_mode = std::move(nearest);
    return op;
}

// ---- a port of onnx/reference/ops/op_resize.py (without antialias) --------------------------

std::vector<double> coeffs(const ops::Resize& op, double ratio) {
    if (op.mode == "nearest") {
        if (ratio == std::floor(ratio)) return {0, 1};
        const std::string& m = op.nearest_mode;
        if (m == "round_prefer_floor") return {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0};
        if (m == "round_prefer_ceil") return {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
        if (m == "floor") return {1, 0};
        return {0, 1};
    }
    if (op.mode == "linear") return {1 - ratio, ratio};
    const double A = op.cubic_coeff_a;
    return {((A * (ratio + 1) - 5 * A) * (ratio + 1) + 8 * A) * (ratio + 1) - 4 * A, ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1,
            ((A + 2) * (1 - ratio) - (A + 3)) * (1 - ratio) * (1 - ratio) + 1,
            ((A * ((1 - ratio) + 1) - 5 * A) * ((1 - ratio) + 1) + 8 * A) * ((1 - ratio) + 1) - 4 * A};
}

double interp_1d(const std::vector<double>& data, double scale, std::int64_t out_len, std::int64_t x, const ops::Resize& op, double roi0,
                 double roi1) {
    const auto W = static_cast<double>(data.size());
    const double ow = scale * W;
    const std::string& ctm = op.coordinate_transformation_mode;
    double xo;
    const auto xd = static_cast<double>(x);
    if (ctm == "align_corners") xo = ow == 1 ? 0.0 : xd * (W - 1) / (ow - 1);
    else if (ctm == "asymmetric") xo = xd / scale;
    else if (ctm == "tf_crop_and_resize") {
        xo = ow == 1 ? (roi1 - roi0) * (W - 1) / 2 : xd * (roi1 - roi0) * (W - 1) / (ow - 1);
        xo += roi0 * (W - 1);
        if (xo < 0 || xo > W - 1) return op.extrapolation_value;
    } else if (ctm == "tf_half_pixel_for_nn") xo = (xd + 0.5) / scale;
    else if (ctm == "pytorch_half_pixel") xo = ow == 1 ? -0.5 : (xd + 0.5) / scale - 0.5;
    else if (ctm == "half_pixel_symmetric") {
        const double adjustment = static_cast<double>(out_len) / ow;
        xo = W / 2 * (1 - adjustment) + (xd + 0.5) / scale - 0.5;
    } else xo = (xd + 0.5) / scale - 0.5;
    const double fl = std::floor(xo);
    const double ratio = xo == fl ? 1.0 : xo - fl;
    std::vector<double> c = coeffs(op, ratio);
    const auto n = static_cast<std::int64_t>(c.size());
    const std::int64_t pad = (n + 1) / 2;
    // The n indices of the edge-padded data nearest to xo + pad (ties to the smaller index).
    std::vector<std::int64_t> all;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(data.size()) + 2 * pad; ++i) all.push_back(i);
    const double xp = xo + static_cast<double>(pad);
    std::stable_sort(all.begin(), all.end(), [&](auto a, auto b) { return std::abs(xp - static_cast<double>(a)) < std::abs(xp - static_cast<double>(b)); });
    std::vector<std::int64_t> idx(all.begin(), all.begin() + n);
    std::sort(idx.begin(), idx.end());
    if (op.exclude_outside) {
        double sum = 0;
        for (std::size_t t = 0; t < idx.size(); ++t) {
            if (idx[t] - pad < 0 || idx[t] - pad >= static_cast<std::int64_t>(data.size())) c[t] = 0;
            sum += c[t];
        }
        for (auto& v : c) v /= sum;
    }
    double r = 0;
    for (std::size_t t = 0; t < idx.size(); ++t) {
        const std::int64_t src = std::clamp<std::int64_t>(idx[t] - pad, 0, static_cast<std::int64_t>(data.size()) - 1);
        r += c[t] * data[static_cast<std::size_t>(src)];
    }
    return r;
}

/// Recursive N-D interpolation of one output element, as the reference does it.
double interp_nd(const Tensor& x, std::size_t dim, std::int64_t offset, const std::vector<double>& scales, const Shape& out,
                 const std::vector<std::int64_t>& out_idx, const ops::Resize& op, const std::vector<double>& roi) {
    const std::size_t r = x.shape.size();
    const std::int64_t stride = surgery::ir::numel(Shape(x.shape.begin() + static_cast<std::ptrdiff_t>(dim) + 1, x.shape.end()));
    std::vector<double> line;
    for (std::int64_t i = 0; i < x.shape[dim]; ++i) {
        const std::int64_t off = offset + i * stride;
        line.push_back(dim + 1 == r ? static_cast<double>(x.f[static_cast<std::size_t>(off)]) : interp_nd(x, dim + 1, off, scales, out, out_idx, op, roi));
    }
    return interp_1d(line, scales[dim], out[dim], out_idx[dim], op, roi.empty() ? 0 : roi[dim], roi.empty() ? 1 : roi[dim + r]);
}

Tensor naive_resize(const Tensor& x, const ops::Resize& op, const Shape& out, const std::vector<double>& scales, const std::vector<double>& roi = {}) {
    std::vector<float> y;
    for (std::int64_t k = 0; k < surgery::ir::numel(out); ++k)
        y.push_back(static_cast<float>(interp_nd(x, 0, 0, scales, out, unravel(k, out), op, roi)));
    return Tensor::floats(out, y);
}

} // namespace

TEST_CASE("Resize nearest: ONNX examples for every nearest_mode") {
    const Tensor x2 = iota({1, 1, 2, 2});
    CHECK(resize_scales(x2, make("nearest"), {1, 1, 2, 3}).f ==
          std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
    const Tensor x24 = iota({1, 1, 2, 4});
    const Tensor down = resize_scales(x24, make("nearest"), {1, 1, 0.6f, 0.6f});
    CHECK(down.shape == Shape{1, 1, 1, 2});
    CHECK(down.f == std::vector<float>{1, 3});
    const Tensor x4 = iota({1, 1, 4, 4});
    auto row0 = [](const Tensor& t) { return std::vector<float>(t.f.begin(), t.f.begin() + 8); };
    auto col0 = [](const Tensor& t) {
        std::vector<float> c;
        for (std::size_t k = 0; k < 8; ++k) c.push_back(t.f[k * 8]);
        return c;
    };
    Tensor y = resize_sizes(x4, make("nearest", "half_pixel", "ceil"), {1, 1, 8, 8});
    CHECK(row0(y) == std::vector<float>{1, 2, 2, 3, 3, 4, 4, 4});
    CHECK(col0(y) == std::vector<float>{1, 5, 5, 9, 9, 13, 13, 13});
    y = resize_sizes(x4, make("nearest", "align_corners", "floor"), {1, 1, 8, 8});
    CHECK(row0(y) == std::vector<float>{1, 1, 1, 2, 2, 3, 3, 4});
    y = resize_sizes(x4, make("nearest", "asymmetric", "round_prefer_ceil"), {1, 1, 8, 8});
    CHECK(row0(y) == std::vector<float>{1, 2, 2, 3, 3, 4, 4, 4});
    y = resize_sizes(x4, make("nearest", "tf_half_pixel_for_nn"), {1, 1, 3, 2});
    CHECK(y.f == std::vector<float>{6, 8, 10, 12, 14, 16});
}

TEST_CASE("Resize linear and cubic: ONNX examples") {
    const Tensor x2 = iota({1, 1, 2, 2});
    Tensor y = resize_scales(x2, make("linear"), {1, 1, 2, 2});
    const std::vector<float> e{1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
    CHECK(max_rel_diff(y.f, e) < 1e-6);
    y = resize_scales(x2, make("linear", "align_corners"), {1, 1, 2, 2});
    CHECK(y.f[1] == doctest::Approx(4.0 / 3.0));
    CHECK(y.f[5] == doctest::Approx(2.0));
    const Tensor x24 = iota({1, 1, 2, 4});
    y = resize_scales(x24, make("linear"), {1, 1, 0.6f, 0.6f});
    REQUIRE(y.shape == Shape{1, 1, 1, 2});
    CHECK(y.f[0] == doctest::Approx(2.6666665));
    CHECK(y.f[1] == doctest::Approx(4.3333331));
    y = resize_scales(x24, make("linear", "align_corners"), {1, 1, 0.6f, 0.6f});
    CHECK(y.f[0] == doctest::Approx(1.0));
    CHECK(y.f[1] == doctest::Approx(3.142857)); // the fractional resized length 2.4 is used, as the reference does
    const Tensor x4 = iota({1, 1, 4, 4});
    y = resize_sizes(x4, make("linear", "pytorch_half_pixel"), {1, 1, 3, 1});
    CHECK(max_rel_diff(y.f, {1.6666666f, 7.0f, 12.333333f}) < 1e-6);
    y = resize_scales(x4, make("cubic"), {1, 1, 2, 2});
    const std::vector<float> row0(y.f.begin(), y.f.begin() + 8);
    CHECK(max_rel_diff(row0, {0.47265625f, 0.76953125f, 1.24609375f, 1.875f, 2.28125f, 2.91015625f, 3.38671875f, 3.68359375f}) < 1e-6);
}

TEST_CASE("Resize: random cases against a port of the ONNX reference") {
    struct rc {
        std::string mode, ctm, nearest = "round_prefer_floor";
        std::vector<float> scales;
        std::vector<std::int64_t> sizes;
        float cubic_a = -0.75f;
        bool exclude = false;
    };
    const std::vector<rc> cases{
        {"nearest", "half_pixel", "round_prefer_floor", {1, 1, 1.7f, 2.5f}, {}},
        {"nearest", "asymmetric", "floor", {1, 1, 2, 2}, {}},
        {"nearest", "pytorch_half_pixel", "round_prefer_ceil", {}, {1, 2, 5, 1}},
        {"nearest", "align_corners", "ceil", {}, {1, 2, 9, 4}},
        {"nearest", "half_pixel_symmetric", "round_prefer_floor", {1, 1, 0.7f, 1.3f}, {}},
        {"linear", "half_pixel", "", {1, 1, 1.5f, 0.5f}, {}},
        {"linear", "pytorch_half_pixel", "", {}, {1, 2, 1, 7}},
        {"linear", "align_corners", "", {}, {1, 2, 11, 3}},
        {"linear", "asymmetric", "", {1, 1, 3, 2.25f}, {}},
        {"linear", "half_pixel", "", {1, 2, 2, 2}, {}}, // the channel axis too
        {"cubic", "half_pixel", "", {1, 1, 1.8f, 0.8f}, {}},
        {"cubic", "align_corners", "", {}, {1, 2, 7, 9}, -0.5f, true},
        {"cubic", "asymmetric", "", {1, 1, 2, 2}, {}, -0.5f, true},
    };
    std::mt19937_64 rng(31);
    const Tensor x = random_tensor({1, 2, 5, 6}, rng);
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
        CAPTURE(ci);
        const rc& c = cases[ci];
        ops::Resize op = make(c.mode, c.ctm, c.nearest.empty() ? "round_prefer_floor" : c.nearest);
        op.cubic_coeff_a = c.cubic_a;
        op.exclude_outside = c.exclude ? 1 : 0;
        Shape out = x.shape;
        std::vector<double> sc(4);
        Tensor y;
        if (!c.scales.empty()) {
            for (std::size_t k = 0; k < 4; ++k) {
                sc[k] = c.scales[k];
                out[k] = static_cast<std::int64_t>(static_cast<double>(x.shape[k]) * sc[k]);
            }
            y = resize_scales(x, op, c.scales);
        } else {
            for (std::size_t k = 0; k < 4; ++k) {
                out[k] = c.sizes[k];
                sc[k] = static_cast<double>(c.sizes[k]) / static_cast<double>(x.shape[k]);
            }
            y = resize_sizes(x, op, c.sizes);
        }
        const Tensor e = naive_resize(x, op, out, sc);
        REQUIRE(y.shape == e.shape);
        CHECK(max_rel_diff(y.f, e.f) < 2e-6);
    }
}

TEST_CASE("Resize: tf_crop_and_resize extrapolates outside the crop; errors") {
    const Tensor x = iota({1, 1, 4, 4});
    ops::Resize op = make("linear", "tf_crop_and_resize");
    op.extrapolation_value = 10.0f;
    const Tensor roi = Tensor::floats({8}, {0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f});
    const Tensor sizes = Tensor::vector({1, 1, 3, 3});
    const Tensor y = eval1(op, {&x, &roi, nullptr, &sizes});
    const Tensor e = naive_resize(x, op, {1, 1, 3, 3}, {1, 1, 0.75, 0.75}, {0, 0, 0.4, 0.6, 1, 1, 1.2, 1.7});
    CHECK(max_rel_diff(y.f, e.f) < 1e-6);
    CHECK(y.f[2] == 10.0f);
    CHECK(y.f[8] == 10.0f);
    const Tensor sc = Tensor::floats({4}, {1, 1, 2, 2});
    CHECK_THROWS_WITH_AS((void)eval1(make("bilinear"), {&x, nullptr, &sc}), doctest::Contains("mode"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(make("nearest", "corners"), {&x, nullptr, &sc}), doctest::Contains("coordinate"), surgery::graph_error);
    CHECK_THROWS_WITH_AS((void)eval1(make("nearest"), {&x}), doctest::Contains("scales or sizes"), surgery::graph_error);
    const Tensor sc3 = Tensor::floats({3}, {1, 2, 2});
    CHECK_THROWS_AS((void)eval1(make("nearest"), {&x, nullptr, &sc3}), surgery::graph_error);
}
