// expect: Op must be an op type of the catalogue
// pattern::op takes an op type of the catalogue (ir::ops::Conv, ...), not an arbitrary type.
#include "surgery/pattern/op.hpp"

struct MyConv {};
bool b = surgery::pattern::op<MyConv>::accepts_kind(0);
