// Reductions over axes: ReduceMean (more reductions join this family).
#pragma once

#include <cstdint>
#include <string_view>
#include <tuple>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"

namespace surgery::ir::ops {

template <class R>
void infer_reduction(const R& op, infer_context& c) {
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    std::vector<std::int64_t> axes;
    if (c.has(1)) {
        const auto given = c.ints_if(1);
        if (!given) {
            if (op.keepdims) c.set(0, Shape(x.size(), -1));
            return;
        }
        axes = *given;
    }
    if (axes.empty() && op.noop_with_empty_axes != 0) {
        c.same_as_input();
        return;
    }
    std::vector<bool> red(x.size(), axes.empty());
    for (auto ax : norm_axes(axes, x.size(), c)) red[ax] = true;
    Shape out;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!red[i]) out.push_back(x[i]);
        else if (op.keepdims) out.push_back(1);
    }
    c.set(0, std::move(out));
}

struct ReduceMean {
    static constexpr std::string_view name = "ReduceMean";
    static constexpr arity_t arity{1, 2, 1, 1};
    static constexpr std::array<legacy_input, 1> legacy_inputs{{{"axes", 1, 18, legacy_kind::ints}}};
    std::int64_t keepdims = 1;
    std::int64_t noop_with_empty_axes = 0;
    static constexpr auto attributes() {
        return std::tuple{attr("keepdims", &ReduceMean::keepdims), attr("noop_with_empty_axes", &ReduceMean::noop_with_empty_axes)};
    }
    friend bool operator==(const ReduceMean&, const ReduceMean&) = default;
};

inline void infer(const ReduceMean& op, infer_context& c) { infer_reduction(op, c); }

using reduce_ops = type_list<ReduceMean>;

} // namespace surgery::ir::ops
