// Neural-network layers: convolution, normalisation, pooling, dense layers, softmax, resampling, dropout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"

namespace surgery::ir::ops {

/// Conv(X, W[, B]). `pads` is ONNX order [x1_begin, x2_begin, ..., x1_end, x2_end]; empty = zeros.
struct Conv {
    static constexpr std::string_view name = "Conv";
    static constexpr arity_t arity{2, 3, 1, 1};
    std::string auto_pad = "NOTSET";
    Ints dilations;
    std::int64_t group = 1;
    Ints kernel_shape;
    Ints pads;
    Ints strides;
    static constexpr auto attributes() {
        return std::tuple{attr("auto_pad", &Conv::auto_pad), attr("dilations", &Conv::dilations), attr("group", &Conv::group),
                          attr("kernel_shape", &Conv::kernel_shape), attr("pads", &Conv::pads), attr("strides", &Conv::strides)};
    }
    friend bool operator==(const Conv&, const Conv&) = default;
};

inline void infer(const Conv& op, infer_context& c) {
    if (!c.known(0) || !c.known(1)) return;
    const Shape& x = c.shape(0);
    const Shape& w = c.shape(1);
    if (x.size() < 3) c.fail("input must be N x C x spatial, got " + to_string(x));
    if (w.size() != x.size()) c.fail("weight rank " + std::to_string(w.size()) + " differs from input rank " + std::to_string(x.size()));
    if (op.group <= 0 || op.group > max_dim) c.fail("group " + std::to_string(op.group) + " must be in [1, 2^40]");
    if (x[1] >= 0 && w[1] >= 0 && x[1] != w[1] * op.group)
        c.fail("input has " + std::to_string(x[1]) + " channels but weight " + to_string(w) + " with group " + std::to_string(op.group) +
               " expects " + std::to_string(w[1] * op.group));
    if (w[0] >= 0 && w[0] % op.group != 0) c.fail("output channels not divisible by group");
    Ints kernel = op.kernel_shape.empty() ? Ints(w.begin() + 2, w.end()) : op.kernel_shape;
    for (std::size_t i = 0; i < kernel.size() && i + 2 < w.size(); ++i)
        if (w[2 + i] >= 0 && kernel[i] != w[2 + i]) c.fail("kernel_shape " + to_string(kernel) + " differs from weight " + to_string(w));
    if (c.known(2) && (c.shape(2).size() != 1 || (w[0] >= 0 && c.shape(2)[0] >= 0 && c.shape(2)[0] != w[0])))
        c.fail("bias " + to_string(c.shape(2)) + " does not match " + std::to_string(w[0]) + " output channels");
    for (auto k : kernel)
        if (k < 0) return; // weight of unknown spatial size
    Shape out{x[0], w[0]};
    auto sp = spatial_out(x, kernel, op.strides, op.pads, op.dilations, op.auto_pad, false, c);
    out.insert(out.end(), sp.begin(), sp.end());
    c.set(0, std::move(out));
}

/// ConvTranspose(X, W[, B]): the gradient of Conv with respect to its input. W is [C, M/group, k...].
struct ConvTranspose {
    static constexpr std::string_view name = "ConvTranspose";
    static constexpr arity_t arity{2, 3, 1, 1};
    std::string auto_pad = "NOTSET";
    Ints dilations;
    std::int64_t group = 1;
    Ints kernel_shape;
    Ints output_padding;
    Ints output_shape;
    Ints pads;
    Ints strides;
    static constexpr auto attributes() {
        return std::tuple{attr("auto_pad", &ConvTranspose::auto_pad), attr("dilations", &ConvTranspose::dilations),
                          attr("group", &ConvTranspose::group), attr("kernel_shape", &ConvTranspose::kernel_shape),
                          attr("output_padding", &ConvTranspose::output_padding), attr("output_shape", &ConvTranspose::output_shape),
                          attr("pads", &ConvTranspose::pads), attr("strides", &ConvTranspose::strides)};
    }
    friend bool operator==(const ConvTranspose&, const ConvTranspose&) = default;
};

/// Spatial geometry of a ConvTranspose once its attributes are resolved against the input: the
/// begin/end pads actually used (auto_pad and output_shape turned into pads) and the output dims.
struct conv_transpose_geometry {
    Ints kernel, strides, dilations, pads, output_padding;
    Shape out; ///< spatial output dims
};

/// Resolves a ConvTranspose's attributes (ONNX's rules: output_shape wins over pads; SAME_UPPER
/// puts the extra pad at the end, SAME_LOWER at the beginning). `x` is the input, `w` the weight.
[[nodiscard]] inline conv_transpose_geometry resolve_conv_transpose(const ConvTranspose& op, const Shape& x, const Shape& w,
                                                                    const infer_context& c) {
    const std::size_t sp = x.size() - 2;
    conv_transpose_geometry g;
    g.kernel = op.kernel_shape.empty() ? Ints(w.begin() + 2, w.end()) : op.kernel_shape;
    g.strides = op.strides.empty() ? Ints(sp, 1) : op.strides;
    g.dilations = op.dilations.empty() ? Ints(sp, 1) : op.dilations;
    g.output_padding = op.output_padding.empty() ? Ints(sp, 0) : op.output_padding;
    g.pads = op.pads.empty() ? Ints(2 * sp, 0) : op.pads;
    if (g.kernel.size() != sp || g.strides.size() != sp || g.dilations.size() != sp || g.output_padding.size() != sp || g.pads.size() != 2 * sp)
        c.fail("kernel_shape/strides/dilations/output_padding/pads do not match the " + std::to_string(sp) + "-D input");
    check_range(g.kernel, 1, "kernel_shape", c);
    check_range(g.strides, 1, "strides", c);
    check_range(g.dilations, 1, "dilations", c);
    check_range(g.pads, 0, "pads", c);
    check_range(g.output_padding, 0, "output_padding", c);
    for (std::size_t i = 0; i < sp; ++i)
        if (g.output_padding[i] >= std::max(g.strides[i], g.dilations[i]))
            c.fail("output_padding " + to_string(g.output_padding) + " must be smaller than the stride or the dilation");
    const bool same = op.auto_pad == "SAME_UPPER" || op.auto_pad == "SAME_LOWER";
    if (!(op.auto_pad == "NOTSET" || op.auto_pad.empty() || op.auto_pad == "VALID" || same)) c.fail("unknown auto_pad '" + op.auto_pad + "'");
    if (op.auto_pad == "VALID") g.pads.assign(2 * sp, 0);
    if (!op.output_shape.empty() && op.output_shape.size() != sp && op.output_shape.size() != x.size())
        c.fail("output_shape " + to_string(op.output_shape) + " does not match the " + std::to_string(sp) + "-D input");
    g.out.assign(sp, -1);
    for (std::size_t i = 0; i < sp; ++i) {
        const std::int64_t in = x[2 + i];
        const std::int64_t eff = g.dilations[i] * (g.kernel[i] - 1) + 1;
        if (!op.output_shape.empty() || same) {
            std::int64_t target = -1;
            if (!op.output_shape.empty()) target = op.output_shape[op.output_shape.size() - sp + i];
            else if (in >= 0) target = in * g.strides[i];
            if (target < 0) continue;
            if (target > max_dim) c.fail("output_shape " + to_string(op.output_shape) + " is above 2^40");
            if (in < 0) {
                g.out[i] = target;
                continue;
            }
            const std::int64_t total = g.strides[i] * (in - 1) + g.output_padding[i] + eff - target;
            const std::int64_t t = std::max<std::int64_t>(total, 0);
            const bool lower = op.auto_pad == "SAME_LOWER";
            g.pads[i] = lower ? t - t / 2 : t / 2;
            g.pads[i + sp] = t - g.pads[i];
            g.out[i] = target;
        } else if (in >= 0) {
            const std::int64_t o = g.strides[i] * (in - 1) + g.output_padding[i] + eff - g.pads[i] - g.pads[i + sp];
            if (o < 0) c.fail("pads " + to_string(g.pads) + " are larger than the output along axis " + std::to_string(i + 2));
            g.out[i] = o;
        }
    }
    return g;
}

inline void infer(const ConvTranspose& op, infer_context& c) {
    if (!c.known(0) || !c.known(1)) return;
    const Shape& x = c.shape(0);
    const Shape& w = c.shape(1);
    if (x.size() < 3) c.fail("input must be N x C x spatial, got " + to_string(x));
    if (w.size() != x.size()) c.fail("weight rank " + std::to_string(w.size()) + " differs from input rank " + std::to_string(x.size()));
    if (op.group <= 0 || op.group > max_dim) c.fail("group " + std::to_string(op.group) + " must be in [1, 2^40]");
    if (x[1] >= 0 && w[0] >= 0 && x[1] != w[0]) c.fail("input has " + std::to_string(x[1]) + " channels but weight " + to_string(w) + " expects " + std::to_string(w[0]));
    if (w[0] >= 0 && w[0] % op.group != 0) c.fail("input channels not divisible by group");
    const std::int64_t m = w[1] < 0 ? -1 : w[1] * op.group;
    if (c.known(2) && (c.shape(2).size() != 1 || (m >= 0 && c.shape(2)[0] >= 0 && c.shape(2)[0] != m)))
        c.fail("bias " + to_string(c.shape(2)) + " does not match " + std::to_string(m) + " output channels");
    for (std::size_t i = 2; i < w.size(); ++i)
        if (w[i] < 0 && op.kernel_shape.empty()) return;
    const conv_transpose_geometry g = resolve_conv_transpose(op, x, w, c);
    Shape out{x[0], m};
    out.insert(out.end(), g.out.begin(), g.out.end());
    c.set(0, std::move(out));
}

/// BatchNormalization(X, scale, B, mean, var). Inference form unless `training_mode` (opset 14) or
/// the statistics outputs (opset < 14 training form) are used.
struct BatchNormalization {
    static constexpr std::string_view name = "BatchNormalization";
    static constexpr arity_t arity{5, 5, 1, 3};
    static constexpr trait traits = trait::normalization;
    float epsilon = 1e-5f;
    float momentum = 0.9f;
    std::int64_t training_mode = 0;
    static constexpr auto attributes() {
        return std::tuple{attr("epsilon", &BatchNormalization::epsilon), attr("momentum", &BatchNormalization::momentum),
                          attr("training_mode", &BatchNormalization::training_mode)};
    }
    friend bool operator==(const BatchNormalization&, const BatchNormalization&) = default;
};

inline void infer(const BatchNormalization&, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (x.size() < 2) c.fail("input must have a channel axis");
    for (std::size_t i = 1; i < 5; ++i)
        if (c.known(i) && (c.shape(i).size() != 1 || (x[1] >= 0 && c.shape(i)[0] >= 0 && c.shape(i)[0] != x[1])))
            c.fail("parameter " + std::to_string(i) + " has shape " + to_string(c.shape(i)) + ", expected [" + std::to_string(x[1]) + "]");
    c.same_as_input();
    for (std::size_t o = 1; o < c.num_outputs(); ++o) c.set(o, Shape{x[1]});
}

/// LayerNormalization(X, Scale[, B]) over the axes from `axis` to the last.
struct LayerNormalization {
    static constexpr std::string_view name = "LayerNormalization";
    static constexpr std::int64_t since = 17;
    static constexpr arity_t arity{2, 3, 1, 3};
    static constexpr trait traits = trait::normalization;
    std::int64_t axis = -1;
    float epsilon = 1e-5f;
    std::int64_t stash_type = 1;
    static constexpr auto attributes() {
        return std::tuple{attr("axis", &LayerNormalization::axis), attr("epsilon", &LayerNormalization::epsilon),
                          attr("stash_type", &LayerNormalization::stash_type)};
    }
    friend bool operator==(const LayerNormalization&, const LayerNormalization&) = default;
};

inline void infer(const LayerNormalization& op, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x.size(), c));
    c.same_as_input();
    Shape stat = x;
    for (std::size_t i = ax; i < stat.size(); ++i) stat[i] = 1;
    for (std::size_t o = 1; o < c.num_outputs(); ++o) c.set(o, stat, DType::f32);
}

