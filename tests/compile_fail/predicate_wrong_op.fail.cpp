// expect: a predicate must be callable as pred\(const Op&\)
// A predicate written for Conv attributes cannot be attached to a Relu pattern.
#include "surgery/graph_traits.hpp"
#include "surgery/pattern/op.hpp"

using namespace surgery;
struct group_one {
    bool operator()(const ir::ops::Conv& c) const { return c.group == 1; }
};
bool f(const ir::Graph& g, ir::NodeId n) { return pattern::op<ir::ops::Relu, group_one>::test(g, n); }
