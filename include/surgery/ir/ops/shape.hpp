// Data movement: Identity, Flatten, Reshape, Transpose, Concat, Slice, Split, Squeeze, Unsqueeze, Constant.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <tuple>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"

namespace surgery::ir::ops {

struct Identity {
    static constexpr std::string_view name = "Identity";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Identity&, const Identity&) = default;
};

inline void infer(const Identity&, infer_context& c) { c.same_as_input(); }

struct Flatten {
    static constexpr std::string_view name = "Flatten";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::data_movement;
    std::int64_t axis = 1;
    static constexpr auto attributes() { return std::tuple{attr("axis", &Flatten::axis)}; }
    friend bool operator==(const Flatten&, const Flatten&) = default;
};

inline void infer(const Flatten& op, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    const auto r0 = static_cast<std::int64_t>(x.size());
    const std::int64_t ax = op.axis < 0 ? op.axis + r0 : op.axis;
    if (ax < 0 || ax > r0) c.fail("axis " + std::to_string(op.axis) + " is out of range for rank " + std::to_string(r0));
    const auto a = static_cast<std::size_t>(ax);
    c.set(0, Shape{dims_product(x, 0, a), dims_product(x, a, x.size())});
}

/// Reshape(data, shape): the target shape is an int64 input (usually a constant).
struct Reshape {
    static constexpr std::string_view name = "Reshape";
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr std::array<legacy_input, 1> legacy_inputs{{{"shape", 1, 5, legacy_kind::ints}}};
    std::int64_t allowzero = 0;
    static constexpr auto attributes() { return std::tuple{attr("allowzero", &Reshape::allowzero)}; }
    friend bool operator==(const Reshape&, const Reshape&) = default;
};

/// The output of Reshape(x, target) (0 copies the input dim unless allowzero, -1 is inferred);
/// unknown dims stay unknown. Shared by the rule and the kernel.
[[nodiscard]] inline Shape reshape_target(const Shape& x, const std::vector<std::int64_t>& target, bool allowzero, const infer_context& c) {
    Shape out(target.size());
    std::int64_t known = 1;
    int infer_at = -1;
    bool unknown = false, zero_in_target = false;
    for (std::size_t i = 0; i < target.size(); ++i) {
        std::int64_t d = target[i];
        if (d == 0 && !allowzero) {
            if (i >= x.size()) c.fail("shape " + to_string(target) + " has 0 at position " + std::to_string(i) + " beyond the input rank");
            d = x[i];
        }
        if (d == -1 && !(target[i] == 0 && !allowzero)) {
            if (infer_at >= 0) c.fail("shape " + to_string(target) + " has more than one -1");
            infer_at = static_cast<int>(i);
        } else if (d < 0) {
            if (target[i] != 0) c.fail("shape " + to_string(target) + " has a negative dimension other than -1");
            unknown = true; // copied from an unknown input dim
        } else {
            if (d > max_dim || (d > 0 && known > max_elements / d)) c.fail("shape " + to_string(target) + " is too large");
            if (d == 0) zero_in_target = true;
            known *= d;
        }
        out[i] = d;
    }
    if (infer_at >= 0 && zero_in_target && allowzero) c.fail("shape " + to_string(target) + " has both -1 and 0 with allowzero");
    const std::int64_t total = dims_product(x, 0, x.size());
    if (total < 0 || unknown) {
        if (infer_at >= 0) out[static_cast<std::size_t>(infer_at)] = -1;
        return out;
    }
    if (infer_at >= 0) {
        if (known == 0) {
            if (total != 0) c.fail("cannot reshape " + to_string(x) + " to " + to_string(target));
            out[static_cast<std::size_t>(infer_at)] = 0;
        } else {
            if (total % known != 0) c.fail("cannot reshape " + to_string(x) + " to " + to_string(target));
            out[static_cast<std::size_t>(infer_at)] = total / known;
        }
    } else if (known != total) {
        c.fail("cannot reshape " + to_string(x) + " (" + std::to_string(total) + " elements) to " + to_string(out));
    }
    return out;
}

