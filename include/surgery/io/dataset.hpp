// Image datasets for accuracy measurements: IDX (MNIST, Fashion-MNIST), .npy batches and image folders,
// turned into network inputs by the preprocessing of a training script (resize, pad, channels, mean/std).
//
// A dataset is opened from a spec string (the CLI's form) or from the functions below:
//
//   spec    := [kind ":"] path ["?" option ("&" option)*]
//   kind    := "fmnist" | "idx" | "npy" | "images"     (omitted: from the path, see below)
//   option  := "labels=" path       labels file (idx: default the images file's name with
//                                   "images-idx3" -> "labels-idx1" if that file exists; npy: none)
//            | "split=" ("test" | "train")     fmnist only (default test)
//            | "limit=" N           keep the first N samples
//            | "scale=" X           divide raw values by X (default 255 for uint8 data, 1 for float32)
//            | "size=" H ["x" W]    bilinear resize to H x W (PyTorch's interpolate, align_corners=False)
//            | "pad=" H ["x" W]     zero-pad (centred, after any resize) to H x W
//            | "channels=" C        repeat a single channel C times
//            | "mean=" m ("," m)*   subtract, one value or one per (output) channel
//            | "std=" s ("," s)*    then divide, likewise
//
//   fmnist   Fashion-MNIST/MNIST file names in a folder: path is the folder (default
//            /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist), the split picks
//            t10k-* or train-* {images-idx3,labels-idx1}-ubyte[.gz]
//   idx      one unsigned-byte IDX images file [N, H, W] (optionally gzipped), labels as above
//   npy      a .npy array [N, C, H, W] or [N, H, W] of float32 or uint8; labels an int64 or uint8 .npy [N]
//   images   a folder of PNG/JPEG/BMP/... files: DIR/CLASS/**/FILE with classes numbered in sorted
//            order, or DIR/FILE without labels (torchvision's ImageFolder order); needs an image
//            decoder (surgery/io/image.hpp)
//   omitted  ".npy" -> npy; a folder holding t10k-images-idx3-ubyte[.gz] -> fmnist; another folder
//            -> images; anything else -> idx
//
// Preprocessing runs in this order, all in float32: scale, resize, pad, channel repeat, (x - mean) / std.
// It is the order of tests/models/fmnist_common.py, whose `dataset_spec()` gives the matching spec
//   fmnist:/usr/share/datasets/fashion-mnist?split=test&pad=32&channels=3&mean=0.2860&std=0.3530
// and the values equal PyTorch's bit for bit (the division, the zero padding and the affine
// normalisation are single IEEE operations; the bilinear resize reproduces PyTorch's kernel for
// single-channel images, see `resize_bilinear`). Numbers are parsed as double and rounded to float,
// as Python does with torch.tensor([0.2860]). Paths containing '?' or '&' cannot be written in a spec;
// use the functions instead.
//
// Gzipped files and image files need decoders the core does not carry: pass `io::gunzip` from
// surgery/io/gzip.hpp (zlib) and `io::decode_image` from surgery/io/image.hpp (stb_image) in `codecs`.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/io/npy.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::io {

/// Samples as stored: shape [N, C, H, W], values in `u8` (uint8 sources) or `f` (float32 sources).
struct raw_images {
    ir::Shape shape;
    std::vector<std::uint8_t> u8;
    std::vector<float> f;

    [[nodiscard]] bool is_u8() const noexcept { return f.empty() && !u8.empty(); }
};

/// Decoders for formats the header-only core cannot read by itself. Each takes the file's bytes
/// and the name to put in error messages. Empty: such a file is an error that says what to pass.
struct codecs {
    /// gzip -> raw bytes (surgery/io/gzip.hpp: `io::gunzip`, needs zlib).
    std::function<std::string(std::string_view bytes, const std::string& what)> gunzip;
    /// an encoded image (PNG, JPEG, ...) -> [1, C, H, W] uint8 (surgery/io/image.hpp: `io::decode_image`).
    std::function<raw_images(std::string_view bytes, const std::string& what)> decode_image;
};

/// How raw samples become network inputs: scale, resize, pad, channel repeat, normalise, in this order.
/// Zero sizes and empty vectors mean "leave as is".
struct preprocess {
    /// Raw values are divided by this; 0: by 255 for uint8 sources and by 1 for float32 sources.
    float scale = 0.0f;
    /// Bilinear resize, PyTorch's F.interpolate(mode="bilinear", align_corners=False, antialias=False).
    std::int64_t resize_h = 0, resize_w = 0;
    /// Zero padding to this size, centred: (size - h) / 2 rows on top, the rest at the bottom
    /// (torchvision's center-crop/pad convention); likewise columns.
    std::int64_t pad_h = 0, pad_w = 0;
    /// Repeat a single-channel image to this many channels (1 -> 3 for RGB networks).
    std::int64_t channels = 0;
    /// Per-channel mean and standard deviation: one value for all channels or one per output channel.
    std::vector<float> mean, stddev;

    friend bool operator==(const preprocess&, const preprocess&) = default;
};

