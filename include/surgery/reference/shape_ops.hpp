// Data-movement reference kernels, for float and integer tensors alike: Identity, Dropout, Flatten,
// Reshape, Transpose, Concat, Slice, Split, Squeeze, Unsqueeze, Constant.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "surgery/reference/kernel.hpp"

namespace surgery::reference {
namespace detail {

/// Allocates output `o` with `x`'s element type and calls `f(src, dst)` with typed pointers.
template <class F>
void with_typed_output(node_io& io, std::size_t o, const Tensor& x, Shape out, F&& f) {
    if (x.dtype == DType::f32) {
        const float* src = x.f.data();
        f(src, io.alloc_floats(o, std::move(out)));
    } else {
        const std::int64_t* src = x.i.data();
        f(src, io.alloc_ints(o, std::move(out), x.dtype));
    }
}

/// Integer values of a shape-like input (starts, axes, shape, split sizes).
[[nodiscard]] inline std::vector<std::int64_t> int_input(const node_io& io, std::size_t i, std::string_view what) {
    const Tensor& t = io.in(i);
    if (t.dtype == DType::f32 || t.dtype == DType::boolean)
        io.fail(std::string(what) + " (input " + std::to_string(i) + ") must be an integer tensor, got " + std::string(ir::to_string(t.dtype)));
    if (t.shape.size() > 1) io.fail(std::string(what) + " (input " + std::to_string(i) + ") must be 1-D, got shape " + ir::to_string(t.shape));
    io.check_storage(t, i);
    return t.i;
}

template <class T>
void transpose_copy(const T* in, T* out, const Shape& shape, const std::vector<std::size_t>& perm) {
    const std::size_t r = shape.size();
    const std::vector<std::int64_t> in_st = strides_of(shape);
    Shape out_shape(r);
    for (std::size_t j = 0; j < r; ++j) out_shape[j] = shape[perm[j]];
    const std::vector<std::int64_t> out_st = strides_of(out_shape);
    const std::int64_t total = ir::numel(shape);
    if (total == 0) return;
    if (r == 0 || perm.back() == r - 1) {
        // The innermost input dimension stays innermost: copy runs.
        const std::int64_t run = r == 0 ? 1 : shape[r - 1];
        const std::size_t outer_rank = r == 0 ? 0 : r - 1;
        std::vector<std::int64_t> idx(outer_rank, 0);
        std::int64_t off = 0;
        for (std::int64_t o = 0; o < total; o += run) {
            std::copy(in + off, in + off + run, out + o);
            for (std::size_t j = outer_rank; j-- > 0;) {
                off += in_st[perm[j]];
                if (++idx[j] < out_shape[j]) break;
                off -= in_st[perm[j]] * out_shape[j];
                idx[j] = 0;
            }
        }
        return;
    }
    // Blocked 2-D transpose between input dim `a` (innermost in the output) and the innermost
    // input dim (at output position `jb`), under an odometer over the other output dims.
    const std::size_t a = perm.back();
    std::size_t jb = 0;
    while (perm[jb] != r - 1) ++jb;
    const std::int64_t na = shape[a], nb = shape[r - 1], sa = in_st[a], ob = out_st[jb];
    std::vector<std::size_t> others;
    for (std::size_t j = 0; j + 1 < r; ++j)
        if (j != jb) others.push_back(j);
    std::vector<std::int64_t> idx(others.size(), 0);
    std::int64_t blocks = 1;
    for (auto j : others) blocks *= out_shape[j];
    std::int64_t in_off = 0, out_off = 0;
    constexpr std::int64_t tile = 16;
    for (std::int64_t blk = 0; blk < blocks; ++blk) {
        const T* src = in + in_off;
        T* dst = out + out_off;
        std::int64_t a_done = 0, b_done = 0;
        if constexpr (std::is_same_v<T, float> && Eigen::internal::packet_traits<float>::size > 1) {
            // Whole PS x PS tiles through registers.
            namespace ei = Eigen::internal;
            using Packet = ei::packet_traits<float>::type;
            constexpr std::int64_t PS = ei::packet_traits<float>::size;
            a_done = na / PS * PS;
            b_done = nb / PS * PS;
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes" // Packet is an attributed SIMD type, as in Eigen's own code
#endif
            using Block = ei::PacketBlock<Packet, PS>;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
            for (std::int64_t a0 = 0; a0 < a_done; a0 += PS)
                for (std::int64_t b0 = 0; b0 < b_done; b0 += PS) {
                    Block kb;
                    for (std::int64_t i = 0; i < PS; ++i) kb.packet[i] = ei::ploadu<Packet>(src + (a0 + i) * sa + b0);
                    ei::ptranspose(kb);
                    for (std::int64_t j = 0; j < PS; ++j) ei::pstoreu(dst + (b0 + j) * ob + a0, kb.packet[j]);
                }
        }
        // The rest (all of it for integers): scalar tiles.
        auto scalar_part = [&](std::int64_t a_lo, std::int64_t a_hi, std::int64_t b_lo, std::int64_t b_hi) {
            for (std::int64_t b0 = b_lo; b0 < b_hi; b0 += tile)
                for (std::int64_t a0 = a_lo; a0 < a_hi; a0 += tile) {
                    const std::int64_t b1 = std::min(b_hi, b0 + tile), a1 = std::min(a_hi, a0 + tile);
                    for (std::int64_t bi = b0; bi < b1; ++bi)
                        for (std::int64_t ai = a0; ai < a1; ++ai) dst[bi * ob + ai] = src[ai * sa + bi];
                }
        };
        scalar_part(0, a_done, b_done, nb);  // right strip of the tiled rows
        scalar_part(a_done, na, 0, nb);      // bottom rows
        for (std::size_t k = others.size(); k-- > 0;) {
            const std::size_t j = others[k];
            in_off += in_st[perm[j]];
            out_off += out_st[j];
            if (++idx[k] < out_shape[j]) break;
            in_off -= in_st[perm[j]] * out_shape[j];
            out_off -= out_st[j] * out_shape[j];
            idx[k] = 0;
        }
    }
}

} // namespace detail

namespace kernels {

inline void identity(node_io& io) { io.forward(0, 0, io.in(0).shape); }

/// Dropout at inference: the identity; the optional mask output is all true.
inline void dropout(node_io& io, const ir::ops::Dropout&) {
    float ratio = 0.5f;
    if (io.has(1) && io.in(1).size() == 1) ratio = io.in(1).as_floats()[0];
    const bool training = io.has(2) && io.in(2).size() == 1 && io.in(2).as_ints()[0] != 0;
    if (training && ratio != 0.0f) io.fail("training mode (random dropout) is not supported by the reference executor");
    const Shape s = io.in(0).shape;
    if (io.num_outputs() > 1) {
        std::int64_t* m = io.alloc_ints(1, s, DType::boolean);
        std::fill(m, m + ir::numel(s), std::int64_t{1});
    }
    io.forward(0, 0, s);
}

inline void flatten(node_io& io, const ir::ops::Flatten& op) {
    const Shape& s = io.in(0).shape;
    const auto r = static_cast<std::int64_t>(s.size());
    const std::int64_t axis = op.axis < 0 ? op.axis + r : op.axis;
    if (axis < 0 || axis > r) io.fail("axis " + std::to_string(op.axis) + " is out of range for rank " + std::to_string(r));
    const auto ax = static_cast<std::size_t>(axis);
    io.forward(0, 0, Shape{detail::product(s, 0, ax), detail::product(s, ax, s.size())});
}

/// Reshape(data, shape): 0 copies the input dim (unless allowzero), -1 is inferred.
inline void reshape(node_io& io, const ir::ops::Reshape& op) {
    const Shape& s = io.in(0).shape;
    const std::vector<std::int64_t> target = detail::int_input(io, 1, "shape");
    Shape out(target.size());
    std::int64_t known = 1;
    std::size_t infer_at = target.size();
    bool has_zero = false;
    for (std::size_t k = 0; k < target.size(); ++k) {
        std::int64_t d = target[k];
        if (d == 0 && op.allowzero == 0) {
            if (k >= s.size()) io.fail("shape " + ir::to_string(target) + " has 0 at position " + std::to_string(k) + ", beyond the input rank");
            d = s[k];
        }
        if (d == -1) {
            if (infer_at != target.size()) io.fail("shape " + ir::to_string(target) + " has more than one -1");
            infer_at = k;
            continue;
        }
        if (d < 0) io.fail("shape " + ir::to_string(target) + " has an invalid dimension " + std::to_string(d));
        if (d == 0) has_zero = true;
        known *= d;
        out[k] = d;
    }
    const std::int64_t total = ir::numel(s);
    if (infer_at != target.size()) {
        if (has_zero && op.allowzero != 0) io.fail("shape " + ir::to_string(target) + " has both -1 and 0 with allowzero");
        if (known == 0 || total % known != 0) io.fail("cannot reshape " + ir::to_string(s) + " to " + ir::to_string(target));
        out[infer_at] = total / known;
    } else if (known != total) {
        io.fail("cannot reshape " + ir::to_string(s) + " (" + std::to_string(total) + " elements) to " + ir::to_string(out));
    }
    io.forward(0, 0, std::move(out));
}

/// Transpose (default: reverse the dims). Dims of size 1 are dropped and dims that stay adjacent
/// merged first, so NCHW <-> NHWC is one blocked 2-D transpose per image.
inline void transpose(node_io& io, const ir::ops::Transpose& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::size_t r = x.shape.size();
    std::vector<std::size_t> perm;
    if (op.perm.empty())
        for (std::size_t k = r; k-- > 0;) perm.push_back(k);
    else {
        if (op.perm.size() != r) io.fail("perm " + ir::to_string(op.perm) + " has " + std::to_string(op.perm.size()) + " entries for rank " + std::to_string(r));
        std::vector<bool> seen(r, false);
        for (auto p : op.perm) {
            const auto a = static_cast<std::size_t>(detail::norm_axis(io, p, r, "perm entry"));
            if (seen[a]) io.fail("perm " + ir::to_string(op.perm) + " repeats axis " + std::to_string(p));
            seen[a] = true;
            perm.push_back(a);
        }
    }
    Shape out(r);
    for (std::size_t j = 0; j < r; ++j) out[j] = x.shape[perm[j]];
    // Simplify: drop size-1 dims, then merge input dims that stay adjacent in the output.
    std::vector<std::size_t> newidx(r, 0);
    Shape s1;
    for (std::size_t k = 0; k < r; ++k) {
        newidx[k] = s1.size();
        if (x.shape[k] != 1) s1.push_back(x.shape[k]);
    }
    std::vector<std::size_t> p1;
    for (auto p : perm)
        if (x.shape[p] != 1) p1.push_back(newidx[p]);
    std::vector<std::vector<std::size_t>> groups; // in output order, each a run of input dims
    for (std::size_t j = 0; j < p1.size(); ++j) {
        if (j > 0 && p1[j] == p1[j - 1] + 1) groups.back().push_back(p1[j]);
        else groups.push_back({p1[j]});
    }
    std::vector<std::size_t> order(groups.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t u, std::size_t v) { return groups[u][0] < groups[v][0]; });
    Shape s2(groups.size());
    std::vector<std::size_t> p2(groups.size());
    for (std::size_t k = 0; k < order.size(); ++k) {
        std::int64_t n = 1;
        for (auto d : groups[order[k]]) n *= s1[d];
        s2[k] = n;
        p2[order[k]] = k;
    }
    detail::with_typed_output(io, 0, x, std::move(out), [&](const auto* src, auto* dst) { detail::transpose_copy(src, dst, s2, p2); });
}

inline void concat(node_io& io, const ir::ops::Concat& op) {
    const Tensor& x0 = io.in(0);
    const std::size_t r = x0.shape.size();
    if (r == 0) io.fail("inputs must have rank >= 1");
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, op.axis, r));
    Shape out = x0.shape;
    out[ax] = 0;
    for (std::size_t k = 0; k < io.num_inputs(); ++k) {
        const Tensor& t = io.in(k);
        io.check_storage(t, k);
        if (t.dtype != x0.dtype) io.fail("input " + std::to_string(k) + " has type " + std::string(ir::to_string(t.dtype)) + ", input 0 has " + std::string(ir::to_string(x0.dtype)));
        if (t.shape.size() != r) io.fail("input " + std::to_string(k) + " has rank " + std::to_string(t.shape.size()) + ", expected " + std::to_string(r));
        for (std::size_t d = 0; d < r; ++d)
            if (d != ax && t.shape[d] != x0.shape[d])
                io.fail("input " + std::to_string(k) + " " + ir::to_string(t.shape) + " differs from input 0 " + ir::to_string(x0.shape) + " off the concat axis");
        out[ax] += t.shape[ax];
    }
    const std::int64_t outer = detail::product(x0.shape, 0, ax), inner = detail::product(x0.shape, ax + 1, r);
    detail::with_typed_output(io, 0, x0, std::move(out), [&](const auto* first, auto* dst) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(first)>>;
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::size_t k = 0; k < io.num_inputs(); ++k) {
                const Tensor& t = io.in(k);
                const T* src;
                if constexpr (std::is_same_v<T, float>) src = t.f.data();
                else src = t.i.data();
                const std::int64_t chunk = t.shape[ax] * inner;
                std::copy(src + o * chunk, src + (o + 1) * chunk, dst);
                dst += chunk;
            }
    });
}