/// InstanceNormalization(X, scale, B): per image and channel, over the spatial axes.
struct InstanceNormalization {
    static constexpr std::string_view name = "InstanceNormalization";
    static constexpr std::int64_t since = 6;
    static constexpr arity_t arity{3, 3, 1, 1};
    static constexpr trait traits = trait::normalization;
    float epsilon = 1e-5f;
    static constexpr auto attributes() { return std::tuple{attr("epsilon", &InstanceNormalization::epsilon)}; }
    friend bool operator==(const InstanceNormalization&, const InstanceNormalization&) = default;
};

inline void infer(const InstanceNormalization&, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (x.size() < 3) c.fail("input must be N x C x spatial, got " + to_string(x));
    for (std::size_t i = 1; i < 3; ++i)
        if (c.known(i) && (c.shape(i).size() != 1 || (x[1] >= 0 && c.shape(i)[0] >= 0 && c.shape(i)[0] != x[1])))
            c.fail("parameter " + std::to_string(i) + " has shape " + to_string(c.shape(i)) + ", expected [" + std::to_string(x[1]) + "]");
    c.same_as_input();
}

// ---- pooling ---------------------------------------------------------------------------------

struct GlobalAveragePool {
    static constexpr std::string_view name = "GlobalAveragePool";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const GlobalAveragePool&, const GlobalAveragePool&) = default;
};