/// The options of `p` in spec syntax (`pad=32&channels=3&mean=0.286&std=0.353`), empty when none.
[[nodiscard]] inline std::string to_string(const preprocess& p) {
    std::string out;
    auto add = [&](std::string_view key, const std::string& value) {
        if (!out.empty()) out += '&';
        out.append(key).append("=").append(value);
    };
    auto num = [](float v) { // shortest form that reads back as the same float
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        return std::string(buf, r.ptr);
    };
    auto list = [&](const std::vector<float>& v) {
        std::string s;
        for (std::size_t k = 0; k < v.size(); ++k) {
            if (k) s += ',';
            s += num(v[k]); // appended, not "," + num(...): g++ 12 warns with -Wrestrict on that
        }
        return s;
    };
    auto size = [](std::int64_t h, std::int64_t w) { return h == w ? std::to_string(h) : std::to_string(h) + "x" + std::to_string(w); };
    if (p.scale != 0.0f) add("scale", num(p.scale));
    if (p.resize_h > 0) add("size", size(p.resize_h, p.resize_w));
    if (p.pad_h > 0) add("pad", size(p.pad_h, p.pad_w));
    if (p.channels > 0) add("channels", std::to_string(p.channels));
    if (!p.mean.empty()) add("mean", list(p.mean));
    if (!p.stddev.empty()) add("std", list(p.stddev));
    return out;
}

