// Twin of bind_slot_out_of_range.fail.cpp.
#include "surgery/pattern/dag.hpp"

std::size_t s = surgery::pattern::bind<15>::slot;
