// Fuzz target: TensorProto bytes (the .pb files of ONNX test data) -> from_tensor_proto -> to_tensor_proto -> back.
//
// Promises checked: a tensor is rejected with a surgery::error or read with as many values as its
// shape holds; writing it and reading it again gives the same element type, shape and bits.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_guard.hpp"
#include "surgery/onnx/tensor.hpp"

namespace {
constexpr const char* target = "fuzz_onnx_tensor";

bool same_bits(const surgery::ir::Tensor& a, const surgery::ir::Tensor& b) {
    if (a.dtype != b.dtype || a.shape != b.shape || a.f.size() != b.f.size() || a.i != b.i) return false;
    return a.f.empty() || std::memcmp(a.f.data(), b.f.data(), a.f.size() * sizeof(float)) == 0; // NaN payloads too
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ::onnx::TensorProto proto;
    if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
    surgery::fuzz::guard(target, [&] {
        const surgery::ir::Tensor t = surgery::onnx::from_tensor_proto(proto);
        const std::size_t held = t.dtype == surgery::ir::DType::f32 ? t.f.size() : t.i.size();
        if (static_cast<std::int64_t>(held) != t.size())
            surgery::fuzz::finding(target, "from_tensor_proto returned " + std::to_string(held) + " values for shape " + surgery::ir::to_string(t.shape));
        std::string bytes;
        try {
            if (!surgery::onnx::to_tensor_proto(t, proto.name()).SerializeToString(&bytes))
                surgery::fuzz::finding(target, "to_tensor_proto produced a tensor protobuf cannot serialize");
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("to_tensor_proto refused a tensor from_tensor_proto returned: ") + e.what());
        }
        ::onnx::TensorProto reread;
        if (!reread.ParseFromString(bytes)) surgery::fuzz::finding(target, "the serialized output of to_tensor_proto does not parse");
        try {
            if (!same_bits(surgery::onnx::from_tensor_proto(reread), t)) surgery::fuzz::finding(target, "the round trip changed the tensor");
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("a tensor written by to_tensor_proto does not read back: ") + e.what());
        }
    });
    return 0;
}
