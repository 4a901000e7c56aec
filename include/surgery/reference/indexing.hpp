// Reference kernels of the ir/ops/indexing.hpp family, as overloads of `kernel(const ir::ops::X&, node_io&)`.
//
// Data movement (Gather, Expand, Tile, Pad, DepthToSpace, ...) works on every element type the IR
// stores (float32, and int64/int32/bool as int64). Integer arithmetic (Range, CumSum, scatter
// reductions, Einsum) wraps as two's complement hardware does, so no input is undefined
// behaviour. Sizes that come from tensor values (a target shape, repeats, pads, depth) are checked
// against the IR's bounds before anything is allocated.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "surgery/ir/ops.hpp"
#include "surgery/reference/kernel.hpp"
#include "surgery/reference/reduce.hpp"
#include "surgery/reference/shape_ops.hpp"

namespace surgery::reference {
namespace detail {

/// Fails unless every dim of `s` is in [0, 2^40] and it has at most 2^62 elements.
inline void check_out_shape(const node_io& io, const Shape& s, std::string_view what = "output") {
    std::int64_t n = 1;
    for (auto d : s) {
        if (d < 0 || d > ir::max_dim) io.fail(std::string(what) + " shape " + ir::to_string(s) + " has a dimension outside [0, 2^40]");
        if (d > 0 && n > ir::max_elements / d) io.fail(std::string(what) + " shape " + ir::to_string(s) + " has more than 2^62 elements");
        n *= d;
    }
}

/// Output `o` of type `t` and shape `s` (checked), and `f(dst)` with a typed pointer to its data
/// (float* or std::int64_t*); running out of memory is an error naming the node.
template <class F>
void with_output(node_io& io, std::size_t o, DType t, Shape s, F&& f) {
    check_out_shape(io, s);
    const std::string shape = ir::to_string(s);
    try {
        if (t == DType::f32) f(io.alloc_floats(o, std::move(s)));
        else f(io.alloc_ints(o, std::move(s), t));
    } catch (const std::bad_alloc&) {
        io.fail("output " + shape + " does not fit in memory");
    } catch (const std::length_error&) {
        io.fail("output " + shape + " does not fit in memory");
    }
}

/// `with_output` with `x`'s element type, calling `f(src, dst)` with typed pointers to x's data and the output's.
template <class F>
void with_moved_output(node_io& io, std::size_t o, const Tensor& x, Shape s, F&& f) {
    with_output(io, o, x.dtype, std::move(s), [&](auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        if constexpr (std::is_same_v<T, float>) f(x.f.data(), dst);
        else f(x.i.data(), dst);
    });
}

/// The values of index input `i` (int32 or int64, any rank).
[[nodiscard]] inline const std::vector<std::int64_t>& index_input(const node_io& io, std::size_t i, std::string_view what) {
    const Tensor& t = io.in(i);
    if (t.dtype != DType::i64 && t.dtype != DType::i32)
        io.fail(std::string(what) + " (input " + std::to_string(i) + ") must be int32 or int64, got " + std::string(ir::to_string(t.dtype)));
    io.check_storage(t, i);
    return t.i;
}

/// The one value of scalar (or one-element) integer input `i`.
[[nodiscard]] inline std::int64_t int_scalar_input(const node_io& io, std::size_t i, std::string_view what) {
    const std::vector<std::int64_t>& v = index_input(io, i, what);
    if (v.size() != 1) io.fail(std::string(what) + " (input " + std::to_string(i) + ") must have one element, got shape " + ir::to_string(io.in(i).shape));
    return v[0];
}

/// `v` in [-n, n) made non-negative; fails otherwise.
[[nodiscard]] inline std::int64_t norm_index(const node_io& io, std::int64_t v, std::int64_t n, std::string_view what = "index") {
    if (v < -n || v >= n) io.fail(std::string(what) + " " + std::to_string(v) + " is out of range for a dim of size " + std::to_string(n));
    return v < 0 ? v + n : v;
}

/// Copies the elements of a view of `src` into `dst` in row-major order of `shape`; the view's
/// dim k steps `strides[k]` elements in `src` (0: broadcast, sums of strides: a diagonal).
template <class T>
void strided_copy(const T* src, const Shape& shape, const std::vector<std::int64_t>& strides, T* dst) {
    const std::int64_t total = ir::numel(shape);
    if (total == 0) return;
    const std::size_t r = shape.size();
    if (r == 0) {
        dst[0] = src[0];
        return;
    }
    const std::int64_t run = shape[r - 1], step = strides[r - 1];
    std::vector<std::int64_t> idx(r - 1, 0);
    std::int64_t off = 0;
    for (std::int64_t o = 0; o < total; o += run) {
        if (step == 1) std::copy(src + off, src + off + run, dst + o);
        else if (step == 0) std::fill(dst + o, dst + o + run, src[off]);
        else
            for (std::int64_t t = 0; t < run; ++t) dst[o + t] = src[off + t * step];
        for (std::size_t k = r - 1; k-- > 0;) {
            off += strides[k];
            if (++idx[k] < shape[k]) break;
            off -= strides[k] * shape[k];
            idx[k] = 0;
        }
    }
}

/// `shape` permuted by `perm` and the matching strides of the contiguous tensor of `shape`.
[[nodiscard]] inline std::pair<Shape, std::vector<std::int64_t>> permuted_view(const Shape& shape, const std::vector<std::size_t>& perm) {
    const std::vector<std::int64_t> st = strides_of(shape);
    Shape s;
    std::vector<std::int64_t> v;
    for (auto p : perm) {
        s.push_back(shape[p]);
        v.push_back(st[p]);
    }
    return {std::move(s), std::move(v)};
}

/// Numpy broadcasting of `a` and `b`; fails naming both.
[[nodiscard]] inline Shape broadcast_pair(const node_io& io, const Shape& a, const Shape& b) {
    const std::size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (std::size_t k = 0; k < r; ++k) {
        const std::int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
        const std::int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
        if (da != db && da != 1 && db != 1) io.fail("shapes " + ir::to_string(a) + " and " + ir::to_string(b) + " cannot be broadcast");
        out[k] = da == 1 ? db : da;
    }
    return out;
}

/// Strides that read a tensor of shape `in` as broadcast to `out` (0 along broadcast dims).
[[nodiscard]] inline std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
    const std::vector<std::int64_t> st = strides_of(in);
    std::vector<std::int64_t> v(out.size(), 0);
    const std::size_t off = out.size() - in.size();
    for (std::size_t k = 0; k < in.size(); ++k) v[off + k] = in[k] == 1 && out[off + k] != 1 ? 0 : st[k];
    return v;
}

/// The value of a float `v` stored in an integer tensor (truncated; NaN and out-of-range values
/// saturate instead of being undefined). Booleans are v != 0.
[[nodiscard]] inline std::int64_t float_to_storage(float v, DType t) noexcept {
    if (t == DType::boolean) return v != 0.0f ? 1 : 0;
    if (std::isnan(v)) return 0;
    const double lo = t == DType::i32 ? -2147483648.0 : -9223372036854775808.0;
    if (v <= lo) return t == DType::i32 ? std::numeric_limits<std::int32_t>::min() : std::numeric_limits<std::int64_t>::min();
    if (v >= -lo) return t == DType::i32 ? std::numeric_limits<std::int32_t>::max() : std::numeric_limits<std::int64_t>::max();
    return static_cast<std::int64_t>(v);
}

/// Walks the positions of `shape` (row-major) calling `f(flat, offset)` where `offset` follows
/// `strides` (an odometer; no division per element).
template <class F>
void for_each_position(const Shape& shape, const std::vector<std::int64_t>& strides, F&& f) {
    const std::int64_t total = ir::numel(shape);
    const std::size_t r = shape.size();
    std::vector<std::int64_t> idx(r, 0);
    std::int64_t off = 0;
    for (std::int64_t k = 0; k < total; ++k) {
        f(k, off);
        for (std::size_t d = r; d-- > 0;) {
            off += strides[d];
            if (++idx[d] < shape[d]) break;
            off -= strides[d] * shape[d];
            idx[d] = 0;
        }
    }
}

/// Checks GatherElements/ScatterElements indices against the data; returns the normalised axis.
inline std::size_t elements_axis(const node_io& io, std::int64_t axis, const Shape& x, const Shape& is) {
    if (x.empty()) io.fail("data must have rank >= 1");
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, axis, x.size()));
    if (is.size() != x.size()) io.fail("indices " + ir::to_string(is) + " must have the rank of data " + ir::to_string(x));
    for (std::size_t d = 0; d < x.size(); ++d)
        if (d != ax && is[d] > x[d]) io.fail("indices " + ir::to_string(is) + " are larger than data " + ir::to_string(x) + " off the axis");
    return ax;
}

