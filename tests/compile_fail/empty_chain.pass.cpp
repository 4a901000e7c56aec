// Twin of empty_chain.fail.cpp: a one-op chain.
#include "surgery/pattern/chain.hpp"

std::size_t n = surgery::pattern::chain<surgery::pattern::op<surgery::ir::ops::Relu>>::size;
