// Exact rules (the network computes the same function): dead code and no-op removal, Transpose and
// Reshape merging, BatchNorm and per-channel affine folding into Conv, ConvTranspose, Gemm and
// MatMul, the YOLO Focus stem as a strided conv, large max-pools as 3x3 stacks.
//
// Each rule's reference entry (its forms, what it produces) comes with it; `rules/registry.hpp`
// lists them with their presets. Training-mode Dropout and BatchNormalization are never touched.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/tensor_math.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rules/common.hpp"
#include "surgery/search/match.hpp"

namespace surgery::rules {

namespace defs {

namespace ops = ir::ops;
using rewrite::exactness;

namespace detail {

/// Whether every element of `t` equals `v`.
inline bool all_equal(const ir::Tensor& t, float v) {
    const auto xs = t.as_floats();
    return !xs.empty() && std::all_of(xs.begin(), xs.end(), [v](float e) { return e == v; });
}

/// `t` as one value per channel of an output of rank `rank` (channel axis 1): t must broadcast
/// along axis 1 only (shape [C, 1, 1], [1, C, 1, 1], [1] or a scalar); nothing otherwise.
inline std::optional<ir::Tensor> per_channel(const ir::Tensor& t, std::size_t rank, std::int64_t channels) {
    if (!t.is_float() || t.shape.size() > rank) return std::nullopt;
    const std::size_t lead = rank - t.shape.size();
    for (std::size_t i = 0; i < t.shape.size(); ++i)
        if (t.shape[i] != 1 && !(lead + i == 1 && t.shape[i] == channels)) return std::nullopt;
    if (t.size() == channels) return ir::reshape(t, {channels});
    if (t.size() == 1) return ir::filled(channels, t.f[0]);
    return std::nullopt;
}

/// Conv or ConvTranspose `lin` (weights `w`, bias input 2) followed by y * a + b per output
/// channel, as one node of the same op with new weights: the algebra of BatchNorm folding.
inline std::optional<ir::ValueId> fold_into_conv(rewrite::context& c, ir::NodeId lin, ir::ValueId x, const ir::Tensor& w, const ir::Tensor& a,
                                                 const ir::Tensor& b) {
    const ir::Graph& g = c.graph;
    const ir::Node& n = g.node(lin);
    const std::int64_t cout = a.size();
    const ir::Tensor* bias = constant_input(g, lin, 2);
    if (!bias && !absent_input(g, lin, 2)) return std::nullopt; // a bias computed at run time
    const ir::Tensor b0 = bias ? ir::reshape(*bias, {cout}) : ir::Tensor::zeros({cout});
    ir::Tensor w2;
    if (n.is<ops::Conv>()) {
        w2 = ir::scale_along(w, a, 0); // Conv weight [Cout, Cin/group, k...]
    } else {
        // ConvTranspose weight [Cin, Cout/group, k...]: output channel g * Cout/group + j is column j of group g.
        const std::int64_t groups = n.as<ops::ConvTranspose>()->group;
        if (w.shape.size() < 2 || groups <= 0 || w.shape[0] % groups != 0 || w.shape[1] * groups != cout) return std::nullopt;
        ir::Shape grouped{groups, w.shape[0] / groups, w.shape[1], ir::numel(w.shape) / (w.shape[0] * w.shape[1])};
        w2 = ir::reshape(ir::reshape(w, grouped) * ir::reshape(a, {groups, 1, w.shape[1], 1}), w.shape);
    }
    const std::string base = g.label(lin);
    return c.build.apply(n.op, {x, c.build.constant(std::move(w2), base + ".weight"), c.build.constant(b0 * a + b, base + ".bias")}, base);
}

} // namespace detail

// ---- dead code, no-ops -------------------------------------------------------------------------

/// Nodes whose outputs nothing reads, removed (with what then becomes dead), even when no other rule fires.
[[nodiscard]] inline definition remove_dead_code() {
    rule_form dead{"(a node none of whose outputs is read or a graph output)", "anything left over: unused branches, duplicated shape computations", {}};
    dead.find = [](const ir::Graph& g) {
        std::vector<rewrite::ir_match> out;
        for (ir::NodeId n : g.topological_order()) {
            const auto& outs = g.node(n).outputs;
            if (outs.empty() || !outputs_unused_from(g, n, 0)) continue;
            out.push_back(single_node_match(g, n));
        }
        return out;
    };
    return define("remove_dead_code", exactness::exact, "nodes whose outputs are never read are removed", {std::move(dead)}, "nothing",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> { return nothing(c); });
}

/// Identity removed: its consumers read its input. When it feeds a graph output, its input's
/// producer is made again under the output's name, so the interface does not change.
[[nodiscard]] inline definition remove_identity() {
    return define("remove_identity", exactness::exact, "Identity removed (a graph output keeps its name)",
                  {text_form("Identity(x)", "PyTorch's deduplicated initializers, torch.nn.Identity, exporters' renames")}, "x",
                  [](rewrite::context& c) { return pass_through(c, input_of(c)); });
}

/// Dropout removed where it is an identity: at inference (no training_mode, or a constant false),
/// or with a constant ratio 0 even in training mode (Swin exports that). Never a training-mode
/// Dropout with another ratio, nor one whose mask is read.
[[nodiscard]] inline definition remove_dropout() {
    return define("remove_dropout", exactness::exact, "inference Dropout, and Dropout with ratio 0 even in training mode, removed",
                  {text_form("Dropout(x)", "PyTorch nn.Dropout exported in training mode, other exporters at inference")}, "x",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::Graph& g = c.graph;
                      const ir::NodeId d = c.matched(0);
                      if (!outputs_unused_from(g, d, 1)) return std::nullopt; // the mask is read
                      const ir::Tensor* mode = constant_input(g, d, 2);
                      const ir::Tensor* ratio = constant_input(g, d, 1);
                      const bool inference = absent_input(g, d, 2) || (mode && detail::all_equal(*mode, 0.0f));
                      if (!inference && !(ratio && detail::all_equal(*ratio, 0.0f))) return std::nullopt;
                      return pass_through(c, input_of(c));
                  });
}

/// Transpose whose permutation is the identity, removed.
[[nodiscard]] inline definition remove_noop_transpose() {
    return define("remove_noop_transpose", exactness::exact, "Transpose with the identity permutation removed",
                  {text_form("Transpose(x)", "permute(0, 1, 2, 3) and exporters' layout round trips")}, "x",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::ValueId x = input_of(c);
                      const auto& s = c.graph.value(x).shape;
                      if (!s) return std::nullopt;
                      const ir::Ints& perm = c.attrs<ops::Transpose>(0).perm;
                      for (std::size_t i = 0; i < perm.size(); ++i)
                          if (perm[i] != static_cast<std::int64_t>(i)) return std::nullopt;
                      if (perm.empty() && s->size() > 1) return std::nullopt; // an empty perm reverses the axes
                      return pass_through(c, x);
                  });
}

