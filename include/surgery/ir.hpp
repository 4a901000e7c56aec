// The default graph IR: typed ids, tensors, the op catalogue, the graph, shape inference, verification, the builder.
#pragma once

#include "surgery/ir/builder.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/id.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/shape_inference.hpp"
#include "surgery/ir/tensor.hpp"
#include "surgery/ir/verify.hpp"
