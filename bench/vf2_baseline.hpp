// Baseline: Boost.Graph's VF2 (vf2_subgraph_mono) searching a chain pattern, as a user without this library would.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/vf2_sub_graph_iso.hpp>

#include "surgery/adapters/boost_graph.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/pattern/runtime_chain.hpp"

namespace surgery::bench {

/// Vertex label: the op name (what the library's Boost.Graph adapter reads) and its catalogue kind
/// (what VF2's vertex equivalence compares, so that VF2 is not slowed down by string compares).
struct labelled_vertex {
    std::string op;
    ir::OpKind kind = 0;
    bool output = false;
};

/// bidirectionalS: VF2 needs in-edges, and so does the library's adapter.
using boost_graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, labelled_vertex>;

/// One vertex per live node (numbered in topological order), one edge producer -> consumer per
/// input that a node produces, in input order.
inline boost_graph to_boost(const ir::Graph& g) {
    const auto& order = g.topological_order();
    boost_graph b(order.size());
    std::vector<std::uint32_t> pos(g.node_bound(), 0);
    for (std::size_t p = 0; p < order.size(); ++p) {
        pos[order[p].index()] = static_cast<std::uint32_t>(p);
        const ir::Node& n = g.node(order[p]);
        b[p].op = std::string(ir::name_of(n.op));
        b[p].kind = n.kind();
        for (ir::ValueId o : n.outputs)
            if (g.is_output(o)) b[p].output = true;
    }
    for (std::size_t p = 0; p < order.size(); ++p)
        for (ir::ValueId in : g.node(order[p]).inputs)
            if (in)
                if (ir::NodeId prod = g.producer(in)) boost::add_edge(pos[prod.index()], p, b);
    return b;
}

/// The chain as a pattern graph: a path v0 -> v1 -> ... -> vk-1 labelled with the chain's ops
/// (each position must accept exactly one catalogue kind).
inline boost_graph path_pattern(const pattern::runtime_chain& rc) {
    boost_graph p(rc.size());
    for (std::size_t j = 0; j < rc.size(); ++j) {
        const std::uint64_t kinds = rc.positions()[j].kinds;
        for (std::size_t k = 0; k < ir::op_count; ++k)
            if ((kinds >> k) & 1u) p[j].kind = static_cast<ir::OpKind>(k);
        p[j].op = rc.positions()[j].names.at(0);
        if (j > 0) boost::add_edge(j - 1, j, p);
    }
    return p;
}

/// What VF2 gives, and what a user has to do with it to get the library's matches.
struct vf2_result {
    std::size_t mappings = 0; ///< monomorphisms of the path pattern with equal op kinds (every labelled path)
    std::size_t matches = 0;  ///< of those, the library's matches: sole-consumer links, no interior graph
                              ///< output, leftmost in topological order, non-overlapping
};

/// VF2 (vf2_subgraph_mono, vertex equivalence on the op kind) enumerates every mapping of the chain
/// into `g`; VF2 has no notion of "sole consumer" or of non-overlapping matches, so the mappings are
/// then filtered to the library's semantics, as a user of VF2 would have to. Vertices of `g` are
/// numbered in topological order (to_boost), so "leftmost" is "smallest first vertex". The filter is
/// timed with VF2 (it is a small part of the cost) and makes the counts comparable with ours.
inline vf2_result vf2_chain_search(const boost_graph& pattern, const boost_graph& g) {
    const std::size_t k = boost::num_vertices(pattern);
    vf2_result r;
    std::vector<std::uint32_t> found; // k vertices per mapping that passes the link test
    auto sole_link = [&g](std::size_t u, std::size_t v) {
        if (g[u].output) return false;
        auto [it, end] = boost::out_edges(u, g);
        for (; it != end; ++it)
            if (boost::target(*it, g) != v) return false;
        return true;
    };
    auto callback = [&](const auto& p_to_g, const auto&) {
        ++r.mappings;
        bool ok = true;
        for (std::size_t j = 0; j + 1 < k && ok; ++j) ok = sole_link(boost::get(p_to_g, j), boost::get(p_to_g, j + 1));
        if (ok)
            for (std::size_t j = 0; j < k; ++j) found.push_back(static_cast<std::uint32_t>(boost::get(p_to_g, j)));
        return true; // keep going: enumerate all mappings
    };
    boost::vf2_subgraph_mono(pattern, g, callback, boost::get(boost::vertex_index, pattern), boost::get(boost::vertex_index, g),
                             boost::vertex_order_by_mult(pattern), boost::always_equivalent(),
                             boost::make_property_map_equivalent(boost::get(&labelled_vertex::kind, pattern),
                                                                 boost::get(&labelled_vertex::kind, g)));
    // Leftmost first, non-overlapping (a node with a sole consumer starts at most one linked path).
    std::vector<std::size_t> idx(found.size() / k);
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return found[a * k] < found[b * k]; });
    std::vector<std::uint8_t> claimed(boost::num_vertices(g), 0);
    for (std::size_t i : idx) {
        const std::uint32_t* m = &found[i * k];
        if (std::any_of(m, m + k, [&](std::uint32_t v) { return claimed[v] != 0; })) continue;
        for (std::size_t j = 0; j < k; ++j) claimed[m[j]] = 1;
        ++r.matches;
    }
    return r;
}

} // namespace surgery::bench