/// Reshape, Flatten, Squeeze, Unsqueeze or Expand whose output shape is its input's, removed.
[[nodiscard]] inline definition remove_noop_reshape() {
    return define("remove_noop_reshape", exactness::exact, "Reshape, Flatten, Squeeze, Unsqueeze or Expand that keeps the shape removed",
                  {text_form("Reshape|Flatten|Squeeze|Unsqueeze|Expand(x)", "x.reshape(x.shape), view() to the same shape, shape round trips")}, "x",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::ValueId x = input_of(c);
                      const auto in = static_shape(c.graph, x), out = static_shape(c.graph, c.match.exits.front());
                      if (!in || !out || *in != *out) return std::nullopt;
                      return pass_through(c, x);
                  });
}

/// Cast or CastLike to the type the value already has, removed.
[[nodiscard]] inline definition remove_noop_cast() {
    return define("remove_noop_cast", exactness::exact, "Cast to the type the value already has removed",
                  {text_form("Cast|CastLike(x)", "x.float() on a float tensor, type round trips")}, "x",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::ValueId x = input_of(c);
                      const ir::DType t = c.graph.value(x).dtype;
                      if (t == ir::DType::undefined || t != c.graph.value(c.match.exits.front()).dtype) return std::nullopt;
                      return pass_through(c, x);
                  });
}

/// Pad with all pads zero, removed.
[[nodiscard]] inline definition remove_noop_pad() {
    return define("remove_noop_pad", exactness::exact, "Pad with zero padding removed",
                  {text_form("Pad(x, pads:const)", "F.pad(x, (0, 0, 0, 0)), padding computed as zero")}, "x",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      if (!detail::all_equal(captured(c, "pads"), 0.0f)) return std::nullopt;
                      return pass_through(c, input_of(c));
                  });
}

