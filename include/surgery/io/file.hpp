// Files from untrusted places: reads of regular files only (size checked before reading), file
// identities, text made safe to print, and atomic writes (temporary file + rename); io_error messages name the file.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "surgery/error.hpp"

namespace surgery::io {

namespace detail {

/// Length of the UTF-8 sequence starting at `s[i]` when it is well formed (1 to 4; `cp` receives the
/// code point), 0 when it is not (a stray continuation byte, an overlong form, a surrogate, beyond
/// U+10FFFF), -1 when it is a valid beginning cut off by the end of `s`.
[[nodiscard]] inline int utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    int len = 0;
    unsigned char lo = 0x80, hi = 0xbf; // allowed range of the second byte
    if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
    else if (b0 == 0xe0) len = 3, lo = 0xa0;
    else if (b0 >= 0xe1 && b0 <= 0xec) len = 3;
    else if (b0 == 0xed) len = 3, hi = 0x9f;
    else if (b0 >= 0xee && b0 <= 0xef) len = 3;
    else if (b0 == 0xf0) len = 4, lo = 0x90;
    else if (b0 >= 0xf1 && b0 <= 0xf3) len = 4;
    else if (b0 == 0xf4) len = 4, hi = 0x8f;
    else return 0;
    char32_t v = b0 & (len == 2 ? 0x1fu : len == 3 ? 0x0fu : 0x07u);
    for (int k = 1; k < len; ++k) {
        if (i + static_cast<std::size_t>(k) >= s.size()) return -1;
        const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return 0;
        v = (v << 6) | (b & 0x3fu);
    }
    cp = v;
    return len;
}

/// Code points that are valid but change how a terminal shows the text around them: C1 controls
/// (U+009B is a CSI on some terminals), bidirectional overrides and isolates ("Trojan Source"),
/// zero-width characters that hide text, line and paragraph separators.
[[nodiscard]] constexpr bool deceptive_code_point(char32_t c) noexcept {
    return (c >= 0x80 && c <= 0x9f) || c == 0x061c || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
           (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

inline void append_hex_escape(std::string& out, const char* prefix, unsigned v, int digits) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, v);
    out += buf;
}

/// How `escape` treats text: a name or a path (every control character and backslashes escaped),
/// running text (newlines and tabs kept, backslashes kept), one line of text (newlines and tabs
/// escaped too, backslashes kept: an error message that quotes names stays on one line).
enum class escape_mode : unsigned char { name, text, line };

/// Escapes `s` for display (see `escape_mode`).
[[nodiscard]] inline std::string escape(std::string_view s, escape_mode mode) {
    const bool name = mode == escape_mode::name;
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        const int n = utf8_sequence(s, i, cp);
        if (n <= 0) { // invalid or cut off: the byte itself
            append_hex_escape(out, "\\x", static_cast<unsigned char>(s[i]), 2);
            ++i;
            continue;
        }
        if (n == 1) {
            const char c = s[i];
            if (c == '\\' && name) out += "\\\\";
            else if ((c == '\n' || c == '\t') && mode == escape_mode::text) out.push_back(c);
            else if (c == '\n') out += "\\n";
            else if (c == '\t') out += "\\t";
            else if (c == '\r') out += "\\r";
            else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) append_hex_escape(out, "\\x", static_cast<unsigned char>(c), 2);
            else out.push_back(c);
        } else if (deceptive_code_point(cp)) {
            append_hex_escape(out, "\\u", static_cast<unsigned>(cp), 4);
        } else {
            out.append(s.substr(i, static_cast<std::size_t>(n)));
        }
        i += static_cast<std::size_t>(n);
    }
    return out;
}

} // namespace detail

/// `s` (a name from a model, a path) as it may be printed: control characters, terminal escape
/// sequences and NUL as `\x1b`, `\x00`; `\n`, `\t`, `\r`; a backslash as `\\`; bytes that are not
/// UTF-8 as `\xNN`; C1 controls, bidirectional overrides and zero-width characters as `\u202e`.
/// Printable UTF-8 is kept as it is.
[[nodiscard]] inline std::string printable(std::string_view s) { return detail::escape(s, detail::escape_mode::name); }

/// Running text (a message that may quote names) made safe for a terminal: like `printable` but
/// newlines and tabs are kept and backslashes are left alone.
[[nodiscard]] inline std::string terminal_safe(std::string_view s) { return detail::escape(s, detail::escape_mode::text); }

