// Shapes and indexing: Shape, Size, ConstantOfShape, Range, Gather(Elements, ND), Scatter(Elements, ND),
// Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Trilu, CumSum, NonZero, OneHot, Einsum.
//
// Shape-like operands (a target shape, repeats, pads, axes) are read with `int_operand`: a value
// that is not a constant makes the dependent dims unknown (never an error), and a constant of a
// non-integer type is rejected instead of being truncated.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"

namespace surgery::ir::ops {

// ---- operands shared by the rules -----------------------------------------------------------

/// The integer values of constant input `i` (nullopt when it is absent or not a constant); fails
/// when the constant is not an integer tensor or has rank above 1. `what` names the operand.
[[nodiscard]] inline std::optional<std::vector<std::int64_t>> int_operand(const infer_context& c, std::size_t i, std::string_view what) {
    const Tensor* t = c.constant(i);
    if (!t) return std::nullopt;
    if (t->dtype != DType::i64 && t->dtype != DType::i32)
        c.fail(std::string(what) + " (input " + std::to_string(i) + ") must be an int64 tensor, got " + std::string(to_string(t->dtype)));
    if (t->shape.size() > 1) c.fail(std::string(what) + " (input " + std::to_string(i) + ") must be 1-D, got shape " + to_string(t->shape));
    return t->i;
}

/// `v` as an integer when it is finite and within [lo, hi]; nullopt otherwise (no undefined
/// float-to-integer conversion for any input).
[[nodiscard]] inline std::optional<std::int64_t> float_to_int(double v, std::int64_t lo = -max_elements, std::int64_t hi = max_elements) {
    if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi))) return std::nullopt; // NaN fails both
    return static_cast<std::int64_t>(v);
}

/// The one value of constant scalar (or one-element) input `i` as an integer: floats are truncated
/// toward zero, as ONNX casts them. nullopt when the input is not a constant; fails when it has
/// other than one element or a value outside [-2^62, 2^62].
[[nodiscard]] inline std::optional<std::int64_t> int_scalar_operand(const infer_context& c, std::size_t i, std::string_view what) {
    const Tensor* t = c.constant(i);
    if (!t) return std::nullopt;
    if (t->size() != 1) c.fail(std::string(what) + " (input " + std::to_string(i) + ") must have one element, got shape " + to_string(t->shape));
    if (t->dtype == DType::f32) {
        if (t->f.size() != 1) return std::nullopt;
        const auto v = float_to_int(t->f[0]);
        if (!v) c.fail(std::string(what) + " (input " + std::to_string(i) + ") is " + std::to_string(t->f[0]) + ", not a usable integer");
        return v;
    }
    if (t->i.size() != 1) return std::nullopt;
    return t->i[0];
}

/// Checked `a * b` for sizes in [0, max_dim]: fails when the product exceeds max_dim.
[[nodiscard]] inline std::int64_t dim_product(std::int64_t a, std::int64_t b, const infer_context& c, std::string_view what) {
    if (a < 0 || b < 0) return -1;
    if (a != 0 && b > max_dim / a) c.fail(std::string(what) + ": " + std::to_string(a) + " x " + std::to_string(b) + " is larger than 2^40");
    return a * b;
}

// ---- shape queries ----------------------------------------------------------------------------

/// Shape(data): the dims of `data` from `start` to `end` (opset 15's slice; both clamp to
/// [0, rank] after adding the rank to negative values) as a 1-D int64 tensor. Named `ShapeOf`
/// because `Shape` is the IR's dimension vector; its ONNX op_type is "Shape".
struct ShapeOf {
    static constexpr std::string_view name = "Shape";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::shape_compute;
    /// Reads only its input's shape: foldable whenever that shape is static (reference/fold.hpp).
    static constexpr bool reads_shape_only = true;
    static constexpr std::array<newer_part, 2> newer_parts{{{"start", 15}, {"end", 15}}};
    std::int64_t start = 0;
    std::int64_t end = std::numeric_limits<std::int64_t>::max(); ///< the default: up to the last axis
    static constexpr auto attributes() { return std::tuple{attr("start", &ShapeOf::start), attr("end", &ShapeOf::end)}; }
    friend bool operator==(const ShapeOf&, const ShapeOf&) = default;
};

/// The axes [first, last) a Shape of a rank-`rank` tensor returns.
[[nodiscard]] inline std::pair<std::size_t, std::size_t> shape_range(const ShapeOf& op, std::size_t rank) noexcept {
    const auto r = static_cast<std::int64_t>(rank);
    auto clamp = [r](std::int64_t v) { return v < 0 ? (v < -r ? 0 : v + r) : (v > r ? r : v); };
    const std::int64_t s = clamp(op.start), e = clamp(op.end);
    return {static_cast<std::size_t>(s), static_cast<std::size_t>(e > s ? e : s)};
}

inline void infer(const ShapeOf& op, infer_context& c) {
    c.set_dtype(0, DType::i64);
    if (!c.known(0)) return;
    const auto [first, last] = shape_range(op, c.shape(0).size());
    c.set(0, Shape{static_cast<std::int64_t>(last - first)});
}

