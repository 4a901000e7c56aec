// expect: conver[a-z]+ (from )?'[a-z:_]*basic_id<[a-z:_]*node_tag>' to '[a-z:_]*basic_id<[a-z:_]*value_tag>'
// Node and value ids are distinct types: a NodeId passed where a ValueId is expected does not compile.
#include <string>

#include "surgery/ir/graph.hpp"

std::string first_name(const surgery::ir::Graph& g) { return g.value(surgery::ir::NodeId{0u}).name; }
