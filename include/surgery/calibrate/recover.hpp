// calibrate::recover: accuracy recovery of a lite network without retraining, on calibration data.
// BatchNorm statistics re-estimated, per-channel moments of each affected linear layer matched to the
// original's (folded exactly into its weights and bias), and optionally a ridge least-squares refit of
// the first linear layer after each rewritten site; with a report of the deviation per site.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "surgery/calibrate/lstsq.hpp"
#include "surgery/calibrate/sites.hpp"
#include "surgery/calibrate/staged.hpp"
#include "surgery/calibrate/stats.hpp"
#include "surgery/error.hpp"
#include "surgery/io/dataset.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/tensor_math.hpp"
#include "surgery/reference/executor.hpp"

namespace surgery::calibrate {

/// What `recover` does.
struct options {
    /// Re-estimate the statistics (mean, variance) of every BatchNormalization whose input a rewrite
    /// changed, or that a rewrite made (LayerNorm -> BatchNorm), from the calibration data.
    bool batchnorm = true;
    /// Match the per-channel mean and variance of each affected Conv/Gemm/MatMul output to the
    /// original's on the same data, layer by layer; the scale and shift are folded into the layer.
    bool moments = true;
    /// Refit the first linear layer after each rewritten site by ridge least squares, so that it
    /// reproduces the original's output of that layer from the lite network's input to it. A layer
    /// is refitted only where the calibration data give at least as many output positions as the
    /// fit has unknowns per output channel (fewer: only the ridge would hold the solution; such a
    /// layer is counted in `report::underdetermined` and left to moment matching).
    bool lstsq = true;
    /// When the corrections with least-squares refits fail a check (`revert_if_worse`, the held-out
    /// check of `validate`), correct again without refits (BatchNorm statistics and moments only)
    /// and check those, before giving the uncorrected graph back. The refits are fitted on the
    /// calibration images and can follow them too closely; moments, two numbers per channel, rarely do.
    bool retry_without_lstsq = true;
    /// Ridge strength, relative to the mean diagonal of X^T X; the ridge pulls toward the current weights.
    double ridge = 1e-3;
    /// Keep a layer's correction only when it lowers that layer's deviation from the original on the
    /// calibration data (moments and least squares are candidates; the best is kept).
    bool guard = true;
    /// Apply `guard` to re-estimated BatchNorm statistics too, where the original has the
    /// BatchNorm's output (a BatchNorm a rewrite made, from LayerNorm, has none). Off by default, as
    /// in PyTorch's re-estimation: a BatchNorm's statistics describe its input, and keeping stale
    /// ones because they happen to put that one output nearer the original's leaves every layer
    /// after it a distribution it was not trained on. Measured on EfficientNet-B0 with BatchNorm
    /// kept (docs/results.md): 48.59% top-1 with the guard (3 of 48 kept stale), 62.00% without it,
    /// PyTorch's re-estimation 62.19%. The checks on the outputs (`revert_if_worse`, `validate`)
    /// apply either way.
    bool guard_batchnorm = false;
    /// Give back the uncorrected lite graph when the corrections, together, leave the outputs further
    /// from the original's than they were (on the calibration data).
    bool revert_if_worse = true;
    /// Calibration images used from the dataset: the first `count` (0: all).
    std::int64_t count = 0;
    /// Held-out check: the dataset's next `validate` images after the calibration ones (as many as
    /// it has), which no correction was fitted on. The corrections are kept only if, on them, the
    /// outputs deviate no more from the original's than the uncorrected lite network's do, and (for
    /// logits) its top-1 agrees with the original's at least as often. 0: the check of
    /// `revert_if_worse` on the calibration images only.
    std::int64_t validate = 0;
    /// Images per executor run.
    std::int64_t chunk = 100;
    /// Least squares: at most this many output positions per layer enter the fit (sampled evenly).
    std::int64_t max_rows = 200000;
    /// Most bytes the calibration may hold at once: the images, the activations kept between layers
    /// for both networks, and the executor's work memory (0: no limit). Checked before each stage
    /// runs; going beyond is an error naming the node and the value, before anything is allocated.
    std::size_t max_memory = 0;
    /// Layers whose output deviates less than this from the original's (relative, before recovery)
    /// are left as they are: the rewrites did not reach them.
    double min_deviation = 1e-4;
};

/// What was done to one layer.
enum class method : std::uint8_t { none, batchnorm, moments, lstsq };

[[nodiscard]] constexpr std::string_view to_string(method m) noexcept {
    switch (m) {
    case method::batchnorm: return "batchnorm";
    case method::moments: return "moments";
    case method::lstsq: return "lstsq";
    case method::none: break;
    }
    return "none";
}

/// One calibrated layer: a BatchNormalization, or a Conv/Gemm/MatMul downstream of a rewrite.
struct layer_entry {
    std::string node;  ///< the layer's node name
    std::string value; ///< its output (for a MatMul, the bias Add's output)
    std::string op;
    method applied = method::none;
    bool refit_target = false; ///< first linear layer after a rewritten site
    /// Deviations from the original at `value` on the calibration data (relative; see
    /// `channel_sums::relative_deviation`), NaN where not measured: the uncorrected lite network; this
    /// layer with its inputs already recovered, uncorrected; each candidate; what was kept.
    double before = std::numeric_limits<double>::quiet_NaN();
    double uncorrected = std::numeric_limits<double>::quiet_NaN();
    double with_moments = std::numeric_limits<double>::quiet_NaN();
    double with_lstsq = std::numeric_limits<double>::quiet_NaN();
    double after = std::numeric_limits<double>::quiet_NaN();
};

/// A rewritten site and its deviation from the original, before and after recovery, measured at
/// the output of the first linear layer after it (`measured_at`).
struct site_entry {
    calibrate::site where;
    std::string measured_at;
    double before = std::numeric_limits<double>::quiet_NaN();
    double after = std::numeric_limits<double>::quiet_NaN();
};

/// The graph outputs' deviation from the original's.
struct output_entry {
    std::string name;
    double before = std::numeric_limits<double>::quiet_NaN();
    double after = std::numeric_limits<double>::quiet_NaN();
};

/// What `recover` did and measured, all on the calibration data.
struct report {
    calibrate::options options;
    std::int64_t images = 0;
    std::vector<site_entry> sites;
    std::vector<layer_entry> layers; ///< in topological order
    std::vector<output_entry> outputs;
    double before = 0.0, after = 0.0; ///< the outputs' deviation (root of the summed squares over outputs)
    top1_counts top1_before, top1_after; ///< first output as logits: agreement with the original, accuracy on labels
    std::size_t batchnorms = 0, moment_matched = 0, refitted = 0;
    std::size_t underdetermined = 0; ///< refit candidates with fewer output positions than unknowns: not refitted
    /// `options::retry_without_lstsq`: why the corrections with refits were dropped (empty: they were
    /// not, or none was tried); the figures of the report are then those of the second attempt.
    std::string lstsq_dropped;
    bool reverted = false; ///< the corrections made the outputs worse and were dropped (`after` is then `before`)
    double rejected = std::numeric_limits<double>::quiet_NaN(); ///< reverted: the outputs' deviation the corrections gave
    std::string revert_reason;                                  ///< reverted: which check failed, with its figures
    /// The held-out check (`options::validate`): images, the outputs' deviation and top-1 counts of
    /// the uncorrected lite network and of the corrected one, on those images (0 images: not run).
    std::int64_t validation_images = 0;
    double validation_before = std::numeric_limits<double>::quiet_NaN(), validation_after = std::numeric_limits<double>::quiet_NaN();
    top1_counts validation_top1_before, validation_top1_after;
    double seconds = 0.0;

