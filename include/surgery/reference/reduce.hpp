// Reference kernels of the ir/ops/reduce.hpp family: every Reduce* over one shared reduction loop,
// ArgMax and ArgMin. Float32 for all; int64 and int32 (wrapping, as two's complement hardware does)
// for the reductions with an integer meaning (Sum, Mean, Max, Min, Prod, L1, SumSquare).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "surgery/reference/kernel.hpp"
#include "surgery/reference/shape_ops.hpp"

namespace surgery::reference {
namespace detail {

/// How a reduction walks its input: adjacent input dims with the same role (reduced or kept)
/// merged into groups, size-1 dims dropped, innermost last.
struct reduce_plan {
    struct group {
        std::int64_t n;
        bool reduced;
    };
    std::vector<group> groups;
    Shape out;               ///< the output shape
    std::int64_t count = 1;  ///< input elements that reduce into each output element
    std::int64_t total_in = 0, total_out = 0;
};

[[nodiscard]] inline reduce_plan plan_reduction(const Shape& x, const std::vector<bool>& red, bool keepdims) {
    reduce_plan p;
    for (std::size_t k = 0; k < x.size(); ++k) {
        if (red[k]) p.count *= x[k];
        if (!red[k]) p.out.push_back(x[k]);
        else if (keepdims) p.out.push_back(1);
        if (x[k] == 1) continue;
        if (!p.groups.empty() && p.groups.back().reduced == red[k]) p.groups.back().n *= x[k];
        else p.groups.push_back({x[k], red[k]});
    }
    p.total_in = ir::numel(x);
    p.total_out = ir::numel(p.out);
    return p;
}

/// Calls `run(x_run, n, y_at, reduced)` for every run of `n` contiguous inputs: with `reduced`
/// all of them reduce into `*y_at`, otherwise input t reduces into `y_at[t]`. Every input is
/// visited once, in memory order.
template <class T, class A, class Run>
void for_each_run(const reduce_plan& p, const T* x, A* y, Run&& run) {
    if (p.total_in == 0) return;
    if (p.groups.empty()) {
        run(x, std::int64_t{1}, y, true);
        return;
    }
    const std::size_t g = p.groups.size();
    std::vector<std::int64_t> ost(g, 0); // output stride of each group (0 for reduced ones)
    std::int64_t acc = 1;
    for (std::size_t k = g; k-- > 0;)
        if (!p.groups[k].reduced) {
            ost[k] = acc;
            acc *= p.groups[k].n;
        }
    const std::int64_t n = p.groups.back().n;
    const bool inner_reduced = p.groups.back().reduced;
    std::vector<std::int64_t> idx(g - 1, 0);
    std::int64_t yo = 0;
    for (std::int64_t off = 0; off < p.total_in; off += n) {
        run(x + off, n, y + yo, inner_reduced);
        for (std::size_t k = g - 1; k-- > 0;) {
            yo += ost[k];
            if (++idx[k] < p.groups[k].n) break;
            yo -= ost[k] * p.groups[k].n;
            idx[k] = 0;
        }
    }
}

/// The reduced axes of a Reduce* node: `axes` from input 1 (none: all, unless noop).
[[nodiscard]] inline std::vector<bool> reduction_axes(const node_io& io, std::size_t rank, bool noop_with_empty_axes) {
    std::vector<std::int64_t> axes;
    if (io.has(1)) axes = int_input(io, 1, "axes");
    std::vector<bool> red(rank, axes.empty() && !noop_with_empty_axes);
    std::vector<bool> seen(rank, false);
    for (auto a : axes) {
        const auto ax = static_cast<std::size_t>(norm_axis(io, a, rank, "axes entry"));
        if (seen[ax]) io.fail("axes " + ir::to_string(axes) + " repeat axis " + std::to_string(a));
        seen[ax] = red[ax] = true;
    }
    return red;
}

/// `v` (a two's complement bit pattern) as a value of integer type `t`: int32 results wrap at 32 bits.
[[nodiscard]] inline std::int64_t wrap_to(DType t, std::uint64_t v) noexcept {
    if (t == DType::i32) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
}

template <ir::ops::reduce_kind K>
void reduce_floats(node_io& io, const reduce_plan& p, const float* x) {
    using ir::ops::reduce_kind;
    float* y = io.alloc_floats(0, p.out);
    const Index no = static_cast<Index>(p.total_out);
    ArrayMap Y(y, no);
    constexpr float inf = std::numeric_limits<float>::infinity();
    if constexpr (K == reduce_kind::max || K == reduce_kind::min) {
        // NaN propagates (numpy's max); an empty reduction gives -inf (max) or +inf (min).
        Y.setConstant(K == reduce_kind::max ? -inf : inf);
        auto pick = [](float a, float v) { return (std::isnan(v) || (K == reduce_kind::max ? v > a : v < a)) ? v : a; };
        for_each_run(p, x, y, [&](const float* xr, std::int64_t n, float* ya, bool reduced) {
            if (reduced) {
                float a = *ya;
                for (std::int64_t t = 0; t < n; ++t) a = pick(a, xr[t]);
                *ya = a;
            } else {
                for (std::int64_t t = 0; t < n; ++t) ya[t] = pick(ya[t], xr[t]);
            }
        });
    } else if constexpr (K == reduce_kind::prod) {
        Y.setOnes();
        for_each_run(p, x, y, [](const float* xr, std::int64_t n, float* ya, bool reduced) {
            ConstArrayMap X(xr, static_cast<Index>(n));
            if (reduced) *ya *= X.prod();
            else ArrayMap(ya, static_cast<Index>(n)) *= X;
        });
    } else if constexpr (K == reduce_kind::log_sum_exp) {
        // log(sum(exp(x - m))) + m with m the maximum (finite), so that exp neither overflows nor underflows.
        std::vector<float> shift(static_cast<std::size_t>(p.total_out), -inf);
        for_each_run(p, x, shift.data(), [](const float* xr, std::int64_t n, float* ma, bool reduced) {
            if (reduced) {
                for (std::int64_t t = 0; t < n; ++t) ma[0] = std::isnan(xr[t]) || xr[t] > ma[0] ? xr[t] : ma[0];
            } else {
                for (std::int64_t t = 0; t < n; ++t) ma[t] = std::isnan(xr[t]) || xr[t] > ma[t] ? xr[t] : ma[t];
            }
        });
        for (auto& m : shift) m = std::isfinite(m) ? m : 0.0f;
        Y.setZero();
        for_each_run(p, x, y, [&](const float* xr, std::int64_t n, float* ya, bool reduced) {
            ConstArrayMap X(xr, static_cast<Index>(n));
            const float* s = shift.data() + (ya - y);
            if (reduced) *ya += (X - *s).exp().sum();
            else ArrayMap(ya, static_cast<Index>(n)) += (X - ConstArrayMap(s, static_cast<Index>(n))).exp();
        });
        Y = Y.log() + ConstArrayMap(shift.data(), no);
    } else {
        // The sums: of x (Sum, Mean, LogSum), |x| (L1), x^2 (L2, SumSquare).
        Y.setZero();
        for_each_run(p, x, y, [](const float* xr, std::int64_t n, float* ya, bool reduced) {
            ConstArrayMap X(xr, static_cast<Index>(n));
            auto term = [&X] {
                if constexpr (K == reduce_kind::l1) return X.abs();
                else if constexpr (K == reduce_kind::l2 || K == reduce_kind::sum_square) return X.square();
                else return X;
            };
            if (reduced) *ya += term().sum();
            else ArrayMap(ya, static_cast<Index>(n)) += term();
        });
        if constexpr (K == reduce_kind::mean) {
            if (p.count == 0) Y.setConstant(std::numeric_limits<float>::quiet_NaN());
            else Y *= 1.0f / static_cast<float>(p.count);
        } else if constexpr (K == reduce_kind::l2) {
            Y = Y.sqrt();
        } else if constexpr (K == reduce_kind::log_sum) {
            Y = Y.log();
        }
    }
}

template <ir::ops::reduce_kind K>
void reduce_ints(node_io& io, const reduce_plan& p, const std::int64_t* x, DType t) {
    using ir::ops::reduce_kind;
    const auto no = static_cast<std::size_t>(p.total_out);
    std::int64_t* y = io.alloc_ints(0, p.out, t);
    if constexpr (K == reduce_kind::max || K == reduce_kind::min) {
        // An empty reduction gives the type's lowest (max) or highest (min) value.
        const bool i32 = t == DType::i32;
        const std::int64_t lo = i32 ? std::numeric_limits<std::int32_t>::min() : std::numeric_limits<std::int64_t>::min();
        const std::int64_t hi = i32 ? std::numeric_limits<std::int32_t>::max() : std::numeric_limits<std::int64_t>::max();
        std::fill(y, y + no, K == reduce_kind::max ? lo : hi);
        for_each_run(p, x, y, [](const std::int64_t* xr, std::int64_t n, std::int64_t* ya, bool reduced) {
            for (std::int64_t k = 0; k < n; ++k) {
                std::int64_t& a = reduced ? ya[0] : ya[k];
                a = K == reduce_kind::max ? std::max(a, xr[k]) : std::min(a, xr[k]);
            }
        });
        return;
    } else {
        // Wrapping arithmetic on the bit patterns: no overflow is undefined.
        std::vector<std::uint64_t> acc(no, K == reduce_kind::prod ? 1u : 0u);
        for_each_run(p, x, acc.data(), [](const std::int64_t* xr, std::int64_t n, std::uint64_t* aa, bool reduced) {
            for (std::int64_t k = 0; k < n; ++k) {
                const auto v = static_cast<std::uint64_t>(xr[k]);
                std::uint64_t& a = reduced ? aa[0] : aa[k];
                if constexpr (K == reduce_kind::prod) a *= v;
                else if constexpr (K == reduce_kind::l1) a += xr[k] < 0 ? std::uint64_t{0} - v : v;
                else if constexpr (K == reduce_kind::sum_square) a += v * v;
                else a += v;
            }
        });
        for (std::size_t k = 0; k < no; ++k) {
            if constexpr (K == reduce_kind::mean) // truncated toward zero, as a cast of the exact mean
                y[k] = p.count == 0 ? 0 : wrap_to(t, acc[k]) / p.count;
            else
                y[k] = wrap_to(t, acc[k]);
        }
    }
}

} // namespace detail

namespace kernels {

/// Reduce*(data[, axes]) with keepdims and noop_with_empty_axes (then the identity).
template <ir::ops::reduce_kind K>
void reduce(node_io& io, const ir::ops::Reduce<K>& op) {
    using ir::ops::reduce_kind;
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::vector<bool> red = detail::reduction_axes(io, x.shape.size(), op.noop_with_empty_axes != 0);
    bool any = false;
    for (bool b : red) any = any || b;
    if (!any && op.noop_with_empty_axes != 0) {
        io.forward(0, 0, x.shape);
        return;
    }
    const detail::reduce_plan p = detail::plan_reduction(x.shape, red, op.keepdims != 0);
    if (x.dtype == DType::f32) return detail::reduce_floats<K>(io, p, x.f.data());
    constexpr bool integer_meaning = K != reduce_kind::l2 && K != reduce_kind::log_sum && K != reduce_kind::log_sum_exp;
    if (integer_meaning && (x.dtype == DType::i64 || x.dtype == DType::i32)) return detail::reduce_ints<K>(io, p, x.i.data(), x.dtype);
    io.fail("data of type " + std::string(ir::to_string(x.dtype)) + " is not supported (float32" + (integer_meaning ? ", int32 or int64)" : " only)"));
}

/// ArgMax / ArgMin along `axis`; NaN counts as the extreme (numpy's argmax), the first one unless
/// select_last_index.
template <bool Max>
void arg_reduce(node_io& io, const ir::ops::ArgReduce<Max>& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    if (x.dtype == DType::boolean) io.fail("data of type bool is not supported");
    const std::size_t r = x.shape.size();
    if (r == 0) io.fail("data must have rank >= 1");
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, op.axis, r));
    const std::int64_t n = x.shape[ax];
    if (n == 0) io.fail("axis " + std::to_string(op.axis) + " of " + ir::to_string(x.shape) + " has no elements to choose from");
    Shape out;
    for (std::size_t k = 0; k < r; ++k) {
        if (k != ax) out.push_back(x.shape[k]);
        else if (op.keepdims != 0) out.push_back(1);
    }
    const std::int64_t outer = detail::product(x.shape, 0, ax), inner = detail::product(x.shape, ax + 1, r);
    std::int64_t* y = io.alloc_ints(0, std::move(out), DType::i64);
    const bool last = op.select_last_index != 0;
    auto run = [&](const auto* data) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(data)>>;
        auto nan = [](T v) {
            if constexpr (std::is_floating_point_v<T>) {
                return std::isnan(v);
            } else {
                (void)v;
                return false;
            }
        };
        // Whether v at a later index replaces the current best b.
        auto better = [&](T v, T b) {
            if (nan(b)) return last && nan(v);
            if (nan(v)) return true;
            if (last) return Max ? v >= b : v <= b;
            return Max ? v > b : v < b;
        };
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                const T* p = data + o * n * inner + i;
                std::int64_t best = 0;
                for (std::int64_t j = 1; j < n; ++j)
                    if (better(p[j * inner], p[best * inner])) best = j;
                y[o * inner + i] = best;
            }
    };
    if (x.dtype == DType::f32) run(x.f.data());
    else run(x.i.data());
}

} // namespace kernels

/// The kernels of this family, as overloads of `kernel` (found by kernels.hpp's dispatch).
template <ir::ops::reduce_kind K>
void kernel(const ir::ops::Reduce<K>& op, node_io& io) {
    kernels::reduce(io, op);
}
template <bool Max>
void kernel(const ir::ops::ArgReduce<Max>& op, node_io& io) {
    kernels::arg_reduce(io, op);
}

} // namespace surgery::reference
