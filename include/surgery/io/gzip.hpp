// Opt-in gzip decompression with zlib, for gzipped datasets (Debian ships Fashion-MNIST as .gz files).
//
// Not part of the core's dependencies: include this header and link zlib (CMake: find_package(ZLIB),
// target_link_libraries(... ZLIB::ZLIB); Debian: zlib1g-dev), then pass the decoder to the readers:
//
//   auto data = surgery::io::open_dataset(spec, {.gunzip = surgery::io::gunzip});
//
// Without zlib.h the header still compiles, and any use of `gunzip` is a compile error saying so.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "surgery/error.hpp"

#if __has_include(<zlib.h>)
#include <zlib.h>
#define SURGERY_HAS_ZLIB 1
#else
#define SURGERY_HAS_ZLIB 0
#endif

namespace surgery::io {

namespace detail {

template <class>
inline constexpr bool zlib_dependent_false = false;

/// Upper bound of a decompressed file: larger output is treated as damaged data (a "zip bomb").
inline constexpr std::uint64_t gunzip_max_bytes = std::uint64_t{1} << 34;

} // namespace detail

/// Decompresses gzip data (one or more concatenated members, as `gunzip` does) with zlib.
/// Throws `io_error` naming `what` for data that is not gzip, corrupt or truncated.
struct gunzip_fn {
#if SURGERY_HAS_ZLIB
    [[nodiscard]] std::string operator()(std::string_view bytes, const std::string& what = "gzip data") const {
        std::string out;
        z_stream zs{};
        if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw io_error(what + ": zlib could not be initialised");
        struct guard {
            z_stream& z;
            ~guard() { inflateEnd(&z); }
        } g{zs};
        const auto* next = reinterpret_cast<const unsigned char*>(bytes.data());
        std::size_t left = bytes.size();
        char buf[1 << 16];
        int rc = Z_OK;
        while (true) {
            if (zs.avail_in == 0 && left > 0) {
                const std::size_t chunk = left < (1u << 30) ? left : (1u << 30);
                zs.next_in = const_cast<unsigned char*>(next); // zlib's API is not const-correct; it does not write
                zs.avail_in = static_cast<uInt>(chunk);
                next += chunk;
                left -= chunk;
            }
            zs.next_out = reinterpret_cast<unsigned char*>(buf);
            zs.avail_out = sizeof buf;
            rc = inflate(&zs, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
                throw io_error(what + ": not valid gzip data (zlib: " + std::string(zs.msg ? zs.msg : "error " + std::to_string(rc)) + ")");
            out.append(buf, sizeof buf - zs.avail_out);
            if (out.size() > detail::gunzip_max_bytes) throw io_error(what + ": decompresses to more than 16 GiB; refusing it as damaged");
            if (rc == Z_STREAM_END) {
                if (zs.avail_in == 0 && left == 0) break;
                if (inflateReset(&zs) != Z_OK) throw io_error(what + ": zlib could not start the next gzip member");
                continue;
            }
            if (rc == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) throw io_error(what + ": truncated gzip data");
        }
        return out;
    }
#else
    template <class Bytes>
    std::string operator()(const Bytes&, const std::string& = "gzip data") const {
        static_assert(detail::zlib_dependent_false<Bytes>,
                      "surgery::io::gunzip: zlib.h was not found; install zlib (Debian: zlib1g-dev) and link ZLIB::ZLIB");
        return {};
    }
#endif
};

/// The gzip decoder, a function object usable as `io::codecs::gunzip`.
inline constexpr gunzip_fn gunzip{};

} // namespace surgery::io