/// Slice(data, starts, ends[, axes][, steps]) with ONNX clamping (negative steps included).
inline void slice(node_io& io) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::size_t r = x.shape.size();
    const auto starts = detail::int_input(io, 1, "starts");
    const auto ends = detail::int_input(io, 2, "ends");
    std::vector<std::int64_t> axes, steps;
    if (io.has(3) && io.in(3).size() > 0) axes = detail::int_input(io, 3, "axes");
    else
        for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<std::int64_t>(k));
    if (io.has(4) && io.in(4).size() > 0) steps = detail::int_input(io, 4, "steps");
    else steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        io.fail("starts, ends, axes and steps must have the same length");
    std::vector<std::int64_t> first(r, 0), step(r, 1);
    Shape out = x.shape;
    std::vector<bool> seen(r, false);
    for (std::size_t k = 0; k < starts.size(); ++k) {
        const auto ax = static_cast<std::size_t>(detail::norm_axis(io, axes[k], r, "axes entry"));
        if (seen[ax]) io.fail("axes repeat axis " + std::to_string(axes[k]));
        seen[ax] = true;
        const std::int64_t dim = x.shape[ax], st = steps[k];
        if (st == 0) io.fail("steps cannot be 0");
        const ir::ops::slice_axis sa = ir::ops::slice_bounds(starts[k], ends[k], st, dim);
        const std::int64_t s = sa.start, count = sa.count;
        first[ax] = s;
        step[ax] = count <= 1 ? 1 : st; // a step never taken stays out of the offset arithmetic (INT64_MAX steps)
        out[ax] = count;
    }
    const std::vector<std::int64_t> in_st = detail::strides_of(x.shape);
    const std::int64_t total = ir::numel(out);
    detail::with_typed_output(io, 0, x, out, [&](const auto* src, auto* dst) {
        if (total == 0) return;
        std::int64_t base = 0;
        for (std::size_t k = 0; k < r; ++k) base += first[k] * in_st[k];
        if (r == 0) {
            dst[0] = src[0];
            return;
        }
        const std::int64_t run = out[r - 1], inner_step = step[r - 1];
        std::vector<std::int64_t> idx(r - 1, 0);
        std::int64_t off = base;
        for (std::int64_t o = 0; o < total; o += run) {
            if (inner_step == 1) std::copy(src + off, src + off + run, dst + o);
            else
                for (std::int64_t t = 0; t < run; ++t) dst[o + t] = src[off + t * inner_step];
            for (std::size_t k = r - 1; k-- > 0;) {
                off += step[k] * in_st[k];
                if (++idx[k] < out[k]) break;
                off -= step[k] * in_st[k] * out[k];
                idx[k] = 0;
            }
        }
    });
}

