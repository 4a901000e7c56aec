// Element-wise math beyond the activations: exponentials, rounding, Min/Max/Sum/Mean, Mod, PRelu, ...
//
// Unary ops carry their float math as `eval(x, y)` (see ir/ops/elementwise.hpp), so the generic
// element-wise kernel runs them; Neg, Abs and Sign also take integer tensors (shape computations
// use them) and have a kernel of their own that dispatches on the element type.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"
#include "surgery/ir/ops/elementwise.hpp"

namespace surgery::ir::ops {

namespace detail {
/// Whether `t` is a floating-point element type (ONNX's float types, stored or not).
[[nodiscard]] constexpr bool math_float_type(DType t) noexcept {
    return t == DType::f32 || t == DType::f16 || t == DType::f64 || t == DType::bf16;
}
/// Whether `t` is a float or (signed or unsigned) integer element type.
[[nodiscard]] constexpr bool math_numeric_type(DType t) noexcept {
    return math_float_type(t) || t == DType::i64 || t == DType::i32 || t == DType::i16 || t == DType::i8 || t == DType::u64 ||
           t == DType::u32 || t == DType::u16 || t == DType::u8;
}
/// Fails unless every present input has the same element type (unknown types are not compared).
inline void math_same_types(const infer_context& c) {
    DType first = DType::undefined;
    std::size_t first_at = 0;
    for (std::size_t i = 0; i < c.num_inputs(); ++i) {
        const DType t = c.dtype(i);
        if (t == DType::undefined) continue;
        if (first == DType::undefined) {
            first = t;
            first_at = i;
        } else if (t != first) {
            c.fail("input " + std::to_string(i) + " has type " + std::string(to_string(t)) + ", input " + std::to_string(first_at) + " has " +
                   std::string(to_string(first)));
        }
    }
}
/// Fails when an input's element type is not accepted by `ok`; `what` names the accepted types.
template <class Pred>
void math_input_types(const infer_context& c, Pred ok, std::string_view what) {
    for (std::size_t i = 0; i < c.num_inputs(); ++i) {
        const DType t = c.dtype(i);
        if (t != DType::undefined && c.has(i) && !ok(t))
            c.fail("input " + std::to_string(i) + " has type " + std::string(to_string(t)) + "; the op takes " + std::string(what));
    }
}
} // namespace detail

#define SURGERY_DETAIL_MATH_UNARY(Type, Since, Expr)                                                            \
    struct Type {                                                                                              \
        static constexpr std::string_view name = #Type;                                                        \
        static constexpr std::int64_t since = Since;                                                           \
        static constexpr arity_t arity{1, 1, 1, 1};                                                            \
        static constexpr trait traits = trait::elementwise;                                                    \
        static constexpr auto attributes() { return std::tuple{}; }                                            \
        template <class X, class Y>                                                                            \
        void eval(const X& x, Y&& y) const {                                                                   \
            y = Expr;                                                                                          \
        }                                                                                                      \
        friend bool operator==(const Type&, const Type&) = default;                                            \
    }

// Opset 1 forms differ only by `consumed_inputs`, which the reader drops.
/// e^x with the C library's expf: Eigen's vectorised exp stops at e^-88.7 (so e^-inf would not be 0).
SURGERY_DETAIL_MATH_UNARY(Exp, 1, x.unaryExpr([](float v) { return std::exp(v); }));
SURGERY_DETAIL_MATH_UNARY(Log, 1, x.log());
SURGERY_DETAIL_MATH_UNARY(Reciprocal, 1, x.inverse());
SURGERY_DETAIL_MATH_UNARY(Floor, 1, x.floor());
SURGERY_DETAIL_MATH_UNARY(Ceil, 1, x.ceil());
/// Halves to even, as ONNX (and numpy) round; rint does so in the default rounding mode.
SURGERY_DETAIL_MATH_UNARY(Round, 11, x.rint());
SURGERY_DETAIL_MATH_UNARY(Sin, 7, x.sin());
SURGERY_DETAIL_MATH_UNARY(Cos, 7, x.cos());
/// log(1 + e^x) without overflow for large x nor loss for very negative x (e^x down to denormals),
/// the form ONNX Runtime computes.
namespace detail {
[[nodiscard]] inline float softplus_value(float v) noexcept { return v > 0.0f ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); }
} // namespace detail
SURGERY_DETAIL_MATH_UNARY(Softplus, 1, x.unaryExpr([](float v) { return detail::softplus_value(v); }));
SURGERY_DETAIL_MATH_UNARY(Softsign, 1, x / (1.0f + x.abs()));
/// x * tanh(softplus(x)).
SURGERY_DETAIL_MATH_UNARY(Mish, 18, x.unaryExpr([](float v) { return v * std::tanh(detail::softplus_value(v)); }));
// Neg, Abs and Sign: float math here, integer tensors in their own kernels (reference/math.hpp).
SURGERY_DETAIL_MATH_UNARY(Neg, 1, -x);
SURGERY_DETAIL_MATH_UNARY(Abs, 1, x.abs());
/// -1, 0 or 1; NaN stays NaN (numpy's sign).
SURGERY_DETAIL_MATH_UNARY(Sign, 9, (x > 0.0f).select(1.0f, (x < 0.0f).select(-1.0f, (x == 0.0f).select(0.0f, x))));
#undef SURGERY_DETAIL_MATH_UNARY

