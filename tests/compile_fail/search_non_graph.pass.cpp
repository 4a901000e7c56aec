// Twin of search_non_graph.fail.cpp: ir::Graph has graph_traits.
#include "surgery/search/chain.hpp"

using namespace surgery;
auto f(const ir::Graph& g) { return search::find_chains(g, pattern::chain<pattern::op<ir::ops::Relu>>{}); }
