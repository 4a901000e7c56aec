// The searchers: the sliding-window chain searcher and the DAG matcher, plus find_all over any pattern kind.
#pragma once

#include "surgery/search/chain.hpp"
#include "surgery/search/dag.hpp"
#include "surgery/search/match.hpp"

namespace surgery::search {

/// Every match of `pat` (a chain, a DAG pattern or a runtime chain) in `g`.
template <class P, searchable_graph G>
[[nodiscard]] std::vector<match<G>> find_all(const G& g, const P& pat) {
    if constexpr (pattern::chain_pattern<P> || std::is_same_v<P, pattern::runtime_chain>)
        return find_chains(g, pat);
    else if constexpr (pattern::dag_pattern<P>)
        return find_dags(g, pat);
    else
        static_assert(pattern::dag_pattern<P>, "surgery::search::find_all(g, pat): pat must be a pattern::chain<...>, a "
                                               "pattern::node<...> DAG pattern or a pattern::runtime_chain");
}

} // namespace surgery::search
