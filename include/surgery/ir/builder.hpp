// ir::Builder: builds graphs that read like the network they describe, with deterministic random weights.
#pragma once

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/shape_inference.hpp"

namespace surgery::ir {

/// Hyperparameters of a 2-D convolution built by `Builder::conv`.
struct conv_spec {
    std::int64_t out_channels = 0;
    std::int64_t kernel = 3;
    std::int64_t stride = 1;
    std::int64_t padding = -1; ///< -1: "same" padding for odd kernels, (kernel - 1) / 2 * dilation
    std::int64_t groups = 1;   ///< use `depthwise` for groups == channels
    std::int64_t dilation = 1;
    bool bias = true;
    bool depthwise = false;    ///< groups = out_channels = input channels
};

/// Builds an `ir::Graph` op by op. Every call infers the new node's shapes at once, so a mistake
/// (channels that do not match, a bad axis) is reported at the line that made it, naming the node.
/// Weights come from a seeded generator: the same seed builds the same network.
class Builder {
public:
    explicit Builder(Graph& g, std::uint64_t seed = 0, std::string name_prefix = {})
        : g_(&g), seed_(seed), prefix_(std::move(name_prefix)) {}

    [[nodiscard]] Graph& graph() noexcept { return *g_; }
    [[nodiscard]] std::mt19937_64& rng() {
        if (!rng_) rng_.emplace(seed_); // seeded on first use: a builder that makes no weights (a replacer's) pays nothing
        return *rng_;
    }
    [[nodiscard]] const Shape& shape(ValueId v) const {
        const auto& s = g_->value(v).shape;
        if (!s) throw error("ir::Builder: value '" + g_->label(v) + "' has no known shape");
        return *s;
    }

    ValueId input(std::string value_name, Shape shape, DType t = DType::f32) { return g_->add_input(std::move(value_name), std::move(shape), t); }
    ValueId constant(Tensor t, std::string value_name = {}) {
        return g_->add_constant(value_name.empty() ? fresh("const") : std::move(value_name), std::move(t));
    }
    ValueId ints(std::vector<std::int64_t> v, std::string value_name = {}) { return constant(Tensor::vector(std::move(v)), std::move(value_name)); }
    ValueId scalar(float v, std::string value_name = {}) { return constant(Tensor::scalar(v), std::move(value_name)); }
    void output(ValueId v) { g_->add_output(v); }

    /// Applies `op` to `inputs` and returns its only output. `node_name` defaults to `<op>_<n>`.
    ValueId apply(Op op, std::vector<ValueId> inputs, std::string node_name = {}) { return apply_n(std::move(op), std::move(inputs), 1, std::move(node_name))[0]; }

    /// Applies `op` with `num_outputs` outputs.
    std::vector<ValueId> apply_n(Op op, std::vector<ValueId> inputs, std::size_t num_outputs, std::string node_name = {}) {
        if (node_name.empty()) node_name = fresh(lower(name_of(op)));
        const Checkpoint cp = g_->checkpoint();
        NodeId n = g_->add_node(std::move(op), std::move(inputs), num_outputs, std::move(node_name));
        try {
            inferred_outputs r = infer_node(*g_, n);
            for (std::size_t o = 0; o < r.shapes.size(); ++o) {
                g_->set_shape(g_->node(n).outputs[o], r.shapes[o]);
                g_->set_dtype(g_->node(n).outputs[o], r.dtypes[o]);
            }
        } catch (...) {
            g_->rollback(cp); // a node whose shapes do not fit is not left behind
            throw;
        }
        const auto& outs = g_->node(n).outputs;
        return std::vector<ValueId>(outs.begin(), outs.end());
    }

    // ---- layers with weights -------------------------------------------------------------

    /// 2-D convolution with Kaiming-uniform random weights (and bias when `spec.bias`).
    ValueId conv(ValueId x, conv_spec spec, std::string node_name = {}) {
        const Shape& xs = shape(x);
        const std::int64_t cin = xs.at(1);
        if (spec.depthwise) spec.groups = spec.out_channels = cin;
        if (spec.out_channels <= 0) throw error("ir::Builder::conv: out_channels must be positive");
        const std::int64_t pad = spec.padding >= 0 ? spec.padding : (spec.kernel - 1) / 2 * spec.dilation;
        const float bound = 1.0f / std::sqrt(static_cast<float>(cin / spec.groups * spec.kernel * spec.kernel));
        if (node_name.empty()) node_name = fresh("conv");
        ValueId w = constant(Tensor::uniform({spec.out_channels, cin / spec.groups, spec.kernel, spec.kernel}, rng(), -bound, bound), node_name + ".weight");
        std::vector<ValueId> ins{x, w};
        if (spec.bias) ins.push_back(constant(Tensor::uniform({spec.out_channels}, rng(), -bound, bound), node_name + ".bias"));
        ops::Conv op;
        op.kernel_shape = {spec.kernel, spec.kernel};
        op.strides = {spec.stride, spec.stride};
        op.pads = {pad, pad, pad, pad};
        op.dilations = {spec.dilation, spec.dilation};
        op.group = spec.groups;
        return apply(std::move(op), std::move(ins), std::move(node_name));
    }