/// x for x > 0, alpha * (e^x - 1) otherwise.
struct Elu {
    static constexpr std::string_view name = "Elu";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    float alpha = 1.0f;
    static constexpr auto attributes() { return std::tuple{attr("alpha", &Elu::alpha)}; }
    template <class X, class Y>
    void eval(const X& x, Y&& y) const {
        y = (x > 0.0f).select(x, alpha * x.expm1());
    }
    friend bool operator==(const Elu&, const Elu&) = default;
};

/// gamma * x for x > 0, gamma * alpha * (e^x - 1) otherwise (ONNX's defaults are the SELU constants).
struct Selu {
    static constexpr std::string_view name = "Selu";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    float alpha = 1.67326319217681884765625f;
    float gamma = 1.05070102214813232421875f;
    static constexpr auto attributes() { return std::tuple{attr("alpha", &Selu::alpha), attr("gamma", &Selu::gamma)}; }
    template <class X, class Y>
    void eval(const X& x, Y&& y) const {
        y = gamma * (x > 0.0f).select(x, alpha * x.expm1());
    }
    friend bool operator==(const Selu&, const Selu&) = default;
};

/// max(0, x) + min(0, alpha * (e^(x / alpha) - 1)).
struct Celu {
    static constexpr std::string_view name = "Celu";
    static constexpr std::int64_t since = 12;
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    float alpha = 1.0f;
    static constexpr auto attributes() { return std::tuple{attr("alpha", &Celu::alpha)}; }
    template <class X, class Y>
    void eval(const X& x, Y&& y) const {
        y = (x > 0.0f).select(x, alpha * (x / alpha).expm1());
    }
    friend bool operator==(const Celu&, const Celu&) = default;
};

inline void infer(const Celu& op, infer_context& c) {
    if (op.alpha == 0.0f) c.fail("alpha must not be 0");
    c.same_as_input();
}

/// x for x > alpha, 0 otherwise (an ONNX op from opset 10; experimental before).
struct ThresholdedRelu {
    static constexpr std::string_view name = "ThresholdedRelu";
    static constexpr std::int64_t since = 10;
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    float alpha = 1.0f;
    static constexpr auto attributes() { return std::tuple{attr("alpha", &ThresholdedRelu::alpha)}; }
    template <class X, class Y>
    void eval(const X& x, Y&& y) const {
        y = (x > alpha).select(x, 0.0f);
    }
    friend bool operator==(const ThresholdedRelu&, const ThresholdedRelu&) = default;
};

// ---- variadic: Min, Max, Sum, Mean --------------------------------------------------------------

// Numpy broadcasting across every input (opset 8); the same-shape forms of opsets 1 and 6 are the
// special case where no input broadcasts.
#define SURGERY_DETAIL_VARIADIC(Type)                                                                           \
    struct Type {                                                                                              \
        static constexpr std::string_view name = #Type;                                                        \
        static constexpr arity_t arity{1, arity_t::variadic, 1, 1};                                            \
        static constexpr trait traits = trait::elementwise | trait::commutative;                               \
        static constexpr auto attributes() { return std::tuple{}; }                                            \
        friend bool operator==(const Type&, const Type&) = default;                                            \
    }