inline void infer(const Reshape& op, infer_context& c) {
    if (!c.known(0)) return;
    const auto target = c.ints_if(1);
    if (!target) {
        // Rank known from a 1-D shape operand of known length.
        if (c.known(1) && c.shape(1).size() == 1 && c.shape(1)[0] >= 0 && c.shape(1)[0] <= 64)
            c.set(0, Shape(static_cast<std::size_t>(c.shape(1)[0]), -1));
        return;
    }
    c.set(0, reshape_target(c.shape(0), *target, op.allowzero != 0, c));
}

struct Transpose {
    static constexpr std::string_view name = "Transpose";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::data_movement;
    Ints perm;
    static constexpr auto attributes() { return std::tuple{attr("perm", &Transpose::perm)}; }
    friend bool operator==(const Transpose&, const Transpose&) = default;
};

/// The permutation of a Transpose on a tensor of rank `rank` (empty perm: reversed axes); fails on
/// a permutation that is not one.
[[nodiscard]] inline std::vector<std::size_t> transpose_perm(const Transpose& op, std::size_t rank, const infer_context& c) {
    Ints perm = op.perm;
    if (perm.empty())
        for (std::size_t i = rank; i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
    if (perm.size() != rank) c.fail("perm " + to_string(perm) + " has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
    return norm_axes(perm, rank, c, "perm");
}

inline void infer(const Transpose& op, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    Shape out;
    for (auto a : transpose_perm(op, x.size(), c)) out.push_back(x[a]);
    c.set(0, std::move(out));
}

struct Concat {
    static constexpr std::string_view name = "Concat";
    static constexpr arity_t arity{1, arity_t::variadic, 1, 1};
    static constexpr trait traits = trait::data_movement;
    std::int64_t axis = 0;
    static constexpr auto attributes() { return std::tuple{attr("axis", &Concat::axis)}; }
    friend bool operator==(const Concat&, const Concat&) = default;
};

inline void infer(const Concat& op, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x.size(), c));
    Shape out = x;
    for (std::size_t i = 1; i < c.num_inputs(); ++i) {
        if (!c.has(i)) c.fail("input " + std::to_string(i) + " is missing");
        if (!c.known(i)) return;
        const Shape& s = c.shape(i);
        if (s.size() != out.size())
            c.fail("input " + std::to_string(i) + " has rank " + std::to_string(s.size()) + ", expected " + std::to_string(out.size()));
        if (c.dtype(i) != c.dtype(0)) c.fail("input " + std::to_string(i) + " has type " + std::string(to_string(c.dtype(i))) + ", input 0 has " + std::string(to_string(c.dtype(0))));
        for (std::size_t d = 0; d < s.size(); ++d) {
            if (d == ax) out[d] = (out[d] < 0 || s[d] < 0) ? -1 : out[d] + s[d];
            else if (out[d] >= 0 && s[d] >= 0 && out[d] != s[d])
                c.fail("input " + std::to_string(i) + " " + to_string(s) + " differs from " + to_string(x) + " off the concat axis");
            else if (out[d] < 0) out[d] = s[d];
        }
    }
    c.set(0, std::move(out));
}

/// Slice(data, starts, ends[, axes][, steps]) (opset >= 10 form; the older attribute form is converted at import).
struct Slice {
    static constexpr std::string_view name = "Slice";
    static constexpr arity_t arity{3, 5, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr std::array<legacy_input, 3> legacy_inputs{
        {{"starts", 1, 10, legacy_kind::ints}, {"ends", 2, 10, legacy_kind::ints}, {"axes", 3, 10, legacy_kind::ints}}};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Slice&, const Slice&) = default;
};

/// One sliced axis: where it starts, its step and how many elements it keeps.
struct slice_axis {
    std::size_t axis = 0;
    std::int64_t start = 0, step = 1, count = 0;
};

