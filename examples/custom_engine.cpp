// Plugging model-surgery into an inference engine whose graph type is its own: specialise
// surgery::graph_traits for it, then search and rewrite it with the library's patterns.
#include <iostream>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/surgery.hpp"

namespace tiny_engine {
/// The engine's own layer record: one output per layer, inputs by layer index.
struct Layer {
    std::string type; // "Conv", "HardSwish", ...
    std::vector<int> inputs;
    int kernel = 0;
    bool dead = false;
};
struct Net {
    std::vector<Layer> layers;
    std::vector<int> outputs;
    int add(std::string type, std::vector<int> inputs, int kernel = 0) {
        layers.push_back({std::move(type), std::move(inputs), kernel, false});
        return static_cast<int>(layers.size()) - 1;
    }
};
} // namespace tiny_engine

template <>
struct surgery::graph_traits<tiny_engine::Net> {
    using G = tiny_engine::Net;
    using node_type = int;
    using value_type = int; // a layer's output is named by the layer's index

    static std::size_t node_bound(const G& g) { return g.layers.size(); }
    static std::size_t index(const G&, int n) { return static_cast<std::size_t>(n); }
    static std::vector<int> topological_order(const G& g) { // Kahn, smallest index first
        std::vector<int> indeg(g.layers.size(), 0), order;
        for (std::size_t i = 0; i < g.layers.size(); ++i)
            if (!g.layers[i].dead) indeg[i] = static_cast<int>(g.layers[i].inputs.size());
        std::priority_queue<int, std::vector<int>, std::greater<>> ready;
        for (std::size_t i = 0; i < g.layers.size(); ++i)
            if (!g.layers[i].dead && indeg[i] == 0) ready.push(static_cast<int>(i));
        while (!ready.empty()) {
            int n = ready.top();
            ready.pop();
            order.push_back(n);
            for (int c : consumers(g, n))
                if (--indeg[static_cast<std::size_t>(c)] == 0) ready.push(c);
        }
        return order;
    }
    static std::string_view op_name(const G& g, int n) { return g.layers[static_cast<std::size_t>(n)].type; }
    static std::size_t num_inputs(const G& g, int n) { return g.layers[static_cast<std::size_t>(n)].inputs.size(); }
    static std::optional<int> input(const G& g, int n, std::size_t i) {
        const auto& in = g.layers[static_cast<std::size_t>(n)].inputs;
        if (i >= in.size() || in[i] < 0) return std::nullopt;
        return in[i];
    }
    static std::size_t num_outputs(const G&, int) { return 1; }
    static int output(const G&, int n, std::size_t) { return n; }
    static std::optional<int> producer(const G&, int v) { return v < 0 ? std::nullopt : std::optional<int>(v); }
    static std::vector<int> consumers(const G& g, int v) {
        std::vector<int> out;
        for (std::size_t i = 0; i < g.layers.size(); ++i)
            if (!g.layers[i].dead)
                for (int in : g.layers[i].inputs)
                    if (in == v) out.push_back(static_cast<int>(i));
        return out;
    }
    static bool is_graph_output(const G& g, int v) { return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end(); }
    // Typed attributes let the searcher evaluate attribute predicates such as pattern::kernel<5>.
    template <class Op>
    static const Op* attributes(const G& g, int n) {
        if constexpr (std::is_same_v<Op, surgery::ir::ops::Conv>) {
            thread_local surgery::ir::ops::Conv conv;
            const auto& l = g.layers[static_cast<std::size_t>(n)];
            if (l.type != "Conv") return nullptr;
            conv.kernel_shape = {l.kernel, l.kernel};
            return &conv;
        } else {
            return nullptr;
        }
    }
    // Mutation traits: what rewrite::replace_all needs.
    static void redirect(G& g, int from, int to) {
        for (auto& l : g.layers)
            for (int& in : l.inputs)
                if (in == from) in = to;
        for (int& o : g.outputs)
            if (o == from) o = to;
    }
    static void erase(G& g, int n) { g.layers[static_cast<std::size_t>(n)].dead = true; }
    static int add_op(G& g, std::string_view op, int input) { return g.add(std::string(op), {input}); }
};

static_assert(surgery::searchable_graph<tiny_engine::Net>);
static_assert(surgery::rewrite::mutable_graph<tiny_engine::Net>);

namespace {
void print(const tiny_engine::Net& net) {
    using T = surgery::graph_traits<tiny_engine::Net>;
    for (int n : T::topological_order(net)) {
        const auto& l = net.layers[static_cast<std::size_t>(n)];
        std::cout << "  %" << n << " = " << l.type << "(";
        for (std::size_t i = 0; i < l.inputs.size(); ++i) std::cout << (i ? ", " : "") << "%" << l.inputs[i];
        std::cout << ")\n";
    }
}
} // namespace

int main() {
    namespace P = surgery::pattern;
    namespace ops = surgery::ir::ops;
    tiny_engine::Net net;
    // input -> Conv5x5 -> HardSwish -> SE(x * HardSigmoid(Conv(Relu(Conv(GAP(x)))))) -> Conv3x3 -> HardSwish
    const int in = net.add("Input", {});
    int x = net.add("HardSwish", {net.add("Conv", {in}, 5)});
    const int gate = net.add("HardSigmoid", {net.add("Conv", {net.add("Relu", {net.add("Conv", {net.add("GlobalAveragePool", {x})}, 1)})}, 1)});
    x = net.add("Mul", {gate, x});
    x = net.add("HardSwish", {net.add("Conv", {x}, 3)});
    net.outputs = {x};
    std::cout << "before (" << surgery::graph_traits<tiny_engine::Net>::topological_order(net).size() << " layers):\n";
    print(net);

    // Search: the engine's graph through the library's compile-time patterns.
    const auto large = surgery::search::find_chains(net, P::chain<P::op<ops::Conv, P::kernel_at_least<5>>, P::op<ops::HardSwish>>{});
    std::cout << "large-kernel Conv -> HardSwish chains: " << large.size() << " (first at layer %" << large.at(0).first() << ")\n";

    // Rewrite: the paper's MobileNetV3 rules, expressed with the library's patterns.
    const auto se = surgery::rewrite::replace_all(net, P::library::squeeze_excitation{}, "", "remove_squeeze_excitation");
    const auto hs = surgery::rewrite::replace_all(net, P::chain<P::op<ops::HardSwish>>{}, "Relu", "hardswish_to_relu");
    std::cout << "removed " << se << " squeeze-and-excitation block(s), replaced " << hs << " HardSwish by Relu\n";
    std::cout << "after (" << surgery::graph_traits<tiny_engine::Net>::topological_order(net).size() << " layers):\n";
    print(net);
    return (se == 1 && hs == 2) ? 0 : 1;
}
