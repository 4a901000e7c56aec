// The kernel of every op of ir::Op, as a table indexed by op kind, and `evaluate` to run one op.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "surgery/reference/conv.hpp"
#include "surgery/reference/elementwise.hpp"
#include "surgery/reference/kernel.hpp"
#include "surgery/reference/linalg.hpp"
#include "surgery/reference/normalization.hpp"
#include "surgery/reference/pool.hpp"
#include "surgery/reference/resize.hpp"
#include "surgery/reference/shape_ops.hpp"

namespace surgery::reference {

/// A kernel: reads `io.inputs`, fills `io.outputs`. `op` holds the alternative the kernel is for.
using kernel_fn = void (*)(const ir::Op& op, node_io& io);

namespace detail {

template <class T>
void run_kernel(const ir::Op& op, node_io& io) {
    namespace ops = ir::ops;
    [[maybe_unused]] const T& o = *std::get_if<T>(&op);
    if constexpr (std::is_same_v<T, ops::Conv>) kernels::conv(io, o);
    else if constexpr (std::is_same_v<T, ops::BatchNormalization>) kernels::batch_normalization(io, o);
    else if constexpr (std::is_same_v<T, ops::LayerNormalization>) kernels::layer_normalization(io, o);
    else if constexpr (std::is_same_v<T, ops::Clip>) kernels::clip(io);
    else if constexpr (std::is_same_v<T, ops::Softmax>) kernels::softmax(io, o);
    else if constexpr (std::is_same_v<T, ops::Dropout>) kernels::dropout(io, o);
    else if constexpr (std::is_same_v<T, ops::Identity>) kernels::identity(io);
    else if constexpr (std::is_same_v<T, ops::Add>) kernels::binary(io, binary_op::add);
    else if constexpr (std::is_same_v<T, ops::Sub>) kernels::binary(io, binary_op::sub);
    else if constexpr (std::is_same_v<T, ops::Mul>) kernels::binary(io, binary_op::mul);
    else if constexpr (std::is_same_v<T, ops::Div>) kernels::binary(io, binary_op::div);
    else if constexpr (std::is_same_v<T, ops::Pow>) kernels::binary(io, binary_op::pow);
    else if constexpr (std::is_same_v<T, ops::GlobalAveragePool>) kernels::global_average_pool(io);
    else if constexpr (std::is_same_v<T, ops::AveragePool>) kernels::average_pool(io, o);
    else if constexpr (std::is_same_v<T, ops::MaxPool>) kernels::max_pool(io, o);
    else if constexpr (std::is_same_v<T, ops::Gemm>) kernels::gemm(io, o);
    else if constexpr (std::is_same_v<T, ops::MatMul>) kernels::matmul(io);
    else if constexpr (std::is_same_v<T, ops::Flatten>) kernels::flatten(io, o);
    else if constexpr (std::is_same_v<T, ops::Reshape>) kernels::reshape(io, o);
    else if constexpr (std::is_same_v<T, ops::Transpose>) kernels::transpose(io, o);
    else if constexpr (std::is_same_v<T, ops::Concat>) kernels::concat(io, o);
    else if constexpr (std::is_same_v<T, ops::Slice>) kernels::slice(io);
    else if constexpr (std::is_same_v<T, ops::Split>) kernels::split(io, o);
    else if constexpr (std::is_same_v<T, ops::Squeeze>) kernels::squeeze(io);
    else if constexpr (std::is_same_v<T, ops::Unsqueeze>) kernels::unsqueeze(io);
    else if constexpr (std::is_same_v<T, ops::ReduceMean>) kernels::reduce_mean(io, o);
    else if constexpr (std::is_same_v<T, ops::Resize>) kernels::resize(io, o);
    else if constexpr (std::is_same_v<T, ops::Constant>) kernels::constant(io, o);
    else {
        // The element-wise activations: Relu, Sigmoid, HardSwish, Tanh, Sqrt, Erf, LeakyRelu, HardSigmoid, Gelu.
        const auto a = activation_of(op);
        if (!a) io.fail("unsupported attribute value (Gelu approximate must be 'none' or 'tanh')");
        kernels::unary(io, *a);
    }
}

} // namespace detail

/// The kernel for op kind `k` (every kind of the catalogue has one).
[[nodiscard]] inline kernel_fn kernel_for(ir::OpKind k) {
    static constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<kernel_fn, sizeof...(I)>{&detail::run_kernel<std::variant_alternative_t<I, ir::Op>>...};
    }(std::make_index_sequence<ir::op_count>{});
    return table[k];
}

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
