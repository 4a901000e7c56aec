// Exact rules (the network computes the same function): BatchNorm folding, Identity and Dropout removal.
#pragma once

#include <cmath>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/op.hpp"
#include "surgery/rewrite/dictionary.hpp"

namespace surgery::rules {

namespace detail {
/// Identity/Dropout whose output is not a graph output (removing it would rename the output).
struct not_graph_output {
    template <class Op>
    bool operator()(const Op&, const ir::Graph& g, ir::NodeId n) const {
        for (ir::ValueId o : g.node(n).outputs)
            if (g.is_output(o)) return false;
        return true;
    }
};
/// A node whose inputs from slot 1 on are all constants (weights).
struct constant_weights {
    template <class Op>
    bool operator()(const Op&, const ir::Graph& g, ir::NodeId n) const {
        const auto& ins = g.node(n).inputs;
        for (std::size_t i = 1; i < ins.size(); ++i)
            if (ins[i] && !g.constant(ins[i])) return false;
        return true;
    }
};
/// Dropout without a used mask output.
struct mask_unused {
    bool operator()(const ir::ops::Dropout&, const ir::Graph& g, ir::NodeId n) const {
        const auto& outs = g.node(n).outputs;
        return outs.size() < 2 || (g.value(outs[1]).uses.empty() && !g.is_output(outs[1]));
    }
};
} // namespace detail

namespace P = surgery::pattern;

/// Conv -> BatchNormalization folded into one Conv: W' = W * s, b' = (b - mean) * s + beta with
/// s = gamma / sqrt(var + eps), per output channel. Exact up to float rounding.
[[nodiscard]] inline rewrite::rule fold_batchnorm() {
    using pat = P::chain<P::op<ir::ops::Conv, detail::constant_weights>, P::op<ir::ops::BatchNormalization, detail::constant_weights>>;
    return rewrite::make_rule(
        "fold_batchnorm", pat{},
        rewrite::generate([](rewrite::context& c) -> ir::ValueId {
            const auto& conv = c.attrs<ir::ops::Conv>(0);
            const auto& bn = c.attrs<ir::ops::BatchNormalization>(1);
            if (bn.training_mode != 0) c.fail("BatchNormalization in training mode cannot be folded");
            const ir::Tensor& w = c.weight(0, 1);
            const ir::Tensor& gamma = c.weight(1, 1);
            const ir::Tensor& beta = c.weight(1, 2);
            const ir::Tensor& mean = c.weight(1, 3);
            const ir::Tensor& var = c.weight(1, 4);
            if (!w.is_float() || w.shape.empty()) c.fail("the convolution weight is not a float tensor");
            const auto cout = static_cast<std::size_t>(w.shape[0]);
            if (gamma.f.size() != cout || beta.f.size() != cout || mean.f.size() != cout || var.f.size() != cout)
                c.fail("BatchNormalization has parameters for a different channel count than the convolution's " + std::to_string(cout));
            const std::size_t per = w.f.size() / cout;
            ir::Tensor nw = w;
            std::vector<float> nb(cout, 0.0f);
            const bool has_bias = c.has_weight(0, 2);
            for (std::size_t o = 0; o < cout; ++o) {
                const double s = static_cast<double>(gamma.f[o]) / std::sqrt(static_cast<double>(var.f[o]) + static_cast<double>(bn.epsilon));
                for (std::size_t i = 0; i < per; ++i) nw.f[o * per + i] = static_cast<float>(static_cast<double>(w.f[o * per + i]) * s);
                const double b0 = has_bias ? static_cast<double>(c.weight(0, 2).f[o]) : 0.0;
                nb[o] = static_cast<float>((b0 - static_cast<double>(mean.f[o])) * s + static_cast<double>(beta.f[o]));
            }
            const std::string base = c.graph.label(c.match.nodes[0]);
            ir::ValueId wv = c.build.constant(std::move(nw), base + ".folded_weight");
            ir::ValueId bv = c.build.constant(ir::Tensor::floats({static_cast<std::int64_t>(cout)}, std::move(nb)), base + ".folded_bias");
            return c.build.apply(conv, {c.input(), wv, bv}, base);
        }),
        rewrite::exactness::exact, "Conv followed by BatchNormalization becomes one Conv with scaled weights and a new bias");
}

/// Identity removed (its consumers read its input), unless it feeds a graph output.
[[nodiscard]] inline rewrite::rule remove_identity() {
    return rewrite::make_rule("remove_identity", P::chain<P::op<ir::ops::Identity, detail::not_graph_output>>{}, rewrite::identity(),
                              rewrite::exactness::exact, "Identity removed");
}

/// Dropout removed (an identity at inference), unless its mask is used or it feeds a graph output.
[[nodiscard]] inline rewrite::rule remove_dropout() {
    return rewrite::make_rule("remove_dropout", P::chain<P::op<ir::ops::Dropout, detail::not_graph_output, detail::mask_unused>>{},
                              rewrite::identity(), rewrite::exactness::exact, "Dropout removed (identity at inference)");
}

namespace detail {
/// MaxPool k x k (odd k >= 5), stride 1, "same" padding, no dilation or ceil mode.
struct big_same_maxpool {
    bool operator()(const ir::ops::MaxPool& p, const ir::Graph& g, ir::NodeId n) const {
        if (g.node(n).outputs.size() > 1 && !g.value(g.node(n).outputs[1]).uses.empty()) return false;
        if (p.kernel_shape.size() != 2 || p.kernel_shape[0] != p.kernel_shape[1] || p.kernel_shape[0] < 5 || p.kernel_shape[0] % 2 == 0) return false;
        if (p.ceil_mode != 0 || (p.auto_pad != "NOTSET" && !p.auto_pad.empty())) return false;
        for (auto s : p.strides)
            if (s != 1) return false;
        for (auto d : p.dilations)
            if (d != 1) return false;
        if (p.pads.size() != 4) return false;
        for (auto x : p.pads)
            if (x != p.kernel_shape[0] / 2) return false;
        return true;
    }
};
} // namespace detail

/// MaxPool k x k, stride 1, same padding -> (k-1)/2 MaxPool 3x3 (SPP's 5/9/13 pools). Exact: the max
/// over a k x k window is the iterated max over 3x3 windows, and padding never wins a max.
[[nodiscard]] inline rewrite::rule maxpool_to_3x3_stack() {
    return rewrite::make_rule("maxpool_to_3x3_stack", P::chain<P::op<ir::ops::MaxPool, detail::big_same_maxpool>>{},
                              rewrite::generate([](rewrite::context& c) {
                                  const auto k = c.attrs<ir::ops::MaxPool>(0).kernel_shape[0];
                                  ir::ops::MaxPool p3;
                                  p3.kernel_shape = {3, 3};
                                  p3.strides = {1, 1};
                                  p3.pads = {1, 1, 1, 1};
                                  ir::ValueId v = c.input();
                                  for (std::int64_t i = 0; i < (k - 1) / 2; ++i) v = c.build.apply(p3, {v});
                                  return v;
                              }),
                              rewrite::exactness::exact, "a k x k stride-1 MaxPool becomes (k-1)/2 stacked 3x3 MaxPools");
}

/// Transpose -> Transpose merged into one Transpose, or removed when the permutations cancel. Exact.
[[nodiscard]] inline rewrite::rule merge_transposes() {
    return rewrite::make_rule("merge_transposes", P::chain<P::op<ir::ops::Transpose>, P::op<ir::ops::Transpose>>{},
                              rewrite::generate([](rewrite::context& c) -> std::vector<ir::ValueId> {
                                  ir::Ints p1 = c.attrs<ir::ops::Transpose>(0).perm, p2 = c.attrs<ir::ops::Transpose>(1).perm;
                                  const auto rank = c.shape(c.input()).size();
                                  auto full = [&](ir::Ints p) {
                                      if (p.empty())
                                          for (std::size_t i = rank; i-- > 0;) p.push_back(static_cast<std::int64_t>(i));
                                      return p;
                                  };
                                  p1 = full(p1);
                                  p2 = full(p2);
                                  if (p1.size() != rank || p2.size() != rank) return {};
                                  ir::Ints composed(rank);
                                  bool identity = true;
                                  for (std::size_t i = 0; i < rank; ++i) {
                                      composed[i] = p1[static_cast<std::size_t>(p2[i])];
                                      identity = identity && composed[i] == static_cast<std::int64_t>(i);
                                  }
                                  if (identity) return {c.input()};
                                  return {c.build.transpose(c.input(), composed)};
                              }),
                              rewrite::exactness::exact, "two Transposes become one, or none when they cancel");
}

/// The exact clean-up dictionary: Identity and Dropout removal, BatchNorm folding.
[[nodiscard]] inline rewrite::dictionary exact_cleanup() {
    return rewrite::dictionary("exact", {remove_identity(), remove_dropout(), merge_transposes(), maxpool_to_3x3_stack(), fold_batchnorm()});
}

} // namespace surgery::rules
