// Shared by the fuzz targets that drive `surgery` subcommands: a private working directory, the
// command run with its output silenced, and the promises every command keeps about files.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/common.hpp"
#include "fuzz_guard.hpp"
#include "surgery/io/file.hpp"

namespace surgery::fuzz {

/// A directory of its own for this process, removed at a normal exit (a crash leaves it behind,
/// with the files of the input that crashed).
inline const std::filesystem::path& work_dir() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("surgery_fuzz_cli_" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    // Registered once `dir` is complete, so that it runs before `dir` is destroyed.
    [[maybe_unused]] static const int cleanup = std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(work_dir(), ec);
    });
    return dir;
}

inline void put(const std::filesystem::path& p, std::string_view bytes) { surgery::io::write_file_atomically(p, bytes); }

/// The names in `dir`.
inline std::vector<std::string> listing(const std::filesystem::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
}

/// Runs `main` on `args` as the program would (exit code; usage_error is 2, surgery::error is 1),
/// with stdout thrown away. Anything else that escapes is a finding (through `guard`).
template <class Main>
int run_command(const char* target, const cli::command_spec& spec, Main main, const std::vector<std::string>& args) {
    std::ostringstream sink;
    std::streambuf* old = std::cout.rdbuf(sink.rdbuf());
    int code = -1;
    guard(target, [&] {
        try {
            const auto parsed = cli::parse(spec, std::span<const std::string>(args));
            code = parsed ? main(*parsed) : 0;
        } catch (const cli::usage_error&) {
            code = 2;
        } catch (const surgery::error&) {
            code = 1;
        } catch (...) {
            std::cout.rdbuf(old);
            throw;
        }
    });
    std::cout.rdbuf(old);
    return code;
}

/// No temporary file (".NAME.tmp-...") may be left in `dir` after a command, whatever it did.
inline void check_no_temporaries(const char* target, const std::filesystem::path& dir) {
    for (const auto& n : listing(dir))
        if (n.size() > 1 && n[0] == '.' && n.find(".tmp-") != std::string::npos) finding(target, "a temporary file was left behind: " + n);
}

} // namespace surgery::fuzz
