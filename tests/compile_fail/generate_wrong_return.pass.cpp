// Twin of generate_wrong_return.fail.cpp.
#include "surgery/rewrite/replacement.hpp"

using namespace surgery;
auto r = rewrite::generate([](rewrite::context& c) { return c.input(); });
