// NumPy .npy tensor files (float32 and int64, C order, format versions 1.0 to 3.0): read, write, parse, format;
// shapes checked against a memory limit before anything is allocated.
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

/// Longest header accepted (NumPy itself refuses headers over 10,000 bytes unless told otherwise).
inline constexpr std::size_t npy_max_header_bytes = std::size_t{1} << 20;
/// Most dimensions accepted (NumPy's own limit is 32, 64 since NumPy 2).
inline constexpr std::size_t npy_max_dims = 64;

template <class T>
T byteswap_value(T v) noexcept {
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    std::reverse(b, b + sizeof(T));
    std::memcpy(&v, b, sizeof(T));
    return v;
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
                fail("unexpected key '" + printable(key) + "' in the header");
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
            if (shape.size() > npy_max_dims) fail("the shape has more than " + std::to_string(npy_max_dims) + " dimensions");
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

/// Where the data of a .npy file is and what it holds, from its preamble and header.
struct npy_layout {
    ir::DType dtype = ir::DType::undefined;
    std::size_t elem_size = 0;
    bool little = true;
    ir::Shape shape;
    std::uint64_t count = 0;       ///< elements
    std::uint64_t data_bytes = 0;  ///< count * elem_size
    std::size_t data_offset = 0;   ///< preamble + header
};

/// The header length of a .npy file from its first bytes (at least 12 of them, or the whole file
/// when shorter), and where the header starts.
inline std::pair<std::size_t, std::size_t> npy_header_extent(std::string_view bytes, const std::string& what) {
    if (bytes.size() < 10 || bytes.substr(0, 6) != npy_magic) throw io_error(what + ": not a .npy file (the magic string \\x93NUMPY is missing)");
    const auto major = static_cast<unsigned char>(bytes[6]);
    std::size_t header_len = 0;
    if (major == 1) {
        header_len = static_cast<std::size_t>(static_cast<unsigned char>(bytes[8])) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
        return {10, header_len};
    }
    if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw io_error(what + ": truncated .npy header");
        for (int k = 3; k >= 0; --k) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + static_cast<std::size_t>(k)]);
        if (header_len > npy_max_header_bytes)
            throw io_error(what + ": the .npy header claims " + std::to_string(header_len) + " bytes, more than the " + std::to_string(npy_max_header_bytes) +
                           " accepted");
        return {12, header_len};
    }
    throw io_error(what + ": .npy format version " + std::to_string(major) + "." + std::to_string(static_cast<unsigned char>(bytes[7])) +
                   " is not supported (1.0 to 3.0 are)");
}

/// Checks the shape of a header against `max_bytes` with overflow-checked arithmetic. A zero-size
/// array is legal, but its other dimensions count as if it held data: (2^30, 0) is refused where
/// (2^30,) would be, so that an empty file cannot declare dimensions that code sizing buffers from
/// the shape (an output of a reduction over the empty axis, a per-row loop) would trust.
inline void check_npy_shape(const npy_layout& l, std::uint64_t max_bytes, const std::string& what) {
    std::uint64_t count = 1, extent = 1;
    bool overflow = false;
    for (std::int64_t dim : l.shape) {
        const auto d = static_cast<std::uint64_t>(dim);
        if (d != 0 && extent > std::numeric_limits<std::uint64_t>::max() / d) overflow = true;
        else if (d != 0) extent *= d;
        count = d == 0 ? 0 : count * d; // only read when extent did not overflow, and count <= extent
    }
    const std::string type = l.dtype == ir::DType::f32 ? "float32" : "int64";
    if (overflow || extent > std::numeric_limits<std::uint64_t>::max() / l.elem_size)
        throw io_error(what + ": shape " + ir::to_string(l.shape) + " is too large (its element count overflows 64 bits)");
    if (extent * l.elem_size > max_bytes) {
        if (count == 0)
            throw io_error(what + ": shape " + ir::to_string(l.shape) + " is too large: a zero-size array, but its other dimensions multiply to " +
                           std::to_string(extent) + " elements (" + format_bytes(extent * l.elem_size) + " of " + type +
                           "), more than the memory limit of " + format_bytes(max_bytes));
        throw io_error(what + ": shape " + ir::to_string(l.shape) + " is too large: " + std::to_string(count) + " elements are " +
                       format_bytes(count * l.elem_size) + " of " + type + ", more than the memory limit of " + format_bytes(max_bytes));
    }
}