    /// Share of the output deviation that recovery removed (1: none left; negative: worse).
    [[nodiscard]] double deviation_closed() const { return before > 0 ? 1.0 - after / before : 0.0; }

    /// A text table: the sites, the layers that changed, the totals.
    [[nodiscard]] std::string to_string() const {
        std::ostringstream os;
        char buf[512];
        auto dev = [](double d) {
            char b[32];
            if (std::isnan(d)) return std::string("-");
            std::snprintf(b, sizeof b, "%.4f", d);
            return std::string(b);
        };
        os << "calibration: " << images << " images; " << batchnorms << " BatchNorm re-estimated, " << moment_matched << " moment-matched, "
           << refitted << " refitted (least squares)" << (reverted ? "; REVERTED: " + revert_reason : "") << "\n";
        if (underdetermined)
            os << "  " << underdetermined << " layer(s) not refitted: fewer output positions in the calibration data than unknowns (use more images)\n";
        if (!lstsq_dropped.empty()) os << "  least-squares refits dropped (" << lstsq_dropped << "); corrected again without them\n";
        if (!sites.empty()) {
            os << "  sites (deviation from the original at the first linear layer after each, before -> after):\n";
            for (std::size_t i = 0; i < sites.size(); ++i) {
                const auto& s = sites[i];
                std::string rules;
                for (const auto& r : s.where.rules) rules += (rules.empty() ? "" : "+") + r;
                std::snprintf(buf, sizeof buf, "    %3zu %-28s %-34s %s -> %s\n", i, rules.empty() ? "?" : rules.c_str(),
                              s.where.module.empty() ? (s.where.original_nodes.empty() ? "" : s.where.original_nodes.front().c_str()) : s.where.module.c_str(),
                              dev(s.before).c_str(), dev(s.after).c_str());
                os << buf;
            }
        }
        std::size_t changed = 0;
        for (const auto& l : layers) changed += l.applied != method::none ? 1 : 0;
        if (changed) {
            os << "  layers corrected (deviation: uncorrected lite, before this layer's correction, after):\n";
            for (const auto& l : layers) {
                if (l.applied == method::none) continue;
                std::snprintf(buf, sizeof buf, "    %-9s %-52s %s %s -> %s\n", std::string(calibrate::to_string(l.applied)).c_str(), l.node.c_str(),
                              dev(l.before).c_str(), dev(l.uncorrected).c_str(), dev(l.after).c_str());
                os << buf;
            }
        }
        for (const auto& o : outputs) os << "  output '" << o.name << "': deviation " << dev(o.before) << " -> " << dev(o.after) << "\n";
        if (top1_before.samples) {
            std::snprintf(buf, sizeof buf, "  top-1 agreement with the original: %.2f%% -> %.2f%%\n", 100.0 * static_cast<double>(top1_before.agree) / static_cast<double>(top1_before.samples),
                          100.0 * static_cast<double>(top1_after.agree) / static_cast<double>(top1_after.samples));
            os << buf;
        }
        std::snprintf(buf, sizeof buf, "  total deviation %s -> %s (%.1f%% closed), %.1f s\n", dev(before).c_str(), dev(after).c_str(), 100.0 * deviation_closed(),
                      seconds);
        os << buf;
        if (validation_images) {
            std::snprintf(buf, sizeof buf, "  held out (%lld images, not fitted on): deviation %s -> %s", static_cast<long long>(validation_images),
                          dev(validation_before).c_str(), dev(validation_after).c_str());
            os << buf;
            if (validation_top1_before.samples) {
                std::snprintf(buf, sizeof buf, ", top-1 agreement with the original %.2f%% -> %.2f%%",
                              100.0 * static_cast<double>(validation_top1_before.agree) / static_cast<double>(validation_top1_before.samples),
                              100.0 * static_cast<double>(validation_top1_after.agree) / static_cast<double>(validation_top1_after.samples));
                os << buf;
            }
            os << (reverted ? " (corrections dropped)" : "") << "\n";
        }
        return os.str();
    }
};

namespace detail {

/// A layer calibration may change.
struct cal_layer {
    enum class kind : std::uint8_t { conv, gemm, matmul, batchnorm } k = kind::conv;
    ir::NodeId node;
    ir::NodeId add;             ///< MatMul: the Add of the bias
    std::size_t add_bias_slot = 0;
    ir::ValueId out;            ///< the layer's output
    std::size_t axis = 1;       ///< channel axis of `out`
    std::optional<ir::ValueId> reference; ///< the original's value of the same name
    bool refit_target = false;
    std::size_t entry = 0;      ///< index in report.layers
};

/// The correction of one layer: new weight and bias (or BatchNorm mean and variance).
struct correction {
    std::shared_ptr<const ir::Tensor> weight, bias;
};

inline std::vector<ir::Tensor> input_chunks(const io::dataset& data, std::int64_t count, std::int64_t chunk) {
    std::vector<ir::Tensor> out;
    for (std::int64_t first = 0; first < count; first += chunk) out.push_back(data.batch(first, std::min(chunk, count - first)));
    return out;
}

/// Throws when the samples of `data` cannot be `g`'s input: the graph must take one input whose
/// declared shape, where known, is [N, C, H, W] equal to [any, sample shape] (the batch may be any
/// size; unknown dimensions accept anything). A convolutional network would otherwise run, silently,
/// on images of the wrong size.
inline void check_input(const ir::Graph& g, const io::dataset& data, const std::string& who) {
    if (g.inputs().size() != 1)
        throw error(who + ": the graph has " + std::to_string(g.inputs().size()) + " inputs; calibration feeds one (the images)");
    const ir::Value& in = g.value(g.inputs()[0]);
    if (!in.shape) return;
    const ir::Shape& s = *in.shape;
    const ir::Shape& sample = data.sample_shape();
    bool ok = s.size() == sample.size() + 1;
    for (std::size_t k = 0; ok && k < sample.size(); ++k) ok = s[k + 1] < 0 || s[k + 1] == sample[k];
    if (!ok)
        throw error(who + ": the samples of " + data.name() + " are " + ir::to_string(sample) + " after preprocessing, but the graph's input '" +
                    g.label(g.inputs()[0]) + "' is " + ir::to_string(s) + " (set the dataset's size=, pad= or channels=)");
}

inline const ir::Tensor* const_input(const ir::Graph& g, ir::NodeId n, std::size_t slot) {
    const auto& ins = g.node(n).inputs;
    return slot < ins.size() && ins[slot] ? g.constant(ins[slot]) : nullptr;
}

inline bool has_input(const ir::Graph& g, ir::NodeId n, std::size_t slot) {
    const auto& ins = g.node(n).inputs;
    return slot < ins.size() && ins[slot];
}

/// The layers of `lite` calibration can correct, in topological order.
inline std::vector<cal_layer> find_layers(const ir::Graph& lite, const ir::Graph& original, const options& opt) {
    const name_index oi(original);
    std::vector<cal_layer> out;
    for (ir::NodeId n : lite.topological_order()) {
        const ir::Node& nd = lite.node(n);
        cal_layer l;
        l.node = n;
        l.out = nd.outputs.empty() ? ir::ValueId{} : nd.outputs[0];
        const ir::Tensor* w = const_input(lite, n, 1);
        if (nd.is<ir::ops::Conv>()) {
            if (!w || !w->is_float() || w->shape.size() < 3 || (has_input(lite, n, 2) && !const_input(lite, n, 2))) continue;
            l.k = cal_layer::kind::conv;
        } else if (const auto* gm = nd.as<ir::ops::Gemm>()) {
            if (!w || !w->is_float() || w->shape.size() != 2 || gm->transA != 0 || (has_input(lite, n, 2) && !const_input(lite, n, 2))) continue;
            if (const ir::Tensor* c = const_input(lite, n, 2); c && c->size() != w->shape[gm->transB ? 0 : 1]) continue;
            l.k = cal_layer::kind::gemm;
        } else if (nd.is<ir::ops::MatMul>()) {
            if (!w || !w->is_float() || w->shape.size() != 2) continue;
            const auto& uses = lite.value(l.out).uses;
            if (uses.size() != 1 || lite.is_output(l.out)) continue;
            const ir::Node& add = lite.node(uses[0].node);
            if (!add.is<ir::ops::Add>()) continue;
            const std::size_t bs = 1 - uses[0].slot;
            const ir::Tensor* b = const_input(lite, uses[0].node, bs);
            if (!b || !b->is_float() || b->size() != w->shape[1] || (!b->shape.empty() && b->shape.back() != w->shape[1])) continue;
            l.k = cal_layer::kind::matmul;
            l.add = uses[0].node;
            l.add_bias_slot = bs;
            l.out = add.outputs[0];
            const auto& s = lite.value(l.out).shape;
            if (!s || s->empty()) continue;
            l.axis = s->size() - 1;
        } else if (nd.is<ir::ops::BatchNormalization>() && opt.batchnorm) {
            const ir::Tensor* mean = const_input(lite, n, 3);
            const ir::Tensor* var = const_input(lite, n, 4);
            if (!mean || !var || !mean->is_float() || !var->is_float()) continue;
            l.k = cal_layer::kind::batchnorm;
        } else {
            continue;
        }
        if (!l.out) continue;
        auto it = oi.values.find(lite.value(l.out).name);
        if (it != oi.values.end() && !lite.value(l.out).name.empty()) {
            const auto& ls = lite.value(l.out).shape;
            const auto& os = original.value(it->second).shape;
            if (!ls || !os || ls->size() == os->size()) l.reference = it->second;
        }
        out.push_back(l);
    }
    return out;
}

/// Applies y = a[c] * y + b[c] along `axis` to every chunk.
inline void affine_in_place(std::vector<ir::Tensor>& chunks, std::size_t axis, const std::vector<double>& a, const std::vector<double>& b) {
    for (ir::Tensor& t : chunks) {
        std::size_t outer = 1, inner = 1;
        const auto c = static_cast<std::size_t>(t.shape[axis]);
        for (std::size_t d = 0; d < axis; ++d) outer *= static_cast<std::size_t>(t.shape[d]);
        for (std::size_t d = axis + 1; d < t.shape.size(); ++d) inner *= static_cast<std::size_t>(t.shape[d]);
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t ch = 0; ch < c; ++ch) {
                float* p = t.f.data() + (o * c + ch) * inner;
                const auto sa = static_cast<float>(a[ch]), sb = static_cast<float>(b[ch]);
                for (std::size_t i = 0; i < inner; ++i) p[i] = sa * p[i] + sb;
            }
    }
}

inline ir::Tensor to_tensor(const std::vector<double>& v) {
    ir::Tensor t = ir::Tensor::zeros({static_cast<std::int64_t>(v.size())});
    for (std::size_t i = 0; i < v.size(); ++i) t.f[i] = static_cast<float>(v[i]);
    return t;
}

/// The layer's weight as a [K, M] matrix (M output channels) and its bias [M] (zeros when absent),
/// in the convention of the layer: Gemm folds alpha and beta in.
struct dense_form {
    Eigen::MatrixXd w; ///< [K, M]
    Eigen::VectorXd b; ///< [M]
};

inline dense_form dense_of(const ir::Graph& g, const cal_layer& l) {
    const ir::Tensor& w = *const_input(g, l.node, 1);
    dense_form d;
    if (l.k == cal_layer::kind::gemm) {
        const auto& gm = *g.node(l.node).as<ir::ops::Gemm>();
        const Eigen::Index k = w.shape[gm.transB ? 1 : 0], m = w.shape[gm.transB ? 0 : 1];
        d.w.resize(k, m);
        for (Eigen::Index i = 0; i < k; ++i)
            for (Eigen::Index j = 0; j < m; ++j)
                d.w(i, j) = gm.alpha * w.f[static_cast<std::size_t>(gm.transB ? j * k + i : i * m + j)];
        d.b = Eigen::VectorXd::Zero(m);
        if (const ir::Tensor* c = const_input(g, l.node, 2))
            for (Eigen::Index j = 0; j < m; ++j) d.b(j) = gm.beta * c->f[static_cast<std::size_t>(c->size() == 1 ? 0 : j)];
    } else { // MatMul + Add
        const Eigen::Index k = w.shape[0], m = w.shape[1];
        d.w.resize(k, m);
        for (Eigen::Index i = 0; i < k; ++i)
            for (Eigen::Index j = 0; j < m; ++j) d.w(i, j) = w.f[static_cast<std::size_t>(i * m + j)];
        const ir::Tensor& b = *const_input(g, l.add, l.add_bias_slot);
        d.b.resize(m);
        for (Eigen::Index j = 0; j < m; ++j) d.b(j) = b.f[static_cast<std::size_t>(j)];
    }
    return d;
}

/// The tensors of a dense layer with weights `d`: {weight input, bias input} in the layer's form.
inline correction dense_tensors(const ir::Graph& g, const cal_layer& l, const dense_form& d) {
    const ir::Tensor& w = *const_input(g, l.node, 1);
    ir::Tensor nw = w;
    const Eigen::Index k = d.w.rows(), m = d.w.cols();
    correction c;
    if (l.k == cal_layer::kind::gemm) {
        const auto& gm = *g.node(l.node).as<ir::ops::Gemm>();
        for (Eigen::Index i = 0; i < k; ++i)
            for (Eigen::Index j = 0; j < m; ++j)
                nw.f[static_cast<std::size_t>(gm.transB ? j * k + i : i * m + j)] = static_cast<float>(d.w(i, j) / gm.alpha);
        ir::Tensor nb = ir::Tensor::zeros({m});
        const double beta = gm.beta != 0.0f ? gm.beta : 1.0;
        for (Eigen::Index j = 0; j < m; ++j) nb.f[static_cast<std::size_t>(j)] = static_cast<float>(d.b(j) / beta);
        c.bias = std::make_shared<const ir::Tensor>(std::move(nb));
    } else {
        for (Eigen::Index i = 0; i < k; ++i)
            for (Eigen::Index j = 0; j < m; ++j) nw.f[static_cast<std::size_t>(i * m + j)] = static_cast<float>(d.w(i, j));
        ir::Tensor nb = *const_input(g, l.add, l.add_bias_slot);
        for (Eigen::Index j = 0; j < m; ++j) nb.f[static_cast<std::size_t>(j)] = static_cast<float>(d.b(j));
        c.bias = std::make_shared<const ir::Tensor>(std::move(nb));
    }
    c.weight = std::make_shared<const ir::Tensor>(std::move(nw));
    return c;
}

inline conv_geometry geometry_of(const ir::Graph& g, const cal_layer& l, const ir::Tensor& x) {
    const auto& op = *g.node(l.node).as<ir::ops::Conv>();
    const ir::Tensor& w = *const_input(g, l.node, 1);
    conv_geometry cg;
    cg.cin = x.shape.at(1);
    cg.in_h = x.shape.at(2);
    cg.in_w = x.shape.at(3);
    cg.cout = w.shape[0];
    cg.groups = op.group;
    cg.kh = w.shape[2];
    cg.kw = w.shape[3];
    if (!op.strides.empty()) cg.stride_h = op.strides[0], cg.stride_w = op.strides[1];
    if (!op.dilations.empty()) cg.dil_h = op.dilations[0], cg.dil_w = op.dilations[1];
    if (op.pads.size() == 4) cg.pad_top = op.pads[0], cg.pad_left = op.pads[1];
    return cg;
}

/// Whether least squares handles this layer (2-D convs with explicit padding; Gemm and MatMul).
inline bool refit_supported(const ir::Graph& g, const cal_layer& l) {
    if (l.k == cal_layer::kind::gemm || l.k == cal_layer::kind::matmul) return true;
    if (l.k != cal_layer::kind::conv) return false;
    const auto& op = *g.node(l.node).as<ir::ops::Conv>();
    const ir::Tensor& w = *const_input(g, l.node, 1);
    return w.shape.size() == 4 && (op.auto_pad.empty() || op.auto_pad == "NOTSET") && (op.pads.empty() || op.pads.size() == 4);
}

/// A unique constant name in `g` from `base`.
inline std::string fresh_name(const ir::Graph& g, const std::string& base) {
    std::string name = base;
    for (int k = 1; g.find_value(name); ++k) name = base + "_" + std::to_string(k);
    return name;
}

/// Writes the correction `c` of layer `l` into `g` (new constants; a bias input added when missing).
inline void apply_correction(ir::Graph& g, const cal_layer& l, const correction& c) {
    const std::string base = g.label(l.node);
    auto constant = [&](const std::shared_ptr<const ir::Tensor>& t, const char* what) { return g.add_constant(fresh_name(g, base + what), t); };
    if (l.k == cal_layer::kind::batchnorm) {
        g.set_input(l.node, 3, constant(c.weight, ".calibrated_mean"));
        g.set_input(l.node, 4, constant(c.bias, ".calibrated_var"));
        return;
    }
    g.set_input(l.node, 1, constant(c.weight, ".calibrated_weight"));
    if (l.k == cal_layer::kind::matmul) {
        g.set_input(l.add, l.add_bias_slot, constant(c.bias, ".calibrated_bias"));
        return;
    }
    if (has_input(g, l.node, 2)) {
        g.set_input(l.node, 2, constant(c.bias, ".calibrated_bias"));
        return;
    }
    // No bias yet: the same layer with one, in its place.
    const ir::Node& nd = g.node(l.node);
    ir::Op op = nd.op;
    if (auto* gm = std::get_if<ir::ops::Gemm>(&op); gm && gm->beta == 0.0f) gm->beta = 1.0f;
    std::vector<ir::ValueId> ins(nd.inputs.begin(), nd.inputs.end());
    ins.resize(2);
    ins.push_back(constant(c.bias, ".calibrated_bias"));
    const std::string name = nd.name;
    const ir::ValueId old_out = nd.outputs[0];
    const ir::NodeId m = g.add_node(std::move(op), std::move(ins), 1, name + "_calibrated");
    const ir::ValueId new_out = g.node(m).outputs[0];
    g.set_shape(new_out, g.value(old_out).shape);
    g.set_dtype(new_out, g.value(old_out).dtype);
    std::string out_name = g.value(old_out).name;
    g.replace_all_uses(old_out, new_out);
    g.set_value_name(old_out, {});
    g.set_value_name(new_out, std::move(out_name));
    g.erase_node(l.node);
    g.set_node_name(m, name);
}

/// Both graphs run stage by stage in step: the lite one drives, the original one follows on demand.
struct lockstep {
    staged_run lite, original;
    std::vector<std::size_t> layer_of_node; ///< lite node index -> index in layers + 1 (0: none)