/// Size(data): the number of elements of `data`, an int64 scalar.
struct Size {
    static constexpr std::string_view name = "Size";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::shape_compute;
    static constexpr bool reads_shape_only = true;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Size&, const Size&) = default;
};

inline void infer(const Size&, infer_context& c) { c.set(0, Shape{}, DType::i64); }

/// ConstantOfShape(shape): a tensor of the given shape filled with `value` (a one-element tensor;
/// none means float32 0). The output has `value`'s element type.
struct ConstantOfShape {
    static constexpr std::string_view name = "ConstantOfShape";
    static constexpr std::int64_t since = 9;
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::shape_compute;
    std::shared_ptr<const Tensor> value;
    static constexpr auto attributes() { return std::tuple{attr("value", &ConstantOfShape::value)}; }
    friend bool operator==(const ConstantOfShape& a, const ConstantOfShape& b) {
        return a.value == b.value || (a.value && b.value && *a.value == *b.value);
    }
};

inline void infer(const ConstantOfShape& op, infer_context& c) {
    if (op.value && op.value->size() != 1) c.fail("value must have one element, got shape " + to_string(op.value->shape));
    c.set_dtype(0, op.value ? op.value->dtype : DType::f32);
    if (const auto dims = int_operand(c, 0, "shape")) {
        check_range(*dims, 0, "shape", c);
        c.set(0, *dims);
    } else if (c.known(0) && c.shape(0).size() == 1 && c.shape(0)[0] >= 0 && c.shape(0)[0] <= 64) {
        c.set(0, Shape(static_cast<std::size_t>(c.shape(0)[0]), -1));
    }
}

/// Range(start, limit, delta): start + k * delta for k in [0, max(ceil((limit - start) / delta), 0)).
/// Scalars of one type (float32, int32, int64); the output has that type.
struct Range {
    static constexpr std::string_view name = "Range";
    static constexpr std::int64_t since = 11;
    static constexpr arity_t arity{3, 3, 1, 1};
    static constexpr trait traits = trait::shape_compute;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Range&, const Range&) = default;
};

/// The element count of a Range; an error message instead when the operands are unusable (delta
/// 0, not finite, or more than 2^40 elements). Integer operands are exact for every int64 value.
[[nodiscard]] inline std::int64_t range_count(const Tensor& start, const Tensor& limit, const Tensor& delta, std::string& error) {
    if (start.size() != 1 || limit.size() != 1 || delta.size() != 1) {
        error = "start, limit and delta must be scalars";
        return 0;
    }
    if (start.dtype != limit.dtype || start.dtype != delta.dtype) {
        error = "start, limit and delta must have one type";
        return 0;
    }
    if (start.dtype == DType::f32) {
        if (start.f.size() != 1 || limit.f.size() != 1 || delta.f.size() != 1) {
            error = "start, limit and delta hold no data";
            return 0;
        }
        const double s = start.f[0], l = limit.f[0], d = delta.f[0];
        if (d == 0.0) error = "delta is 0";
        else if (!std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d)) error = "start, limit and delta must be finite";
        if (!error.empty()) return 0;
        const double n = std::ceil((l - s) / d);
        if (n <= 0) return 0;
        if (n > static_cast<double>(max_dim)) {
            error = "the range has more than 2^40 elements";
            return 0;
        }
        return static_cast<std::int64_t>(n);
    }
    if (start.dtype != DType::i64 && start.dtype != DType::i32) {
        error = "start, limit and delta must be float32, int32 or int64, got " + std::string(to_string(start.dtype));
        return 0;
    }
    if (start.i.size() != 1 || limit.i.size() != 1 || delta.i.size() != 1) {
        error = "start, limit and delta hold no data";
        return 0;
    }
    const std::int64_t s = start.i[0], l = limit.i[0], d = delta.i[0];
    if (d == 0) {
        error = "delta is 0";
        return 0;
    }
    if ((d > 0 && l <= s) || (d < 0 && l >= s)) return 0;
    // |l - s| and |d| as unsigned (exact for every int64 pair): ceil(dist / step).
    const std::uint64_t dist = d > 0 ? static_cast<std::uint64_t>(l) - static_cast<std::uint64_t>(s) : static_cast<std::uint64_t>(s) - static_cast<std::uint64_t>(l);
    const std::uint64_t step = d > 0 ? static_cast<std::uint64_t>(d) : std::uint64_t{0} - static_cast<std::uint64_t>(d);
    const std::uint64_t n = (dist - 1) / step + 1;
    if (n > static_cast<std::uint64_t>(max_dim)) {
        error = "the range has more than 2^40 elements";
        return 0;
    }
    return static_cast<std::int64_t>(n);
}

inline void infer(const Range&, infer_context& c) {
    c.set(0, Shape{-1}, c.dtype(0));
    const Tensor *s = c.constant(0), *l = c.constant(1), *d = c.constant(2);
    if (!s || !l || !d) return;
    std::string error;
    const std::int64_t n = range_count(*s, *l, *d, error);
    if (!error.empty()) c.fail(error);
    c.set(0, Shape{n});
}

