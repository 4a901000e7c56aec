// Pooling reference kernels: GlobalAveragePool, AveragePool and MaxPool (1-D to 3-D, pads, ceil_mode, dilations).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "surgery/reference/kernel.hpp"
#include "surgery/reference/window.hpp"

namespace surgery::reference {
namespace detail {

/// Taps [lo, hi) of a window of `k` taps spaced `d` from `start` that fall in [lo_bound, hi_bound).
struct tap_range {
    Index lo = 0, hi = 0;
};
[[nodiscard]] inline tap_range taps_within(Index start, Index k, Index d, Index lo_bound, Index hi_bound) {
    tap_range r;
    r.lo = start < lo_bound ? (lo_bound - start + d - 1) / d : 0;
    r.hi = start >= hi_bound ? 0 : std::min(k, (hi_bound - 1 - start) / d + 1);
    r.lo = std::min(r.lo, k);
    if (r.hi < r.lo) r.hi = r.lo;
    return r;
}

/// Per axis and output index: the taps inside the input, and how many are inside the padded input.
struct axis_windows {
    std::vector<tap_range> valid;
    std::vector<Index> padded_count;
    std::vector<Index> start;
};
[[nodiscard]] inline std::array<axis_windows, 3> windows_of(const window_geometry& g) {
    std::array<axis_windows, 3> a;
    for (std::size_t j = 0; j < 3; ++j) {
        for (Index o = 0; o < g.out[j]; ++o) {
            const Index start = o * g.s[j] - g.pb[j];
            a[j].start.push_back(start);
            a[j].valid.push_back(taps_within(start, g.k[j], g.d[j], 0, g.in[j]));
            const tap_range pr = taps_within(start, g.k[j], g.d[j], -g.pb[j], g.in[j] + g.pe[j]);
            a[j].padded_count.push_back(pr.hi - pr.lo);
        }
    }
    return a;
}

} // namespace detail

namespace kernels {

/// GlobalAveragePool: the mean of every spatial plane.
inline void global_average_pool(node_io& io) {
    const Tensor& x = io.float_input(0);
    if (x.shape.size() < 3) io.fail("input must be N x C x spatial, got shape " + ir::to_string(x.shape));
    Shape out = x.shape;
    for (std::size_t k = 2; k < out.size(); ++k) out[k] = 1;
    const std::int64_t planes = x.shape[0] * x.shape[1];
    const std::int64_t area = detail::product(x.shape, 2, x.shape.size());
    const float* xp = x.f.data();
    float* y = io.alloc_floats(0, std::move(out));
    if (area == 0) {
        std::fill(y, y + planes, std::numeric_limits<float>::quiet_NaN());
        return;
    }
    detail::ConstMatrixMap X(xp, planes, area);
    Eigen::Map<Eigen::VectorXf>(y, planes) = X.rowwise().sum() / static_cast<float>(area);
}

/// GlobalMaxPool: the maximum of every spatial plane.
inline void global_max_pool(node_io& io) {
    const Tensor& x = io.float_input(0);
    if (x.shape.size() < 3) io.fail("input must be N x C x spatial, got shape " + ir::to_string(x.shape));
    Shape out = x.shape;
    for (std::size_t k = 2; k < out.size(); ++k) out[k] = 1;
    const std::int64_t planes = x.shape[0] * x.shape[1];
    const std::int64_t area = detail::product(x.shape, 2, x.shape.size());
    const float* xp = x.f.data();
    float* y = io.alloc_floats(0, std::move(out));
    if (area == 0) {
        std::fill(y, y + planes, std::numeric_limits<float>::quiet_NaN());
        return;
    }
    detail::ConstMatrixMap X(xp, planes, area);
    Eigen::Map<Eigen::VectorXf>(y, planes) = X.rowwise().maxCoeff();
}

/// AveragePool: count_include_pad counts the padding (but not the area past it that ceil_mode
/// adds) in the divisor, as ONNX and PyTorch do.
inline void average_pool(node_io& io, const ir::ops::AveragePool& op) {
    const Tensor& x = io.float_input(0);
    if (op.kernel_shape.empty()) io.fail("kernel_shape is required");
    const detail::window_geometry g =
        detail::make_window(io, x.shape, op.kernel_shape, op.strides, op.pads, op.dilations, op.auto_pad, op.ceil_mode != 0);
    const std::int64_t planes = x.shape[0] * x.shape[1];
    Shape out{x.shape[0], x.shape[1]};
    for (auto d : g.out_dims()) out.push_back(d);
    const float* xp = x.f.data();
    float* y = io.alloc_floats(0, std::move(out));
    const auto a = detail::windows_of(g);
    const bool include_pad = op.count_include_pad != 0;
    for (std::int64_t pl = 0; pl < planes; ++pl) {
        const float* src = xp + pl * g.in_size();
        for (detail::Index od = 0; od < g.out[0]; ++od)
            for (detail::Index oh = 0; oh < g.out[1]; ++oh)
                for (detail::Index ow = 0; ow < g.out[2]; ++ow) {
                    const auto rd = a[0].valid[static_cast<std::size_t>(od)], rh = a[1].valid[static_cast<std::size_t>(oh)],
                               rw = a[2].valid[static_cast<std::size_t>(ow)];
                    float sum = 0.0f;
                    for (detail::Index td = rd.lo; td < rd.hi; ++td) {
                        const detail::Index id = a[0].start[static_cast<std::size_t>(od)] + td * g.d[0];
                        for (detail::Index th = rh.lo; th < rh.hi; ++th) {
                            const detail::Index ih = a[1].start[static_cast<std::size_t>(oh)] + th * g.d[1];
                            const float* row = src + (id * g.in[1] + ih) * g.in[2] + a[2].start[static_cast<std::size_t>(ow)];
                            for (detail::Index tw = rw.lo; tw < rw.hi; ++tw) sum += row[tw * g.d[2]];
                        }
                    }
                    const detail::Index count = include_pad ? a[0].padded_count[static_cast<std::size_t>(od)] *
                                                                  a[1].padded_count[static_cast<std::size_t>(oh)] *
                                                                  a[2].padded_count[static_cast<std::size_t>(ow)]
                                                            : (rd.hi - rd.lo) * (rh.hi - rh.lo) * (rw.hi - rw.lo);
                    *y++ = count > 0 ? sum / static_cast<float>(count) : std::numeric_limits<float>::quiet_NaN();
                }
    }
}

/// MaxPool, with the optional Indices output: flat indices into X (N, C and spatial), row-major,
/// or with storage_order 1 column-major over the spatial dims.
inline void max_pool(node_io& io, const ir::ops::MaxPool& op) {
    const Tensor& x = io.float_input(0);
    if (op.kernel_shape.empty()) io.fail("kernel_shape is required");
    if (op.storage_order != 0 && op.storage_order != 1) io.fail("storage_order must be 0 or 1");
    const detail::window_geometry g =
        detail::make_window(io, x.shape, op.kernel_shape, op.strides, op.pads, op.dilations, op.auto_pad, op.ceil_mode != 0);
    const std::int64_t planes = x.shape[0] * x.shape[1];
    Shape out{x.shape[0], x.shape[1]};
    for (auto d : g.out_dims()) out.push_back(d);
    const bool want_indices = io.num_outputs() > 1;
    const float* xp = x.f.data();
    std::int64_t* ind = want_indices ? io.alloc_ints(1, out) : nullptr;
    float* y = io.alloc_floats(0, std::move(out));
    const auto a = detail::windows_of(g);
    for (std::int64_t pl = 0; pl < planes; ++pl) {
        const float* src = xp + pl * g.in_size();
        for (detail::Index od = 0; od < g.out[0]; ++od)
            for (detail::Index oh = 0; oh < g.out[1]; ++oh)
                for (detail::Index ow = 0; ow < g.out[2]; ++ow) {
                    const auto rd = a[0].valid[static_cast<std::size_t>(od)], rh = a[1].valid[static_cast<std::size_t>(oh)],
                               rw = a[2].valid[static_cast<std::size_t>(ow)];
                    float best = -std::numeric_limits<float>::infinity();
                    detail::Index bd = -1, bh = -1, bw = -1;
                    for (detail::Index td = rd.lo; td < rd.hi; ++td) {
                        const detail::Index id = a[0].start[static_cast<std::size_t>(od)] + td * g.d[0];
                        for (detail::Index th = rh.lo; th < rh.hi; ++th) {
                            const detail::Index ih = a[1].start[static_cast<std::size_t>(oh)] + th * g.d[1];
                            const detail::Index w0 = a[2].start[static_cast<std::size_t>(ow)];
                            const float* row = src + (id * g.in[1] + ih) * g.in[2] + w0;
                            for (detail::Index tw = rw.lo; tw < rw.hi; ++tw) {
                                const float v = row[tw * g.d[2]];
                                if (v > best || bd < 0) {
                                    best = v;
                                    bd = id;
                                    bh = ih;
                                    bw = w0 + tw * g.d[2];
                                }
                            }
                        }
                    }
                    *y++ = best;
                    if (ind) {
                        detail::Index local = -1;
                        if (bd >= 0)
                            local = op.storage_order == 0 ? (bd * g.in[1] + bh) * g.in[2] + bw : (bw * g.in[1] + bh) * g.in[0] + bd;
                        *ind++ = local < 0 ? -1 : pl * g.in_size() + local;
                    }
                }
    }
}

} // namespace kernels

/// The kernels of this family, as overloads of `kernel` (found by kernels.hpp's dispatch).
inline void kernel(const ir::ops::GlobalAveragePool&, node_io& io) { kernels::global_average_pool(io); }
inline void kernel(const ir::ops::GlobalMaxPool&, node_io& io) { kernels::global_max_pool(io); }
inline void kernel(const ir::ops::AveragePool& op, node_io& io) { kernels::average_pool(io, op); }
inline void kernel(const ir::ops::MaxPool& op, node_io& io) { kernels::max_pool(io, op); }

} // namespace surgery::reference
