// Sliding-window geometry shared by Conv and the pooling kernels: kernel, strides, dilations, pads, auto_pad.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "surgery/ir/shape_inference.hpp"
#include "surgery/reference/kernel.hpp"

namespace surgery::reference::detail {

/// Geometry of a window op over up to three spatial dimensions, stored right-aligned: a 2-D op
/// has depth 1, a 1-D op depth and height 1, so one loop nest serves every rank.
struct window_geometry {
    std::size_t spatial = 0;
    std::array<std::int64_t, 3> in{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0}, pe{0, 0, 0}, out{1, 1, 1};

    [[nodiscard]] std::int64_t in_size() const noexcept { return in[0] * in[1] * in[2]; }
    [[nodiscard]] std::int64_t out_size() const noexcept { return out[0] * out[1] * out[2]; }
    [[nodiscard]] std::int64_t kernel_size() const noexcept { return k[0] * k[1] * k[2]; }
    /// The spatial output dims in the op's own rank.
    [[nodiscard]] Shape out_dims() const { return Shape(out.begin() + static_cast<std::ptrdiff_t>(3 - spatial), out.end()); }
    [[nodiscard]] bool unpadded() const noexcept { return pb == std::array<std::int64_t, 3>{} && pe == std::array<std::int64_t, 3>{}; }
};

/// Resolves the window of an op over input shape `x` (N x C x spatial) following the ONNX rules:
/// empty strides/dilations/pads mean 1/1/0; SAME_UPPER/SAME_LOWER give ceil(in / stride) outputs
/// with the odd padding at the end/beginning; ceil_mode rounds the output up but drops a last
/// window that would start inside the end padding.
[[nodiscard]] inline window_geometry make_window(const node_io& io, const Shape& x, const ir::Ints& kernel, const ir::Ints& strides,
                                                 const ir::Ints& pads, const ir::Ints& dilations, const std::string& auto_pad,
                                                 bool ceil_mode) {
    if (x.size() < 3) io.fail("input must be N x C x spatial, got shape " + ir::to_string(x));
    const std::size_t sp = x.size() - 2;
    if (sp > 3) io.fail("only 1-D, 2-D and 3-D windows are supported, got " + std::to_string(sp) + " spatial dimensions");
    if (kernel.size() != sp) io.fail("kernel has " + std::to_string(kernel.size()) + " dims for " + std::to_string(sp) + " spatial dims");
    if (!strides.empty() && strides.size() != sp) io.fail("strides has " + std::to_string(strides.size()) + " entries, expected " + std::to_string(sp));
    if (!dilations.empty() && dilations.size() != sp) io.fail("dilations has " + std::to_string(dilations.size()) + " entries, expected " + std::to_string(sp));
    const bool same_upper = auto_pad == "SAME_UPPER", same_lower = auto_pad == "SAME_LOWER", valid = auto_pad == "VALID";
    const bool notset = auto_pad == "NOTSET" || auto_pad.empty();
    if (!same_upper && !same_lower && !valid && !notset) io.fail("unknown auto_pad '" + auto_pad + "'");
    if (notset && !pads.empty() && pads.size() != 2 * sp) io.fail("pads has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * sp));

    window_geometry g;
    g.spatial = sp;
    for (std::size_t i = 0; i < sp; ++i) {
        const std::size_t j = 3 - sp + i;
        g.in[j] = x[2 + i];
        g.k[j] = kernel[i];
        g.s[j] = strides.empty() ? 1 : strides[i];
        g.d[j] = dilations.empty() ? 1 : dilations[i];
        if (g.k[j] <= 0 || g.s[j] <= 0 || g.d[j] <= 0) io.fail("kernel, strides and dilations must be positive");
        const std::int64_t eff = (g.k[j] - 1) * g.d[j] + 1;
        if (same_upper || same_lower) {
            g.out[j] = (g.in[j] + g.s[j] - 1) / g.s[j];
            const std::int64_t total = std::max<std::int64_t>(0, (g.out[j] - 1) * g.s[j] + eff - g.in[j]);
            g.pb[j] = same_upper ? total / 2 : total - total / 2;
            g.pe[j] = total - g.pb[j];
        } else {
            if (notset && !pads.empty()) {
                g.pb[j] = pads[i];
                g.pe[j] = pads[i + sp];
            }
            if (g.pb[j] < 0 || g.pe[j] < 0) io.fail("negative pads are not supported");
            if (g.in[j] + g.pb[j] + g.pe[j] < eff)
                io.fail("the window (" + std::to_string(eff) + " wide with dilation) is larger than the padded input " + ir::to_string(x));
            g.out[j] = ir::pool_out(g.in[j], g.k[j], g.s[j], g.d[j], g.pb[j], g.pe[j], ceil_mode);
        }
    }
    return g;
}

} // namespace surgery::reference::detail
