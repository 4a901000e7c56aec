// Checks that surgery::onnx brings libonnx and protobuf to a consumer: headers, definitions and link.
#include <cstdio>
#include <cstdlib>
#include <string>

#if __has_include(<surgery/onnx.hpp>)
#include <surgery/onnx.hpp>
#endif
#include <onnx/onnx_pb.h>

int main() {
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.mutable_graph()->set_name("consumer");
    std::string bytes;
    onnx::ModelProto back;
    if (!model.SerializeToString(&bytes) || !back.ParseFromString(bytes) || back.graph().name() != "consumer") {
        std::fprintf(stderr, "consumer_onnx: protobuf round trip failed\n");
        return EXIT_FAILURE;
    }
    std::printf("consumer_onnx: linked libonnx and protobuf through surgery::onnx\n");
    return EXIT_SUCCESS;
}