/// One line of text (an error message) made safe for a terminal: like `terminal_safe`, and newlines
/// and tabs are escaped too.
[[nodiscard]] inline std::string one_line(std::string_view s) { return detail::escape(s, detail::escape_mode::line); }

/// True when `s` is well-formed UTF-8.
[[nodiscard]] inline bool is_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        const int n = detail::utf8_sequence(s, i, cp);
        if (n <= 0) return false;
        i += static_cast<std::size_t>(n);
    }
    return true;
}

/// `'path'`, the way error messages name a file (escaped with `printable`). (Built by appending:
/// g++ 12 warns with -Wrestrict on `"'" + std::string`.)
[[nodiscard]] inline std::string quoted(const std::filesystem::path& path) {
    std::string out(1, '\'');
    out += printable(path.native());
    out.push_back('\'');
    return out;
}

/// 1536 -> "1.5 KiB"; 3221225472 -> "3 GiB"; 1073741823 -> "1024 MiB" (four significant digits).
[[nodiscard]] inline std::string format_bytes(std::uint64_t v) {
    char buf[48];
    const auto d = static_cast<double>(v);
    if (v >= (std::uint64_t{1} << 40)) std::snprintf(buf, sizeof buf, "%.4g TiB", d / static_cast<double>(std::uint64_t{1} << 40));
    else if (v >= (std::uint64_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.4g GiB", d / static_cast<double>(std::uint64_t{1} << 30));
    else if (v >= (std::uint64_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.4g MiB", d / static_cast<double>(std::uint64_t{1} << 20));
    else if (v >= (std::uint64_t{1} << 10)) std::snprintf(buf, sizeof buf, "%.4g KiB", d / 1024.0);
    else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(v));
    return buf;
}

/// What a file is, for messages: "a directory", "a FIFO (named pipe)", ...
[[nodiscard]] inline const char* file_type_name(mode_t mode) noexcept {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

/// The identity of a file (device and inode): two paths name the same file, through symbolic links,
/// `..` and hard links, exactly when their identities are equal.
struct file_identity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    friend bool operator==(const file_identity&, const file_identity&) = default;
};

[[nodiscard]] inline file_identity identity_of(const struct stat& st) noexcept {
    return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

/// The identity of the file `path` names (following symbolic links), or nothing when it does not exist.
[[nodiscard]] inline std::optional<file_identity> identity_of(const std::filesystem::path& path) noexcept {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return identity_of(st);
}

/// Largest file `read_file` reads unless told otherwise: 2 GiB, the most a protobuf message can be.
inline constexpr std::uint64_t default_max_read_bytes = std::uint64_t{1} << 31;

/// A regular file open for reading, its size taken when it was opened. Opening never blocks (a FIFO
/// without a writer, a device) and never reads anything from a file that is not regular: a
/// directory, a FIFO, a device or a socket is refused with its kind named, and so is a file larger
/// than the limit, before a byte is read.
class input_file {
public:
    /// Opens `path`; `what` says what the file is for in the size message ("an ONNX model").
    /// Throws `io_error` naming the file.
    input_file(const std::filesystem::path& path, std::uint64_t max_bytes, std::string_view what = "a file") : name_(quoted(path)) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            const int e = errno;
            throw io_error(name_ + ": cannot open the file for reading: " + std::strerror(e));
        }
        check_type(st);
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd_ < 0) {
            const int e = errno;
            throw io_error(name_ + ": cannot open the file for reading: " + std::strerror(e));
        }
        struct stat opened {};
        if (::fstat(fd_, &opened) != 0) {
            const int e = errno;
            close();
            throw io_error(name_ + ": cannot examine the open file: " + std::strerror(e));
        }
        if (identity_of(opened) != identity_of(st)) {
            close();
            throw io_error(name_ + ": the file was replaced while it was being opened");
        }
        check_type(opened);
        id_ = identity_of(opened);
        size_ = static_cast<std::uint64_t>(opened.st_size);
        if (size_ > max_bytes) {
            close();
            throw io_error(name_ + ": the file has " + std::to_string(size_) + " bytes (" + format_bytes(size_) + "), more than the " +
                           format_bytes(max_bytes) + " allowed for " + std::string(what) + "; nothing was read");
        }
    }
    input_file(const input_file&) = delete;
    input_file& operator=(const input_file&) = delete;
    ~input_file() { close(); }

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    [[nodiscard]] file_identity identity() const noexcept { return id_; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

    /// Reads exactly `n` bytes at the current position into `dst`; `io_error` when the file ends
    /// first (it shrank after it was opened) or the read fails.
    void read_exact(void* dst, std::size_t n) {
        auto* p = static_cast<char*>(dst);
        std::size_t done = 0;
        while (done < n) {
            const ::ssize_t r = ::read(fd_, p + done, n - done);
            if (r < 0) {
                if (errno == EINTR) continue;
                const int e = errno;
                throw io_error(name_ + ": read error: " + std::strerror(e));
            }
            if (r == 0)
                throw io_error(name_ + ": the file ended after " + std::to_string(pos_ + done) + " bytes although it had " + std::to_string(size_) +
                               " when it was opened (it changed while being read)");
            done += static_cast<std::size_t>(r);
        }
        pos_ += done;
    }

    /// The rest of the file (exactly its size when opened, less what was read already).
    [[nodiscard]] std::string read_rest() {
        std::string bytes(static_cast<std::size_t>(size_ - pos_), '\0');
        read_exact(bytes.data(), bytes.size());
        return bytes;
    }

private:
    void check_type(const struct stat& st) const {
        if (!S_ISREG(st.st_mode))
            throw io_error(name_ + ": is " + file_type_name(st.st_mode) + ", not a regular file; nothing was read from it");
    }
    void close() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    std::string name_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::uint64_t pos_ = 0;
    file_identity id_;
};

/// The whole content of the regular file `path`, at most `max_bytes` (checked before reading).
/// Throws `io_error` naming the file when it is not a regular file, is too large or cannot be read.
[[nodiscard]] inline std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes = default_max_read_bytes,
                                           std::string_view what = "a file") {
    input_file f(path, max_bytes, what);
    return f.read_rest();
}

/// A new, empty file beside `target` (`.NAME.tmp-XXXXXXXXXXXX` in the same directory), created
/// exclusively (never an existing file, never through a symbolic link) and open for writing.
struct temporary_file {
    std::filesystem::path path;
    int fd = -1;
};

[[nodiscard]] inline temporary_file create_temporary_beside(const std::filesystem::path& target) {
    namespace fs = std::filesystem;
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::random_device rd;
    for (int attempt = 0; attempt < 16; ++attempt) {
        char suffix[32];
        std::snprintf(suffix, sizeof suffix, ".tmp-%08x%04x", rd(), rd() & 0xffffu);
        std::string name(1, '.');
        name.append(target.filename().native()).append(suffix);
        const fs::path tmp = dir / name;
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0666);
        if (fd >= 0) return {tmp, fd};
        if (errno != EEXIST) {
            const int e = errno;
            throw io_error(quoted(target) + ": cannot create a temporary file in " + quoted(dir) + ": " + std::strerror(e));
        }
    }
    throw io_error(quoted(target) + ": cannot create a temporary file in " + quoted(dir));
}

