// Convolution reference kernel (1-D, 2-D, 3-D, groups, strides, pads, dilations, auto_pad) with
// three algorithms: 1x1 as a GEMM, depthwise as a direct loop, everything else im2col + GEMM.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "surgery/reference/kernel.hpp"
#include "surgery/reference/window.hpp"

namespace surgery::reference {
namespace detail {

/// One convolution call, resolved: geometry, channel counts and raw data.
struct conv_problem {
    window_geometry g;
    std::int64_t n = 0, c = 0, m = 0, groups = 1, cg = 0, mg = 0;
    const float* x = nullptr;
    const float* w = nullptr;
    const float* bias = nullptr;
    float* y = nullptr;
    const epilogue* ep = nullptr;

    [[nodiscard]] float bias_of(std::int64_t channel) const noexcept { return bias ? bias[channel] : 0.0f; }
};

/// Columns per GEMM call, so that the patch matrix block (and the output block that the epilogue
/// then reads) stays in the L2 cache.
[[nodiscard]] inline Index column_chunk(Index depth, Index columns) {
    constexpr Index budget = 64 * 1024; // floats: 256 KiB
    if (depth * columns <= budget) return columns;
    const Index chunk = std::max<Index>(64, budget / std::max<Index>(depth, 1));
    return std::min(columns, chunk / 16 * 16);
}

/// 1x1 kernel, stride 1, no padding: Y[n, g] = W[g] * X[n, g] (a GEMM per image and group).
inline void conv_gemm(const conv_problem& p) {
    const Index S = p.g.out_size();
    const Index chunk = column_chunk(p.cg + p.mg, S);
    for (std::int64_t n = 0; n < p.n; ++n) {
        for (std::int64_t gr = 0; gr < p.groups; ++gr) {
            ConstMatrixMap W(p.w + gr * p.mg * p.cg, p.mg, p.cg);
            const float* X = p.x + (n * p.c + gr * p.cg) * S;
            float* Y = p.y + (n * p.m + gr * p.mg) * S;
            if (S == 1) { // squeeze-and-excitation layers: a matrix-vector product
                Eigen::Map<Eigen::VectorXf> y(Y, p.mg);
                y.noalias() = W * Eigen::Map<const Eigen::VectorXf>(X, p.cg);
                if (p.ep->empty()) {
                    if (p.bias) y += Eigen::Map<const Eigen::VectorXf>(p.bias + gr * p.mg, p.mg);
                } else {
                    for (std::int64_t mm = 0; mm < p.mg; ++mm) apply_epilogue(*p.ep, Y + mm, 1, gr * p.mg + mm, p.bias_of(gr * p.mg + mm));
                }
                continue;
            }
            for (Index s0 = 0; s0 < S; s0 += chunk) {
                const Index cs = std::min(chunk, S - s0);
                ConstStridedMatrixMap Xc(X + s0, p.cg, cs, Eigen::OuterStride<>(S));
                StridedMatrixMap Yc(Y + s0, p.mg, cs, Eigen::OuterStride<>(S));
                Yc.noalias() = W * Xc;
                for (std::int64_t mm = 0; mm < p.mg; ++mm)
                    apply_epilogue(*p.ep, Y + mm * S + s0, static_cast<std::size_t>(cs), gr * p.mg + mm, p.bias_of(gr * p.mg + mm));
            }
        }
    }
}

/// Fills rows (channel, kd, kh, kw) x columns [s0, s1) of the patch matrix of one image and group.
inline void im2col(const conv_problem& p, const float* x, float* col, Index s0, Index s1) {
    const window_geometry& g = p.g;
    const Index cs = s1 - s0;
    const Index OW = g.out[2], OHW = g.out[1] * g.out[2];
    const Index in_plane = g.in_size();
    float* dst = col;
    for (std::int64_t c = 0; c < p.cg; ++c) {
        const float* src = x + c * in_plane;
        for (std::int64_t kd = 0; kd < g.k[0]; ++kd)
            for (std::int64_t kh = 0; kh < g.k[1]; ++kh)
                for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
                    Index s = s0;
                    float* out = dst;
                    while (s < s1) {
                        const Index od = s / OHW, rem = s - od * OHW, oh = rem / OW, ow0 = rem - oh * OW;
                        const Index len = std::min(OW - ow0, s1 - s);
                        const Index id = od * g.s[0] - g.pb[0] + kd * g.d[0];
                        const Index ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                        if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
                            std::fill(out, out + len, 0.0f);
                        } else {
                            const float* row = src + (id * g.in[1] + ih) * g.in[2];
                            const Index sw = g.s[2], W = g.in[2];
                            const Index iw0 = ow0 * sw - g.pb[2] + kw * g.d[2];
                            // Valid t: 0 <= iw0 + t * sw < W.
                            Index lo = iw0 < 0 ? (-iw0 + sw - 1) / sw : 0;
                            Index hi = iw0 >= W ? 0 : (W - 1 - iw0) / sw + 1;
                            lo = std::min(lo, len);
                            hi = std::clamp(hi, lo, len);
                            std::fill(out, out + lo, 0.0f);
                            if (sw == 1) std::memcpy(out + lo, row + iw0 + lo, static_cast<std::size_t>(hi - lo) * sizeof(float));
                            else
                                for (Index t = lo; t < hi; ++t) out[t] = row[iw0 + t * sw];
                            std::fill(out + hi, out + len, 0.0f);
                        }
                        out += len;
                        s += len;
                    }
                    dst += cs;
                }
    }
}

