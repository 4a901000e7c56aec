// Test helper: a graph that uses every op of the catalogue an opset can express, with non-default attributes.
#pragma once

#include <cstdint>
#include <vector>

#include "surgery/ir.hpp"

namespace surgery::test {

/// A graph using every op of the catalogue that opset `opset` can express, with non-default attributes.
inline ir::Graph zoo(std::int64_t opset) {
    ir::Graph g;
    g.opset = opset;
    g.name = "zoo";
    ir::Builder b(g, 7);
    auto x = b.input("image", {1, 4, 16, 16});
    auto c = b.conv(x, {.out_channels = 8, .kernel = 3, .stride = 2});
    c = b.batch_norm(c, 1e-3f);
    c = b.relu6(c);
    auto d = b.conv(c, {.kernel = 3, .depthwise = true});
    // Squeeze-and-Excitation: x * hardsigmoid(conv(relu(conv(gap(x)))))
    auto s = b.global_average_pool(d);
    s = b.relu(b.conv(s, {.out_channels = 4, .kernel = 1}));
    s = b.hardsigmoid(b.conv(s, {.out_channels = 8, .kernel = 1}));
    d = b.mul(d, s);
    if (opset >= 14) d = b.hardswish(d);
    d = b.silu(d);
    ir::ops::LeakyRelu lr;
    lr.alpha = 0.2f;
    d = b.apply(lr, {d});
    ir::ops::AveragePool ap;
    ap.kernel_shape = {3, 3};
    ap.pads = {1, 1, 1, 1};
    ap.count_include_pad = 1;
    auto p1 = b.apply(ap, {d});
    auto p2 = b.max_pool(d, 3, 1, 1);
    auto cat = b.concat({p1, p2}, 1); // [1,16,8,8]
    ir::ops::Resize rz;
    rz.mode = "linear";
    rz.coordinate_transformation_mode = "align_corners";
    auto up = b.apply(rz, {cat, ir::ValueId::none(), b.constant(ir::Tensor::floats({4}, {1, 1, 2, 2}))}); // [1,16,16,16]
    auto sl = b.slice(up, {0, 0}, {8, 16}, {1, 3}, {1, 2});                                           // [1,8,16,8]
    ir::ops::Split sp; // sizes as an input (the writer makes them an attribute below opset 13)
    sp.axis = 1;
    auto parts = b.apply_n(sp, {sl, b.ints({3, 5})}, 2);
    ir::ops::ReduceMean rm; // axes as an input (an attribute below opset 18)
    rm.keepdims = 1;
    auto mean = b.apply(rm, {parts[1], b.ints({2, 3})}); // [1,5,1,1]
    auto sq = b.apply(ir::ops::Squeeze{}, {mean, b.ints({2, 3})});     // [1,5]
    auto us = b.apply(ir::ops::Unsqueeze{}, {sq, b.ints({2})});        // [1,5,1]
    auto tr = b.transpose(us, {0, 2, 1});                              // [1,1,5]
    auto rs = b.apply(ir::ops::Reshape{}, {tr, b.ints({1, 5})});       // [1,5]
    auto fl = b.flatten(parts[0]);                                     // [1, 3*16*8]
    auto fc = b.linear(fl, 5);                                         // [1,5]
    auto mm = b.apply(ir::ops::MatMul{}, {fc, b.constant(ir::Tensor::uniform({5, 5}, b.rng()))});
    auto y = b.add(mm, rs);
    y = b.apply(ir::ops::Sub{}, {y, b.scalar(0.5f)});
    y = b.apply(ir::ops::Div{}, {y, b.scalar(2.0f)});
    y = b.apply(ir::ops::Pow{}, {b.apply(ir::ops::Sigmoid{}, {y}), b.scalar(2.0f)});
    y = b.apply(ir::ops::Sqrt{}, {y});
    y = b.apply(ir::ops::Erf{}, {b.apply(ir::ops::Tanh{}, {y})});
    // ratio as an input (an attribute below opset 12)
    y = b.apply(ir::ops::Dropout{}, {b.identity(y), b.scalar(0.25f)});
    if (opset >= 17) y = b.layer_norm(y);
    ir::ops::Softmax sm;
    sm.axis = -1;
    b.output(b.apply(sm, {y}));
    return g;
}
} // namespace surgery::test
