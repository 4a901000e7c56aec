// What an op's shape rule sees (infer_context), and the shape arithmetic rules share (broadcasting, windows, bounds).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::ir {

/// One input of the node being inferred.
struct infer_input {
    bool present = false;                   ///< false for an omitted optional input
    const std::optional<Shape>* shape = nullptr;
    DType dtype = DType::undefined;
    const Tensor* constant = nullptr;       ///< the value when it is a constant
};

/// One output: what the rule computes, and what the graph holds now (for ops whose shapes come
/// from the model's declarations, such as opaque ops).
struct infer_output {
    std::optional<Shape> shape;             ///< nullopt: unknown
    DType dtype = DType::undefined;
    std::optional<Shape> stored_shape;
    DType stored_dtype = DType::undefined;
};

/// Largest dimension, kernel, stride, dilation or pad that shape inference accepts (2^40), and the
/// largest element count of a shape (2^62). Values come from model files: bounding them keeps every
/// sum and product below in range (no signed overflow), and a model beyond them is not a real one.
inline constexpr std::int64_t max_dim = std::int64_t{1} << 40;
inline constexpr std::int64_t max_elements = std::int64_t{1} << 62;

/// The view a shape rule has of one node: input shapes, types and constant values, its outputs,
/// and where to report. Rules never see the graph, so they work for any graph that can fill this.
class infer_context {
public:
    infer_context(std::string_view node, std::string_view op, std::span<const infer_input> inputs, std::span<infer_output> outputs,
                  std::int64_t opset = 17)
        : node_(node), op_(op), ins_(inputs), outs_(outputs), opset_(opset) {}

    // ---- inputs --------------------------------------------------------------------------
    [[nodiscard]] std::size_t num_inputs() const noexcept { return ins_.size(); }
    [[nodiscard]] bool has(std::size_t i) const noexcept { return i < ins_.size() && ins_[i].present; }
    /// Whether input `i` is present and its shape (at least its rank) is known.
    [[nodiscard]] bool known(std::size_t i) const noexcept { return has(i) && ins_[i].shape && ins_[i].shape->has_value(); }
    /// The shape of input `i`; fails when it is unknown (check `known` first where that is legal).
    [[nodiscard]] const Shape& shape(std::size_t i) const {
        if (!known(i)) fail("input " + std::to_string(i) + " has no known shape");
        return **ins_[i].shape;
    }
    /// The shape of input `i`, or nullptr when unknown or absent.
    [[nodiscard]] const Shape* shape_if(std::size_t i) const noexcept { return known(i) ? &**ins_[i].shape : nullptr; }
    [[nodiscard]] DType dtype(std::size_t i) const noexcept { return has(i) ? ins_[i].dtype : DType::undefined; }
    [[nodiscard]] const Tensor* constant(std::size_t i) const noexcept { return has(i) ? ins_[i].constant : nullptr; }
    /// The integer values of input `i` when it is a constant; nullopt when its value is not known
    /// (then the shapes that depend on it are unknown, not an error).
    [[nodiscard]] std::optional<std::vector<std::int64_t>> ints_if(std::size_t i) const {
        const Tensor* t = constant(i);
        if (!t) return std::nullopt;
        return t->as_ints();
    }
    /// The integer values of constant input `i`; fails naming `what` when it is not a constant.
    [[nodiscard]] std::vector<std::int64_t> const_ints(std::size_t i, std::string_view what) const {
        const Tensor* t = constant(i);
        if (!t) fail(std::string(what) + " (input " + std::to_string(i) + ") must be a constant for shape inference");
        return t->as_ints();
    }

    // ---- outputs -------------------------------------------------------------------------
    [[nodiscard]] std::size_t num_outputs() const noexcept { return outs_.size(); }
    void set(std::size_t o, Shape s, DType t) {
        outs_[o].shape = std::move(s);
        outs_[o].dtype = t;
    }
    void set(std::size_t o, Shape s) { outs_[o].shape = std::move(s); }
    void set_dtype(std::size_t o, DType t) { outs_[o].dtype = t; }
    /// Output 0 gets input 0's shape (and keeps the default type, input 0's).
    void same_as_input(std::size_t o = 0, std::size_t i = 0) {
        if (known(i)) outs_[o].shape = shape(i);
    }
    [[nodiscard]] const infer_output& output(std::size_t o) const { return outs_[o]; }

