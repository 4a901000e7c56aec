// Twin of dag_operand_not_value.fail.cpp: the operand wrapped in pattern::node.
#include "surgery/pattern/dag.hpp"

using namespace surgery;
using good = pattern::node<pattern::op<ir::ops::Mul>, pattern::bind<0>, pattern::node<pattern::op<ir::ops::Sigmoid>, pattern::bind<0>>>;
std::size_t a = good::arity;
