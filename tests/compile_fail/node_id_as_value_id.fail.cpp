// expect: conver[a-z]+ (from )?'basic_id<surgery::ir::node_tag>' to 'basic_id<surgery::ir::value_tag>'
// Node and value ids are distinct types: a NodeId passed where a ValueId is expected does not compile.
#include "surgery/ir/graph.hpp"

const surgery::ir::Value& first_value(const surgery::ir::Graph& g) { return g.value(surgery::ir::NodeId{0u}); }
