// Twin of chain_of_non_pattern.fail.cpp: the op type wrapped in pattern::op.
#include "surgery/pattern/chain.hpp"

std::size_t n = surgery::pattern::chain<surgery::pattern::op<surgery::ir::ops::Conv>, surgery::pattern::op<surgery::ir::ops::Relu>>::size;
