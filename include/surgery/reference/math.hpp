// Reference kernels of the ir/ops/math.hpp family, as overloads of `kernel(const ir::ops::X&, node_io&)`.
//
// The float-only unary ops (Exp, Log, Round, Softplus, Elu, ...) have an `eval` and run in the
// generic element-wise kernel (reference/elementwise.hpp). Integer arithmetic here wraps through
// unsigned types (int32 tensors to 32 bits), so overflow is defined, as in ONNX Runtime and numpy.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "surgery/ir/ops.hpp"
#include "surgery/reference/elementwise.hpp"
#include "surgery/reference/kernel.hpp"

namespace surgery::reference {

namespace detail {

/// `v` (an integer modulo 2^64) as a value of integer type `t`: int32 keeps the low 32 bits
/// (two's complement, as C++20 defines the conversion), int64 all of them.
[[nodiscard]] constexpr std::int64_t int_wrap(DType t, std::uint64_t v) noexcept {
    if (t == DType::i32) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
}
[[nodiscard]] constexpr std::uint64_t int_bits(std::int64_t v) noexcept { return static_cast<std::uint64_t>(v); }

/// Fails unless input `i` is a tensor whose type has data in the IR; returns it.
inline const Tensor& data_input(const node_io& io, std::size_t i) {
    const Tensor& t = io.in(i);
    if (!ir::has_storage(t.dtype))
        io.fail("input " + std::to_string(i) + " has type " + std::string(ir::to_string(t.dtype)) +
                ", which has no data in the IR (it holds float32, int64, int32 and bool)");
    io.check_storage(t, i);
    return t;
}

/// Inputs 0 and 1 with their type checked equal; fails naming both types otherwise.
inline std::pair<const Tensor*, const Tensor*> same_type_inputs(const node_io& io) {
    const Tensor& a = data_input(io, 0);
    const Tensor& b = data_input(io, 1);
    if (a.dtype != b.dtype)
        io.fail("inputs have different types " + std::string(ir::to_string(a.dtype)) + " and " + std::string(ir::to_string(b.dtype)));
    return {&a, &b};
}

/// NaN-propagating min and max (numpy's minimum and maximum; std::min/max would drop a NaN operand).
[[nodiscard]] inline float nan_min(float u, float v) noexcept { return u != u ? u : (v != v ? v : (v < u ? v : u)); }
[[nodiscard]] inline float nan_max(float u, float v) noexcept { return u != u ? u : (v != v ? v : (v > u ? v : u)); }

enum class fold_op : std::uint8_t { min, max, sum };

} // namespace detail

namespace kernels {

/// Neg, Abs, Sign: the op's `eval` over float32, `fi` over int64 and int32 (wrapped to the type).
template <class Op, class IntF>
void signed_unary(const Op& op, node_io& io, IntF fi) {
    const Tensor& x = detail::data_input(io, 0);
    if (x.dtype == DType::f32) {
        const float* xp = x.f.data();
        const auto n = static_cast<detail::Index>(x.f.size());
        float* y = io.reuse_or_alloc(0, 0, x.shape); // may take x's storage: then y == xp
        if (n == 0) return;
        detail::ArrayMap Y(y, n);
        op.eval(detail::ConstArrayMap(xp, n), Y);
        return;
    }
    if (x.dtype != DType::i64 && x.dtype != DType::i32)
        io.fail("input has type " + std::string(ir::to_string(x.dtype)) + "; the op takes float32, int64 or int32 tensors");
    const DType t = x.dtype;
    const std::int64_t* xp = x.i.data();
    const std::size_t n = x.i.size();
    std::int64_t* y = io.alloc_ints(0, x.shape, t);
    for (std::size_t k = 0; k < n; ++k) y[k] = detail::int_wrap(t, fi(xp[k]));
}

/// Min, Max, Sum (and Mean, which divides the sum): the inputs folded left to right, each step
/// broadcasting the running result with the next input. One input is copied.
inline void variadic(node_io& io, detail::fold_op op, bool mean) {
    using detail::fold_op;
    const std::size_t n = io.num_inputs();
    const Tensor& first = detail::data_input(io, 0);
    const DType t = first.dtype;
    for (std::size_t i = 1; i < n; ++i) {
        const Tensor& x = detail::data_input(io, i);
        if (x.dtype != t)
            io.fail("input " + std::to_string(i) + " has type " + std::string(ir::to_string(x.dtype)) + ", input 0 has " + std::string(ir::to_string(t)));
    }
    if (t == DType::boolean) io.fail("bool tensors are not numbers; the op takes numeric tensors");
    if (mean && t != DType::f32) io.fail("input has type " + std::string(ir::to_string(t)) + "; Mean takes floating-point tensors");
    if (n == 1) {
        io.forward(0, 0, first.shape);
        return;
    }
    Shape shape = first.shape;
    if (t == DType::f32) {
        std::vector<float> acc, next;
        const float* a = first.f.data();
        for (std::size_t i = 1; i < n; ++i) {
            const Tensor& x = io.in(i);
            const detail::broadcast_plan p = detail::plan_broadcast(shape, x.shape, io);
            float* y = nullptr;
            if (i + 1 == n) {
                y = io.alloc_floats(0, p.out);
            } else {
                next.resize(static_cast<std::size_t>(ir::numel(p.out)));
                y = next.data();
            }
            switch (op) {
            case fold_op::min: detail::scalar_binary(p, a, x.f.data(), y, detail::nan_min); break;
            case fold_op::max: detail::scalar_binary(p, a, x.f.data(), y, detail::nan_max); break;
            case fold_op::sum: detail::float_binary(p, a, x.f.data(), y, [](const auto& u, const auto& v) { return u + v; }); break;
            }
            shape = p.out;
            std::swap(acc, next);
            a = acc.data();
        }
        if (mean) {
            Tensor& out = io.outputs[0];
            const float count = static_cast<float>(n);
            for (float& v : out.f) v /= count;
        }
        return;
    }
    std::vector<std::int64_t> acc, next;
    const std::int64_t* a = first.i.data();
    for (std::size_t i = 1; i < n; ++i) {
        const Tensor& x = io.in(i);
        const detail::broadcast_plan p = detail::plan_broadcast(shape, x.shape, io);
        std::int64_t* y = nullptr;
        if (i + 1 == n) {
            y = io.alloc_ints(0, p.out, t);
        } else {
            next.resize(static_cast<std::size_t>(ir::numel(p.out)));
            y = next.data();
        }
        switch (op) {
        case fold_op::min: detail::scalar_binary(p, a, x.i.data(), y, [](std::int64_t u, std::int64_t v) { return v < u ? v : u; }); break;
        case fold_op::max: detail::scalar_binary(p, a, x.i.data(), y, [](std::int64_t u, std::int64_t v) { return v > u ? v : u; }); break;
        case fold_op::sum:
            detail::scalar_binary(p, a, x.i.data(), y, [t](std::int64_t u, std::int64_t v) {
                return detail::int_wrap(t, detail::int_bits(u) + detail::int_bits(v));
            });
            break;
        }
        shape = p.out;
        std::swap(acc, next);
        a = acc.data();
    }
}

/// Mod with numpy broadcasting: C's fmod (fmod = 1), or the remainder with the divisor's sign
/// (fmod = 0, integers only). An integer divisor of 0 is an error (ONNX leaves it undefined).
inline void mod(node_io& io, std::int64_t fmod) {
    if (fmod != 0 && fmod != 1) io.fail("fmod must be 0 or 1, got " + std::to_string(fmod));
    const auto [a, b] = detail::same_type_inputs(io);
    if (a->dtype == DType::boolean) io.fail("bool tensors are not numbers; the op takes numeric tensors");
    const detail::broadcast_plan p = detail::plan_broadcast(a->shape, b->shape, io);
    if (a->dtype == DType::f32) {
        if (fmod != 1) io.fail("fmod must be 1 for float32 inputs");
        float* y = io.alloc_floats(0, p.out);
        detail::scalar_binary(p, a->f.data(), b->f.data(), y, [](float u, float v) { return std::fmod(u, v); });
        return;
    }
    for (auto v : b->i)
        if (v == 0) io.fail("integer division by zero (a divisor is 0)");
    std::int64_t* y = io.alloc_ints(0, p.out, a->dtype);
    if (fmod == 1) {
        // Truncated remainder; x % -1 is 0 (INT64_MIN % -1 would overflow).
        detail::scalar_binary(p, a->i.data(), b->i.data(), y, [](std::int64_t u, std::int64_t v) { return v == -1 ? std::int64_t{0} : u % v; });
    } else {
        detail::scalar_binary(p, a->i.data(), b->i.data(), y, [](std::int64_t u, std::int64_t v) {
            const std::int64_t r = v == -1 ? std::int64_t{0} : u % v;
            return r != 0 && ((r < 0) != (v < 0)) ? r + v : r; // opposite signs: no overflow
        });
    }
}

/// PRelu(X, slope): slope broadcast to X's shape (never the other way).
inline void prelu(node_io& io) {
    const auto [x, s] = detail::same_type_inputs(io);
    if (x->dtype == DType::boolean) io.fail("bool tensors are not numbers; the op takes numeric tensors");
    const detail::broadcast_plan p = detail::plan_broadcast(x->shape, s->shape, io);
    if (p.out != x->shape) io.fail("slope " + ir::to_string(s->shape) + " does not broadcast to X " + ir::to_string(x->shape));
    if (x->dtype == DType::f32) {
        float* y = io.alloc_floats(0, p.out);
        detail::scalar_binary(p, x->f.data(), s->f.data(), y, [](float u, float v) { return u < 0.0f ? v * u : u; });
        return;
    }
    const DType t = x->dtype;
    std::int64_t* y = io.alloc_ints(0, p.out, t);
    detail::scalar_binary(p, x->i.data(), s->i.data(), y, [t](std::int64_t u, std::int64_t v) {
        return u < 0 ? detail::int_wrap(t, detail::int_bits(v) * detail::int_bits(u)) : u;
    });
}

} // namespace kernels

inline void kernel(const ir::ops::Neg& op, node_io& io) {
    kernels::signed_unary(op, io, [](std::int64_t v) { return std::uint64_t{0} - detail::int_bits(v); });
}
inline void kernel(const ir::ops::Abs& op, node_io& io) {
    kernels::signed_unary(op, io, [](std::int64_t v) { return v < 0 ? std::uint64_t{0} - detail::int_bits(v) : detail::int_bits(v); });
}
inline void kernel(const ir::ops::Sign& op, node_io& io) {
    kernels::signed_unary(op, io, [](std::int64_t v) { return detail::int_bits(v > 0 ? 1 : (v < 0 ? -1 : 0)); });
}
inline void kernel(const ir::ops::Min&, node_io& io) { kernels::variadic(io, detail::fold_op::min, false); }
inline void kernel(const ir::ops::Max&, node_io& io) { kernels::variadic(io, detail::fold_op::max, false); }
inline void kernel(const ir::ops::Sum&, node_io& io) { kernels::variadic(io, detail::fold_op::sum, false); }
inline void kernel(const ir::ops::Mean&, node_io& io) { kernels::variadic(io, detail::fold_op::sum, true); }
inline void kernel(const ir::ops::Mod& op, node_io& io) { kernels::mod(io, op.fmod); }
inline void kernel(const ir::ops::PRelu&, node_io& io) { kernels::prelu(io); }

} // namespace surgery::reference