/// Combines `v` into `a` by a scatter reduction (integers wrap; booleans only take "none").
template <class T>
void scatter_combine(T& a, T v, const std::string& reduction) {
    if (reduction == "none") a = v;
    else if (reduction == "max") a = std::max(a, v);
    else if (reduction == "min") a = std::min(a, v);
    else if constexpr (std::is_same_v<T, float>) {
        if (reduction == "add") a += v;
        else a *= v;
    } else {
        const auto ua = static_cast<std::uint64_t>(a), uv = static_cast<std::uint64_t>(v);
        a = static_cast<std::int64_t>(reduction == "add" ? ua + uv : ua * uv);
    }
}

/// Output 0 as a copy of data (input 0), then `apply(dst, updates)` writes input 2 into it.
template <class F>
void scatter_into(node_io& io, const std::string& reduction, F&& apply) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const Tensor& u = io.in(2);
    io.check_storage(u, 2);
    if (u.dtype != x.dtype) io.fail("updates have type " + std::string(ir::to_string(u.dtype)) + ", data has " + std::string(ir::to_string(x.dtype)));
    if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min")
        io.fail("unknown reduction '" + reduction + "'");
    if (x.dtype == DType::boolean && (reduction == "add" || reduction == "mul")) io.fail("reduction '" + reduction + "' on bool data is not supported");
    detail::with_moved_output(io, 0, x, x.shape, [&](const auto* src, auto* dst) {
        std::copy(src, src + x.size(), dst);
        if constexpr (std::is_same_v<std::remove_const_t<std::remove_pointer_t<decltype(src)>>, float>) apply(dst, u.f.data());
        else apply(dst, u.i.data());
    });
    if (x.dtype == DType::i32) // int32 products and sums wrap at 32 bits
        for (auto& v : io.outputs[0].i) v = detail::wrap_to(DType::i32, static_cast<std::uint64_t>(v));
}

} // namespace detail