// ---- gathers and scatters -------------------------------------------------------------------------

/// Gather(data, indices): entries of `data` along `axis` (negative indices count from the end).
struct Gather {
    static constexpr std::string_view name = "Gather";
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    std::int64_t axis = 0;
    static constexpr auto attributes() { return std::tuple{attr("axis", &Gather::axis)}; }
    friend bool operator==(const Gather&, const Gather&) = default;
};

/// Fails unless constant indices `idx` are in [-dim, dim) (a dim of -1 is unknown: no check).
inline void check_indices(const std::vector<std::int64_t>& idx, std::int64_t dim, const infer_context& c, std::string_view what = "index") {
    if (dim < 0) return;
    for (auto v : idx)
        if (v < -dim || v >= dim) c.fail(std::string(what) + " " + std::to_string(v) + " is out of range for a dim of size " + std::to_string(dim));
}

/// Integer element types that index tensors may have.
[[nodiscard]] constexpr bool is_index_type(DType t) noexcept { return t == DType::i64 || t == DType::i32; }

inline void infer(const Gather& op, infer_context& c) {
    if (c.has(1) && c.dtype(1) != DType::undefined && !is_index_type(c.dtype(1)))
        c.fail("indices must be int32 or int64, got " + std::string(to_string(c.dtype(1))));
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (x.empty()) c.fail("data must have rank >= 1");
    const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x.size(), c));
    if (const Tensor* t = c.constant(1); t && is_index_type(t->dtype)) check_indices(t->i, x[ax], c);
    if (!c.known(1)) return;
    const Shape& idx = c.shape(1);
    Shape out(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(ax));
    out.insert(out.end(), idx.begin(), idx.end());
    out.insert(out.end(), x.begin() + static_cast<std::ptrdiff_t>(ax) + 1, x.end());
    c.set(0, std::move(out));
}

/// GatherElements(data, indices): out[i][j][k] = data[indices[i][j][k]][j][k] (axis 0); the
/// output has the indices' shape.
struct GatherElements {
    static constexpr std::string_view name = "GatherElements";
    static constexpr std::int64_t since = 11;
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    std::int64_t axis = 0;
    static constexpr auto attributes() { return std::tuple{attr("axis", &GatherElements::axis)}; }
    friend bool operator==(const GatherElements&, const GatherElements&) = default;
};

/// Shared by GatherElements and ScatterElements: `idx` (the indices' shape) against `x` (the
/// data's): the same rank, and no larger than the data off the axis. Returns the normalised axis.
inline std::size_t check_elements_indices(std::int64_t axis, const Shape& x, const Shape& idx, const infer_context& c) {
    if (x.empty()) c.fail("data must have rank >= 1");
    const auto ax = static_cast<std::size_t>(norm_axis(axis, x.size(), c));
    if (idx.size() != x.size()) c.fail("indices " + to_string(idx) + " must have the rank of data " + to_string(x));
    for (std::size_t d = 0; d < x.size(); ++d)
        if (d != ax && x[d] >= 0 && idx[d] > x[d]) c.fail("indices " + to_string(idx) + " are larger than data " + to_string(x) + " off the axis");
    return ax;
}

inline void infer(const GatherElements& op, infer_context& c) {
    if (!c.known(1)) return;
    if (c.known(0)) {
        const std::size_t ax = check_elements_indices(op.axis, c.shape(0), c.shape(1), c);
        if (const Tensor* t = c.constant(1); t && is_index_type(t->dtype)) check_indices(t->i, c.shape(0)[ax], c);
    }
    c.set(0, c.shape(1));
}

/// GatherND(data, indices): slices of `data` addressed by the last axis of `indices`, after
/// `batch_dims` leading axes shared by both.
struct GatherND {
    static constexpr std::string_view name = "GatherND";
    static constexpr std::int64_t since = 11;
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr std::array<newer_part, 1> newer_parts{{{"batch_dims", 12}}};
    std::int64_t batch_dims = 0;
    static constexpr auto attributes() { return std::tuple{attr("batch_dims", &GatherND::batch_dims)}; }
    friend bool operator==(const GatherND&, const GatherND&) = default;
};

inline void infer(const GatherND& op, infer_context& c) {
    if (!c.known(0) || !c.known(1)) return;
    const Shape &x = c.shape(0), &idx = c.shape(1);
    const auto r = static_cast<std::int64_t>(x.size()), q = static_cast<std::int64_t>(idx.size());
    if (r < 1 || q < 1) c.fail("data and indices must have rank >= 1");
    if (op.batch_dims < 0 || op.batch_dims >= std::min(r, q)) c.fail("batch_dims " + std::to_string(op.batch_dims) + " must be in [0, min(ranks))");
    const auto b = static_cast<std::size_t>(op.batch_dims);
    for (std::size_t d = 0; d < b; ++d)
        if (x[d] >= 0 && idx[d] >= 0 && x[d] != idx[d]) c.fail("the batch dims of data " + to_string(x) + " and indices " + to_string(idx) + " differ");
    const std::int64_t k = idx.back();
    if (k < 0) return;
    if (k < 1 || k > r - op.batch_dims) c.fail("indices " + to_string(idx) + ": the last dim must be in [1, rank(data) - batch_dims]");
    Shape out(idx.begin(), idx.end() - 1);
    for (std::size_t d = 0; d < b; ++d)
        if (out[d] < 0) out[d] = x[d];
    out.insert(out.end(), x.begin() + static_cast<std::ptrdiff_t>(b) + k, x.end());
    c.set(0, std::move(out));
}