namespace detail {

/// Largest element count accepted from a file header (guards against absurd allocations).
inline constexpr std::int64_t dataset_max_elements = std::int64_t{1} << 40;

inline bool is_gzip(std::string_view bytes) noexcept {
    return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

/// The file's bytes, gunzipped when they are gzip data.
inline std::string read_maybe_gzipped(const std::filesystem::path& path, const codecs& c) {
    std::string bytes = read_file(path);
    if (!is_gzip(bytes)) return bytes;
    const std::string what = quoted(path);
    if (!c.gunzip)
        throw io_error(what + ": the file is gzip-compressed; decompress it (gunzip -k) or pass surgery::io::gunzip from "
                              "<surgery/io/gzip.hpp> (needs zlib) in io::codecs");
    return c.gunzip(bytes, what);
}

/// Product of `dims`, or nullopt when it exceeds `dataset_max_elements` (checked at every step).
inline std::optional<std::int64_t> checked_count(const ir::Shape& dims) noexcept {
    std::int64_t n = 1;
    for (std::int64_t d : dims) {
        if (d < 0) return std::nullopt;
        if (d != 0 && n > dataset_max_elements / d) return std::nullopt;
        n *= d;
    }
    return n;
}

inline std::string plane_size(std::int64_t h, std::int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

/// PyTorch's source index and weights of linear interpolation along one axis (align_corners=False):
/// the scale in float, the source coordinate in double, the weights rounded to float.
struct linear_tap {
    std::int64_t i0, i1;
    float w0, w1;
};

inline std::vector<linear_tap> linear_taps(std::int64_t in, std::int64_t out) {
    std::vector<linear_tap> taps(static_cast<std::size_t>(out));
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    for (std::int64_t d = 0; d < out; ++d) {
        double src = static_cast<double>(scale) * (static_cast<double>(d) + 0.5) - 0.5;
        if (src < 0.0) src = 0.0;
        const std::int64_t i0 = std::min(static_cast<std::int64_t>(src), in - 1);
        const float lambda = static_cast<float>(std::clamp(src - static_cast<double>(i0), 0.0, 1.0));
        taps[static_cast<std::size_t>(d)] = {i0, i0 < in - 1 ? i0 + 1 : i0, 1.0f - lambda, lambda};
    }
    return taps;
}

/// One plane [h, w] -> [oh, ow], PyTorch's bilinear kernel: four float weights (products of the
/// row and column weights), the weighted sum accumulated in double and rounded once.
inline void resize_plane(const float* src, std::int64_t w, float* dst, std::int64_t oh, std::int64_t ow, const std::vector<linear_tap>& rows,
                         const std::vector<linear_tap>& cols) {
    for (std::int64_t y = 0; y < oh; ++y) {
        const linear_tap& r = rows[static_cast<std::size_t>(y)];
        const float* row0 = src + r.i0 * w;
        const float* row1 = src + r.i1 * w;
        for (std::int64_t x = 0; x < ow; ++x) {
            const linear_tap& c = cols[static_cast<std::size_t>(x)];
            const float w00 = r.w0 * c.w0, w01 = r.w0 * c.w1, w10 = r.w1 * c.w0, w11 = r.w1 * c.w1;
            const double v = static_cast<double>(row0[c.i0]) * w00 + static_cast<double>(row0[c.i1]) * w01 +
                             static_cast<double>(row1[c.i0]) * w10 + static_cast<double>(row1[c.i1]) * w11;
            dst[y * ow + x] = static_cast<float>(v);
        }
    }
}

} // namespace detail

/// `x` [N, C, H, W] float32 resized to [N, C, out_h, out_w] like PyTorch's
/// `F.interpolate(x, size=(out_h, out_w), mode="bilinear", align_corners=False)` (no antialiasing).
/// Bit-identical to PyTorch 1.13's CPU kernel for single-channel (and channels-last) tensors; its
/// kernel for contiguous multi-channel tensors rounds differently, within 2 units in the last place.
[[nodiscard]] inline ir::Tensor resize_bilinear(const ir::Tensor& x, std::int64_t out_h, std::int64_t out_w) {
    if (x.dtype != ir::DType::f32 || x.shape.size() != 4 || !ir::is_static(x.shape) || static_cast<std::int64_t>(x.f.size()) != x.size())
        throw error("io::resize_bilinear: expected a float32 tensor [N, C, H, W], got " + std::string(ir::to_string(x.dtype)) + " " +
                    ir::to_string(x.shape));
    const std::int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    if (out_h < 1 || out_w < 1 || h < 1 || w < 1)
        throw error("io::resize_bilinear: cannot resize " + detail::plane_size(h, w) + " to " + detail::plane_size(out_h, out_w));
    if (!detail::checked_count({n, c, out_h, out_w})) throw error("io::resize_bilinear: the output " + detail::plane_size(out_h, out_w) + " is too large");
    const auto rows = detail::linear_taps(h, out_h);
    const auto cols = detail::linear_taps(w, out_w);
    ir::Tensor y = ir::Tensor::zeros({n, c, out_h, out_w});
    for (std::int64_t p = 0; p < n * c; ++p)
        detail::resize_plane(x.f.data() + p * h * w, w, y.f.data() + p * out_h * out_w, out_h, out_w, rows, cols);
    return y;
}

// ---- IDX ------------------------------------------------------------------------------------

/// An unsigned-byte IDX array (the MNIST file format): its dimensions and its bytes, row-major.
struct idx_array {
    ir::Shape dims;
    std::vector<std::uint8_t> data;
};

/// Parses the bytes of an IDX file: magic 0x00 0x00 0x08 NDIM, NDIM big-endian uint32 dimensions,
/// then the data. Only unsigned-byte data (type 0x08) is accepted. Throws `io_error` naming `what`
/// for a bad magic number, another element type, a truncated header, dimensions whose product
/// overflows, and data shorter or longer than the dimensions say.
[[nodiscard]] inline idx_array parse_idx(std::string_view bytes, const std::string& what = "IDX data") {
    if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
        throw io_error(what + ": not an IDX file (the magic number must start with two zero bytes)");
    const auto type = static_cast<unsigned char>(bytes[2]);
    const auto ndim = static_cast<unsigned char>(bytes[3]);
    if (type != 0x08) {
        const char* name = type == 0x09 ? " (signed byte)" : type == 0x0B ? " (int16)" : type == 0x0C ? " (int32)" : type == 0x0D ? " (float32)" : type == 0x0E ? " (float64)" : "";
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(type));
        throw io_error(what + ": IDX element type " + hex + name + " is not supported (unsigned byte, 0x08, is)");
    }
    if (ndim == 0) throw io_error(what + ": the IDX header declares no dimensions");
    const std::size_t header = 4 + 4 * std::size_t{ndim};
    if (bytes.size() < header)
        throw io_error(what + ": truncated IDX header (" + std::to_string(ndim) + " dimensions need " + std::to_string(header) + " bytes, the file has " +
                       std::to_string(bytes.size()) + ")");
    idx_array a;
    for (std::size_t k = 0; k < ndim; ++k) {
        std::uint32_t d = 0;
        for (std::size_t b = 0; b < 4; ++b) d = (d << 8) | static_cast<unsigned char>(bytes[4 + 4 * k + b]);
        a.dims.push_back(static_cast<std::int64_t>(d));
    }
    const auto count = detail::checked_count(a.dims);
    if (!count) throw io_error(what + ": IDX dimensions " + ir::to_string(a.dims) + " are too large (more than 2^40 elements)");
    const std::size_t have = bytes.size() - header;
    const auto need = static_cast<std::size_t>(*count);
    if (have < need)
        throw io_error(what + ": truncated IDX file (dimensions " + ir::to_string(a.dims) + " need " + std::to_string(need) + " bytes of data, the file has " +
                       std::to_string(have) + ")");
    if (have > need) throw io_error(what + ": " + std::to_string(have - need) + " unexpected bytes after the IDX data of dimensions " + ir::to_string(a.dims));
    a.data.resize(need);
    if (need) std::memcpy(a.data.data(), bytes.data() + header, need);
    return a;
}

/// The bytes that encode `a` as an IDX file (unsigned byte); the inverse of `parse_idx`.
[[nodiscard]] inline std::string format_idx(const idx_array& a) {
    const auto count = detail::checked_count(a.dims);
    if (a.dims.empty() || a.dims.size() > 255 || !count || static_cast<std::size_t>(*count) != a.data.size())
        throw io_error("idx: dimensions " + ir::to_string(a.dims) + " do not describe " + std::to_string(a.data.size()) + " bytes");
    std::string out{'\0', '\0', '\x08', static_cast<char>(a.dims.size())};
    for (std::int64_t d : a.dims) {
        if (d > std::numeric_limits<std::uint32_t>::max()) throw io_error("idx: dimension " + std::to_string(d) + " does not fit in 32 bits");
        for (int b = 3; b >= 0; --b) out.push_back(static_cast<char>((static_cast<std::uint64_t>(d) >> (8 * b)) & 0xff));
    }
    out.append(reinterpret_cast<const char*>(a.data.data()), a.data.size());
    return out;
}

/// Reads an IDX file, gunzipping it first when it is gzip data (needs `c.gunzip`).
[[nodiscard]] inline idx_array read_idx(const std::filesystem::path& path, const codecs& c = {}) {
    return parse_idx(detail::read_maybe_gzipped(path, c), quoted(path));
}

/// An IDX images file [N, H, W] as raw images [N, 1, H, W].
[[nodiscard]] inline raw_images read_idx_images(const std::filesystem::path& path, const codecs& c = {}) {
    idx_array a = read_idx(path, c);
    if (a.dims.size() != 3)
        throw io_error(quoted(path) + ": an IDX images file has 3 dimensions [N, H, W], this one has " + std::to_string(a.dims.size()) + " " + ir::to_string(a.dims));
    return raw_images{{a.dims[0], 1, a.dims[1], a.dims[2]}, std::move(a.data), {}};
}

/// An IDX labels file [N] as int64 class indices.
[[nodiscard]] inline std::vector<std::int64_t> read_idx_labels(const std::filesystem::path& path, const codecs& c = {}) {
    idx_array a = read_idx(path, c);
    if (a.dims.size() != 1)
        throw io_error(quoted(path) + ": an IDX labels file has 1 dimension [N], this one has " + std::to_string(a.dims.size()) + " " + ir::to_string(a.dims));
    return {a.data.begin(), a.data.end()};
}

// ---- .npy -----------------------------------------------------------------------------------

namespace detail {

/// A uint8 .npy array (descr '|u1'), which io::parse_npy does not read; nullopt for other element types.
inline std::optional<std::pair<ir::Shape, std::vector<std::uint8_t>>> parse_npy_u8(std::string_view bytes, const std::string& what) {
    if (bytes.size() < 10 || bytes.substr(0, 6) != npy_magic) return std::nullopt; // parse_npy gives the error
    const auto major = static_cast<unsigned char>(bytes[6]);
    std::size_t header_len = 0, offset = 0;
    if (major == 1) {
        header_len = static_cast<std::size_t>(static_cast<unsigned char>(bytes[8])) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
        offset = 10;
    } else if ((major == 2 || major == 3) && bytes.size() >= 12) {
        for (int k = 3; k >= 0; --k) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + static_cast<std::size_t>(k)]);
        offset = 12;
    } else {
        return std::nullopt;
    }
    if (bytes.size() - offset < header_len) return std::nullopt;
    const auto fields = npy_header_parser(bytes.substr(offset, header_len), what).parse();
    if (fields.descr != "|u1" && fields.descr != "<u1" && fields.descr != ">u1" && fields.descr != "=u1") return std::nullopt;
    if (fields.fortran_order) throw io_error(what + ": the array is stored in Fortran order; save a C-ordered array (numpy.ascontiguousarray(x))");
    const auto count = checked_count(fields.shape);
    if (!count) throw io_error(what + ": shape " + ir::to_string(fields.shape) + " is too large");
    const std::size_t have = bytes.size() - offset - header_len;
    const auto need = static_cast<std::size_t>(*count);
    if (have != need)
        throw io_error(what + (have < need ? ": truncated .npy file (shape " : ": unexpected bytes after the data (shape ") + ir::to_string(fields.shape) + " needs " +
                       std::to_string(need) + " bytes of data, the file has " + std::to_string(have) + ")");
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data() + offset + header_len);
    return std::pair{fields.shape, std::vector<std::uint8_t>(p, p + need)};
}

} // namespace detail

