// Datasets on the command line (`--calibrate`, `--evaluate`, `run --dataset`): a spec string opened
// with the decoders this build has (zlib for gzipped IDX files, stb_image for image folders), and its
// memory charged to the budget before the images are read.
#pragma once

#include <cstdint>
#include <string>

#include "cli/limits.hpp"
#include "surgery/io/dataset.hpp"

#if defined(SURGERY_WITH_ZLIB)
#include "surgery/io/gzip.hpp"
#endif
#if defined(SURGERY_WITH_STB)
#include "surgery/io/image.hpp"
#endif

namespace surgery::cli {

/// The decoders linked into this build of the tool.
[[nodiscard]] inline io::codecs tool_codecs() {
    io::codecs c;
#if defined(SURGERY_WITH_ZLIB)
    c.gunzip = [](std::string_view bytes, const std::string& what) { return io::gunzip(bytes, what); };
#endif
#if defined(SURGERY_WITH_STB)
    c.decode_image = [](std::string_view bytes, const std::string& what) { return io::decode_image(bytes, what); };
#endif
    return c;
}

/// Opens the dataset of `spec` (see surgery/io/dataset.hpp) for option `option`, keeping its first
/// `count` samples (0: all). The raw images and one preprocessed copy of the samples kept are
/// charged to `budget` first (the raw file is read whole); errors name the option and the spec.
/// With `need_labels` (top-1 measurements), a dataset without labels is an error.
[[nodiscard]] inline io::dataset open_cli_dataset(const std::string& spec, const std::string& option, std::int64_t count, memory_budget& budget,
                                                  bool need_labels = false) {
    io::dataset_spec s;
    try {
        s = io::parse_dataset_spec(spec);
    } catch (const surgery::error& e) {
        throw usage_error("--" + option + ": " + e.what());
    }
    if (count > 0 && (s.limit < 0 || s.limit > count)) s.limit = count; // read no more than needed
    io::dataset d = io::open_dataset(s, tool_codecs());
    if (count > 0 && count < d.size()) d = d.first(count);
    // What the dataset holds, and its samples preprocessed once (calibration keeps them in memory).
    std::uint64_t raw = d.raw().is_u8() ? d.raw().u8.size() : 4 * d.raw().f.size();
    std::uint64_t per = 4;
    for (auto x : d.sample_shape()) per *= static_cast<std::uint64_t>(x);
    budget.charge(raw + per * static_cast<std::uint64_t>(d.size()), "--" + option + " " + d.name() + " (" + std::to_string(d.size()) + " samples)");
    if (need_labels && !d.has_labels()) throw io_error("--" + option + " " + d.name() + ": the dataset has no labels (top-1 needs them)");
    return d;
}

} // namespace surgery::cli
