// The typed op catalogue: one struct per ONNX op, holding that op's attributes with ONNX's defaults.
//
// Each op type `T` has `T::name` (the ONNX op_type), `T::arity` (accepted input/output counts),
// `T::attributes()` (a tuple of {attribute name, member pointer}, used for generic import, export,
// printing and comparison) and, where it holds, `T::commutative`. `ir::Op` is the variant of all of
// them, so a node's op is one of a closed set of types and its attributes are typed members.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

#include "surgery/ir/tensor.hpp"

namespace surgery::ir {

/// Accepted numbers of inputs and outputs of an op (`variadic` for "any number").
struct arity_t {
    static constexpr std::uint32_t variadic = 0xffffffffu;
    std::uint32_t min_inputs = 1, max_inputs = 1, min_outputs = 1, max_outputs = 1;
};

/// One entry of an op's attribute table: the ONNX attribute name and the member that stores it.
template <class Op, class M>
struct attribute {
    std::string_view name;
    M Op::*member;
};
template <class Op, class M>
constexpr attribute<Op, M> attr(std::string_view name, M Op::*member) noexcept {
    return {name, member};
}

namespace ops {

// ---- convolution and normalisation ---------------------------------------------------------

/// Conv(X, W[, B]). `pads` is ONNX order [x1_begin, x2_begin, ..., x1_end, x2_end]; empty = zeros.
struct Conv {
    static constexpr std::string_view name = "Conv";
    static constexpr arity_t arity{2, 3, 1, 1};
    std::string auto_pad = "NOTSET";
    Ints dilations;
    std::int64_t group = 1;
    Ints kernel_shape;
    Ints pads;
    Ints strides;
    static constexpr auto attributes() {
        return std::tuple{attr("auto_pad", &Conv::auto_pad), attr("dilations", &Conv::dilations), attr("group", &Conv::group),
                          attr("kernel_shape", &Conv::kernel_shape), attr("pads", &Conv::pads), attr("strides", &Conv::strides)};
    }
    friend bool operator==(const Conv&, const Conv&) = default;
};

/// BatchNormalization(X, scale, B, mean, var), inference form.
struct BatchNormalization {
    static constexpr std::string_view name = "BatchNormalization";
    static constexpr arity_t arity{5, 5, 1, 3};
    float epsilon = 1e-5f;
    float momentum = 0.9f;
    std::int64_t training_mode = 0;
    static constexpr auto attributes() {
        return std::tuple{attr("epsilon", &BatchNormalization::epsilon), attr("momentum", &BatchNormalization::momentum),
                          attr("training_mode", &BatchNormalization::training_mode)};
    }
    friend bool operator==(const BatchNormalization&, const BatchNormalization&) = default;
};

/// LayerNormalization(X, Scale[, B]) over the axes from `axis` to the last.
struct LayerNormalization {
    static constexpr std::string_view name = "LayerNormalization";
    static constexpr arity_t arity{2, 3, 1, 3};
    std::int64_t axis = -1;
    float epsilon = 1e-5f;
    std::int64_t stash_type = 1;
    static constexpr auto attributes() {
        return std::tuple{attr("axis", &LayerNormalization::axis), attr("epsilon", &LayerNormalization::epsilon),
                          attr("stash_type", &LayerNormalization::stash_type)};
    }
    friend bool operator==(const LayerNormalization&, const LayerNormalization&) = default;
};

// ---- activations (unary, shape preserving) ---------------------------------------------------

#define SURGERY_DETAIL_SIMPLE_UNARY(Type)                                                                       \
    struct Type {                                                                                              \
        static constexpr std::string_view name = #Type;                                                        \
        static constexpr arity_t arity{1, 1, 1, 1};                                                            \
        static constexpr bool elementwise = true;                                                              \
        static constexpr auto attributes() { return std::tuple{}; }                                            \
        friend bool operator==(const Type&, const Type&) = default;                                            \
    }

SURGERY_DETAIL_SIMPLE_UNARY(Relu);
SURGERY_DETAIL_SIMPLE_UNARY(Sigmoid);
SURGERY_DETAIL_SIMPLE_UNARY(HardSwish);
SURGERY_DETAIL_SIMPLE_UNARY(Tanh);
SURGERY_DETAIL_SIMPLE_UNARY(Sqrt);
SURGERY_DETAIL_SIMPLE_UNARY(Erf);
SURGERY_DETAIL_SIMPLE_UNARY(Identity);
#undef SURGERY_DETAIL_SIMPLE_UNARY

/// Clip(X[, min][, max]) (opset >= 11 takes the bounds as inputs; older `min`/`max` attributes are
/// turned into inputs at import).
struct Clip {
    static constexpr std::string_view name = "Clip";
    static constexpr arity_t arity{1, 3, 1, 1};
    static constexpr bool elementwise = true;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Clip&, const Clip&) = default;
};

struct LeakyRelu {
    static constexpr std::string_view name = "LeakyRelu";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr bool elementwise = true;
    float alpha = 0.01f;
    static constexpr auto attributes() { return std::tuple{attr("alpha", &LeakyRelu::alpha)}; }
    friend bool operator==(const LeakyRelu&, const LeakyRelu&) = default;
};

/// max(0, min(1, alpha * x + beta)). PyTorch's Hardsigmoid exports with alpha = 1/6.
struct HardSigmoid {
    static constexpr std::string_view name = "HardSigmoid";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr bool elementwise = true;
    float alpha = 0.2f;
    float beta = 0.5f;
    static constexpr auto attributes() { return std::tuple{attr("alpha", &HardSigmoid::alpha), attr("beta", &HardSigmoid::beta)}; }
    friend bool operator==(const HardSigmoid&, const HardSigmoid&) = default;
};

/// Gelu (ONNX opset 20); `approximate` is "none" or "tanh".
struct Gelu {
    static constexpr std::string_view name = "Gelu";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr bool elementwise = true;
    std::string approximate = "none";
    static constexpr auto attributes() { return std::tuple{attr("approximate", &Gelu::approximate)}; }
    friend bool operator==(const Gelu&, const Gelu&) = default;
};

struct Softmax {
    static constexpr std::string_view name = "Softmax";
    static constexpr arity_t arity{1, 1, 1, 1};
    std::int64_t axis = -1;
    static constexpr auto attributes() { return std::tuple{attr("axis", &Softmax::axis)}; }
    friend bool operator==(const Softmax&, const Softmax&) = default;
};

/// Dropout(data[, ratio][, training_mode]); an identity at inference.
struct Dropout {
    static constexpr std::string_view name = "Dropout";
    static constexpr arity_t arity{1, 3, 1, 2};
    float ratio = 0.5f;
    std::int64_t seed = 0;
    static constexpr auto attributes() { return std::tuple{attr("ratio", &Dropout::ratio), attr("seed", &Dropout::seed)}; }
    friend bool operator==(const Dropout&, const Dropout&) = default;
};

// ---- element-wise binary with numpy broadcasting ----------------------------------------------

#define SURGERY_DETAIL_BINARY(Type, Commutative)                                                               \
    struct Type {                                                                                              \
        static constexpr std::string_view name = #Type;                                                        \
        static constexpr arity_t arity{2, 2, 1, 1};                                                            \
        static constexpr bool commutative = Commutative;                                                       \
        static constexpr auto attributes() { return std::tuple{}; }                                            \
        friend bool operator==(const Type&, const Type&) = default;                                            \
    }

SURGERY_DETAIL_BINARY(Add, true);
SURGERY_DETAIL_BINARY(Mul, true);
SURGERY_DETAIL_BINARY(Sub, false);
SURGERY_DETAIL_BINARY(Div, false);
SURGERY_DETAIL_BINARY(Pow, false);
#undef SURGERY_DETAIL_BINARY

// ---- pooling ---------------------------------------------------------------------------------

struct GlobalAveragePool {
    static constexpr std::string_view name = "GlobalAveragePool";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const GlobalAveragePool&, const GlobalAveragePool&) = default;
};