/// A .npy images file: float32 or uint8, [N, C, H, W] or [N, H, W] (read as [N, 1, H, W]).
[[nodiscard]] inline raw_images read_npy_images(const std::filesystem::path& path) {
    const std::string what = quoted(path);
    const std::string bytes = read_file(path);
    raw_images r;
    if (auto u8 = detail::parse_npy_u8(bytes, what)) {
        r.shape = std::move(u8->first);
        r.u8 = std::move(u8->second);
    } else {
        ir::Tensor t = parse_npy(bytes, what);
        if (t.dtype != ir::DType::f32) throw io_error(what + ": images must be float32 or uint8, this array is " + std::string(ir::to_string(t.dtype)));
        r.shape = std::move(t.shape);
        r.f = std::move(t.f);
    }
    if (r.shape.size() == 3) r.shape.insert(r.shape.begin() + 1, 1);
    if (r.shape.size() != 4) throw io_error(what + ": images must be [N, C, H, W] or [N, H, W], this array is " + ir::to_string(r.shape));
    return r;
}

/// A .npy labels file: int64 or uint8, shape [N].
[[nodiscard]] inline std::vector<std::int64_t> read_npy_labels(const std::filesystem::path& path) {
    const std::string what = quoted(path);
    const std::string bytes = read_file(path);
    ir::Shape shape;
    std::vector<std::int64_t> labels;
    if (auto u8 = detail::parse_npy_u8(bytes, what)) {
        shape = std::move(u8->first);
        labels.assign(u8->second.begin(), u8->second.end());
    } else {
        ir::Tensor t = parse_npy(bytes, what);
        if (t.dtype != ir::DType::i64) throw io_error(what + ": labels must be int64 or uint8, this array is " + std::string(ir::to_string(t.dtype)));
        shape = std::move(t.shape);
        labels = std::move(t.i);
    }
    if (shape.size() != 1) throw io_error(what + ": labels must be a 1-D array [N], this one is " + ir::to_string(shape));
    return labels;
}

// ---- the dataset ----------------------------------------------------------------------------

