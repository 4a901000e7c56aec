// Reductions over axes (ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
// ReduceSumSquare, ReduceLogSum, ReduceLogSumExp) and the index reductions ArgMax and ArgMin.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <vector>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"

namespace surgery::ir::ops {

/// What a reduction computes over the elements it reduces.
enum class reduce_kind : std::uint8_t { sum, mean, max, min, prod, l1, l2, sum_square, log_sum, log_sum_exp };

/// The ONNX op_type of reduction `k`.
[[nodiscard]] constexpr std::string_view reduce_name(reduce_kind k) noexcept {
    switch (k) {
    case reduce_kind::sum: return "ReduceSum";
    case reduce_kind::mean: return "ReduceMean";
    case reduce_kind::max: return "ReduceMax";
    case reduce_kind::min: return "ReduceMin";
    case reduce_kind::prod: return "ReduceProd";
    case reduce_kind::l1: return "ReduceL1";
    case reduce_kind::l2: return "ReduceL2";
    case reduce_kind::sum_square: return "ReduceSumSquare";
    case reduce_kind::log_sum: return "ReduceLogSum";
    case reduce_kind::log_sum_exp: return "ReduceLogSumExp";
    }
    return "?";
}

/// Reduce*(data[, axes]). `axes` is an input from opset 13 (ReduceSum) or 18 (the others) and an
/// attribute before (converted at import; written back as an attribute below that opset). No axes
/// reduce every axis, unless `noop_with_empty_axes`, which makes the op the identity.
template <reduce_kind K>
struct Reduce {
    static constexpr reduce_kind kind = K;
    static constexpr std::string_view name = reduce_name(K);
    static constexpr arity_t arity{1, 2, 1, 1};
    /// The first opset that takes `axes` as an input.
    static constexpr std::int64_t axes_input_since = K == reduce_kind::sum ? 13 : 18;
    static constexpr std::array<legacy_input, 1> legacy_inputs{{{"axes", 1, axes_input_since, legacy_kind::ints}}};
    static constexpr std::array<newer_part, 1> newer_parts{{{"noop_with_empty_axes", axes_input_since}}};
    std::int64_t keepdims = 1;
    std::int64_t noop_with_empty_axes = 0;
    static constexpr auto attributes() {
        return std::tuple{attr("keepdims", &Reduce::keepdims), attr("noop_with_empty_axes", &Reduce::noop_with_empty_axes)};
    }
    friend bool operator==(const Reduce&, const Reduce&) = default;
};

using ReduceSum = Reduce<reduce_kind::sum>;
using ReduceMean = Reduce<reduce_kind::mean>;
using ReduceMax = Reduce<reduce_kind::max>;
using ReduceMin = Reduce<reduce_kind::min>;
using ReduceProd = Reduce<reduce_kind::prod>;
using ReduceL1 = Reduce<reduce_kind::l1>;
using ReduceL2 = Reduce<reduce_kind::l2>;
using ReduceSumSquare = Reduce<reduce_kind::sum_square>;
using ReduceLogSum = Reduce<reduce_kind::log_sum>;
using ReduceLogSumExp = Reduce<reduce_kind::log_sum_exp>;

/// Which axes of a rank-`rank` tensor a reduction with these (given) `axes` reduces; none when
/// `noop` applies. Shared by the shape rule and the kernel.
[[nodiscard]] inline std::vector<bool> reduced_axes(const std::vector<std::int64_t>& axes, bool noop_with_empty_axes, std::size_t rank,
                                                    const infer_context& c) {
    std::vector<bool> red(rank, axes.empty() && !noop_with_empty_axes);
    for (auto ax : norm_axes(axes, rank, c)) red[ax] = true;
    return red;
}

/// The output shape of reducing `red` axes of `x` (dropped, or kept as 1 with `keepdims`).
[[nodiscard]] inline Shape reduced_shape(const Shape& x, const std::vector<bool>& red, bool keepdims) {
    Shape out;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!red[i]) out.push_back(x[i]);
        else if (keepdims) out.push_back(1);
    }
    return out;
}

/// The shape rule shared by the reductions whose axes are input 1: reduced axes are dropped, or
/// kept as 1 with `keepdims`; no axes reduce everything unless `noop_with_empty_axes`.
template <class R>
void infer_reduction(const R& op, infer_context& c) {
    if (c.has(1) && c.dtype(1) != DType::undefined && c.dtype(1) != DType::i64 && c.dtype(1) != DType::i32)
        c.fail("axes (input 1) must be int64, got " + std::string(to_string(c.dtype(1))));
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    std::vector<std::int64_t> axes;
    if (c.has(1)) {
        const Tensor* t = c.constant(1);
        if (!t) {
            // Unknown axes: the rank stays with keepdims; without it, empty axes with noop keep it too.
            if (op.keepdims) c.set(0, Shape(x.size(), -1));
            else if (c.known(1) && c.shape(1).size() == 1 && c.shape(1)[0] > 0 && c.shape(1)[0] <= static_cast<std::int64_t>(x.size()))
                c.set(0, Shape(x.size() - static_cast<std::size_t>(c.shape(1)[0]), -1));
            return;
        }
        if (t->dtype != DType::i64 && t->dtype != DType::i32) c.fail("axes (input 1) must be int64, got " + std::string(to_string(t->dtype)));
        if (t->shape.size() > 1) c.fail("axes (input 1) must be 1-D, got shape " + to_string(t->shape));
        axes = t->i;
    }
    c.set(0, reduced_shape(x, reduced_axes(axes, op.noop_with_empty_axes != 0, x.size(), c), op.keepdims != 0));
}

template <reduce_kind K>
void infer(const Reduce<K>& op, infer_context& c) {
    infer_reduction(op, c);
}

/// ArgMax(data) / ArgMin(data): the index of the largest (smallest) element along `axis`, int64;
/// the first one on ties unless `select_last_index` (opset 12).
template <bool Max>
struct ArgReduce {
    static constexpr bool is_max = Max;
    static constexpr std::string_view name = Max ? "ArgMax" : "ArgMin";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr std::array<newer_part, 1> newer_parts{{{"select_last_index", 12}}};
    std::int64_t axis = 0;
    std::int64_t keepdims = 1;
    std::int64_t select_last_index = 0;
    static constexpr auto attributes() {
        return std::tuple{attr("axis", &ArgReduce::axis), attr("keepdims", &ArgReduce::keepdims), attr("select_last_index", &ArgReduce::select_last_index)};
    }
    friend bool operator==(const ArgReduce&, const ArgReduce&) = default;
};

using ArgMax = ArgReduce<true>;
using ArgMin = ArgReduce<false>;

template <bool Max>
void infer(const ArgReduce<Max>& op, infer_context& c) {
    c.set_dtype(0, DType::i64);
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (x.empty()) c.fail("data must have rank >= 1");
    std::vector<bool> red(x.size(), false);
    const auto ax = static_cast<std::size_t>(norm_axis(op.axis, x.size(), c));
    if (x[ax] == 0) c.fail("axis " + std::to_string(op.axis) + " has no elements to choose from");
    red[ax] = true;
    c.set(0, reduced_shape(x, red, op.keepdims != 0));
}

using reduce_ops = type_list<ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp,
                             ArgMax, ArgMin>;

} // namespace surgery::ir::ops
