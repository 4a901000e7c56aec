// expect: capture slots are 0..15
// DAG captures are a fixed small array; slot 16 is rejected with the valid range.
#include "surgery/pattern/dag.hpp"

std::size_t s = surgery::pattern::bind<16>::slot;
