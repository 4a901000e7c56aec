// Whole-file reads and atomic writes (temporary file + rename) with io_error messages naming the file.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

#include "surgery/error.hpp"

namespace surgery::io {

/// `'path'`, the way error messages name a file. (Built by appending: g++ 12 warns with -Wrestrict
/// on `"'" + std::string`.)
[[nodiscard]] inline std::string quoted(const std::filesystem::path& path) {
    std::string out(1, '\'');
    out += path.string();
    out.push_back('\'');
    return out;
}

/// The whole content of `path`. Throws `io_error` naming the file when it cannot be read.
[[nodiscard]] inline std::string read_file(const std::filesystem::path& path) {
    const std::string what = quoted(path);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw io_error(what + ": is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(what + ": cannot open the file for reading");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw io_error(what + ": read error");
    return bytes;
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, renamed over `path`.
/// On failure nothing is left behind and an existing `path` is untouched.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    namespace fs = std::filesystem;
    const std::string what = quoted(path);
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw io_error(what + ": the directory '" + dir.string() + "' does not exist");
    std::random_device rd;
    std::FILE* f = nullptr;
    fs::path tmp;
    for (int attempt = 0; attempt < 16 && !f; ++attempt) {
        std::string name(1, '.');
        name.append(path.filename().string()).append(".tmp-").append(std::to_string(rd()));
        tmp = dir / name;
        f = std::fopen(tmp.string().c_str(), "wbx");
    }
    if (!f) throw io_error(what + ": cannot create a temporary file in '" + dir.string() + "'");
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0;
    const bool closed = std::fclose(f) == 0;
    if (!written || !closed) {
        fs::remove(tmp, ec);
        throw io_error(what + ": writing failed (disk full?)");
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw io_error(what + ": cannot replace the file: " + ec.message());
    }
}

} // namespace surgery::io
