// Umbrella header of the io layer: .npy tensor files, Graphviz DOT output, atomic file writes.
#pragma once

#include "surgery/io/dot.hpp"
#include "surgery/io/file.hpp"
#include "surgery/io/npy.hpp"