    static std::vector<char> lite_stops(const ir::Graph& lite, const std::vector<cal_layer>& layers) {
        std::vector<char> s(lite.node_bound(), 0);
        for (const auto& l : layers) {
            s[l.node.index()] = 1;
            if (l.add) s[l.add.index()] = 1;
        }
        return s;
    }
    static std::vector<char> original_stops(const ir::Graph& original, const std::vector<cal_layer>& layers) {
        std::vector<char> s(original.node_bound(), 0);
        for (const auto& l : layers)
            if (l.reference)
                if (ir::NodeId p = original.producer(*l.reference)) s[p.index()] = 1;
        return s;
    }

    lockstep(const ir::Graph& lite_g, const ir::Graph& original_g, const std::vector<cal_layer>& layers, const std::vector<ir::Tensor>& chunks,
             const std::shared_ptr<memory_meter>& meter = nullptr)
        : lite(lite_g, chunks, lite_stops(lite_g, layers), {}, meter), original(original_g, chunks, original_stops(original_g, layers), {}, meter) {
        layer_of_node.assign(lite_g.node_bound(), 0);
        for (std::size_t i = 0; i < layers.size(); ++i) layer_of_node[(layers[i].add ? layers[i].add : layers[i].node).index()] = i + 1;
        for (const auto& l : layers)
            if (l.reference) original.pin(*l.reference);
    }

