// Umbrella header of the reference layer: Eigen kernels for every op of ir::Op, the executor, numerical equivalence.
#pragma once

#include "surgery/reference/conv.hpp"
#include "surgery/reference/elementwise.hpp"
#include "surgery/reference/equivalence.hpp"
#include "surgery/reference/executor.hpp"
#include "surgery/reference/fold.hpp"
#include "surgery/reference/kernel.hpp"
#include "surgery/reference/kernels.hpp"
#include "surgery/reference/linalg.hpp"
#include "surgery/reference/normalization.hpp"
#include "surgery/reference/pool.hpp"
#include "surgery/reference/resize.hpp"
#include "surgery/reference/shape_ops.hpp"
#include "surgery/reference/window.hpp"