/// Samples in memory with optional labels and a preprocessing; `batch` produces network inputs.
class dataset {
public:
    /// Checks that `images` is a consistent [N, C, H, W] array, that `labels` is empty or has N entries
    /// (each >= 0), and that `prep` applies to it; throws `io_error` naming `name` otherwise.
    dataset(raw_images images, std::vector<std::int64_t> labels, preprocess prep, std::string name)
        : raw_(std::move(images)), labels_(std::move(labels)), prep_(std::move(prep)), name_(std::move(name)) {
        const auto fail = [&](const std::string& msg) { throw io_error(name_ + ": " + msg); };
        const ir::Shape& s = raw_.shape;
        if (s.size() != 4) fail("images must be [N, C, H, W], got " + ir::to_string(s));
        const auto count = detail::checked_count(s);
        if (!count) fail("images of shape " + ir::to_string(s) + " are too large");
        if (!raw_.u8.empty() && !raw_.f.empty()) fail("images hold both uint8 and float32 data");
        const std::size_t have = raw_.u8.empty() ? raw_.f.size() : raw_.u8.size();
        if (have != static_cast<std::size_t>(*count)) fail(std::to_string(have) + " values do not fill the shape " + ir::to_string(s));
        if (*count > 0 && (s[1] < 1 || s[2] < 1 || s[3] < 1)) fail("images of shape " + ir::to_string(s) + " are empty");
        if (!labels_.empty() && static_cast<std::int64_t>(labels_.size()) != s[0])
            fail(std::to_string(labels_.size()) + " labels for " + std::to_string(s[0]) + " images");
        for (std::size_t k = 0; k < labels_.size(); ++k)
            if (labels_[k] < 0) fail("label " + std::to_string(k) + " is negative (" + std::to_string(labels_[k]) + ")");
        if (!std::isfinite(prep_.scale) || prep_.scale < 0.0f) fail("scale must be a positive number");
        if (prep_.scale == 0.0f) prep_.scale = raw_.is_u8() ? 255.0f : 1.0f;
        if ((prep_.resize_h > 0) != (prep_.resize_w > 0) || prep_.resize_h < 0 || prep_.resize_w < 0) fail("resize needs both a height and a width");
        if ((prep_.pad_h > 0) != (prep_.pad_w > 0) || prep_.pad_h < 0 || prep_.pad_w < 0) fail("pad needs both a height and a width");
        std::int64_t h = s[2], w = s[3];
        if (prep_.resize_h > 0) {
            h = prep_.resize_h;
            w = prep_.resize_w;
        }
        if (prep_.pad_h > 0) {
            if (prep_.pad_h < h || prep_.pad_w < w)
                fail("cannot pad " + detail::plane_size(h, w) + " images to the smaller " + detail::plane_size(prep_.pad_h, prep_.pad_w) + " (resize instead)");
            h = prep_.pad_h;
            w = prep_.pad_w;
        }
        std::int64_t c = s[1];
        if (prep_.channels > 0 && prep_.channels != c) {
            if (c != 1) fail("cannot make " + std::to_string(prep_.channels) + " channels from " + std::to_string(c) + " (only 1 channel is repeated)");
            c = prep_.channels;
        } else if (prep_.channels < 0) {
            fail("channels must be positive");
        }
        for (auto* v : {&prep_.mean, &prep_.stddev}) {
            if (v->size() > 1 && static_cast<std::int64_t>(v->size()) != c)
                fail(std::string(v == &prep_.mean ? "mean" : "std") + " has " + std::to_string(v->size()) + " values for " + std::to_string(c) + " channels");
            for (float x : *v)
                if (!std::isfinite(x) || (v == &prep_.stddev && x == 0.0f)) fail(std::string(v == &prep_.mean ? "mean" : "std") + " values must be finite and std non-zero");
        }
        sample_ = {c, h, w};
        if (!detail::checked_count({s[0], c, h, w})) fail("preprocessed images " + ir::to_string(sample_) + " are too large");
    }

    /// Number of samples.
    [[nodiscard]] std::int64_t size() const noexcept { return raw_.shape[0]; }
    /// Shape of one preprocessed sample, [C, H, W].
    [[nodiscard]] const ir::Shape& sample_shape() const noexcept { return sample_; }
    /// The preprocessing, with `scale` resolved (never 0).
    [[nodiscard]] const preprocess& preprocessing() const noexcept { return prep_; }
    [[nodiscard]] const raw_images& raw() const noexcept { return raw_; }
    /// What error messages call this dataset (its file, quoted).
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] bool has_labels() const noexcept { return !labels_.empty(); }
    /// One class index per sample; empty when the dataset has no labels.
    [[nodiscard]] const std::vector<std::int64_t>& labels() const noexcept { return labels_; }

    /// Samples [first, first + count) preprocessed, float32 [n, C, H, W] with n = min(count, size() - first)
    /// (the last batch may be short). Throws `io_error` when `first` is outside [0, size()] or count < 0.
    [[nodiscard]] ir::Tensor batch(std::int64_t first, std::int64_t count) const {
        const std::int64_t n = checked_range(first, count);
        const std::int64_t c = sample_[0], h = sample_[1], w = sample_[2];
        const std::int64_t c0 = raw_.shape[1], h0 = raw_.shape[2], w0 = raw_.shape[3];
        const std::int64_t rh = prep_.resize_h > 0 ? prep_.resize_h : h0, rw = prep_.resize_w > 0 ? prep_.resize_w : w0;
        const std::int64_t top = (h - rh) / 2, left = (w - rw) / 2;
        std::vector<detail::linear_tap> rows, cols;
        if (prep_.resize_h > 0) {
            rows = detail::linear_taps(h0, rh);
            cols = detail::linear_taps(w0, rw);
        }
        ir::Tensor out = ir::Tensor::zeros({n, c, h, w});
        std::vector<float> plane(static_cast<std::size_t>(h0 * w0)), resized(static_cast<std::size_t>(rh * rw));
        for (std::int64_t s = 0; s < n; ++s) {
            for (std::int64_t ch = 0; ch < c0; ++ch) {
                const std::int64_t base = ((first + s) * c0 + ch) * h0 * w0;
                for (std::int64_t k = 0; k < h0 * w0; ++k) {
                    const auto idx = static_cast<std::size_t>(base + k);
                    plane[static_cast<std::size_t>(k)] = (raw_.u8.empty() ? raw_.f[idx] : static_cast<float>(raw_.u8[idx])) / prep_.scale;
                }
                const std::vector<float>* src = &plane;
                if (prep_.resize_h > 0) {
                    detail::resize_plane(plane.data(), w0, resized.data(), rh, rw, rows, cols);
                    src = &resized;
                }
                float* dst = out.f.data() + (s * c + ch) * h * w;
                for (std::int64_t y = 0; y < rh; ++y)
                    std::copy_n(src->data() + y * rw, rw, dst + (y + top) * w + left);
            }
            float* sample = out.f.data() + s * c * h * w;
            for (std::int64_t ch = c0; ch < c; ++ch) std::copy_n(sample, h * w, sample + ch * h * w);
            if (!prep_.mean.empty() || !prep_.stddev.empty()) {
                for (std::int64_t ch = 0; ch < c; ++ch) {
                    const float m = pick(prep_.mean, ch, 0.0f), sd = pick(prep_.stddev, ch, 1.0f);
                    for (float* p = sample + ch * h * w, *e = p + h * w; p != e; ++p) *p = (*p - m) / sd;
                }
            }
        }
        return out;
    }

    /// Labels of samples [first, first + count), int64 [n] (n as in `batch`). Throws `io_error` when
    /// the dataset has no labels.
    [[nodiscard]] ir::Tensor batch_labels(std::int64_t first, std::int64_t count) const {
        const std::int64_t n = checked_range(first, count);
        if (labels_.empty() && n > 0) throw io_error(name_ + ": the dataset has no labels");
        const auto b = labels_.begin() + static_cast<std::ptrdiff_t>(first);
        return ir::Tensor::ints({n}, std::vector<std::int64_t>(b, b + static_cast<std::ptrdiff_t>(n)));
    }

    /// The first `n` samples only (all when n >= size()).
    [[nodiscard]] dataset first(std::int64_t n) const {
        if (n < 0) throw io_error(name_ + ": cannot keep a negative number of samples");
        if (n >= size()) return *this;
        raw_images r;
        const std::int64_t per = raw_.shape[1] * raw_.shape[2] * raw_.shape[3];
        r.shape = {n, raw_.shape[1], raw_.shape[2], raw_.shape[3]};
        if (raw_.u8.empty()) r.f.assign(raw_.f.begin(), raw_.f.begin() + static_cast<std::ptrdiff_t>(n * per));
        else r.u8.assign(raw_.u8.begin(), raw_.u8.begin() + static_cast<std::ptrdiff_t>(n * per));
        std::vector<std::int64_t> l;
        if (!labels_.empty()) l.assign(labels_.begin(), labels_.begin() + static_cast<std::ptrdiff_t>(n));
        return dataset(std::move(r), std::move(l), prep_, name_);
    }