/// x * 1, x / 1, x + 0, x - 0 removed where they do not broadcast x to a larger shape.
[[nodiscard]] inline definition remove_neutral_arithmetic() {
    return define("remove_neutral_arithmetic", exactness::exact, "multiplication or division by 1 and addition or subtraction of 0 removed",
                  {text_form("x * 1", "scales folded to 1, exporters' neutral elements"), text_form("x / 1", "normalisation by 1"),
                   text_form("x + 0", "zero biases kept as an Add"), text_form("x - 0", "zero means kept as a Sub")},
                  "x", [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::ValueId x = input_of(c), y = c.match.exits.front();
                      const auto in = static_shape(c.graph, x), out = static_shape(c.graph, y);
                      if (!in || !out || *in != *out || c.graph.value(x).dtype != c.graph.value(y).dtype) return std::nullopt;
                      // Patterns compare float constants to 1e-6 relative; neutral means exactly 1 or 0.
                      const ir::Node& n = c.node(0);
                      const float neutral = n.is<ops::Mul>() || n.is<ops::Div>() ? 1.0f : 0.0f;
                      for (ir::ValueId v : n.inputs)
                          if (v != x)
                              if (const ir::Tensor* t = c.graph.constant(v); !t || (t->dtype == ir::DType::f32 &&
                                                                                    std::any_of(t->f.begin(), t->f.end(), [&](float f) { return f != neutral; })))
                                  return std::nullopt;
                      return pass_through(c, x);
                  });
}

// ---- merging -----------------------------------------------------------------------------------

/// Transpose -> Transpose merged into one Transpose, or removed when the permutations cancel.
[[nodiscard]] inline definition merge_transposes() {
    return define("merge_transposes", exactness::exact, "two Transposes become one, or none when they cancel",
                  {text_form("Transpose(Transpose(x))", "NCHW <-> NHWC round trips (ConvNeXt's permutes once LayerNorm is a BatchNorm)")},
                  "Transpose(x) with the composed permutation, or x", [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::ValueId x = input_of(c);
                      const auto& s = c.graph.value(x).shape;
                      if (!s) return std::nullopt;
                      const std::size_t rank = s->size();
                      auto full = [&](ir::Ints p) {
                          if (p.empty())
                              for (std::size_t i = rank; i-- > 0;) p.push_back(static_cast<std::int64_t>(i));
                          return p;
                      };
                      const ir::Ints outer = full(c.attrs<ops::Transpose>(0).perm), inner = full(c.attrs<ops::Transpose>(1).perm);
                      if (outer.size() != rank || inner.size() != rank) return std::nullopt;
                      ir::Ints composed(rank);
                      for (std::size_t i = 0; i < rank; ++i) composed[i] = inner.at(static_cast<std::size_t>(outer[i]));
                      bool same = true;
                      for (std::size_t i = 0; i < rank; ++i) same = same && composed[i] == static_cast<std::int64_t>(i);
                      if (same) return pass_through(c, x);
                      return c.build.transpose(x, composed);
                  });
}

/// Two reshaping ops (Reshape, Flatten, Squeeze, Unsqueeze) in a row become one Reshape to the
/// final (static) shape, or nothing when that is the input's shape.
[[nodiscard]] inline definition merge_reshapes() {
    return define("merge_reshapes", exactness::exact, "two reshaping ops in a row become one Reshape",
                  {text_form("Reshape|Flatten|Squeeze|Unsqueeze(Reshape|Flatten|Squeeze|Unsqueeze(x))", "flatten then view, unsqueeze then squeeze")},
                  "Reshape(x, final shape), or x", [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::ValueId x = input_of(c);
                      const auto in = static_shape(c.graph, x), out = static_shape(c.graph, c.match.exits.front());
                      if (!in || !out) return std::nullopt;
                      if (*in == *out) return pass_through(c, x);
                      return c.build.apply(ops::Reshape{}, {x, c.build.ints(*out, c.graph.label(c.matched(0)) + ".shape")});
                  });
}

// ---- folding into linear ops -------------------------------------------------------------------

