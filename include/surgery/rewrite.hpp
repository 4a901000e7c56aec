// Rewriting: replacement kinds, the transactional replacer, the dictionary driver and its report.
#pragma once

#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rewrite/replacement.hpp"
#include "surgery/rewrite/replacer.hpp"
#include "surgery/rewrite/generic.hpp"
#include "surgery/rewrite/lowering.hpp"