/// ScatterElements(data, indices, updates): data with updates written at the positions
/// GatherElements would read; `reduction` "none", "add", "mul", "max" or "min" combines them.
struct ScatterElements {
    static constexpr std::string_view name = "ScatterElements";
    static constexpr std::int64_t since = 11;
    static constexpr arity_t arity{3, 3, 1, 1};
    std::int64_t axis = 0;
    std::string reduction = "none";
    static constexpr std::array<newer_part, 3> newer_parts{{{"reduction", 16}, {"reduction", 18, false, 0, "max"}, {"reduction", 18, false, 0, "min"}}};
    static constexpr auto attributes() { return std::tuple{attr("axis", &ScatterElements::axis), attr("reduction", &ScatterElements::reduction)}; }
    friend bool operator==(const ScatterElements&, const ScatterElements&) = default;
};

/// Fails unless `r` names a scatter reduction.
inline void check_scatter_reduction(const std::string& r, const infer_context& c) {
    if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min") c.fail("unknown reduction '" + r + "'");
}

inline void infer(const ScatterElements& op, infer_context& c) {
    check_scatter_reduction(op.reduction, c);
    if (c.known(0) && c.known(1)) {
        (void)check_elements_indices(op.axis, c.shape(0), c.shape(1), c);
        if (c.known(2) && c.shape(2) != c.shape(1) && is_static(c.shape(2)) && is_static(c.shape(1)))
            c.fail("updates " + to_string(c.shape(2)) + " must have the shape of indices " + to_string(c.shape(1)));
    }
    c.same_as_input();
}

/// ScatterND(data, indices, updates): data with slices replaced (or combined by `reduction`) at
/// the positions addressed by the last axis of `indices`.
struct ScatterND {
    static constexpr std::string_view name = "ScatterND";
    static constexpr std::int64_t since = 11;
    static constexpr arity_t arity{3, 3, 1, 1};
    std::string reduction = "none";
    static constexpr std::array<newer_part, 3> newer_parts{{{"reduction", 16}, {"reduction", 18, false, 0, "max"}, {"reduction", 18, false, 0, "min"}}};
    static constexpr auto attributes() { return std::tuple{attr("reduction", &ScatterND::reduction)}; }
    friend bool operator==(const ScatterND&, const ScatterND&) = default;
};

inline void infer(const ScatterND& op, infer_context& c) {
    check_scatter_reduction(op.reduction, c);
    if (c.known(0) && c.known(1)) {
        const Shape &x = c.shape(0), &idx = c.shape(1);
        if (idx.empty()) c.fail("indices must have rank >= 1");
        if (idx.back() >= 0 && (idx.back() < 1 || idx.back() > static_cast<std::int64_t>(x.size())))
            c.fail("indices " + to_string(idx) + ": the last dim must be in [1, rank(data)]");
    }
    c.same_as_input();
}

// ---- broadcasting, tiling, padding ------------------------------------------------------------------

/// Expand(input, shape): `input` broadcast with `shape` (numpy rules, both ways: a 1 in `shape`
/// keeps the input's dim).
struct Expand {
    static constexpr std::string_view name = "Expand";
    static constexpr std::int64_t since = 8;
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Expand&, const Expand&) = default;
};

inline void infer(const Expand&, infer_context& c) {
    const auto target = int_operand(c, 1, "shape");
    if (target) check_range(*target, 0, "shape", c);
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (target) {
        c.set(0, broadcast(x, *target, c));
    } else if (c.known(1) && c.shape(1).size() == 1 && c.shape(1)[0] >= 0 && c.shape(1)[0] <= 64) {
        c.set(0, Shape(std::max(x.size(), static_cast<std::size_t>(c.shape(1)[0])), -1));
    }
}

/// Tile(input, repeats): `input` repeated `repeats[d]` times along each axis d.
struct Tile {
    static constexpr std::string_view name = "Tile";
    static constexpr std::int64_t since = 6;
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Tile&, const Tile&) = default;
};

inline void infer(const Tile&, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    const auto reps = int_operand(c, 1, "repeats");
    if (!reps) {
        c.set(0, Shape(x.size(), -1));
        return;
    }
    if (reps->size() != x.size()) c.fail("repeats has " + std::to_string(reps->size()) + " values for rank " + std::to_string(x.size()));
    check_range(*reps, 0, "repeats", c);
    Shape out(x.size());
    for (std::size_t d = 0; d < x.size(); ++d) out[d] = dim_product(x[d], (*reps)[d], c, "the tiled dim");
    c.set(0, std::move(out));
}

