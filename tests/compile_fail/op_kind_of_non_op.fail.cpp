// expect: satisf[a-z]+ (of )?'op_type
// ir::op_kind_v is constrained by the concept ir::op_type: a type outside the op catalogue is
// rejected at the call site, and both g++ and clang name the concept.
#include "surgery/ir/ops.hpp"

constexpr auto kind = surgery::ir::op_kind_v<int>;
