// Shapes and indexing: Shape, ConstantOfShape, Gather, Expand, Tile, Range, Pad, DepthToSpace, ...
#pragma once

#include <cstdint>
#include <string_view>
#include <tuple>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"

namespace surgery::ir::ops {

using indexing_ops = type_list<>;

} // namespace surgery::ir::ops
