// graph_traits for Boost.Graph: a bidirectional adjacency_list whose vertices carry an op name is searchable.
//
// Model: each vertex is one node producing one value (itself); an edge u -> v means v reads u's
// output. Inputs are ordered as the vertex's in-edges were added. The vertex property must have a
// member `op` convertible to std::string_view (the ONNX op_type) and may have `bool output` to
// mark graph outputs (otherwise a vertex without out-edges is a graph output).
#pragma once

#include <algorithm>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>

#include "surgery/graph_traits.hpp"

namespace surgery {

namespace adapters {
/// A ready-made vertex property for Boost graphs searched by the library.
struct op_vertex {
    std::string op;
    bool output = false;
};

template <class VP>
concept op_vertex_property = requires(const VP& p) {
    { std::string_view(p.op) };
};
} // namespace adapters

template <class OutEdgeList, class VP, class EP, class GP, class EL>
    requires adapters::op_vertex_property<VP>
struct graph_traits<boost::adjacency_list<OutEdgeList, boost::vecS, boost::bidirectionalS, VP, EP, GP, EL>> {
    using graph_type = boost::adjacency_list<OutEdgeList, boost::vecS, boost::bidirectionalS, VP, EP, GP, EL>;
    using node_type = typename boost::graph_traits<graph_type>::vertex_descriptor;
    using value_type = node_type;

    static std::size_t node_bound(const graph_type& g) { return boost::num_vertices(g); }
    static std::size_t index(const graph_type&, node_type n) { return static_cast<std::size_t>(n); }
    /// Topological order (boost::topological_sort gives it reversed). Throws boost::not_a_dag on a cycle.
    static std::vector<node_type> topological_order(const graph_type& g) {
        std::vector<node_type> order;
        order.reserve(boost::num_vertices(g));
        boost::topological_sort(g, std::back_inserter(order));
        std::reverse(order.begin(), order.end());
        return order;
    }
    static std::string_view op_name(const graph_type& g, node_type n) { return std::string_view(g[n].op); }
    static std::size_t num_inputs(const graph_type& g, node_type n) { return boost::in_degree(n, g); }
    /// Every input of `n` in one walk of its in-edges (`input` walks to the i-th: the searcher visits
    /// a node's inputs with this, in time linear in its in-degree).
    static std::vector<value_type> inputs(const graph_type& g, node_type n) {
        std::vector<value_type> out;
        out.reserve(boost::in_degree(n, g));
        auto [it, end] = boost::in_edges(n, g);
        for (; it != end; ++it) out.push_back(boost::source(*it, g));
        return out;
    }
    static std::optional<value_type> input(const graph_type& g, node_type n, std::size_t i) {
        auto [it, end] = boost::in_edges(n, g);
        for (std::size_t k = 0; it != end; ++it, ++k)
            if (k == i) return boost::source(*it, g);
        return std::nullopt;
    }
    static std::size_t num_outputs(const graph_type&, node_type) { return 1; }
    static value_type output(const graph_type&, node_type n, std::size_t) { return n; }
    static std::optional<node_type> producer(const graph_type&, value_type v) { return v; }
    static std::vector<node_type> consumers(const graph_type& g, value_type v) {
        std::vector<node_type> out;
        auto [it, end] = boost::out_edges(v, g);
        for (; it != end; ++it) out.push_back(boost::target(*it, g));
        return out;
    }
    static bool is_graph_output(const graph_type& g, value_type v) {
        if constexpr (requires { g[v].output; })
            return g[v].output || boost::out_degree(v, g) == 0;
        else
            return boost::out_degree(v, g) == 0;
    }
};

} // namespace surgery
