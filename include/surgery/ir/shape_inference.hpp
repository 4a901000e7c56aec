// Shape and element-type inference for every op of the catalogue.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"

namespace surgery::ir {

/// Output shapes and types of one node, as computed by `infer_node`.
struct inferred_outputs {
    std::vector<std::optional<Shape>> shapes;
    std::vector<DType> dtypes;
};

namespace detail {

/// What an op's inference rule sees of one node: input shapes, constant inputs, and where to report.
class infer_context {
public:
    infer_context(const Graph& g, NodeId n) : g_(g), n_(n), node_(g.node(n)) {}

    [[nodiscard]] std::size_t num_inputs() const noexcept { return node_.inputs.size(); }
    [[nodiscard]] bool has(std::size_t i) const noexcept { return i < node_.inputs.size() && node_.inputs[i].valid(); }
    [[nodiscard]] bool known(std::size_t i) const { return has(i) && g_.value(node_.inputs[i]).shape.has_value(); }
    [[nodiscard]] const Shape& shape(std::size_t i) const {
        if (!known(i)) fail("input " + std::to_string(i) + " has no known shape");
        return *g_.value(node_.inputs[i]).shape;
    }
    [[nodiscard]] DType dtype(std::size_t i) const { return has(i) ? g_.value(node_.inputs[i]).dtype : DType::undefined; }
    [[nodiscard]] const Tensor* constant(std::size_t i) const { return has(i) ? g_.constant(node_.inputs[i]) : nullptr; }
    /// The constant input `i` as integers; fails with a clear message when it is not a constant.
    [[nodiscard]] std::vector<std::int64_t> const_ints(std::size_t i, const char* what) const {
        const Tensor* t = constant(i);
        if (!t) fail(std::string(what) + " (input " + std::to_string(i) + ") must be a constant for shape inference");
        return t->as_ints();
    }
    [[nodiscard]] std::size_t num_outputs() const noexcept { return node_.outputs.size(); }
    [[nodiscard]] std::string label() const { return g_.label(n_); }
    [[noreturn]] void fail(const std::string& msg) const {
        throw graph_error(label(), std::string(name_of(node_.op)) + ": " + msg);
    }

private:
    const Graph& g_;
    NodeId n_;
    const Node& node_;
};

/// Largest dimension, kernel, stride, dilation or pad that shape inference accepts (2^40), and the
/// largest element count of a shape (2^62). Values come from model files: bounding them keeps every
/// sum and product below in range (no signed overflow), and a model beyond them is not a real one.
inline constexpr std::int64_t max_dim = std::int64_t{1} << 40;
inline constexpr std::int64_t max_elements = std::int64_t{1} << 62;

/// Fails unless every value of `v` is in [lo, max_dim]; `what` names the attribute.
inline void check_range(const std::vector<std::int64_t>& v, std::int64_t lo, const char* what, const infer_context& c) {
    for (auto x : v)
        if (x < lo || x > max_dim)
            c.fail(std::string(what) + " " + to_string(v) + ": " + std::to_string(x) + " is outside [" + std::to_string(lo) + ", 2^40]");
}

/// Fails when a dimension of `s` exceeds max_dim or its element count exceeds max_elements.
inline void check_shape_bounds(const Shape& s, const std::string& what, const infer_context& c) {
    std::int64_t n = 1;
    for (auto d : s) {
        if (d > max_dim) c.fail(what + " " + to_string(s) + " has a dimension above 2^40");
        if (d > 0 && n > max_elements / d) c.fail(what + " " + to_string(s) + " has more than 2^62 elements");
        if (d > 0) n *= d;
    }
}

inline std::int64_t norm_axis(std::int64_t axis, std::size_t rank, const infer_context& c) {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r) c.fail("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + r : axis;
}

/// Numpy broadcasting of two shapes; -1 (unknown) is kept unknown unless the other side fixes it.
inline Shape broadcast(const Shape& a, const Shape& b, const infer_context& c) {
    const std::size_t r = std::max(a.size(), b.size());
    Shape out(r, 1);
    for (std::size_t i = 0; i < r; ++i) {
        const std::int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const std::int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        if (da == db) out[i] = da;
        else if (da == 1) out[i] = db;
        else if (db == 1) out[i] = da;
        else if (da < 0 || db < 0) out[i] = std::max(da, db) < 0 ? -1 : std::max(da, db);
        else c.fail("shapes " + to_string(a) + " and " + to_string(b) + " cannot be broadcast");
    }
    return out;
}

inline std::int64_t pool_out(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t pb, std::int64_t pe,
                             bool ceil_mode) {
    if (in < 0) return -1;
    const std::int64_t eff = d * (k - 1) + 1;
    const std::int64_t span = in + pb + pe - eff;
    if (span < 0) return 0;
    std::int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // A window that would start inside the end padding is dropped (PyTorch and ONNX agree).
    if (ceil_mode && (out - 1) * s >= in + pb) --out;
    return out;
}

/// Shared by Conv and the pools: the spatial output dims from kernel, strides, pads, dilations, auto_pad.
inline Shape spatial_out(const Shape& x, const Ints& kernel, const Ints& strides_in, const Ints& pads_in, const Ints& dil_in,
                         const std::string& auto_pad, bool ceil_mode, const infer_context& c) {
    const std::size_t sp = x.size() - 2;
    if (kernel.size() != sp) c.fail("kernel has " + std::to_string(kernel.size()) + " dims for a " + std::to_string(sp) + "-D input");
    Ints strides = strides_in.empty() ? Ints(sp, 1) : strides_in;
    Ints dil = dil_in.empty() ? Ints(sp, 1) : dil_in;
    Ints pads = pads_in.empty() ? Ints(2 * sp, 0) : pads_in;
    if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp) c.fail("strides/dilations/pads do not match the kernel rank");
    for (std::size_t i = 0; i < sp; ++i)
        if (strides[i] <= 0 || dil[i] <= 0 || kernel[i] <= 0) c.fail("kernel, strides and dilations must be positive");
    check_range(kernel, 1, "kernel_shape", c);
    check_range(strides, 1, "strides", c);
    check_range(dil, 1, "dilations", c);
    check_range(pads, 0, "pads", c);
    for (std::size_t i = 0; i < sp; ++i)
        if (kernel[i] > 1 && dil[i] > max_dim / (kernel[i] - 1)) c.fail("the dilated kernel (dilation " + std::to_string(dil[i]) + " x kernel " + std::to_string(kernel[i]) + ") is larger than 2^40");
    Shape out;
    for (std::size_t i = 0; i < sp; ++i) {
        const std::int64_t in = x[2 + i];
        if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") out.push_back(in < 0 ? -1 : (in + strides[i] - 1) / strides[i]);
        else if (auto_pad == "VALID") out.push_back(pool_out(in, kernel[i], strides[i], dil[i], 0, 0, ceil_mode));
        else if (auto_pad == "NOTSET" || auto_pad.empty()) out.push_back(pool_out(in, kernel[i], strides[i], dil[i], pads[i], pads[i + sp], ceil_mode));
        else c.fail("unknown auto_pad '" + auto_pad + "'");
    }
    return out;
}

inline Shape infer_slice(const Shape& x, const infer_context& c) {
    auto starts = c.const_ints(1, "starts");
    auto ends = c.const_ints(2, "ends");
    std::vector<std::int64_t> axes;
    if (c.has(3)) axes = c.const_ints(3, "axes");
    else for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    std::vector<std::int64_t> steps = c.has(4) ? c.const_ints(4, "steps") : std::vector<std::int64_t>(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        c.fail("starts, ends, axes and steps must have the same length");
    Shape out = x;
    for (std::size_t i = 0; i < starts.size(); ++i) {
        const auto ax = static_cast<std::size_t>(norm_axis(axes[i], x.size(), c));
        const std::int64_t dim = x[ax];
        if (steps[i] == 0) c.fail("slice step cannot be 0");
        if (dim < 0) { out[ax] = -1; continue; }
        std::int64_t s = starts[i], e = ends[i];
        const std::int64_t st = steps[i];
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        if (st > 0) {
            s = std::clamp<std::int64_t>(s, 0, dim);
            e = std::clamp<std::int64_t>(e, 0, dim);
            out[ax] = e > s ? (e - s + st - 1) / st : 0;
        } else {
            s = std::clamp<std::int64_t>(s, -1, dim - 1);
            e = std::clamp<std::int64_t>(e, -1, dim - 1);
            out[ax] = s > e ? (s - e + (-st) - 1) / (-st) : 0;
        }
    }
    return out;
}

inline Shape infer_reshape(const Shape& x, const ops::Reshape& op, const infer_context& c) {
    auto target = c.const_ints(1, "shape");
    Shape out(target.size());
    std::int64_t known = 1;
    int infer_at = -1;
    bool unknown = false;
    for (std::size_t i = 0; i < target.size(); ++i) {
        std::int64_t d = target[i];
        if (d == 0 && op.allowzero == 0) {
            if (i >= x.size()) c.fail("shape has 0 at position " + std::to_string(i) + " beyond the input rank");
            d = x[i];
        }
        if (d == -1) {
            if (infer_at >= 0) c.fail("shape has more than one -1");
            infer_at = static_cast<int>(i);
        } else if (d < 0) {
            unknown = true;
        } else {
            if (d > max_dim || (d > 0 && known > max_elements / d)) c.fail("shape " + to_string(target) + " is too large");
            known *= d;
        }
        out[i] = d;
    }
    if (!is_static(x) || unknown) {
        if (infer_at >= 0) out[static_cast<std::size_t>(infer_at)] = -1;
        return out;
    }
    const std::int64_t total = numel(x);
    if (infer_at >= 0) {
        if (known == 0 || total % known != 0) c.fail("cannot reshape " + to_string(x) + " to " + to_string(target));
        out[static_cast<std::size_t>(infer_at)] = total / known;
    } else if (known != total) {
        c.fail("cannot reshape " + to_string(x) + " (" + std::to_string(total) + " elements) to " + to_string(out));
    }
    return out;
}

inline std::vector<std::int64_t> split_sizes(const Shape& x, const ops::Split& op, const infer_context& c) {
    const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x.size(), c));
    std::vector<std::int64_t> sizes;
    if (c.has(1)) sizes = c.const_ints(1, "split");
    else if (!op.split.empty()) sizes = op.split;
    const std::int64_t dim = x[ax];
    if (sizes.empty()) {
        const auto n = static_cast<std::int64_t>(c.num_outputs());
        if (dim < 0) return std::vector<std::int64_t>(c.num_outputs(), -1);
        const std::int64_t chunk = (dim + n - 1) / n; // opset 18: the last chunk may be smaller
        for (std::int64_t i = 0; i < n; ++i) sizes.push_back(std::min(chunk, std::max<std::int64_t>(0, dim - i * chunk)));
    }
    check_range(sizes, 0, "split", c);
    if (sizes.size() != c.num_outputs()) c.fail("split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(c.num_outputs()) + " outputs");
    if (dim >= 0) {
        std::int64_t sum = 0;
        for (auto s : sizes) sum += s;
        if (sum != dim) c.fail("split sizes sum to " + std::to_string(sum) + " but the axis has " + std::to_string(dim));
    }
    return sizes;
}

inline Shape infer_matmul(Shape a, Shape b, const infer_context& c) {
    if (a.empty() || b.empty()) c.fail("MatMul inputs must have rank >= 1");
    const bool a1 = a.size() == 1, b1 = b.size() == 1;
    if (a1) a.insert(a.begin(), 1);
    if (b1) b.push_back(1);
    const std::int64_t k1 = a.back(), k2 = b[b.size() - 2];
    if (k1 >= 0 && k2 >= 0 && k1 != k2) c.fail("inner dimensions differ: " + to_string(a) + " x " + to_string(b));
    Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    Shape out = broadcast(ba, bb, c);
    if (!a1) out.push_back(a[a.size() - 2]);
    if (!b1) out.push_back(b.back());
    return out;
}

} // namespace detail