/// Split into the node's outputs: sizes from the `split` input, else equal
/// parts of ceil(dim / outputs) (the last one smaller, as opset 18's num_outputs).
inline void split(node_io& io, const ir::ops::Split& op) {
    const Tensor& x = io.in(0);
    io.check_storage(x, 0);
    const std::size_t r = x.shape.size();
    if (r == 0) io.fail("input must have rank >= 1");
    const auto ax = static_cast<std::size_t>(detail::norm_axis(io, op.axis, r));
    const std::int64_t dim = x.shape[ax];
    const auto nout = static_cast<std::int64_t>(io.num_outputs());
    std::vector<std::int64_t> sizes;
    if (io.has(1) && io.in(1).size() > 0) sizes = detail::int_input(io, 1, "split");
    else {
        if (op.num_outputs != 0 && op.num_outputs != nout)
            io.fail("num_outputs is " + std::to_string(op.num_outputs) + " but the node has " + std::to_string(nout) + " outputs");
        const std::int64_t chunk = (dim + nout - 1) / nout;
        for (std::int64_t k = 0; k < nout; ++k) sizes.push_back(std::min(chunk, std::max<std::int64_t>(0, dim - k * chunk)));
    }
    if (static_cast<std::int64_t>(sizes.size()) != nout)
        io.fail("split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(nout) + " outputs");
    std::int64_t sum = 0;
    for (auto s : sizes) {
        if (s < 0) io.fail("split sizes must be non-negative");
        sum += s;
    }
    if (sum != dim) io.fail("split sizes " + ir::to_string(sizes) + " sum to " + std::to_string(sum) + " but axis " + std::to_string(op.axis) + " has " + std::to_string(dim));
    const std::int64_t outer = detail::product(x.shape, 0, ax), inner = detail::product(x.shape, ax + 1, r);
    std::int64_t offset = 0;
    for (std::size_t o = 0; o < sizes.size(); ++o) {
        Shape s = x.shape;
        s[ax] = sizes[o];
        const std::int64_t chunk = sizes[o] * inner;
        detail::with_typed_output(io, o, x, std::move(s), [&](const auto* src, auto* dst) {
            for (std::int64_t k = 0; k < outer; ++k) std::copy(src + k * dim * inner + offset, src + k * dim * inner + offset + chunk, dst + k * chunk);
        });
        offset += chunk;
    }
}

/// Squeeze(data[, axes]); without axes every dim of size 1 goes.
inline void squeeze(node_io& io) {
    const Shape s = io.in(0).shape;
    std::vector<bool> drop(s.size(), false);
    if (io.has(1) && io.in(1).size() > 0) {
        for (auto a : detail::int_input(io, 1, "axes")) {
            const auto ax = static_cast<std::size_t>(detail::norm_axis(io, a, s.size(), "axes entry"));
            if (s[ax] != 1) io.fail("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(s[ax]) + " in " + ir::to_string(s));
            drop[ax] = true;
        }
    } else {
        for (std::size_t k = 0; k < s.size(); ++k) drop[k] = s[k] == 1;
    }
    Shape out;
    for (std::size_t k = 0; k < s.size(); ++k)
        if (!drop[k]) out.push_back(s[k]);
    io.forward(0, 0, std::move(out));
}

/// Unsqueeze(data, axes); axes refer to the output rank.
inline void unsqueeze(node_io& io) {
    const Shape s = io.in(0).shape;
    const auto axes = detail::int_input(io, 1, "axes");
    const std::size_t rank = s.size() + axes.size();
    std::vector<bool> ins(rank, false);
    for (auto a : axes) {
        const auto ax = static_cast<std::size_t>(detail::norm_axis(io, a, rank, "axes entry"));
        if (ins[ax]) io.fail("axes repeat axis " + std::to_string(a));
        ins[ax] = true;
    }
    Shape out;
    std::size_t j = 0;
    for (std::size_t k = 0; k < rank; ++k) out.push_back(ins[k] ? 1 : s[j++]);
    io.forward(0, 0, std::move(out));
}

inline void constant(node_io& io, const ir::ops::Constant& op) {
    if (!op.value) io.fail("has no value");
    const Tensor& v = *op.value;
    if (v.dtype == DType::f32) std::copy(v.f.begin(), v.f.end(), io.alloc_floats(0, v.shape));
    else std::copy(v.i.begin(), v.i.end(), io.alloc_ints(0, v.shape, v.dtype));
}

} // namespace kernels

/// The kernels of this family, as overloads of `kernel` (found by kernels.hpp's dispatch).
inline void kernel(const ir::ops::Identity&, node_io& io) { kernels::identity(io); }
inline void kernel(const ir::ops::Dropout& op, node_io& io) { kernels::dropout(io, op); }
inline void kernel(const ir::ops::Flatten& op, node_io& io) { kernels::flatten(io, op); }
inline void kernel(const ir::ops::Reshape& op, node_io& io) { kernels::reshape(io, op); }
inline void kernel(const ir::ops::Transpose& op, node_io& io) { kernels::transpose(io, op); }
inline void kernel(const ir::ops::Concat& op, node_io& io) { kernels::concat(io, op); }
inline void kernel(const ir::ops::Slice&, node_io& io) { kernels::slice(io); }
inline void kernel(const ir::ops::Split& op, node_io& io) { kernels::split(io, op); }
inline void kernel(const ir::ops::Squeeze&, node_io& io) { kernels::squeeze(io); }
inline void kernel(const ir::ops::Unsqueeze&, node_io& io) { kernels::unsqueeze(io); }
inline void kernel(const ir::ops::Constant& op, node_io& io) { kernels::constant(io, op); }
/// Ops outside the catalogue have no kernel: running one is an error naming it.
inline void kernel(const ir::ops::Opaque& op, node_io& io) {
    io.fail("op '" + op.qualified_name() + "' is not in model-surgery's op catalogue: it is carried through rewrites unchanged, but the "
            "reference executor cannot run it");
}

} // namespace surgery::reference