namespace kernels {

// ---- shape queries -----------------------------------------------------------------------------

/// Shape reads only its input's shape, never the data (constant folding passes a stand-in without any).
inline void shape_of(node_io& io, const ir::ops::ShapeOf& op) {
    const Shape s = io.in(0).shape;
    const auto [first, last] = ir::ops::shape_range(op, s.size());
    std::int64_t* y = io.alloc_ints(0, Shape{static_cast<std::int64_t>(last - first)}, DType::i64);
    std::copy(s.begin() + static_cast<std::ptrdiff_t>(first), s.begin() + static_cast<std::ptrdiff_t>(last), y);
}

/// Size reads only its input's shape, never the data.
inline void size_of(node_io& io) {
    const std::int64_t n = ir::numel(io.in(0).shape);
    *io.alloc_ints(0, Shape{}, DType::i64) = n;
}

inline void constant_of_shape(node_io& io, const ir::ops::ConstantOfShape& op) {
    const Shape s = detail::int_input(io, 0, "shape");
    if (op.value && (op.value->size() != 1 || !ir::has_storage(op.value->dtype)))
        io.fail("value must be one element of a type with data, got " + std::string(ir::to_string(op.value->dtype)) + " " + ir::to_string(op.value->shape));
    const DType t = op.value ? op.value->dtype : DType::f32;
    const std::int64_t n = [&] {
        for (auto d : s)
            if (d < 0) io.fail("shape " + ir::to_string(s) + " has a negative dimension");
        detail::check_out_shape(io, s);
        return ir::numel(s);
    }();
    detail::with_output(io, 0, t, s, [&](auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        T v{};
        if (op.value) {
            if constexpr (std::is_same_v<T, float>) v = op.value->f.at(0);
            else v = op.value->i.at(0);
        }
        std::fill(dst, dst + n, v);
    });
}

inline void range(node_io& io) {
    const Tensor &s = io.in(0), &l = io.in(1), &d = io.in(2);
    for (std::size_t k = 0; k < 3; ++k) io.check_storage(io.in(k), k);
    std::string error;
    const std::int64_t n = ir::ops::range_count(s, l, d, error);
    if (!error.empty()) io.fail(error);
    detail::with_output(io, 0, s.dtype, Shape{n}, [&](auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        if constexpr (std::is_same_v<T, float>) {
            for (std::int64_t k = 0; k < n; ++k) dst[k] = s.f[0] + static_cast<float>(k) * d.f[0];
        } else {
            // start + k * delta in wrapping arithmetic: exact, since every value lies between start and limit.
            const auto s0 = static_cast<std::uint64_t>(s.i[0]), d0 = static_cast<std::uint64_t>(d.i[0]);
            for (std::int64_t k = 0; k < n; ++k) dst[k] = static_cast<std::int64_t>(s0 + static_cast<std::uint64_t>(k) * d0);
        }
    });
}

// ---- gathers and scatters -------------------------------------------------------------------------

inline void gather(node_io& io, const ir::ops::Gather& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::size_t r = x.shape.size();
    if (r == 0) io.fail("data must have rank >= 1");
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, op.axis, r));
    const std::vector<std::int64_t>& raw = detail::index_input(io, 1, "indices");
    const std::int64_t n = x.shape[ax];
    std::vector<std::int64_t> idx(raw.size());
    for (std::size_t k = 0; k < raw.size(); ++k) idx[k] = detail::norm_index(io, raw[k], n, "index");
    const Shape& is = io.in(1).shape;
    Shape out(x.shape.begin(), x.shape.begin() + static_cast<std::ptrdiff_t>(ax));
    out.insert(out.end(), is.begin(), is.end());
    out.insert(out.end(), x.shape.begin() + static_cast<std::ptrdiff_t>(ax) + 1, x.shape.end());
    const std::int64_t outer = detail::product(x.shape, 0, ax), inner = detail::product(x.shape, ax + 1, r);
    detail::with_moved_output(io, 0, x, std::move(out), [&](const auto* src, auto* dst) {
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t j : idx) {
                const auto* from = src + (o * n + j) * inner;
                dst = std::copy(from, from + inner, dst);
            }
    });
}

inline void gather_elements(node_io& io, const ir::ops::GatherElements& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::vector<std::int64_t>& idx = detail::index_input(io, 1, "indices");
    const Shape& is = io.in(1).shape;
    const std::size_t ax = detail::elements_axis(io, op.axis, x.shape, is);
    std::vector<std::int64_t> st = detail::strides_of(x.shape);
    const std::int64_t axis_stride = st[ax], n = x.shape[ax];
    st[ax] = 0; // the axis position comes from the index
    detail::with_moved_output(io, 0, x, is, [&](const auto* src, auto* dst) {
        detail::for_each_position(is, st, [&](std::int64_t k, std::int64_t off) {
            dst[k] = src[off + detail::norm_index(io, idx[static_cast<std::size_t>(k)], n) * axis_stride];
        });
    });
}

inline void gather_nd(node_io& io, const ir::ops::GatherND& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::vector<std::int64_t>& idx = detail::index_input(io, 1, "indices");
    const Shape &xs = x.shape, &is = io.in(1).shape;
    const auto r = static_cast<std::int64_t>(xs.size()), q = static_cast<std::int64_t>(is.size());
    if (r < 1 || q < 1) io.fail("data and indices must have rank >= 1");
    if (op.batch_dims < 0 || op.batch_dims >= std::min(r, q)) io.fail("batch_dims " + std::to_string(op.batch_dims) + " must be in [0, min(ranks))");
    const auto b = static_cast<std::size_t>(op.batch_dims);
    for (std::size_t d = 0; d < b; ++d)
        if (xs[d] != is[d]) io.fail("the batch dims of data " + ir::to_string(xs) + " and indices " + ir::to_string(is) + " differ");
    const std::int64_t k = is.back();
    if (k < 1 || k > r - op.batch_dims) io.fail("indices " + ir::to_string(is) + ": the last dim must be in [1, rank(data) - batch_dims]");
    const auto ku = static_cast<std::size_t>(k);
    Shape out(is.begin(), is.end() - 1);
    out.insert(out.end(), xs.begin() + static_cast<std::ptrdiff_t>(b + ku), xs.end());
    const std::int64_t batches = detail::product(xs, 0, b);
    const std::int64_t tuples = detail::product(is, b, is.size() - 1);
    const std::int64_t slice = detail::product(xs, b + ku, xs.size());
    const std::int64_t batch_stride = detail::product(xs, b, xs.size());
    const std::vector<std::int64_t> st = detail::strides_of(xs);
    detail::with_moved_output(io, 0, x, std::move(out), [&](const auto* src, auto* dst) {
        for (std::int64_t bi = 0; bi < batches; ++bi)
            for (std::int64_t t = 0; t < tuples; ++t) {
                const std::int64_t* tuple = idx.data() + (bi * tuples + t) * k;
                std::int64_t off = bi * batch_stride;
                for (std::size_t j = 0; j < ku; ++j) off += detail::norm_index(io, tuple[j], xs[b + j]) * st[b + j];
                dst = std::copy(src + off, src + off + slice, dst);
            }
    });
}

inline void scatter_elements(node_io& io, const ir::ops::ScatterElements& op) {
    const Tensor& x = io.in(0);
    const std::vector<std::int64_t>& idx = detail::index_input(io, 1, "indices");
    const Shape& is = io.in(1).shape;
    if (io.in(2).shape != is) io.fail("updates " + ir::to_string(io.in(2).shape) + " must have the shape of indices " + ir::to_string(is));
    const std::size_t ax = detail::elements_axis(io, op.axis, x.shape, is);
    std::vector<std::int64_t> st = detail::strides_of(x.shape);
    const std::int64_t axis_stride = st[ax], n = x.shape[ax];
    st[ax] = 0;
    detail::scatter_into(io, op.reduction, [&](auto* dst, const auto* upd) {
        detail::for_each_position(is, st, [&](std::int64_t k, std::int64_t off) {
            const auto uk = static_cast<std::size_t>(k);
            detail::scatter_combine(dst[off + detail::norm_index(io, idx[uk], n) * axis_stride], upd[uk], op.reduction);
        });
    });
}

