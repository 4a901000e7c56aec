// expect: deleted
// A temporary text pattern would leave the matches' capture names dangling: the overload is deleted.
#include "surgery/search.hpp"

using namespace surgery;
auto f(const ir::Graph& g) { return search::find_program(g, pattern::text_pattern("Mul(x, Sigmoid(x))")); }
