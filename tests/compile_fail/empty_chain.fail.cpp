// expect: surgery::pattern::chain<Ps...>: a chain needs at least one op pattern
// A chain with no element is meaningless; the static_assert names the API and the fix.
#include "surgery/pattern/chain.hpp"

std::size_t n = surgery::pattern::chain<>::size;
