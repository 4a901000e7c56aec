// The twin of node_id_as_value_id.fail.cpp: a ValueId where a ValueId is expected.
#include <string>

#include "surgery/ir/graph.hpp"

std::string first_name(const surgery::ir::Graph& g) { return g.value(surgery::ir::ValueId{0u}).name; }