    std::vector<ir::Tensor>& reference(ir::ValueId v) {
        original.run_until(v);
        return original.chunks(v);
    }
};

inline channel_sums paired_sums(const std::vector<ir::Tensor>& x, const std::vector<ir::Tensor>& y, std::size_t axis) {
    channel_sums s;
    for (std::size_t k = 0; k < x.size(); ++k) s.add(x[k], axis, &y.at(k));
    return s;
}

/// Whether graph outputs like `x` are compared (float, a batch and at least one more dimension).
inline bool compared_output(const ir::Tensor& x) { return x.dtype == ir::DType::f32 && x.shape.size() >= 2; }

/// Adds a batch of graph output `o` of a network (`x`, samples from `first` on) against the
/// original's (`y`): per-channel sums of the deviation and, for the first output, the top-1 counts.
inline void add_output(std::size_t o, const ir::Tensor& x, const ir::Tensor& y, channel_sums& sums, top1_counts& top1,
                       const std::vector<std::int64_t>* labels, std::int64_t first) {
    sums.add(x, 1, &y);
    if (o == 0) top1.add(x, &y, labels, first);
}

/// Deviation of every graph output, and top-1 counts of the first, once both runs are complete.
inline void compare_outputs(lockstep& ls, const std::vector<std::int64_t>* labels, std::vector<double>& devs, top1_counts& top1) {
    while (!ls.original.done()) ls.original.step();
    const ir::Graph& lg = ls.lite.graph();
    const ir::Graph& og = ls.original.graph();
    devs.clear();
    for (std::size_t o = 0; o < lg.outputs().size(); ++o) {
        auto& x = ls.lite.chunks(lg.outputs()[o]);
        auto& y = ls.original.chunks(og.outputs()[o]);
        if (!compared_output(x.at(0))) {
            devs.push_back(std::numeric_limits<double>::quiet_NaN());
            continue;
        }
        channel_sums sums;
        std::int64_t first = 0;
        for (std::size_t k = 0; k < x.size(); ++k) {
            add_output(o, x[k], y.at(k), sums, top1, labels, first);
            first += x[k].shape[0];
        }
        devs.push_back(sums.relative_deviation());
    }
}

/// An executor for `g` with its input's first dimension set to `batch` (the executor checks static dims).
inline std::unique_ptr<reference::executor> sized_executor(const ir::Graph& g, std::int64_t batch, const reference::executor_options& exec) {
    ir::Graph sized = g;
    if (auto& s = sized.value(sized.inputs()[0]).shape; s && !s->empty()) {
        ir::Shape shape = *s;
        shape[0] = batch;
        sized.set_shape(sized.inputs()[0], shape);
    }
    return std::make_unique<reference::executor>(sized, exec);
}

/// The outputs' deviation of `a` and `b` from `original` on samples [first, first + n) of `data`,
/// streamed chunk by chunk (nothing is held across chunks but the sums), with top-1 counts of the first output.
/// With `a_known` (the result of an earlier call on the same `original`, `a` and samples), `a` is not run again.
struct held_out {
    std::vector<channel_sums> a, b; ///< per output
    top1_counts top1_a, top1_b;
};
inline held_out compare_on(const ir::Graph& original, const ir::Graph& a, const ir::Graph& b, const io::dataset& data, std::int64_t first, std::int64_t n,
                           std::int64_t chunk, std::size_t max_memory, const held_out* a_known = nullptr) {
    held_out h;
    if (a_known) {
        h.a = a_known->a;
        h.top1_a = a_known->top1_a;
    }
    h.a.resize(original.outputs().size());
    h.b.resize(original.outputs().size());
    reference::executor_options exec;
    exec.max_memory = max_memory;
    std::unique_ptr<reference::executor> eo, ea, eb;
    std::int64_t planned = -1;
    const std::vector<std::int64_t>* labels = data.has_labels() ? &data.labels() : nullptr;
    for (std::int64_t at = first; at < first + n; at += chunk) {
        const std::int64_t m = std::min(chunk, first + n - at);
        if (m != planned) {
            eo = sized_executor(original, m, exec);
            if (!a_known) ea = sized_executor(a, m, exec);
            eb = sized_executor(b, m, exec);
            planned = m;
        }
        const ir::Tensor x = data.batch(at, m);
        const auto yo = eo->run({x});
        const auto ya = a_known ? std::vector<ir::Tensor>{} : ea->run({x});
        const auto yb = eb->run({x});
        for (std::size_t o = 0; o < yo.size(); ++o) {
            if (!compared_output(yo[o])) continue;
            if (!a_known) add_output(o, ya.at(o), yo[o], h.a[o], h.top1_a, labels, at);
            add_output(o, yb.at(o), yo[o], h.b[o], h.top1_b, labels, at);
        }
    }
    return h;
}

inline double total_of(const std::vector<double>& devs) {
    double s = 0;
    for (double d : devs)
        if (!std::isnan(d)) s += d * d;
    return std::sqrt(s);
}

} // namespace detail

