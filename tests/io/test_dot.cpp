// Tests of io/dot.hpp: labels with op attributes, the expected vertices and edges, highlights, escaping.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>

#include "surgery/io/dot.hpp"
#include "surgery/io/file.hpp"
#include "surgery/ir/builder.hpp"

using surgery::ir::Builder;
using surgery::ir::Graph;
using surgery::ir::NodeId;

namespace {

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

/// input -> Conv 7x7 s2 (named stem) -> Relu -> MaxPool 3x3 s2 -> Add(x, x) -> output "out".
Graph small() {
    Graph g;
    Builder b(g, 1);
    auto x = b.input("image", {1, 3, 32, 32});
    auto y = b.conv(x, {.out_channels = 8, .kernel = 7, .stride = 2}, "stem");
    y = b.relu(y);
    y = b.max_pool(y, 3, 2, 1);
    y = b.add(y, y);
    g.set_value_name(y, "out");
    b.output(y);
    return g;
}

} // namespace

TEST_CASE("dot: op summaries and labels") {
    const Graph g = small();
    const NodeId stem = *g.find_node("stem");
    CHECK(surgery::io::op_summary(g.node(stem).op) == "Conv k7x7 s2");
    CHECK(surgery::io::node_label(g, stem) == "stem\nConv k7x7 s2\n[1,8,16,16]");
    CHECK(surgery::io::node_label(g, stem, false) == "stem\nConv k7x7 s2");
    surgery::ir::ops::Conv dw;
    dw.kernel_shape = {3, 3};
    dw.strides = {1, 1};
    dw.dilations = {2, 2};
    dw.group = 32;
    CHECK(surgery::io::op_summary(dw) == "Conv k3x3 d2x2 g32");
    surgery::ir::ops::Transpose t;
    t.perm = {0, 2, 3, 1};
    CHECK(surgery::io::op_summary(t) == "Transpose 0,2,3,1");
    CHECK(surgery::io::op_summary(surgery::ir::ops::Relu{}) == "Relu");
}

TEST_CASE("dot: vertices, edges and the Boost.Graph view") {
    const Graph g = small();
    const auto bg = surgery::io::to_boost_graph(g);
    CHECK(boost::num_vertices(bg) == 1 + 4 + 1); // input, 4 nodes, output
    CHECK(boost::num_edges(bg) == 1 + 1 + 1 + 2 + 1); // Add reads its input twice

    surgery::io::dot_options named;
    named.graph_name = "small";
    const std::string dot = surgery::io::to_dot(g, named);
    CHECK(dot.rfind("digraph G {", 0) == 0);
    CHECK(dot.find("label=\"small\";") != std::string::npos);
    CHECK(dot.find("in0[label=\"image\\n[1,3,32,32]\", shape=ellipse]") != std::string::npos);
    CHECK(dot.find("n0[label=\"stem\\nConv k7x7 s2\\n[1,8,16,16]\"]") != std::string::npos);
    CHECK(dot.find("out0[label=\"out\\n[1,8,8,8]\", shape=ellipse]") != std::string::npos);
    CHECK(dot.find("MaxPool k3x3 s2") != std::string::npos);
    CHECK(dot.find("in0->n0") != std::string::npos);
    CHECK(dot.find("n0->n1") != std::string::npos);
    CHECK(count(dot, "n2->n3") == 2);
    CHECK(dot.find("n3->out0") != std::string::npos);
    CHECK(count(dot, "filled") == 0);
    // Constants (weights) are not drawn.
    CHECK(dot.find("stem.weight") == std::string::npos);
}

TEST_CASE("dot: highlighted nodes are filled, ids survive a rewrite") {
    Graph g = small();
    const NodeId relu = *g.find_node("relu_0");
    surgery::io::dot_options opt;
    opt.highlight = {relu};
    opt.highlight_color = "palegreen";
    const std::string dot = surgery::io::to_dot(g, opt);
    CHECK(count(dot, "filled") == 1);
    CHECK(dot.find("n" + std::to_string(relu.index()) + "[label=\"relu_0\\nRelu\\n[1,8,16,16]\", style=\"rounded,filled\", fillcolor=\"palegreen\"]") !=
          std::string::npos);
    // Without inputs/outputs and shapes.
    surgery::io::dot_options plain;
    plain.show_shapes = false;
    plain.show_io = false;
    const std::string bare = surgery::io::to_dot(g, plain);
    CHECK(bare.find("in0") == std::string::npos);
    CHECK(bare.find("out0") == std::string::npos);
    CHECK(bare.find("n0[label=\"stem\\nConv k7x7 s2\"]") != std::string::npos);
}

TEST_CASE("dot: names are escaped, files are written") {
    Graph g;
    Builder b(g);
    auto x = b.input("in\"put", {1, 4});
    auto y = b.apply(surgery::ir::ops::Relu{}, {x}, "a\\b\"c");
    b.output(y);
    const std::string dot = surgery::io::to_dot(g);
    CHECK(dot.find("label=\"a\\\\b\\\"c\\nRelu\\n[1,4]\"") != std::string::npos);
    CHECK(dot.find("label=\"in\\\"put\\n[1,4]\"") != std::string::npos);

    const auto dir = std::filesystem::temp_directory_path() / ("surgery_test_dot_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    surgery::io::save_dot(g, dir / "g.dot");
    CHECK(surgery::io::read_file(dir / "g.dot") == dot);
    CHECK_THROWS_WITH_AS(surgery::io::save_dot(g, dir / "missing" / "g.dot"), doctest::Contains("does not exist"), surgery::io_error);
    std::filesystem::remove_all(dir);
}
