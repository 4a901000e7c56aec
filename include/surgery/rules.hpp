// Built-in rule sets with stable names: exact clean-ups and the paper's lite rules.
#pragma once

#include "surgery/rules/exact.hpp"
#include "surgery/rules/lite.hpp"
