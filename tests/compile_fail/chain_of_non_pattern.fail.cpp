// expect: every element must be a single-node pattern
// A chain element must be an op pattern, not an op type (the common slip: chain<ops::Conv>).
#include "surgery/pattern/chain.hpp"

std::size_t n = surgery::pattern::chain<surgery::ir::ops::Conv, surgery::pattern::op<surgery::ir::ops::Relu>>::size;
