// Conversion between onnx::TensorProto and ir::Tensor, and .pb tensor files (the ONNX test-data format).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/tensor.hpp"
#include "surgery/onnx/detail/proto.hpp"

namespace surgery::onnx {

namespace detail {

/// Largest element count accepted in a tensor or declared shape: guards against overflow and
/// absurd allocations when a damaged file claims huge dimensions.
inline constexpr std::int64_t max_elements = std::int64_t{1} << 40;

/// Product of `dims`; throws `io_error` prefixed by `describe()` when a dim is negative or the
/// product is absurd (the description is built only then).
template <class Describe>
    requires std::is_invocable_r_v<std::string, Describe&>
[[nodiscard]] std::int64_t checked_numel(const ir::Shape& dims, Describe&& describe) {
    std::int64_t n = 1;
    for (std::int64_t d : dims) {
        if (d < 0) throw io_error(describe() + ": negative dimension " + std::to_string(d));
        if (d != 0 && n > max_elements / d) throw io_error(describe() + ": shape " + ir::to_string(dims) + " is too large");
        n *= d;
    }
    return n;
}
/// The same, prefixed by `what`.
[[nodiscard]] inline std::int64_t checked_numel(const ir::Shape& dims, const std::string& what) {
    return checked_numel(dims, [&] { return what; });
}

template <class T>
void copy_le(const std::string& raw, std::vector<T>& out) {
    out.resize(raw.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
    if constexpr (std::endian::native == std::endian::big) {
        for (T& v : out) {
            auto* b = reinterpret_cast<unsigned char*>(&v);
            for (std::size_t k = 0; k < sizeof(T) / 2; ++k) std::swap(b[k], b[sizeof(T) - 1 - k]);
        }
    }
}

template <class T>
void append_le(std::string& raw, const T& v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if constexpr (std::endian::native == std::endian::big)
        for (std::size_t k = 0; k < sizeof(T) / 2; ++k) std::swap(b[k], b[sizeof(T) - 1 - k]);
    raw.append(b, sizeof(T));
}

} // namespace detail

/// Converts a TensorProto to an IR tensor: float32, int64, int32 (kept as int32, stored as int64)
/// and bool, from `raw_data` or the typed fields. `what` names the tensor in error messages
/// (defaults to "tensor '<name>'"). Throws `io_error` for other element types, external data, and
/// data whose size does not match the shape.
[[nodiscard]] inline ir::Tensor from_tensor_proto(const ::onnx::TensorProto& t, std::string what = {}) {
    namespace pb = ::onnx;
    if (what.empty()) what = "tensor '" + t.name() + "'";
    if (t.data_location() == pb::TensorProto_DataLocation_EXTERNAL || t.external_data_size() > 0) {
        std::string file;
        for (const auto& kv : t.external_data())
            if (kv.key() == "location") file = kv.value();
        throw io_error(what + ": data is stored in an external file" + (file.empty() ? std::string{} : " ('" + file + "')") +
                       ", which model-surgery does not read; save the model with all tensors inside "
                       "(onnx.save_model(model, path, save_as_external_data=False))");
    }
    if (t.has_segment()) throw io_error(what + ": segmented tensors are not supported");
    const ir::DType dt = detail::to_dtype(t.data_type());
    if (!ir::has_storage(dt))
        throw io_error(what + ": element type " + std::string(detail::elem_type_name(t.data_type())) +
                       " is not supported (model-surgery handles float32, int64, int32 and bool)");
    ir::Tensor out;
    out.dtype = dt;
    out.shape.assign(t.dims().begin(), t.dims().end());
    const std::int64_t n = detail::checked_numel(out.shape, what);
    const auto count = static_cast<std::size_t>(n);
    auto mismatch = [&](std::size_t got, const char* field) {
        return io_error(what + ": " + field + " holds " + std::to_string(got) + " values but shape " + ir::to_string(out.shape) +
                        " needs " + std::to_string(count));
    };
    const bool raw = t.has_raw_data();
    switch (dt) {
    case ir::DType::f32:
        if (raw) {
            if (t.raw_data().size() != count * sizeof(float)) throw mismatch(t.raw_data().size() / sizeof(float), "raw_data");
            detail::copy_le(t.raw_data(), out.f);
        } else {
            if (static_cast<std::size_t>(t.float_data_size()) != count) throw mismatch(static_cast<std::size_t>(t.float_data_size()), "float_data");
            out.f.assign(t.float_data().begin(), t.float_data().end());
        }
        break;
    case ir::DType::i64:
        if (raw) {
            if (t.raw_data().size() != count * sizeof(std::int64_t)) throw mismatch(t.raw_data().size() / sizeof(std::int64_t), "raw_data");
            detail::copy_le(t.raw_data(), out.i);
        } else {
            if (static_cast<std::size_t>(t.int64_data_size()) != count) throw mismatch(static_cast<std::size_t>(t.int64_data_size()), "int64_data");
            out.i.assign(t.int64_data().begin(), t.int64_data().end());
        }
        break;
    case ir::DType::i32:
        if (raw) {
            if (t.raw_data().size() != count * sizeof(std::int32_t)) throw mismatch(t.raw_data().size() / sizeof(std::int32_t), "raw_data");
            std::vector<std::int32_t> v;
            detail::copy_le(t.raw_data(), v);
            out.i.assign(v.begin(), v.end());
        } else {
            if (static_cast<std::size_t>(t.int32_data_size()) != count) throw mismatch(static_cast<std::size_t>(t.int32_data_size()), "int32_data");
            out.i.assign(t.int32_data().begin(), t.int32_data().end());
        }
        break;
    case ir::DType::boolean:
        if (raw) {
            if (t.raw_data().size() != count) throw mismatch(t.raw_data().size(), "raw_data");
            out.i.reserve(count);
            for (char c : t.raw_data()) out.i.push_back(c != 0 ? 1 : 0);
        } else {
            if (static_cast<std::size_t>(t.int32_data_size()) != count) throw mismatch(static_cast<std::size_t>(t.int32_data_size()), "int32_data");
            out.i.reserve(count);
            for (std::int32_t v : t.int32_data()) out.i.push_back(v != 0 ? 1 : 0);
        }
        break;
    default: break;
    }
    return out;
}

/// Writes an IR tensor into the empty TensorProto `p`, named `name`, data in little-endian `raw_data`.
inline void to_tensor_proto(const ir::Tensor& t, const std::string& name, ::onnx::TensorProto& p) {
    p.set_name(name);
    p.set_data_type(detail::to_elem_type(t.dtype));
    if (!ir::has_storage(t.dtype)) throw io_error("tensor '" + name + "': element type " + std::string(ir::to_string(t.dtype)) + " has no data in the IR");
    for (std::int64_t d : t.shape) p.add_dims(d);
    const auto n = static_cast<std::size_t>(t.size());
    const std::size_t have = t.dtype == ir::DType::f32 ? t.f.size() : t.i.size();
    if (have != n)
        throw io_error("tensor '" + name + "': holds " + std::to_string(have) + " values for shape " + ir::to_string(t.shape));
    std::string& raw = *p.mutable_raw_data();
    switch (t.dtype) {
    case ir::DType::f32:
        raw.reserve(n * sizeof(float));
        for (float v : t.f) detail::append_le(raw, v);
        break;
    case ir::DType::i64:
        raw.reserve(n * sizeof(std::int64_t));
        for (std::int64_t v : t.i) detail::append_le(raw, v);
        break;
    case ir::DType::i32:
        raw.reserve(n * sizeof(std::int32_t));
        for (std::int64_t v : t.i) {
            if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
                throw io_error("tensor '" + name + "': value " + std::to_string(v) + " does not fit its int32 type");
            detail::append_le(raw, static_cast<std::int32_t>(v));
        }
        break;
    case ir::DType::boolean:
        raw.reserve(n);
        for (std::int64_t v : t.i) raw.push_back(v != 0 ? char{1} : char{0});
        break;
    default: break;
    }
}

/// `t` as a TensorProto named `name`.
[[nodiscard]] inline ::onnx::TensorProto to_tensor_proto(const ir::Tensor& t, const std::string& name = {}) {
    ::onnx::TensorProto p;
    to_tensor_proto(t, name, p);
    return p;
}

/// Reads a serialized TensorProto (the `input_0.pb` files of ONNX test data).
[[nodiscard]] inline ir::Tensor load_tensor(const std::filesystem::path& path) {
    ::onnx::TensorProto p;
    detail::parse(p, detail::read_file(path), detail::quoted(path));
    return from_tensor_proto(p, detail::quoted(path));
}

/// Writes `t` as a serialized TensorProto named `name`, atomically.
inline void save_tensor(const ir::Tensor& t, const std::filesystem::path& path, const std::string& name = {}) {
    std::string bytes;
    if (!to_tensor_proto(t, name).SerializeToString(&bytes)) throw io_error(detail::quoted(path) + ": cannot serialize the tensor");
    detail::write_file_atomically(path, bytes);
}

} // namespace surgery::onnx
