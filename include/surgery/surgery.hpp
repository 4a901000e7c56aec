// Umbrella header: the core library (IR, graph traits, patterns, searchers, rewriting, rules).
// Optional parts are opt-in: surgery/reference.hpp (Eigen executor), surgery/onnx.hpp (ONNX I/O),
// surgery/adapters/boost_graph.hpp (Boost.Graph adapter), surgery/io/*.hpp.
#pragma once

#include "surgery/error.hpp"
#include "surgery/graph_traits.hpp"
#include "surgery/ir.hpp"
#include "surgery/pattern.hpp"
#include "surgery/rewrite.hpp"
#include "surgery/rules.hpp"
#include "surgery/search.hpp"
