// The vocabulary an op definition is written in: arity, attribute tables, traits, older ONNX forms, type lists.
//
// An op of the catalogue is one struct that declares every fact about it beside its attributes
// (MLIR's ODS and ONNX's OpSchema are the model):
//
//   struct Elu {
//       static constexpr std::string_view name = "Elu";      // ONNX op_type
//       static constexpr std::string_view domain = "";       // "" is the default ONNX domain
//       static constexpr std::int64_t since = 6;             // first opset of the form the IR holds
//       static constexpr arity_t arity{1, 1, 1, 1};
//       static constexpr op_traits traits = trait::elementwise;
//       float alpha = 1.0f;                                   // attributes, with ONNX's defaults
//       static constexpr auto attributes() { return std::tuple{attr("alpha", &Elu::alpha)}; }
//       template <class X> auto eval(const X& x) const { ... }  // element-wise ops: the math, once
//       friend bool operator==(const Elu&, const Elu&) = default;
//   };
//   void infer(const Elu&, infer_context& c);                 // its shape rule (found by overload)
//
// and, in the reference layer, `void kernel(const ir::ops::Elu&, reference::node_io&)` (or the
// generic element-wise kernel when the op has `eval`). A missing shape rule or kernel is a compile
// error naming the op. Older ONNX forms where an input was an attribute are a table
// (`legacy_inputs`) read by the ONNX reader and writer, not code in them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>

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

/// Properties searchers, rewriters and writers rely on.
enum class trait : std::uint32_t {
    none = 0,
    commutative = 1u << 0,   ///< the two inputs may be swapped (Add, Mul, Max, ...)
    elementwise = 1u << 1,   ///< each output element depends on the same-index input element(s) only
    data_movement = 1u << 2, ///< moves or selects elements without arithmetic (Reshape, Transpose, Gather, ...)
    shape_compute = 1u << 3, ///< works on shapes rather than data (Shape, ConstantOfShape, Range)
    normalization = 1u << 4, ///< BatchNormalization, LayerNormalization, InstanceNormalization
};
using op_traits = trait;
[[nodiscard]] constexpr trait operator|(trait a, trait b) noexcept {
    return static_cast<trait>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
[[nodiscard]] constexpr bool has(trait set, trait t) noexcept {
    return (static_cast<std::uint32_t>(set) & static_cast<std::uint32_t>(t)) == static_cast<std::uint32_t>(t) && t != trait::none;
}

/// How a legacy attribute's value becomes an input tensor.
enum class legacy_kind : std::uint8_t {
    ints,         ///< INTS attribute <-> 1-D int64 input
    float_scalar, ///< FLOAT attribute <-> float32 scalar input
};

/// An input that older opsets took as an attribute: for `opset < before`, attribute `attribute`
/// holds what the IR keeps in input `slot`. The reader turns the attribute into a constant input;
/// the writer turns a constant input back into the attribute (and refuses a non-constant one).
struct legacy_input {
    std::string_view attribute;
    std::uint32_t slot = 1;
    std::int64_t before = 0;
    legacy_kind kind = legacy_kind::ints;
};

/// A part of an op that ONNX added after the op itself: attribute `name` (any non-default value,
/// or only `value` when given), or input `slot` when `input`. The writer refuses to write it below
/// opset `since` instead of writing a model that opset does not define.
struct newer_part {
    std::string_view name;
    std::int64_t since = 0;
    bool input = false;
    std::uint32_t slot = 0;
    std::string_view value{}; ///< attributes: only this (string) value is newer
};

// ---- type lists ---------------------------------------------------------------------------

template <class... Ts>
struct type_list {
    static constexpr std::size_t size = sizeof...(Ts);
};

namespace detail {
template <class... Ls>
struct concat_lists;
template <>
struct concat_lists<> {
    using type = type_list<>;
};
template <class... As>
struct concat_lists<type_list<As...>> {
    using type = type_list<As...>;
};
template <class... As, class... Bs, class... Rest>
struct concat_lists<type_list<As...>, type_list<Bs...>, Rest...> {
    using type = typename concat_lists<type_list<As..., Bs...>, Rest...>::type;
};
} // namespace detail

/// The type lists `Ls...` joined in order.
template <class... Ls>
using concat_t = typename detail::concat_lists<Ls...>::type;

// ---- reading an op definition with defaults ---------------------------------------------------

/// The ONNX domain of op type `T` ("" for the default domain).
template <class T>
inline constexpr std::string_view domain_v = [] {
    if constexpr (requires { T::domain; })
        return std::string_view(T::domain);
    else
        return std::string_view{};
}();

/// First opset (of `T`'s domain) in which the IR's form of `T` exists.
template <class T>
inline constexpr std::int64_t since_v = [] {
    if constexpr (requires { T::since; })
        return static_cast<std::int64_t>(T::since);
    else
        return std::int64_t{1};
}();

/// The traits of op type `T`.
template <class T>
inline constexpr trait traits_v = [] {
    if constexpr (requires { T::traits; })
        return static_cast<trait>(T::traits);
    else
        return trait::none;
}();

/// The legacy-input table of op type `T` (empty when its inputs never were attributes).
template <class T>
[[nodiscard]] constexpr std::span<const legacy_input> legacy_inputs_of() noexcept {
    if constexpr (requires { T::legacy_inputs; })
        return std::span<const legacy_input>(T::legacy_inputs);
    else
        return {};
}

/// The newer-part table of op type `T` (empty when every part is as old as the op).
template <class T>
[[nodiscard]] constexpr std::span<const newer_part> newer_parts_of() noexcept {
    if constexpr (requires { T::newer_parts; })
        return std::span<const newer_part>(T::newer_parts);
    else
        return {};
}

/// Whether op type `T` is commutative in its two inputs.
template <class T>
inline constexpr bool is_commutative_v = has(traits_v<T>, trait::commutative);

/// Whether op type `T` is element-wise.
template <class T>
inline constexpr bool is_elementwise_v = has(traits_v<T>, trait::elementwise);

} // namespace surgery::ir
