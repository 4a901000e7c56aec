// The twin of node_id_as_value_id.fail.cpp: a ValueId where a ValueId is expected.
#include "surgery/ir/graph.hpp"

const surgery::ir::Value& first_value(const surgery::ir::Graph& g) { return g.value(surgery::ir::ValueId{0u}); }