/// BatchNormalization (inference) after Conv, ConvTranspose, Gemm or MatMul with constant weights,
/// folded into it: with s = scale / sqrt(var + eps), W' = W s (per output channel) and
/// b' = (b - mean) s + bias. Exact up to float rounding.
[[nodiscard]] inline definition fold_batchnorm() {
    return define(
        "fold_batchnorm", exactness::exact, "BatchNormalization folded into the Conv, ConvTranspose, Gemm or MatMul before it",
        {from_library(pattern::forms::conv_batchnorm), from_library(pattern::forms::gemm_batchnorm), from_library(pattern::forms::matmul_batchnorm),
         from_library(pattern::forms::matmul_left_batchnorm)},
        "the linear op with W' = W * s per output channel and bias (b - mean) * s + beta, s = gamma / sqrt(var + eps) (MatMul: MatMul + Add)",
        [](rewrite::context& c) -> std::optional<ir::ValueId> {
            const ir::Graph& g = c.graph;
            const auto bn = c.attrs<ops::BatchNormalization>(0); // a copy: new nodes may move the matched ones
            if (bn.training_mode != 0 || !outputs_unused_from(g, c.matched(0), 1)) return std::nullopt;
            const ir::Tensor s = captured(c, "scale") / ir::sqrt(captured(c, "var") + bn.epsilon);
            const ir::Tensor shift = captured(c, "bias") - captured(c, "mean") * s; // BN(y) = y * s + shift
            const ir::ValueId x = input_of(c);
            const ir::Tensor& w = captured(c, "w");
            const ir::NodeId lin = c.matched(1);
            const ir::Node& n = g.node(lin);
            const std::string base = g.label(lin);
            if (n.is<ops::Conv>() || n.is<ops::ConvTranspose>()) return detail::fold_into_conv(c, lin, x, w, s, shift);
            if (const auto* gemm = n.as<ops::Gemm>()) {
                // y = alpha A B + beta C: B's output features are its columns ([K, N]) or rows (transB).
                if (w.shape.size() != 2) return std::nullopt;
                const ir::Tensor* bias = constant_input(g, lin, 2);
                if (!bias && !absent_input(g, lin, 2)) return std::nullopt;
                ops::Gemm folded = *gemm;
                folded.beta = 1.0f;
                const ir::Tensor c0 = bias ? *bias * gemm->beta : ir::Tensor::zeros({s.size()});
                return c.build.apply(folded, {x, c.build.constant(ir::scale_along(w, s, gemm->transB ? 0 : 1), base + ".weight"),
                                              c.build.constant(c0 * s + shift, base + ".bias")}, base);
            }
            const auto rank = static_shape(g, c.match.exits.front());
            if (!rank || w.shape.size() != 2) return std::nullopt;
            if (n.inputs[1] == c.capture("w")) { // x @ W on [N, C]
                if (rank->size() != 2) return std::nullopt;
                const ir::ValueId y = c.build.apply(ops::MatMul{}, {x, c.build.constant(ir::scale_along(w, s, 1), base + ".weight")}, base);
                return c.build.add(y, c.build.constant(shift, base + ".bias"));
            }
            if (rank->size() != 3) return std::nullopt; // W @ x on [N, C, L]
            const ir::ValueId y = c.build.apply(ops::MatMul{}, {c.build.constant(ir::scale_along(w, s, 0), base + ".weight"), x}, base);
            return c.build.add(y, c.build.constant(ir::reshape(shift, {s.size(), 1}), base + ".bias"));
        });
}

/// A per-output-channel (or scalar) constant multiplied, divided, added or subtracted after a Conv
/// or ConvTranspose with constant weights, folded into its weights and bias.
[[nodiscard]] inline definition fold_affine_into_conv() {
    const std::string conv = "Conv|ConvTranspose(x, w:const)";
    return define("fold_affine_into_conv", exactness::exact, "a per-channel Mul, Div, Add or Sub after a Conv folded into its weights and bias",
                  {text_form(conv + " * s:const", "scales (layer scale, folded normalisation)"),
                   text_form(conv + " / s:const", "normalisation by a constant"), text_form(conv + " + s:const", "a separate bias"),
                   text_form(conv + " - s:const", "a subtracted mean")},
                  "the Conv with W' = W * a per output channel and bias b * a + t",
                  [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::Graph& g = c.graph;
                      const auto out = static_shape(g, c.match.exits.front());
                      if (!out || out->size() < 2 || g.value(c.match.exits.front()).shape != g.value(g.node(c.matched(1)).outputs[0]).shape)
                          return std::nullopt; // the constant would broadcast the output to another shape
                      const auto v = detail::per_channel(captured(c, "s"), out->size(), (*out)[1]);
                      if (!v) return std::nullopt;
                      const std::int64_t ch = (*out)[1];
                      const ir::Node& root = c.node(0);
                      ir::Tensor a = ir::filled(ch, 1.0f), t = ir::Tensor::zeros({ch});
                      if (root.is<ops::Mul>()) a = *v;
                      else if (root.is<ops::Div>()) a = ir::filled(ch, 1.0f) / *v;
                      else if (root.is<ops::Add>()) t = *v;
                      else t = *v * -1.0f;
                      return detail::fold_into_conv(c, c.matched(1), input_of(c), captured(c, "w"), a, t);
                  });
}