private:
    static float pick(const std::vector<float>& v, std::int64_t ch, float fallback) {
        if (v.empty()) return fallback;
        return v.size() == 1 ? v[0] : v[static_cast<std::size_t>(ch)];
    }
    std::int64_t checked_range(std::int64_t first, std::int64_t count) const {
        if (first < 0 || first > size() || count < 0)
            throw io_error(name_ + ": batch(" + std::to_string(first) + ", " + std::to_string(count) + ") is outside the " + std::to_string(size()) + " samples");
        return std::min(count, size() - first);
    }

    raw_images raw_;
    std::vector<std::int64_t> labels_;
    preprocess prep_;
    std::string name_;
    ir::Shape sample_;
};

/// Number of rows of `logits` [n, K] whose largest entry (the first on ties) is at index
/// `labels[first + row]`: top-1 hits of a batch.
[[nodiscard]] inline std::int64_t top1_hits(const ir::Tensor& logits, const std::vector<std::int64_t>& labels, std::int64_t first) {
    if (logits.dtype != ir::DType::f32 || logits.shape.size() != 2 || static_cast<std::int64_t>(logits.f.size()) != logits.size())
        throw error("io::top1_hits: expected float32 logits [n, K], got " + ir::to_string(logits.shape));
    const std::int64_t n = logits.shape[0], k = logits.shape[1];
    if (first < 0 || first + n > static_cast<std::int64_t>(labels.size()))
        throw error("io::top1_hits: rows " + std::to_string(first) + ".." + std::to_string(first + n) + " are outside the " + std::to_string(labels.size()) + " labels");
    std::int64_t hits = 0;
    for (std::int64_t r = 0; r < n; ++r) {
        const float* row = logits.f.data() + r * k;
        if (std::max_element(row, row + k) - row == labels[static_cast<std::size_t>(first + r)]) ++hits;
    }
    return hits;
}

/// Opens unsigned-byte IDX images [N, H, W] with optional IDX labels [N] (empty path: none).
[[nodiscard]] inline dataset open_idx(const std::filesystem::path& images, const std::filesystem::path& labels, preprocess prep, const codecs& c = {}) {
    raw_images r = read_idx_images(images, c);
    std::vector<std::int64_t> l;
    if (!labels.empty()) {
        l = read_idx_labels(labels, c);
        if (static_cast<std::int64_t>(l.size()) != r.shape[0])
            throw io_error(quoted(labels) + ": " + std::to_string(l.size()) + " labels for the " + std::to_string(r.shape[0]) + " images of " + quoted(images));
    }
    return dataset(std::move(r), std::move(l), std::move(prep), quoted(images));
}

/// Opens a .npy images array (float32 or uint8, [N, C, H, W] or [N, H, W]) with optional .npy labels.
[[nodiscard]] inline dataset open_npy(const std::filesystem::path& images, const std::filesystem::path& labels, preprocess prep) {
    raw_images r = read_npy_images(images);
    std::vector<std::int64_t> l;
    if (!labels.empty()) {
        l = read_npy_labels(labels);
        if (static_cast<std::int64_t>(l.size()) != r.shape[0])
            throw io_error(quoted(labels) + ": " + std::to_string(l.size()) + " labels for the " + std::to_string(r.shape[0]) + " images of " + quoted(images));
    }
    return dataset(std::move(r), std::move(l), std::move(prep), quoted(images));
}

namespace detail {

inline bool is_image_file(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".pnm", ".tga", ".gif", ".psd", ".hdr"})
        if (ext == e) return true;
    return false;
}

/// Image files under `dir` in torchvision's ImageFolder order: directories in sorted order of their
/// path, files sorted by name within each.
inline std::vector<std::filesystem::path> image_files(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    std::map<std::string, std::vector<std::string>> by_dir;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec) && is_image_file(it->path())) by_dir[it->path().parent_path().string()].push_back(it->path().filename().string());
    if (ec) throw io_error(quoted(dir) + ": cannot list the folder: " + ec.message());
    std::vector<fs::path> out;
    for (auto& [d, names] : by_dir) {
        std::sort(names.begin(), names.end());
        for (const auto& n : names) out.push_back(fs::path(d) / n);
    }
    return out;
}

} // namespace detail

