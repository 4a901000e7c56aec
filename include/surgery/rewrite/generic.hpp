// Rewriting graphs that are not ir::Graph: identity and single-op replacements through a few mutation traits.
//
// A user's graph that is searchable (graph_traits) becomes rewritable by adding to its traits:
//   static void redirect(G&, value_type from, value_type to);              // consumers (and outputs) of `from` read `to`
//   static void erase(G&, node_type);                                      // remove a node whose outputs are unused
//   static value_type add_op(G&, std::string_view op, value_type input);   // append a one-input node, return its output
// Weight-building replacements (generators) need the library's IR: convert, or use ir::Graph.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/graph_traits.hpp"
#include "surgery/search.hpp"

namespace surgery::rewrite {

/// A searchable graph the generic replacer can change.
template <class G>
concept mutable_graph = searchable_graph<G> && requires(G& g, value_t<G> v, node_t<G> n, std::string_view op) {
    graph_traits<G>::redirect(g, v, v);
    graph_traits<G>::erase(g, n);
    { graph_traits<G>::add_op(g, op, v) } -> std::convertible_to<value_t<G>>;
};

/// Replaces every match of `pat` in `g` by `new_op` applied to the match's input, or by the input
/// itself when `new_op` is empty (identity). Returns the number of replacements. Matches whose
/// exit is not single, or which have no input, are rejected with `rewrite_error` before any change.
template <mutable_graph G, class P>
std::size_t replace_all(G& g, const P& pat, std::string_view new_op, std::string_view rule_name = "generic") {
    using T = graph_traits<G>;
    const auto matches = search::find_all(g, pat);
    for (const auto& m : matches) {
        if (!m.input() || m.exits.size() != 1)
            throw rewrite_error(std::string(rule_name), std::string(T::op_name(g, m.first())),
                                "a generic replacement needs a match with one input and one output");
    }
    std::vector<std::pair<value_t<G>, value_t<G>>> forward; // exits replaced so far
    auto resolve = [&](value_t<G> v) {
        for (bool again = true; again;) {
            again = false;
            for (const auto& [from, to] : forward)
                if (from == v) {
                    v = to;
                    again = true;
                    break;
                }
        }
        return v;
    };
    for (const auto& m : matches) {
        const value_t<G> in = resolve(*m.input());
        const value_t<G> out = m.exits.front();
        const value_t<G> nv = new_op.empty() ? in : T::add_op(g, new_op, in);
        T::redirect(g, out, nv);
        forward.emplace_back(out, nv);
        for (std::size_t i = m.nodes.size(); i-- > 0;) T::erase(g, m.nodes[i]);
    }
    return matches.size();
}

} // namespace surgery::rewrite