/// Computes the output shapes and types of node `n` from its inputs' shapes (and constant inputs
/// where the op needs them). An output shape is empty (`nullopt`) when an input shape is unknown.
/// Throws `graph_error` naming the node when the inputs are inconsistent.
[[nodiscard]] inline inferred_outputs infer_node(const Graph& g, NodeId n) {
    using namespace detail;
    const Node& nd = g.node(n);
    infer_context c(g, n);
    inferred_outputs r;
    r.shapes.assign(nd.outputs.size(), std::nullopt);
    r.dtypes.assign(nd.outputs.size(), c.has(0) ? c.dtype(0) : DType::f32);
    // Every rule needs input 0's shape except Constant; an unknown one gives unknown outputs.
    if (!nd.is<ops::Constant>() && !c.known(0)) return r;
    for (std::size_t i = 0; i < c.num_inputs(); ++i)
        if (c.known(i)) check_shape_bounds(c.shape(i), "input " + std::to_string(i), c);

    auto same = [&] { r.shapes[0] = c.shape(0); };
    std::visit(
        [&]<class T>(const T& op) {
            const Shape* x = c.known(0) ? &c.shape(0) : nullptr;
            if constexpr (std::is_same_v<T, ops::Conv>) {
                if (!c.known(1)) return;
                const Shape& w = c.shape(1);
                if (x->size() < 3) c.fail("input must be N x C x spatial, got " + to_string(*x));
                if (w.size() != x->size()) c.fail("weight rank " + std::to_string(w.size()) + " differs from input rank " + std::to_string(x->size()));
                if (op.group <= 0) c.fail("group must be positive");
                if ((*x)[1] >= 0 && w[1] >= 0 && (*x)[1] != w[1] * op.group)
                    c.fail("input has " + std::to_string((*x)[1]) + " channels but weight " + to_string(w) + " with group " +
                           std::to_string(op.group) + " expects " + std::to_string(w[1] * op.group));
                if (w[0] >= 0 && w[0] % op.group != 0) c.fail("output channels not divisible by group");
                Ints kernel = op.kernel_shape.empty() ? Ints(w.begin() + 2, w.end()) : op.kernel_shape;
                for (std::size_t i = 0; i < kernel.size() && i + 2 < w.size(); ++i)
                    if (w[2 + i] >= 0 && kernel[i] != w[2 + i]) c.fail("kernel_shape " + to_string(kernel) + " differs from weight " + to_string(w));
                if (c.known(2) && (c.shape(2).size() != 1 || (w[0] >= 0 && c.shape(2)[0] >= 0 && c.shape(2)[0] != w[0])))
                    c.fail("bias " + to_string(c.shape(2)) + " does not match " + std::to_string(w[0]) + " output channels");
                Shape out{(*x)[0], w[0]};
                auto sp = spatial_out(*x, kernel, op.strides, op.pads, op.dilations, op.auto_pad, false, c);
                out.insert(out.end(), sp.begin(), sp.end());
                r.shapes[0] = out;
            } else if constexpr (std::is_same_v<T, ops::BatchNormalization>) {
                if (x->size() < 2) c.fail("input must have a channel axis");
                for (std::size_t i = 1; i < 5; ++i)
                    if (c.known(i) && (c.shape(i).size() != 1 || ((*x)[1] >= 0 && c.shape(i)[0] >= 0 && c.shape(i)[0] != (*x)[1])))
                        c.fail("parameter " + std::to_string(i) + " has shape " + to_string(c.shape(i)) + ", expected [" +
                               std::to_string((*x)[1]) + "]");
                same();
                for (std::size_t o = 1; o < r.shapes.size(); ++o) r.shapes[o] = Shape{(*x)[1]};
            } else if constexpr (std::is_same_v<T, ops::LayerNormalization>) {
                const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x->size(), c));
                same();
                Shape stat = *x;
                for (std::size_t i = ax; i < stat.size(); ++i) stat[i] = 1;
                for (std::size_t o = 1; o < r.shapes.size(); ++o) r.shapes[o] = stat;
            } else if constexpr (std::is_same_v<T, ops::Add> || std::is_same_v<T, ops::Mul> || std::is_same_v<T, ops::Sub> ||
                                 std::is_same_v<T, ops::Div> || std::is_same_v<T, ops::Pow>) {
                if (!c.known(1)) return;
                r.shapes[0] = broadcast(*x, c.shape(1), c);
            } else if constexpr (std::is_same_v<T, ops::GlobalAveragePool>) {
                if (x->size() < 3) c.fail("input must be N x C x spatial, got " + to_string(*x));
                Shape out = *x;
                for (std::size_t i = 2; i < out.size(); ++i) out[i] = 1;
                r.shapes[0] = out;
            } else if constexpr (std::is_same_v<T, ops::AveragePool> || std::is_same_v<T, ops::MaxPool>) {
                if (x->size() < 3) c.fail("input must be N x C x spatial, got " + to_string(*x));
                if (op.kernel_shape.empty()) c.fail("kernel_shape is required");
                Shape out{(*x)[0], (*x)[1]};
                auto sp = spatial_out(*x, op.kernel_shape, op.strides, op.pads, op.dilations, op.auto_pad, op.ceil_mode != 0, c);
                out.insert(out.end(), sp.begin(), sp.end());
                r.shapes[0] = out;
                if (r.shapes.size() > 1) {
                    r.shapes[1] = out;
                    r.dtypes[1] = DType::i64;
                }
            } else if constexpr (std::is_same_v<T, ops::Gemm>) {
                if (!c.known(1)) return;
                const Shape& b = c.shape(1);
                if (x->size() != 2 || b.size() != 2) c.fail("Gemm needs 2-D inputs, got " + to_string(*x) + " and " + to_string(b));
                const std::int64_t m = op.transA ? (*x)[1] : (*x)[0], k1 = op.transA ? (*x)[0] : (*x)[1];
                const std::int64_t k2 = op.transB ? b[1] : b[0], nn = op.transB ? b[0] : b[1];
                if (k1 >= 0 && k2 >= 0 && k1 != k2) c.fail("inner dimensions differ: " + to_string(*x) + " x " + to_string(b));
                r.shapes[0] = Shape{m, nn};
                if (c.known(2)) (void)broadcast(c.shape(2), *r.shapes[0], c);
            } else if constexpr (std::is_same_v<T, ops::MatMul>) {
                if (!c.known(1)) return;
                r.shapes[0] = infer_matmul(*x, c.shape(1), c);
            } else if constexpr (std::is_same_v<T, ops::Flatten>) {
                const auto r0 = static_cast<std::int64_t>(x->size());
                std::int64_t ax = op.axis < 0 ? op.axis + r0 : op.axis;
                if (ax < 0 || ax > r0) c.fail("axis out of range");
                Shape a(x->begin(), x->begin() + ax), b(x->begin() + ax, x->end());
                r.shapes[0] = Shape{is_static(a) ? numel(a) : -1, is_static(b) ? numel(b) : -1};
            } else if constexpr (std::is_same_v<T, ops::Reshape>) {
                r.shapes[0] = infer_reshape(*x, op, c);
            } else if constexpr (std::is_same_v<T, ops::Transpose>) {
                Ints perm = op.perm;
                if (perm.empty())
                    for (std::size_t i = x->size(); i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
                if (perm.size() != x->size()) c.fail("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(x->size()));
                Shape out;
                std::vector<bool> seen(x->size(), false);
                for (auto p : perm) {
                    auto a = static_cast<std::size_t>(norm_axis(p, x->size(), c));
                    if (seen[a]) c.fail("perm repeats axis " + std::to_string(p));
                    seen[a] = true;
                    out.push_back((*x)[a]);
                }
                r.shapes[0] = out;
            } else if constexpr (std::is_same_v<T, ops::Concat>) {
                const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x->size(), c));
                Shape out = *x;
                for (std::size_t i = 1; i < c.num_inputs(); ++i) {
                    if (!c.known(i)) return;
                    const Shape& s = c.shape(i);
                    if (s.size() != out.size()) c.fail("input " + std::to_string(i) + " has rank " + std::to_string(s.size()) + ", expected " + std::to_string(out.size()));
                    for (std::size_t d = 0; d < s.size(); ++d) {
                        if (d == ax) out[d] = (out[d] < 0 || s[d] < 0) ? -1 : out[d] + s[d];
                        else if (out[d] >= 0 && s[d] >= 0 && out[d] != s[d])
                            c.fail("input " + std::to_string(i) + " " + to_string(s) + " differs from " + to_string(*x) + " off the concat axis");
                    }
                }
                r.shapes[0] = out;
            } else if constexpr (std::is_same_v<T, ops::Slice>) {
                r.shapes[0] = infer_slice(*x, c);
            } else if constexpr (std::is_same_v<T, ops::Split>) {
                const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x->size(), c));
                auto sizes = split_sizes(*x, op, c);
                for (std::size_t o = 0; o < r.shapes.size(); ++o) {
                    Shape s = *x;
                    s[ax] = sizes[o];
                    r.shapes[o] = s;
                }
            } else if constexpr (std::is_same_v<T, ops::Squeeze>) {
                Shape out;
                if (c.has(1)) {
                    auto axes = c.const_ints(1, "axes");
                    std::vector<bool> drop(x->size(), false);
                    for (auto a : axes) {
                        auto ax = static_cast<std::size_t>(norm_axis(a, x->size(), c));
                        if ((*x)[ax] != 1 && (*x)[ax] >= 0) c.fail("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string((*x)[ax]));
                        drop[ax] = true;
                    }
                    for (std::size_t i = 0; i < x->size(); ++i)
                        if (!drop[i]) out.push_back((*x)[i]);
                } else {
                    for (auto d : *x)
                        if (d != 1) out.push_back(d);
                }
                r.shapes[0] = out;
            } else if constexpr (std::is_same_v<T, ops::Unsqueeze>) {
                auto axes = c.const_ints(1, "axes");
                const std::size_t rank = x->size() + axes.size();
                std::vector<bool> ins(rank, false);
                for (auto a : axes) {
                    auto ax = static_cast<std::size_t>(norm_axis(a, rank, c));
                    if (ins[ax]) c.fail("axes repeat " + std::to_string(a));
                    ins[ax] = true;
                }
                Shape out;
                std::size_t j = 0;
                for (std::size_t i = 0; i < rank; ++i) out.push_back(ins[i] ? 1 : (*x)[j++]);
                r.shapes[0] = out;
            } else if constexpr (std::is_same_v<T, ops::ReduceMean>) {
                std::vector<std::int64_t> axes = c.has(1) ? c.const_ints(1, "axes") : op.axes;
                std::vector<bool> red(x->size(), axes.empty() && op.noop_with_empty_axes == 0);
                for (auto a : axes) red[static_cast<std::size_t>(norm_axis(a, x->size(), c))] = true;
                Shape out;
                for (std::size_t i = 0; i < x->size(); ++i) {
                    if (!red[i]) out.push_back((*x)[i]);
                    else if (op.keepdims) out.push_back(1);
                }
                r.shapes[0] = out;
            } else if constexpr (std::is_same_v<T, ops::Resize>) {
                if (c.has(3)) {
                    auto sizes = c.const_ints(3, "sizes");
                    if (sizes.size() != x->size()) c.fail("sizes has " + std::to_string(sizes.size()) + " entries for rank " + std::to_string(x->size()));
                    check_range(sizes, 0, "sizes", c);
                    r.shapes[0] = Shape(sizes.begin(), sizes.end());
                } else if (c.has(2)) {
                    const Tensor* t = c.constant(2);
                    if (!t) c.fail("scales must be a constant for shape inference");
                    auto sc = t->as_floats();
                    if (sc.size() != x->size()) c.fail("scales has " + std::to_string(sc.size()) + " entries for rank " + std::to_string(x->size()));
                    Shape out;
                    for (std::size_t i = 0; i < x->size(); ++i) {
                        if (!(sc[i] > 0.0f) || !std::isfinite(sc[i])) c.fail("scales must be positive and finite, got " + std::to_string(sc[i]));
                        const double d = static_cast<double>((*x)[i]) * static_cast<double>(sc[i]);
                        if ((*x)[i] >= 0 && !(d <= static_cast<double>(max_dim))) c.fail("scales " + std::to_string(sc[i]) + " gives a dimension above 2^40");
                        out.push_back((*x)[i] < 0 ? -1 : static_cast<std::int64_t>(d));
                    }
                    r.shapes[0] = out;
                } else {
                    c.fail("needs scales or sizes");
                }
            } else if constexpr (std::is_same_v<T, ops::Constant>) {
                if (!op.value) c.fail("has no value");
                r.shapes[0] = op.value->shape;
                r.dtypes[0] = op.value->dtype;
            } else if constexpr (std::is_same_v<T, ops::Dropout>) {
                same();
                if (r.shapes.size() > 1) {
                    r.shapes[1] = *x;
                    r.dtypes[1] = DType::boolean;
                }
            } else if constexpr (std::is_same_v<T, ops::Softmax>) {
                (void)norm_axis(op.axis, x->size(), c);
                same();
            } else {
                // Element-wise unary ops (Relu, Sigmoid, Clip, HardSwish, ...) keep the shape.
                same();
            }
        },
        nd.op);
    for (std::size_t o = 0; o < r.shapes.size(); ++o)
        if (r.shapes[o]) check_shape_bounds(*r.shapes[o], "output " + std::to_string(o), c);
    return r;
}

/// Infers shapes and types of every node output, in topological order. Input and constant shapes
/// must be set. With `overwrite` false, an output that already has a shape is checked against the
/// inferred one (a mismatch is an error) instead of being replaced.
inline void infer_shapes(Graph& g, bool overwrite = true) {
    for (NodeId n : g.topological_order()) {
        inferred_outputs r = infer_node(g, n);
        const Node& nd = g.node(n);
        for (std::size_t o = 0; o < nd.outputs.size(); ++o) {
            ValueId v = nd.outputs[o];
            const auto& old = g.value(v).shape;
            if (!overwrite && old && r.shapes[o] && is_static(*old) && is_static(*r.shapes[o]) && *old != *r.shapes[o])
                throw graph_error(g.label(n), "output " + std::to_string(o) + " is declared " + to_string(*old) + " but inferred " +
                                                  to_string(*r.shapes[o]));
            if (r.shapes[o] || overwrite) g.set_shape(v, r.shapes[o] ? r.shapes[o] : old);
            g.set_dtype(v, r.dtypes[o]);
        }
    }
}

} // namespace surgery::ir
