// Twin of op_of_non_op.fail.cpp.
#include "surgery/pattern/op.hpp"

bool b = surgery::pattern::op<surgery::ir::ops::Conv>::accepts_kind(0);