struct GlobalMaxPool {
    static constexpr std::string_view name = "GlobalMaxPool";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const GlobalMaxPool&, const GlobalMaxPool&) = default;
};

namespace detail {
inline void infer_global_pool(infer_context& c) {
    if (!c.known(0)) return;
    Shape out = c.shape(0);
    if (out.size() < 3) c.fail("input must be N x C x spatial, got " + to_string(out));
    for (std::size_t i = 2; i < out.size(); ++i) out[i] = 1;
    c.set(0, std::move(out));
}
template <class Pool>
void infer_pool(const Pool& op, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (x.size() < 3) c.fail("input must be N x C x spatial, got " + to_string(x));
    if (op.kernel_shape.empty()) c.fail("kernel_shape is required");
    Shape out{x[0], x[1]};
    auto sp = spatial_out(x, op.kernel_shape, op.strides, op.pads, op.dilations, op.auto_pad, op.ceil_mode != 0, c);
    out.insert(out.end(), sp.begin(), sp.end());
    if (c.num_outputs() > 1) c.set(1, out, DType::i64);
    c.set(0, std::move(out));
}
} // namespace detail

inline void infer(const GlobalAveragePool&, infer_context& c) { detail::infer_global_pool(c); }
inline void infer(const GlobalMaxPool&, infer_context& c) { detail::infer_global_pool(c); }

