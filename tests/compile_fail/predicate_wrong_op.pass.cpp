// Twin of predicate_wrong_op.fail.cpp: the predicate on the op it was written for.
#include "surgery/graph_traits.hpp"
#include "surgery/pattern/op.hpp"

using namespace surgery;
struct group_one {
    bool operator()(const ir::ops::Conv& c) const { return c.group == 1; }
};
bool f(const ir::Graph& g, ir::NodeId n) { return pattern::op<ir::ops::Conv, group_one>::test(g, n); }
