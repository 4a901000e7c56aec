// Reference kernels of the ir/ops/indexing.hpp family, as overloads of `kernel(const ir::ops::X&, node_io&)`.
#pragma once

#include "surgery/ir/ops.hpp"
#include "surgery/reference/kernel.hpp"

namespace surgery::reference {

} // namespace surgery::reference