/// Recovers the accuracy of `lite`, a rewrite of `original`, on calibration data `data`, without
/// training: see `options`. `lite` is changed in place (new weights and biases; a bias input added
/// to a layer that had none), or left as it was when the corrections would make its outputs worse
/// (`report::reverted`) or an error is thrown. Both graphs must take one input, the images of `data`
/// preprocessed, and give the same outputs; values correspond by name (the rewrites keep the names
/// of everything outside their matches, and a match's exit keeps its name).
[[nodiscard]] inline report recover(const ir::Graph& original, ir::Graph& lite, const io::dataset& data, const options& opt = {}) {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    if (original.outputs().size() != lite.outputs().size())
        throw error("calibrate::recover: the original has " + std::to_string(original.outputs().size()) + " outputs, the lite graph " +
                    std::to_string(lite.outputs().size()));
    if (opt.chunk < 1) throw error("calibrate::recover: options.chunk must be at least 1");
    detail::check_input(original, data, "calibrate::recover");
    detail::check_input(lite, data, "calibrate::recover");
    const std::int64_t count = opt.count > 0 ? std::min(opt.count, data.size()) : data.size();
    if (count < 2) throw error("calibrate::recover: at least 2 calibration images are needed, " + data.name() + " gives " + std::to_string(count));
    auto meter = std::make_shared<memory_meter>();
    meter->limit = opt.max_memory;
    if (opt.max_memory) {
        std::size_t per = sizeof(float);
        for (std::int64_t d : data.sample_shape()) per *= static_cast<std::size_t>(std::max<std::int64_t>(d, 0));
        if (per > opt.max_memory / 3 / static_cast<std::size_t>(count))
            throw error("calibrate::recover: " + std::to_string(count) + " calibration images of " + data.name() + " take " +
                        io::format_bytes(per * static_cast<std::size_t>(count)) +
                        " each time, and three copies are held (one per network and the chunks they are cut from): more than the memory budget of " +
                        io::format_bytes(opt.max_memory) + " (calibrate::options::max_memory, --max-memory); nothing was allocated; use fewer images");
    }
    const std::vector<ir::Tensor> chunks = detail::input_chunks(data, count, opt.chunk);
    for (const ir::Tensor& t : chunks) meter->held += t.f.size() * sizeof(float);
    const std::vector<std::int64_t>* labels = data.has_labels() ? &data.labels() : nullptr;

    report rep;
    rep.options = opt;
    rep.images = count;
    std::vector<detail::cal_layer> layers = detail::find_layers(lite, original, opt);
    std::vector<site> sites = find_sites(original, lite);
    for (auto& l : layers) {
        layer_entry e;
        e.node = lite.label(l.node);
        e.value = lite.label(l.out);
        e.op = std::string(ir::name_of(lite.node(l.node).op));
        for (const auto& s : sites)
            if (std::find(s.layers_after.begin(), s.layers_after.end(), e.node) != s.layers_after.end()) l.refit_target = true;
        e.refit_target = l.refit_target;
        l.entry = rep.layers.size();
        rep.layers.push_back(std::move(e));
    }

    // Pass 1: the uncorrected lite network against the original.
    std::vector<double> out_before;
    {
        detail::lockstep ls(lite, original, layers, chunks, meter);
        while (!ls.lite.done()) {
            const std::size_t s = ls.lite.next();
            const bool stop = ls.lite.at(s).stop;
            const ir::NodeId n = ls.lite.at(s).nodes.front();
            ls.lite.step();
            if (!stop || !ls.layer_of_node[n.index()]) continue;
            const auto& l = layers[ls.layer_of_node[n.index()] - 1];
            if (!l.reference) continue;
            rep.layers[l.entry].before = detail::paired_sums(ls.lite.chunks(l.out), ls.reference(*l.reference), l.axis).relative_deviation();
            ls.original.unpin(*l.reference);
        }
        detail::compare_outputs(ls, labels, out_before, rep.top1_before);
    }
    auto affected = [&](const detail::cal_layer& l) {
        const double b = rep.layers[l.entry].before;
        // Unmeasured (no value of the same name in the original): a layer a rewrite made or changed.
        return std::isnan(b) || b > opt.min_deviation;
    };

    // Pass 2: layer by layer in topological order, each seeing the corrected layers before it; when
    // the corrections with least-squares refits fail a check below, once more without refits.
    // Each attempt starts from the report as pass 1 left it (what an attempt fills is filled afresh).
    const report measured = rep;
    std::optional<ir::Graph> corrected;
    std::optional<detail::held_out> held_out_before; // the uncorrected network on the held-out images
    for (bool use_lstsq = opt.lstsq;; use_lstsq = false) {
        corrected.reset();
        std::string dropped = std::move(rep.lstsq_dropped);
        rep = measured;
        rep.lstsq_dropped = std::move(dropped);
        std::map<std::size_t, detail::correction> corrections; // by layer index
        std::vector<double> out_after;
        {
            detail::lockstep ls(lite, original, layers, chunks, meter);
            while (!ls.lite.done()) {
                const std::size_t s = ls.lite.next();
                const ir::NodeId n = ls.lite.at(s).nodes.front();
                const std::size_t li = ls.lite.at(s).stop ? ls.layer_of_node[n.index()] : 0;
                if (!li) {
                    // A MatMul layer's input is kept for its refit at the Add.
                    if (ls.lite.at(s).stop && use_lstsq)
                        for (const auto& l : layers)
                            if (l.node == n && l.k == detail::cal_layer::kind::matmul && l.refit_target && affected(l)) ls.lite.pin(lite.node(n).inputs[0]);
                    ls.lite.step();
                    continue;
                }
                const detail::cal_layer& l = layers[li - 1];
                layer_entry& e = rep.layers[l.entry];
                if (l.k == detail::cal_layer::kind::batchnorm) {
                    if (!affected(l)) {
                        ls.lite.step();
                    } else {
                        // Re-estimation: the mean and (unbiased) variance of the input over the calibration data.
                        channel_sums in;
                        for (const auto& t : ls.lite.chunks(lite.node(n).inputs[0])) in.add(t, 1);
                        std::vector<double> mean(in.channels()), var(in.channels());
                        for (std::size_t c = 0; c < in.channels(); ++c) {
                            mean[c] = in.mean_x(c);
                            const double cnt = in.count(c);
                            var[c] = cnt > 1 ? in.var_x(c) * cnt / (cnt - 1) : in.var_x(c);
                        }
                        detail::correction cor{std::make_shared<const ir::Tensor>(detail::to_tensor(mean)), std::make_shared<const ir::Tensor>(detail::to_tensor(var))};
                        const input_overrides re{{{n, 3}, cor.weight}, {{n, 4}, cor.bias}};
                        // The guard: with the original's output of this BatchNorm to compare with, the
                        // new statistics are kept only if they bring the output closer to it.
                        bool keep = true;
                        if (opt.guard && opt.guard_batchnorm && l.reference) {
                            std::vector<ir::Tensor>& y_ref = ls.reference(*l.reference);
                            e.uncorrected = detail::paired_sums(ls.lite.evaluate(n, {}), y_ref, l.axis).relative_deviation();
                            const double with = detail::paired_sums(ls.lite.evaluate(n, re), y_ref, l.axis).relative_deviation();
                            keep = with < e.uncorrected;
                        }
                        if (keep) {
                            ls.lite.step(re);
                            corrections[li - 1] = cor;
                            e.applied = method::batchnorm;
                            ++rep.batchnorms;
                        } else {
                            ls.lite.step();
                        }
                    }
                    if (l.reference) {
                        e.after = detail::paired_sums(ls.lite.chunks(l.out), ls.reference(*l.reference), l.axis).relative_deviation();
                        ls.original.unpin(*l.reference);
                    }
                    continue;
                }
                const bool work = l.reference && affected(l) && (opt.moments || (use_lstsq && l.refit_target));
                const ir::ValueId x = lite.node(l.node).inputs[0];
                if (work && l.k != detail::cal_layer::kind::matmul) ls.lite.pin(x);
                ls.lite.step();
                if (!l.reference) continue;
                std::vector<ir::Tensor>& y_ref = ls.reference(*l.reference);
                std::vector<ir::Tensor>& y = ls.lite.chunks(l.out);
                const channel_sums sums = detail::paired_sums(y, y_ref, l.axis);
                e.uncorrected = e.after = sums.relative_deviation();
                if (!work) {
                    ls.original.unpin(*l.reference);
                    continue;
                }
                const std::size_t channels = sums.channels();
                double energy = 0;
                for (std::size_t c = 0; c < channels; ++c) energy += sums.reference_energy(c);
                auto relative = [&](double sq) { return energy > 0 ? std::sqrt(sq / energy) : (sq > 0 ? INFINITY : 0.0); };

                // Candidate 1: moment matching, a = s_o / s_l, b = m_o - a m_l per channel.
                std::vector<double> a(channels, 1.0), b(channels, 0.0);
                if (opt.moments) {
                    double sq = 0;
                    for (std::size_t c = 0; c < channels; ++c) {
                        const double sl = std::sqrt(sums.var_x(c)), so = std::sqrt(sums.var_y(c));
                        a[c] = sl > 1e-12 * (1.0 + so) ? so / sl : 1.0;
                        b[c] = sums.mean_y(c) - a[c] * sums.mean_x(c);
                        sq += sums.squared_error(c, a[c], b[c]);
                    }
                    e.with_moments = relative(sq);
                }
                // Candidate 2: least squares on the lite input and the original output.
                std::optional<detail::correction> ls_cor;
                std::vector<ir::Tensor> y_ls;
                bool refit = use_lstsq && l.refit_target && detail::refit_supported(lite, l);
                if (refit) {
                    // Output positions against unknowns per output channel (weights of one group and
                    // the bias): with fewer rows than unknowns only the ridge would hold the fit.
                    const std::vector<ir::Tensor>& xs = ls.lite.chunks(x);
                    std::int64_t unknowns = 0, rows = 0;
                    if (l.k == detail::cal_layer::kind::conv) {
                        unknowns = detail::geometry_of(lite, l, xs.at(0)).k();
                        rows = count * y.at(0).shape[2] * y.at(0).shape[3];
                    } else {
                        unknowns = xs.at(0).shape.back() + 1;
                        for (const auto& t : xs) rows += t.size() / std::max<std::int64_t>(t.shape.back(), 1);
                    }
                    if (rows < unknowns) {
                        refit = false;
                        ++rep.underdetermined;
                    }
                }
                if (refit) {
                    std::vector<ir::Tensor>& xs = ls.lite.chunks(x);
                    if (l.k == detail::cal_layer::kind::conv) {
                        const conv_geometry cg = detail::geometry_of(lite, l, xs.at(0));
                        conv_geometry full = cg;
                        full.out_h = y.at(0).shape[2];
                        full.out_w = y.at(0).shape[3];
                        const std::int64_t k = full.k();
                        const std::int64_t total = count * full.out_h * full.out_w;
                        const std::int64_t cap = std::max<std::int64_t>(8 * k, std::min<std::int64_t>(opt.max_rows, static_cast<std::int64_t>(4e10 / static_cast<double>(k * k))));
                        const std::int64_t step = row_step(total, cap);
                        normal_equations eq(static_cast<std::size_t>(full.groups), k, full.cout_g());
                        std::int64_t first = 0;
                        for (std::size_t c = 0; c < xs.size(); ++c) first += add_conv_rows(eq, full, xs[c], y_ref[c], first, step);
                        const ir::Tensor& w = *detail::const_input(lite, l.node, 1);
                        const ir::Tensor* bias = detail::const_input(lite, l.node, 2);
                        ir::Tensor nw = w;
                        ir::Tensor nb = ir::Tensor::zeros({full.cout});
                        const std::int64_t cg_out = full.cout_g(), kw = k - 1;
                        for (std::int64_t grp = 0; grp < full.groups; ++grp) {
                            Eigen::MatrixXd w0(k, cg_out);
                            for (std::int64_t o = 0; o < cg_out; ++o) {
                                const std::int64_t oc = grp * cg_out + o;
                                for (std::int64_t i = 0; i < kw; ++i) w0(i, o) = w.f[static_cast<std::size_t>(oc * kw + i)];
                                w0(kw, o) = bias ? bias->f[static_cast<std::size_t>(oc)] : 0.0;
                            }
                            const Eigen::MatrixXd sol = eq.solve(static_cast<std::size_t>(grp), opt.ridge, w0);
                            for (std::int64_t o = 0; o < cg_out; ++o) {
                                const std::int64_t oc = grp * cg_out + o;
                                for (std::int64_t i = 0; i < kw; ++i) nw.f[static_cast<std::size_t>(oc * kw + i)] = static_cast<float>(sol(i, o));
                                nb.f[static_cast<std::size_t>(oc)] = static_cast<float>(sol(kw, o));
                            }
                        }
                        ls_cor = detail::correction{std::make_shared<const ir::Tensor>(std::move(nw)), std::make_shared<const ir::Tensor>(std::move(nb))};
                        y_ls = ls.lite.evaluate(l.node, {{{l.node, 1}, ls_cor->weight}, {{l.node, 2}, ls_cor->bias}});
                    } else {
                        const detail::dense_form d0 = detail::dense_of(lite, l);
                        const std::int64_t k = d0.w.rows() + 1;
                        std::int64_t total = 0;
                        for (const auto& t : xs) total += t.size() / t.shape.back();
                        const std::int64_t step = row_step(total, std::max<std::int64_t>(8 * k, opt.max_rows));
                        normal_equations eq(1, k, d0.w.cols());
                        std::int64_t first = 0;
                        for (std::size_t c = 0; c < xs.size(); ++c) first += add_dense_rows(eq, xs[c], y_ref[c], first, step);
                        Eigen::MatrixXd w0(k, d0.w.cols());
                        w0.topRows(k - 1) = d0.w;
                        w0.row(k - 1) = d0.b.transpose();
                        const Eigen::MatrixXd sol = eq.solve(0, opt.ridge, w0);
                        detail::dense_form d1{sol.topRows(k - 1), sol.row(k - 1).transpose()};
                        ls_cor = detail::dense_tensors(lite, l, d1);
                        const Eigen::MatrixXf wf = d1.w.cast<float>();
                        const Eigen::RowVectorXf bf = d1.b.transpose().cast<float>();
                        for (std::size_t c = 0; c < xs.size(); ++c) {
                            const auto rows = static_cast<Eigen::Index>(xs[c].size() / xs[c].shape.back());
                            Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> xm(xs[c].f.data(), rows, wf.rows());
                            ir::Tensor out = ir::Tensor::zeros(y[c].shape);
                            Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> ym(out.f.data(), rows, wf.cols());
                            ym.noalias() = xm * wf;
                            ym.rowwise() += bf;
                            y_ls.push_back(std::move(out));
                        }
                    }
                    e.with_lstsq = detail::paired_sums(y_ls, y_ref, l.axis).relative_deviation();
                }
                // Keep the best candidate (with the guard), or the most thorough one asked for.
                method pick = method::none;
                if (!y_ls.empty() && (!opt.guard || e.with_lstsq < e.uncorrected)) pick = method::lstsq;
                if (opt.moments && !std::isnan(e.with_moments) && (!opt.guard || e.with_moments < e.uncorrected) &&
                    (pick == method::none || (opt.guard && e.with_moments < e.with_lstsq)))
                    pick = method::moments;
                if (pick == method::lstsq) {
                    y = std::move(y_ls);
                    corrections[li - 1] = *ls_cor;
                    e.after = e.with_lstsq;
                    ++rep.refitted;
                } else if (pick == method::moments) {
                    detail::affine_in_place(y, l.axis, a, b);
                    detail::correction cor;
                    if (l.k == detail::cal_layer::kind::conv) {
                        const ir::Tensor& w = *detail::const_input(lite, l.node, 1);
                        const ir::Tensor* bias = detail::const_input(lite, l.node, 2);
                        std::vector<double> nb(channels);
                        for (std::size_t c = 0; c < channels; ++c) nb[c] = a[c] * (bias ? bias->f[c] : 0.0f) + b[c];
                        cor.weight = std::make_shared<const ir::Tensor>(ir::scale_along(w, detail::to_tensor(a), 0));
                        cor.bias = std::make_shared<const ir::Tensor>(detail::to_tensor(nb));
                    } else {
                        detail::dense_form d = detail::dense_of(lite, l);
                        for (Eigen::Index j = 0; j < d.w.cols(); ++j) {
                            d.w.col(j) *= a[static_cast<std::size_t>(j)];
                            d.b(j) = a[static_cast<std::size_t>(j)] * d.b(j) + b[static_cast<std::size_t>(j)];
                        }
                        cor = detail::dense_tensors(lite, l, d);
                    }
                    corrections[li - 1] = cor;
                    e.after = e.with_moments;
                    ++rep.moment_matched;
                }
                e.applied = pick;
                ls.lite.unpin(x);
                ls.original.unpin(*l.reference);
            }
            detail::compare_outputs(ls, labels, out_after, rep.top1_after);
        }

        for (std::size_t o = 0; o < lite.outputs().size(); ++o)
            rep.outputs.push_back({lite.label(lite.outputs()[o]), out_before[o], out_after[o]});
        rep.before = detail::total_of(out_before);
        rep.after = detail::total_of(out_after);
        for (const auto& s : sites) {
            site_entry se;
            for (const auto& name : s.layers_after) {
                for (const auto& e : rep.layers)
                    if (e.node == name && !std::isnan(e.before)) {
                        se.measured_at = e.node;
                        se.before = e.before;
                        se.after = e.after;
                        break;
                    }
                if (!se.measured_at.empty()) break;
            }
            se.where = s;
            rep.sites.push_back(std::move(se));
        }

        // The corrected graph, then the checks that decide whether it is kept.
        if (!corrections.empty()) {
            corrected.emplace(lite);
            for (const auto& [i, c] : corrections) detail::apply_correction(*corrected, layers[i], c);
            corrected->remove_dead();
        }
        if (opt.revert_if_worse && rep.after > rep.before) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "the corrections made the outputs worse on the calibration images (total deviation %.4g -> %.4g)", rep.before, rep.after);
            rep.revert_reason = buf;
        }
        const std::int64_t held = opt.validate > 0 ? std::min(opt.validate, data.size() - count) : 0;
        if (corrected && held > 0) {
            const std::size_t budget = opt.max_memory ? std::max<std::size_t>(opt.max_memory / 3, 1) : 0;
            // A retry compares the same uncorrected network on the same images: only the new corrections run.
            const detail::held_out h = detail::compare_on(original, lite, *corrected, data, count, held, opt.chunk, budget,
                                                          held_out_before ? &*held_out_before : nullptr);
            if (!held_out_before) held_out_before = h;
            std::vector<double> da, db;
            for (std::size_t o = 0; o < h.a.size(); ++o) {
                da.push_back(h.a[o].channels() ? h.a[o].relative_deviation() : std::numeric_limits<double>::quiet_NaN());
                db.push_back(h.b[o].channels() ? h.b[o].relative_deviation() : std::numeric_limits<double>::quiet_NaN());
            }
            rep.validation_images = held;
            rep.validation_before = detail::total_of(da);
            rep.validation_after = detail::total_of(db);
            rep.validation_top1_before = h.top1_a;
            rep.validation_top1_after = h.top1_b;
            if (rep.revert_reason.empty()) {
                char buf[200];
                if (rep.validation_after > rep.validation_before) {
                    std::snprintf(buf, sizeof buf, "the corrections made the outputs worse on %lld held-out images (total deviation %.4g -> %.4g)",
                                  static_cast<long long>(held), rep.validation_before, rep.validation_after);
                    rep.revert_reason = buf;
                } else if (h.top1_a.samples && h.top1_b.agree < h.top1_a.agree) {
                    std::snprintf(buf, sizeof buf, "the corrected network agrees less often with the original's top-1 on %lld held-out images (%lld -> %lld)",
                                  static_cast<long long>(held), static_cast<long long>(h.top1_a.agree), static_cast<long long>(h.top1_b.agree));
                    rep.revert_reason = buf;
                }
            }
        }
        if (!rep.revert_reason.empty() && use_lstsq && rep.refitted > 0 && opt.retry_without_lstsq) {
            rep.lstsq_dropped = rep.revert_reason;
            continue;
        }
        break;
    }

    if (!rep.revert_reason.empty()) {
        // The report describes the graph given back: the uncorrected one. What the corrections gave
        // stays in `rejected`, the validation figures and each layer's candidate figures.
        rep.reverted = true;
        rep.rejected = rep.after;
        rep.after = rep.before;
        for (auto& o : rep.outputs) o.after = o.before;
        rep.top1_after = rep.top1_before;
        for (auto& e : rep.layers) {
            e.applied = method::none;
            e.after = e.before;
        }
        for (auto& se : rep.sites) se.after = se.before;
        rep.batchnorms = rep.moment_matched = rep.refitted = 0;
    } else if (corrected) {
        lite = std::move(*corrected);
    }
    rep.seconds = std::chrono::duration<double>(clock::now() - t0).count();
    return rep;
}

