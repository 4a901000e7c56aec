// Shared pieces of the subcommands: the command table, model loading, timing, number formatting.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cli/args.hpp"
#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/ir/graph.hpp"

namespace surgery::cli {

/// One subcommand: its option table and its entry point (returns the exit code; throws
/// usage_error for exit code 2 and surgery::error / std::exception for exit code 1).
struct command {
    const command_spec& (*spec)();
    int (*run)(const arguments&);
};

// The subcommands (tools/commands/*.cpp).
const command_spec& inspect_spec();
int inspect_main(const arguments&);
const command_spec& lite_spec();
int lite_main(const arguments&);
const command_spec& run_spec();
int run_main(const arguments&);
const command_spec& compare_spec();
int compare_main(const arguments&);
const command_spec& demo_spec();
int demo_main(const arguments&);

/// printf into a std::string.
[[nodiscard]] inline std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline std::string format(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    const int n = std::vsnprintf(nullptr, 0, fmt, ap);
    va_end(ap);
    std::string out(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
    if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, ap2);
    va_end(ap2);
    return out;
}

using clock = std::chrono::steady_clock;

[[nodiscard]] inline double seconds_since(clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); }

[[nodiscard]] inline double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

/// The output names of a graph, in order.
[[nodiscard]] inline std::vector<std::string> output_names(const ir::Graph& g) {
    std::vector<std::string> out;
    for (ir::ValueId v : g.outputs()) out.push_back(g.label(v));
    return out;
}
[[nodiscard]] inline std::vector<std::string> input_names(const ir::Graph& g) {
    std::vector<std::string> out;
    for (ir::ValueId v : g.inputs()) out.push_back(g.label(v));
    return out;
}

/// True when the tool was built with OpenMP, so that --threads reaches Eigen's GEMM.
[[nodiscard]] constexpr bool have_openmp() noexcept {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

/// What the command is doing ("running the model 'm.onnx'"), for the message of an exception that
/// does not say (std::bad_alloc, a std::length_error from deep inside a library): when one leaves
/// the scope of a `doing`, the innermost one records its text, which `main` prints with the error.
class doing {
public:
    explicit doing(std::string what) : what_(std::move(what)), uncaught_(std::uncaught_exceptions()) {}
    doing(const doing&) = delete;
    doing& operator=(const doing&) = delete;
    ~doing() {
        if (std::uncaught_exceptions() > uncaught_ && failed_while().empty()) failed_while() = what_;
    }
    /// The innermost activity an exception left (empty when none did).
    [[nodiscard]] static std::string& failed_while() {
        static std::string what;
        return what;
    }

private:
    std::string what_;
    int uncaught_;
};

/// Fails early (io_error, exit code 1) when the directory that would receive `file` does not exist,
/// before any work is done.
inline void require_parent_dir(const std::filesystem::path& file) {
    const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw io_error(io::quoted(file) + ": the directory " + io::quoted(dir) + " does not exist");
}

} // namespace surgery::cli
