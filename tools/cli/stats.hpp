// Model statistics for `surgery inspect`: op histogram, parameters, multiply-accumulates, element-wise work.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "surgery/ir/graph.hpp"

namespace surgery::cli {

/// Cost of one node.
///
/// MACs (multiply-accumulates): Conv = N * Cout * Hout * Wout * (Cin / group) * kh * kw (any number of
/// spatial dims: output elements times the weight's elements per output channel); Gemm = M * N * K;
/// MatMul = (batch) * M * N * K. Every other op has 0 MACs. `elementwise` counts one operation per
/// output element of every other node that computes something (activations, arithmetic,
/// normalisations, pools, reductions, Softmax, Resize); pure data movement (Reshape, Flatten,
/// Transpose, Squeeze, Unsqueeze, Concat, Slice, Split, Identity, Dropout, Constant) counts 0.
/// `known` is false when a shape the formula needs is not known (dynamic or not inferred);
/// `overflow` is true when the count does not fit 64 bits (a model can declare absurd shapes): the
/// count is then saturated at 2^64 - 1 and must not be shown as a number.
struct node_cost {
    std::uint64_t macs = 0;
    std::uint64_t elementwise = 0;
    bool known = true;
    bool overflow = false;
};

/// `a * b`, or 2^64 - 1 with `overflow` set when it does not fit.
[[nodiscard]] constexpr std::uint64_t mul_saturating(std::uint64_t a, std::uint64_t b, bool& overflow) noexcept {
    if (a != 0 && b > UINT64_MAX / a) {
        overflow = true;
        return UINT64_MAX;
    }
    return a * b;
}

/// `a + b`, or 2^64 - 1 with `overflow` set when it does not fit.
[[nodiscard]] constexpr std::uint64_t add_saturating(std::uint64_t a, std::uint64_t b, bool& overflow) noexcept {
    if (b > UINT64_MAX - a) {
        overflow = true;
        return UINT64_MAX;
    }
    return a + b;
}

/// Elements of a static shape, saturating (0 when a dimension is 0, however large the others).
[[nodiscard]] inline std::uint64_t elements_saturating(const ir::Shape& s, bool& overflow) noexcept {
    for (auto d : s)
        if (d == 0) return 0;
    std::uint64_t n = 1;
    for (auto d : s) n = mul_saturating(n, static_cast<std::uint64_t>(d), overflow);
    return n;
}

[[nodiscard]] inline bool is_data_movement(const ir::Op& op) {
    return std::holds_alternative<ir::ops::Reshape>(op) || std::holds_alternative<ir::ops::Flatten>(op) ||
           std::holds_alternative<ir::ops::Transpose>(op) || std::holds_alternative<ir::ops::Squeeze>(op) ||
           std::holds_alternative<ir::ops::Unsqueeze>(op) || std::holds_alternative<ir::ops::Concat>(op) ||
           std::holds_alternative<ir::ops::Slice>(op) || std::holds_alternative<ir::ops::Split>(op) ||
           std::holds_alternative<ir::ops::Identity>(op) || std::holds_alternative<ir::ops::Dropout>(op) ||
           std::holds_alternative<ir::ops::Constant>(op);
}

[[nodiscard]] inline node_cost cost_of(const ir::Graph& g, ir::NodeId n) {
    const ir::Node& nd = g.node(n);
    node_cost c;
    if (is_data_movement(nd.op)) return c;
    auto static_shape = [&](ir::ValueId v) -> std::optional<ir::Shape> {
        if (!v) return std::nullopt;
        const auto& s = g.value(v).shape;
        if (!s || !ir::is_static(*s)) return std::nullopt;
        return *s;
    };
    const auto out = nd.outputs.empty() ? std::nullopt : static_shape(nd.outputs[0]);
    if (!out) {
        c.known = false;
        return c;
    }
    const std::uint64_t out_elems = elements_saturating(*out, c.overflow);
    if (nd.is<ir::ops::Conv>()) {
        const auto w = static_shape(nd.inputs.at(1));
        if (!w || w->size() < 2) {
            c.known = false;
            return c;
        }
        std::uint64_t per_output = 1;
        for (std::size_t k = 1; k < w->size(); ++k) per_output = mul_saturating(per_output, static_cast<std::uint64_t>((*w)[k]), c.overflow);
        c.macs = mul_saturating(out_elems, per_output, c.overflow);
    } else if (const auto* gemm = nd.as<ir::ops::Gemm>()) {
        const auto a = static_shape(nd.inputs.at(0));
        if (!a || a->size() != 2) {
            c.known = false;
            return c;
        }
        c.macs = mul_saturating(out_elems, static_cast<std::uint64_t>(gemm->transA ? (*a)[0] : (*a)[1]), c.overflow);
    } else if (nd.is<ir::ops::MatMul>()) {
        const auto a = static_shape(nd.inputs.at(0));
        if (!a || a->empty()) {
            c.known = false;
            return c;
        }
        c.macs = mul_saturating(out_elems, static_cast<std::uint64_t>(a->back()), c.overflow);
    } else {
        c.elementwise = out_elems;
    }
    return c;
}

/// Whole-model statistics.
struct model_stats {
    std::size_t nodes = 0;
    std::array<std::size_t, ir::op_count> ops{};
    std::uint64_t parameters = 0;      ///< elements of float32 constants (initializers and Constant nodes)
    std::uint64_t parameter_bytes = 0; ///< bytes of all constants
    std::uint64_t macs = 0;
    std::array<std::uint64_t, ir::op_count> macs_by_op{};
    std::uint64_t elementwise = 0;
    bool macs_overflow = false;        ///< the MAC count (or one op's) does not fit 64 bits: saturated, not a count
    bool elementwise_overflow = false; ///< likewise for `elementwise`
    std::vector<std::string> unknown_cost; ///< nodes whose cost needs a shape that is not known
};

[[nodiscard]] inline model_stats compute_stats(const ir::Graph& g) {
    model_stats s;
    s.nodes = g.num_nodes();
    s.ops = g.op_histogram();
    auto count_tensor = [&](const ir::Tensor& t) {
        const auto n = static_cast<std::uint64_t>(t.dtype == ir::DType::f32 ? t.f.size() : t.i.size()); // the values held, not a product of dims
        if (t.dtype == ir::DType::f32) {
            s.parameters += n;
            s.parameter_bytes += 4 * n;
        } else {
            s.parameter_bytes += (t.dtype == ir::DType::i64 ? 8 : t.dtype == ir::DType::i32 ? 4 : 1) * n;
        }
    };
    for (std::size_t i = 0; i < g.value_bound(); ++i) {
        const ir::Value& v = g.value(ir::ValueId{i});
        if (v.alive && v.is_constant() && v.data) count_tensor(*v.data);
    }
    for (ir::NodeId n : g.topological_order()) {
        if (const auto* c = g.node(n).as<ir::ops::Constant>(); c && c->value) count_tensor(*c->value);
        const node_cost c = cost_of(g, n);
        if (!c.known) s.unknown_cost.push_back(g.label(n));
        const ir::Node& nd = g.node(n);
        bool& mo = s.macs_overflow;
        if (c.overflow) (nd.is<ir::ops::Conv>() || nd.is<ir::ops::Gemm>() || nd.is<ir::ops::MatMul>() ? mo : s.elementwise_overflow) = true;
        s.macs = add_saturating(s.macs, c.macs, mo);
        s.macs_by_op[nd.kind()] = add_saturating(s.macs_by_op[nd.kind()], c.macs, mo);
        s.elementwise = add_saturating(s.elementwise, c.elementwise, s.elementwise_overflow);
    }
    return s;
}

/// 1234567 -> "1.23 M"; small numbers as they are.
[[nodiscard]] inline std::string human(std::uint64_t v) {
    char buf[32];
    const auto d = static_cast<double>(v);
    if (v >= 1'000'000'000ull) std::snprintf(buf, sizeof buf, "%.2f G", d / 1e9);
    else if (v >= 1'000'000ull) std::snprintf(buf, sizeof buf, "%.2f M", d / 1e6);
    else if (v >= 10'000ull) std::snprintf(buf, sizeof buf, "%.1f k", d / 1e3);
    else std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
    return buf;
}

/// 1536 -> "1.5 KiB".
[[nodiscard]] inline std::string human_bytes(std::uint64_t v) {
    char buf[32];
    const auto d = static_cast<double>(v);
    if (v >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", d / static_cast<double>(1ull << 30));
    else if (v >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", d / static_cast<double>(1ull << 20));
    else if (v >= (1ull << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", d / 1024.0);
    else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(v));
    return buf;
}

/// "216589760 (216.59 M)", or the overflow said in words.
[[nodiscard]] inline std::string count_text(std::uint64_t v, bool overflow) {
    if (overflow) return "overflow (more than 2^64 - 1: the model declares shapes too large to count)";
    return std::to_string(v) + " (" + human(v) + ")";
}

} // namespace surgery::cli