/// Top-1 accuracy of `g` on a labelled dataset, with each sample's prediction.
struct accuracy {
    std::int64_t correct = 0, total = 0;
    std::vector<std::int32_t> predicted; ///< argmax of the first output, per sample in order
    [[nodiscard]] double top1() const noexcept { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

/// Runs `g` on the first `count` samples of `data` (0: all) in batches of `batch` and counts the
/// samples whose largest logit (first output, [n, classes]) is at the label.
[[nodiscard]] inline accuracy evaluate(const ir::Graph& g, const io::dataset& data, std::int64_t count = 0, std::int64_t batch = 250,
                                      reference::executor_options exec = {}) {
    if (!data.has_labels()) throw error("calibrate::evaluate: " + data.name() + " has no labels");
    if (batch < 1) throw error("calibrate::evaluate: the batch must be at least 1");
    detail::check_input(g, data, "calibrate::evaluate");
    const std::int64_t n = count > 0 ? std::min(count, data.size()) : data.size();
    accuracy acc;
    acc.predicted.reserve(static_cast<std::size_t>(n));
    std::unique_ptr<reference::executor> ex;
    std::int64_t planned = -1;
    for (std::int64_t first = 0; first < n; first += batch) {
        ir::Tensor x = data.batch(first, std::min(batch, n - first));
        if (x.shape[0] != planned) {
            ex = detail::sized_executor(g, x.shape[0], exec);
            planned = x.shape[0];
        }
        std::vector<ir::Tensor> in;
        in.push_back(std::move(x));
        const auto out = ex->run(std::move(in));
        const ir::Tensor& logits = out.at(0);
        acc.correct += io::top1_hits(logits, data.labels(), first);
        const std::int64_t rows = logits.shape.at(0), k = logits.shape.at(1);
        for (std::int64_t r = 0; r < rows; ++r) {
            const float* row = logits.f.data() + r * k;
            acc.predicted.push_back(static_cast<std::int32_t>(std::max_element(row, row + k) - row));
        }
        acc.total += rows;
    }
    return acc;
}

/// Two models' predictions on the same labelled samples: how often they agree, and the samples only
/// one of them classifies right (McNemar's discordant pairs), with the exact two-sided p-value of
/// that split under "neither model is better" (binomial, 1/2). A p-value near 1 says that the two
/// top-1 figures differ by the luck of the samples, not by the models.
struct paired_comparison {
    std::int64_t samples = 0;
    std::int64_t agree = 0;  ///< same prediction
    std::int64_t only_a = 0; ///< a right, b wrong
    std::int64_t only_b = 0; ///< b right, a wrong
    double p_value = 1.0;
    [[nodiscard]] double agreement() const noexcept { return samples ? static_cast<double>(agree) / static_cast<double>(samples) : 0.0; }
};

/// Exact two-sided sign-test p-value of `k` successes out of `n` at probability 1/2.
[[nodiscard]] inline double sign_test_p(std::int64_t k, std::int64_t n) {
    if (n <= 0) return 1.0;
    const std::int64_t m = std::min(k, n - k);
    const double ln2 = std::log(2.0), lgn = std::lgamma(static_cast<double>(n) + 1.0);
    double tail = 0;
    for (std::int64_t i = 0; i <= m; ++i)
        tail += std::exp(lgn - std::lgamma(static_cast<double>(i) + 1.0) - std::lgamma(static_cast<double>(n - i) + 1.0) - static_cast<double>(n) * ln2);
    return std::min(1.0, 2.0 * tail);
}

/// Compares the predictions of `a` and `b` (from `evaluate` on the same samples of `data`).
[[nodiscard]] inline paired_comparison compare(const accuracy& a, const accuracy& b, const io::dataset& data) {
    if (a.predicted.size() != b.predicted.size())
        throw error("calibrate::compare: the two evaluations cover " + std::to_string(a.predicted.size()) + " and " + std::to_string(b.predicted.size()) + " samples");
    if (a.predicted.size() > data.labels().size())
        throw error("calibrate::compare: " + std::to_string(a.predicted.size()) + " predictions but " + data.name() + " has " +
                    std::to_string(data.labels().size()) + " labels");
    paired_comparison c;
    c.samples = static_cast<std::int64_t>(a.predicted.size());
    for (std::size_t i = 0; i < a.predicted.size(); ++i) {
        const std::int64_t l = data.labels()[i];
        c.agree += a.predicted[i] == b.predicted[i] ? 1 : 0;
        const bool ra = a.predicted[i] == l, rb = b.predicted[i] == l;
        c.only_a += ra && !rb ? 1 : 0;
        c.only_b += rb && !ra ? 1 : 0;
    }
    c.p_value = sign_test_p(c.only_a, c.only_a + c.only_b);
    return c;
}

} // namespace surgery::calibrate
