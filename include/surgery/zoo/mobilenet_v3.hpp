// MobileNetV3-Large built in the IR with the builder API (torchvision's architecture, seeded random weights).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "surgery/ir/builder.hpp"
#include "surgery/ir/graph.hpp"

namespace surgery::zoo {

namespace detail {
/// torchvision's _make_divisible: round to a multiple of 8, never down by more than 10%.
inline std::int64_t make_divisible(double v, std::int64_t divisor = 8) {
    std::int64_t nv = std::max<std::int64_t>(divisor, static_cast<std::int64_t>(v + static_cast<double>(divisor) / 2) / divisor * divisor);
    if (static_cast<double>(nv) < 0.9 * v) nv += divisor;
    return nv;
}
} // namespace detail

/// Options for `mobilenet_v3_large`.
struct mobilenet_v3_options {
    std::int64_t resolution = 224;
    std::int64_t num_classes = 1000;
    std::uint64_t seed = 0;
};

/// MobileNetV3-Large (Howard et al. 2019) as torchvision builds it: Conv/BatchNorm/HardSwish stem,
/// 15 inverted-residual blocks (8 with Squeeze-and-Excitation: GlobalAveragePool, 1x1 Conv, ReLU,
/// 1x1 Conv, HardSigmoid, Mul), a 960-channel head, and a 1280-wide classifier. Input "input"
/// [1, 3, R, R], output "logits" [1, num_classes]. BatchNormalization nodes are kept (as in a
/// training-mode export), so BN folding has work to do.
[[nodiscard]] inline ir::Graph mobilenet_v3_large(const mobilenet_v3_options& opt = {}) {
    ir::Graph g;
    g.name = "mobilenet_v3_large";
    ir::Builder b(g, opt.seed);
    struct block {
        std::int64_t kernel, expanded, out;
        bool se, hardswish;
        std::int64_t stride;
    };
    static constexpr std::array<block, 15> cfg{{
        {3, 16, 16, false, false, 1},  {3, 64, 24, false, false, 2},  {3, 72, 24, false, false, 1},
        {5, 72, 40, true, false, 2},   {5, 120, 40, true, false, 1},  {5, 120, 40, true, false, 1},
        {3, 240, 80, false, true, 2},  {3, 200, 80, false, true, 1},  {3, 184, 80, false, true, 1},
        {3, 184, 80, false, true, 1},  {3, 480, 112, true, true, 1},  {3, 672, 112, true, true, 1},
        {5, 672, 160, true, true, 2},  {5, 960, 160, true, true, 1},  {5, 960, 160, true, true, 1},
    }};
    auto act = [&](ir::ValueId v, bool hs) { return hs ? b.hardswish(v) : b.relu(v); };
    auto conv_bn = [&](ir::ValueId v, ir::conv_spec spec) {
        spec.bias = false;
        return b.batch_norm(b.conv(v, spec), 1e-3f);
    };

    ir::ValueId x = b.input("input", {1, 3, opt.resolution, opt.resolution});
    x = b.hardswish(conv_bn(x, {.out_channels = 16, .kernel = 3, .stride = 2}));
    std::int64_t channels = 16;
    for (const block& c : cfg) {
        ir::ValueId y = x;
        if (c.expanded != channels) y = act(conv_bn(y, {.out_channels = c.expanded, .kernel = 1}), c.hardswish);
        y = act(conv_bn(y, {.out_channels = c.expanded, .kernel = c.kernel, .stride = c.stride, .depthwise = true}), c.hardswish);
        if (c.se) {
            const std::int64_t squeeze = detail::make_divisible(static_cast<double>(c.expanded) / 4.0);
            ir::ValueId s = b.global_average_pool(y);
            s = b.relu(b.conv(s, {.out_channels = squeeze, .kernel = 1}));
            s = b.hardsigmoid(b.conv(s, {.out_channels = c.expanded, .kernel = 1}));
            y = b.mul(s, y); // torchvision: scale * input
        }
        y = conv_bn(y, {.out_channels = c.out, .kernel = 1});
        if (c.stride == 1 && channels == c.out) y = b.add(y, x);
        x = y;
        channels = c.out;
    }
    x = b.hardswish(conv_bn(x, {.out_channels = 960, .kernel = 1}));
    x = b.flatten(b.global_average_pool(x));
    x = b.hardswish(b.linear(x, 1280));
    x = b.apply(ir::ops::Dropout{}, {x, b.scalar(0.2f)});
    x = b.linear(x, opt.num_classes);
    g.set_value_name(x, "logits");
    b.output(x);
    return g;
}

} // namespace surgery::zoo
