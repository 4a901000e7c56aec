// Comparisons, logic, selection and casts: Equal, Less, Greater, Not, And, Or, Xor, Where, Cast, IsNaN, ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"
#include "surgery/ir/ops/math.hpp"

namespace surgery::ir {

/// The element type named by ONNX's `TensorProto.DataType` number `t` (Cast's `to`), or
/// `DType::undefined` for a number the IR has no type for (0, the float8 and 4-bit types, ...).
/// The core does not include the ONNX headers, so this is the enum's table written out.
[[nodiscard]] constexpr DType dtype_from_onnx(std::int64_t t) noexcept {
    switch (t) {
    case 1: return DType::f32;
    case 2: return DType::u8;
    case 3: return DType::i8;
    case 4: return DType::u16;
    case 5: return DType::i16;
    case 6: return DType::i32;
    case 7: return DType::i64;
    case 8: return DType::string;
    case 9: return DType::boolean;
    case 10: return DType::f16;
    case 11: return DType::f64;
    case 12: return DType::u32;
    case 13: return DType::u64;
    case 14: return DType::c64;
    case 15: return DType::c128;
    case 16: return DType::bf16;
    default: return DType::undefined;
    }
}

/// The ONNX `TensorProto.DataType` number of `t` (0 for `DType::undefined`).
[[nodiscard]] constexpr std::int64_t onnx_type_number(DType t) noexcept {
    for (std::int64_t k = 1; k <= 16; ++k)
        if (dtype_from_onnx(k) == t) return k;
    return 0;
}

namespace ops {

namespace detail {
/// The rule of the comparisons and boolean binaries: both inputs broadcast, the output is bool.
template <class Pred>
void logic_binary_rule(infer_context& c, Pred type_ok, std::string_view types) {
    math_same_types(c);
    math_input_types(c, type_ok, types);
    if (c.known(0) && c.known(1)) c.set(0, broadcast(c.shape(0), c.shape(1), c));
    c.set_dtype(0, DType::boolean);
}
[[nodiscard]] constexpr bool logic_bool_type(DType t) noexcept { return t == DType::boolean; }
[[nodiscard]] constexpr bool logic_equal_type(DType t) noexcept { return math_numeric_type(t) || t == DType::boolean || t == DType::string; }
} // namespace detail

// Numpy broadcasting (opset 7); opset 1's legacy `broadcast`/`axis` attributes are not in the IR
// (a node that uses them is carried as opaque), its same-shape form is.
#define SURGERY_DETAIL_LOGIC_BINARY(Type, Since, Traits)                                                         \
    struct Type {                                                                                              \
        static constexpr std::string_view name = #Type;                                                        \
        static constexpr std::int64_t since = Since;                                                           \
        static constexpr arity_t arity{2, 2, 1, 1};                                                            \
        static constexpr trait traits = Traits;                                                                \
        static constexpr auto attributes() { return std::tuple{}; }                                            \
        friend bool operator==(const Type&, const Type&) = default;                                            \
    }

SURGERY_DETAIL_LOGIC_BINARY(Equal, 1, trait::elementwise | trait::commutative);
SURGERY_DETAIL_LOGIC_BINARY(Less, 1, trait::elementwise);
SURGERY_DETAIL_LOGIC_BINARY(Greater, 1, trait::elementwise);
SURGERY_DETAIL_LOGIC_BINARY(LessOrEqual, 12, trait::elementwise);
SURGERY_DETAIL_LOGIC_BINARY(GreaterOrEqual, 12, trait::elementwise);
SURGERY_DETAIL_LOGIC_BINARY(And, 1, trait::elementwise | trait::commutative);
SURGERY_DETAIL_LOGIC_BINARY(Or, 1, trait::elementwise | trait::commutative);
SURGERY_DETAIL_LOGIC_BINARY(Xor, 1, trait::elementwise | trait::commutative);
#undef SURGERY_DETAIL_LOGIC_BINARY

inline void infer(const Equal&, infer_context& c) { detail::logic_binary_rule(c, detail::logic_equal_type, "numeric, bool or string tensors"); }
inline void infer(const Less&, infer_context& c) { detail::logic_binary_rule(c, detail::math_numeric_type, "numeric tensors"); }
inline void infer(const Greater&, infer_context& c) { detail::logic_binary_rule(c, detail::math_numeric_type, "numeric tensors"); }
inline void infer(const LessOrEqual&, infer_context& c) { detail::logic_binary_rule(c, detail::math_numeric_type, "numeric tensors"); }
inline void infer(const GreaterOrEqual&, infer_context& c) { detail::logic_binary_rule(c, detail::math_numeric_type, "numeric tensors"); }
inline void infer(const And&, infer_context& c) { detail::logic_binary_rule(c, detail::logic_bool_type, "bool tensors"); }
inline void infer(const Or&, infer_context& c) { detail::logic_binary_rule(c, detail::logic_bool_type, "bool tensors"); }
inline void infer(const Xor&, infer_context& c) { detail::logic_binary_rule(c, detail::logic_bool_type, "bool tensors"); }

struct Not {
    static constexpr std::string_view name = "Not";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Not&, const Not&) = default;
};

inline void infer(const Not&, infer_context& c) {
    detail::math_input_types(c, detail::logic_bool_type, "bool tensors");
    c.same_as_input();
    c.set_dtype(0, DType::boolean);
}

/// IsNaN(X): bool, true where X is NaN.
struct IsNaN {
    static constexpr std::string_view name = "IsNaN";
    static constexpr std::int64_t since = 9;
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const IsNaN&, const IsNaN&) = default;
};

