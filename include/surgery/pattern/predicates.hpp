// Attribute predicates for pattern::op: kernel size, stride, groups, depthwise, scalar attribute equality.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"

namespace surgery::pattern {

namespace detail {
/// The kernel of a Conv/pool: its kernel_shape, or for Conv without one, the weight's spatial dims.
template <class Op>
std::optional<ir::Ints> kernel_of(const Op& op, const ir::Graph* g, ir::NodeId n) {
    if (!op.kernel_shape.empty()) return op.kernel_shape;
    if constexpr (std::is_same_v<Op, ir::ops::Conv>) {
        if (g && g->node(n).inputs.size() > 1) {
            const auto& w = g->value(g->node(n).inputs[1]).shape;
            if (w && w->size() > 2) return ir::Ints(w->begin() + 2, w->end());
        }
    }
    return std::nullopt;
}
template <class Op>
concept has_kernel = requires(const Op& o) { o.kernel_shape; };
template <class Op>
concept has_strides = requires(const Op& o) { o.strides; };

template <class Op>
bool kernel_matches(const ir::Ints& k, std::initializer_list<std::int64_t> want) {
    if (want.size() == 1) return !k.empty() && std::all_of(k.begin(), k.end(), [&](auto d) { return d == *want.begin(); });
    return std::equal(k.begin(), k.end(), want.begin(), want.end());
}
} // namespace detail

/// Kernel is exactly `Ks...` (one value: every spatial dim equals it). Conv, MaxPool, AveragePool.
template <std::int64_t... Ks>
struct kernel {
    static_assert(sizeof...(Ks) > 0, "surgery::pattern::kernel<Ks...>: give the kernel size, e.g. kernel<7, 7> or kernel<3>");
    template <detail::has_kernel Op>
    bool operator()(const Op& op, const ir::Graph& g, ir::NodeId n) const {
        auto k = detail::kernel_of(op, &g, n);
        return k && detail::kernel_matches<Op>(*k, {Ks...});
    }
    /// Other graphs: the kernel_shape attribute only.
    template <detail::has_kernel Op, class G, class N>
    bool operator()(const Op& op, const G&, const N&) const {
        return detail::kernel_matches<Op>(op.kernel_shape, {Ks...});
    }
};

/// Some spatial dim of the kernel is at least `K` (the paper's "large kernel").
template <std::int64_t K>
struct kernel_at_least {
    template <detail::has_kernel Op>
    bool operator()(const Op& op, const ir::Graph& g, ir::NodeId n) const {
        auto k = detail::kernel_of(op, &g, n);
        return k && std::any_of(k->begin(), k->end(), [](auto d) { return d >= K; });
    }
    /// Other graphs: the kernel_shape attribute only.
    template <detail::has_kernel Op, class G, class N>
    bool operator()(const Op& op, const G&, const N&) const {
        return std::any_of(op.kernel_shape.begin(), op.kernel_shape.end(), [](auto d) { return d >= K; });
    }
};

/// Strides are exactly `Ss...` (one value: every stride equals it; empty strides mean 1).
template <std::int64_t... Ss>
struct stride {
    static_assert(sizeof...(Ss) > 0, "surgery::pattern::stride<Ss...>: give the stride, e.g. stride<1> or stride<2, 2>");
    template <detail::has_strides Op>
    bool operator()(const Op& op) const {
        if (op.strides.empty()) return ((Ss == 1) && ...);
        return detail::kernel_matches<Op>(op.strides, {Ss...});
    }
};

/// Conv with `group == G`.
template <std::int64_t G>
struct group {
    bool operator()(const ir::ops::Conv& c) const { return c.group == G; }
};

/// Depthwise Conv: one input channel per group and more than one group.
struct depthwise {
    bool operator()(const ir::ops::Conv& c, const ir::Graph& g, ir::NodeId n) const {
        if (c.group <= 1) return false;
        const auto& w = g.value(g.node(n).inputs[1]).shape;
        return w && w->size() > 1 && (*w)[1] == 1 && (*w)[0] == c.group;
    }
};

/// The scalar attribute `Member` equals `Value`, e.g. `attr_equals<&ir::ops::Flatten::axis, 1>`.
template <auto Member, auto Value>
struct attr_equals {
    template <class Op>
        requires requires(const Op& o) { o.*Member == Value; }
    bool operator()(const Op& op) const {
        return op.*Member == Value;
    }
};

} // namespace surgery::pattern
