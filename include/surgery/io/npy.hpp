// NumPy .npy tensor files (float32 and int64, C order, format versions 1.0 to 3.0): read, write, parse, format.
#pragma once

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::io {

namespace detail {

inline constexpr std::string_view npy_magic{"\x93NUMPY", 6};

/// Largest element count accepted from a header: guards against absurd allocations from damaged files.
inline constexpr std::int64_t npy_max_elements = std::int64_t{1} << 40;

template <class T>
T byteswap_value(T v) noexcept {
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    std::reverse(b, b + sizeof(T));
    std::memcpy(&v, b, sizeof(T));
    return v;
}

/// Reads `n` values of `T` stored with the given byte order (`little`) from `data`.
template <class T>
std::vector<T> read_values(const char* data, std::size_t n, bool little) {
    std::vector<T> out(n);
    if (n) std::memcpy(out.data(), data, n * sizeof(T));
    if (little != (std::endian::native == std::endian::little))
        for (T& v : out) v = byteswap_value(v);
    return out;
}

template <class T>
void append_le(std::string& out, const std::vector<T>& values) {
    const std::size_t start = out.size();
    out.resize(start + values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(out.data() + start, values.data(), values.size() * sizeof(T));
    if constexpr (std::endian::native == std::endian::big) {
        for (std::size_t k = 0; k < values.size(); ++k) std::reverse(out.data() + start + k * sizeof(T), out.data() + start + (k + 1) * sizeof(T));
    }
}

/// A cursor over the header's Python dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
class npy_header_parser {
public:
    npy_header_parser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

    struct fields {
        std::string descr;
        bool fortran_order = false;
        ir::Shape shape;
    };

    fields parse() {
        fields f;
        bool has_descr = false, has_order = false, has_shape = false;
        expect('{');
        while (true) {
            skip_ws();
            if (peek() == '}') break;
            const std::string key = string_literal();
            expect(':');
            if (key == "descr") {
                f.descr = string_literal();
                has_descr = true;
            } else if (key == "fortran_order") {
                f.fortran_order = boolean();
                has_order = true;
            } else if (key == "shape") {
                f.shape = tuple();
                has_shape = true;
            } else {
                fail("unexpected key '" + key + "' in the header");
            }
            skip_ws();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == '}') break;
            fail("expected ',' or '}' in the header");
        }
        if (!has_descr || !has_order || !has_shape) fail("the header lacks one of 'descr', 'fortran_order' and 'shape'");
        return f;
    }

private:
    [[noreturn]] void fail(const std::string& msg) const { throw io_error(what_ + ": not a valid .npy file: " + msg); }
    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    void skip_ws() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    void expect(char c) {
        skip_ws();
        if (peek() != c) fail(std::string("expected '") + c + "' in the header");
        ++pos_;
    }
    std::string string_literal() {
        skip_ws();
        const char q = peek();
        if (q != '\'' && q != '"') fail("expected a quoted string in the header");
        const std::size_t end = s_.find(q, pos_ + 1);
        if (end == std::string_view::npos) fail("unterminated string in the header");
        std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        return out;
    }
    bool boolean() {
        skip_ws();
        if (s_.substr(pos_, 4) == "True") {
            pos_ += 4;
            return true;
        }
        if (s_.substr(pos_, 5) == "False") {
            pos_ += 5;
            return false;
        }
        fail("'fortran_order' is neither True nor False");
    }
    ir::Shape tuple() {
        expect('(');
        ir::Shape shape;
        while (true) {
            skip_ws();
            if (peek() == ')') {
                ++pos_;
                return shape;
            }
            if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("the shape is not a tuple of non-negative integers");
            std::int64_t d = 0;
            while (std::isdigit(static_cast<unsigned char>(peek()))) {
                if (d > (std::numeric_limits<std::int64_t>::max() - 9) / 10) fail("a dimension of the shape is too large");
                d = d * 10 + (s_[pos_++] - '0');
            }
            if (peek() == 'L') ++pos_; // Python 2 long literal
            shape.push_back(d);
            skip_ws();
            if (peek() == ',') ++pos_;
            else if (peek() != ')') fail("expected ',' or ')' in the shape");
        }
    }

    std::string_view s_;
    const std::string& what_;
    std::size_t pos_ = 0;
};

inline std::string descr_hint(std::string_view descr) {
    const std::string_view t = descr.empty() ? descr : descr.substr(descr.front() == '<' || descr.front() == '>' || descr.front() == '|' || descr.front() == '=' ? 1 : 0);
    if (t == "f8" || t == "f2") return " (convert it with x.astype(numpy.float32))";
    if (t == "i4" || t == "i2" || t == "i1" || t == "u1" || t == "u2" || t == "u4" || t == "u8" || t == "b1")
        return " (convert it with x.astype(numpy.int64) or x.astype(numpy.float32))";
    return {};
}

} // namespace detail

/// Parses the bytes of a .npy file. Element types: float32 (`<f4`/`>f4`) and int64 (`<i8`/`>i8`),
/// C order; header versions 1.0, 2.0 and 3.0. `what` names the source in error messages (the file).
/// Throws `io_error` naming `what` for a bad magic string, an unsupported element type, Fortran
/// order, a malformed header, and data that is shorter (truncated) or longer than the shape says.
[[nodiscard]] inline ir::Tensor parse_npy(std::string_view bytes, const std::string& what = "npy data") {
    if (bytes.size() < 10 || bytes.substr(0, 6) != detail::npy_magic)
        throw io_error(what + ": not a .npy file (the magic string \\x93NUMPY is missing)");
    const auto major = static_cast<unsigned char>(bytes[6]);
    std::size_t header_len = 0, offset = 0;
    if (major == 1) {
        header_len = static_cast<std::size_t>(static_cast<unsigned char>(bytes[8])) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw io_error(what + ": truncated .npy header");
        for (int k = 3; k >= 0; --k) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + static_cast<std::size_t>(k)]);
        offset = 12;
    } else {
        throw io_error(what + ": .npy format version " + std::to_string(major) + "." + std::to_string(static_cast<unsigned char>(bytes[7])) +
                       " is not supported (1.0 to 3.0 are)");
    }
    if (bytes.size() - offset < header_len)
        throw io_error(what + ": truncated .npy file (the header claims " + std::to_string(header_len) + " bytes, the file has " +
                       std::to_string(bytes.size() - offset) + " after the preamble)");
    const auto fields = detail::npy_header_parser(bytes.substr(offset, header_len), what).parse();
    if (fields.fortran_order)
        throw io_error(what + ": the array is stored in Fortran order; save a C-ordered array (numpy.ascontiguousarray(x))");
    ir::Tensor t;
    t.shape = fields.shape;
    std::size_t elem = 0;
    bool little = true;
    const std::string& d = fields.descr;
    const std::string type = d.size() == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '=' || d[0] == '|') ? d.substr(1) : std::string{};
    if (!d.empty() && d[0] == '>') little = false;
    if (!d.empty() && d[0] == '=') little = std::endian::native == std::endian::little;
    if (type == "f4" && d[0] != '|') {
        t.dtype = ir::DType::f32;
        elem = 4;
    } else if (type == "i8" && d[0] != '|') {
        t.dtype = ir::DType::i64;
        elem = 8;
    } else {
        throw io_error(what + ": element type '" + d + "' is not supported (float32 '<f4' and int64 '<i8' are)" + detail::descr_hint(d));
    }
    std::int64_t n = 1;
    for (std::int64_t dim : t.shape) {
        if (dim != 0 && n > detail::npy_max_elements / dim) throw io_error(what + ": shape " + ir::to_string(t.shape) + " is too large");
        n *= dim;
    }
    const std::size_t data_start = offset + header_len;
    const std::size_t need = static_cast<std::size_t>(n) * elem;
    const std::size_t have = bytes.size() - data_start;
    if (have < need)
        throw io_error(what + ": truncated .npy file (shape " + ir::to_string(t.shape) + " needs " + std::to_string(need) + " bytes of data, the file has " +
                       std::to_string(have) + ")");
    if (have > need)
        throw io_error(what + ": " + std::to_string(have - need) + " unexpected bytes after the data of shape " + ir::to_string(t.shape));
    const char* data = bytes.data() + data_start;
    if (t.dtype == ir::DType::f32) t.f = detail::read_values<float>(data, static_cast<std::size_t>(n), little);
    else t.i = detail::read_values<std::int64_t>(data, static_cast<std::size_t>(n), little);
    return t;
}

