// Reference kernels of the ir/ops/logic.hpp family, as overloads of `kernel(const ir::ops::X&, node_io&)`.
//
// Bool tensors hold 0 and 1 in `Tensor::i`. Comparisons follow IEEE (NaN compares unequal and
// unordered); Cast truncates floats toward zero, as ONNX, numpy and ONNX Runtime do.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "surgery/ir/ops.hpp"
#include "surgery/reference/elementwise.hpp"
#include "surgery/reference/kernel.hpp"
#include "surgery/reference/math.hpp"

namespace surgery::reference {

namespace detail {

enum class compare_op : std::uint8_t { equal, less, greater, less_equal, greater_equal };
enum class bool_op : std::uint8_t { and_, or_, xor_ };

template <class T>
[[nodiscard]] constexpr std::int64_t compare(compare_op op, T u, T v) noexcept {
    switch (op) {
    case compare_op::equal: return u == v;
    case compare_op::less: return u < v;
    case compare_op::greater: return u > v;
    case compare_op::less_equal: return u <= v;
    case compare_op::greater_equal: return u >= v;
    }
    return 0;
}

/// Fails unless input `i` is a bool tensor; returns it.
inline const Tensor& bool_input(const node_io& io, std::size_t i) {
    const Tensor& t = data_input(io, i);
    if (t.dtype != DType::boolean) io.fail("input " + std::to_string(i) + " has type " + std::string(ir::to_string(t.dtype)) + "; the op takes bool tensors");
    return t;
}

/// `x` truncated toward zero as integer type `to` (int64 or int32). NaN and values out of the
/// type's range, which ONNX leaves undefined, give the type's minimum: what x86's conversion
/// instructions (and so numpy and ONNX Runtime there) give, without C++'s undefined behaviour.
[[nodiscard]] inline std::int64_t float_to_int(float x, DType to) noexcept {
    const double d = x;
    if (to == DType::i32) {
        if (d > -2147483649.0 && d < 2147483648.0) return static_cast<std::int32_t>(d);
        return std::numeric_limits<std::int32_t>::min();
    }
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return static_cast<std::int64_t>(d);
    return std::numeric_limits<std::int64_t>::min();
}

/// Output multi-index walk for operands broadcast to `out`: calls `f(k, offsets)` for every
/// output element `k` (row-major) with each operand's element offset.
template <std::size_t N, class F>
void for_each_broadcast(const Shape& out, const std::array<const Shape*, N>& in, F&& f) {
    const std::size_t r = out.size();
    const std::int64_t total = ir::numel(out);
    if (total == 0) return;
    std::array<std::vector<std::int64_t>, N> strides;
    for (std::size_t j = 0; j < N; ++j) {
        const Shape& s = *in[j];
        strides[j].assign(r, 0);
        std::int64_t acc = 1;
        for (std::size_t k = s.size(); k-- > 0;) {
            if (s[k] != 1) strides[j][r - s.size() + k] = acc;
            acc *= s[k];
        }
    }
    std::vector<std::int64_t> idx(r, 0);
    std::array<std::int64_t, N> off{};
    for (std::int64_t k = 0; k < total; ++k) {
        f(k, off);
        for (std::size_t d = r; d-- > 0;) {
            for (std::size_t j = 0; j < N; ++j) off[j] += strides[j][d];
            if (++idx[d] < out[d]) break;
            for (std::size_t j = 0; j < N; ++j) off[j] -= strides[j][d] * out[d];
            idx[d] = 0;
        }
    }
}

} // namespace detail

namespace kernels {

/// Equal, Less, Greater, LessOrEqual, GreaterOrEqual with numpy broadcasting; bool output.
inline void compare(node_io& io, detail::compare_op op) {
    const auto [a, b] = detail::same_type_inputs(io);
    if (a->dtype == DType::boolean && op != detail::compare_op::equal) io.fail("bool tensors are not ordered; the op takes numeric tensors");
    const detail::broadcast_plan p = detail::plan_broadcast(a->shape, b->shape, io);
    std::int64_t* y = io.alloc_ints(0, p.out, DType::boolean);
    if (a->dtype == DType::f32) detail::scalar_binary(p, a->f.data(), b->f.data(), y, [op](float u, float v) { return detail::compare(op, u, v); });
    else detail::scalar_binary(p, a->i.data(), b->i.data(), y, [op](std::int64_t u, std::int64_t v) { return detail::compare(op, u, v); });
}

/// And, Or, Xor on bool tensors with numpy broadcasting.
inline void boolean(node_io& io, detail::bool_op op) {
    const Tensor& a = detail::bool_input(io, 0);
    const Tensor& b = detail::bool_input(io, 1);
    const detail::broadcast_plan p = detail::plan_broadcast(a.shape, b.shape, io);
    std::int64_t* y = io.alloc_ints(0, p.out, DType::boolean);
    detail::scalar_binary(p, a.i.data(), b.i.data(), y, [op](std::int64_t u, std::int64_t v) -> std::int64_t {
        const bool x = u != 0, z = v != 0;
        switch (op) {
        case detail::bool_op::and_: return x && z;
        case detail::bool_op::or_: return x || z;
        case detail::bool_op::xor_: return x != z;
        }
        return 0;
    });
}

/// `x` converted to element type `to` into output 0. Fails naming the type when either side has
/// no data in the IR (float16, float64, int8, string, ...).
inline void cast(node_io& io, const Tensor& x, DType to) {
    if (!ir::has_storage(to))
        io.fail("casting to " + std::string(ir::to_string(to)) + " (ONNX type " + std::to_string(ir::onnx_type_number(to)) +
                ") is not supported: the IR holds data of float32, int64, int32 and bool only");
    const std::size_t n = static_cast<std::size_t>(x.size());
    if (x.dtype == DType::f32) {
        const float* xp = x.f.data();
        if (to == DType::f32) {
            io.forward(0, 0, x.shape);
            return;
        }
        std::int64_t* y = io.alloc_ints(0, x.shape, to);
        if (to == DType::boolean)
            for (std::size_t k = 0; k < n; ++k) y[k] = xp[k] != 0.0f; // NaN is true
        else
            for (std::size_t k = 0; k < n; ++k) y[k] = detail::float_to_int(xp[k], to);
        return;
    }
    const std::int64_t* xp = x.i.data();
    if (to == DType::f32) {
        float* y = io.alloc_floats(0, x.shape);
        for (std::size_t k = 0; k < n; ++k) y[k] = static_cast<float>(xp[k]);
        return;
    }
    if (to == x.dtype) {
        io.forward(0, 0, x.shape);
        return;
    }
    std::int64_t* y = io.alloc_ints(0, x.shape, to);
    if (to == DType::boolean)
        for (std::size_t k = 0; k < n; ++k) y[k] = xp[k] != 0;
    else
        for (std::size_t k = 0; k < n; ++k) y[k] = detail::int_wrap(to, detail::int_bits(xp[k])); // int64 -> int32 wraps, as numpy
}

/// Where(condition, X, Y) with the three broadcast together.
inline void where(node_io& io) {
    const Tensor& c = detail::bool_input(io, 0);
    const Tensor& x = detail::data_input(io, 1);
    const Tensor& y = detail::data_input(io, 2);
    if (x.dtype != y.dtype) io.fail("X has type " + std::string(ir::to_string(x.dtype)) + ", Y has " + std::string(ir::to_string(y.dtype)));
    Shape xy, out;
    if (!detail::broadcast_shapes(x.shape, y.shape, xy) || !detail::broadcast_shapes(c.shape, xy, out))
        io.fail("shapes " + ir::to_string(c.shape) + ", " + ir::to_string(x.shape) + " and " + ir::to_string(y.shape) + " cannot be broadcast");
    const std::array<const Shape*, 3> shapes{&c.shape, &x.shape, &y.shape};
    const std::int64_t* cp = c.i.data();
    if (x.dtype == DType::f32) {
        float* o = io.alloc_floats(0, out);
        const float* xp = x.f.data();
        const float* yp = y.f.data();
        detail::for_each_broadcast(out, shapes, [&](std::int64_t k, const std::array<std::int64_t, 3>& off) {
            o[k] = cp[off[0]] != 0 ? xp[off[1]] : yp[off[2]];
        });
        return;
    }
    std::int64_t* o = io.alloc_ints(0, out, x.dtype);
    const std::int64_t* xp = x.i.data();
    const std::int64_t* yp = y.i.data();
    detail::for_each_broadcast(out, shapes, [&](std::int64_t k, const std::array<std::int64_t, 3>& off) {
        o[k] = cp[off[0]] != 0 ? xp[off[1]] : yp[off[2]];
    });
}

} // namespace kernels

inline void kernel(const ir::ops::Equal&, node_io& io) { kernels::compare(io, detail::compare_op::equal); }
inline void kernel(const ir::ops::Less&, node_io& io) { kernels::compare(io, detail::compare_op::less); }
inline void kernel(const ir::ops::Greater&, node_io& io) { kernels::compare(io, detail::compare_op::greater); }
inline void kernel(const ir::ops::LessOrEqual&, node_io& io) { kernels::compare(io, detail::compare_op::less_equal); }
inline void kernel(const ir::ops::GreaterOrEqual&, node_io& io) { kernels::compare(io, detail::compare_op::greater_equal); }
inline void kernel(const ir::ops::And&, node_io& io) { kernels::boolean(io, detail::bool_op::and_); }
inline void kernel(const ir::ops::Or&, node_io& io) { kernels::boolean(io, detail::bool_op::or_); }
inline void kernel(const ir::ops::Xor&, node_io& io) { kernels::boolean(io, detail::bool_op::xor_); }

inline void kernel(const ir::ops::Not&, node_io& io) {
    const Tensor& x = detail::bool_input(io, 0);
    const std::int64_t* xp = x.i.data();
    const std::size_t n = x.i.size();
    std::int64_t* y = io.alloc_ints(0, x.shape, DType::boolean);
    for (std::size_t k = 0; k < n; ++k) y[k] = xp[k] == 0;
}

inline void kernel(const ir::ops::IsNaN&, node_io& io) {
    const Tensor& x = detail::data_input(io, 0);
    if (x.dtype != DType::f32) io.fail("input has type " + std::string(ir::to_string(x.dtype)) + "; the op takes floating-point tensors");
    const float* xp = x.f.data();
    const std::size_t n = x.f.size();
    std::int64_t* y = io.alloc_ints(0, x.shape, DType::boolean);
    for (std::size_t k = 0; k < n; ++k) y[k] = std::isnan(xp[k]);
}

inline void kernel(const ir::ops::IsInf& op, node_io& io) {
    const Tensor& x = detail::data_input(io, 0);
    if (x.dtype != DType::f32) io.fail("input has type " + std::string(ir::to_string(x.dtype)) + "; the op takes floating-point tensors");
    const float* xp = x.f.data();
    const std::size_t n = x.f.size();
    const bool neg = op.detect_negative != 0, pos = op.detect_positive != 0;
    std::int64_t* y = io.alloc_ints(0, x.shape, DType::boolean);
    for (std::size_t k = 0; k < n; ++k) y[k] = std::isinf(xp[k]) && (xp[k] > 0 ? pos : neg);
}

inline void kernel(const ir::ops::Where&, node_io& io) { kernels::where(io); }

inline void kernel(const ir::ops::Cast& op, node_io& io) {
    const DType to = ir::dtype_from_onnx(op.to);
    if (to == DType::undefined)
        io.fail(op.to == 0 ? std::string("attribute 'to' is not set") : "to = " + std::to_string(op.to) + " is not an element type the IR knows");
    kernels::cast(io, detail::data_input(io, 0), to);
}

inline void kernel(const ir::ops::CastLike&, node_io& io) {
    const DType to = io.in(1).dtype;
    kernels::cast(io, detail::data_input(io, 0), to);
}

} // namespace surgery::reference