/// Pad(data, pads[, constant_value][, axes]) (opset 11 form: pads as input; `axes` from opset 18).
/// `pads` is [x1_begin, x2_begin, ..., x1_end, x2_end] over `axes` (default: all); negative pads
/// crop. Modes: "constant", "reflect" (mirror without the edge), "edge", "wrap" (opset 19); the
/// modes other than constant pad the cropped data.
struct Pad {
    static constexpr std::string_view name = "Pad";
    static constexpr std::int64_t since = 2;
    static constexpr arity_t arity{1, 4, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr std::array<legacy_input, 2> legacy_inputs{
        {{"pads", 1, 11, legacy_kind::ints}, {"value", 2, 11, legacy_kind::float_scalar}}};
    static constexpr std::array<newer_part, 2> newer_parts{{{"axes", 18, true, 3}, {"mode", 19, false, 0, "wrap"}}};
    std::string mode = "constant";
    static constexpr auto attributes() { return std::tuple{attr("mode", &Pad::mode)}; }
    friend bool operator==(const Pad&, const Pad&) = default;
};

/// Begin and end pads per axis of a rank-`rank` tensor from a Pad's `pads` and `axes`; fails on
/// lengths that do not fit, repeated axes, and pads outside [-2^40, 2^40].
[[nodiscard]] inline std::vector<std::int64_t> pad_amounts(const std::vector<std::int64_t>& pads, const std::optional<std::vector<std::int64_t>>& axes,
                                                           std::size_t rank, const infer_context& c) {
    std::vector<std::size_t> ax;
    if (axes) ax = norm_axes(*axes, rank, c);
    else
        for (std::size_t d = 0; d < rank; ++d) ax.push_back(d);
    if (pads.size() != 2 * ax.size())
        c.fail("pads has " + std::to_string(pads.size()) + " values for " + std::to_string(ax.size()) + " padded axes (needs twice as many)");
    for (auto p : pads)
        if (p < -max_dim || p > max_dim) c.fail("pads " + to_string(pads) + ": " + std::to_string(p) + " is outside [-2^40, 2^40]");
    std::vector<std::int64_t> out(2 * rank, 0);
    for (std::size_t k = 0; k < ax.size(); ++k) {
        out[ax[k]] = pads[k];
        out[ax[k] + rank] = pads[k + ax.size()];
    }
    return out;
}

/// Fails unless `mode` is a Pad mode.
inline void check_pad_mode(const std::string& mode, const infer_context& c) {
    if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
        c.fail("unknown mode '" + mode + "' (constant, reflect, edge or wrap)");
}

inline void infer(const Pad& op, infer_context& c) {
    check_pad_mode(op.mode, c);
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    const auto pads = int_operand(c, 1, "pads");
    const auto axes = c.has(3) ? int_operand(c, 3, "axes") : std::optional<std::vector<std::int64_t>>();
    if (!pads || (c.has(3) && !axes)) {
        c.set(0, Shape(x.size(), -1));
        return;
    }
    const std::vector<std::int64_t> p = pad_amounts(*pads, axes, x.size(), c);
    Shape out(x.size());
    for (std::size_t d = 0; d < x.size(); ++d) {
        if (x[d] < 0) {
            out[d] = -1;
            continue;
        }
        const std::int64_t b = p[d], e = p[d + x.size()];
        const std::int64_t kept = x[d] + std::min<std::int64_t>(b, 0) + std::min<std::int64_t>(e, 0);
        if (kept < 0) c.fail("pads " + to_string(*pads) + " crop more than the " + std::to_string(x[d]) + " elements of axis " + std::to_string(d));
        if (kept == 0 && op.mode != "constant" && (b > 0 || e > 0))
            c.fail("mode '" + op.mode + "' cannot pad axis " + std::to_string(d) + ", which has no elements");
        out[d] = kept + std::max<std::int64_t>(b, 0) + std::max<std::int64_t>(e, 0);
    }
    c.set(0, std::move(out));
}

/// DepthToSpace(input): [N, C, H, W] -> [N, C / b^2, H b, W b]. Mode "DCR" takes the block
/// offsets from the outer part of the channel, "CRD" from the inner part.
struct DepthToSpace {
    static constexpr std::string_view name = "DepthToSpace";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::data_movement;
    std::int64_t blocksize = 0; ///< required by ONNX
    std::string mode = "DCR";
    static constexpr auto attributes() { return std::tuple{attr("blocksize", &DepthToSpace::blocksize), attr("mode", &DepthToSpace::mode)}; }
    friend bool operator==(const DepthToSpace&, const DepthToSpace&) = default;
};

/// SpaceToDepth(input): [N, C, H, W] -> [N, C b^2, H / b, W / b] (the inverse of DCR DepthToSpace).
struct SpaceToDepth {
    static constexpr std::string_view name = "SpaceToDepth";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::data_movement;
    std::int64_t blocksize = 0; ///< required by ONNX
    static constexpr auto attributes() { return std::tuple{attr("blocksize", &SpaceToDepth::blocksize)}; }
    friend bool operator==(const SpaceToDepth&, const SpaceToDepth&) = default;
};

/// Fails unless `b` is a usable block size (1 to 2^20, so that b^2 stays within the dim bound).
inline void check_blocksize(std::int64_t b, const infer_context& c) {
    if (b < 1 || b > (std::int64_t{1} << 20)) c.fail("blocksize " + std::to_string(b) + " must be in [1, 2^20]");
}

inline void infer(const DepthToSpace& op, infer_context& c) {
    check_blocksize(op.blocksize, c);
    if (op.mode != "DCR" && op.mode != "CRD") c.fail("unknown mode '" + op.mode + "' (DCR or CRD)");
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (x.size() != 4) c.fail("input must be [N, C, H, W], got " + to_string(x));
    const std::int64_t b = op.blocksize, bb = b * b;
    if (x[1] >= 0 && x[1] % bb != 0) c.fail("channels " + std::to_string(x[1]) + " are not divisible by blocksize^2 = " + std::to_string(bb));
    c.set(0, Shape{x[0], x[1] < 0 ? -1 : x[1] / bb, dim_product(x[2], b, c, "height"), dim_product(x[3], b, c, "width")});
}

inline void infer(const SpaceToDepth& op, infer_context& c) {
    check_blocksize(op.blocksize, c);
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (x.size() != 4) c.fail("input must be [N, C, H, W], got " + to_string(x));
    const std::int64_t b = op.blocksize;
    for (std::size_t d = 2; d < 4; ++d)
        if (x[d] >= 0 && x[d] % b != 0) c.fail("spatial dims of " + to_string(x) + " are not divisible by blocksize " + std::to_string(b));
    c.set(0, Shape{x[0], dim_product(x[1], b * b, c, "channels"), x[2] < 0 ? -1 : x[2] / b, x[3] < 0 ? -1 : x[3] / b});
}

// ---- masks, scans, selections ---------------------------------------------------------------------

/// Trilu(input[, k]): the upper (`upper` = 1: j - i >= k) or lower (j - i <= k) triangle of the
/// last two axes; the rest is zero.
struct Trilu {
    static constexpr std::string_view name = "Trilu";
    static constexpr std::int64_t since = 14;
    static constexpr arity_t arity{1, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    std::int64_t upper = 1;
    static constexpr auto attributes() { return std::tuple{attr("upper", &Trilu::upper)}; }
    friend bool operator==(const Trilu&, const Trilu&) = default;
};

inline void infer(const Trilu&, infer_context& c) {
    if (c.known(0) && c.shape(0).size() < 2) c.fail("input must have rank >= 2, got " + to_string(c.shape(0)));
    (void)int_scalar_operand(c, 1, "k");
    c.same_as_input();
}

/// CumSum(x, axis): running sums along `axis` (`exclusive`: without the element itself;
/// `reverse`: from the end).
struct CumSum {
    static constexpr std::string_view name = "CumSum";
    static constexpr std::int64_t since = 11;
    static constexpr arity_t arity{2, 2, 1, 1};
    std::int64_t exclusive = 0;
    std::int64_t reverse = 0;
    static constexpr auto attributes() { return std::tuple{attr("exclusive", &CumSum::exclusive), attr("reverse", &CumSum::reverse)}; }
    friend bool operator==(const CumSum&, const CumSum&) = default;
};

inline void infer(const CumSum&, infer_context& c) {
    if (c.has(1) && c.dtype(1) != DType::undefined && !is_index_type(c.dtype(1)))
        c.fail("axis (input 1) must be int32 or int64, got " + std::string(to_string(c.dtype(1))));
    if (c.known(0)) {
        if (const auto a = int_scalar_operand(c, 1, "axis")) (void)norm_axis(*a, c.shape(0).size(), c);
    }
    c.same_as_input();
}

/// NonZero(x): the indices of the non-zero elements, [rank, count] int64, in row-major order.
struct NonZero {
    static constexpr std::string_view name = "NonZero";
    static constexpr std::int64_t since = 9;
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const NonZero&, const NonZero&) = default;
};

inline void infer(const NonZero&, infer_context& c) {
    c.set_dtype(0, DType::i64);
    if (c.known(0)) c.set(0, Shape{static_cast<std::int64_t>(c.shape(0).size()), -1});
}

/// OneHot(indices, depth, values): a new axis of `depth` at `axis` holding values[1] where it
/// equals the index (negative indices count from the end; out-of-range ones match nothing) and
/// values[0] elsewhere. The output has `values`' type.
struct OneHot {
    static constexpr std::string_view name = "OneHot";
    static constexpr std::int64_t since = 9;
    static constexpr arity_t arity{3, 3, 1, 1};
    std::int64_t axis = -1;
    static constexpr auto attributes() { return std::tuple{attr("axis", &OneHot::axis)}; }
    friend bool operator==(const OneHot&, const OneHot&) = default;
};

inline void infer(const OneHot& op, infer_context& c) {
    c.set_dtype(0, c.dtype(2));
    if (c.known(2) && is_static(c.shape(2)) && dims_product(c.shape(2), 0, c.shape(2).size()) != 2)
        c.fail("values must hold two elements [off, on], got shape " + to_string(c.shape(2)));
    const auto depth = int_scalar_operand(c, 1, "depth");
    if (depth && (*depth < 1 || *depth > max_dim)) c.fail("depth " + std::to_string(*depth) + " must be in [1, 2^40]");
    if (!c.known(0)) return;
    const Shape& idx = c.shape(0);
    const auto ax = static_cast<std::size_t>(norm_axis(op.axis, idx.size() + 1, c));
    Shape out = idx;
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(ax), depth ? *depth : -1);
    c.set(0, std::move(out));
}