struct AveragePool {
    static constexpr std::string_view name = "AveragePool";
    static constexpr arity_t arity{1, 1, 1, 1};
    std::string auto_pad = "NOTSET";
    std::int64_t ceil_mode = 0;
    std::int64_t count_include_pad = 0;
    Ints dilations;
    Ints kernel_shape;
    Ints pads;
    Ints strides;
    static constexpr auto attributes() {
        return std::tuple{attr("auto_pad", &AveragePool::auto_pad), attr("ceil_mode", &AveragePool::ceil_mode),
                          attr("count_include_pad", &AveragePool::count_include_pad), attr("dilations", &AveragePool::dilations),
                          attr("kernel_shape", &AveragePool::kernel_shape), attr("pads", &AveragePool::pads),
                          attr("strides", &AveragePool::strides)};
    }
    friend bool operator==(const AveragePool&, const AveragePool&) = default;
};

struct MaxPool {
    static constexpr std::string_view name = "MaxPool";
    static constexpr arity_t arity{1, 1, 1, 2};
    std::string auto_pad = "NOTSET";
    std::int64_t ceil_mode = 0;
    Ints dilations;
    Ints kernel_shape;
    Ints pads;
    std::int64_t storage_order = 0;
    Ints strides;
    static constexpr auto attributes() {
        return std::tuple{attr("auto_pad", &MaxPool::auto_pad), attr("ceil_mode", &MaxPool::ceil_mode),
                          attr("dilations", &MaxPool::dilations), attr("kernel_shape", &MaxPool::kernel_shape),
                          attr("pads", &MaxPool::pads), attr("storage_order", &MaxPool::storage_order),
                          attr("strides", &MaxPool::strides)};
    }
    friend bool operator==(const MaxPool&, const MaxPool&) = default;
};