/// The layout of a .npy file from its preamble and header (`head` holds at least both) and the
/// file's total size; io_error for anything malformed, unsupported, larger than `max_bytes`, or a
/// size that does not match the shape (truncated or with bytes after the data).
inline npy_layout parse_npy_layout(std::string_view head, std::uint64_t total_size, std::uint64_t max_bytes, const std::string& what) {
    const auto [offset, header_len] = npy_header_extent(head, what);
    if (head.size() - offset < header_len)
        throw io_error(what + ": truncated .npy file (the header claims " + std::to_string(header_len) + " bytes, the file has " +
                       std::to_string(head.size() - offset) + " after the preamble)");
    const auto fields = npy_header_parser(head.substr(offset, header_len), what).parse();
    if (fields.fortran_order)
        throw io_error(what + ": the array is stored in Fortran order; save a C-ordered array (numpy.ascontiguousarray(x))");
    npy_layout l;
    l.shape = fields.shape;
    const std::string& d = fields.descr;
    const std::string type = d.size() == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '=' || d[0] == '|') ? d.substr(1) : std::string{};
    if (!d.empty() && d[0] == '>') l.little = false;
    if (!d.empty() && d[0] == '=') l.little = std::endian::native == std::endian::little;
    if (type == "f4" && d[0] != '|') {
        l.dtype = ir::DType::f32;
        l.elem_size = 4;
    } else if (type == "i8" && d[0] != '|') {
        l.dtype = ir::DType::i64;
        l.elem_size = 8;
    } else {
        throw io_error(what + ": element type '" + printable(d) + "' is not supported (float32 '<f4' and int64 '<i8' are)" + descr_hint(d));
    }
    check_npy_shape(l, max_bytes, what);
    l.count = 1;
    for (std::int64_t dim : l.shape) l.count *= static_cast<std::uint64_t>(dim);
    l.data_bytes = l.count * l.elem_size;
    l.data_offset = offset + header_len;
    const std::uint64_t have = total_size - l.data_offset;
    if (have < l.data_bytes)
        throw io_error(what + ": truncated .npy file (shape " + ir::to_string(l.shape) + " needs " + std::to_string(l.data_bytes) +
                       " bytes of data, the file has " + std::to_string(have) + ")");
    if (have > l.data_bytes)
        throw io_error(what + ": " + std::to_string(have - l.data_bytes) + " unexpected bytes after the data of shape " + ir::to_string(l.shape));
    return l;
}

/// A tensor of the layout's type and shape, its values left to be filled.
inline ir::Tensor npy_tensor(const npy_layout& l) {
    ir::Tensor t;
    t.dtype = l.dtype;
    t.shape = l.shape;
    if (l.dtype == ir::DType::f32) t.f.resize(static_cast<std::size_t>(l.count));
    else t.i.resize(static_cast<std::size_t>(l.count));
    return t;
}

/// Puts the values of a tensor filled with the file's bytes in native byte order.
inline void npy_fix_byte_order(ir::Tensor& t, bool little) {
    if (little == (std::endian::native == std::endian::little)) return;
    for (float& v : t.f) v = byteswap_value(v);
    for (std::int64_t& v : t.i) v = byteswap_value(v);
}

} // namespace detail

/// Default memory limit of the .npy readers for the data of one array: 16 GiB. The command-line
/// tool passes its `--max-memory` budget instead.
inline constexpr std::uint64_t npy_default_max_bytes = std::uint64_t{1} << 34;

/// Parses the bytes of a .npy file. Element types: float32 (`<f4`/`>f4`) and int64 (`<i8`/`>i8`),
/// C order; header versions 1.0, 2.0 and 3.0. `what` names the source in error messages (the file).
/// Throws `io_error` naming `what` for a bad magic string, an unsupported element type, Fortran
/// order, a malformed header, more than 64 dimensions, a shape whose data would exceed `max_bytes`
/// (element counts in overflow-checked arithmetic; a zero-size array's other dimensions count too,
/// see `detail::check_npy_shape`), and data that is shorter (truncated) or longer than the shape says.
[[nodiscard]] inline ir::Tensor parse_npy(std::string_view bytes, const std::string& what = "npy data", std::uint64_t max_bytes = npy_default_max_bytes) {
    const detail::npy_layout l = detail::parse_npy_layout(bytes, bytes.size(), max_bytes, what);
    ir::Tensor t = detail::npy_tensor(l);
    char* dst = l.dtype == ir::DType::f32 ? reinterpret_cast<char*>(t.f.data()) : reinterpret_cast<char*>(t.i.data());
    if (l.data_bytes) std::memcpy(dst, bytes.data() + l.data_offset, static_cast<std::size_t>(l.data_bytes));
    detail::npy_fix_byte_order(t, l.little);
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

/// Reads a .npy file (see `parse_npy`). Only a regular file is read (a FIFO, a device or a
/// directory is refused before anything is read); its header is read first and checked against
/// `max_bytes` and the file's size, then the data is read straight into the tensor. Errors are
/// `io_error`s that start with the file name.
[[nodiscard]] inline ir::Tensor read_npy(const std::filesystem::path& path, std::uint64_t max_bytes = npy_default_max_bytes) {
    const std::uint64_t max_file = max_bytes > std::numeric_limits<std::uint64_t>::max() - (detail::npy_max_header_bytes + 12)
                                       ? std::numeric_limits<std::uint64_t>::max()
                                       : max_bytes + detail::npy_max_header_bytes + 12;
    input_file f(path, max_file, "a .npy file under the memory limit");
    const std::string& what = f.name();
    std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(f.size(), 12)), '\0');
    f.read_exact(head.data(), head.size());
    const auto [offset, header_len] = detail::npy_header_extent(head, what);
    const std::uint64_t want = std::min<std::uint64_t>(f.size(), offset + header_len);
    if (want > head.size()) {
        const std::size_t had = head.size();
        head.resize(static_cast<std::size_t>(want));
        f.read_exact(head.data() + had, head.size() - had);
    }
    const detail::npy_layout l = detail::parse_npy_layout(head, f.size(), max_bytes, what);
    ir::Tensor t = detail::npy_tensor(l);
    // The head may hold the first data bytes (a header shorter than 12 bytes is malformed anyway).
    const std::size_t in_head = head.size() > l.data_offset ? head.size() - l.data_offset : 0;
    char* dst = l.dtype == ir::DType::f32 ? reinterpret_cast<char*>(t.f.data()) : reinterpret_cast<char*>(t.i.data());
    if (in_head) std::memcpy(dst, head.data() + l.data_offset, in_head);
    f.read_exact(dst + in_head, static_cast<std::size_t>(l.data_bytes) - in_head);
    detail::npy_fix_byte_order(t, l.little);
    return t;
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