/// Writes all of `bytes` to `fd`, then flushes it to the disk; false (errno set) on failure.
[[nodiscard]] inline bool write_all(int fd, std::string_view bytes) noexcept {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ::ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::size_t>(w);
    }
    return ::fsync(fd) == 0 || errno == EINVAL;
}

/// Refuses (io_error) to write over `target` when it exists and is a directory, a FIFO, a device
/// or a socket (itself or through a symbolic link): renaming a file over a device node would
/// replace the node.
inline void check_replaceable(const std::filesystem::path& target) {
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw io_error(quoted(target) + ": is " + file_type_name(st.st_mode) + ", not a regular file; it is not overwritten");
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, written and flushed,
/// then renamed over `path` (a symbolic link at `path` is replaced by the file, its target is left
/// alone; an existing file's permission bits are kept). On failure nothing is left behind and an
/// existing `path` is untouched. A directory, FIFO, device or socket at `path` is refused.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    namespace fs = std::filesystem;
    const std::string what = quoted(path);
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw io_error(what + ": the directory " + quoted(dir) + " does not exist");
    check_replaceable(path);
    temporary_file tmp = create_temporary_beside(path);
    struct stat old {};
    if (::stat(path.c_str(), &old) == 0 && S_ISREG(old.st_mode)) (void)::fchmod(tmp.fd, old.st_mode & 0777);
    const bool written = write_all(tmp.fd, bytes);
    int err = errno;
    const bool closed = ::close(tmp.fd) == 0;
    if (written) err = errno;
    if (!written || !closed) {
        ::unlink(tmp.path.c_str());
        throw io_error(what + ": writing failed: " + std::strerror(err));
    }
    if (::rename(tmp.path.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.path.c_str());
        throw io_error(what + ": cannot replace the file: " + std::strerror(e));
    }
}

} // namespace surgery::io