/// The bytes of a .npy file holding `t` (format 1.0, or 2.0 when the header needs it; little-endian,
/// header padded so the data starts at a multiple of 64 bytes as NumPy does). Float32 and int64
/// tensors only; int32 and bool tensors are written as int64. Throws `io_error` otherwise.
[[nodiscard]] inline std::string format_npy(const ir::Tensor& t) {
    if (t.dtype == ir::DType::undefined) throw io_error("npy: cannot write a tensor of undefined element type");
    const bool fl = t.dtype == ir::DType::f32;
    const std::size_t count = fl ? t.f.size() : t.i.size();
    if (static_cast<std::int64_t>(count) != t.size())
        throw io_error("npy: the tensor holds " + std::to_string(count) + " values but its shape " + ir::to_string(t.shape) + " needs " +
                       std::to_string(t.size()));
    std::string dict = std::string("{'descr': '") + (fl ? "<f4" : "<i8") + "', 'fortran_order': False, 'shape': (";
    for (std::size_t k = 0; k < t.shape.size(); ++k) {
        dict += std::to_string(t.shape[k]);
        if (t.shape.size() == 1 || k + 1 < t.shape.size()) dict += ",";
        if (k + 1 < t.shape.size()) dict += " ";
    }
    dict += "), }";
    auto padded = [&](std::size_t preamble) {
        std::string h = dict;
        const std::size_t total = preamble + h.size() + 1; // + '\n'
        h.append((64 - total % 64) % 64, ' ');
        h.push_back('\n');
        return h;
    };
    std::string header = padded(10);
    std::string out(detail::npy_magic);
    if (header.size() <= 0xffff) {
        out.push_back('\x01');
        out.push_back('\x00');
        out.push_back(static_cast<char>(header.size() & 0xff));
        out.push_back(static_cast<char>((header.size() >> 8) & 0xff));
    } else {
        header = padded(12);
        out.push_back('\x02');
        out.push_back('\x00');
        for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>((header.size() >> (8 * k)) & 0xff));
    }
    out += header;
    if (fl) detail::append_le(out, t.f);
    else detail::append_le(out, t.i);
    return out;
}

/// Reads a .npy file (see `parse_npy`). Errors are `io_error`s that start with the file name.
[[nodiscard]] inline ir::Tensor read_npy(const std::filesystem::path& path) {
    const std::string what = quoted(path);
    const std::string bytes = read_file(path);
    return parse_npy(bytes, what);
}

/// Writes `t` as a .npy file (see `format_npy`), atomically.
inline void write_npy(const ir::Tensor& t, const std::filesystem::path& path) {
    std::string bytes;
    try {
        bytes = format_npy(t);
    } catch (const io_error& e) {
        throw io_error(quoted(path) + ": " + e.what());
    }
    write_file_atomically(path, bytes);
}

} // namespace surgery::io