/// Any convolution: patch matrix (Cg*kernel x output positions, in column blocks) times weights.
inline void conv_im2col(const conv_problem& p, node_io& io) {
    const Index K = p.cg * p.g.kernel_size();
    const Index S = p.g.out_size();
    const Index chunk = std::max<Index>(1, column_chunk(K, S));
    float* col = io.scratch_floats(static_cast<std::size_t>(K * chunk));
    for (std::int64_t n = 0; n < p.n; ++n) {
        for (std::int64_t gr = 0; gr < p.groups; ++gr) {
            const float* X = p.x + (n * p.c + gr * p.cg) * p.g.in_size();
            float* Y = p.y + (n * p.m + gr * p.mg) * S;
            ConstMatrixMap W(p.w + gr * p.mg * K, p.mg, K);
            for (Index s0 = 0; s0 < S; s0 += chunk) {
                const Index cs = std::min(chunk, S - s0);
                im2col(p, X, col, s0, s0 + cs);
                StridedMatrixMap Yc(Y + s0, p.mg, cs, Eigen::OuterStride<>(S));
                if (p.mg == 1) Yc.row(0).noalias() = ConstMatrixMap(col, K, cs).transpose() * W.row(0).transpose();
                else Yc.noalias() = W * ConstMatrixMap(col, K, cs);
                for (std::int64_t mm = 0; mm < p.mg; ++mm)
                    apply_epilogue(*p.ep, Y + mm * S + s0, static_cast<std::size_t>(cs), gr * p.mg + mm, p.bias_of(gr * p.mg + mm));
            }
        }
    }
}

/// dst[0, n) = src[0, n) without a library call (the rows copied here are short).
inline void copy_floats(float* dst, const float* src, Index n) {
    namespace ei = Eigen::internal;
    using Packet = ei::packet_traits<float>::type;
    constexpr Index PS = ei::packet_traits<float>::size;
    Index j = 0;
    for (; j + PS <= n; j += PS) ei::pstoreu(dst + j, ei::ploadu<Packet>(src + j));
    for (; j < n; ++j) dst[j] = src[j];
}

/// even[j] = src[2j], odd[j] = src[2j + 1] for j < n (vectorised by the compiler: no aliasing).
inline void deinterleave2(const float* __restrict src, float* __restrict even, float* __restrict odd, Index n) {
    for (Index j = 0; j < n; ++j) {
        even[j] = src[2 * j];
        odd[j] = src[2 * j + 1];
    }
}

