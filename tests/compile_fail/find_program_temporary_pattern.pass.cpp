// Twin of find_program_temporary_pattern.fail.cpp: a named pattern outlives the matches.
#include "surgery/search.hpp"

using namespace surgery;
auto f(const ir::Graph& g, const pattern::text_pattern& p) { return search::find_program(g, p); }
