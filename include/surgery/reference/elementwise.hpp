// Element-wise reference kernels: activations, Clip, and Add/Sub/Mul/Div/Pow with numpy broadcasting.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "surgery/reference/kernel.hpp"

namespace surgery::reference {

/// The activation an element-wise unary op computes, or nullopt for ops that are not one
/// (Clip, whose bounds are inputs, is handled by the caller).
[[nodiscard]] inline std::optional<activation> activation_of(const ir::Op& op) {
    using K = activation_kind;
    return std::visit(
        []<class T>(const T& o) -> std::optional<activation> {
            if constexpr (std::is_same_v<T, ir::ops::Relu>) return activation{K::relu};
            else if constexpr (std::is_same_v<T, ir::ops::Sigmoid>) return activation{K::sigmoid};
            else if constexpr (std::is_same_v<T, ir::ops::HardSwish>) return activation{K::hard_swish, 1.0f / 6.0f, 0.5f};
            else if constexpr (std::is_same_v<T, ir::ops::Tanh>) return activation{K::tanh};
            else if constexpr (std::is_same_v<T, ir::ops::Sqrt>) return activation{K::sqrt};
            else if constexpr (std::is_same_v<T, ir::ops::Erf>) return activation{K::erf};
            else if constexpr (std::is_same_v<T, ir::ops::LeakyRelu>) return activation{K::leaky_relu, o.alpha};
            else if constexpr (std::is_same_v<T, ir::ops::HardSigmoid>) return activation{K::hard_sigmoid, o.alpha, o.beta};
            else if constexpr (std::is_same_v<T, ir::ops::Gelu>) {
                if (o.approximate == "none" || o.approximate.empty()) return activation{K::gelu};
                if (o.approximate == "tanh") return activation{K::gelu_tanh};
                return std::nullopt;
            } else {
                (void)o;
                return std::nullopt;
            }
        },
        op);
}

namespace detail {

/// Numpy broadcasting of two static shapes; false when they do not broadcast.
[[nodiscard]] inline bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out) {
    const std::size_t r = std::max(a.size(), b.size());
    out.assign(r, 1);
    for (std::size_t k = 0; k < r; ++k) {
        const std::int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
        const std::int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
        if (da == db || db == 1) out[k] = da;
        else if (da == 1) out[k] = db;
        else return false;
    }
    return true;
}

/// A broadcast binary operation reduced to its simplest loop nest: dimensions of size 1 dropped,
/// adjacent dimensions that broadcast alike merged, so that the innermost loop runs over a
/// contiguous run where each operand is either a vector or a scalar. Same-shape, scalar and
/// per-channel cases all come out as one or two loops.
struct broadcast_plan {
    Shape out;
    std::vector<std::int64_t> dims, sa, sb; ///< outer loops (outermost first) and the operands' strides
    std::int64_t inner = 1;                 ///< length of the innermost run
    bool a_vec = false, b_vec = false;      ///< operand advances (true) or is repeated (false) in the run
};

[[nodiscard]] inline broadcast_plan plan_broadcast(const Shape& a, const Shape& b, const node_io& io) {
    broadcast_plan p;
    if (!broadcast_shapes(a, b, p.out))
        io.fail("shapes " + ir::to_string(a) + " and " + ir::to_string(b) + " cannot be broadcast");
    const std::size_t r = p.out.size();
    std::vector<std::int64_t> sta(r, 0), stb(r, 0);
    std::int64_t acc_a = 1, acc_b = 1;
    for (std::size_t k = r; k-- > 0;) {
        const std::int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
        const std::int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
        sta[k] = da == 1 ? 0 : acc_a;
        stb[k] = db == 1 ? 0 : acc_b;
        acc_a *= da;
        acc_b *= db;
    }
    struct dim {
        std::int64_t n, a, b;
    };
    std::vector<dim> ds; // innermost first
    for (std::size_t k = r; k-- > 0;) {
        if (p.out[k] == 1) continue;
        const dim d{p.out[k], sta[k], stb[k]};
        if (!ds.empty() && ds.back().a * ds.back().n == d.a && ds.back().b * ds.back().n == d.b) ds.back().n *= d.n;
        else ds.push_back(d);
    }
    if (ds.empty()) return p; // a single element
    p.inner = ds[0].n;
    p.a_vec = ds[0].a != 0;
    p.b_vec = ds[0].b != 0;
    for (std::size_t k = ds.size(); k-- > 1;) {
        p.dims.push_back(ds[k].n);
        p.sa.push_back(ds[k].a);
        p.sb.push_back(ds[k].b);
    }
    return p;
}

/// Calls `inner(a + offset_a, b + offset_b, y + offset_y)` for every innermost run of `p`.
template <class TA, class TB, class TY, class Inner>
void for_each_run(const broadcast_plan& p, const TA* a, const TB* b, TY* y, Inner&& inner) {
    const std::size_t nd = p.dims.size();
    std::int64_t total = 1;
    for (auto d : p.dims) total *= d;
    if (total == 0 || p.inner == 0) return;
    std::vector<std::int64_t> idx(nd, 0);
    std::int64_t oa = 0, ob = 0;
    for (std::int64_t it = 0; it < total; ++it) {
        inner(a + oa, b + ob, y + it * p.inner);
        for (std::size_t k = nd; k-- > 0;) {
            oa += p.sa[k];
            ob += p.sb[k];
            if (++idx[k] < p.dims[k]) break;
            oa -= p.sa[k] * p.dims[k];
            ob -= p.sb[k] * p.dims[k];
            idx[k] = 0;
        }
    }
}

enum class binary_op : std::uint8_t { add, sub, mul, div, pow };

template <class F>
void float_binary(const broadcast_plan& p, const float* a, const float* b, float* y, F f) {
    const Index n = p.inner;
    const bool av = p.a_vec, bv = p.b_vec;
    for_each_run(p, a, b, y, [&](const float* pa, const float* pb, float* py) {
        ArrayMap Y(py, n);
        if (av && bv) Y = f(ConstArrayMap(pa, n), ConstArrayMap(pb, n));
        else if (av) Y = f(ConstArrayMap(pa, n), *pb);
        else if (bv) Y = f(*pa, ConstArrayMap(pb, n));
        else Y.setConstant(f(*pa, *pb));
    });
}

template <class TA, class TB, class TY, class F>
void scalar_binary(const broadcast_plan& p, const TA* a, const TB* b, TY* y, F f) {
    const std::int64_t n = p.inner;
    const std::int64_t ia = p.a_vec ? 1 : 0, ib = p.b_vec ? 1 : 0;
    for_each_run(p, a, b, y, [&](const TA* pa, const TB* pb, TY* py) {
        for (std::int64_t k = 0; k < n; ++k) py[k] = f(pa[k * ia], pb[k * ib]);
    });
}

inline float pow_float(float x, float e) { return std::pow(x, e); }

} // namespace detail