/// Multiply-adds every tap over four consecutive packets of outputs starting at flat index `f`
/// (tap t reads `tap_ptr[t] + f`), accumulators starting at `init`, four independent chains.
inline void depthwise_block4(const std::vector<const float*>& tap_ptr, const float* wt, Index taps, Index f,
                             const Eigen::internal::packet_traits<float>::type& init, float* dst) {
    namespace ei = Eigen::internal;
    using Packet = ei::packet_traits<float>::type;
    constexpr Index PS = ei::packet_traits<float>::size;
    Packet a0 = init, a1 = init, a2 = init, a3 = init;
    for (Index t = 0; t < taps; ++t) {
        const Packet wv = ei::pset1<Packet>(wt[t]);
        const float* src = tap_ptr[static_cast<std::size_t>(t)] + f;
        a0 = ei::pmadd(ei::ploadu<Packet>(src), wv, a0);
        a1 = ei::pmadd(ei::ploadu<Packet>(src + PS), wv, a1);
        a2 = ei::pmadd(ei::ploadu<Packet>(src + 2 * PS), wv, a2);
        a3 = ei::pmadd(ei::ploadu<Packet>(src + 3 * PS), wv, a3);
    }
    ei::pstoreu(dst, a0);
    ei::pstoreu(dst + PS, a1);
    ei::pstoreu(dst + 2 * PS, a2);
    ei::pstoreu(dst + 3 * PS, a3);
}

/// As `depthwise_block4` for one packet.
inline void depthwise_block1(const std::vector<const float*>& tap_ptr, const float* wt, Index taps, Index f,
                             const Eigen::internal::packet_traits<float>::type& init, float* dst) {
    namespace ei = Eigen::internal;
    using Packet = ei::packet_traits<float>::type;
    Packet a0 = init;
    for (Index t = 0; t < taps; ++t)
        a0 = ei::pmadd(ei::ploadu<Packet>(tap_ptr[static_cast<std::size_t>(t)] + f), ei::pset1<Packet>(wt[t]), a0);
    ei::pstoreu(dst, a0);
}