struct AveragePool {
    static constexpr std::string_view name = "AveragePool";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr std::array<newer_part, 1> newer_parts{{{"dilations", 19}}};
    std::string auto_pad = "NOTSET";
    std::int64_t ceil_mode = 0;
    std::int64_t count_include_pad = 0;
    Ints dilations;
    Ints kernel_shape;
    Ints pads;
    Ints strides;
    static constexpr auto attributes() {
        return std::tuple{attr("auto_pad", &AveragePool::auto_pad), attr("ceil_mode", &AveragePool::ceil_mode),
                          attr("count_include_pad", &AveragePool::count_include_pad), attr("dilations", &AveragePool::dilations),
                          attr("kernel_shape", &AveragePool::kernel_shape), attr("pads", &AveragePool::pads),
                          attr("strides", &AveragePool::strides)};
    }
    friend bool operator==(const AveragePool&, const AveragePool&) = default;
};

inline void infer(const AveragePool& op, infer_context& c) {
    // A window made only of padding has no element to average (ONNX forbids pads >= kernel).
    for (std::size_t i = 0; i < op.pads.size() && !op.kernel_shape.empty(); ++i)
        if (op.pads[i] >= op.kernel_shape[i % op.kernel_shape.size()])
            c.fail("pads " + to_string(op.pads) + " must be smaller than kernel_shape " + to_string(op.kernel_shape));
    detail::infer_pool(op, c);
}