/// Opens a folder of images: DIR/CLASS/**/IMAGE (labels = index of CLASS among the sorted class
/// folders, like torchvision's ImageFolder) or, when DIR has no sub-folders, DIR/IMAGE without labels.
/// Every image must have the size and channel count of the first. Needs `c.decode_image`.
[[nodiscard]] inline dataset open_image_folder(const std::filesystem::path& dir, preprocess prep, const codecs& c) {
    namespace fs = std::filesystem;
    const std::string what = quoted(dir);
    if (!c.decode_image)
        throw io_error(what + ": reading images needs a decoder: pass surgery::io::decode_image from <surgery/io/image.hpp> (stb_image) in io::codecs");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw io_error(what + ": not a folder");
    std::vector<std::string> classes;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec)) classes.push_back(it->path().filename().string());
    std::sort(classes.begin(), classes.end());
    std::vector<std::pair<fs::path, std::int64_t>> files;
    if (classes.empty()) {
        for (auto& p : detail::image_files(dir)) files.emplace_back(std::move(p), -1);
    } else {
        for (std::size_t k = 0; k < classes.size(); ++k)
            for (auto& p : detail::image_files(dir / classes[k])) files.emplace_back(std::move(p), static_cast<std::int64_t>(k));
    }
    if (files.empty()) throw io_error(what + ": no image files (.png, .jpg, .bmp, ...) found");
    raw_images all;
    std::vector<std::int64_t> labels;
    std::string first_name;
    for (const auto& [path, label] : files) {
        const std::string name = quoted(path);
        raw_images one = c.decode_image(read_file(path), name);
        if (one.shape.size() != 4 || one.shape[0] != 1 || one.u8.size() != static_cast<std::size_t>(ir::numel(one.shape)))
            throw io_error(name + ": the image decoder returned " + ir::to_string(one.shape) + ", not [1, C, H, W] uint8");
        if (all.shape.empty()) {
            all.shape = one.shape;
            all.shape[0] = 0;
            first_name = name;
        } else if (!std::equal(one.shape.begin() + 1, one.shape.end(), all.shape.begin() + 1)) {
            throw io_error(name + ": is " + ir::to_string({one.shape[1], one.shape[2], one.shape[3]}) + " (CxHxW) but the first image " + first_name + " is " +
                           ir::to_string({all.shape[1], all.shape[2], all.shape[3]}) + "; every image must have the same size");
        }
        all.u8.insert(all.u8.end(), one.u8.begin(), one.u8.end());
        ++all.shape[0];
        if (label >= 0) labels.push_back(label);
    }
    return dataset(std::move(all), std::move(labels), std::move(prep), what);
}

// ---- spec strings ---------------------------------------------------------------------------

/// Debian's dataset-fashion-mnist folder.
inline const std::filesystem::path fashion_mnist_dir{"/usr/share/datasets/fashion-mnist"};

/// A parsed dataset spec (see the top of this header for the grammar).
struct dataset_spec {
    std::string kind;                ///< "fmnist", "idx", "npy" or "images"
    std::filesystem::path path;      ///< images file or folder
    std::filesystem::path labels;    ///< labels file; empty: the default of the kind
    std::string split = "test";      ///< fmnist: "test" or "train"
    std::int64_t limit = -1;         ///< keep the first `limit` samples; -1: all
    preprocess prep;
};

namespace detail {

[[noreturn]] inline void spec_fail(std::string_view spec, const std::string& msg) {
    throw io_error("dataset spec '" + std::string(spec) + "': " + msg);
}

inline std::optional<std::int64_t> parse_int(std::string_view v) {
    std::int64_t x = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size()) return std::nullopt;
    return x;
}

inline std::int64_t spec_int(std::string_view spec, std::string_view key, std::string_view v, std::int64_t lo) {
    const auto x = parse_int(v);
    if (!x || *x < lo) spec_fail(spec, std::string(key) + "=" + std::string(v) + ": expected an integer >= " + std::to_string(lo));
    return *x;
}

inline float spec_float(std::string_view spec, std::string_view key, std::string_view v) {
    double x = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size() || !std::isfinite(x) || std::abs(x) > std::numeric_limits<float>::max())
        spec_fail(spec, std::string(key) + "=" + std::string(v) + ": expected a number");
    return static_cast<float>(x);
}

inline std::pair<std::int64_t, std::int64_t> spec_size(std::string_view spec, std::string_view key, std::string_view v) {
    const auto x = v.find('x');
    const auto h = parse_int(v.substr(0, x));
    const auto w = x == std::string_view::npos ? h : parse_int(v.substr(x + 1));
    constexpr std::int64_t max = std::int64_t{1} << 20;
    if (!h || !w || *h < 1 || *w < 1 || *h > max || *w > max)
        spec_fail(spec, std::string(key) + "=" + std::string(v) + ": expected a size H or HxW (1 to 2^20)");
    return {*h, *w};
}