inline void scatter_nd(node_io& io, const ir::ops::ScatterND& op) {
    const Tensor& x = io.in(0);
    const std::vector<std::int64_t>& idx = detail::index_input(io, 1, "indices");
    const Shape &xs = x.shape, &is = io.in(1).shape;
    if (is.empty()) io.fail("indices must have rank >= 1");
    const std::int64_t k = is.back();
    if (k < 1 || k > static_cast<std::int64_t>(xs.size())) io.fail("indices " + ir::to_string(is) + ": the last dim must be in [1, rank(data)]");
    const auto ku = static_cast<std::size_t>(k);
    Shape us(is.begin(), is.end() - 1);
    us.insert(us.end(), xs.begin() + static_cast<std::ptrdiff_t>(ku), xs.end());
    if (io.in(2).shape != us) io.fail("updates " + ir::to_string(io.in(2).shape) + " must have shape " + ir::to_string(us));
    const std::int64_t tuples = detail::product(is, 0, is.size() - 1), slice = detail::product(xs, ku, xs.size());
    const std::vector<std::int64_t> st = detail::strides_of(xs);
    detail::scatter_into(io, op.reduction, [&](auto* dst, const auto* upd) {
        for (std::int64_t t = 0; t < tuples; ++t) {
            std::int64_t off = 0;
            for (std::size_t j = 0; j < ku; ++j) off += detail::norm_index(io, idx[static_cast<std::size_t>(t * k) + j], xs[j]) * st[j];
            for (std::int64_t e = 0; e < slice; ++e) detail::scatter_combine(dst[off + e], upd[t * slice + e], op.reduction);
        }
    });
}

// ---- broadcasting, tiling, padding ------------------------------------------------------------------

inline void expand(node_io& io) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const Shape target = detail::int_input(io, 1, "shape");
    for (auto d : target)
        if (d < 0) io.fail("shape " + ir::to_string(target) + " has a negative dimension");
    const Shape out = detail::broadcast_pair(io, x.shape, target);
    detail::check_out_shape(io, out);
    const std::vector<std::int64_t> st = detail::broadcast_strides(x.shape, out);
    detail::with_moved_output(io, 0, x, out, [&](const auto* src, auto* dst) { detail::strided_copy(src, out, st, dst); });
}

inline void tile(node_io& io) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::vector<std::int64_t> reps = detail::int_input(io, 1, "repeats");
    const std::size_t r = x.shape.size();
    if (reps.size() != r) io.fail("repeats has " + std::to_string(reps.size()) + " values for rank " + std::to_string(r));
    Shape out(r);
    for (std::size_t d = 0; d < r; ++d) {
        if (reps[d] < 0 || reps[d] > ir::max_dim) io.fail("repeats " + ir::to_string(reps) + " has a value outside [0, 2^40]");
        if (x.shape[d] != 0 && reps[d] > ir::max_dim / x.shape[d]) io.fail("repeats " + ir::to_string(reps) + " make a dim larger than 2^40");
        out[d] = x.shape[d] * reps[d];
    }
    detail::check_out_shape(io, out);
    // Seen as [r0, x0, r1, x1, ...] with stride 0 over the repeats: one strided copy.
    Shape view;
    std::vector<std::int64_t> vst;
    const std::vector<std::int64_t> st = detail::strides_of(x.shape);
    for (std::size_t d = 0; d < r; ++d) {
        view.push_back(reps[d]);
        vst.push_back(0);
        view.push_back(x.shape[d]);
        vst.push_back(st[d]);
    }
    detail::with_moved_output(io, 0, x, out, [&](const auto* src, auto* dst) { detail::strided_copy(src, view, vst, dst); });
}