/// IsInf(X): bool, true where X is +inf (detect_positive) or -inf (detect_negative).
struct IsInf {
    static constexpr std::string_view name = "IsInf";
    static constexpr std::int64_t since = 10;
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    std::int64_t detect_negative = 1;
    std::int64_t detect_positive = 1;
    static constexpr auto attributes() {
        return std::tuple{attr("detect_negative", &IsInf::detect_negative), attr("detect_positive", &IsInf::detect_positive)};
    }
    friend bool operator==(const IsInf&, const IsInf&) = default;
};

inline void infer(const IsNaN&, infer_context& c) {
    detail::math_input_types(c, detail::math_float_type, "floating-point tensors");
    c.same_as_input();
    c.set_dtype(0, DType::boolean);
}
inline void infer(const IsInf&, infer_context& c) {
    detail::math_input_types(c, detail::math_float_type, "floating-point tensors");
    c.same_as_input();
    c.set_dtype(0, DType::boolean);
}

/// Where(condition, X, Y): X where condition is true, Y elsewhere; the three broadcast together.
struct Where {
    static constexpr std::string_view name = "Where";
    static constexpr std::int64_t since = 9;
    static constexpr arity_t arity{3, 3, 1, 1};
    static constexpr trait traits = trait::elementwise;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Where&, const Where&) = default;
};

inline void infer(const Where&, infer_context& c) {
    if (c.dtype(0) != DType::undefined && c.dtype(0) != DType::boolean)
        c.fail("condition (input 0) has type " + std::string(to_string(c.dtype(0))) + ", expected bool");
    if (c.dtype(1) != DType::undefined && c.dtype(2) != DType::undefined && c.dtype(1) != c.dtype(2))
        c.fail("X has type " + std::string(to_string(c.dtype(1))) + ", Y has " + std::string(to_string(c.dtype(2))));
    if (auto s = broadcast_inputs(c)) c.set(0, std::move(*s));
    c.set_dtype(0, c.dtype(1) != DType::undefined ? c.dtype(1) : c.dtype(2));
}

/// Cast(input) to the element type `to` (an ONNX TensorProto.DataType number). The IR holds the
/// form of opset 6 on (opset 1 named the type by a string); `saturate` (opset 19) only concerns
/// float8 targets, which the IR has no type for.
struct Cast {
    static constexpr std::string_view name = "Cast";
    static constexpr std::int64_t since = 6;
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    /// Required by ONNX; 0 (UNDEFINED) until set, so that the writer never drops it as a default.
    std::int64_t to = 0;
    std::int64_t saturate = 1;
    static constexpr std::array<newer_part, 1> newer_parts{{{"saturate", 19}}};
    static constexpr auto attributes() { return std::tuple{attr("to", &Cast::to), attr("saturate", &Cast::saturate)}; }
    friend bool operator==(const Cast&, const Cast&) = default;
};

inline void infer(const Cast& op, infer_context& c) {
    const DType t = dtype_from_onnx(op.to);
    if (t == DType::undefined)
        c.fail(op.to == 0 ? std::string("attribute 'to' is not set") : "to = " + std::to_string(op.to) + " is not an element type the IR knows");
    c.same_as_input();
    c.set_dtype(0, t);
}

/// CastLike(input, target_type): Cast to the element type of `target_type` (opset 15).
struct CastLike {
    static constexpr std::string_view name = "CastLike";
    static constexpr std::int64_t since = 15;
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::elementwise;
    std::int64_t saturate = 1;
    static constexpr auto attributes() { return std::tuple{attr("saturate", &CastLike::saturate)}; }
    friend bool operator==(const CastLike&, const CastLike&) = default;
};

inline void infer(const CastLike&, infer_context& c) {
    c.same_as_input();
    c.set_dtype(0, c.dtype(1));
}

using logic_ops = type_list<Equal, Less, Greater, LessOrEqual, GreaterOrEqual, Not, And, Or, Xor, IsNaN, IsInf, Where, Cast, CastLike>;

} // namespace ops
} // namespace surgery::ir