// ---- Einsum ---------------------------------------------------------------------------------------

/// Einsum(inputs...): the Einstein summation `equation` ("ij,jk->ik"; spaces are ignored; without
/// "->" the output is the labels used once, in ASCII order, after the ellipsis dims). A label
/// repeated within one operand takes its diagonal; "..." stands for broadcast leading dims.
struct Einsum {
    static constexpr std::string_view name = "Einsum";
    static constexpr std::int64_t since = 12;
    static constexpr arity_t arity{1, arity_t::variadic, 1, 1};
    std::string equation;
    static constexpr auto attributes() { return std::tuple{attr("equation", &Einsum::equation)}; }
    friend bool operator==(const Einsum&, const Einsum&) = default;
};

/// An Einsum equation resolved against its operands' ranks: one label per operand dim and per
/// output dim. Letters are labels 0-51 in ASCII order ('A'-'Z', then 'a'-'z'); the ellipsis dims
/// are labels 52 + k, k in [0, ellipsis_rank), aligned to the right as in broadcasting.
struct einsum_equation {
    static constexpr int first_ellipsis_label = 52;
    std::vector<std::vector<int>> inputs;
    std::vector<int> output;
    std::size_t ellipsis_rank = 0;
    [[nodiscard]] std::size_t label_count() const noexcept { return first_ellipsis_label + ellipsis_rank; }
};