inline void pad(node_io& io, const ir::ops::Pad& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::size_t r = x.shape.size();
    const std::string& mode = op.mode;
    if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") io.fail("unknown mode '" + mode + "' (constant, reflect, edge or wrap)");
    const std::vector<std::int64_t> pads = detail::int_input(io, 1, "pads");
    std::vector<std::size_t> axes;
    if (io.has(3) && io.in(3).size() > 0) {
        std::vector<bool> seen(r, false);
        for (auto a : detail::int_input(io, 3, "axes")) {
            const auto ax = static_cast<std::size_t>(detail::norm_axis(io, a, r, "axes entry"));
            if (seen[ax]) io.fail("axes repeat axis " + std::to_string(a));
            seen[ax] = true;
            axes.push_back(ax);
        }
    } else {
        for (std::size_t d = 0; d < r; ++d) axes.push_back(d);
    }
    if (pads.size() != 2 * axes.size())
        io.fail("pads has " + std::to_string(pads.size()) + " values for " + std::to_string(axes.size()) + " padded axes (needs twice as many)");
    std::vector<std::int64_t> begin(r, 0), end(r, 0);
    for (std::size_t k = 0; k < axes.size(); ++k) {
        const std::int64_t b = pads[k], e = pads[k + axes.size()];
        if (b < -ir::max_dim || b > ir::max_dim || e < -ir::max_dim || e > ir::max_dim) io.fail("pads " + ir::to_string(pads) + " has a value outside [-2^40, 2^40]");
        begin[axes[k]] = b;
        end[axes[k]] = e;
    }
    // The fill value: constant_value (input 2) in the data's type; 0 when absent.
    float fvalue = 0.0f;
    std::int64_t ivalue = 0;
    if (io.has(2) && io.in(2).size() > 0) {
        const Tensor& v = io.in(2);
        io.check_storage(v, 2);
        if (v.size() != 1) io.fail("constant_value (input 2) must be a scalar, got shape " + ir::to_string(v.shape));
        if (v.dtype == DType::f32) {
            fvalue = v.f[0];
            ivalue = detail::float_to_storage(v.f[0], x.dtype);
        } else {
            fvalue = static_cast<float>(v.i[0]);
            if (x.dtype == DType::boolean) ivalue = v.i[0] != 0 ? 1 : 0;
            else ivalue = detail::wrap_to(x.dtype, static_cast<std::uint64_t>(v.i[0]));
        }
    }
    // Per axis: output position -> input position (-1: the fill value). Negative pads crop first;
    // the other modes then pad the cropped data.
    Shape out(r);
    std::vector<std::vector<std::int64_t>> map(r);
    for (std::size_t d = 0; d < r; ++d) {
        const std::int64_t n = x.shape[d], b = begin[d], e = end[d];
        const std::int64_t kept = n + std::min<std::int64_t>(b, 0) + std::min<std::int64_t>(e, 0);
        if (kept < 0) io.fail("pads " + ir::to_string(pads) + " crop more than the " + std::to_string(n) + " elements of axis " + std::to_string(d));
        if (kept == 0 && mode != "constant" && (b > 0 || e > 0))
            io.fail("mode '" + mode + "' cannot pad axis " + std::to_string(d) + ", which has no elements");
        out[d] = kept + std::max<std::int64_t>(b, 0) + std::max<std::int64_t>(e, 0);
    }
    detail::check_out_shape(io, out);
    const std::int64_t total = ir::numel(out);
    if (total > 0) // (each dim is then at most the element count, which the output holds anyway)
        for (std::size_t d = 0; d < r; ++d) {
            const std::int64_t n = x.shape[d], b = begin[d], e = end[d];
            const std::int64_t first = std::max<std::int64_t>(-b, 0), lead = std::max<std::int64_t>(b, 0);
            const std::int64_t kept = n + std::min<std::int64_t>(b, 0) + std::min<std::int64_t>(e, 0);
            map[d].resize(static_cast<std::size_t>(out[d]));
            for (std::int64_t o = 0; o < out[d]; ++o) {
                std::int64_t p = o - lead; // position in the cropped data
                if (p < 0 || p >= kept) {
                    if (mode == "constant") p = -1;
                    else if (mode == "edge") p = std::clamp<std::int64_t>(p, 0, kept - 1);
                    else if (mode == "wrap") p = ((p % kept) + kept) % kept;
                    else if (kept == 1) p = 0;
                    else {
                        const std::int64_t period = 2 * (kept - 1);
                        p = ((p % period) + period) % period;
                        if (p >= kept) p = period - p;
                    }
                }
                map[d][static_cast<std::size_t>(o)] = p < 0 ? -1 : first + p;
            }
        }
    const std::vector<std::int64_t> st = detail::strides_of(x.shape);
    detail::with_moved_output(io, 0, x, out, [&](const auto* src, auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        if (total == 0) return;
        T fill{};
        if constexpr (std::is_same_v<T, float>) fill = fvalue;
        else fill = ivalue;
        if (r == 0) {
            dst[0] = src[0];
            return;
        }
        const std::vector<std::int64_t>& inner = map[r - 1];
        const std::int64_t run = out[r - 1];
        std::vector<std::int64_t> idx(r - 1, 0);
        for (std::int64_t o = 0; o < total; o += run) {
            std::int64_t off = 0;
            bool filled = false;
            for (std::size_t d = 0; d + 1 < r; ++d) {
                const std::int64_t p = map[d][static_cast<std::size_t>(idx[d])];
                if (p < 0) filled = true;
                else off += p * st[d];
            }
            if (filled) std::fill(dst + o, dst + o + run, fill);
            else
                for (std::int64_t t = 0; t < run; ++t) {
                    const std::int64_t p = inner[static_cast<std::size_t>(t)];
                    dst[o + t] = p < 0 ? fill : src[off + p];
                }
            for (std::size_t d = r - 1; d-- > 0;) {
                if (++idx[d] < out[d]) break;
                idx[d] = 0;
            }
        }
    });
}

/// DepthToSpace / SpaceToDepth as one permuted view of the input.
inline void block_rearrange(node_io& io, std::int64_t blocksize, bool to_space, bool crd) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const Shape& s = x.shape;
    if (s.size() != 4) io.fail("input must be [N, C, H, W], got " + ir::to_string(s));
    const std::int64_t b = blocksize;
    if (b < 1 || b > (std::int64_t{1} << 20)) io.fail("blocksize " + std::to_string(b) + " must be in [1, 2^20]");
    const std::int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    Shape view, out;
    std::vector<std::size_t> perm;
    if (to_space) {
        if (c % (b * b) != 0) io.fail("channels " + std::to_string(c) + " are not divisible by blocksize^2 = " + std::to_string(b * b));
        const std::int64_t c2 = c / (b * b);
        view = crd ? Shape{n, c2, b, b, h, w} : Shape{n, b, b, c2, h, w};
        perm = crd ? std::vector<std::size_t>{0, 1, 4, 2, 5, 3} : std::vector<std::size_t>{0, 3, 4, 1, 5, 2};
        out = {n, c2, h * b, w * b};
    } else {
        if (h % b != 0 || w % b != 0) io.fail("spatial dims of " + ir::to_string(s) + " are not divisible by blocksize " + std::to_string(b));
        if (c > 0 && b * b > ir::max_dim / c) io.fail("channels " + std::to_string(c) + " x blocksize^2 is larger than 2^40");
        view = {n, c, h / b, b, w / b, b};
        perm = {0, 3, 5, 1, 2, 4};
        out = {n, c * b * b, h / b, w / b};
    }
    const auto pv = detail::permuted_view(view, perm); // not a structured binding: clang 14 cannot capture one
    detail::with_moved_output(io, 0, x, std::move(out), [&](const auto* src, auto* dst) { detail::strided_copy(src, pv.first, pv.second, dst); });
}

// ---- masks, scans, selections ---------------------------------------------------------------------

inline void trilu(node_io& io, const ir::ops::Trilu& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::size_t r = x.shape.size();
    if (r < 2) io.fail("input must have rank >= 2, got " + ir::to_string(x.shape));
    const std::int64_t k = io.has(1) && io.in(1).size() > 0 ? detail::int_scalar_input(io, 1, "k") : 0;
    const std::int64_t rows = x.shape[r - 2], cols = x.shape[r - 1], mats = detail::product(x.shape, 0, r - 2);
    const bool upper = op.upper != 0;
    detail::with_moved_output(io, 0, x, x.shape, [&](const auto* src, auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        for (std::int64_t m = 0; m < mats; ++m)
            for (std::int64_t i = 0; i < rows; ++i)
                for (std::int64_t j = 0; j < cols; ++j) {
                    const std::int64_t at = (m * rows + i) * cols + j;
                    const bool keep = upper ? j - i >= k : j - i <= k; // |j - i| <= 2^40: no overflow
                    dst[at] = keep ? src[at] : T{};
                }
    });
}

