// expect: searchable_graph
// Searching a type without surgery::graph_traits is rejected by the searchable_graph concept.
#include "surgery/search/chain.hpp"

using namespace surgery;
struct not_a_graph {};
auto f(const not_a_graph& g) { return search::find_chains(g, pattern::chain<pattern::op<ir::ops::Relu>>{}); }
