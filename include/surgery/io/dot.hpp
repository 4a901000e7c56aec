// Graphviz DOT output of an ir::Graph, through a Boost.Graph view of it and boost::write_graphviz.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

// g++ 12 reports a boost::optional inside Boost.Graph's edge iterator as maybe uninitialized
// wherever write_graphviz is instantiated or inlined (a false positive); silenced for Boost.Graph's
// code here and for write_dot below.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphviz.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/ir/graph.hpp"

namespace surgery::io {

/// What `write_dot` draws.
struct dot_options {
    std::string graph_name = "G";
    /// Nodes drawn filled with `highlight_color` (e.g. the regions a rewrite replaced).
    std::unordered_set<ir::NodeId> highlight;
    std::string highlight_color = "lightsalmon";
    bool show_shapes = true; ///< a third label line with the node's (first) output shape
    bool show_io = true;     ///< graph inputs and outputs as ellipses
    std::string rankdir = "TB";
};

/// A Boost.Graph view of an `ir::Graph`: one vertex per live node (and per graph input and output
/// when `with_io`), one edge per data dependency (producer -> consumer, per input slot).
struct dot_vertex {
    std::string id;    ///< "n<node id>", "in<k>", "out<k>"
    std::string label; ///< lines separated by '\n'
    bool io = false;
    bool highlighted = false;
    ir::NodeId node;   ///< invalid for input/output vertices
};
struct dot_edge {
    std::string label;
};
using dot_graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, dot_vertex, dot_edge>;

namespace detail {

inline std::string ints_text(const ir::Ints& v, char sep) {
    std::string s;
    for (std::size_t k = 0; k < v.size(); ++k) {
        if (k) s.push_back(sep);
        s += std::to_string(v[k]);
    }
    return s;
}

inline bool all_equal_to(const ir::Ints& v, std::int64_t x) {
    for (auto e : v)
        if (e != x) return false;
    return true;
}

/// Kernel, stride, dilation and group of windowed ops: " k7x7 s2 d2 g32" (defaults omitted).
template <class Op>
std::string window_text(const Op& op) {
    std::string s;
    if (!op.kernel_shape.empty()) s += " k" + ints_text(op.kernel_shape, 'x');
    if (!op.strides.empty() && !all_equal_to(op.strides, 1)) s += " s" + (all_equal_to(op.strides, op.strides[0]) ? std::to_string(op.strides[0]) : ints_text(op.strides, 'x'));
    if (!op.dilations.empty() && !all_equal_to(op.dilations, 1)) s += " d" + ints_text(op.dilations, 'x');
    return s;
}

/// DOT's escString inside double quotes: quotes and backslashes escaped, newlines as "\n".
inline std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

} // namespace detail

/// The op with its salient attributes: "Conv k7x7 s2 g32", "MaxPool k3x3 s2", "Transpose 0,2,3,1".
[[nodiscard]] inline std::string op_summary(const ir::Op& op) {
    std::string s(ir::name_of(op));
    if (const auto* c = std::get_if<ir::ops::Conv>(&op)) {
        s += detail::window_text(*c);
        if (c->group != 1) s += " g" + std::to_string(c->group);
    } else if (const auto* mp = std::get_if<ir::ops::MaxPool>(&op)) {
        s += detail::window_text(*mp);
    } else if (const auto* ap = std::get_if<ir::ops::AveragePool>(&op)) {
        s += detail::window_text(*ap);
    } else if (const auto* t = std::get_if<ir::ops::Transpose>(&op)) {
        if (!t->perm.empty()) s += " " + detail::ints_text(t->perm, ',');
    } else if (const auto* cc = std::get_if<ir::ops::Concat>(&op)) {
        s += " axis " + std::to_string(cc->axis);
    } else if (const auto* gm = std::get_if<ir::ops::Gemm>(&op)) {
        if (gm->transA) s += " tA";
        if (gm->transB) s += " tB";
    } else if (const auto* r = std::get_if<ir::ops::Resize>(&op)) {
        s += " " + r->mode;
    }
    return s;
}

/// The label of node `n`: "name\nOp k7x7 s2" and, when `with_shape`, "\n[1,64,112,112]".
[[nodiscard]] inline std::string node_label(const ir::Graph& g, ir::NodeId n, bool with_shape = true) {
    const ir::Node& nd = g.node(n);
    std::string s = g.label(n) + "\n" + op_summary(nd.op);
    if (with_shape && !nd.outputs.empty()) {
        const auto& shape = g.value(nd.outputs[0]).shape;
        if (shape) s += "\n" + ir::to_string(*shape);
    }
    return s;
}

/// Builds the Boost.Graph view of `g` (see `dot_graph`).
[[nodiscard]] inline dot_graph to_boost_graph(const ir::Graph& g, const dot_options& opt = {}) {
    dot_graph bg;
    std::unordered_map<std::size_t, dot_graph::vertex_descriptor> of_node;
    std::unordered_map<std::size_t, dot_graph::vertex_descriptor> of_input; // value index -> vertex
    if (opt.show_io) {
        std::size_t k = 0;
        for (ir::ValueId in : g.inputs()) {
            const auto& v = g.value(in);
            std::string label = g.label(in);
            if (opt.show_shapes && v.shape) label += "\n" + ir::to_string(*v.shape);
            of_input[in.index()] = boost::add_vertex(dot_vertex{"in" + std::to_string(k++), std::move(label), true, false, {}}, bg);
        }
    }
    for (ir::NodeId n : g.topological_order())
        of_node[n.index()] = boost::add_vertex(
            dot_vertex{"n" + std::to_string(n.index()), node_label(g, n, opt.show_shapes), false, opt.highlight.count(n) > 0, n}, bg);
    auto source_of = [&](ir::ValueId v) -> std::optional<dot_graph::vertex_descriptor> {
        const ir::Value& val = g.value(v);
        if (val.kind == ir::ValueKind::node_output) {
            auto it = of_node.find(val.producer.index());
            if (it != of_node.end()) return it->second;
        } else if (val.kind == ir::ValueKind::input) {
            auto it = of_input.find(v.index());
            if (it != of_input.end()) return it->second;
        }
        return std::nullopt; // constants are not drawn
    };
    for (ir::NodeId n : g.topological_order()) {
        for (ir::ValueId in : g.node(n).inputs) {
            if (!in) continue;
            if (auto src = source_of(in)) boost::add_edge(*src, of_node[n.index()], dot_edge{}, bg);
        }
    }
    if (opt.show_io) {
        std::size_t k = 0;
        for (ir::ValueId out : g.outputs()) {
            const auto& v = g.value(out);
            std::string label = g.label(out);
            if (opt.show_shapes && v.shape) label += "\n" + ir::to_string(*v.shape);
            auto vd = boost::add_vertex(dot_vertex{"out" + std::to_string(k++), std::move(label), true, false, {}}, bg);
            if (auto src = source_of(out)) boost::add_edge(*src, vd, dot_edge{}, bg);
        }
    }
    return bg;
}

/// Writes `g` as a Graphviz digraph: nodes as boxes labelled by `node_label`, graph inputs and
/// outputs as ellipses, highlighted nodes filled. Node ids in the file are "n<node id>", so a
/// node keeps its DOT id across a rewrite (which keeps surviving node ids).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
inline void write_dot(std::ostream& os, const ir::Graph& g, const dot_options& opt = {}) {
    const dot_graph bg = to_boost_graph(g, opt);
    auto vertex_writer = [&](std::ostream& out, dot_graph::vertex_descriptor v) {
        const dot_vertex& p = bg[v];
        out << "[label=\"" << detail::escape(p.label) << "\"";
        if (p.io) out << ", shape=ellipse";
        if (p.highlighted) out << ", style=\"rounded,filled\", fillcolor=\"" << detail::escape(opt.highlight_color) << "\"";
        out << "]";
    };
    auto edge_writer = [&](std::ostream& out, dot_graph::edge_descriptor e) {
        if (!bg[e].label.empty()) out << "[label=\"" << detail::escape(bg[e].label) << "\"]";
    };
    auto graph_writer = [&](std::ostream& out) {
        out << "label=\"" << detail::escape(opt.graph_name) << "\";\n";
        out << "rankdir=" << opt.rankdir << ";\n";
        out << "node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n";
        out << "edge [arrowsize=0.6];\n";
    };
    boost::write_graphviz(os, bg, vertex_writer, edge_writer, graph_writer, boost::get(&dot_vertex::id, bg));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// `write_dot` into a string.
[[nodiscard]] inline std::string to_dot(const ir::Graph& g, const dot_options& opt = {}) {
    std::ostringstream os;
    write_dot(os, g, opt);
    return os.str();
}

/// `write_dot` into the file `path`, atomically. Throws `io_error` naming the file.
inline void save_dot(const ir::Graph& g, const std::filesystem::path& path, const dot_options& opt = {}) {
    write_file_atomically(path, to_dot(g, opt));
}

} // namespace surgery::io
