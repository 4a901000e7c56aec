// Opt-in image decoding (PNG, JPEG, BMP, GIF, TGA, PNM, ...) with stb_image, for datasets stored as
// image folders (io::open_image_folder, spec "images:DIR").
//
// Not part of the core's dependencies. With Debian's libstb-dev the header is <stb/stb_image.h> and the
// implementation is in libstb (pkg-config stb; CMake: find_library(STB_LIBRARY stb) and link it).
// With a vendored stb_image.h instead, define STB_IMAGE_IMPLEMENTATION in exactly one translation unit
// before including this header. Then:
//
//   auto data = surgery::io::open_dataset("images:DIR?size=32&mean=0.5&std=0.5", {.decode_image = surgery::io::decode_image});
//
// 8 bits per channel (16-bit PNGs are reduced to 8 bits, as stb does). Grey images keep 1 channel
// (the `channels=3` option repeats it, like PIL's convert("RGB")), an alpha channel is dropped (grey +
// alpha -> grey, RGBA -> RGB, no compositing). JPEG decoders differ slightly from each other (stb's
// IDCT is not libjpeg's), so accuracy on JPEGs may differ from PyTorch's by a few images; PNG is exact.
// Without an stb_image.h the header still compiles, and any use of `decode_image` is a compile error.
#pragma once

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>

#include "surgery/error.hpp"
#include "surgery/io/dataset.hpp"

#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#define SURGERY_HAS_STB_IMAGE 1
#elif __has_include(<stb_image.h>)
#include <stb_image.h>
#define SURGERY_HAS_STB_IMAGE 1
#else
#define SURGERY_HAS_STB_IMAGE 0
#endif

namespace surgery::io {

namespace detail {
template <class>
inline constexpr bool stb_dependent_false = false;
} // namespace detail

/// Decodes one encoded image into raw images [1, C, H, W] uint8 (C = 1 grey or 3 colour), planar.
/// Throws `io_error` naming `what` when stb_image cannot decode it.
struct decode_image_fn {
#if SURGERY_HAS_STB_IMAGE
    [[nodiscard]] raw_images operator()(std::string_view bytes, const std::string& what = "image data") const {
        if (bytes.empty() || bytes.size() > static_cast<std::size_t>(INT_MAX)) throw io_error(what + ": empty or too large for the image decoder");
        int w = 0, h = 0, comp = 0;
        stbi_uc* pixels = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w, &h, &comp, 0);
        if (!pixels) {
            const char* reason = stbi_failure_reason();
            throw io_error(what + ": cannot decode the image (stb_image: " + std::string(reason ? reason : "unknown error") + ")");
        }
        struct guard {
            stbi_uc* p;
            ~guard() { stbi_image_free(p); }
        } g{pixels};
        const int c = comp >= 3 ? 3 : 1; // drop alpha
        raw_images r;
        r.shape = {1, c, h, w};
        const auto plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
        r.u8.resize(plane * static_cast<std::size_t>(c));
        for (std::size_t k = 0; k < plane; ++k)
            for (int ch = 0; ch < c; ++ch)
                r.u8[static_cast<std::size_t>(ch) * plane + k] = pixels[k * static_cast<std::size_t>(comp) + static_cast<std::size_t>(ch)];
        return r;
    }
#else
    template <class Bytes>
    raw_images operator()(const Bytes&, const std::string& = "image data") const {
        static_assert(detail::stb_dependent_false<Bytes>,
                      "surgery::io::decode_image: stb_image.h was not found; install stb (Debian: libstb-dev) and link libstb");
        return {};
    }
#endif
};

/// The image decoder, a function object usable as `io::codecs::decode_image`.
inline constexpr decode_image_fn decode_image{};

} // namespace surgery::io
