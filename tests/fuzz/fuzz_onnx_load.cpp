// Fuzz target: ONNX model bytes -> from_model_proto -> verify -> to_model_proto -> from_model_proto again.
//
// Promises checked: a model is either rejected with a surgery::error or read into a graph that
// verifies; a graph that was read and that to_model_proto accepts is written as a model that reads
// back (through serialized bytes, as a file would) into a graph that verifies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_guard.hpp"
#include "surgery/ir/verify.hpp"
#include "surgery/onnx.hpp"

namespace {
constexpr const char* target = "fuzz_onnx_load";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ::onnx::ModelProto model;
    if (!model.ParseFromArray(data, static_cast<int>(size))) return 0; // protobuf's own parser is not ours to fuzz
    surgery::fuzz::guard(target, [&] {
        const surgery::ir::Graph g = surgery::onnx::from_model_proto(model); // io_error: rejected, fine
        try {
            surgery::ir::verify(g);
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("from_model_proto returned a graph that does not verify: ") + e.what());
        }
        ::onnx::ModelProto written;
        try {
            written = surgery::onnx::to_model_proto(g);
        } catch (const surgery::io_error&) {
            return; // an op the graph's opset cannot express: a documented refusal
        }
        std::string bytes;
        if (!written.SerializeToString(&bytes)) surgery::fuzz::finding(target, "to_model_proto produced a model protobuf cannot serialize");
        ::onnx::ModelProto reread;
        if (!reread.ParseFromString(bytes)) surgery::fuzz::finding(target, "the serialized output of to_model_proto does not parse");
        try {
            const surgery::ir::Graph back = surgery::onnx::from_model_proto(reread);
            surgery::ir::verify(back);
            if (back.outputs().size() != g.outputs().size())
                surgery::fuzz::finding(target, "the round trip changed the number of graph outputs from " + std::to_string(g.outputs().size()) +
                                                   " to " + std::to_string(back.outputs().size()));
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("a model written by to_model_proto does not read back: ") + e.what());
        }
    });
    return 0;
}