// ---- structure -----------------------------------------------------------------------------------

/// MaxPool k x k (odd k >= 5), stride 1, "same" padding -> (k-1)/2 MaxPool 3x3 (SPP's 5/9/13
/// pools). Exact: the max over a k x k window is the iterated max over 3x3 windows, and padding
/// never wins a max.
[[nodiscard]] inline definition maxpool_to_3x3_stack() {
    return define(
        "maxpool_to_3x3_stack", exactness::exact, "a k x k stride-1 MaxPool (odd k >= 5, same padding) becomes (k-1)/2 stacked 3x3 MaxPools",
        {text_form("MaxPool[kernel>=5, stride=1](x)", "SPP / SPPF blocks of YOLO (5, 9, 13)")}, "(k-1)/2 x MaxPool[kernel 3x3, pads 1](x)",
        [](rewrite::context& c) -> std::optional<ir::ValueId> {
            const auto p = c.attrs<ops::MaxPool>(0); // a copy: new nodes may move the matched ones
            if (!outputs_unused_from(c.graph, c.matched(0), 1)) return std::nullopt; // the indices are read
            const auto& k = p.kernel_shape;
            if (k.size() != 2 || k[0] != k[1] || k[0] % 2 == 0 || (p.auto_pad != "NOTSET" && !p.auto_pad.empty())) return std::nullopt;
            if (std::any_of(p.dilations.begin(), p.dilations.end(), [](auto d) { return d != 1; })) return std::nullopt;
            if (p.pads.size() != 4 || std::any_of(p.pads.begin(), p.pads.end(), [&](auto x) { return x != k[0] / 2; })) return std::nullopt;
            ops::MaxPool p3;
            p3.kernel_shape = {3, 3};
            p3.strides = {1, 1};
            p3.pads = {1, 1, 1, 1};
            const std::int64_t stack = (k[0] - 1) / 2; // read now: adding nodes may move the matched node's attributes
            ir::ValueId v = input_of(c);
            for (std::int64_t i = 0; i < stack; ++i) v = c.build.apply(p3, {v});
            return v;
        });
}

namespace detail {
/// The row/column parities a chain of stride-2 slices ending at `part` selects from `x` (rank 4,
/// H and W even): {row, col}; nothing when it is not a Focus cell.
inline std::optional<std::array<std::int64_t, 2>> focus_cell(const ir::Graph& g, ir::ValueId part, ir::ValueId x, const ir::Shape& xs) {
    std::array<std::int64_t, 2> cell{-1, -1};
    ir::ValueId v = part;
    while (v != x) {
        const ir::NodeId s = g.producer(v);
        if (!s || !g.node(s).is<ops::Slice>()) return std::nullopt;
        const ir::Tensor *st = constant_input(g, s, 1), *en = constant_input(g, s, 2), *ax = constant_input(g, s, 3), *sp = constant_input(g, s, 4);
        if (!st || !en || !ax || !sp) return std::nullopt;
        const auto starts = st->as_ints(), ends = en->as_ints(), axes = ax->as_ints(), steps = sp->as_ints();
        if (axes.empty() || starts.size() != axes.size() || ends.size() != axes.size() || steps.size() != axes.size()) return std::nullopt;
        for (std::size_t i = 0; i < axes.size(); ++i) {
            const std::int64_t axis = axes[i] < 0 ? axes[i] + 4 : axes[i];
            if (axis != 2 && axis != 3) return std::nullopt;
            std::int64_t& parity = cell[static_cast<std::size_t>(axis - 2)];
            if (parity >= 0 || steps[i] != 2 || (starts[i] != 0 && starts[i] != 1) || ends[i] < xs[static_cast<std::size_t>(axis)]) return std::nullopt;
            parity = starts[i];
        }
        v = g.node(s).inputs[0];
    }
    if (cell[0] < 0 || cell[1] < 0) return std::nullopt;
    return cell;
}
} // namespace detail

