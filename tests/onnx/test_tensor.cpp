// Tests of surgery/onnx/tensor.hpp: TensorProto <-> ir::Tensor for each supported type and storage form.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "surgery/onnx.hpp"

namespace fs = std::filesystem;
namespace so = surgery::onnx;
namespace ir = surgery::ir;
using surgery::io_error;

TEST_CASE("float32 from typed fields and raw_data; written as raw_data") {
    ::onnx::TensorProto p;
    p.set_name("w");
    p.set_data_type(::onnx::TensorProto_DataType_FLOAT);
    p.add_dims(2);
    p.add_dims(2);
    for (float v : {1.0f, -2.5f, 3.0f, 0.25f}) p.add_float_data(v);
    const ir::Tensor t = so::from_tensor_proto(p);
    CHECK(t.dtype == ir::DType::f32);
    CHECK(t.shape == ir::Shape{2, 2});
    CHECK(t.f == std::vector<float>{1.0f, -2.5f, 3.0f, 0.25f});

    const ::onnx::TensorProto raw = so::to_tensor_proto(t, "w");
    CHECK(raw.has_raw_data());
    CHECK(raw.float_data_size() == 0);
    CHECK(raw.raw_data().size() == 16);
    CHECK(so::from_tensor_proto(raw) == t);
}

TEST_CASE("int64, int32 (stored as int64, typed int32) and bool") {
    ::onnx::TensorProto i32;
    i32.set_data_type(::onnx::TensorProto_DataType_INT32);
    i32.add_dims(3);
    for (int v : {-1, 0, 7}) i32.add_int32_data(v);
    const ir::Tensor t = so::from_tensor_proto(i32);
    CHECK(t.dtype == ir::DType::i32);
    CHECK(t.i == std::vector<std::int64_t>{-1, 0, 7});
    CHECK(so::from_tensor_proto(so::to_tensor_proto(t)) == t);
    CHECK(so::to_tensor_proto(t).data_type() == ::onnx::TensorProto_DataType_INT32);

    const ir::Tensor big = ir::Tensor::ints({1}, {std::int64_t{1} << 40}, ir::DType::i32);
    CHECK_THROWS_AS((void)so::to_tensor_proto(big, "big"), io_error);

    const ir::Tensor i64 = ir::Tensor::vector({1, -2, std::int64_t{1} << 50});
    CHECK(so::from_tensor_proto(so::to_tensor_proto(i64)) == i64);

    ::onnx::TensorProto b;
    b.set_data_type(::onnx::TensorProto_DataType_BOOL);
    b.add_dims(3);
    b.set_raw_data(std::string("\x01\x00\x01", 3));
    const ir::Tensor tb = so::from_tensor_proto(b);
    CHECK(tb.dtype == ir::DType::boolean);
    CHECK(tb.i == std::vector<std::int64_t>{1, 0, 1});
    CHECK(so::from_tensor_proto(so::to_tensor_proto(tb)) == tb);
    ::onnx::TensorProto b2;
    b2.set_data_type(::onnx::TensorProto_DataType_BOOL);
    b2.add_dims(2);
    b2.add_int32_data(0);
    b2.add_int32_data(5);
    CHECK(so::from_tensor_proto(b2).i == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("scalars and empty tensors") {
    const ir::Tensor s = ir::Tensor::scalar(4.0f);
    const ::onnx::TensorProto p = so::to_tensor_proto(s);
    CHECK(p.dims_size() == 0);
    CHECK(so::from_tensor_proto(p) == s);
    const ir::Tensor e = ir::Tensor::floats({0}, {});
    CHECK(so::from_tensor_proto(so::to_tensor_proto(e)) == e);
}

TEST_CASE("size mismatches and unsupported types are errors naming the tensor") {
    ::onnx::TensorProto p;
    p.set_name("bias");
    p.set_data_type(::onnx::TensorProto_DataType_FLOAT);
    p.add_dims(4);
    p.set_raw_data(std::string(12, '\0'));
    CHECK_THROWS_WITH_AS((void)so::from_tensor_proto(p), "tensor 'bias': raw_data holds 3 values but shape [4] needs 4", io_error);
    p.set_data_type(::onnx::TensorProto_DataType_DOUBLE);
    CHECK_THROWS_WITH_AS((void)so::from_tensor_proto(p, "my tensor"),
                         "my tensor: element type float64 is not supported (model-surgery handles float32, int64, int32 and bool)", io_error);
    p.set_data_type(::onnx::TensorProto_DataType_STRING);
    CHECK_THROWS_AS((void)so::from_tensor_proto(p), io_error);
    ::onnx::TensorProto neg;
    neg.set_data_type(::onnx::TensorProto_DataType_FLOAT);
    neg.add_dims(-2);
    CHECK_THROWS_WITH_AS((void)so::from_tensor_proto(neg), doctest::Contains("negative dimension"), io_error);
}

TEST_CASE("load_tensor and save_tensor: the .pb files of ONNX test data") {
    const fs::path p = fs::temp_directory_path() / ("surgery_tensor_" + std::to_string(std::random_device{}()) + ".pb");
    std::mt19937_64 rng(3);
    const ir::Tensor t = ir::Tensor::uniform({2, 3, 4}, rng);
    so::save_tensor(t, p, "input");
    CHECK(so::load_tensor(p) == t);
    fs::remove(p);
    CHECK_THROWS_WITH_AS((void)so::load_tensor(p), doctest::Contains(p.string().c_str()), io_error);

    const fs::path official = "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/input_0.pb";
    if (fs::exists(official)) {
        const ir::Tensor x = so::load_tensor(official);
        CHECK(x.shape == ir::Shape{3, 4, 5});
        CHECK(x.dtype == ir::DType::f32);
    }
}
