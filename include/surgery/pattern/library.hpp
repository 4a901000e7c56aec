// Ready-made patterns for what exporters emit: every form of GELU, SiLU/Swish, HardSwish,
// HardSigmoid, ReLU6, Mish, LayerNorm, Squeeze-and-Excitation, BatchNorm after a linear op and the
// YOLO Focus stem, written once in the text pattern language (pattern/text.hpp) and shared by the
// rules, the executor's fusions and the writer's lowerings; and C++ pattern types for the shapes
// that need no constant (usable on any searchable graph).
//
//   const auto& p = surgery::pattern::forms::gelu_tanh.pattern();   // compiled once, on first use
//   for (const auto& m : surgery::search::find_program(g, p.view())) { ... m.capture("x") ... }
//
// Every form captures the activation's (or block's) input as `x`; numbers are checked to 1e-6
// relative (float32 exports of 1/sqrt(2), sqrt(2/pi) and 0.044715 pass, other constants do not).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

#include "surgery/ir/ops.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/pattern/op.hpp"
#include "surgery/pattern/text.hpp"

namespace surgery::pattern {

/// One graph form an exporter emits for a function: a pattern in the text language, named, with
/// the exporters known to emit it.
struct form {
    std::string_view name;   ///< stable identifier, e.g. "gelu_tanh"
    std::string_view text;   ///< the pattern (pattern/text.hpp); captures the input as `x`
    std::string_view source; ///< who emits it, e.g. "PyTorch, F.gelu(approximate='tanh'), opset < 20"

