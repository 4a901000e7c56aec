// surgery_rules_doc DOCS_DIR: regenerates the reference part of DOCS_DIR/rules.md from the rule
// registry (rules::reference_markdown(); test_registry.cpp checks they agree) and the before/after
// pictures of DOCS_DIR/rules/: a MobileNetV3 Squeeze-and-Excitation block, a ConvNeXt block and a
// YOLO Focus stem, each rewritten by the `paper` preset (DOT from io/dot.hpp, SVG by Graphviz `dot`
// when it is on PATH). Run through `cmake --build BUILD --target rules_doc`.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_set>

#include "surgery/io/dot.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rules.hpp"

namespace fs = std::filesystem;
using namespace surgery;
using namespace surgery::ir;

namespace {

Graph se_block() {
    Graph g;
    g.name = "MobileNetV3 block with Squeeze-and-Excitation";
    Builder b(g, 1);
    auto x = b.input("x", {1, 16, 28, 28});
    auto h = b.hardswish(b.conv(x, {.kernel = 5, .depthwise = true}));
    auto s = b.conv(b.relu(b.conv(b.global_average_pool(h), {.out_channels = 4, .kernel = 1})), {.out_channels = 16, .kernel = 1});
    b.output(b.conv(b.mul(h, b.hardsigmoid(s)), {.out_channels = 24, .kernel = 1}));
    return g;
}

Graph convnext_block() {
    Graph g;
    g.name = "ConvNeXt block";
    Builder b(g, 2);
    auto x = b.input("x", {1, 32, 14, 14});
    auto t = b.transpose(b.conv(x, {.kernel = 7, .depthwise = true}), {0, 2, 3, 1});
    auto h = b.apply(ops::MatMul{}, {b.layer_norm(t), b.constant(Tensor::uniform({32, 128}, b.rng(), -0.1f, 0.1f))});
    h = b.apply(ops::Gelu{}, {b.add(h, b.constant(Tensor::uniform({128}, b.rng())))});
    h = b.add(b.apply(ops::MatMul{}, {h, b.constant(Tensor::uniform({128, 32}, b.rng(), -0.1f, 0.1f))}), b.constant(Tensor::uniform({32}, b.rng())));
    b.output(b.add(x, b.transpose(h, {0, 3, 1, 2})));
    return g;
}

Graph focus_stem() {
    Graph g;
    g.name = "YOLOv5 Focus stem";
    Builder b(g, 3);
    constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
    auto x = b.input("images", {1, 3, 64, 64});
    auto r0 = b.slice(x, {0}, {big}, {2}, {2}), r1 = b.slice(x, {1}, {big}, {2}, {2});
    auto f = b.concat({b.slice(r0, {0}, {big}, {3}, {2}), b.slice(r1, {0}, {big}, {3}, {2}), b.slice(r0, {1}, {big}, {3}, {2}),
                       b.slice(r1, {1}, {big}, {3}, {2})},
                      1);
    b.output(b.silu(b.batch_norm(b.conv(f, {.out_channels = 16, .bias = false}))));
    return g;
}

void picture(const Graph& before, const fs::path& dir, const std::string& stem, bool have_dot) {
    Graph after = before;
    const auto rep = rewrite::apply(after, rules::paper());
    io::dot_options ob, oa;
    ob.graph_name = before.name + ": before";
    oa.graph_name = before.name + ": after the paper preset (" + std::to_string(rep.total_replaced()) + " rewrites)";
    for (NodeId n : before.topological_order())
        if (n.index() >= after.node_bound() || !after.node(n).alive) ob.highlight.insert(n); // what the rules replaced
    for (NodeId n : after.topological_order())
        if (n.index() >= before.node_bound()) oa.highlight.insert(n); // what they made
    oa.highlight_color = "palegreen";
    using side = std::tuple<const Graph*, io::dot_options*, const char*>;
    for (const auto& [g, o, suffix] : {side{&before, &ob, "before"}, side{&after, &oa, "after"}}) {
        const fs::path dot = dir / (stem + "_" + suffix + ".dot"), svg = dir / (stem + "_" + suffix + ".svg");
        io::save_dot(*g, dot, *o);
        if (have_dot) {
            const std::string cmd = "dot -Tsvg -o '" + svg.string() + "' '" + dot.string() + "'";
            if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
            fs::remove(dot);
        }
    }
    std::cout << stem << ": " << rep.total_replaced() << " rewrites, " << before.num_nodes() << " -> " << after.num_nodes() << " nodes\n";
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: surgery_rules_doc DOCS_DIR\n";
        return 2;
    }
    try {
        const fs::path docs = argv[1], md = docs / "rules.md";
        std::ifstream in(md);
        if (!in) throw std::runtime_error("cannot read " + md.string());
        std::stringstream ss;
        ss << in.rdbuf();
        std::string text = ss.str();
        const std::string begin = "<!-- BEGIN GENERATED: rules::reference_markdown() -->\n", end = "<!-- END GENERATED -->";
        const auto b = text.find(begin), e = text.find(end);
        if (b == std::string::npos || e == std::string::npos || e < b) throw std::runtime_error(md.string() + " has no generated section markers");
        text = text.substr(0, b + begin.size()) + rules::reference_markdown() + text.substr(e);
        io::write_file_atomically(md, text);
        std::cout << "wrote " << md << "\n";

        const fs::path pictures = docs / "rules";
        fs::create_directories(pictures);
        const bool have_dot = std::system("dot -V > /dev/null 2>&1") == 0;
        if (!have_dot) std::cerr << "surgery_rules_doc: Graphviz 'dot' not found: writing .dot files only\n";
        picture(se_block(), pictures, "se_block", have_dot);
        picture(convnext_block(), pictures, "convnext_block", have_dot);
        picture(focus_stem(), pictures, "focus_stem", have_dot);
        return 0;
    } catch (const std::exception& ex) {
        std::cerr << "surgery_rules_doc: error: " << ex.what() << "\n";
        return 1;
    }
}