struct MaxPool {
    static constexpr std::string_view name = "MaxPool";
    static constexpr arity_t arity{1, 1, 1, 2};
    std::string auto_pad = "NOTSET";
    std::int64_t ceil_mode = 0;
    Ints dilations;
    Ints kernel_shape;
    Ints pads;
    std::int64_t storage_order = 0;
    Ints strides;
    static constexpr auto attributes() {
        return std::tuple{attr("auto_pad", &MaxPool::auto_pad), attr("ceil_mode", &MaxPool::ceil_mode),
                          attr("dilations", &MaxPool::dilations), attr("kernel_shape", &MaxPool::kernel_shape),
                          attr("pads", &MaxPool::pads), attr("storage_order", &MaxPool::storage_order),
                          attr("strides", &MaxPool::strides)};
    }
    friend bool operator==(const MaxPool&, const MaxPool&) = default;
};

inline void infer(const MaxPool& op, infer_context& c) { detail::infer_pool(op, c); }

// ---- linear algebra --------------------------------------------------------------------------

/// Gemm(A, B[, C]) = alpha * A' * B' + beta * C.
struct Gemm {
    static constexpr std::string_view name = "Gemm";
    static constexpr arity_t arity{2, 3, 1, 1};
    float alpha = 1.0f;
    float beta = 1.0f;
    std::int64_t transA = 0;
    std::int64_t transB = 0;
    static constexpr auto attributes() {
        return std::tuple{attr("alpha", &Gemm::alpha), attr("beta", &Gemm::beta), attr("transA", &Gemm::transA), attr("transB", &Gemm::transB)};
    }
    friend bool operator==(const Gemm&, const Gemm&) = default;
};

inline void infer(const Gemm& op, infer_context& c) {
    if (!c.known(0) || !c.known(1)) return;
    const Shape& a = c.shape(0);
    const Shape& b = c.shape(1);
    if (a.size() != 2 || b.size() != 2) c.fail("Gemm needs 2-D inputs, got " + to_string(a) + " and " + to_string(b));
    const std::int64_t m = op.transA ? a[1] : a[0], k1 = op.transA ? a[0] : a[1];
    const std::int64_t k2 = op.transB ? b[1] : b[0], n = op.transB ? b[0] : b[1];
    if (k1 >= 0 && k2 >= 0 && k1 != k2) c.fail("inner dimensions differ: " + to_string(a) + " x " + to_string(b));
    Shape out{m, n};
    if (c.known(2)) {
        const Shape bc = broadcast(c.shape(2), out, c);
        if (bc.size() != 2 || (bc[0] >= 0 && m >= 0 && bc[0] != m) || (bc[1] >= 0 && n >= 0 && bc[1] != n))
            c.fail("C " + to_string(c.shape(2)) + " does not broadcast to " + to_string(out));
    }
    c.set(0, std::move(out));
}

struct MatMul {
    static constexpr std::string_view name = "MatMul";
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const MatMul&, const MatMul&) = default;
};

inline void infer(const MatMul&, infer_context& c) {
    if (!c.known(0) || !c.known(1)) return;
    Shape a = c.shape(0), b = c.shape(1);
    if (a.empty() || b.empty()) c.fail("MatMul inputs must have rank >= 1");
    const bool a1 = a.size() == 1, b1 = b.size() == 1;
    if (a1) a.insert(a.begin(), 1);
    if (b1) b.push_back(1);
    const std::int64_t k1 = a.back(), k2 = b[b.size() - 2];
    if (k1 >= 0 && k2 >= 0 && k1 != k2) c.fail("inner dimensions differ: " + to_string(c.shape(0)) + " x " + to_string(c.shape(1)));
    Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    Shape out = broadcast(ba, bb, c);
    if (!a1) out.push_back(a[a.size() - 2]);
    if (!b1) out.push_back(b.back());
    c.set(0, std::move(out));
}

// ---- softmax ---------------------------------------------------------------------------------

/// Softmax over `axis` (opset 13 semantics; older models' 2-D coerced form is converted at import).
struct Softmax {
    static constexpr std::string_view name = "Softmax";
    static constexpr arity_t arity{1, 1, 1, 1};
    std::int64_t axis = -1;
    static constexpr auto attributes() { return std::tuple{attr("axis", &Softmax::axis)}; }
    friend bool operator==(const Softmax&, const Softmax&) = default;
};

/// LogSoftmax over `axis` (opset 13 semantics, as Softmax).
struct LogSoftmax {
    static constexpr std::string_view name = "LogSoftmax";
    static constexpr arity_t arity{1, 1, 1, 1};
    std::int64_t axis = -1;
    static constexpr auto attributes() { return std::tuple{attr("axis", &LogSoftmax::axis)}; }
    friend bool operator==(const LogSoftmax&, const LogSoftmax&) = default;
};

