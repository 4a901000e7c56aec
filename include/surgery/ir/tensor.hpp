// Shapes, element types and constant tensors of the IR.
#pragma once

#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surgery/error.hpp"

namespace surgery::ir {

/// Tensor dimensions, outermost first (NCHW for images). A dimension of -1 is unknown (symbolic).
using Shape = std::vector<std::int64_t>;
using Ints = std::vector<std::int64_t>;
using Floats = std::vector<float>;

/// Element types. Tensors hold data of the computing types (float32, and int64, int32 and bool,
/// stored as int64); values of the other ONNX types (as outputs of ops outside the catalogue) are
/// carried with their type but no data.
enum class DType : std::uint8_t { undefined, f32, i64, i32, boolean, f16, f64, bf16, i8, u8, i16, u16, u32, u64, string, c64, c128 };

[[nodiscard]] constexpr std::string_view to_string(DType t) noexcept {
    switch (t) {
    case DType::f32: return "float32";
    case DType::i64: return "int64";
    case DType::i32: return "int32";
    case DType::boolean: return "bool";
    case DType::f16: return "float16";
    case DType::f64: return "float64";
    case DType::bf16: return "bfloat16";
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::i16: return "int16";
    case DType::u16: return "uint16";
    case DType::u32: return "uint32";
    case DType::u64: return "uint64";
    case DType::string: return "string";
    case DType::c64: return "complex64";
    case DType::c128: return "complex128";
    case DType::undefined: break;
    }
    return "undefined";
}

/// Whether tensors of type `t` hold data in the IR (float32 in `Tensor::f`; int64, int32, bool in `Tensor::i`).
[[nodiscard]] constexpr bool has_storage(DType t) noexcept {
    return t == DType::f32 || t == DType::i64 || t == DType::i32 || t == DType::boolean;
}

/// True when every dimension is known.
[[nodiscard]] inline bool is_static(const Shape& s) noexcept {
    for (auto d : s)
        if (d < 0) return false;
    return true;
}

/// `shape` with every dynamic dimension (-1) given the size `fill`.
[[nodiscard]] inline Shape with_dynamic_dims(Shape shape, std::int64_t fill) {
    for (auto& d : shape)
        if (d < 0) d = fill;
    return shape;
}

/// Number of elements of a static shape (1 for a scalar).
[[nodiscard]] inline std::int64_t numel(const Shape& s) noexcept {
    return std::accumulate(s.begin(), s.end(), std::int64_t{1}, [](std::int64_t a, std::int64_t b) { return a * b; });
}

[[nodiscard]] inline std::string to_string(const Shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i) out += ",";
        out += s[i] < 0 ? std::string("?") : std::to_string(s[i]);
    }
    return out + "]";
}

/// A dense constant tensor (weights, shapes, scales), row-major. Float data lives in `f`, integer
/// and boolean data (int64, int32, bool) in `i`, so kernels can read either without conversion.
struct Tensor {
    DType dtype = DType::f32;
    Shape shape;
    std::vector<float> f;
    std::vector<std::int64_t> i;

    [[nodiscard]] std::int64_t size() const noexcept { return numel(shape); }
    [[nodiscard]] bool is_float() const noexcept { return dtype == DType::f32; }

    [[nodiscard]] static Tensor floats(Shape shape, std::vector<float> data) {
        if (static_cast<std::int64_t>(data.size()) != numel(shape))
            throw error("ir::Tensor::floats: " + std::to_string(data.size()) + " values do not fill shape " + to_string(shape));
        return Tensor{DType::f32, std::move(shape), std::move(data), {}};
    }
    [[nodiscard]] static Tensor ints(Shape shape, std::vector<std::int64_t> data, DType t = DType::i64) {
        if (static_cast<std::int64_t>(data.size()) != numel(shape))
            throw error("ir::Tensor::ints: " + std::to_string(data.size()) + " values do not fill shape " + to_string(shape));
        return Tensor{t, std::move(shape), {}, std::move(data)};
    }
    /// A 1-D int64 tensor, the form ONNX uses for shapes, axes and pads given as inputs.
    [[nodiscard]] static Tensor vector(std::vector<std::int64_t> data) {
        Shape s{static_cast<std::int64_t>(data.size())};
        return ints(std::move(s), std::move(data));
    }
    [[nodiscard]] static Tensor scalar(float v) { return floats({}, {v}); }
    [[nodiscard]] static Tensor zeros(Shape shape) {
        auto n = static_cast<std::size_t>(numel(shape));
        return floats(std::move(shape), std::vector<float>(n, 0.0f));
    }
    /// Deterministic uniform random data in [lo, hi) from `rng`.
    template <class Rng>
    [[nodiscard]] static Tensor uniform(Shape shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
        std::uniform_real_distribution<float> dist(lo, hi);
        std::vector<float> data(static_cast<std::size_t>(numel(shape)));
        for (auto& x : data) x = dist(rng);
        return floats(std::move(shape), std::move(data));
    }

    /// Values as int64 whatever the stored type (floats are truncated); for shape-like inputs.
    [[nodiscard]] std::vector<std::int64_t> as_ints() const {
        if (dtype == DType::f32) {
            std::vector<std::int64_t> out;
            out.reserve(f.size());
            for (float x : f) out.push_back(static_cast<std::int64_t>(x));
            return out;
        }
        return i;
    }
    /// Values as float whatever the stored type; for scale-like inputs.
    [[nodiscard]] std::vector<float> as_floats() const {
        if (dtype == DType::f32) return f;
        std::vector<float> out;
        out.reserve(i.size());
        for (auto x : i) out.push_back(static_cast<float>(x));
        return out;
    }

    friend bool operator==(const Tensor&, const Tensor&) = default;
};

} // namespace surgery::ir