inline std::vector<float> spec_floats(std::string_view spec, std::string_view key, std::string_view v) {
    std::vector<float> out;
    for (std::size_t start = 0;;) {
        const auto comma = v.find(',', start);
        out.push_back(spec_float(spec, key, v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
        if (comma == std::string_view::npos) return out;
        start = comma + 1;
    }
}

inline std::filesystem::path fmnist_file(const std::filesystem::path& dir, const std::string& stem) {
    std::error_code ec;
    for (const std::string& name : {stem, stem + ".gz"})
        if (std::filesystem::is_regular_file(dir / name, ec)) return dir / name;
    throw io_error(quoted(dir / stem) + ": not found (nor with .gz); Fashion-MNIST is Debian's package dataset-fashion-mnist (scripts/deps.sh data)");
}

} // namespace detail

/// Parses a dataset spec. Throws `io_error` quoting the spec for an unknown kind or option, a bad
/// value, or an option that does not apply to the kind.
[[nodiscard]] inline dataset_spec parse_dataset_spec(std::string_view spec) {
    dataset_spec s;
    std::string_view rest = spec;
    const auto colon = rest.find(':');
    const auto question = rest.find('?');
    if (colon != std::string_view::npos && (question == std::string_view::npos || colon < question)) {
        const std::string_view kind = rest.substr(0, colon);
        if (kind == "fmnist" || kind == "idx" || kind == "npy" || kind == "images") {
            s.kind = std::string(kind);
            rest.remove_prefix(colon + 1);
        }
    }
    const auto q = rest.find('?');
    s.path = std::string(rest.substr(0, q));
    std::string_view options = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
    bool has_split = false;
    while (!options.empty()) {
        const auto amp = options.find('&');
        const std::string_view item = options.substr(0, amp);
        options = amp == std::string_view::npos ? std::string_view{} : options.substr(amp + 1);
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) detail::spec_fail(spec, "option '" + std::string(item) + "' has no '=' (options are key=value)");
        const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
        if (key == "labels") {
            if (value.empty()) detail::spec_fail(spec, "labels= needs a file");
            s.labels = std::string(value);
        } else if (key == "split") {
            if (value != "test" && value != "train") detail::spec_fail(spec, "split=" + std::string(value) + ": expected test or train");
            s.split = std::string(value);
            has_split = true;
        } else if (key == "limit") {
            s.limit = detail::spec_int(spec, key, value, 0);
        } else if (key == "scale") {
            s.prep.scale = detail::spec_float(spec, key, value);
            if (!(s.prep.scale > 0.0f)) detail::spec_fail(spec, "scale must be positive");
        } else if (key == "size") {
            std::tie(s.prep.resize_h, s.prep.resize_w) = detail::spec_size(spec, key, value);
        } else if (key == "pad") {
            std::tie(s.prep.pad_h, s.prep.pad_w) = detail::spec_size(spec, key, value);
        } else if (key == "channels") {
            s.prep.channels = detail::spec_int(spec, key, value, 1);
        } else if (key == "mean") {
            s.prep.mean = detail::spec_floats(spec, key, value);
        } else if (key == "std") {
            s.prep.stddev = detail::spec_floats(spec, key, value);
            for (float x : s.prep.stddev)
                if (x == 0.0f) detail::spec_fail(spec, "std must not be 0");
        } else {
            detail::spec_fail(spec, "unknown option '" + std::string(key) + "' (options: labels, split, limit, scale, size, pad, channels, mean, std)");
        }
    }
    if (s.kind.empty()) {
        std::error_code ec;
        if (s.path.empty()) detail::spec_fail(spec, "no path (kinds: fmnist:, idx:, npy:, images:)");
        if (s.path.extension() == ".npy") s.kind = "npy";
        else if (std::filesystem::is_directory(s.path, ec))
            s.kind = std::filesystem::exists(s.path / "t10k-images-idx3-ubyte", ec) || std::filesystem::exists(s.path / "t10k-images-idx3-ubyte.gz", ec) ? "fmnist" : "images";
        else s.kind = "idx";
    }
    if (s.kind == "fmnist" && s.path.empty()) s.path = fashion_mnist_dir;
    if (s.path.empty()) detail::spec_fail(spec, "no path after '" + s.kind + ":'");
    if (has_split && s.kind != "fmnist") detail::spec_fail(spec, "split= applies to fmnist: only");
    if (!s.labels.empty() && (s.kind == "fmnist" || s.kind == "images")) detail::spec_fail(spec, "labels= does not apply to " + s.kind + ": (labels come with the data)");
    return s;
}

/// Opens the dataset a spec describes (see `parse_dataset_spec`).
[[nodiscard]] inline dataset open_dataset(const dataset_spec& s, const codecs& c = {}) {
    namespace fs = std::filesystem;
    auto limited = [&](dataset d) { return s.limit >= 0 ? d.first(s.limit) : d; };
    if (s.kind == "fmnist") {
        const std::string prefix = s.split == "train" ? "train" : "t10k";
        const fs::path images = detail::fmnist_file(s.path, prefix + "-images-idx3-ubyte");
        const fs::path labels = detail::fmnist_file(s.path, prefix + "-labels-idx1-ubyte");
        return limited(open_idx(images, labels, s.prep, c));
    }
    if (s.kind == "idx") {
        fs::path labels = s.labels;
        if (labels.empty()) {
            std::string name = s.path.filename().string();
            const auto at = name.find("images-idx3");
            std::error_code ec;
            if (at != std::string::npos) {
                name.replace(at, 11, "labels-idx1");
                if (fs::is_regular_file(s.path.parent_path() / name, ec)) labels = s.path.parent_path() / name;
            }
        }
        return limited(open_idx(s.path, labels, s.prep, c));
    }
    if (s.kind == "npy") return limited(open_npy(s.path, s.labels, s.prep));
    if (s.kind == "images") return limited(open_image_folder(s.path, s.prep, c));
    throw io_error("dataset spec: unknown kind '" + s.kind + "' (kinds: fmnist, idx, npy, images)");
}

/// Opens the dataset a spec string describes, e.g.
/// `fmnist:/usr/share/datasets/fashion-mnist?split=test&pad=32&channels=3&mean=0.2860&std=0.3530`.
[[nodiscard]] inline dataset open_dataset(std::string_view spec, const codecs& c = {}) { return open_dataset(parse_dataset_spec(spec), c); }

} // namespace surgery::io