inline void infer(const Softmax& op, infer_context& c) {
    if (!c.known(0)) return;
    (void)norm_axis(op.axis, c.shape(0).size(), c);
    c.same_as_input();
}
inline void infer(const LogSoftmax& op, infer_context& c) {
    if (!c.known(0)) return;
    (void)norm_axis(op.axis, c.shape(0).size(), c);
    c.same_as_input();
}

// ---- resampling ------------------------------------------------------------------------------

/// Resize(X[, roi][, scales][, sizes]).
struct Resize {
    static constexpr std::string_view name = "Resize";
    static constexpr std::int64_t since = 10; ///< the opset-10 form (scales only) is refused at import
    static constexpr arity_t arity{1, 4, 1, 1};
    std::string coordinate_transformation_mode = "half_pixel";
    float cubic_coeff_a = -0.75f;
    std::int64_t exclude_outside = 0;
    float extrapolation_value = 0.0f;
    std::string mode = "nearest";
    std::string nearest_mode = "round_prefer_floor";
    static constexpr auto attributes() {
        return std::tuple{attr("coordinate_transformation_mode", &Resize::coordinate_transformation_mode),
                          attr("cubic_coeff_a", &Resize::cubic_coeff_a), attr("exclude_outside", &Resize::exclude_outside),
                          attr("extrapolation_value", &Resize::extrapolation_value), attr("mode", &Resize::mode),
                          attr("nearest_mode", &Resize::nearest_mode)};
    }
    friend bool operator==(const Resize&, const Resize&) = default;
};

inline void infer(const Resize&, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (c.has(3)) {
        const auto sizes = c.ints_if(3);
        if (!sizes) return;
        if (sizes->size() != x.size()) c.fail("sizes has " + std::to_string(sizes->size()) + " entries for rank " + std::to_string(x.size()));
        check_range(*sizes, 0, "sizes", c);
        c.set(0, Shape(sizes->begin(), sizes->end()));
    } else if (c.has(2)) {
        const Tensor* t = c.constant(2);
        if (!t) return;
        const auto sc = t->as_floats();
        if (sc.size() != x.size()) c.fail("scales has " + std::to_string(sc.size()) + " entries for rank " + std::to_string(x.size()));
        Shape out;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (!(sc[i] > 0.0f) || !std::isfinite(sc[i])) c.fail("scales must be positive and finite, got " + std::to_string(sc[i]));
            const double d = static_cast<double>(x[i]) * static_cast<double>(sc[i]);
            if (x[i] >= 0 && !(d <= static_cast<double>(max_dim))) c.fail("scales " + std::to_string(sc[i]) + " gives a dimension above 2^40");
            out.push_back(x[i] < 0 ? -1 : static_cast<std::int64_t>(d));
        }
        c.set(0, std::move(out));
    } else {
        c.fail("needs scales or sizes");
    }
}

// ---- dropout ---------------------------------------------------------------------------------

/// Dropout(data[, ratio][, training_mode]); an identity at inference (training_mode absent or false).
struct Dropout {
    static constexpr std::string_view name = "Dropout";
    static constexpr arity_t arity{1, 3, 1, 2};
    static constexpr std::array<legacy_input, 1> legacy_inputs{{{"ratio", 1, 12, legacy_kind::float_scalar}}};
    std::int64_t seed = 0;
    static constexpr auto attributes() { return std::tuple{attr("seed", &Dropout::seed)}; }
    friend bool operator==(const Dropout&, const Dropout&) = default;
};

inline void infer(const Dropout&, infer_context& c) {
    c.same_as_input();
    if (c.num_outputs() > 1 && c.known(0)) c.set(1, c.shape(0), DType::boolean);
}

using nn_ops = type_list<Conv, ConvTranspose, BatchNormalization, LayerNormalization, InstanceNormalization, GlobalAveragePool, GlobalMaxPool,
                         AveragePool, MaxPool, Gemm, MatMul, Softmax, LogSoftmax, Resize, Dropout>;

} // namespace surgery::ir::ops
