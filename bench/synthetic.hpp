// Synthetic network-like ir::Graph generator for the search benchmarks (1e3..1e6 nodes in well under a second).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::bench {

/// Node counts per block kind, to describe a generated graph in the docs.
struct synthetic_stats {
    std::size_t conv_bn_relu = 0, inverted_residual = 0, dw_hardswish = 0, squeeze_excitation = 0, silu = 0, residual = 0,
                near_miss = 0;
};

/// Builds a graph that looks like a CNN to the searcher: a random (seeded) sequence of
///   Conv->BN->Relu                                  (plain block)
///   Conv->BN->Relu->DWConv->BN->Relu->Conv->BN->Add (inverted residual, the Add reads the block input)
///   DWConv->BN->HardSwish                           (MobileNetV3 style)
///   x * HardSigmoid(Conv(Relu(Conv(GAP(x)))))       (Squeeze-and-Excitation branch)
///   Conv->BN->(x * Sigmoid(x))                      (SiLU diamond)
///   Conv->BN->Relu->Conv->BN->Add                   (ResNet basic block)
///   Conv->BN->Relu->Conv->BN->HardSwish             (near miss of the 6-op pattern: fails at the last op)
/// Shapes are not set (the searchers do not need them) and every weight input reads one shared
/// constant, so no node allocates a tensor. The graph has one input and one output.
inline ir::Graph make_synthetic(std::size_t target_nodes, std::uint64_t seed = 42, synthetic_stats* stats = nullptr) {
    namespace ops = ir::ops;
    ir::Graph g;
    g.name = "synthetic_" + std::to_string(target_nodes);
    const ir::ValueId in = g.add_input("input", {1, 16, 8, 8});
    const ir::ValueId w = g.add_constant("shared_weight", ir::Tensor::scalar(1.0f));
    synthetic_stats st;

    std::uint64_t s = seed;
    auto next_rand = [&s] { // splitmix64
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    };
    auto node = [&g](ir::Op op, std::vector<ir::ValueId> ins) { return g.node(g.add_node(std::move(op), std::move(ins))).outputs[0]; };
    auto conv = [&](ir::ValueId x, std::int64_t group = 1) {
        ops::Conv c;
        c.group = group;
        return node(std::move(c), {x, w});
    };
    auto bn = [&](ir::ValueId x) { return node(ops::BatchNormalization{}, {x, w, w, w, w}); };
    auto relu = [&](ir::ValueId x) { return node(ops::Relu{}, {x}); };

    ir::ValueId x = in;
    while (g.num_nodes() < target_nodes) {
        const std::uint64_t r = next_rand() % 100;
        if (r < 40) { // plain Conv->BN->Relu
            x = relu(bn(conv(x)));
            ++st.conv_bn_relu;
        } else if (r < 55) { // inverted residual
            ir::ValueId y = relu(bn(conv(x)));
            y = relu(bn(conv(y, 32)));
            x = node(ops::Add{}, {bn(conv(y)), x});
            ++st.inverted_residual;
        } else if (r < 65) { // depthwise + HardSwish
            x = node(ops::HardSwish{}, {bn(conv(x, 32))});
            ++st.dw_hardswish;
        } else if (r < 75) { // Squeeze-and-Excitation
            ir::ValueId sq = node(ops::GlobalAveragePool{}, {x});
            sq = conv(relu(conv(sq)));
            sq = node(ops::HardSigmoid{}, {sq});
            x = node(ops::Mul{}, {x, sq});
            ++st.squeeze_excitation;
        } else if (r < 85) { // SiLU diamond
            const ir::ValueId y = bn(conv(x));
            x = node(ops::Mul{}, {y, node(ops::Sigmoid{}, {y})});
            ++st.silu;
        } else if (r < 95) { // ResNet basic block
            const ir::ValueId y = bn(conv(relu(bn(conv(x)))));
            x = node(ops::Add{}, {y, x});
            ++st.residual;
        } else { // near miss for Conv,BN,Relu,Conv,BN,Relu
            x = node(ops::HardSwish{}, {bn(conv(relu(bn(conv(x)))))});
            ++st.near_miss;
        }
    }
    g.add_output(x);
    if (stats) *stats = st;
    return g;
}

/// The searcher's worst case for a naive window search: one straight path of `nodes - 1` Relu
/// nodes ending in a Sigmoid. A pattern "Relu x (k-1), Sigmoid" starts a partial match at every
/// node and fails only at its last position, so restarting from each node costs k steps per node.
inline ir::Graph make_relu_path(std::size_t nodes) {
    ir::Graph g;
    g.name = "relu_path_" + std::to_string(nodes);
    ir::ValueId x = g.add_input("input", {1, 16, 8, 8});
    for (std::size_t i = 0; i + 1 < nodes; ++i) x = g.node(g.add_node(ir::ops::Relu{}, {x})).outputs[0];
    x = g.node(g.add_node(ir::ops::Sigmoid{}, {x})).outputs[0];
    g.add_output(x);
    return g;
}

} // namespace surgery::bench