inline void cumsum(node_io& io, const ir::ops::CumSum& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    if (x.dtype == DType::boolean) io.fail("data of type bool is not supported");
    const std::size_t r = x.shape.size();
    if (r == 0) io.fail("input must have rank >= 1");
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, detail::int_scalar_input(io, 1, "axis"), r));
    const std::int64_t outer = detail::product(x.shape, 0, ax), n = x.shape[ax], inner = detail::product(x.shape, ax + 1, r);
    const bool exclusive = op.exclusive != 0, reverse = op.reverse != 0;
    detail::with_moved_output(io, 0, x, x.shape, [&](const auto* src, auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        using A = std::conditional_t<std::is_same_v<T, float>, float, std::uint64_t>; // integers wrap
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                A acc{};
                for (std::int64_t s = 0; s < n; ++s) {
                    const std::int64_t j = reverse ? n - 1 - s : s;
                    const std::int64_t at = (o * n + j) * inner + i;
                    const A v = static_cast<A>(src[at]);
                    if (!exclusive) acc += v;
                    if constexpr (std::is_same_v<T, float>) dst[at] = acc;
                    else dst[at] = detail::wrap_to(x.dtype, acc);
                    if (exclusive) acc += v;
                }
            }
    });
}

inline void nonzero(node_io& io) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::size_t r = x.shape.size();
    std::vector<std::int64_t> hits;
    const std::int64_t total = x.size();
    for (std::int64_t k = 0; k < total; ++k) {
        const auto uk = static_cast<std::size_t>(k);
        if (x.dtype == DType::f32 ? x.f[uk] != 0.0f : x.i[uk] != 0) hits.push_back(k);
    }
    // A scalar counts as a 1-D tensor of one element (numpy's nonzero, ONNX's reference).
    const std::size_t rows = r == 0 ? 1 : r;
    const auto nnz = static_cast<std::int64_t>(hits.size());
    std::int64_t* y = io.alloc_ints(0, Shape{static_cast<std::int64_t>(rows), nnz}, DType::i64);
    const std::vector<std::int64_t> st = detail::strides_of(x.shape);
    for (std::int64_t h = 0; h < nnz; ++h) {
        std::int64_t rest = hits[static_cast<std::size_t>(h)];
        for (std::size_t d = 0; d < r; ++d) {
            y[static_cast<std::int64_t>(d) * nnz + h] = rest / st[d];
            rest %= st[d];
        }
        if (r == 0) y[h] = 0;
    }
}

inline void one_hot(node_io& io, const ir::ops::OneHot& op) {
    const Tensor& idx = io.in(0);
    io.check_storage(idx, 0);
    const Tensor& dt = io.in(1);
    io.check_storage(dt, 1);
    const Tensor& values = io.in(2);
    io.check_storage(values, 2);
    if (dt.size() != 1) io.fail("depth (input 1) must have one element, got shape " + ir::to_string(dt.shape));
    if (values.size() != 2) io.fail("values (input 2) must hold two elements [off, on], got shape " + ir::to_string(values.shape));
    const std::optional<std::int64_t> dv = dt.dtype == DType::f32 ? ir::ops::float_to_int(dt.f[0]) : std::optional<std::int64_t>(dt.i[0]);
    if (!dv || *dv < 1 || *dv > ir::max_dim) io.fail("depth must be in [1, 2^40]");
    const std::int64_t depth = *dv;
    const std::size_t r = idx.shape.size();
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, op.axis, r + 1));
    Shape out = idx.shape;
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(ax), depth);
    const std::int64_t outer = detail::product(idx.shape, 0, ax), inner = detail::product(idx.shape, ax, r);
    detail::with_moved_output(io, 0, values, std::move(out), [&](const auto* v, auto* dst) {
        std::fill(dst, dst + outer * depth * inner, v[0]);
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                const auto k = static_cast<std::size_t>(o * inner + i);
                // Non-integer indices are truncated; NaN or huge ones match nothing.
                std::optional<std::int64_t> at = idx.dtype == DType::f32 ? ir::ops::float_to_int(idx.f[k]) : std::optional<std::int64_t>(idx.i[k]);
                if (!at || *at < -depth || *at >= depth) continue;
                const std::int64_t d = *at < 0 ? *at + depth : *at;
                dst[(o * depth + d) * inner + i] = v[1];
            }
    });
}

} // namespace kernels

// ---- Einsum -----------------------------------------------------------------------------------------

namespace detail {

/// An Einsum operand during evaluation: its labels (each once), dims and data (owned, or the
/// input's). T is float, or std::uint64_t for integers (wrapping arithmetic).
template <class T>
struct einsum_operand {
    std::vector<int> labels;
    Shape shape;
    std::vector<T> own;
    const T* data = nullptr;

