// Ready-made patterns for what PyTorch exports to ONNX: SiLU, HardSwish before opset 14, Squeeze-and-Excitation.
#pragma once

#include "surgery/ir/ops.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/pattern/op.hpp"

namespace surgery::pattern::library {

namespace ops = ir::ops;

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
/// HardSigmoid; `x` is capture 0, so replacing the match by capture 0 removes the block.
using squeeze_excitation =
    node<op<ops::Mul>, bind<0>,
         node<any_of<op<ops::Sigmoid>, op<ops::HardSigmoid>>, node<op<ops::Conv>, se_activation<se_squeeze<bind<0>>>>>>;

/// GELU as PyTorch exports it before opset 20: `(x * (erf(x / sqrt2) + 1)) * 0.5`.
template <class X = bind<0>>
using gelu_erf = node<op<ops::Mul>, node<op<ops::Mul>, X, node<op<ops::Add>, node<op<ops::Erf>, node<op<ops::Div>, X, value>>, value>>, value>;

/// One stride-2 slice of a value.
template <class X>
using slice_of = node<op<ops::Slice>, X>;

/// YOLO "Focus": four stride-2 slices of x (row parity x column parity), concatenated. PyTorch's
/// export shares the two row slices between the column slices; slots 1 and 2 capture them, so
/// the four operands may come in any order.
using focus = node<op<ops::Concat>, slice_of<either<bind<1, slice_of<bind<0>>>, bind<2, slice_of<bind<0>>>>>,
                   slice_of<either<bind<1, slice_of<bind<0>>>, bind<2, slice_of<bind<0>>>>>,
                   slice_of<either<bind<1, slice_of<bind<0>>>, bind<2, slice_of<bind<0>>>>>,
                   slice_of<either<bind<1, slice_of<bind<0>>>, bind<2, slice_of<bind<0>>>>>>;

/// Conv -> BatchNormalization (the pair BN folding removes).
using conv_bn = chain<op<ops::Conv>, op<ops::BatchNormalization>>;

} // namespace surgery::pattern::library
