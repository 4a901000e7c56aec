// The paper's lite rules: Squeeze-and-Excitation removal and activations turned into ReLU.
#pragma once

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/pattern/op.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/pattern/predicates.hpp"
#include "surgery/rules/exact.hpp"

namespace surgery::rules {

/// Squeeze-and-Excitation block `x * gate(conv(act(conv(GlobalAveragePool(x)))))` removed: its output becomes x.
[[nodiscard]] inline rewrite::rule remove_squeeze_excitation() {
    return rewrite::make_rule("remove_squeeze_excitation", pattern::library::squeeze_excitation{}, rewrite::identity(),
                              rewrite::exactness::approximate, "Squeeze-and-Excitation block removed (gate ReLU or SiLU, Sigmoid or HardSigmoid)");
}

/// HardSwish (opset 14 op) -> ReLU.
[[nodiscard]] inline rewrite::rule hardswish_to_relu() {
    return rewrite::make_rule("hardswish_to_relu", P::chain<P::op<ir::ops::HardSwish>>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "HardSwish becomes ReLU");
}

/// x * HardSigmoid(x) (HardSwish exported before opset 14) -> ReLU.
[[nodiscard]] inline rewrite::rule hardswish_decomposed_to_relu() {
    return rewrite::make_rule("hardswish_decomposed_to_relu", pattern::library::hardswish_decomposed<>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "x * HardSigmoid(x) becomes ReLU");
}

/// HardSigmoid -> ReLU.
[[nodiscard]] inline rewrite::rule hardsigmoid_to_relu() {
    return rewrite::make_rule("hardsigmoid_to_relu", P::chain<P::op<ir::ops::HardSigmoid>>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "HardSigmoid becomes ReLU");
}

/// x * Sigmoid(x) (SiLU / Swish as exported to ONNX) -> ReLU.
[[nodiscard]] inline rewrite::rule silu_to_relu() {
    return rewrite::make_rule("silu_to_relu", pattern::library::silu<>{}, rewrite::with_op(ir::ops::Relu{}), rewrite::exactness::approximate,
                              "x * Sigmoid(x) becomes ReLU");
}

namespace detail {
/// Clip(x, 0, 6): ReLU6 as PyTorch exports it (bounds as constant inputs).
struct clip_0_6 {
    bool operator()(const ir::ops::Clip&, const ir::Graph& g, ir::NodeId n) const {
        const auto& ins = g.node(n).inputs;
        if (ins.size() < 3) return false;
        const ir::Tensor* lo = g.constant(ins[1]);
        const ir::Tensor* hi = g.constant(ins[2]);
        return lo && hi && lo->size() == 1 && hi->size() == 1 && lo->as_floats()[0] == 0.0f && hi->as_floats()[0] == 6.0f;
    }
};
/// Transpose with the given permutation.
template <std::int64_t... Perm>
struct perm_is {
    bool operator()(const ir::ops::Transpose& t) const { return t.perm == ir::Ints{Perm...}; }
};
/// LayerNormalization over the last axis only, with constant scale (and bias).
struct last_axis_layernorm {
    bool operator()(const ir::ops::LayerNormalization& ln, const ir::Graph& g, ir::NodeId n) const {
        const auto& nd = g.node(n);
        const auto& xs = g.value(nd.inputs[0]).shape;
        if (!xs || xs->empty()) return false;
        const auto rank = static_cast<std::int64_t>(xs->size());
        if (ln.axis != -1 && ln.axis != rank - 1) return false;
        for (std::size_t i = 1; i < nd.inputs.size(); ++i)
            if (nd.inputs[i] && !g.constant(nd.inputs[i])) return false;
        return nd.outputs.size() == 1 || (g.value(nd.outputs[1]).uses.empty() && (nd.outputs.size() < 3 || g.value(nd.outputs[2]).uses.empty()));
    }
};
/// Square odd kernel of at least 5, dilation 1, "same" symmetric padding, no auto_pad.
struct large_same_kernel {
    template <class Op>
    bool operator()(const Op& op, const ir::Graph& g, ir::NodeId n) const {
        auto k = pattern::detail::kernel_of(op, &g, n);
        if (!k || k->size() != 2 || (*k)[0] != (*k)[1] || (*k)[0] < 5 || (*k)[0] % 2 == 0) return false;
        if (op.auto_pad != "NOTSET" && !op.auto_pad.empty()) return false;
        for (auto d : op.dilations)
            if (d != 1) return false;
        const std::int64_t p = (*k)[0] / 2;
        if (op.pads.size() != 4) return false;
        for (auto x : op.pads)
            if (x != p) return false;
        return true;
    }
};

/// The 3x3 kernel at the centre of a Conv weight [O, I, k, k].
inline ir::Tensor centre_3x3(const ir::Tensor& w) {
    const std::int64_t o = w.shape[0], i = w.shape[1], k = w.shape[2], off = (k - 3) / 2;
    ir::Tensor out = ir::Tensor::zeros({o, i, 3, 3});
    for (std::int64_t a = 0; a < o; ++a)
        for (std::int64_t b = 0; b < i; ++b)
            for (std::int64_t y = 0; y < 3; ++y)
                for (std::int64_t x = 0; x < 3; ++x)
                    out.f[static_cast<std::size_t>(((a * i + b) * 3 + y) * 3 + x)] = w.f[static_cast<std::size_t>(((a * i + b) * k + y + off) * k + x + off)];
    return out;
}
} // namespace detail

/// ReLU6 (Clip(x, 0, 6)) -> ReLU.
[[nodiscard]] inline rewrite::rule relu6_to_relu() {
    return rewrite::make_rule("relu6_to_relu", P::chain<P::op<ir::ops::Clip, detail::clip_0_6>>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "ReLU6 (Clip 0..6) becomes ReLU");
}

/// Gelu (opset 20 op) -> ReLU.
[[nodiscard]] inline rewrite::rule gelu_to_relu() {
    return rewrite::make_rule("gelu_to_relu", P::chain<P::op<ir::ops::Gelu>>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "Gelu becomes ReLU");
}

/// GELU as PyTorch exports it before opset 20, `(x * (erf(x / sqrt2) + 1)) * 0.5`, -> ReLU.
[[nodiscard]] inline rewrite::rule gelu_erf_to_relu() {
    return rewrite::make_rule("gelu_erf_to_relu", pattern::library::gelu_erf<>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "x * 0.5 * (1 + erf(x / sqrt(2))) becomes ReLU");
}

namespace detail {
/// BatchNormalization over axis 1 of `x` with LayerNormalization's affine parameters (mean 0, var 1 - eps).
inline ir::ValueId batchnorm_from_layernorm(rewrite::context& c, ir::ValueId x, std::size_t ln_index) {
    const auto& ln = c.attrs<ir::ops::LayerNormalization>(ln_index);
    const ir::Tensor& scale = c.weight(ln_index, 1);
    const auto ch = static_cast<std::int64_t>(scale.f.size());
    ir::Tensor bias = c.has_weight(ln_index, 2) ? c.weight(ln_index, 2) : ir::Tensor::zeros({ch});
    const std::string base = c.graph.label(c.match.nodes[ln_index]);
    ir::ops::BatchNormalization bn;
    bn.epsilon = ln.epsilon;
    return c.build.apply(bn,
                         {x, c.build.constant(scale, base + ".bn_scale"), c.build.constant(bias, base + ".bn_bias"),
                          c.build.constant(ir::Tensor::zeros({ch}), base + ".bn_mean"),
                          c.build.constant(ir::Tensor::floats({ch}, std::vector<float>(static_cast<std::size_t>(ch), 1.0f - ln.epsilon)),
                                           base + ".bn_var")});
}
} // namespace detail

/// LayerNorm2d (Transpose NCHW->NHWC, LayerNormalization over C, Transpose back) -> BatchNormalization.
[[nodiscard]] inline rewrite::rule layernorm2d_to_batchnorm() {
    using pat = P::chain<P::op<ir::ops::Transpose, detail::perm_is<0, 2, 3, 1>>, P::op<ir::ops::LayerNormalization, detail::last_axis_layernorm>,
                         P::op<ir::ops::Transpose, detail::perm_is<0, 3, 1, 2>>>;
    return rewrite::make_rule("layernorm2d_to_batchnorm", pat{},
                              rewrite::generate([](rewrite::context& c) { return detail::batchnorm_from_layernorm(c, c.input(), 1); }),
                              rewrite::exactness::approximate, "channel LayerNorm on NCHW (as ConvNeXt's LayerNorm2d) becomes BatchNormalization");
}

/// Transpose NCHW->NHWC then LayerNormalization over C (ConvNeXt blocks) -> BatchNormalization on NCHW, then the Transpose.
[[nodiscard]] inline rewrite::rule layernorm_to_batchnorm() {
    using pat = P::chain<P::op<ir::ops::Transpose, detail::perm_is<0, 2, 3, 1>>, P::op<ir::ops::LayerNormalization, detail::last_axis_layernorm>>;
    return rewrite::make_rule("layernorm_to_batchnorm", pat{},
                              rewrite::generate([](rewrite::context& c) {
                                  ir::ValueId bn = detail::batchnorm_from_layernorm(c, c.input(), 1);
                                  return c.build.transpose(bn, {0, 2, 3, 1});
                              }),
                              rewrite::exactness::approximate, "LayerNorm over the channels of an NHWC tensor becomes BatchNormalization before the Transpose");
}

/// Conv with a large odd kernel (k >= 5, "same" padding) -> a stack of (k-1)/2 3x3 convs: the first
/// with the original's channels, groups and stride and the centre 3x3 of its weights, the others
/// depthwise identities (so the initial function is the centre-cropped conv; retraining recovers
/// the receptive field).
[[nodiscard]] inline rewrite::rule large_kernel_to_3x3() {
    using pat = P::chain<P::op<ir::ops::Conv, detail::large_same_kernel, detail::constant_weights>>;
    return rewrite::make_rule(
        "large_kernel_to_3x3", pat{},
        rewrite::generate([](rewrite::context& c) {
            const auto& conv = c.attrs<ir::ops::Conv>(0);
            const ir::Tensor& w = c.weight(0, 1);
            const std::int64_t k = w.shape[2], cout = w.shape[0];
            const std::string base = c.graph.label(c.match.nodes[0]);
            ir::ops::Conv first = conv;
            first.kernel_shape = {3, 3};
            first.pads = {1, 1, 1, 1};
            const std::int64_t layers = (k - 1) / 2;
            std::vector<ir::ValueId> ins{c.input(), c.build.constant(detail::centre_3x3(w), base + ".w3x3_0")};
            if (layers == 1 && c.has_weight(0, 2)) ins.push_back(c.node(0).inputs[2]);
            ir::ValueId v = c.build.apply(first, ins);
            for (std::int64_t l = 1; l < layers; ++l) {
                ir::Tensor delta = ir::Tensor::zeros({cout, 1, 3, 3});
                for (std::int64_t o = 0; o < cout; ++o) delta.f[static_cast<std::size_t>(o * 9 + 4)] = 1.0f;
                ir::ops::Conv dw;
                dw.kernel_shape = {3, 3};
                dw.pads = {1, 1, 1, 1};
                dw.strides = {1, 1};
                dw.group = cout;
                std::vector<ir::ValueId> dins{v, c.build.constant(std::move(delta), base + ".w3x3_" + std::to_string(l))};
                if (l + 1 == layers && c.has_weight(0, 2)) dins.push_back(c.node(0).inputs[2]);
                v = c.build.apply(dw, dins);
            }
            return v;
        }),
        rewrite::exactness::approximate, "a k x k Conv (k >= 5, odd) becomes (k-1)/2 stacked 3x3 convs");
}

/// YOLO "Focus" (four stride-2 slices of x concatenated on channels) -> one Conv 2x2 stride 2 with
/// one-hot weights (space-to-depth). Exact.
[[nodiscard]] inline rewrite::rule focus_to_conv() {
    return rewrite::make_rule(
        "focus_to_conv", pattern::library::focus{},
        rewrite::generate([](rewrite::context& c) -> std::vector<ir::ValueId> {
            const ir::Graph& g = c.graph;
            const ir::ValueId x = c.input();
            const auto& xs = g.value(x).shape;
            if (!xs || xs->size() != 4 || (*xs)[1] <= 0 || (*xs)[2] < 0 || (*xs)[3] < 0 || (*xs)[2] % 2 || (*xs)[3] % 2) return {};
            const std::int64_t ch = (*xs)[1];
            // One single-axis stride-2 slice: {axis, start} or nothing when it is not one.
            auto slice_info = [&](ir::NodeId n) -> std::optional<std::pair<std::int64_t, std::int64_t>> {
                const auto& ins = g.node(n).inputs;
                if (ins.size() < 5) return std::nullopt;
                const ir::Tensor *st = g.constant(ins[1]), *en = g.constant(ins[2]), *ax = g.constant(ins[3]), *sp = g.constant(ins[4]);
                if (!st || !en || !ax || !sp || st->size() != 1 || en->size() != 1 || ax->size() != 1 || sp->size() != 1) return std::nullopt;
                std::int64_t axis = ax->as_ints()[0], start = st->as_ints()[0], end = en->as_ints()[0];
                if (axis < 0) axis += 4;
                if ((axis != 2 && axis != 3) || sp->as_ints()[0] != 2 || (start != 0 && start != 1) || end < (*xs)[static_cast<std::size_t>(axis)])
                    return std::nullopt;
                return std::pair{axis, start};
            };
            const ir::NodeId concat = c.match.nodes.back();
            if (c.attrs<ir::ops::Concat>(c.match.nodes.size() - 1).axis != 1 && c.attrs<ir::ops::Concat>(c.match.nodes.size() - 1).axis != -3) return {};
            const auto& parts = g.node(concat).inputs;
            if (parts.size() != 4) return {};
            ir::Tensor w = ir::Tensor::zeros({4 * ch, ch, 2, 2});
            std::array<bool, 4> seen{};
            for (std::size_t i = 0; i < 4; ++i) {
                const ir::NodeId outer = g.producer(parts[i]);
                const ir::NodeId inner = g.producer(g.node(outer).inputs[0]);
                auto a = slice_info(outer), b = slice_info(inner);
                if (!a || !b || a->first == b->first) return {};
                const std::int64_t row = a->first == 2 ? a->second : b->second, col = a->first == 3 ? a->second : b->second;
                const auto cell = static_cast<std::size_t>(row * 2 + col);
                if (seen[cell]) return {};
                seen[cell] = true;
                for (std::int64_t k = 0; k < ch; ++k)
                    w.f[static_cast<std::size_t>((((static_cast<std::int64_t>(i) * ch + k) * ch + k) * 2 + row) * 2 + col)] = 1.0f;
            }
            ir::ops::Conv conv;
            conv.kernel_shape = {2, 2};
            conv.strides = {2, 2};
            conv.pads = {0, 0, 0, 0};
            return {c.build.apply(conv, {x, c.build.constant(std::move(w), g.label(concat) + ".space_to_depth")})};
        }),
        rewrite::exactness::exact, "Focus (4 strided slices + Concat) becomes a 2x2 stride-2 Conv with one-hot weights");
}

/// The paper's MobileNetV3 dictionary: SE removal first (its gate is a HardSigmoid), then the activations.
[[nodiscard]] inline rewrite::dictionary mobilenet_v3_lite() {
    return rewrite::dictionary("mobilenet_v3_lite",
                               {remove_squeeze_excitation(), hardswish_to_relu(), hardswish_decomposed_to_relu(), hardsigmoid_to_relu()});
}

/// All lite rules, in the order they must run (SE removal before its gate's activation is
/// replaced; LayerNorm before the exact clean-up merges the transposes it leaves and folds the
/// BatchNorms it creates), followed by the exact clean-up.
[[nodiscard]] inline rewrite::dictionary lite() {
    rewrite::dictionary d("lite",
                          {remove_squeeze_excitation(), focus_to_conv(), silu_to_relu(), hardswish_to_relu(), hardswish_decomposed_to_relu(),
                           hardsigmoid_to_relu(), relu6_to_relu(), gelu_to_relu(), gelu_erf_to_relu(), layernorm2d_to_batchnorm(),
                           layernorm_to_batchnorm(), large_kernel_to_3x3()});
    d.append(exact_cleanup());
    return d;
}

} // namespace surgery::rules