SURGERY_DETAIL_VARIADIC(Min);
SURGERY_DETAIL_VARIADIC(Max);
SURGERY_DETAIL_VARIADIC(Sum);
SURGERY_DETAIL_VARIADIC(Mean);
#undef SURGERY_DETAIL_VARIADIC

namespace detail {
template <class F>
void math_variadic_rule(infer_context& c, F type_ok, std::string_view types) {
    for (std::size_t i = 0; i < c.num_inputs(); ++i)
        if (!c.has(i)) c.fail("input " + std::to_string(i) + " is missing");
    math_same_types(c);
    math_input_types(c, type_ok, types);
    if (auto s = broadcast_inputs(c)) c.set(0, std::move(*s));
}
} // namespace detail

inline void infer(const Min&, infer_context& c) {
    detail::math_variadic_rule(c, detail::math_numeric_type, "numeric tensors");
}
inline void infer(const Max&, infer_context& c) {
    detail::math_variadic_rule(c, detail::math_numeric_type, "numeric tensors");
}
/// ONNX defines Sum for float types; integer tensors are accepted too (they wrap on overflow).
inline void infer(const Sum&, infer_context& c) {
    detail::math_variadic_rule(c, detail::math_numeric_type, "numeric tensors");
}
inline void infer(const Mean&, infer_context& c) { detail::math_variadic_rule(c, detail::math_float_type, "floating-point tensors"); }

// ---- binary: Mod, PRelu ---------------------------------------------------------------------------

/// Mod(A, B) with numpy broadcasting. fmod = 0: integer remainder with the sign of the divisor
/// (Python's %); fmod = 1: C's fmod (sign of the dividend), the only form ONNX allows for floats.
struct Mod {
    static constexpr std::string_view name = "Mod";
    static constexpr std::int64_t since = 10;
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::elementwise;
    std::int64_t fmod = 0;
    static constexpr auto attributes() { return std::tuple{attr("fmod", &Mod::fmod)}; }
    friend bool operator==(const Mod&, const Mod&) = default;
};

inline void infer(const Mod& op, infer_context& c) {
    if (op.fmod != 0 && op.fmod != 1) c.fail("fmod must be 0 or 1, got " + std::to_string(op.fmod));
    detail::math_same_types(c);
    detail::math_input_types(c, detail::math_numeric_type, "numeric tensors");
    if (op.fmod == 0 && detail::math_float_type(c.dtype(0))) c.fail("fmod must be 1 for " + std::string(to_string(c.dtype(0))) + " inputs");
    if (c.known(0) && c.known(1)) c.set(0, broadcast(c.shape(0), c.shape(1), c));
}

/// PRelu(X, slope): x for x >= 0, slope * x otherwise; slope broadcasts to X (unidirectionally).
struct PRelu {
    static constexpr std::string_view name = "PRelu";
    static constexpr arity_t arity{2, 2, 1, 1};
    static constexpr trait traits = trait::elementwise;
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const PRelu&, const PRelu&) = default;
};

inline void infer(const PRelu&, infer_context& c) {
    detail::math_same_types(c);
    detail::math_input_types(c, detail::math_numeric_type, "numeric tensors");
    if (!c.known(0)) return;
    const Shape& x = c.shape(0);
    if (c.known(1)) {
        const Shape& s = c.shape(1);
        const Shape b = broadcast(x, s, c);
        bool fits = b.size() == x.size();
        for (std::size_t d = 0; fits && d < x.size(); ++d) fits = x[d] < 0 || b[d] == x[d];
        if (!fits) c.fail("slope " + to_string(s) + " does not broadcast to X " + to_string(x));
    }
    c.set(0, x);
}

using math_ops = type_list<Exp, Log, Reciprocal, Floor, Ceil, Round, Sin, Cos, Softplus, Softsign, Mish, Neg, Abs, Sign, Elu, Selu, Celu,
                           ThresholdedRelu, Min, Max, Sum, Mean, Mod, PRelu>;

} // namespace surgery::ir::ops
