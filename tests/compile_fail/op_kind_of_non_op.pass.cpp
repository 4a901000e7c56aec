// The twin of op_kind_of_non_op.fail.cpp: an op type of the catalogue has a kind.
#include "surgery/ir/ops.hpp"

static_assert(surgery::ir::op_names[surgery::ir::op_kind_v<surgery::ir::ops::Conv>] == "Conv");