    void adopt(std::vector<T>&& v) {
        own = std::move(v);
        data = own.data();
    }
    /// Rewrites the operand as the view (`labels`, `shape`, `strides`) of its current data.
    void view(std::vector<int> l, Shape s, const std::vector<std::int64_t>& strides) {
        std::vector<T> v(static_cast<std::size_t>(ir::numel(s)));
        strided_copy(data, s, strides, v.data());
        labels = std::move(l);
        shape = std::move(s);
        adopt(std::move(v));
    }
    /// Permutes the dims into the label order `order` (a permutation of `labels`); no copy when it is the current one.
    void arrange(const std::vector<int>& order) {
        if (order == labels) return;
        const std::vector<std::int64_t> st = strides_of(shape);
        Shape s;
        std::vector<std::int64_t> v;
        for (int l : order) {
            const auto k = static_cast<std::size_t>(std::find(labels.begin(), labels.end(), l) - labels.begin());
            s.push_back(shape[k]);
            v.push_back(st[k]);
        }
        view(order, std::move(s), v);
    }
    /// Sums over the labels that are not in `keep`.
    void sum_out(const std::vector<bool>& keep) {
        std::vector<int> kept, gone;
        for (int l : labels) (keep[static_cast<std::size_t>(l)] ? kept : gone).push_back(l);
        if (gone.empty()) return;
        std::vector<int> order = kept;
        order.insert(order.end(), gone.begin(), gone.end());
        arrange(order);
        const std::int64_t m = product(shape, 0, kept.size()), n = product(shape, kept.size(), shape.size());
        std::vector<T> v(static_cast<std::size_t>(m), T{});
        for (std::int64_t i = 0; i < m; ++i) {
            T acc{};
            for (std::int64_t j = 0; j < n; ++j) acc += data[i * n + j];
            v[static_cast<std::size_t>(i)] = acc;
        }
        shape.resize(kept.size());
        labels = std::move(kept);
        adopt(std::move(v));
    }
};

/// Indices of `labels` within `in`, in order.
[[nodiscard]] inline std::vector<int> filter_labels(const std::vector<int>& in, auto&& pred) {
    std::vector<int> out;
    for (int l : in)
        if (pred(l)) out.push_back(l);
    return out;
}

/// Contracts `a` and `b` over their shared labels that are not in `keep`, as a batched GEMM:
/// the result's labels are [batch, m, n] (shared kept labels, a's own, b's own).
template <class T>
einsum_operand<T> einsum_contract(einsum_operand<T>& a, einsum_operand<T>& b, const std::vector<bool>& keep, const std::vector<std::int64_t>& size) {
    auto in = [](const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); };
    const std::vector<int> batch = filter_labels(a.labels, [&](int l) { return in(b.labels, l) && keep[static_cast<std::size_t>(l)]; });
    const std::vector<int> kk = filter_labels(a.labels, [&](int l) { return in(b.labels, l) && !keep[static_cast<std::size_t>(l)]; });
    const std::vector<int> m = filter_labels(a.labels, [&](int l) { return !in(b.labels, l); });
    const std::vector<int> n = filter_labels(b.labels, [&](int l) { return !in(a.labels, l); });
    auto cat = [](std::initializer_list<const std::vector<int>*> parts) {
        std::vector<int> v;
        for (const auto* p : parts) v.insert(v.end(), p->begin(), p->end());
        return v;
    };
    auto count = [&](const std::vector<int>& ls) {
        std::int64_t p = 1;
        for (int l : ls) p *= size[static_cast<std::size_t>(l)];
        return p;
    };
    const std::int64_t nb = count(batch), nm = count(m), nk = count(kk), nn = count(n);
    // Layouts that need no copy: a as [batch, m, k] or [batch, k, m]; b as [batch, k, n] or [batch, n, k].
    const bool a_km = a.labels == cat({&batch, &kk, &m}) && a.labels != cat({&batch, &m, &kk});
    if (!a_km) a.arrange(cat({&batch, &m, &kk}));
    const bool b_nk = b.labels == cat({&batch, &n, &kk}) && b.labels != cat({&batch, &kk, &n});
    if (!b_nk) b.arrange(cat({&batch, &kk, &n}));
    einsum_operand<T> c;
    c.labels = cat({&batch, &m, &n});
    for (int l : c.labels) c.shape.push_back(size[static_cast<std::size_t>(l)]);
    std::vector<T> out(static_cast<std::size_t>(nb * nm * nn), T{});
    for (std::int64_t q = 0; q < nb && nk > 0; ++q) {
        const T* pa = a.data + q * nm * nk;
        const T* pb = b.data + q * nk * nn;
        T* pc = out.data() + q * nm * nn;
        if constexpr (std::is_same_v<T, float>) {
            using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
            Eigen::Map<M> C(pc, nm, nn);
            const Eigen::Map<const M> A(pa, a_km ? nk : nm, a_km ? nm : nk), B(pb, b_nk ? nn : nk, b_nk ? nk : nn);
            if (a_km && b_nk) C.noalias() = A.transpose() * B.transpose();
            else if (a_km) C.noalias() = A.transpose() * B;
            else if (b_nk) C.noalias() = A * B.transpose();
            else C.noalias() = A * B;
        } else {
            for (std::int64_t i = 0; i < nm; ++i)
                for (std::int64_t j = 0; j < nn; ++j) {
                    T acc{};
                    for (std::int64_t t = 0; t < nk; ++t) acc += pa[a_km ? t * nm + i : i * nk + t] * pb[b_nk ? j * nk + t : t * nn + j];
                    pc[i * nn + j] = acc;
                }
        }
    }
    c.adopt(std::move(out));
    return c;
}

/// Einsum over operands of element type T (float, or std::uint64_t for integers); returns the
/// output's data in the equation's output order.
template <class T>
std::vector<T> einsum_eval(std::vector<einsum_operand<T>>& ops, const ir::ops::einsum_equation& eq, const std::vector<std::int64_t>& size) {
    const std::size_t nl = eq.label_count();
    for (auto& op : ops) {
        // A label repeated within the operand: its diagonal (one dim whose stride is the sum).
        std::vector<int> ul;
        Shape us;
        std::vector<std::int64_t> ust;
        const std::vector<std::int64_t> st = strides_of(op.shape);
        for (std::size_t d = 0; d < op.labels.size(); ++d) {
            const auto at = std::find(ul.begin(), ul.end(), op.labels[d]);
            if (at != ul.end()) {
                ust[static_cast<std::size_t>(at - ul.begin())] += st[d];
                continue;
            }
            ul.push_back(op.labels[d]);
            us.push_back(op.shape[d]);
            ust.push_back(st[d]);
        }
        if (ul.size() != op.labels.size()) op.view(std::move(ul), std::move(us), ust);
        // Broadcast ellipsis dims of size 1 leave the operand (the other operands give the size).
        std::vector<int> kl;
        Shape ks;
        for (std::size_t d = 0; d < op.labels.size(); ++d)
            if (!(op.shape[d] == 1 && size[static_cast<std::size_t>(op.labels[d])] != 1)) {
                kl.push_back(op.labels[d]);
                ks.push_back(op.shape[d]);
            }
        op.labels = std::move(kl);
        op.shape = std::move(ks);
    }
    std::vector<bool> in_output(nl, false);
    for (int l : eq.output) in_output[static_cast<std::size_t>(l)] = true;
    // keep[j]: labels needed after operand j has been contracted in (the output's and later operands').
    std::vector<std::vector<bool>> keep(ops.size(), in_output);
    for (std::size_t j = ops.size(); j-- > 1;) {
        keep[j - 1] = keep[j];
        for (int l : ops[j].labels) keep[j - 1][static_cast<std::size_t>(l)] = true;
    }
    einsum_operand<T> cur = std::move(ops[0]);
    cur.data = cur.own.empty() ? cur.data : cur.own.data();
    for (std::size_t j = 1; j < ops.size(); ++j) {
        std::vector<bool> k1 = keep[j], k2 = keep[j];
        for (int l : ops[j].labels) k1[static_cast<std::size_t>(l)] = true;
        for (int l : cur.labels) k2[static_cast<std::size_t>(l)] = true;
        cur.sum_out(k1);
        ops[j].sum_out(k2);
        cur = einsum_contract(cur, ops[j], keep[j], size);
    }
    cur.sum_out(in_output);
    // The output order; a label no operand kept is a broadcast of size-1 dims.
    Shape os;
    std::vector<std::int64_t> ost;
    const std::vector<std::int64_t> st = strides_of(cur.shape);
    for (int l : eq.output) {
        os.push_back(size[static_cast<std::size_t>(l)]);
        const auto at = std::find(cur.labels.begin(), cur.labels.end(), l);
        ost.push_back(at == cur.labels.end() ? 0 : st[static_cast<std::size_t>(at - cur.labels.begin())]);
    }
    std::vector<T> out(static_cast<std::size_t>(ir::numel(os)));
    strided_copy(cur.data, os, ost, out.data());
    return out;
}

} // namespace detail

