// Output paths of a command: checked against the inputs and each other before any work (by file
// identity), then written as one transaction: staged in temporary files, renamed only when all succeeded.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/args.hpp"
#include "surgery/error.hpp"
#include "surgery/io/file.hpp"

namespace surgery::cli {

namespace detail {

/// Temporary paths that a signal handler removes when the program is killed (SIGINT, SIGTERM,
/// SIGHUP, SIGQUIT, SIGPIPE) before a transaction committed or rolled back: a lock-free table of
/// C strings owned by the transactions (their addresses are stable: entries live in a deque).
inline constexpr int cleanup_slots = 64;
inline std::atomic<const char*> cleanup_paths[cleanup_slots];
inline std::atomic<bool> cleanup_is_dir[cleanup_slots];

extern "C" inline void cleanup_on_signal(int sig) {
    for (int k = cleanup_slots - 1; k >= 0; --k) {
        const char* p = cleanup_paths[k].load();
        if (!p) continue;
        if (cleanup_is_dir[k].load()) ::rmdir(p);
        else ::unlink(p);
    }
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

inline int register_cleanup(const char* path, bool dir) noexcept {
    for (int k = 0; k < cleanup_slots; ++k) {
        const char* expected = nullptr;
        if (cleanup_paths[k].load() == nullptr) {
            cleanup_is_dir[k].store(dir);
            if (cleanup_paths[k].compare_exchange_strong(expected, path)) return k;
        }
    }
    return -1; // table full: the temporary is still removed on failure, only not on a signal
}

inline void unregister_cleanup(int slot) noexcept {
    if (slot >= 0) cleanup_paths[slot].store(nullptr);
}

} // namespace detail

/// Installs the handler that removes staged temporaries when the program is killed by a signal.
inline void install_cleanup_handlers() {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) {
        struct sigaction sa {};
        sa.sa_handler = detail::cleanup_on_signal;
        sigemptyset(&sa.sa_mask);
        ::sigaction(sig, &sa, nullptr);
    }
}

/// The output paths of one command, checked together before any work starts: each must be
/// writable where it is (its directory exists), must not be a directory, FIFO, device or socket
/// (itself or through a symbolic link), and must be neither one of the command's inputs nor another
/// of its outputs. Files are compared by identity (device and inode), so a symbolic link, a hard
/// link or another spelling (`./a/../in.onnx`) of the same file is caught; outputs that do not
/// exist yet are compared by their directory's identity and their name.
class output_plan {
public:
    /// A file the command reads (`role`: "the input model", "--input"). Files that do not exist are
    /// ignored here: reading them fails with its own message.
    void input(const std::filesystem::path& p, std::string role) {
        if (const auto id = io::identity_of(p)) inputs_.push_back({p, std::move(role), *id});
    }

    /// A file the command writes (`role`: "-o", "--report").
    void file(const std::filesystem::path& p, std::string role) {
        add(p, std::move(role));
    }

    /// A directory the command writes `names` into (`--dot DIR`). It may exist (then each file in it
    /// is checked like `file`, and nothing else in it is touched) or not (then its parent must exist;
    /// it is created when the transaction commits).
    void directory(const std::filesystem::path& p, std::string role, const std::vector<std::string>& names) {
        const std::string what = io::quoted(p);
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) throw io_error(role + " " + what + ": is " + io::file_type_name(st.st_mode) + ", not a directory; nothing was done");
            if (::access(p.c_str(), W_OK | X_OK) != 0) {
                const int err = errno;
                throw io_error(role + " " + what + ": cannot write in this directory: " + std::strerror(err) + "; nothing was done");
            }
            for (const auto& n : names) add(p / n, role);
            return;
        }
        add(p, std::move(role)); // created at commit, like a file
    }

    /// The clash or bad path found, as an exception: usage_error (exit 2) when two arguments name the
    /// same file, io_error (exit 1) for a path the filesystem does not allow.
    void check() const {
        for (std::size_t i = 0; i < outputs_.size(); ++i) {
            const auto& o = outputs_[i];
            for (const auto& in : inputs_)
                if (o.id && *o.id == in.id)
                    throw usage_error(o.role + " " + io::quoted(o.path) + " is the same file as " + in.role + " " + io::quoted(in.path) +
                                      (o.path.lexically_normal() == in.path.lexically_normal() ? std::string() : " (through a link or another spelling)") +
                                      ": an input is never overwritten; choose another output path (nothing was done)");
            for (std::size_t j = 0; j < i; ++j) {
                const auto& p = outputs_[j];
                if ((o.id && p.id && *o.id == *p.id) || (o.dir == p.dir && o.name == p.name))
                    throw usage_error(o.role + " " + io::quoted(o.path) + " is the same file as " + p.role + " " + io::quoted(p.path) +
                                      ": each output needs its own path (nothing was done)");
            }
        }
    }

