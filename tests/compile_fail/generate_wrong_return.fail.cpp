// expect: fn\(context&\) must return ir::ValueId or std::vector<ir::ValueId>
// A generator must return the new exit value(s).
#include "surgery/rewrite/replacement.hpp"

using namespace surgery;
auto r = rewrite::generate([](rewrite::context&) { return 42.0; });
