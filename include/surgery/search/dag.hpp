// The DAG matcher for compile-time patterns: pattern::node<...> trees with shared captures (x * sigmoid(x),
// Squeeze-and-Excitation), compiled to a pattern::program and matched by the same code as text patterns.
//
// Matching is backtracking over the pattern (not the graph): each candidate root costs at most
// O(pattern size x 2^(commutative nodes in the pattern)), a constant, so the search is linear in
// the graph. Every matched node but the root must have all its consumers inside the match and no
// graph output (otherwise removing the match would cut a value someone else reads); matches are
// taken in topological order of their roots and never overlap.
#pragma once

#include <vector>

#include "surgery/graph_traits.hpp"
#include "surgery/pattern/compile.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/search/match.hpp"
#include "surgery/search/program.hpp"

namespace surgery::search {

/// Every match of DAG pattern `P` in `g`, in topological order of the roots, non-overlapping.
/// `match::nodes` is in topological order (root last); `match::captures` holds the bound values.
template <pattern::dag_pattern P, searchable_graph G>
[[nodiscard]] std::vector<match<G>> find_dags(const G& g, P = {}) {
    return find_program_dags(g, pattern::program_of<P, G>.view());
}

} // namespace surgery::search
