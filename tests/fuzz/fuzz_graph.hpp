// The small MobileNet-like graph the rule fuzzers rewrite (fuzz_rule_text in memory, fuzz_cli_lite
// as a model file): every built-in rule and most text rules find something in it.
#pragma once

#include "surgery/ir/builder.hpp"
#include "surgery/ir/verify.hpp"

namespace surgery::fuzz {

/// Conv/BN/HardSwish, a depthwise block with Squeeze-and-Excitation, SiLU, ReLU6, a branch that
/// reuses a value, a concat, a classifier head; one interior value is also a graph output.
inline ir::Graph mobile_like_graph() {
    ir::Graph g;
    g.name = "fuzz";
    g.opset = 17;
    ir::Builder b(g, 1);
    auto x = b.input("x", {1, 3, 16, 16});
    auto c = b.hardswish(b.batch_norm(b.conv(x, {.out_channels = 8, .kernel = 3, .stride = 2})));
    auto d = b.relu(b.batch_norm(b.conv(c, {.kernel = 3, .depthwise = true})));
    auto s = b.global_average_pool(d);
    s = b.relu(b.conv(s, {.out_channels = 4, .kernel = 1}));
    s = b.hardsigmoid(b.conv(s, {.out_channels = 8, .kernel = 1}));
    d = b.mul(d, s);
    auto e = b.silu(b.conv(d, {.out_channels = 8, .kernel = 1, .bias = false}));
    auto f = b.relu6(b.identity(b.max_pool(e, 5, 1, 2)));
    b.output(f);                                         // interior value that is also an output
    auto h = b.add(b.sigmoid(f), b.relu(f));             // f has several consumers
    auto cat = b.concat({h, e}, 1);                      // [1,16,8,8]
    auto y = b.linear(b.flatten(b.global_average_pool(cat)), 5);
    ir::ops::Softmax sm;
    sm.axis = -1;
    b.output(b.apply(sm, {b.apply(ir::ops::Tanh{}, {y})}));
    ir::verify(g);
    return g;
}

} // namespace surgery::fuzz