    /// BatchNormalization with random (non-trivial) statistics, as after training.
    ValueId batch_norm(ValueId x, float epsilon = 1e-5f, std::string node_name = {}) {
        const std::int64_t c = shape(x).at(1);
        if (node_name.empty()) node_name = fresh("bn");
        ValueId scale = constant(Tensor::uniform({c}, rng(), 0.5f, 1.5f), node_name + ".weight");
        ValueId bias = constant(Tensor::uniform({c}, rng(), -0.5f, 0.5f), node_name + ".bias");
        ValueId mean = constant(Tensor::uniform({c}, rng(), -0.5f, 0.5f), node_name + ".running_mean");
        ValueId var = constant(Tensor::uniform({c}, rng(), 0.5f, 1.5f), node_name + ".running_var");
        ops::BatchNormalization op;
        op.epsilon = epsilon;
        return apply(op, {x, scale, bias, mean, var}, std::move(node_name));
    }

    /// Fully connected layer: Gemm(x, W^T, b) with W of shape [out, in], as PyTorch exports Linear.
    ValueId linear(ValueId x, std::int64_t out_features, std::string node_name = {}) {
        const std::int64_t in = shape(x).back();
        const float bound = 1.0f / std::sqrt(static_cast<float>(in));
        if (node_name.empty()) node_name = fresh("fc");
        ValueId w = constant(Tensor::uniform({out_features, in}, rng(), -bound, bound), node_name + ".weight");
        ValueId b = constant(Tensor::uniform({out_features}, rng(), -bound, bound), node_name + ".bias");
        ops::Gemm op;
        op.transB = 1;
        return apply(op, {x, w, b}, std::move(node_name));
    }

    /// LayerNormalization over the last axis with random affine parameters.
    ValueId layer_norm(ValueId x, float epsilon = 1e-6f, std::string node_name = {}) {
        const std::int64_t c = shape(x).back();
        if (node_name.empty()) node_name = fresh("ln");
        ValueId s = constant(Tensor::uniform({c}, rng(), 0.5f, 1.5f), node_name + ".weight");
        ValueId b = constant(Tensor::uniform({c}, rng(), -0.5f, 0.5f), node_name + ".bias");
        ops::LayerNormalization op;
        op.epsilon = epsilon;
        return apply(op, {x, s, b}, std::move(node_name));
    }

    // ---- weightless ops ------------------------------------------------------------------

    ValueId relu(ValueId x) { return apply(ops::Relu{}, {x}); }
    ValueId sigmoid(ValueId x) { return apply(ops::Sigmoid{}, {x}); }
    ValueId hardswish(ValueId x) { return apply(ops::HardSwish{}, {x}); }
    /// HardSigmoid; PyTorch's `nn.Hardsigmoid` is alpha = 1/6, beta = 0.5.
    ValueId hardsigmoid(ValueId x, float alpha = 1.0f / 6.0f, float beta = 0.5f) {
        ops::HardSigmoid op;
        op.alpha = alpha;
        op.beta = beta;
        return apply(op, {x});
    }
    /// ReLU6 as PyTorch exports it: Clip(x, 0, 6).
    ValueId relu6(ValueId x) { return apply(ops::Clip{}, {x, scalar(0.0f), scalar(6.0f)}); }
    /// SiLU / Swish as exported to ONNX: x * sigmoid(x).
    ValueId silu(ValueId x) { return mul(x, sigmoid(x)); }
    ValueId add(ValueId a, ValueId b) { return apply(ops::Add{}, {a, b}); }
    ValueId mul(ValueId a, ValueId b) { return apply(ops::Mul{}, {a, b}); }
    ValueId identity(ValueId x) { return apply(ops::Identity{}, {x}); }
    ValueId global_average_pool(ValueId x) { return apply(ops::GlobalAveragePool{}, {x}); }
    ValueId flatten(ValueId x, std::int64_t axis = 1) {
        ops::Flatten op;
        op.axis = axis;
        return apply(op, {x});
    }
    ValueId max_pool(ValueId x, std::int64_t kernel, std::int64_t stride, std::int64_t pad) {
        ops::MaxPool op;
        op.kernel_shape = {kernel, kernel};
        op.strides = {stride, stride};
        op.pads = {pad, pad, pad, pad};
        return apply(op, {x});
    }
    ValueId concat(std::vector<ValueId> xs, std::int64_t axis) {
        ops::Concat op;
        op.axis = axis;
        return apply(op, std::move(xs));
    }
    ValueId transpose(ValueId x, Ints perm) {
        ops::Transpose op;
        op.perm = std::move(perm);
        return apply(op, {x});
    }
    /// Slice along `axes` with constant starts/ends/steps (the YOLO Focus slices).
    ValueId slice(ValueId x, Ints starts, Ints ends, Ints axes, Ints steps) {
        return apply(ops::Slice{}, {x, ints(std::move(starts)), ints(std::move(ends)), ints(std::move(axes)), ints(std::move(steps))});
    }

    /// A fresh node name `<prefix>_<n>`.
    std::string fresh(const std::string& prefix) { return prefix_ + prefix + "_" + std::to_string(counter_++); }

private:
    static std::string lower(std::string_view s) {
        std::string out(s);
        for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return out;
    }

    Graph* g_;
    std::uint64_t seed_;
    std::optional<std::mt19937_64> rng_;
    std::string prefix_;
    std::size_t counter_ = 0;
};

} // namespace surgery::ir