// ---- linear algebra --------------------------------------------------------------------------

/// Gemm(A, B[, C]) = alpha * A' * B' + beta * C.
struct Gemm {
    static constexpr std::string_view name = "Gemm";
    static constexpr arity_t arity{2, 3, 1, 1};
    float alpha = 1.0f;
    float beta = 1.0f;
    std::int64_t transA = 0;
    std::int64_t transB = 0;
    static constexpr auto attributes() {
        return std::tuple{attr("alpha", &Gemm::alpha), attr("beta", &Gemm::beta), attr("transA", &Gemm::transA),
                          attr("transB", &Gemm::transB)};
    }
    friend bool operator==(const Gemm&, const Gemm&) = default;
};

struct MatMul {
    static constexpr std::string_view name = "MatMul";
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const MatMul&, const MatMul&) = default;
};

// ---- shape manipulation ----------------------------------------------------------------------

struct Flatten {
    static constexpr std::string_view name = "Flatten";
    static constexpr arity_t arity{1, 1, 1, 1};
    std::int64_t axis = 1;
    static constexpr auto attributes() { return std::tuple{attr("axis", &Flatten::axis)}; }
    friend bool operator==(const Flatten&, const Flatten&) = default;
};

/// Reshape(data, shape): the target shape is an int64 input (usually a constant).
struct Reshape {
    static constexpr std::string_view name = "Reshape";
    static constexpr arity_t arity{2, 2, 1, 1};
    std::int64_t allowzero = 0;
    static constexpr auto attributes() { return std::tuple{attr("allowzero", &Reshape::allowzero)}; }
    friend bool operator==(const Reshape&, const Reshape&) = default;
};

struct Transpose {
    static constexpr std::string_view name = "Transpose";
    static constexpr arity_t arity{1, 1, 1, 1};
    Ints perm;
    static constexpr auto attributes() { return std::tuple{attr("perm", &Transpose::perm)}; }
    friend bool operator==(const Transpose&, const Transpose&) = default;
};

struct Concat {
    static constexpr std::string_view name = "Concat";
    static constexpr arity_t arity{1, arity_t::variadic, 1, 1};
    std::int64_t axis = 0;
    static constexpr auto attributes() { return std::tuple{attr("axis", &Concat::axis)}; }
    friend bool operator==(const Concat&, const Concat&) = default;
};

