// Fuzz target: .npy bytes -> parse_npy -> format_npy -> parse_npy again.
//
// Promises checked: bytes are rejected with a surgery::error or read into a tensor with as many
// values as its shape holds; format_npy accepts every tensor parse_npy returns, and reading its
// output gives the same element type, shape and bits.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_guard.hpp"
#include "surgery/io/npy.hpp"

namespace {
constexpr const char* target = "fuzz_npy";

bool same_bits(const surgery::ir::Tensor& a, const surgery::ir::Tensor& b) {
    if (a.dtype != b.dtype || a.shape != b.shape || a.f.size() != b.f.size() || a.i != b.i) return false;
    return a.f.empty() || std::memcmp(a.f.data(), b.f.data(), a.f.size() * sizeof(float)) == 0; // NaN payloads too
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    surgery::fuzz::guard(target, [&] {
        const surgery::ir::Tensor t = surgery::io::parse_npy(bytes, "fuzz input");
        const std::size_t held = t.dtype == surgery::ir::DType::f32 ? t.f.size() : t.i.size();
        if (static_cast<std::int64_t>(held) != t.size())
            surgery::fuzz::finding(target, "parse_npy returned " + std::to_string(held) + " values for shape " + surgery::ir::to_string(t.shape));
        std::string written;
        try {
            written = surgery::io::format_npy(t);
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("format_npy refused a tensor parse_npy returned: ") + e.what());
        }
        try {
            if (!same_bits(surgery::io::parse_npy(written, "round trip"), t)) surgery::fuzz::finding(target, "the round trip changed the tensor");
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("bytes written by format_npy do not read back: ") + e.what());
        }
    });
    return 0;
}