/// ONNX's clamping of one (start, end, step) on a dim of length `dim` (known): no overflow for
/// any int64 inputs (INT64_MIN/MAX are the usual "to the end" markers).
[[nodiscard]] inline slice_axis slice_bounds(std::int64_t start, std::int64_t end, std::int64_t step, std::int64_t dim) {
    slice_axis a;
    a.step = step;
    // Negative indices count from the end; below -dim they stay below 0 (-1) without overflow.
    auto adjust = [&](std::int64_t v) { return v < 0 ? (v < -dim ? -dim - 1 : v) + dim : v; };
    std::int64_t s = adjust(start), e = adjust(end);
    if (dim == 0) return a;
    if (step > 0) {
        s = std::clamp<std::int64_t>(s, 0, dim);
        e = std::clamp<std::int64_t>(e, 0, dim);
        a.count = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
        // ONNX (Slice-18 text): starts clamp to [0, dim-1], ends to [-1, dim-1] when stepping back.
        s = std::clamp<std::int64_t>(s, 0, dim - 1);
        e = std::clamp<std::int64_t>(e, -1, dim - 1);
        // step in [INT64_MIN, -1]: divide the distance by -step without negating INT64_MIN.
        const std::int64_t dist = s - e; // in [0, dim]
        a.count = s > e ? (step == INT64_MIN ? 1 : (dist - 1) / (-step) + 1) : 0;
    }
    a.start = s;
    return a;
}

inline void infer(const Slice&, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    const auto starts = c.ints_if(1), ends = c.ints_if(2);
    const auto axes_in = c.has(3) ? c.ints_if(3) : std::optional<std::vector<std::int64_t>>(std::vector<std::int64_t>{});
    const auto steps_in = c.has(4) ? c.ints_if(4) : std::optional<std::vector<std::int64_t>>(std::vector<std::int64_t>{});
    if (!starts || !ends || !axes_in || !steps_in) {
        if (axes_in && c.has(3)) { // the sliced axes are known: the others keep their size
            Shape out = x;
            for (auto ax : norm_axes(*axes_in, x.size(), c)) out[ax] = -1;
            c.set(0, std::move(out));
        } else {
            c.set(0, Shape(x.size(), -1));
        }
        return;
    }
    std::vector<std::int64_t> axes = *axes_in;
    if (!c.has(3))
        for (std::size_t i = 0; i < starts->size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    std::vector<std::int64_t> steps = c.has(4) ? *steps_in : std::vector<std::int64_t>(starts->size(), 1);
    if (ends->size() != starts->size() || axes.size() != starts->size() || steps.size() != starts->size())
        c.fail("starts, ends, axes and steps must have the same length");
    const auto ax = norm_axes(axes, x.size(), c);
    Shape out = x;
    for (std::size_t i = 0; i < starts->size(); ++i) {
        if (steps[i] == 0) c.fail("slice step cannot be 0");
        const std::int64_t dim = x[ax[i]];
        out[ax[i]] = dim < 0 ? -1 : slice_bounds((*starts)[i], (*ends)[i], steps[i], dim).count;
    }
    c.set(0, std::move(out));
}

/// Split(input[, split]) into the node's outputs along `axis`: sizes from the `split` input (an
/// attribute before opset 13, converted at import), else equal parts of ceil(dim / outputs), the
/// last one smaller (opset 18's `num_outputs`, which must then equal the output count).
struct Split {
    static constexpr std::string_view name = "Split";
    static constexpr arity_t arity{1, 2, 1, arity_t::variadic};
    static constexpr trait traits = trait::data_movement;
    static constexpr std::array<legacy_input, 1> legacy_inputs{{{"split", 1, 13, legacy_kind::ints}}};
    std::int64_t axis = 0;
    std::int64_t num_outputs = 0;
    static constexpr auto attributes() { return std::tuple{attr("axis", &Split::axis), attr("num_outputs", &Split::num_outputs)}; }
    friend bool operator==(const Split&, const Split&) = default;
};

/// The sizes of the parts of a Split of `dim` (-1: unknown) into `outputs` parts; nullopt when
/// they depend on an unknown `split` input.
[[nodiscard]] inline std::optional<std::vector<std::int64_t>> split_sizes(const Split& op, std::int64_t dim, std::size_t outputs,
                                                                          const std::optional<std::vector<std::int64_t>>& given,
                                                                          const infer_context& c) {
    if (op.num_outputs < 0) c.fail("num_outputs " + std::to_string(op.num_outputs) + " must be positive");
    if (op.num_outputs != 0 && op.num_outputs != static_cast<std::int64_t>(outputs))
        c.fail("num_outputs is " + std::to_string(op.num_outputs) + " but the node has " + std::to_string(outputs) + " outputs");
    std::vector<std::int64_t> sizes;
    if (given && !given->empty()) {
        sizes = *given;
        check_range(sizes, 0, "split", c);
        if (sizes.size() != outputs) c.fail("split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(outputs) + " outputs");
        if (dim >= 0) {
            std::int64_t sum = 0;
            for (auto s : sizes) sum += s;
            if (sum != dim) c.fail("split sizes " + to_string(sizes) + " sum to " + std::to_string(sum) + " but the axis has " + std::to_string(dim));
        }
        return sizes;
    }
    if (!given) return std::nullopt;
    if (dim < 0) return std::vector<std::int64_t>(outputs, -1);
    const auto n = static_cast<std::int64_t>(outputs);
    const std::int64_t chunk = (dim + n - 1) / n;
    for (std::int64_t i = 0; i < n; ++i) sizes.push_back(std::min(chunk, std::max<std::int64_t>(0, dim - i * chunk)));
    return sizes;
}

inline void infer(const Split& op, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x.size(), c));
    const auto given = c.has(1) ? c.ints_if(1) : std::optional<std::vector<std::int64_t>>(std::vector<std::int64_t>{});
    const auto sizes = split_sizes(op, x[ax], c.num_outputs(), given, c);
    for (std::size_t o = 0; o < c.num_outputs(); ++o) {
        Shape s = x;
        s[ax] = sizes ? (*sizes)[o] : -1;
        c.set(o, std::move(s), c.dtype(0));
    }
}