/// Slice(data, starts, ends[, axes][, steps]) (opset >= 10 form; older attribute form is converted at import).
struct Slice {
    static constexpr std::string_view name = "Slice";
    static constexpr arity_t arity{3, 5, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Slice&, const Slice&) = default;
};

/// Split(input[, split]) into several outputs along `axis`; `split` sizes as input (opset >= 13),
/// or as attribute (older; kept here when given that way), or equal parts (`num_outputs`, opset 18).
struct Split {
    static constexpr std::string_view name = "Split";
    static constexpr arity_t arity{1, 2, 1, arity_t::variadic};
    std::int64_t axis = 0;
    std::int64_t num_outputs = 0;
    Ints split;
    static constexpr auto attributes() {
        return std::tuple{attr("axis", &Split::axis), attr("num_outputs", &Split::num_outputs), attr("split", &Split::split)};
    }
    friend bool operator==(const Split&, const Split&) = default;
};

/// Squeeze(data[, axes]) (axes as input from opset 13; older attribute form converted at import).
struct Squeeze {
    static constexpr std::string_view name = "Squeeze";
    static constexpr arity_t arity{1, 2, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Squeeze&, const Squeeze&) = default;
};

/// Unsqueeze(data, axes) (axes as input from opset 13; older attribute form converted at import).
struct Unsqueeze {
    static constexpr std::string_view name = "Unsqueeze";
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Unsqueeze&, const Unsqueeze&) = default;
};

// ---- reductions ------------------------------------------------------------------------------

/// ReduceMean(data[, axes]): `axes` is an attribute up to opset 17 and an input from opset 18;
/// the IR keeps whichever form it was given.
struct ReduceMean {
    static constexpr std::string_view name = "ReduceMean";
    static constexpr arity_t arity{1, 2, 1, 1};
    Ints axes;
    std::int64_t keepdims = 1;
    std::int64_t noop_with_empty_axes = 0;
    static constexpr auto attributes() {
        return std::tuple{attr("axes", &ReduceMean::axes), attr("keepdims", &ReduceMean::keepdims),
                          attr("noop_with_empty_axes", &ReduceMean::noop_with_empty_axes)};
    }
    friend bool operator==(const ReduceMean&, const ReduceMean&) = default;
};

// ---- resampling ------------------------------------------------------------------------------

/// Resize(X[, roi][, scales][, sizes]).
struct Resize {
    static constexpr std::string_view name = "Resize";
    static constexpr arity_t arity{1, 4, 1, 1};
    std::string coordinate_transformation_mode = "half_pixel";
    float cubic_coeff_a = -0.75f;
    std::int64_t exclude_outside = 0;
    float extrapolation_value = 0.0f;
    std::string mode = "nearest";
    std::string nearest_mode = "round_prefer_floor";
    static constexpr auto attributes() {
        return std::tuple{attr("coordinate_transformation_mode", &Resize::coordinate_transformation_mode),
                          attr("cubic_coeff_a", &Resize::cubic_coeff_a), attr("exclude_outside", &Resize::exclude_outside),
                          attr("extrapolation_value", &Resize::extrapolation_value), attr("mode", &Resize::mode),
                          attr("nearest_mode", &Resize::nearest_mode)};
    }
    friend bool operator==(const Resize&, const Resize&) = default;
};

// ---- constants -------------------------------------------------------------------------------

/// Constant: a node that produces its `value` tensor. Shared so that copying a graph does not copy weights.
struct Constant {
    static constexpr std::string_view name = "Constant";
    static constexpr arity_t arity{0, 0, 1, 1};
    std::shared_ptr<const Tensor> value;
    static constexpr auto attributes() { return std::tuple{attr("value", &Constant::value)}; }
    friend bool operator==(const Constant& a, const Constant& b) {
        return a.value == b.value || (a.value && b.value && *a.value == *b.value);
    }
};

} // namespace ops

