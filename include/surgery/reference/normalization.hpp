// Normalisation reference kernels: BatchNormalization, LayerNormalization, Softmax.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "surgery/reference/elementwise.hpp"
#include "surgery/reference/kernel.hpp"

namespace surgery::reference {
namespace detail {

/// The values of `t` broadcast to `shape` (unidirectionally), as a dense row-major vector.
[[nodiscard]] inline std::vector<float> broadcast_to(const node_io& io, const Tensor& t, const Shape& shape, std::string_view what) {
    Shape out;
    if (!broadcast_shapes(t.shape, shape, out) || out != shape)
        io.fail(std::string(what) + " " + ir::to_string(t.shape) + " does not broadcast to " + ir::to_string(shape));
    if (t.shape == shape) return t.f;
    std::vector<float> v(static_cast<std::size_t>(ir::numel(shape)));
    const broadcast_plan p = plan_broadcast(t.shape, shape, io);
    // The plan's second operand has the full shape: `v` itself stands for it (each element is read,
    // and ignored, just before it is written). A one-element stand-in was read out of bounds.
    scalar_binary(p, t.f.data(), v.data(), v.data(), [](float u, float) { return u; });
    return v;
}

/// Per-channel float parameter of BatchNormalization: numel must be the channel count.
[[nodiscard]] inline const float* channel_param(const node_io& io, std::size_t i, std::int64_t channels, std::string_view what) {
    const Tensor& t = io.float_input(i);
    if (t.size() != channels || t.shape.size() != 1)
        io.fail(std::string(what) + " (input " + std::to_string(i) + ") has shape " + ir::to_string(t.shape) + ", expected [" + std::to_string(channels) + "]");
    return t.f.data();
}

} // namespace detail

namespace kernels {

/// BatchNormalization. Inference (training_mode 0): per channel y = x * a + b with
/// a = scale / sqrt(var + eps), b = bias - mean * a. Training mode normalises with the batch
/// statistics and outputs the updated running mean and variance (opset 14 semantics).
inline void batch_normalization(node_io& io, const ir::ops::BatchNormalization& op) {
    const Tensor& x = io.float_input(0);
    if (x.shape.size() < 2) io.fail("input must have a channel axis (rank >= 2), got shape " + ir::to_string(x.shape));
    const std::int64_t N = x.shape[0], C = x.shape[1], S = detail::product(x.shape, 2, x.shape.size());
    const float* scale = detail::channel_param(io, 1, C, "scale");
    const float* bias = detail::channel_param(io, 2, C, "B");
    const float* mean = detail::channel_param(io, 3, C, "input_mean");
    const float* var = detail::channel_param(io, 4, C, "input_var");
    const bool training = op.training_mode != 0;
    if (!training && io.num_outputs() > 1) io.fail("running mean/var outputs exist only in training mode");
    std::vector<float> a(static_cast<std::size_t>(C)), b(static_cast<std::size_t>(C));
    std::vector<float> bmean, bvar;
    const float* xp = x.f.data();
    if (training) {
        bmean.assign(static_cast<std::size_t>(C), 0.0f);
        bvar.assign(static_cast<std::size_t>(C), 0.0f);
        const double count = static_cast<double>(N * S);
        for (std::int64_t c = 0; c < C; ++c) {
            double s = 0.0, s2 = 0.0;
            for (std::int64_t n = 0; n < N; ++n) s += detail::ConstArrayMap(xp + (n * C + c) * S, S).cast<double>().sum();
            const double mu = s / count;
            for (std::int64_t n = 0; n < N; ++n) s2 += (detail::ConstArrayMap(xp + (n * C + c) * S, S).cast<double>() - mu).square().sum();
            bmean[static_cast<std::size_t>(c)] = static_cast<float>(mu);
            bvar[static_cast<std::size_t>(c)] = static_cast<float>(s2 / count);
        }
        mean = bmean.data();
        var = bvar.data();
    }
    for (std::int64_t c = 0; c < C; ++c) {
        const auto k = static_cast<std::size_t>(c);
        a[k] = scale[c] / std::sqrt(var[c] + op.epsilon);
        b[k] = bias[c] - mean[c] * a[k];
    }
    if (training) {
        const float mom = op.momentum;
        const float* in_mean = io.in(3).f.data();
        const float* in_var = io.in(4).f.data();
        if (io.num_outputs() > 1) {
            float* rm = io.alloc_floats(1, Shape{C});
            for (std::int64_t c = 0; c < C; ++c) rm[c] = in_mean[c] * mom + bmean[static_cast<std::size_t>(c)] * (1.0f - mom);
        }
        if (io.num_outputs() > 2) {
            float* rv = io.alloc_floats(2, Shape{C});
            for (std::int64_t c = 0; c < C; ++c) rv[c] = in_var[c] * mom + bvar[static_cast<std::size_t>(c)] * (1.0f - mom);
        }
    }
    float* y = io.reuse_or_alloc(0, 0, x.shape);
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t c = 0; c < C; ++c) {
            const auto k = static_cast<std::size_t>(c);
            detail::ArrayMap(y + (n * C + c) * S, S) = detail::ConstArrayMap(xp + (n * C + c) * S, S) * a[k] + b[k];
        }
}

/// LayerNormalization over the axes from `axis` on; Scale and B broadcast to those axes. The
/// optional Mean and InvStdDev outputs have the input's shape with the normalised axes set to 1.
inline void layer_normalization(node_io& io, const ir::ops::LayerNormalization& op) {
    const Tensor& x = io.float_input(0);
    const std::size_t r = x.shape.size();
    if (r == 0) io.fail("input must have rank >= 1");
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, op.axis, r));
    const std::int64_t outer = detail::product(x.shape, 0, ax), inner = detail::product(x.shape, ax, r);
    const Shape norm_shape(x.shape.begin() + static_cast<std::ptrdiff_t>(ax), x.shape.end());
    const std::vector<float> scale = detail::broadcast_to(io, io.float_input(1), norm_shape, "Scale");
    std::vector<float> bias;
    if (io.has(2)) bias = detail::broadcast_to(io, io.float_input(2), norm_shape, "B");
    Shape stat = x.shape;
    for (std::size_t k = ax; k < r; ++k) stat[k] = 1;
    float* mean_out = io.num_outputs() > 1 ? io.alloc_floats(1, stat) : nullptr;
    float* inv_out = io.num_outputs() > 2 ? io.alloc_floats(2, stat) : nullptr;
    const float* xp = x.f.data();
    float* y = io.reuse_or_alloc(0, 0, x.shape);
    detail::ConstArrayMap G(scale.data(), inner);
    const float inv_n = 1.0f / static_cast<float>(inner);
    for (std::int64_t o = 0; o < outer; ++o) {
        detail::ConstArrayMap X(xp + o * inner, inner);
        detail::ArrayMap Y(y + o * inner, inner);
        const float mu = X.sum() * inv_n;
        const float var = (X - mu).square().sum() * inv_n;
        const float inv = 1.0f / std::sqrt(var + op.epsilon);
        if (bias.empty()) Y = (X - mu) * inv * G;
        else Y = (X - mu) * inv * G + detail::ConstArrayMap(bias.data(), inner);
        if (mean_out) mean_out[o] = mu;
        if (inv_out) inv_out[o] = inv;
    }
}