private:
    struct in_file {
        std::filesystem::path path;
        std::string role;
        io::file_identity id;
    };
    struct out_file {
        std::filesystem::path path;
        std::string role;
        io::file_identity dir;                 ///< the directory it will be in
        std::string name;                      ///< its name there
        std::optional<io::file_identity> id;   ///< the existing file (through a symbolic link)
    };

    void add(const std::filesystem::path& p, std::string role) {
        namespace fs = std::filesystem;
        const std::string what = role + " " + io::quoted(p);
        const fs::path name = p.filename();
        if (name.empty() || name == "." || name == "..") throw io_error(what + ": names a directory, not a file; nothing was done");
        const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
        struct stat ds {};
        if (::stat(dir.c_str(), &ds) != 0) throw io_error(what + ": the directory " + io::quoted(dir) + " does not exist; nothing was done");
        if (!S_ISDIR(ds.st_mode)) throw io_error(what + ": " + io::quoted(dir) + " is " + io::file_type_name(ds.st_mode) + ", not a directory; nothing was done");
        if (::access(dir.c_str(), W_OK | X_OK) != 0) {
            const int err = errno;
            throw io_error(what + ": cannot write in the directory " + io::quoted(dir) + ": " + std::strerror(err) + "; nothing was done");
        }
        out_file o{p, std::move(role), io::identity_of(ds), name.native(), std::nullopt};
        struct stat ls {};
        if (::lstat(p.c_str(), &ls) == 0) {
            struct stat st {};
            const bool dangling = S_ISLNK(ls.st_mode) && ::stat(p.c_str(), &st) != 0;
            if (!dangling) {
                if (!S_ISLNK(ls.st_mode)) st = ls;
                if (!S_ISREG(st.st_mode))
                    throw io_error(what + ": is " + (S_ISLNK(ls.st_mode) ? std::string("a symbolic link to ") : std::string()) + io::file_type_name(st.st_mode) +
                                   ", not a regular file; it is not overwritten (nothing was done)");
                o.id = io::identity_of(st);
            }
        }
        outputs_.push_back(std::move(o));
    }

    std::vector<in_file> inputs_;
    std::vector<out_file> outputs_;
};

/// Files (and a directory) written all together or not at all. Each is staged in a temporary file
/// beside its target (`.NAME.tmp-XXXX`, created exclusively) or inside a staged directory;
/// `commit` renames them onto their targets in the order they were staged; until then, and when
/// anything fails (an exception, the destructor without commit, a signal), the temporaries are
/// removed and the targets are as they were.
class output_transaction {
public:
    output_transaction() = default;
    output_transaction(const output_transaction&) = delete;
    output_transaction& operator=(const output_transaction&) = delete;
    ~output_transaction() { rollback(); }

    /// Writes `bytes` for `target`; returns where they are until the commit (a path Graphviz can read).
    std::filesystem::path stage_file(const std::filesystem::path& target, std::string_view bytes) {
        entry& e = stage_empty(target);
        const bool ok = io::write_all(e.fd, bytes);
        int err = errno;
        const bool closed = ::close(e.fd) == 0;
        if (ok) err = errno;
        e.fd = -1;
        if (!ok || !closed) throw io_error(io::quoted(target) + ": writing failed: " + std::strerror(err) + "; nothing was written");
        return e.temp;
    }

    /// An empty file for `target` that another program fills (Graphviz's `-o`); returns its path.
    std::filesystem::path stage_for_writer(const std::filesystem::path& target) {
        entry& e = stage_empty(target);
        ::close(e.fd);
        e.fd = -1;
        return e.temp;
    }