namespace kernels {

inline void einsum(node_io& io, const ir::ops::Einsum& op) {
    const std::size_t n = io.num_inputs();
    std::vector<std::size_t> ranks;
    std::vector<const Shape*> shapes;
    const DType t = io.in(0).dtype;
    for (std::size_t k = 0; k < n; ++k) {
        const Tensor& x = io.in(k);
        io.check_storage(x, k);
        if (x.dtype != t) io.fail("input " + std::to_string(k) + " has type " + std::string(ir::to_string(x.dtype)) + ", input 0 has " + std::string(ir::to_string(t)));
        ranks.push_back(x.shape.size());
        shapes.push_back(&x.shape);
    }
    if (t != DType::f32 && t != DType::i64 && t != DType::i32) io.fail("inputs of type " + std::string(ir::to_string(t)) + " are not supported");
    std::string error;
    const ir::ops::einsum_equation eq = ir::ops::parse_einsum(op.equation, ranks, error);
    if (!error.empty()) io.fail(error);
    const std::vector<std::int64_t> size = ir::ops::einsum_label_sizes(eq, shapes, error);
    if (!error.empty()) io.fail(error);
    Shape out;
    for (int l : eq.output) out.push_back(size[static_cast<std::size_t>(l)]);
    detail::check_out_shape(io, out);
    auto operands = [&](auto tag) {
        using T = decltype(tag);
        std::vector<detail::einsum_operand<T>> ops(n);
        for (std::size_t k = 0; k < n; ++k) {
            ops[k].labels = eq.inputs[k];
            ops[k].shape = io.in(k).shape;
            if constexpr (std::is_same_v<T, float>) ops[k].data = io.in(k).f.data();
            else ops[k].adopt(std::vector<T>(io.in(k).i.begin(), io.in(k).i.end()));
        }
        return ops;
    };
    if (t == DType::f32) {
        auto ops = operands(float{});
        std::vector<float> y = detail::einsum_eval(ops, eq, size);
        detail::with_output(io, 0, t, std::move(out), [&](auto* dst) {
            if constexpr (std::is_same_v<std::remove_pointer_t<decltype(dst)>, float>) std::copy(y.begin(), y.end(), dst);
        });
    } else {
        auto ops = operands(std::uint64_t{});
        std::vector<std::uint64_t> y = detail::einsum_eval(ops, eq, size);
        detail::with_output(io, 0, t, std::move(out), [&](auto* dst) {
            if constexpr (std::is_same_v<std::remove_pointer_t<decltype(dst)>, std::int64_t>)
                for (std::size_t k = 0; k < y.size(); ++k) dst[k] = detail::wrap_to(t, y[k]);
        });
    }
}

} // namespace kernels

/// The kernels of this family, as overloads of `kernel` (found by kernels.hpp's dispatch).
inline void kernel(const ir::ops::ShapeOf& op, node_io& io) { kernels::shape_of(io, op); }
inline void kernel(const ir::ops::Size&, node_io& io) { kernels::size_of(io); }
inline void kernel(const ir::ops::ConstantOfShape& op, node_io& io) { kernels::constant_of_shape(io, op); }
inline void kernel(const ir::ops::Range&, node_io& io) { kernels::range(io); }
inline void kernel(const ir::ops::Gather& op, node_io& io) { kernels::gather(io, op); }
inline void kernel(const ir::ops::GatherElements& op, node_io& io) { kernels::gather_elements(io, op); }
inline void kernel(const ir::ops::GatherND& op, node_io& io) { kernels::gather_nd(io, op); }
inline void kernel(const ir::ops::ScatterElements& op, node_io& io) { kernels::scatter_elements(io, op); }
inline void kernel(const ir::ops::ScatterND& op, node_io& io) { kernels::scatter_nd(io, op); }
inline void kernel(const ir::ops::Expand&, node_io& io) { kernels::expand(io); }
inline void kernel(const ir::ops::Tile&, node_io& io) { kernels::tile(io); }
inline void kernel(const ir::ops::Pad& op, node_io& io) { kernels::pad(io, op); }
inline void kernel(const ir::ops::DepthToSpace& op, node_io& io) {
    if (op.mode != "DCR" && op.mode != "CRD") io.fail("unknown mode '" + op.mode + "' (DCR or CRD)");
    kernels::block_rearrange(io, op.blocksize, true, op.mode == "CRD");
}
inline void kernel(const ir::ops::SpaceToDepth& op, node_io& io) { kernels::block_rearrange(io, op.blocksize, false, false); }
inline void kernel(const ir::ops::Trilu& op, node_io& io) { kernels::trilu(io, op); }
inline void kernel(const ir::ops::CumSum& op, node_io& io) { kernels::cumsum(io, op); }
inline void kernel(const ir::ops::NonZero&, node_io& io) { kernels::nonzero(io); }
inline void kernel(const ir::ops::OneHot& op, node_io& io) { kernels::one_hot(io, op); }
inline void kernel(const ir::ops::Einsum& op, node_io& io) { kernels::einsum(io, op); }

} // namespace surgery::reference