/// Squeeze(data[, axes]) (axes as input from opset 13; the attribute form is converted at import).
struct Squeeze {
    static constexpr std::string_view name = "Squeeze";
    static constexpr arity_t arity{1, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr std::array<legacy_input, 1> legacy_inputs{{{"axes", 1, 13, legacy_kind::ints}}};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Squeeze&, const Squeeze&) = default;
};

inline void infer(const Squeeze&, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    Shape out;
    if (c.has(1)) {
        const auto axes = c.ints_if(1);
        if (!axes) return;
        std::vector<bool> drop(x.size(), false);
        for (auto ax : norm_axes(*axes, x.size(), c)) {
            if (x[ax] != 1 && x[ax] >= 0) c.fail("cannot squeeze axis " + std::to_string(ax) + " of size " + std::to_string(x[ax]));
            drop[ax] = true;
        }
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!drop[i]) out.push_back(x[i]);
    } else {
        for (auto d : x) {
            if (d < 0) return; // which dims go depends on the unknown ones
            if (d != 1) out.push_back(d);
        }
    }
    c.set(0, std::move(out));
}

/// Unsqueeze(data, axes) (axes as input from opset 13; the attribute form is converted at import).
struct Unsqueeze {
    static constexpr std::string_view name = "Unsqueeze";
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::data_movement;
    static constexpr std::array<legacy_input, 1> legacy_inputs{{{"axes", 1, 13, legacy_kind::ints}}};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Unsqueeze&, const Unsqueeze&) = default;
};

inline void infer(const Unsqueeze&, infer_context& c) {
    if (!c.known(0)) return;
    const auto axes = c.ints_if(1);
    if (!axes) return;
    const Shape& x = c.shape(0);
    const std::size_t rank = x.size() + axes->size();
    std::vector<bool> ins(rank, false);
    for (auto ax : norm_axes(*axes, rank, c)) ins[ax] = true;
    Shape out;
    std::size_t j = 0;
    for (std::size_t i = 0; i < rank; ++i) out.push_back(ins[i] ? 1 : x[j++]);
    c.set(0, std::move(out));
}

/// Constant: a node that produces its `value` tensor. Shared so that copying a graph does not copy
/// weights. (The ONNX reader turns Constant nodes into constant values; this op is for builders.)
struct Constant {
    static constexpr std::string_view name = "Constant";
    static constexpr arity_t arity{0, 0, 1, 1};
    std::shared_ptr<const Tensor> value;
    static constexpr auto attributes() { return std::tuple{attr("value", &Constant::value)}; }
    friend bool operator==(const Constant& a, const Constant& b) { return a.value == b.value || (a.value && b.value && *a.value == *b.value); }
};

inline void infer(const Constant& op, infer_context& c) {
    if (!op.value) c.fail("has no value");
    c.set(0, op.value->shape, op.value->dtype);
}

using shape_ops = type_list<Identity, Flatten, Reshape, Transpose, Concat, Slice, Split, Squeeze, Unsqueeze, Constant>;

} // namespace surgery::ir::ops