/// InstanceNormalization: each (image, channel) plane normalised by its own mean and variance.
inline void instance_normalization(node_io& io, const ir::ops::InstanceNormalization& op) {
    const Tensor& x = io.float_input(0);
    if (x.shape.size() < 3) io.fail("input must be N x C x spatial, got shape " + ir::to_string(x.shape));
    const std::int64_t n = x.shape[0], c = x.shape[1], area = detail::product(x.shape, 2, x.shape.size());
    const float* scale = detail::channel_param(io, 1, c, "scale");
    const float* bias = detail::channel_param(io, 2, c, "B");
    const float* xp = x.f.data();
    float* y = io.reuse_or_alloc(0, 0, x.shape);
    if (area == 0) return;
    const float inv_n = 1.0f / static_cast<float>(area);
    for (std::int64_t q = 0; q < n * c; ++q) {
        detail::ConstArrayMap X(xp + q * area, area);
        detail::ArrayMap Y(y + q * area, area);
        const float mu = X.sum() * inv_n;
        const float var = (X - mu).square().sum() * inv_n;
        const float s = scale[q % c] / std::sqrt(var + op.epsilon);
        Y = (X - mu) * s + bias[q % c];
    }
}

/// Softmax along `axis` (opset 13). With `io.options.opset` < 13 the input is coerced to 2-D at
/// `axis` and normalised over the flattened trailing dims, as those opsets define it.
inline void softmax(node_io& io, std::int64_t axis, bool log) {
    const Tensor& x = io.float_input(0);
    const std::size_t r = x.shape.size();
    if (r == 0) io.fail("input must have rank >= 1");
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, axis, r));
    const bool legacy = io.options.opset < 13;
    const std::int64_t outer = detail::product(x.shape, 0, ax);
    const std::int64_t n = legacy ? detail::product(x.shape, ax, r) : x.shape[ax];
    const std::int64_t inner = legacy ? 1 : detail::product(x.shape, ax + 1, r);
    const float* xp = x.f.data();
    float* y = io.reuse_or_alloc(0, 0, x.shape);
    if (n == 0) return;
    for (std::int64_t o = 0; o < outer; ++o) {
        if (inner == 1) {
            detail::ConstArrayMap X(xp + o * n, n);
            detail::ArrayMap Y(y + o * n, n);
            const float m = X.maxCoeff();
            if (log) {
                const float lse = std::log((X - m).exp().sum());
                Y = X - m - lse;
            } else {
                Y = (X - m).exp();
                Y /= Y.sum();
            }
        } else {
            detail::ConstMatrixMap X(xp + o * n * inner, n, inner);
            detail::MatrixMap Y(y + o * n * inner, n, inner);
            const Eigen::RowVectorXf m = X.colwise().maxCoeff();
            if (log) {
                const Eigen::RowVectorXf lse = ((X.rowwise() - m).array().exp().colwise().sum()).log().matrix();
                const Eigen::RowVectorXf shift = m + lse;
                Y = X.rowwise() - shift;
            } else {
                Y = (X.rowwise() - m).array().exp().matrix();
                const Eigen::RowVectorXf s = Y.colwise().sum();
                Y.array().rowwise() /= s.array();
            }
        }
    }
}

} // namespace kernels

/// The kernels of this family, as overloads of `kernel` (found by kernels.hpp's dispatch).
inline void kernel(const ir::ops::BatchNormalization& op, node_io& io) { kernels::batch_normalization(io, op); }
inline void kernel(const ir::ops::LayerNormalization& op, node_io& io) { kernels::layer_normalization(io, op); }
inline void kernel(const ir::ops::Softmax& op, node_io& io) { kernels::softmax(io, op.axis, false); }
inline void kernel(const ir::ops::LogSoftmax& op, node_io& io) { kernels::softmax(io, op.axis, true); }
inline void kernel(const ir::ops::InstanceNormalization& op, node_io& io) { kernels::instance_normalization(io, op); }

} // namespace surgery::reference
