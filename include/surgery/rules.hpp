// Built-in rule sets with stable names: the registry (every rule, its forms and presets), the exact
// rules, the paper's lite rules and constant folding.
#pragma once

#include "surgery/rules/common.hpp"
#include "surgery/rules/exact.hpp"
#include "surgery/rules/fold.hpp"
#include "surgery/rules/lite.hpp"
#include "surgery/rules/registry.hpp"
