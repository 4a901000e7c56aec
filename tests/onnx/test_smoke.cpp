#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/defs/schema.h>
TEST_CASE("smoke") {
    onnx::ModelProto m;
    auto r = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("");
    MESSAGE(r.first << " " << r.second);
}