    /// The directory to put files for `target` in: `target` itself when it exists (each file is then
    /// staged and renamed on its own), otherwise a temporary directory beside it, renamed to `target`
    /// at the commit.
    std::filesystem::path stage_directory(const std::filesystem::path& target) {
        std::error_code ec;
        if (std::filesystem::is_directory(target, ec)) return target;
        namespace fs = std::filesystem;
        const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
        for (int attempt = 0; attempt < 16; ++attempt) {
            io::temporary_file probe = io::create_temporary_beside(target); // a unique name ...
            ::close(probe.fd);
            ::unlink(probe.path.c_str());
            if (::mkdir(probe.path.c_str(), 0777) == 0) { // ... taken as a directory
                entry& e = entries_.emplace_back();
                e.temp = probe.path;
                e.target = target;
                e.dir = true;
                e.slot = detail::register_cleanup(e.temp.c_str(), true);
                return e.temp;
            }
            if (errno != EEXIST) break;
        }
        const int err = errno;
        throw io_error(io::quoted(target) + ": cannot create a temporary directory in " + io::quoted(parent) + ": " + std::strerror(err));
    }

    /// Renames every staged file and directory onto its target. When a rename fails (the directory
    /// vanished, a directory appeared at a target), the ones before it stay done and the message names them.
    void commit() {
        std::vector<std::string> done;
        for (auto& e : entries_) {
            if (e.inner) continue; // moves with its directory
            if (!e.dir) io::check_replaceable(e.target);
            if (::rename(e.temp.c_str(), e.target.c_str()) != 0) {
                const int err = errno;
                std::string msg = io::quoted(e.target) + ": cannot move the finished file into place: " + std::strerror(err);
                if (!done.empty()) {
                    msg += " (already written:";
                    for (const auto& d : done) msg += " " + d;
                    msg += ")";
                }
                throw io_error(msg);
            }
            detail::unregister_cleanup(e.slot);
            e.slot = -1;
            e.committed = true;
            done.push_back(io::quoted(e.target));
        }
        for (auto& e : entries_) {
            detail::unregister_cleanup(e.slot);
            e.slot = -1;
            e.committed = true;
        }
        entries_.clear();
    }

    /// Removes every temporary not yet committed (files inside staged directories first).
    void rollback() noexcept {
        for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
            if (it->fd >= 0) ::close(it->fd);
            if (!it->committed) {
                if (it->dir) ::rmdir(it->temp.c_str());
                else ::unlink(it->temp.c_str());
            }
            detail::unregister_cleanup(it->slot);
        }
        entries_.clear();
    }

private:
    struct entry {
        std::filesystem::path temp, target;
        bool dir = false;
        bool inner = false; ///< inside a staged directory: no rename of its own
        bool committed = false;
        int fd = -1;
        int slot = -1;
    };

    entry& stage_empty(const std::filesystem::path& target) {
        const auto parent = target.parent_path();
        const entry* staged_dir = nullptr;
        for (const auto& d : entries_)
            if (d.dir && d.temp == parent) staged_dir = &d;
        if (staged_dir) {
            const std::filesystem::path inside = staged_dir->target / target.filename(); // for the messages
            const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0666);
            if (fd < 0) {
                const int err = errno;
                throw io_error(io::quoted(inside) + ": cannot create the file: " + std::strerror(err) + "; nothing was written");
            }
            entry& e = entries_.emplace_back();
            e.temp = target;
            e.target = inside;
            e.inner = true;
            e.fd = fd;
            e.slot = detail::register_cleanup(e.temp.c_str(), false);
            return e;
        }
        io::check_replaceable(target);
        io::temporary_file t = io::create_temporary_beside(target);
        entry& e = entries_.emplace_back();
        e.temp = t.path;
        e.target = target;
        e.fd = t.fd;
        e.slot = detail::register_cleanup(e.temp.c_str(), false);
        struct stat old {};
        if (::stat(target.c_str(), &old) == 0 && S_ISREG(old.st_mode)) (void)::fchmod(e.fd, old.st_mode & 0777);
        return e;
    }

    std::deque<entry> entries_;
};

} // namespace surgery::cli