namespace kernels {

/// Relu, Sigmoid, HardSwish, ... : one activation over a float tensor, in place when allowed.
inline void unary(node_io& io, const activation& a) {
    const Tensor& x = io.float_input(0);
    const float* xp = x.f.data();
    const std::size_t n = x.f.size();
    float* y = io.reuse_or_alloc(0, 0, x.shape); // may take x's storage: then y == xp
    apply_activation(a, xp, y, n);
}

/// Clip(x[, min][, max]); omitted bounds are unbounded. Float and integer tensors.
inline void clip(node_io& io) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    auto bound = [&](std::size_t i) -> const Tensor* {
        if (!io.has(i)) return nullptr;
        const Tensor& t = io.in(i);
        if (t.size() == 0) return nullptr; // an empty tensor stands for an omitted input
        if (t.size() != 1) io.fail("bound (input " + std::to_string(i) + ") must be a scalar, got shape " + ir::to_string(t.shape));
        if (t.dtype != x.dtype) io.fail("bound (input " + std::to_string(i) + ") has type " + std::string(ir::to_string(t.dtype)) + ", input has " + std::string(ir::to_string(x.dtype)));
        io.check_storage(t, i);
        return &t;
    };
    const Tensor* lo = bound(1);
    const Tensor* hi = bound(2);
    if (x.dtype == DType::f32) {
        const float l = lo ? lo->f[0] : -std::numeric_limits<float>::infinity();
        const float h = hi ? hi->f[0] : std::numeric_limits<float>::infinity();
        const float* xp = x.f.data();
        const std::size_t n = x.f.size();
        float* y = io.reuse_or_alloc(0, 0, x.shape);
        apply_activation({activation_kind::clip, l, h}, xp, y, n);
        return;
    }
    const std::int64_t l = lo ? lo->i[0] : std::numeric_limits<std::int64_t>::min();
    const std::int64_t h = hi ? hi->i[0] : std::numeric_limits<std::int64_t>::max();
    std::int64_t* y = io.alloc_ints(0, x.shape, x.dtype);
    for (std::size_t k = 0; k < x.i.size(); ++k) y[k] = std::min(std::max(x.i[k], l), h);
}

