// Resize reference kernel: nearest, linear and cubic, every coordinate_transformation_mode, as
// separable 1-D passes over the axes whose size or sampling changes.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "surgery/reference/kernel.hpp"

namespace surgery::reference {
namespace detail {

/// For each output index along one axis: the input indices (clamped to the edge) and weights of
/// its taps, and whether it falls outside the crop (tf_crop_and_resize: extrapolation_value).
struct resize_axis {
    int taps = 1;
    std::vector<std::int64_t> idx;
    std::vector<float> w;
    std::vector<char> outside;

    [[nodiscard]] bool identity(std::int64_t in_len) const {
        const auto out_len = static_cast<std::int64_t>(outside.size());
        if (out_len != in_len) return false;
        for (std::int64_t x = 0; x < out_len; ++x) {
            if (outside[static_cast<std::size_t>(x)]) return false;
            for (int t = 0; t < taps; ++t) {
                const auto k = static_cast<std::size_t>(x * taps + t);
                if (w[k] != 0.0f && (w[k] != 1.0f || idx[k] != x)) return false;
            }
        }
        return true;
    }
};

/// Builds the sampling of one axis following the ONNX reference implementation: the original
/// coordinate from the transformation mode (in double, with the scale as given or out/in for
/// sizes), then neighbours floor(x) + {0, 1} (nearest, linear) or + {-1 .. 2} (cubic) with
/// edge padding; exclude_outside zeroes and renormalises cubic taps outside the input.
[[nodiscard]] inline resize_axis make_resize_axis(const node_io& io, const ir::ops::Resize& op, std::int64_t in_len, std::int64_t out_len,
                                                  double scale, double roi_start, double roi_end) {
    resize_axis a;
    const std::string& mode = op.mode;
    const std::string& ctm = op.coordinate_transformation_mode;
    a.taps = mode == "nearest" ? 1 : mode == "linear" ? 2 : mode == "cubic" ? 4 : 0;
    if (a.taps == 0) io.fail("unknown mode '" + mode + "' (nearest, linear and cubic are supported)");
    const std::string& nm = op.nearest_mode;
    if (a.taps == 1 && nm != "round_prefer_floor" && nm != "round_prefer_ceil" && nm != "floor" && nm != "ceil")
        io.fail("unknown nearest_mode '" + nm + "'");
    const auto L = static_cast<double>(in_len);
    const double out_f = scale * L; // the reference's (fractional) resized length
    a.idx.resize(static_cast<std::size_t>(out_len * a.taps));
    a.w.resize(a.idx.size());
    a.outside.assign(static_cast<std::size_t>(out_len), 0);
    const double A = op.cubic_coeff_a;
    for (std::int64_t xi = 0; xi < out_len; ++xi) {
        const auto x = static_cast<double>(xi);
        double xo = 0.0;
        if (ctm == "half_pixel") xo = (x + 0.5) / scale - 0.5;
        else if (ctm == "half_pixel_symmetric") {
            const double adjustment = static_cast<double>(out_len) / out_f;
            const double center = L / 2.0;
            xo = center * (1.0 - adjustment) + (x + 0.5) / scale - 0.5;
        } else if (ctm == "pytorch_half_pixel") xo = out_f == 1.0 ? -0.5 : (x + 0.5) / scale - 0.5;
        else if (ctm == "align_corners") xo = out_f == 1.0 ? 0.0 : x * (L - 1.0) / (out_f - 1.0);
        else if (ctm == "asymmetric") xo = x / scale;
        else if (ctm == "tf_half_pixel_for_nn") xo = (x + 0.5) / scale;
        else if (ctm == "tf_crop_and_resize") {
            xo = out_f == 1.0 ? (roi_end - roi_start) * (L - 1.0) / 2.0 : x * (roi_end - roi_start) * (L - 1.0) / (out_f - 1.0);
            xo += roi_start * (L - 1.0);
            if (xo < 0.0 || xo > L - 1.0) a.outside[static_cast<std::size_t>(xi)] = 1;
        } else io.fail("unknown coordinate_transformation_mode '" + ctm + "'");
        const double fl = std::floor(xo);
        const double r = xo - fl;
        const auto base = static_cast<std::int64_t>(fl);
        auto clamp = [&](std::int64_t i) { return std::min(std::max<std::int64_t>(i, 0), in_len - 1); };
        const auto k0 = static_cast<std::size_t>(xi * a.taps);
        if (a.taps == 1) {
            bool up = false;
            if (r != 0.0) {
                if (nm == "round_prefer_floor") up = r > 0.5;
                else if (nm == "round_prefer_ceil") up = r >= 0.5;
                else up = nm == "ceil";
            }
            a.idx[k0] = clamp(base + (up ? 1 : 0));
            a.w[k0] = 1.0f;
        } else if (a.taps == 2) {
            a.idx[k0] = clamp(base);
            a.idx[k0 + 1] = clamp(base + 1);
            a.w[k0] = static_cast<float>(1.0 - r);
            a.w[k0 + 1] = static_cast<float>(r);
        } else {
            const double c[4] = {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A, ((A + 2) * r - (A + 3)) * r * r + 1,
                                 ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
                                 ((A * (2 - r) - 5 * A) * (2 - r) + 8 * A) * (2 - r) - 4 * A};
            double cw[4];
            double sum = 0.0;
            for (int t = 0; t < 4; ++t) {
                const std::int64_t i = base - 1 + t;
                cw[t] = (op.exclude_outside != 0 && (i < 0 || i >= in_len)) ? 0.0 : c[t];
                sum += cw[t];
            }
            for (int t = 0; t < 4; ++t) {
                a.idx[k0 + static_cast<std::size_t>(t)] = clamp(base - 1 + t);
                a.w[k0 + static_cast<std::size_t>(t)] = static_cast<float>(op.exclude_outside != 0 && sum != 0.0 ? cw[t] / sum : cw[t]);
            }
        }
    }
    return a;
}

} // namespace detail

namespace kernels {

/// Resize(X[, roi][, scales][, sizes]) per ONNX (opset 11-19 without antialias, axes and
/// keep_aspect_ratio_policy, which the IR does not carry). An empty scales tensor counts as omitted.
inline void resize(node_io& io, const ir::ops::Resize& op) {
    const Tensor& x = io.float_input(0);
    const std::size_t r = x.shape.size();
    std::vector<double> scales(r, 1.0);
    Shape out = x.shape;
    const bool has_scales = io.has(2) && io.in(2).size() > 0;
    const bool has_sizes = io.has(3) && io.in(3).size() > 0;
    if (has_scales && has_sizes) io.fail("give scales or sizes, not both");
    if (has_sizes) {
        const std::vector<std::int64_t> sizes = io.in(3).as_ints();
        if (sizes.size() != r) io.fail("sizes has " + std::to_string(sizes.size()) + " entries for rank " + std::to_string(r));
        for (std::size_t k = 0; k < r; ++k) {
            if (sizes[k] < 0) io.fail("sizes must be non-negative");
            out[k] = sizes[k];
            scales[k] = x.shape[k] == 0 ? 1.0 : static_cast<double>(sizes[k]) / static_cast<double>(x.shape[k]);
        }
    } else if (has_scales) {
        const std::vector<float> sc = io.in(2).as_floats();
        if (sc.size() != r) io.fail("scales has " + std::to_string(sc.size()) + " entries for rank " + std::to_string(r));
        for (std::size_t k = 0; k < r; ++k) {
            if (!(sc[k] > 0.0f)) io.fail("scales must be positive");
            scales[k] = static_cast<double>(sc[k]);
            out[k] = static_cast<std::int64_t>(static_cast<double>(x.shape[k]) * scales[k]);
        }
    } else {
        io.fail("needs scales or sizes");
    }
    std::vector<double> roi;
    if (op.coordinate_transformation_mode == "tf_crop_and_resize") {
        if (!io.has(1) || io.in(1).size() != static_cast<std::int64_t>(2 * r)) io.fail("tf_crop_and_resize needs roi with 2 x rank entries");
        for (float v : io.in(1).as_floats()) roi.push_back(static_cast<double>(v));
    }

    // One 1-D pass per axis that changes, innermost first (as the reference nests them).
    std::vector<float> cur(x.f.begin(), x.f.end()), next;
    Shape cur_shape = x.shape;
    for (std::size_t k = r; k-- > 0;) {
        const detail::resize_axis a = detail::make_resize_axis(io, op, x.shape[k], out[k], scales[k], roi.empty() ? 0.0 : roi[k],
                                                               roi.empty() ? 1.0 : roi[k + r]);
        if (a.identity(x.shape[k])) continue;
        if (x.shape[k] == 0 && out[k] > 0) io.fail("cannot resize an empty axis to a non-empty one");
        const std::int64_t outer = detail::product(cur_shape, 0, k), len = cur_shape[k], inner = detail::product(cur_shape, k + 1, r);
        next.assign(static_cast<std::size_t>(outer * out[k] * inner), 0.0f);
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t xo = 0; xo < out[k]; ++xo) {
                float* dst = next.data() + (o * out[k] + xo) * inner;
                detail::ArrayMap D(dst, inner);
                if (a.outside[static_cast<std::size_t>(xo)]) {
                    D.setConstant(op.extrapolation_value);
                    continue;
                }
                for (int t = 0; t < a.taps; ++t) {
                    const auto kk = static_cast<std::size_t>(xo * a.taps + t);
                    if (a.w[kk] == 0.0f) continue;
                    D += a.w[kk] * detail::ConstArrayMap(cur.data() + (o * len + a.idx[kk]) * inner, inner);
                }
            }
        cur.swap(next);
        cur_shape[k] = out[k];
    }
    std::copy(cur.begin(), cur.end(), io.alloc_floats(0, out));
}

} // namespace kernels

/// The kernels of this family, as overloads of `kernel` (found by kernels.hpp's dispatch).
inline void kernel(const ir::ops::Resize& op, node_io& io) { kernels::resize(io, op); }

} // namespace surgery::reference