/// The closed set of op types a node can hold.
using Op = std::variant<ops::Conv, ops::BatchNormalization, ops::LayerNormalization, ops::Relu, ops::Sigmoid, ops::HardSwish,
                        ops::Tanh, ops::Sqrt, ops::Erf, ops::Identity, ops::Clip, ops::LeakyRelu, ops::HardSigmoid, ops::Gelu,
                        ops::Softmax, ops::Dropout, ops::Add, ops::Mul, ops::Sub, ops::Div, ops::Pow, ops::GlobalAveragePool,
                        ops::AveragePool, ops::MaxPool, ops::Gemm, ops::MatMul, ops::Flatten, ops::Reshape, ops::Transpose,
                        ops::Concat, ops::Slice, ops::Split, ops::Squeeze, ops::Unsqueeze, ops::ReduceMean, ops::Resize,
                        ops::Constant>;

/// Number of op types in the catalogue.
inline constexpr std::size_t op_count = std::variant_size_v<Op>;

/// Small integer naming an op type (its index in `ir::Op`); what the searcher compares.
using OpKind = std::uint8_t;

namespace detail {
template <class T, class V>
struct variant_index;
template <class T, class... Ts>
struct variant_index<T, std::variant<Ts...>> {
    static constexpr std::size_t count = (std::size_t{std::is_same_v<T, Ts>} + ... + 0);
    static constexpr std::size_t value = [] {
        constexpr bool same[] = {std::is_same_v<T, Ts>..., false};
        std::size_t i = 0;
        while (i < sizeof...(Ts) && !same[i]) ++i;
        return i;
    }();
};
template <class V>
struct op_names_of;
template <class... Ts>
struct op_names_of<std::variant<Ts...>> {
    static constexpr std::array<std::string_view, sizeof...(Ts)> value{Ts::name...};
};
} // namespace detail

/// True when `T` is one of the catalogue's op types.
template <class T>
inline constexpr bool is_op_v = detail::variant_index<T, Op>::count == 1;

/// An op type of the catalogue (`ops::Conv`, `ops::Relu`, ...).
template <class T>
concept op_type = is_op_v<T>;

/// The kind (variant index) of op type `T`.
template <op_type T>
inline constexpr OpKind op_kind_v = static_cast<OpKind>(detail::variant_index<T, Op>::value);

/// Names of all op types, indexed by kind.
inline constexpr std::array<std::string_view, op_count> op_names = detail::op_names_of<Op>::value;

/// Whether op type `T` is commutative in its two inputs (Add, Mul).
template <class T>
inline constexpr bool is_commutative_v = [] {
    if constexpr (requires { T::commutative; })
        return T::commutative;
    else
        return false;
}();

[[nodiscard]] inline OpKind kind_of(const Op& op) noexcept { return static_cast<OpKind>(op.index()); }
[[nodiscard]] inline std::string_view name_of(const Op& op) noexcept { return op_names[op.index()]; }

/// The kind whose ONNX name is `name`, if the catalogue has it.
[[nodiscard]] constexpr std::optional<OpKind> kind_from_name(std::string_view name) noexcept {
    for (std::size_t i = 0; i < op_count; ++i)
        if (op_names[i] == name) return static_cast<OpKind>(i);
    return std::nullopt;
}

/// A default-constructed op (ONNX default attributes) of kind `k`.
[[nodiscard]] inline Op make_op(OpKind k) {
    static constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<Op (*)(), sizeof...(I)>{+[]() -> Op { return std::variant_alternative_t<I, Op>{}; }...};
    }(std::make_index_sequence<op_count>{});
    return table[k]();
}

/// Arity of the op held by `op`.
[[nodiscard]] inline arity_t arity_of(const Op& op) noexcept {
    return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::arity; }, op);
}

/// Whether the op held by `op` is commutative.
[[nodiscard]] inline bool is_commutative(const Op& op) noexcept {
    return std::visit([](const auto& o) { return is_commutative_v<std::decay_t<decltype(o)>>; }, op);
}

/// Calls `f(name, value)` for every attribute of `op` (typed: `value` is `const M&`).
template <class F>
void for_each_attribute(const Op& op, F&& f) {
    std::visit([&](const auto& o) { std::apply([&](const auto&... a) { (f(a.name, o.*(a.member)), ...); }, o.attributes()); },
               op);
}

} // namespace surgery::ir