/// Depthwise (one input channel per group, any channel multiplier), 1-D or 2-D.
///
/// The input plane is copied once into a zero-padded buffer split into stride phases
/// (phase (a, b) holds padded rows a, a + sh, ... and columns b, b + sw, ...). Every kernel tap
/// then reads a contiguous run of one phase, and the outputs, laid out with the phase's row pitch,
/// form one flat vector: the inner loop is a branch-free multiply-add over whole packets with the
/// accumulators in registers across all taps, whatever the kernel size, stride or dilation. The
/// few extra outputs (pitch columns past the output width, the last packet's tail) are discarded.
inline void conv_depthwise(const conv_problem& p, node_io& io) {
    namespace ei = Eigen::internal;
    using Packet = ei::packet_traits<float>::type;
    constexpr Index PS = ei::packet_traits<float>::size;

    const window_geometry& g = p.g;
    const Index H = g.in[1], W = g.in[2], KH = g.k[1], KW = g.k[2], SH = g.s[1], SW = g.s[2], DH = g.d[1], DW = g.d[2];
    const Index OH = g.out[1], OW = g.out[2], PT = g.pb[1], PL = g.pb[2];
    // Only the padded area that some window touches.
    const Index Hp = (OH - 1) * SH + (KH - 1) * DH + 1, Wp = (OW - 1) * SW + (KW - 1) * DW + 1;
    const Index Hq = (Hp + SH - 1) / SH, Wq = (Wp + SW - 1) / SW, phase_size = Hq * Wq;
    const Index flat = (OH - 1) * Wq + OW;            // outputs that matter, pitch Wq
    const Index flat_padded = (flat + PS - 1) / PS * PS; // whole packets
    const Index phases_size = SH * SW * phase_size + PS; // + a zeroed margin the last packet may read
    const Index taps = KH * KW;
    float* buf = io.scratch_floats(static_cast<std::size_t>(phases_size + flat_padded));
    float* phases = buf;
    float* acc_out = buf + phases_size;
    std::vector<const float*> tap_ptr(static_cast<std::size_t>(taps));
    for (Index kh = 0; kh < KH; ++kh)
        for (Index kw = 0; kw < KW; ++kw) {
            const Index r = kh * DH, q = kw * DW;
            tap_ptr[static_cast<std::size_t>(kh * KW + kw)] = phases + ((r % SH) * SW + (q % SW)) * phase_size + (r / SH) * Wq + q / SW;
        }
    const std::int64_t mult = p.m / p.c;
    // Every plane fills the same positions, so the padding is zeroed once.
    std::fill(phases, phases + phases_size, 0.0f);
    const Index r0 = std::max<Index>(0, PT), r1 = std::min(Hp, H + PT);
    const Index c0 = std::max<Index>(0, PL), c1 = std::min(Wp, W + PL);

    for (std::int64_t n = 0; n < p.n; ++n) {
        for (std::int64_t mm = 0; mm < p.m; ++mm) {
            const std::int64_t cin = mm / mult;
            if (mm % mult == 0) { // fill the phases of input channel `cin`
                const float* xp = p.x + (n * p.c + cin) * H * W;
                for (Index r = r0; r < r1; ++r) {
                    const float* src = xp + (r - PT) * W - PL; // src[cc] is padded column cc
                    float* rowbase = phases + (r % SH) * SW * phase_size + (r / SH) * Wq;
                    if (SW == 1) {
                        copy_floats(rowbase + c0, src + c0, c1 - c0);
                    } else if (SW == 2) { // column c goes to phase c % 2 at c / 2
                        const Index first = c0 % 2, second = 1 - first;
                        deinterleave2(src + c0, rowbase + first * phase_size + c0 / 2, rowbase + second * phase_size + (c0 + 1) / 2, (c1 - c0) / 2);
                        if ((c1 - c0) % 2) rowbase[((c1 - 1) % 2) * phase_size + (c1 - 1) / 2] = src[c1 - 1];
                    } else {
                        for (Index q = 0; q < SW; ++q) { // columns q, q + SW, ... go to phase q
                            float* dst = rowbase + q * phase_size;
                            const Index j0 = c0 <= q ? 0 : (c0 - q + SW - 1) / SW, j1 = c1 <= q ? 0 : (c1 - q + SW - 1) / SW;
                            for (Index j = j0; j < j1; ++j) dst[j] = src[j * SW + q];
                        }
                    }
                }
            }
            const float* wt = p.w + mm * taps;
            const Packet pb = ei::pset1<Packet>(p.bias_of(mm));
            float* Y = p.y + (n * p.m + mm) * OH * OW;
            // All rows as one flat vector with pitch Wq (4 packets per tap pass), then the rows copied out.
            Index f = 0;
            for (; f + 4 * PS <= flat_padded; f += 4 * PS) depthwise_block4(tap_ptr, wt, taps, f, pb, acc_out + f);
            for (; f < flat_padded; f += PS) depthwise_block1(tap_ptr, wt, taps, f, pb, acc_out + f);
            apply_epilogue(*p.ep, acc_out, static_cast<std::size_t>(flat), mm); // bias already in
            for (Index oh = 0; oh < OH; ++oh) copy_floats(Y + oh * OW, acc_out + oh * Wq, OW);
        }
    }
}

} // namespace detail