/// Add, Sub, Mul, Div, Pow with numpy broadcasting. Float and integer tensors (integer Div
/// truncates toward zero); Pow also takes a float base with an integer exponent and vice versa.
inline void binary(node_io& io, detail::binary_op op) {
    using detail::binary_op;
    const Tensor& a = io.in(0);
    const Tensor& b = io.in(1);
    io.check_storage(a, 0);
    io.check_storage(b, 1);
    const bool mixed_pow = op == binary_op::pow && a.dtype != b.dtype && a.dtype != DType::boolean && b.dtype != DType::boolean;
    if (a.dtype != b.dtype && !mixed_pow)
        io.fail("inputs have different types " + std::string(ir::to_string(a.dtype)) + " and " + std::string(ir::to_string(b.dtype)));
    if (a.dtype == DType::boolean) io.fail("arithmetic on bool tensors is not defined");
    const detail::broadcast_plan p = detail::plan_broadcast(a.shape, b.shape, io);

    if (a.dtype == DType::f32 && b.dtype == DType::f32) {
        const float* pa = a.f.data();
        const float* pb = b.f.data();
        // Decided before an operand's storage may move into the output.
        const auto n_out = ir::numel(p.out);
        const float exponent = b.size() == 1 ? pb[0] : 0.0f;
        const bool exponent_fast = op == binary_op::pow && b.size() == 1 && a.shape == p.out &&
                                   (exponent == 2.0f || exponent == 1.0f || exponent == 0.5f);
        // In place over an operand that has the output's shape and dies here.
        float* y = nullptr;
        if (a.shape == p.out && io.take(0)) y = io.reuse_or_alloc(0, 0, p.out);
        else if (b.shape == p.out && io.take(1)) y = io.reuse_or_alloc(0, 1, p.out);
        else y = io.alloc_floats(0, p.out);
        switch (op) {
        case binary_op::add: detail::float_binary(p, pa, pb, y, [](const auto& u, const auto& v) { return u + v; }); break;
        case binary_op::sub: detail::float_binary(p, pa, pb, y, [](const auto& u, const auto& v) { return u - v; }); break;
        case binary_op::mul: detail::float_binary(p, pa, pb, y, [](const auto& u, const auto& v) { return u * v; }); break;
        case binary_op::div: detail::float_binary(p, pa, pb, y, [](const auto& u, const auto& v) { return u / v; }); break;
        case binary_op::pow:
            if (exponent_fast) {
                detail::ConstArrayMap X(pa, static_cast<detail::Index>(n_out));
                detail::ArrayMap Y(y, static_cast<detail::Index>(n_out));
                if (exponent == 2.0f) Y = X.square();
                else if (exponent == 1.0f) Y = X;
                else ir::ops::Sqrt{}.eval(X, Y);
            } else {
                detail::scalar_binary(p, pa, pb, y, detail::pow_float);
            }
            break;
        }
        return;
    }
    if (mixed_pow) {
        if (a.dtype == DType::f32) { // float base, integer exponent
            float* y = io.alloc_floats(0, p.out);
            detail::scalar_binary(p, a.f.data(), b.i.data(), y, [](float u, std::int64_t v) { return std::pow(u, static_cast<float>(v)); });
        } else { // integer base, float exponent: the result has the base's type
            std::int64_t* y = io.alloc_ints(0, p.out, a.dtype);
            detail::scalar_binary(p, a.i.data(), b.f.data(), y, [](std::int64_t u, float v) {
                return static_cast<std::int64_t>(std::pow(static_cast<double>(u), static_cast<double>(v)));
            });
        }
        return;
    }
    // Integer tensors.
    const std::int64_t* pa = a.i.data();
    const std::int64_t* pb = b.i.data();
    std::int64_t* y = io.alloc_ints(0, p.out, a.dtype);
    switch (op) {
    case binary_op::add: detail::scalar_binary(p, pa, pb, y, [](std::int64_t u, std::int64_t v) { return u + v; }); break;
    case binary_op::sub: detail::scalar_binary(p, pa, pb, y, [](std::int64_t u, std::int64_t v) { return u - v; }); break;
    case binary_op::mul: detail::scalar_binary(p, pa, pb, y, [](std::int64_t u, std::int64_t v) { return u * v; }); break;
    case binary_op::div: {
        for (auto v : b.i)
            if (v == 0) io.fail("integer division by zero");
        detail::scalar_binary(p, pa, pb, y, [](std::int64_t u, std::int64_t v) { return u / v; });
        break;
    }
    case binary_op::pow:
        detail::scalar_binary(p, pa, pb, y, [](std::int64_t u, std::int64_t v) {
            std::int64_t r = 1;
            if (v < 0) return u == 1 ? std::int64_t{1} : (u == -1 ? (v % 2 ? std::int64_t{-1} : std::int64_t{1}) : std::int64_t{0});
            for (std::int64_t k = 0; k < v; ++k) r *= u;
            return r;
        });
        break;
    }
}

} // namespace kernels