    /// The compiled pattern (parsed on first use, then shared; thread-safe).
    [[nodiscard]] const text_pattern& pattern() const {
        static std::mutex mutex;
        static std::map<std::string_view, std::unique_ptr<const text_pattern>> cache;
        const std::lock_guard<std::mutex> lock(mutex);
        auto& p = cache[text];
        if (!p) p = std::make_unique<const text_pattern>(text);
        return *p;
    }
};

namespace forms {

// ---- GELU ---------------------------------------------------------------------------------------
// 0.5 x (1 + erf(x / sqrt 2)) and 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). The product of
// x, 0.5 and the bracket is associated three ways by exporters; Mul and Add are matched in either
// operand order, so these three cover every association.

inline constexpr form gelu_op{"gelu_op", "Gelu(x)", "ONNX Gelu (opset 20), both approximations"};
inline constexpr form gelu_erf{"gelu_erf", "x * (Erf((x / 1.4142135624 | x * 0.7071067812)) + 1) * 0.5",
                               "PyTorch nn.GELU() below opset 20: Div(x, sqrt 2), Erf, Add 1, Mul x, Mul 0.5"};
inline constexpr form gelu_erf_half_first{"gelu_erf_half_first", "x * 0.5 * (Erf((x / 1.4142135624 | x * 0.7071067812)) + 1)",
                                          "0.5 * x * (1 + erf(x / sqrt 2)) written out (TensorFlow, Keras, custom code)"};
inline constexpr form gelu_erf_half_inner{"gelu_erf_half_inner", "x * ((Erf((x / 1.4142135624 | x * 0.7071067812)) + 1) * 0.5)",
                                          "x * (0.5 * (1 + erf(x / sqrt 2))) written out"};
inline constexpr form gelu_tanh{"gelu_tanh", "x * (Tanh((x + (x * (x * x) | Pow(x, 3)) * 0.044715) * 0.7978845608) + 1) * 0.5",
                                "PyTorch F.gelu(approximate='tanh') below opset 20 (cube as x * (x * x))"};
inline constexpr form gelu_tanh_half_first{"gelu_tanh_half_first",
                                           "x * 0.5 * (Tanh((x + (x * (x * x) | Pow(x, 3)) * 0.044715) * 0.7978845608) + 1)",
                                           "0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) written out (HF 'gelu_new', cube as Pow)"};
inline constexpr form gelu_tanh_half_inner{"gelu_tanh_half_inner",
                                           "x * ((Tanh((x + (x * (x * x) | Pow(x, 3)) * 0.044715) * 0.7978845608) + 1) * 0.5)",
                                           "x * (0.5 * (1 + tanh(...))) written out"};

// ---- SiLU / Swish, HardSwish, HardSigmoid, ReLU6, Mish ----------------------------------------------

inline constexpr form silu{"silu", "x * Sigmoid(x)", "PyTorch nn.SiLU (every opset), Swish with beta 1"};
inline constexpr form swish_beta{"swish_beta", "x * Sigmoid(x * beta:const)", "Swish x * sigmoid(beta * x), beta a constant (learnt)"};
inline constexpr form hardswish_op{"hardswish_op", "HardSwish(x)", "ONNX HardSwish (opset 14): PyTorch nn.Hardswish from opset 14"};
inline constexpr form hardswish_hardsigmoid{"hardswish_hardsigmoid", "x * HardSigmoid[alpha=0.16666667, beta=0.5](x)",
                                            "PyTorch nn.Hardswish below opset 14 (HardSwish's definition; another slope is not a HardSwish)"};
inline constexpr form hardswish_written{"hardswish_written", "x * (Clip(x + 3, 0, 6) | Clip(Relu(x + 3), _, 6)) / 6",
                                        "x * relu6(x + 3) / 6 written out (nn.ReLU6 is Clip; F.relu6 is Relu then Clip)"};
inline constexpr form hardswish_written_gate{"hardswish_written_gate", "x * ((Clip(x + 3, 0, 6) | Clip(Relu(x + 3), _, 6)) / 6)",
                                             "x * (relu6(x + 3) / 6): a hard-sigmoid gate written out"};
inline constexpr form hardsigmoid_op{"hardsigmoid_op", "HardSigmoid(x)", "ONNX HardSigmoid: PyTorch nn.Hardsigmoid (alpha 1/6)"};
inline constexpr form hardsigmoid_written{"hardsigmoid_written", "(Clip(x + 3, 0, 6) | Clip(Relu(x + 3), _, 6)) / 6",
                                          "relu6(x + 3) / 6 written out"};
inline constexpr form relu6_clip{"relu6_clip", "Clip(x, 0, 6)",
                                 "PyTorch nn.ReLU6: Clip with bounds as inputs (opset >= 11) or attributes (opset < 11, read as inputs)"};
inline constexpr form relu6_relu_clip{"relu6_relu_clip", "Clip(Relu(x), _, 6)", "PyTorch F.relu6: Relu then Clip(max 6)"};
inline constexpr form mish_op{"mish_op", "Mish(x)", "ONNX Mish (opset 18)"};
inline constexpr form mish_written{"mish_written", "x * Tanh(Softplus(x))", "PyTorch nn.Mish below opset 18"};
inline constexpr form leaky_relu_op{"leaky_relu_op", "LeakyRelu(x)", "PyTorch nn.LeakyReLU"};
inline constexpr form prelu_op{"prelu_op", "PRelu(x)", "PyTorch nn.PReLU (slope a constant)"};
inline constexpr form elu_op{"elu_op", "Elu|Celu|Selu(x)", "PyTorch nn.ELU, nn.CELU, nn.SELU"};

// ---- LayerNorm ----------------------------------------------------------------------------------
// The op (opset 17) and PyTorch's decomposition below opset 17 (ReduceMean, Sub, Pow, ReduceMean,
// Add, Sqrt, Div, Mul, Add). The axes of the two means (`axes`, `axes2`) and `eps` are captured for
// the rule to read: the last axis (tokens, NHWC) or axis 1 (channels of NCHW, ConvNeXt's LayerNorm2d
// written with x.mean(1)).

inline constexpr form layernorm_op{"layernorm_op", "LayerNormalization(x, scale:const)",
                                   "ONNX LayerNormalization (opset 17): PyTorch nn.LayerNorm from opset 17"};
inline constexpr form layernorm_decomposed{
    "layernorm_decomposed",
    "(x - ReduceMean(x, axes:const)) / Sqrt(ReduceMean((Pow(x - ReduceMean(x, axes), 2) | (x - ReduceMean(x, axes)) * (x - ReduceMean(x, axes))), "
    "axes2:const) + eps:const) * scale:const + bias:const",
    "PyTorch nn.LayerNorm below opset 17 (opset 14 is Debian PyTorch's default), and LayerNorm over channels written out "
    "(u = x.mean(1), s = (x - u).pow(2).mean(1), (x - u) / sqrt(s + eps) * w + b)"};
inline constexpr form layernorm_decomposed_plain{
    "layernorm_decomposed_plain",
    "(x - ReduceMean(x, axes:const)) / Sqrt(ReduceMean((Pow(x - ReduceMean(x, axes), 2) | (x - ReduceMean(x, axes)) * (x - ReduceMean(x, axes))), "
    "axes2:const) + eps:const)",
    "the same without the affine part (elementwise_affine=False)"};

// ---- Squeeze-and-Excitation ---------------------------------------------------------------------
// x * gate(conv(act(conv(squeeze(x))))): squeeze GlobalAveragePool (torchvision) or ReduceMean over
// H, W (timm, x.mean((2, 3), keepdim=True)); act ReLU (MobileNetV3, RegNet), HardSwish, or SiLU
// (EfficientNet); gate Sigmoid (EfficientNet, RegNet), HardSigmoid (MobileNetV3) or relu6(g + 3) / 6.

inline constexpr form se_relu{"se_relu",
                              "x * Sigmoid|HardSigmoid(Conv(Relu|HardSwish(Conv((GlobalAveragePool(x) | ReduceMean(x))))))",
                              "torchvision SqueezeExcitation in MobileNetV3 (ReLU, HardSigmoid) and RegNet (ReLU, Sigmoid); timm SEModule"};
inline constexpr form se_silu{"se_silu",
                              "x * Sigmoid|HardSigmoid(Conv(Conv((GlobalAveragePool(x) | ReduceMean(x))) * "
                              "Sigmoid(Conv((GlobalAveragePool(x) | ReduceMean(x))))))",
                              "torchvision SqueezeExcitation in EfficientNet (SiLU, Sigmoid); timm's EfficientNet SE"};
inline constexpr form se_relu_written_gate{
    "se_relu_written_gate",
    "x * ((Clip(Conv(Relu|HardSwish(Conv((GlobalAveragePool(x) | ReduceMean(x))))) + 3, 0, 6) | "
    "Clip(Relu(Conv(Relu|HardSwish(Conv((GlobalAveragePool(x) | ReduceMean(x))))) + 3), _, 6)) / 6)",
    "MobileNetV3 reimplementations whose gate is relu6(g + 3) / 6"};
inline constexpr form se_silu_written_gate{
    "se_silu_written_gate",
    "x * ((Clip(Conv(Conv((GlobalAveragePool(x) | ReduceMean(x))) * Sigmoid(Conv((GlobalAveragePool(x) | ReduceMean(x))))) + 3, 0, 6) | "
    "Clip(Relu(Conv(Conv((GlobalAveragePool(x) | ReduceMean(x))) * Sigmoid(Conv((GlobalAveragePool(x) | ReduceMean(x))))) + 3), _, 6)) / 6)",
    "SiLU inside, relu6(g + 3) / 6 gate"};

// ---- BatchNorm after a linear op, YOLO Focus --------------------------------------------------------

inline constexpr form conv_batchnorm{"conv_batchnorm",
                                     "BatchNormalization(Conv|ConvTranspose(x, w:const), scale:const, bias:const, mean:const, var:const)",
                                     "Conv2d / ConvTranspose2d + BatchNorm2d exported with BatchNorm kept (TrainingMode.PRESERVE, other exporters)"};
inline constexpr form gemm_batchnorm{"gemm_batchnorm", "BatchNormalization(Gemm(x, w:const), scale:const, bias:const, mean:const, var:const)",
                                     "Linear + BatchNorm1d (Gemm, transB 1)"};
inline constexpr form matmul_batchnorm{"matmul_batchnorm",
                                       "BatchNormalization(MatMul(x, w:const), scale:const, bias:const, mean:const, var:const)",
                                       "x @ W + BatchNorm1d on [N, C]"};
inline constexpr form matmul_left_batchnorm{"matmul_left_batchnorm",
                                            "BatchNormalization(MatMul(w:const, x), scale:const, bias:const, mean:const, var:const)",
                                            "W @ x + BatchNorm1d on [N, C, L]"};
inline constexpr form focus_two_slices{"focus_two_slices", "Concat(Slice(Slice(x)), Slice(Slice(x)), Slice(Slice(x)), Slice(Slice(x)))",
                                       "YOLOv5 Focus: x[..., ::2, ::2] etc. as a row slice then a column slice (PyTorch shares the row slices)"};
inline constexpr form focus_one_slice{"focus_one_slice", "Concat(Slice(x), Slice(x), Slice(x), Slice(x))",
                                      "Focus with each part one Slice over both axes"};

/// Every form above, for documentation and for tools that want them all.
inline constexpr form all[] = {gelu_op, gelu_erf, gelu_erf_half_first, gelu_erf_half_inner, gelu_tanh, gelu_tanh_half_first,
                               gelu_tanh_half_inner, silu, swish_beta, hardswish_op, hardswish_hardsigmoid, hardswish_written,
                               hardswish_written_gate, hardsigmoid_op, hardsigmoid_written, relu6_clip, relu6_relu_clip, mish_op, mish_written,
                               leaky_relu_op, prelu_op, elu_op, layernorm_op, layernorm_decomposed, layernorm_decomposed_plain, se_relu, se_silu,
                               se_relu_written_gate, se_silu_written_gate, conv_batchnorm, gemm_batchnorm, matmul_batchnorm,
                               matmul_left_batchnorm, focus_two_slices, focus_one_slice};

/// The GELU forms (op, erf and tanh in every association), in the order a rule should try them.
inline constexpr form gelu[] = {gelu_op, gelu_erf, gelu_erf_half_first, gelu_erf_half_inner, gelu_tanh, gelu_tanh_half_first, gelu_tanh_half_inner};
/// The HardSwish forms.
inline constexpr form hardswish[] = {hardswish_op, hardswish_hardsigmoid, hardswish_written, hardswish_written_gate};
/// The SiLU / Swish forms.
inline constexpr form swish[] = {silu, swish_beta};

} // namespace forms

namespace library {

namespace ops = ir::ops;

// C++ pattern types: compile-time programs for shapes that need no constant, usable on any graph
// that models searchable_graph (the text forms above also check constants, on ir::Graph).

/// `x * sigmoid(x)`: SiLU / Swish as exported to ONNX. `X` is the (captured) input value pattern.
template <class X = bind<0>>
using silu = node<op<ops::Mul>, X, node<op<ops::Sigmoid>, X>>;

/// `x * hardsigmoid(x)`: HardSwish as exported before opset 14.
template <class X = bind<0>>
using hardswish_decomposed = node<op<ops::Mul>, X, node<op<ops::HardSigmoid>, X>>;

/// The squeeze of a Squeeze-and-Excitation block: `conv(GlobalAveragePool(x))`.
template <class X>
using se_squeeze = node<op<ops::Conv>, node<op<ops::GlobalAveragePool>, X>>;

/// The gate's inner activation: ReLU (MobileNetV3) or a SiLU diamond (EfficientNet), whose value is captured in slot 1.
template <class Inner>
using se_activation = either<node<op<ops::Relu>, Inner>, silu<bind<1, Inner>>>;

/// Squeeze-and-Excitation: `x * gate(conv(act(conv(GlobalAveragePool(x)))))`, gate Sigmoid or
/// HardSigmoid; `x` is capture 0, so replacing the match by capture 0 removes the block. (The
/// rule `remove_squeeze_excitation` also matches the ReduceMean squeeze and written-out gates:
/// `forms::se_relu` and the others.)
using squeeze_excitation =
    node<op<ops::Mul>, bind<0>,
         node<any_of<op<ops::Sigmoid>, op<ops::HardSigmoid>>, node<op<ops::Conv>, se_activation<se_squeeze<bind<0>>>>>>;

/// Conv -> BatchNormalization (the pair BN folding removes).
using conv_bn = chain<op<ops::Conv>, op<ops::BatchNormalization>>;

} // namespace library

} // namespace surgery::pattern