namespace kernels {

/// Conv(X, W[, B]) per the ONNX operator, float32, 1-3 spatial dims. `io.epilogue` is applied to
/// the output (bias included) while it is in cache; `io.options.conv` may force an algorithm.
inline void conv(node_io& io, const ir::ops::Conv& op) {
    const Tensor& x = io.float_input(0);
    const Tensor& w = io.float_input(1);
    const Tensor* b = io.has(2) ? &io.float_input(2) : nullptr;
    if (x.shape.size() < 3) io.fail("input X must be N x C x spatial, got shape " + ir::to_string(x.shape));
    if (w.shape.size() != x.shape.size())
        io.fail("weight W " + ir::to_string(w.shape) + " must have the rank of X " + ir::to_string(x.shape));
    if (op.group <= 0) io.fail("group must be positive, got " + std::to_string(op.group));
    detail::conv_problem p;
    p.n = x.shape[0];
    p.c = x.shape[1];
    p.m = w.shape[0];
    p.groups = op.group;
    p.cg = w.shape[1];
    if (p.cg * p.groups != p.c)
        io.fail("X has " + std::to_string(p.c) + " channels but W " + ir::to_string(w.shape) + " with group " + std::to_string(op.group) +
                " expects " + std::to_string(p.cg * p.groups));
    if (p.m % p.groups != 0) io.fail("output channels " + std::to_string(p.m) + " are not divisible by group " + std::to_string(op.group));
    p.mg = p.m / p.groups;
    const ir::Ints kernel(w.shape.begin() + 2, w.shape.end());
    if (!op.kernel_shape.empty() && op.kernel_shape != kernel)
        io.fail("kernel_shape " + ir::to_string(op.kernel_shape) + " differs from the weight's " + ir::to_string(kernel));
    if (b && (b->shape.size() != 1 || b->shape[0] != p.m))
        io.fail("bias B " + ir::to_string(b->shape) + " must have shape [" + std::to_string(p.m) + "]");
    p.g = detail::make_window(io, x.shape, kernel, op.strides, op.pads, op.dilations, op.auto_pad, false);

    const bool pointwise = p.g.kernel_size() == 1 && p.g.s == std::array<std::int64_t, 3>{1, 1, 1} && p.g.unpadded();
    const bool depthwise = p.cg == 1 && p.groups == p.c && p.g.spatial <= 2;
    conv_algorithm algo = io.options.conv;
    if (algo == conv_algorithm::automatic) algo = pointwise ? conv_algorithm::gemm : depthwise ? conv_algorithm::depthwise : conv_algorithm::im2col;
    if (algo == conv_algorithm::gemm && !pointwise) io.fail("the gemm algorithm needs a 1x1 kernel, stride 1 and no padding");
    if (algo == conv_algorithm::depthwise && !depthwise)
        io.fail("the depthwise algorithm needs one input channel per group (group == channels) and at most 2 spatial dims");

    p.x = x.f.data();
    p.w = w.f.data();
    p.bias = b ? b->f.data() : nullptr;
    p.ep = &io.epilogue;
    Shape out{p.n, p.m};
    for (auto d : p.g.out_dims()) out.push_back(d);
    p.y = io.alloc_floats(0, std::move(out));
    if (p.n == 0 || p.m == 0 || p.g.out_size() == 0) return;
    switch (algo) {
    case conv_algorithm::gemm: detail::conv_gemm(p); break;
    case conv_algorithm::depthwise: detail::conv_depthwise(p, io); break;
    default: detail::conv_im2col(p, io); break;
    }
}

/// ConvTranspose(X, W[, B]) per the ONNX operator, float32, 1-3 spatial dims, groups, strides,
/// dilations, pads, output_padding, output_shape and auto_pad (resolved by the op's own geometry
/// rule, ir::ops::resolve_conv_transpose). Per image and group, the products of every input pixel
/// with the kernel are one GEMM (W^T X), then scattered into the output (col2im).
inline void conv_transpose(node_io& io, const ir::ops::ConvTranspose& op) {
    const Tensor& x = io.float_input(0);
    const Tensor& w = io.float_input(1);
    const Tensor* b = io.has(2) ? &io.float_input(2) : nullptr;
    if (x.shape.size() < 3 || x.shape.size() > 5) io.fail("input X must be N x C x spatial (1-3 dims), got shape " + ir::to_string(x.shape));
    if (w.shape.size() != x.shape.size()) io.fail("weight W " + ir::to_string(w.shape) + " must have the rank of X " + ir::to_string(x.shape));
    if (op.group <= 0) io.fail("group must be positive, got " + std::to_string(op.group));
    const std::int64_t n = x.shape[0], c = x.shape[1], groups = op.group;
    if (w.shape[0] != c) io.fail("X has " + std::to_string(c) + " channels but W " + ir::to_string(w.shape) + " expects " + std::to_string(w.shape[0]));
    if (c % groups != 0) io.fail("input channels " + std::to_string(c) + " are not divisible by group " + std::to_string(groups));
    const std::int64_t cg = c / groups, mg = w.shape[1], m = mg * groups;
    if (b && (b->shape.size() != 1 || b->shape[0] != m)) io.fail("bias B " + ir::to_string(b->shape) + " must have shape [" + std::to_string(m) + "]");
    const std::string op_name(io.op);
    const ir::infer_context ctx(io.node, op_name, {}, {});
    const ir::ops::conv_transpose_geometry geo = ir::ops::resolve_conv_transpose(op, x.shape, w.shape, ctx);
    const std::size_t sp = x.shape.size() - 2;
    for (std::size_t i = 0; i < sp; ++i)
        if (geo.kernel[i] != w.shape[2 + i]) io.fail("kernel_shape " + ir::to_string(op.kernel_shape) + " differs from the weight " + ir::to_string(w.shape));
    // Three spatial axes, the missing ones of size 1.
    std::array<std::int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, st{1, 1, 1}, dl{1, 1, 1}, pb{0, 0, 0};
    for (std::size_t i = 0; i < sp; ++i) {
        in[3 - sp + i] = x.shape[2 + i];
        out[3 - sp + i] = geo.out[i];
        k[3 - sp + i] = geo.kernel[i];
        st[3 - sp + i] = geo.strides[i];
        dl[3 - sp + i] = geo.dilations[i];
        pb[3 - sp + i] = geo.pads[i];
    }
    Shape yshape{n, m};
    for (std::size_t i = 0; i < sp; ++i) yshape.push_back(geo.out[i]);
    const std::int64_t S = in[0] * in[1] * in[2], O = out[0] * out[1] * out[2], K = k[0] * k[1] * k[2];
    float* y = io.alloc_floats(0, std::move(yshape));
    std::fill(y, y + n * m * O, 0.0f);
    if (n == 0 || m == 0 || O == 0 || S == 0) {
        for (std::int64_t q = 0; q < n * m; ++q) apply_epilogue(io.epilogue, y + q * O, static_cast<std::size_t>(O), q % std::max<std::int64_t>(m, 1), b ? b->f[static_cast<std::size_t>(q % m)] : 0.0f);
        return;
    }
    float* col = io.scratch_floats(static_cast<std::size_t>(mg * K * S));
    for (std::int64_t img = 0; img < n; ++img) {
        for (std::int64_t gr = 0; gr < groups; ++gr) {
            detail::ConstMatrixMap X(x.f.data() + (img * c + gr * cg) * S, cg, S);
            detail::ConstMatrixMap W(w.f.data() + gr * cg * mg * K, cg, mg * K);
            detail::MatrixMap C(col, mg * K, S);
            C.noalias() = W.transpose() * X;
            float* yg = y + (img * m + gr * mg) * O;
            for (std::int64_t mm = 0; mm < mg; ++mm) {
                float* ym = yg + mm * O;
                for (std::int64_t kd = 0; kd < k[0]; ++kd)
                    for (std::int64_t kh = 0; kh < k[1]; ++kh)
                        for (std::int64_t kw = 0; kw < k[2]; ++kw) {
                            const float* row = col + (mm * K + (kd * k[1] + kh) * k[2] + kw) * S;
                            for (std::int64_t id = 0; id < in[0]; ++id) {
                                const std::int64_t od = id * st[0] - pb[0] + kd * dl[0];
                                if (od < 0 || od >= out[0]) continue;
                                for (std::int64_t ih = 0; ih < in[1]; ++ih) {
                                    const std::int64_t oh = ih * st[1] - pb[1] + kh * dl[1];
                                    if (oh < 0 || oh >= out[1]) continue;
                                    const float* r = row + (id * in[1] + ih) * in[2];
                                    float* yr = ym + (od * out[1] + oh) * out[2];
                                    for (std::int64_t iw = 0; iw < in[2]; ++iw) {
                                        const std::int64_t ow = iw * st[2] - pb[2] + kw * dl[2];
                                        if (ow >= 0 && ow < out[2]) yr[ow] += r[iw];
                                    }
                                }
                            }
                        }
                const std::int64_t channel = gr * mg + mm;
                apply_epilogue(io.epilogue, ym, static_cast<std::size_t>(O), channel, b ? b->f[static_cast<std::size_t>(channel)] : 0.0f);
            }
        }
    }
}

} // namespace kernels

/// The kernels of this family, as overloads of `kernel` (found by kernels.hpp's dispatch).
inline void kernel(const ir::ops::Conv& op, node_io& io) { kernels::conv(io, op); }
inline void kernel(const ir::ops::ConvTranspose& op, node_io& io) { kernels::conv_transpose(io, op); }

} // namespace surgery::reference