/// Every unary element-wise op with an `eval` (ir/ops/elementwise.hpp): its math over a float tensor,
/// in place when the input dies here.
template <class T>
    requires(ir::is_elementwise_v<T> && requires(const T& op, const detail::ConstArrayMap& x, detail::ArrayMap& y) { op.eval(x, y); })
void kernel(const T& op, node_io& io) {
    const Tensor& x = io.float_input(0);
    const float* xp = x.f.data();
    const auto n = static_cast<detail::Index>(x.f.size());
    float* y = io.reuse_or_alloc(0, 0, x.shape); // may take x's storage: then y == xp
    if (n == 0) return;
    detail::ArrayMap Y(y, n);
    op.eval(detail::ConstArrayMap(xp, n), Y);
}
/// Gelu: the generic element-wise kernel, once `approximate` is known to be one ONNX defines.
inline void kernel(const ir::ops::Gelu& op, node_io& io) {
    if (op.approximate != "none" && op.approximate != "tanh" && !op.approximate.empty())
        io.fail("approximate must be 'none' or 'tanh', got '" + op.approximate + "'");
    const Tensor& x = io.float_input(0);
    const float* xp = x.f.data();
    const auto n = static_cast<detail::Index>(x.f.size());
    float* y = io.reuse_or_alloc(0, 0, x.shape);
    if (n == 0) return;
    detail::ArrayMap Y(y, n);
    op.eval(detail::ConstArrayMap(xp, n), Y);
}
inline void kernel(const ir::ops::Clip&, node_io& io) { kernels::clip(io); }
inline void kernel(const ir::ops::Add&, node_io& io) { kernels::binary(io, detail::binary_op::add); }
inline void kernel(const ir::ops::Sub&, node_io& io) { kernels::binary(io, detail::binary_op::sub); }
inline void kernel(const ir::ops::Mul&, node_io& io) { kernels::binary(io, detail::binary_op::mul); }
inline void kernel(const ir::ops::Div&, node_io& io) { kernels::binary(io, detail::binary_op::div); }
inline void kernel(const ir::ops::Pow&, node_io& io) { kernels::binary(io, detail::binary_op::pow); }

} // namespace surgery::reference