    // ---- context ---------------------------------------------------------------------------
    [[nodiscard]] std::int64_t opset() const noexcept { return opset_; }
    [[nodiscard]] std::string_view node() const noexcept { return node_; }
    [[nodiscard]] std::string_view op() const noexcept { return op_; }
    [[noreturn]] void fail(const std::string& msg) const { throw graph_error(std::string(node_), std::string(op_) + ": " + msg); }

private:
    std::string_view node_, op_;
    std::span<const infer_input> ins_;
    std::span<infer_output> outs_;
    std::int64_t opset_;
};

// ---- arithmetic shared by the rules -----------------------------------------------------------

/// Fails unless every value of `v` is in [lo, max_dim]; `what` names the attribute.
inline void check_range(const std::vector<std::int64_t>& v, std::int64_t lo, std::string_view what, const infer_context& c) {
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

/// `axis` in [-rank, rank) made non-negative; fails otherwise.
[[nodiscard]] inline std::int64_t norm_axis(std::int64_t axis, std::size_t rank, const infer_context& c, std::string_view what = "axis") {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r) c.fail(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + r : axis;
}

/// Axes normalised to [0, rank), each at most once; fails on a repeat or an axis out of range.
[[nodiscard]] inline std::vector<std::size_t> norm_axes(const std::vector<std::int64_t>& axes, std::size_t rank, const infer_context& c,
                                                        std::string_view what = "axes") {
    std::vector<std::size_t> out;
    std::vector<bool> seen(rank, false);
    for (auto a : axes) {
        const auto ax = static_cast<std::size_t>(norm_axis(a, rank, c, what));
        if (seen[ax]) c.fail(std::string(what) + " " + to_string(axes) + " repeat axis " + std::to_string(a));
        seen[ax] = true;
        out.push_back(ax);
    }
    return out;
}

/// Numpy broadcasting of two shapes; -1 (unknown) is kept unknown unless the other side fixes it.
[[nodiscard]] inline Shape broadcast(const Shape& a, const Shape& b, const infer_context& c) {
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

/// Broadcast of every present input's shape; nullopt when one is unknown.
[[nodiscard]] inline std::optional<Shape> broadcast_inputs(const infer_context& c, std::size_t from = 0) {
    std::optional<Shape> out;
    for (std::size_t i = from; i < c.num_inputs(); ++i) {
        if (!c.has(i)) continue;
        if (!c.known(i)) return std::nullopt;
        out = out ? broadcast(*out, c.shape(i), c) : c.shape(i);
    }
    return out;
}

/// Output length of a pooling/convolution window along one axis.
[[nodiscard]] inline std::int64_t pool_out(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t pb, std::int64_t pe,
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
[[nodiscard]] inline Shape spatial_out(const Shape& x, const Ints& kernel, const Ints& strides_in, const Ints& pads_in, const Ints& dil_in,
                                       const std::string& auto_pad, bool ceil_mode, const infer_context& c) {
    const std::size_t sp = x.size() - 2;
    if (kernel.size() != sp) c.fail("kernel has " + std::to_string(kernel.size()) + " dims for a " + std::to_string(sp) + "-D input");
    Ints strides = strides_in.empty() ? Ints(sp, 1) : strides_in;
    Ints dil = dil_in.empty() ? Ints(sp, 1) : dil_in;
    Ints pads = pads_in.empty() ? Ints(2 * sp, 0) : pads_in;
    if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp) c.fail("strides/dilations/pads do not match the kernel rank");
    check_range(kernel, 1, "kernel_shape", c);
    check_range(strides, 1, "strides", c);
    check_range(dil, 1, "dilations", c);
    check_range(pads, 0, "pads", c);
    for (std::size_t i = 0; i < sp; ++i)
        if (kernel[i] > 1 && dil[i] > max_dim / (kernel[i] - 1))
            c.fail("the dilated kernel (dilation " + std::to_string(dil[i]) + " x kernel " + std::to_string(kernel[i]) + ") is larger than 2^40");
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

/// Product of the dims of `s` in [from, to), or -1 when one of them is unknown. Dims are bounded by
/// `check_shape_bounds` before rules run, so the product of a shape's own dims cannot overflow.
[[nodiscard]] inline std::int64_t dims_product(const Shape& s, std::size_t from, std::size_t to) {
    std::int64_t p = 1;
    for (std::size_t k = from; k < to && k < s.size(); ++k) {
        if (s[k] < 0) return -1;
        p *= s[k];
    }
    return p;
}

} // namespace surgery::ir
