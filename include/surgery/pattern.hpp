// Compile-time pattern descriptors: single ops with predicates, alternatives, wildcards, chains, DAGs; runtime chains.
#pragma once

#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/pattern/op.hpp"
#include "surgery/pattern/predicates.hpp"
#include "surgery/pattern/runtime_chain.hpp"