/// YOLO "Focus" (four stride-2 slices of x concatenated on channels) -> one Conv 2x2 stride 2
/// whose weights pick each cell: part i, channel k is W[i C + k, k, row_i, col_i] = 1 (space-to-depth). Exact.
[[nodiscard]] inline definition focus_to_conv() {
    return define("focus_to_conv", exactness::exact, "Focus (4 strided slices + Concat) becomes a 2x2 stride-2 Conv with one-hot weights",
                  {from_library(pattern::forms::focus_two_slices), from_library(pattern::forms::focus_one_slice)},
                  "Conv[kernel 2x2, stride 2](x, one-hot W)", [](rewrite::context& c) -> std::optional<ir::ValueId> {
                      const ir::Graph& g = c.graph;
                      const ir::ValueId x = input_of(c);
                      const auto& xs = g.value(x).shape;
                      const auto& parts = c.node(0).inputs;
                      const std::int64_t axis = c.attrs<ops::Concat>(0).axis;
                      if (!xs || xs->size() != 4 || parts.size() != 4 || (axis != 1 && axis != -3)) return std::nullopt;
                      const std::int64_t ch = (*xs)[1];
                      if (ch <= 0 || (*xs)[2] < 0 || (*xs)[3] < 0 || (*xs)[2] % 2 || (*xs)[3] % 2) return std::nullopt;
                      ir::Tensor w = ir::Tensor::zeros({4 * ch, ch, 2, 2});
                      std::array<bool, 4> seen{};
                      for (std::int64_t i = 0; i < 4; ++i) {
                          const auto cell = detail::focus_cell(g, parts[static_cast<std::size_t>(i)], x, *xs);
                          if (!cell || std::exchange(seen[static_cast<std::size_t>((*cell)[0] * 2 + (*cell)[1])], true)) return std::nullopt;
                          for (std::int64_t k = 0; k < ch; ++k) ir::at(w, {i * ch + k, k, (*cell)[0], (*cell)[1]}) = 1.0f;
                      }
                      ops::Conv conv;
                      conv.kernel_shape = {2, 2};
                      conv.strides = {2, 2};
                      conv.pads = {0, 0, 0, 0};
                      return c.build.apply(conv, {x, c.build.constant(std::move(w), g.label(c.matched(0)) + ".space_to_depth")});
                  });
}

} // namespace defs

// The rules by name, for dictionaries written by hand (their reference entries: `defs::`).
[[nodiscard]] inline rewrite::rule remove_dead_code() { return defs::remove_dead_code().rule; }
[[nodiscard]] inline rewrite::rule remove_identity() { return defs::remove_identity().rule; }
[[nodiscard]] inline rewrite::rule remove_dropout() { return defs::remove_dropout().rule; }
[[nodiscard]] inline rewrite::rule remove_noop_transpose() { return defs::remove_noop_transpose().rule; }
[[nodiscard]] inline rewrite::rule remove_noop_reshape() { return defs::remove_noop_reshape().rule; }
[[nodiscard]] inline rewrite::rule remove_noop_cast() { return defs::remove_noop_cast().rule; }
[[nodiscard]] inline rewrite::rule remove_noop_pad() { return defs::remove_noop_pad().rule; }
[[nodiscard]] inline rewrite::rule remove_neutral_arithmetic() { return defs::remove_neutral_arithmetic().rule; }
[[nodiscard]] inline rewrite::rule merge_transposes() { return defs::merge_transposes().rule; }
[[nodiscard]] inline rewrite::rule merge_reshapes() { return defs::merge_reshapes().rule; }
[[nodiscard]] inline rewrite::rule fold_batchnorm() { return defs::fold_batchnorm().rule; }
[[nodiscard]] inline rewrite::rule fold_affine_into_conv() { return defs::fold_affine_into_conv().rule; }
[[nodiscard]] inline rewrite::rule maxpool_to_3x3_stack() { return defs::maxpool_to_3x3_stack().rule; }
[[nodiscard]] inline rewrite::rule focus_to_conv() { return defs::focus_to_conv().rule; }

} // namespace surgery::rules
