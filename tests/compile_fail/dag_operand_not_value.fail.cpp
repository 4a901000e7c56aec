// expect: each operand must be a value pattern
// DAG operands are value patterns: an op pattern must be wrapped in pattern::node<...>.
#include "surgery/pattern/dag.hpp"

using namespace surgery;
using bad = pattern::node<pattern::op<ir::ops::Mul>, pattern::bind<0>, pattern::op<ir::ops::Sigmoid>>;
std::size_t a = bad::arity;
