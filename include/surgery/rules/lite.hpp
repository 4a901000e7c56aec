// The paper's lite rules: Squeeze-and-Excitation removal and activations turned into ReLU.
#pragma once

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/pattern/op.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rules/exact.hpp"

namespace surgery::rules {

/// Squeeze-and-Excitation block `x * gate(conv(act(conv(GlobalAveragePool(x)))))` removed: its output becomes x.
[[nodiscard]] inline rewrite::rule remove_squeeze_excitation() {
    return rewrite::make_rule("remove_squeeze_excitation", pattern::library::squeeze_excitation{}, rewrite::identity(),
                              rewrite::exactness::approximate, "Squeeze-and-Excitation block removed (gate ReLU or SiLU, Sigmoid or HardSigmoid)");
}

/// HardSwish (opset 14 op) -> ReLU.
[[nodiscard]] inline rewrite::rule hardswish_to_relu() {
    return rewrite::make_rule("hardswish_to_relu", P::chain<P::op<ir::ops::HardSwish>>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "HardSwish becomes ReLU");
}

/// x * HardSigmoid(x) (HardSwish exported before opset 14) -> ReLU.
[[nodiscard]] inline rewrite::rule hardswish_decomposed_to_relu() {
    return rewrite::make_rule("hardswish_decomposed_to_relu", pattern::library::hardswish_decomposed<>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "x * HardSigmoid(x) becomes ReLU");
}

/// HardSigmoid -> ReLU.
[[nodiscard]] inline rewrite::rule hardsigmoid_to_relu() {
    return rewrite::make_rule("hardsigmoid_to_relu", P::chain<P::op<ir::ops::HardSigmoid>>{}, rewrite::with_op(ir::ops::Relu{}),
                              rewrite::exactness::approximate, "HardSigmoid becomes ReLU");
}

/// x * Sigmoid(x) (SiLU / Swish as exported to ONNX) -> ReLU.
[[nodiscard]] inline rewrite::rule silu_to_relu() {
    return rewrite::make_rule("silu_to_relu", pattern::library::silu<>{}, rewrite::with_op(ir::ops::Relu{}), rewrite::exactness::approximate,
                              "x * Sigmoid(x) becomes ReLU");
}

/// The paper's MobileNetV3 dictionary: SE removal first (its gate is a HardSigmoid), then the activations.
[[nodiscard]] inline rewrite::dictionary mobilenet_v3_lite() {
    return rewrite::dictionary("mobilenet_v3_lite",
                               {remove_squeeze_excitation(), hardswish_to_relu(), hardswish_decomposed_to_relu(), hardsigmoid_to_relu()});
}

} // namespace surgery::rules
