// Includes the ONNX protobuf classes (Debian's libonnx: ONNX_ML build, namespace `onnx`) and small shared helpers.
#pragma once

#if !defined(ONNX_ML) || !defined(ONNX_NAMESPACE)
#error "surgery/onnx: compile with ONNX_ML=1 and ONNX_NAMESPACE=onnx (link the surgery::onnx CMake target)"
#endif

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <onnx/onnx_pb.h>

#include "surgery/error.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::onnx::detail {

namespace pb = ::onnx;

/// Opsets the reader accepts and the writer produces (default domain).
inline constexpr std::int64_t min_read_opset = 1;
inline constexpr std::int64_t max_read_opset = 20;
inline constexpr std::int64_t min_write_opset = 11;
inline constexpr std::int64_t max_write_opset = 20;

/// The IR version ONNX associates with a default-domain opset (onnx.helper.VERSION_TABLE).
[[nodiscard]] constexpr std::int64_t ir_version_for_opset(std::int64_t opset) noexcept {
    if (opset <= 8) return 3;
    if (opset == 9) return 4;
    if (opset == 10) return 5;
    if (opset == 11) return 6;
    if (opset <= 14) return 7;
    if (opset <= 18) return 8;
    return 9;
}

/// Lower-case name of an ONNX element type, for messages.
[[nodiscard]] constexpr std::string_view elem_type_name(std::int32_t t) noexcept {
    switch (t) {
    case pb::TensorProto_DataType_FLOAT: return "float32";
    case pb::TensorProto_DataType_UINT8: return "uint8";
    case pb::TensorProto_DataType_INT8: return "int8";
    case pb::TensorProto_DataType_UINT16: return "uint16";
    case pb::TensorProto_DataType_INT16: return "int16";
    case pb::TensorProto_DataType_INT32: return "int32";
    case pb::TensorProto_DataType_INT64: return "int64";
    case pb::TensorProto_DataType_STRING: return "string";
    case pb::TensorProto_DataType_BOOL: return "bool";
    case pb::TensorProto_DataType_FLOAT16: return "float16";
    case pb::TensorProto_DataType_DOUBLE: return "float64";
    case pb::TensorProto_DataType_UINT32: return "uint32";
    case pb::TensorProto_DataType_UINT64: return "uint64";
    case pb::TensorProto_DataType_COMPLEX64: return "complex64";
    case pb::TensorProto_DataType_COMPLEX128: return "complex128";
    case pb::TensorProto_DataType_BFLOAT16: return "bfloat16";
    case pb::TensorProto_DataType_UNDEFINED: return "undefined";
    default: return "unknown";
    }
}

/// The IR element type of an ONNX element type, or `undefined` when the IR does not carry it.
[[nodiscard]] constexpr ir::DType to_dtype(std::int32_t t) noexcept {
    switch (t) {
    case pb::TensorProto_DataType_FLOAT: return ir::DType::f32;
    case pb::TensorProto_DataType_INT64: return ir::DType::i64;
    case pb::TensorProto_DataType_INT32: return ir::DType::i32;
    case pb::TensorProto_DataType_BOOL: return ir::DType::boolean;
    default: return ir::DType::undefined;
    }
}

[[nodiscard]] constexpr std::int32_t to_elem_type(ir::DType t) noexcept {
    switch (t) {
    case ir::DType::f32: return pb::TensorProto_DataType_FLOAT;
    case ir::DType::i64: return pb::TensorProto_DataType_INT64;
    case ir::DType::i32: return pb::TensorProto_DataType_INT32;
    case ir::DType::boolean: return pb::TensorProto_DataType_BOOL;
    case ir::DType::undefined: break;
    }
    return pb::TensorProto_DataType_UNDEFINED;
}

/// `'path'`, for messages (built by appending: g++ 12 warns falsely (-Wrestrict) on "'" + std::string).
[[nodiscard]] inline std::string quoted(const std::filesystem::path& path) {
    std::string out(1, '\'');
    out.append(path.string()).push_back('\'');
    return out;
}

/// The whole content of a file; `io_error` naming the file when it cannot be read.
[[nodiscard]] inline std::string read_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw io_error(quoted(path) + ": is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(quoted(path) + ": cannot open the file for reading");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw io_error(quoted(path) + ": read error");
    return bytes;
}

/// Parses `bytes` into a protobuf message; `io_error` naming `what` on failure.
template <class Message>
void parse(Message& m, const std::string& bytes, const std::string& what) {
    if (bytes.size() > static_cast<std::size_t>(INT32_MAX))
        throw io_error(what + ": larger than 2 GB, which a protobuf message cannot be (external data is not supported)");
    if (!m.ParseFromString(bytes)) throw io_error(what + ": not a valid " + m.GetTypeName() + " (protobuf parsing failed; truncated or not ONNX?)");
}

/// Writes `bytes` to `path` atomically: into a fresh temporary file in the same directory, then
/// renamed over `path`. On any failure the temporary file is removed and `path` is untouched.
inline void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
    namespace fs = std::filesystem;
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw io_error(quoted(path) + ": the directory '" + dir.string() + "' does not exist");
    std::random_device rd;
    std::FILE* f = nullptr;
    fs::path tmp;
    for (int attempt = 0; attempt < 16 && !f; ++attempt) {
        std::string name = ".";
        name.append(path.filename().string()).append(".tmp-").append(std::to_string(rd()));
        tmp = dir / name;
        f = std::fopen(tmp.string().c_str(), "wbx"); // "x": fail if it exists, never clobber another writer's file
    }
    if (!f) throw io_error(quoted(path) + ": cannot create a temporary file in '" + dir.string() + "'");
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0;
    const bool closed = std::fclose(f) == 0;
    if (!written || !closed) {
        fs::remove(tmp, ec);
        throw io_error(quoted(path) + ": writing failed (disk full?)");
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw io_error(quoted(path) + ": cannot replace the file: " + ec.message());
    }
}

} // namespace surgery::onnx::detail
