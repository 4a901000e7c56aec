// Element-wise ops: activations and unary math (each with its math as `eval`), Clip, and arithmetic with broadcasting.
//
// A unary element-wise op with `eval(x, y)` needs no kernel of its own: the reference layer's
// generic element-wise kernel runs `eval` over the tensor (and the executor fuses it after a
// Conv/Gemm/MatMul when it is an activation). `x` and `y` are Eigen array expressions of the same
// size; `y` may alias `x`.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"

namespace surgery::ir::ops {

/// The shape rule of every unary element-wise op: the output is the input.
template <class T>
    requires(is_elementwise_v<T> && T::arity.max_inputs == 1)
void infer(const T&, infer_context& c) {
    c.same_as_input();
}

#define SURGERY_DETAIL_UNARY(Type, Since, Expr)                                                                 \
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

SURGERY_DETAIL_UNARY(Relu, 1, x.max(0.0f));
SURGERY_DETAIL_UNARY(Sigmoid, 1, x.logistic());
SURGERY_DETAIL_UNARY(Tanh, 1, x.tanh());
/// Correctly rounded: Eigen's vectorised sqrt (EIGEN_FAST_MATH) is an approximation.
SURGERY_DETAIL_UNARY(Sqrt, 1, x.unaryExpr([](float v) { return std::sqrt(v); }));
SURGERY_DETAIL_UNARY(Erf, 9, x.erf());
/// x * HardSigmoid(x) with alpha = 1/6, beta = 1/2 (the definition of HardSwish).
SURGERY_DETAIL_UNARY(HardSwish, 14, x * (x * (1.0f / 6.0f) + 0.5f).max(0.0f).min(1.0f));
#undef SURGERY_DETAIL_UNARY

struct LeakyRelu {
    static constexpr std::string_view name = "LeakyRelu";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    float alpha = 0.01f;
    static constexpr auto attributes() { return std::tuple{attr("alpha", &LeakyRelu::alpha)}; }
    /// Exact: x + alpha * 0 == x for x > 0 and 0 + alpha * x == alpha * x for x < 0.
    template <class X, class Y>
    void eval(const X& x, Y&& y) const {
        y = x.max(0.0f) + alpha * x.min(0.0f);
    }
    friend bool operator==(const LeakyRelu&, const LeakyRelu&) = default;
};

/// max(0, min(1, alpha * x + beta)). PyTorch's Hardsigmoid exports with alpha = 1/6.
struct HardSigmoid {
    static constexpr std::string_view name = "HardSigmoid";
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    float alpha = 0.2f;
    float beta = 0.5f;
    static constexpr auto attributes() { return std::tuple{attr("alpha", &HardSigmoid::alpha), attr("beta", &HardSigmoid::beta)}; }
    template <class X, class Y>
    void eval(const X& x, Y&& y) const {
        y = (alpha * x + beta).max(0.0f).min(1.0f);
    }
    friend bool operator==(const HardSigmoid&, const HardSigmoid&) = default;
};

/// Gelu (ONNX opset 20); `approximate` is "none" (erf form) or "tanh".
struct Gelu {
    static constexpr std::string_view name = "Gelu";
    static constexpr std::int64_t since = 20;
    static constexpr arity_t arity{1, 1, 1, 1};
    static constexpr trait traits = trait::elementwise;
    std::string approximate = "none";
    static constexpr auto attributes() { return std::tuple{attr("approximate", &Gelu::approximate)}; }
    template <class X, class Y>
    void eval(const X& x, Y&& y) const {
        if (approximate == "tanh") y = 0.5f * x * (1.0f + (0.79788456080286536f * (x + 0.044715f * x.cube())).tanh());
        else y = 0.5f * x * (1.0f + (x * 0.70710678118654752f).erf());
    }
    friend bool operator==(const Gelu&, const Gelu&) = default;
};

inline void infer(const Gelu& op, infer_context& c) {
    if (op.approximate != "none" && op.approximate != "tanh" && !op.approximate.empty())
        c.fail("approximate must be 'none' or 'tanh', got '" + op.approximate + "'");
    c.same_as_input();
}

/// Clip(X[, min][, max]): the bounds are inputs (opset >= 11); older `min`/`max` attributes are
/// turned into inputs at import.
struct Clip {
    static constexpr std::string_view name = "Clip";
    static constexpr arity_t arity{1, 3, 1, 1};
    static constexpr trait traits = trait::elementwise;
    static constexpr std::array<legacy_input, 2> legacy_inputs{
        {{"min", 1, 11, legacy_kind::float_scalar}, {"max", 2, 11, legacy_kind::float_scalar}}};
    static constexpr auto attributes() { return std::tuple{}; }
    friend bool operator==(const Clip&, const Clip&) = default;
};

inline void infer(const Clip&, infer_context& c) {
    for (std::size_t i = 1; i < 3; ++i)
        if (c.known(i) && dims_product(c.shape(i), 0, c.shape(i).size()) > 1)
            c.fail("bound (input " + std::to_string(i) + ") must be a scalar, got " + to_string(c.shape(i)));
    c.same_as_input();
}

// ---- arithmetic with numpy broadcasting ------------------------------------------------------

#define SURGERY_DETAIL_BINARY(Type, Traits)                                                                    \
    struct Type {                                                                                              \
        static constexpr std::string_view name = #Type;                                                        \
        static constexpr arity_t arity{2, 2, 1, 1};                                                            \
        static constexpr trait traits = Traits;                                                                \
        static constexpr auto attributes() { return std::tuple{}; }                                            \
        friend bool operator==(const Type&, const Type&) = default;                                            \
    }

SURGERY_DETAIL_BINARY(Add, trait::elementwise | trait::commutative);
SURGERY_DETAIL_BINARY(Mul, trait::elementwise | trait::commutative);
SURGERY_DETAIL_BINARY(Sub, trait::elementwise);
SURGERY_DETAIL_BINARY(Div, trait::elementwise);
SURGERY_DETAIL_BINARY(Pow, trait::elementwise);
#undef SURGERY_DETAIL_BINARY

/// The shape rule of the broadcasting binary ops: both inputs broadcast; the type is input 0's.
template <class T>
    requires(is_elementwise_v<T> && T::arity.min_inputs == 2 && T::arity.max_inputs == 2)
void infer(const T&, infer_context& c) {
    if (!c.known(0) || !c.known(1)) return;
    c.set(0, broadcast(c.shape(0), c.shape(1), c));
}

using elementwise_ops = type_list<Relu, Sigmoid, HardSwish, Tanh, Sqrt, Erf, LeakyRelu, HardSigmoid, Gelu, Clip, Add, Mul, Sub, Div, Pow>;

} // namespace surgery::ir::ops