/// Parses `equation` for operands of ranks `ranks`; on a malformed equation or a rank that does
/// not fit, `error` is set and the result is unusable.
[[nodiscard]] inline einsum_equation parse_einsum(std::string_view equation, std::span<const std::size_t> ranks, std::string& error) {
    einsum_equation eq;
    std::string s;
    for (char ch : equation)
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') s += ch;
    const std::size_t arrow = s.find("->");
    const std::string lhs = s.substr(0, arrow);
    const bool explicit_output = arrow != std::string::npos;
    const std::string rhs = explicit_output ? s.substr(arrow + 2) : std::string();
    auto letter = [](char ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' : (ch >= 'a' && ch <= 'z' ? 26 + (ch - 'a') : -1); };
    // Split a term into letters, with -1 marking the ellipsis; false on a character that is neither.
    auto split = [&](const std::string& term, std::vector<int>& out) {
        bool ellipsis = false;
        for (std::size_t k = 0; k < term.size(); ++k) {
            if (term[k] == '.') {
                if (ellipsis || term.compare(k, 3, "...") != 0) return false;
                ellipsis = true;
                out.push_back(-1);
                k += 2;
                continue;
            }
            const int l = letter(term[k]);
            if (l < 0) return false;
            out.push_back(l);
        }
        return true;
    };
    std::vector<std::vector<int>> terms;
    std::size_t from = 0;
    while (true) {
        const std::size_t comma = lhs.find(',', from);
        terms.emplace_back();
        if (!split(lhs.substr(from, comma == std::string::npos ? std::string::npos : comma - from), terms.back())) {
            error = "equation '" + std::string(equation) + "' has a term that is not letters and one '...'";
            return eq;
        }
        if (comma == std::string::npos) break;
        from = comma + 1;
    }
    if (terms.size() != ranks.size()) {
        error = "equation '" + std::string(equation) + "' has " + std::to_string(terms.size()) + " input terms for " + std::to_string(ranks.size()) + " inputs";
        return eq;
    }
    std::vector<std::size_t> ell(terms.size(), 0);
    bool any_ellipsis = false;
    for (std::size_t t = 0; t < terms.size(); ++t) {
        std::size_t letters = 0;
        bool has_ellipsis = false;
        for (int l : terms[t]) {
            if (l < 0) has_ellipsis = true;
            else ++letters;
        }
        if (has_ellipsis ? letters > ranks[t] : letters != ranks[t]) {
            error = "equation '" + std::string(equation) + "': term " + std::to_string(t) + " has " + std::to_string(letters) + " labels for an input of rank " +
                    std::to_string(ranks[t]);
            return eq;
        }
        if (has_ellipsis) {
            any_ellipsis = true;
            ell[t] = ranks[t] - letters;
            eq.ellipsis_rank = std::max(eq.ellipsis_rank, ell[t]);
        }
    }
    std::array<int, einsum_equation::first_ellipsis_label> count{};
    for (std::size_t t = 0; t < terms.size(); ++t) {
        std::vector<int> labels;
        for (int l : terms[t]) {
            if (l >= 0) {
                labels.push_back(l);
                ++count[static_cast<std::size_t>(l)];
                continue;
            }
            for (std::size_t k = eq.ellipsis_rank - ell[t]; k < eq.ellipsis_rank; ++k) labels.push_back(einsum_equation::first_ellipsis_label + static_cast<int>(k));
        }
        eq.inputs.push_back(std::move(labels));
    }
    auto all_ellipsis = [&](std::vector<int>& out) {
        for (std::size_t k = 0; k < eq.ellipsis_rank; ++k) out.push_back(einsum_equation::first_ellipsis_label + static_cast<int>(k));
    };
    if (explicit_output) {
        std::vector<int> out;
        if (rhs.find(',') != std::string::npos || !split(rhs, out)) {
            error = "equation '" + std::string(equation) + "' has an output that is not letters and one '...'";
            return eq;
        }
        std::array<bool, einsum_equation::first_ellipsis_label> seen{};
        for (int l : out) {
            if (l < 0) {
                if (!any_ellipsis) {
                    error = "equation '" + std::string(equation) + "' has '...' in the output but in no input";
                    return eq;
                }
                all_ellipsis(eq.output);
                continue;
            }
            const auto u = static_cast<std::size_t>(l);
            if (count[u] == 0 || seen[u]) {
                const char name = static_cast<char>(l < 26 ? 'A' + l : 'a' + (l - 26));
                error = "equation '" + std::string(equation) + "': output label '" + std::string(1, name) + (seen[u] ? "' is repeated" : "' is in no input");
                return eq;
            }
            seen[u] = true;
            eq.output.push_back(l);
        }
        if (eq.ellipsis_rank > 0 && std::find(out.begin(), out.end(), -1) == out.end()) {
            error = "equation '" + std::string(equation) + "': the output needs '...' for the inputs' broadcast dims (as numpy's einsum)";
            return eq;
        }
    } else {
        all_ellipsis(eq.output);
        for (int l = 0; l < einsum_equation::first_ellipsis_label; ++l)
            if (count[static_cast<std::size_t>(l)] == 1) eq.output.push_back(l);
    }
    return eq;
}

/// The size of every label of `eq` given the operands' shapes (-1: unknown); letters must agree
/// exactly, ellipsis dims broadcast. Sets `error` on a mismatch.
[[nodiscard]] inline std::vector<std::int64_t> einsum_label_sizes(const einsum_equation& eq, std::span<const Shape* const> shapes, std::string& error) {
    std::vector<std::int64_t> size(eq.label_count(), -2); // -2: not seen yet
    for (std::size_t t = 0; t < eq.inputs.size(); ++t)
        for (std::size_t d = 0; d < eq.inputs[t].size(); ++d) {
            const auto l = static_cast<std::size_t>(eq.inputs[t][d]);
            const std::int64_t n = (*shapes[t])[d];
            std::int64_t& s = size[l];
            const bool ellipsis = l >= einsum_equation::first_ellipsis_label;
            if (s == -2 || s == n) s = n;
            else if (ellipsis && s == 1) s = n;
            else if (ellipsis && n == 1) continue;
            else if (n < 0 || s < 0) s = std::max(s, n) < 0 ? -1 : std::max(s, n);
            else {
                error = "input " + std::to_string(t) + " has size " + std::to_string(n) + " for a label of size " + std::to_string(s) +
                        (ellipsis ? " (ellipsis dims broadcast only from 1)" : "");
                return size;
            }
        }
    for (auto& s : size)
        if (s == -2) s = 1; // an ellipsis dim no operand has (cannot happen; kept neutral)
    return size;
}

inline void infer(const Einsum& op, infer_context& c) {
    std::vector<std::size_t> ranks;
    std::vector<const Shape*> shapes;
    for (std::size_t i = 0; i < c.num_inputs(); ++i) {
        if (!c.has(i)) c.fail("input " + std::to_string(i) + " is missing");
        if (c.dtype(i) != c.dtype(0)) c.fail("input " + std::to_string(i) + " has type " + std::string(to_string(c.dtype(i))) + ", input 0 has " + std::string(to_string(c.dtype(0))));
        if (!c.known(i)) return;
        ranks.push_back(c.shape(i).size());
        shapes.push_back(&c.shape(i));
    }
    std::string error;
    const einsum_equation eq = parse_einsum(op.equation, ranks, error);
    if (!error.empty()) c.fail(error);
    const std::vector<std::int64_t> size = einsum_label_sizes(eq, shapes, error);
    if (!error.empty()) c.fail(error);
    Shape out;
    for (int l : eq.output) out.push_back(size[static_cast<std::size_t>(l)]);
    c.set(0, std::move(out));
}

using indexing_ops = type_list<ShapeOf, Size, ConstantOfShape, Range, Gather, GatherElements, GatherND, ScatterElements, ScatterND, Expand, Tile, Pad,
                               DepthToSpace, SpaceToDepth, Trilu, CumSum, NonZero, OneHot, Einsum>;

} // namespace surgery::ir::ops
