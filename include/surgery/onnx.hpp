// ONNX import and export (optional component; link surgery::onnx): load, save, to/from ModelProto, check.
#pragma once

#include "surgery/onnx/reader.hpp"
#include "surgery/onnx/tensor.hpp"
#include "surgery/onnx/writer.hpp"
