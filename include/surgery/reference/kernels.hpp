// The kernel of every op of ir::Op, found by overload of `kernel(const Op&, node_io&)`, and `evaluate` to run one op.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "surgery/reference/conv.hpp"
#include "surgery/reference/elementwise.hpp"
#include "surgery/reference/indexing.hpp"
#include "surgery/reference/kernel.hpp"
#include "surgery/reference/linalg.hpp"
#include "surgery/reference/logic.hpp"
#include "surgery/reference/math.hpp"
#include "surgery/reference/normalization.hpp"
#include "surgery/reference/pool.hpp"
#include "surgery/reference/reduce.hpp"
#include "surgery/reference/resize.hpp"
#include "surgery/reference/shape_ops.hpp"

namespace surgery::reference {

/// A kernel: reads `io.inputs`, fills `io.outputs`. `op` holds the alternative the kernel is for.
using kernel_fn = void (*)(const ir::Op& op, node_io& io);

/// Whether op type `T` has a reference kernel `kernel(const T&, node_io&)`.
template <class T>
concept has_kernel = requires(const T& op, node_io& io) { kernel(op, io); };

namespace detail {
template <class T>
inline constexpr bool missing_kernel = false;

template <class T>
void run_kernel(const ir::Op& op, node_io& io) {
    if constexpr (has_kernel<T>) {
        kernel(*std::get_if<T>(&op), io);
    } else {
        // The instantiation context names the op type that lacks its kernel.
        static_assert(missing_kernel<T>,
                      "surgery::reference: an op of the catalogue has no reference kernel; define "
                      "`void kernel(const ir::ops::YourOp&, node_io&)` in the reference layer (or give an element-wise op an `eval`)");
    }
}

template <class L>
struct kernel_table;
template <class... Ts>
struct kernel_table<ir::type_list<Ts...>> {
    static constexpr std::array<kernel_fn, sizeof...(Ts)> value{&run_kernel<Ts>...};
};
} // namespace detail

/// The kernel for op kind `k` (every kind of the catalogue has one).
[[nodiscard]] inline kernel_fn kernel_for(ir::OpKind k) { return detail::kernel_table<ir::catalogue>::value[k]; }

/// Runs `op` once on `inputs` (nullptr for an omitted optional input) and returns its
/// `num_outputs` outputs. Errors are `graph_error`s naming `node` (default: the op's name).
[[nodiscard]] inline std::vector<Tensor> evaluate(const ir::Op& op, const std::vector<const Tensor*>& inputs, std::size_t num_outputs = 1,
                                                  const kernel_options& options = {}, std::string_view node = {}) {
    const ir::arity_t ar = ir::arity_of(op);
    const std::string label(node.empty() ? ir::name_of(op) : node);
    if (inputs.size() < ar.min_inputs || (ar.max_inputs != ir::arity_t::variadic && inputs.size() > ar.max_inputs))
        throw graph_error(label, std::string(ir::name_of(op)) + ": " + std::to_string(inputs.size()) + " inputs is outside the op's arity");
    if (num_outputs < ar.min_outputs || (ar.max_outputs != ir::arity_t::variadic && num_outputs > ar.max_outputs))
        throw graph_error(label, std::string(ir::name_of(op)) + ": " + std::to_string(num_outputs) + " outputs is outside the op's arity");
    std::vector<Tensor> outputs(num_outputs);
    node_io io;
    io.node = label;
    io.op = ir::name_of(op);
    io.inputs = inputs;
    io.outputs = outputs;
    io.options = options;
    kernel_for(ir::kind_of(op))(op, io);
    return outputs;
}

} // namespace surgery::reference
