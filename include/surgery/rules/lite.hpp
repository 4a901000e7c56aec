// The approximate ("lite") rules of the paper and beyond: Squeeze-and-Excitation removed; HardSwish,
// HardSigmoid, SiLU/Swish, GELU, ReLU6, and on request Mish, LeakyReLU, PReLU and ELU turned into
// ReLU; LayerNorm turned into BatchNorm; large kernels broken into 3x3 stacks. Every form exporters
// emit is one pattern of pattern/library.hpp; each rule has one replacement for all its forms.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/tensor_math.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rules/common.hpp"
#include "surgery/rules/exact.hpp"

namespace surgery::rules {

namespace defs {

namespace detail {

/// A rule replacing every form of an activation by ReLU of its input.
inline definition to_relu(std::string name, std::string description, std::span<const pattern::form> forms) {
    std::vector<rule_form> fs;
    for (const auto& f : forms) fs.push_back(from_library(f));
    return define(std::move(name), rewrite::exactness::approximate, std::move(description), std::move(fs), "Relu(x)",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> { return c.build.apply(ir::ops::Relu{}, {input_of(c)}); });
}

/// Normalised axis `a` of a rank-`rank` tensor, or nothing when out of range.
inline std::optional<std::size_t> axis_of(std::int64_t a, std::size_t rank) {
    const auto r = static_cast<std::int64_t>(rank);
    if (a < -r || a >= r) return std::nullopt;
    return static_cast<std::size_t>(a < 0 ? a + r : a);
}

/// `t` as one value per element of axis `axis` of a rank-`rank` tensor with `n` there (t may be
/// [n], [n, 1, 1] for axis 1 of NCHW, or a scalar); nothing otherwise.
inline std::optional<ir::Tensor> along_axis(const ir::Tensor& t, std::size_t axis, std::size_t rank, std::int64_t n) {
    if (!t.is_float() || t.shape.size() > rank) return std::nullopt;
    const std::size_t lead = rank - t.shape.size();
    for (std::size_t i = 0; i < t.shape.size(); ++i)
        if (t.shape[i] != 1 && !(lead + i == axis && t.shape[i] == n)) return std::nullopt;
    if (t.size() == n) return ir::reshape(t, {n});
    if (t.size() == 1) return ir::filled(n, t.f[0]);
    return std::nullopt;
}

} // namespace detail

/// Squeeze-and-Excitation removed: `x * gate(conv(act(conv(squeeze(x)))))` becomes `x`.
[[nodiscard]] inline definition remove_squeeze_excitation() {
    namespace F = pattern::forms;
    return define("remove_squeeze_excitation", rewrite::exactness::approximate,
                  "Squeeze-and-Excitation block removed (its output becomes its input)",
                  {from_library(F::se_relu), from_library(F::se_silu), from_library(F::se_relu_written_gate), from_library(F::se_silu_written_gate)},
                  "x", [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      // A ReduceMean squeeze must be a mean over H and W that keeps them: the gate is per channel.
                      for (ir::NodeId n : c.match.nodes) {
                          const auto* rm = c.graph.node(n).as<ir::ops::ReduceMean>();
                          if (!rm) continue;
                          const ir::Tensor* axes = constant_input(c.graph, n, 1);
                          if (rm->keepdims != 1 || !axes) return std::nullopt;
                          std::vector<std::int64_t> a = axes->as_ints();
                          for (auto& x : a) x = x < 0 ? x + 4 : x;
                          std::sort(a.begin(), a.end());
                          if (a != std::vector<std::int64_t>{2, 3}) return std::nullopt;
                      }
                      return pass_through(c, input_of(c));
                  });
}

[[nodiscard]] inline definition hardswish_to_relu() {
    return detail::to_relu("hardswish_to_relu", "HardSwish becomes ReLU", pattern::forms::hardswish);
}

[[nodiscard]] inline definition hardsigmoid_to_relu() {
    const pattern::form fs[] = {pattern::forms::hardsigmoid_op, pattern::forms::hardsigmoid_written};
    return detail::to_relu("hardsigmoid_to_relu", "HardSigmoid becomes ReLU", fs);
}

[[nodiscard]] inline definition silu_to_relu() {
    return detail::to_relu("silu_to_relu", "SiLU / Swish (x * sigmoid(beta x)) becomes ReLU", pattern::forms::swish);
}

[[nodiscard]] inline definition gelu_to_relu() {
    return detail::to_relu("gelu_to_relu", "GELU (erf or tanh approximation) becomes ReLU", pattern::forms::gelu);
}

/// ReLU6 -> ReLU. `Clip(Relu(x), min, 6)` only when min is absent or at most 0 (F.relu6's form).
[[nodiscard]] inline definition relu6_to_relu() {
    return define("relu6_to_relu", rewrite::exactness::approximate, "ReLU6 (Clip 0..6) becomes ReLU",
                  {from_library(pattern::forms::relu6_clip), from_library(pattern::forms::relu6_relu_clip)}, "Relu(x)",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::NodeId clip = c.matched(0);
                      const ir::Tensor* lo = constant_input(c.graph, clip, 1);
                      if (!absent_input(c.graph, clip, 1) && !(lo && lo->size() == 1 && lo->as_floats()[0] <= 0.0f)) return std::nullopt;
                      return c.build.apply(ir::ops::Relu{}, {input_of(c)});
                  });
}

[[nodiscard]] inline definition mish_to_relu() {
    const pattern::form fs[] = {pattern::forms::mish_op, pattern::forms::mish_written};
    return detail::to_relu("mish_to_relu", "Mish becomes ReLU (opt-in)", fs);
}

[[nodiscard]] inline definition leaky_relu_to_relu() {
    const pattern::form fs[] = {pattern::forms::leaky_relu_op};
    return detail::to_relu("leaky_relu_to_relu", "LeakyReLU becomes ReLU (opt-in)", fs);
}

[[nodiscard]] inline definition prelu_to_relu() {
    const pattern::form fs[] = {pattern::forms::prelu_op};
    return detail::to_relu("prelu_to_relu", "PReLU becomes ReLU (opt-in)", fs);
}

[[nodiscard]] inline definition elu_to_relu() {
    const pattern::form fs[] = {pattern::forms::elu_op};
    return detail::to_relu("elu_to_relu", "ELU, CELU and SELU become ReLU (opt-in)", fs);
}

/// LayerNorm over one axis -> BatchNormalization over that axis with LayerNorm's scale and bias,
/// mean 0 and variance 1 - eps: at first an affine map (x * scale + bias) whose statistics
/// calibration re-estimates. The axis is the last (tokens, NHWC: Transposes move it to axis 1 and
/// back, which `merge_transposes` then cancels against ConvNeXt's permutes) or axis 1 of NCHW.
[[nodiscard]] inline definition layernorm_to_batchnorm() {
    namespace F = pattern::forms;
    return define(
        "layernorm_to_batchnorm", rewrite::exactness::approximate, "LayerNorm over one axis becomes BatchNormalization over that axis",
        {from_library(F::layernorm_op), from_library(F::layernorm_decomposed), from_library(F::layernorm_decomposed_plain)},
        "BatchNormalization(x, scale, bias, mean 0, var 1 - eps) over the normalised axis (between Transposes when it is not axis 1)",
        [](rewrite::context& c) -> std::optional<ir::ValueId> {
            const ir::Graph& g = c.graph;
            const ir::ValueId x = input_of(c);
            const auto& xs = g.value(x).shape;
            if (!xs || xs->size() < 2) return std::nullopt;
            const std::size_t rank = xs->size();
            std::optional<std::size_t> axis;
            float eps = 0.0f;
            if (const auto* ln = c.node(0).as<ir::ops::LayerNormalization>()) {
                axis = detail::axis_of(ln->axis, rank);
                if (axis != rank - 1 || !outputs_unused_from(g, c.matched(0), 1)) return std::nullopt; // several axes, or the statistics are read
                eps = ln->epsilon;
            } else {
                const auto a1 = captured(c, "axes").as_ints(), a2 = captured(c, "axes2").as_ints();
                if (a1.size() != 1 || a2.size() != 1) return std::nullopt;
                axis = detail::axis_of(a1[0], rank);
                if (!axis || axis != detail::axis_of(a2[0], rank) || (*axis != rank - 1 && *axis != 1)) return std::nullopt;
                for (ir::NodeId n : c.match.nodes)
                    if (const auto* rm = g.node(n).as<ir::ops::ReduceMean>(); rm && rm->keepdims != 1) return std::nullopt;
                const auto e = captured(c, "eps").as_floats();
                if (e.size() != 1) return std::nullopt;
                eps = e[0];
            }
            const ir::Tensor* bias = nullptr;
            if (c.match.capture("bias")) bias = &captured(c, "bias");
            else if (c.node(0).is<ir::ops::LayerNormalization>()) bias = constant_input(g, c.matched(0), 2);
            std::int64_t ch = (*xs)[*axis];
            if (ch <= 0) { // a dynamic dim (Swin's patch merging): the affine parameters say how many channels
                if (c.match.capture("scale")) ch = static_cast<std::int64_t>(captured(c, "scale").size());
                else if (bias) ch = static_cast<std::int64_t>(bias->size());
            }
            if (ch <= 0 || *axis == 0 || !(eps >= 0.0f && eps < 1.0f)) return std::nullopt;
            if (!bias && c.node(0).is<ir::ops::LayerNormalization>() && !absent_input(g, c.matched(0), 2)) return std::nullopt;
            const auto scale = c.match.capture("scale") ? detail::along_axis(captured(c, "scale"), *axis, rank, ch) : ir::filled(ch, 1.0f);
            const auto shift = bias ? detail::along_axis(*bias, *axis, rank, ch) : ir::Tensor::zeros({ch});
            if (!scale || !shift) return std::nullopt;

            const std::string base = g.label(c.matched(0));
            ir::ops::BatchNormalization bn;
            bn.epsilon = eps;
            auto batchnorm = [&](ir::ValueId v) {
                return c.build.apply(bn, {v, c.build.constant(*scale, base + ".bn_scale"), c.build.constant(*shift, base + ".bn_bias"),
                                          c.build.constant(ir::Tensor::zeros({ch}), base + ".bn_mean"),
                                          c.build.constant(ir::filled(ch, 1.0f - eps), base + ".bn_var")});
            };
            if (*axis == 1) return batchnorm(x);
            ir::Ints to_front{0, static_cast<std::int64_t>(*axis)}, back(rank);
            for (std::size_t i = 1; i < rank; ++i)
                if (i != *axis) to_front.push_back(static_cast<std::int64_t>(i));
            for (std::size_t i = 0; i < rank; ++i) back[static_cast<std::size_t>(to_front[i])] = static_cast<std::int64_t>(i);
            return c.build.transpose(batchnorm(c.build.transpose(x, to_front)), back);
        });
}

/// Conv with a large odd square kernel (every dim >= `opts.large_kernel_min`, "same" padding,
/// dilation 1) -> a stack of (k-1)/2 3x3 convs with the same receptive field: the first with the
/// original's channels, groups and stride and the centre 3x3 of its weights, the others depthwise
/// identities (the initial function is the centre-cropped conv; retraining recovers the rest).
[[nodiscard]] inline definition large_kernel_to_3x3(const options& opts = {}) {
    if (opts.large_kernel_min < 5)
        throw error("rules::large_kernel_to_3x3: large_kernel_min must be at least 5 (got " + std::to_string(opts.large_kernel_min) +
                    "); a 3x3 kernel is already what the rule produces");
    return define(
        "large_kernel_to_3x3", rewrite::exactness::approximate,
        "a k x k Conv (odd k >= " + std::to_string(opts.large_kernel_min) + ", same padding) becomes (k-1)/2 stacked 3x3 convs",
        {text_form("Conv[kernel>=" + std::to_string(opts.large_kernel_min) + "](x, w:const)",
                   "ConvNeXt's 7x7 depthwise convs, ResNet's 7x7 stem, RepLKNet-style large kernels")},
        "Conv 3x3 (centre of W, original stride and groups) then (k-3)/2 depthwise 3x3 identities",
        [](rewrite::context& c) -> std::optional<ir::ValueId> {
            const auto conv = c.attrs<ir::ops::Conv>(0); // a copy: new nodes may move the matched ones
            const ir::Tensor& w = captured(c, "w");
            if (w.shape.size() != 4 || w.shape[2] != w.shape[3] || w.shape[2] % 2 == 0 || (conv.auto_pad != "NOTSET" && !conv.auto_pad.empty()))
                return std::nullopt;
            const std::int64_t k = w.shape[2], cout = w.shape[0];
            if (std::any_of(conv.dilations.begin(), conv.dilations.end(), [](auto d) { return d != 1; })) return std::nullopt;
            if (conv.pads.size() != 4 || std::any_of(conv.pads.begin(), conv.pads.end(), [&](auto p) { return p != k / 2; })) return std::nullopt;
            const ir::Graph& g = c.graph;
            const ir::NodeId n = c.matched(0);
            if (!constant_input(g, n, 2) && !absent_input(g, n, 2)) return std::nullopt;
            const std::string base = g.label(n);
            const std::int64_t layers = (k - 1) / 2;
            auto with_bias = [&](std::vector<ir::ValueId> ins, std::int64_t layer) {
                if (layer + 1 == layers && !absent_input(g, n, 2)) ins.push_back(g.node(n).inputs[2]);
                return ins;
            };
            ir::ops::Conv first = conv;
            first.kernel_shape = {3, 3};
            first.pads = {1, 1, 1, 1};
            ir::ValueId v = c.build.apply(first, with_bias({input_of(c), c.build.constant(ir::centre_crop(w, {3, 3}), base + ".w3x3_0")}, 0));
            ir::ops::Conv identity;
            identity.kernel_shape = {3, 3};
            identity.pads = {1, 1, 1, 1};
            identity.strides = {1, 1};
            identity.group = cout;
            for (std::int64_t l = 1; l < layers; ++l)
                v = c.build.apply(identity, with_bias({v, c.build.constant(ir::dirac(cout, 3), base + ".w3x3_" + std::to_string(l))}, l));
            return v;
        });
}

} // namespace defs

// The rules by name, for dictionaries written by hand (their reference entries: `defs::`).
[[nodiscard]] inline rewrite::rule remove_squeeze_excitation() { return defs::remove_squeeze_excitation().rule; }
[[nodiscard]] inline rewrite::rule hardswish_to_relu() { return defs::hardswish_to_relu().rule; }
[[nodiscard]] inline rewrite::rule hardsigmoid_to_relu() { return defs::hardsigmoid_to_relu().rule; }
[[nodiscard]] inline rewrite::rule silu_to_relu() { return defs::silu_to_relu().rule; }
[[nodiscard]] inline rewrite::rule gelu_to_relu() { return defs::gelu_to_relu().rule; }
[[nodiscard]] inline rewrite::rule relu6_to_relu() { return defs::relu6_to_relu().rule; }
[[nodiscard]] inline rewrite::rule mish_to_relu() { return defs::mish_to_relu().rule; }
[[nodiscard]] inline rewrite::rule leaky_relu_to_relu() { return defs::leaky_relu_to_relu().rule; }
[[nodiscard]] inline rewrite::rule prelu_to_relu() { return defs::prelu_to_relu().rule; }
[[nodiscard]] inline rewrite::rule elu_to_relu() { return defs::elu_to_relu().rule; }
[[nodiscard]] inline rewrite::rule layernorm_to_batchnorm() { return defs::layernorm_to_batchnorm().rule; }
[[nodiscard]] inline rewrite::rule large_kernel_to_3x3(const options& opts = {}) { return defs::large_kernel_to_3x3(opts).rule; }

} // namespace surgery::rules
