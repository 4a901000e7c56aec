// The tool's memory budget (--max-memory): parsing sizes like 512M, the default from the machine's
// memory, and the ledger that charges what the tool itself allocates (models, tensors, random inputs).
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "cli/args.hpp"
#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/ir/graph.hpp"

namespace surgery::cli {

/// `512M`, `4G`, `1.5GiB`, `100000000`: a byte count with an optional binary suffix (K, M, G, T,
/// optionally followed by `iB` or `B`; case does not matter). Throws usage_error naming `option`.
[[nodiscard]] inline std::uint64_t parse_size(std::string_view option, const std::string& text) {
    auto bad = [&] {
        return usage_error("option '--" + std::string(option) + "' expects a size in bytes with an optional suffix K, M, G or T (powers of 1024), e.g. 512M or 4G; got '" +
                           io::printable(text) + "'");
    };
    double v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
    if (ec != std::errc{} || p == text.data() || !(v >= 0) || !std::isfinite(v)) throw bad();
    std::string unit(p, text.data() + text.size());
    for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (unit.size() > 1 && (unit.substr(1) == "IB" || unit.substr(1) == "B")) unit.resize(1);
    double scale = 1;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "K") scale = 0x1p10;
    else if (unit == "M") scale = 0x1p20;
    else if (unit == "G") scale = 0x1p30;
    else if (unit == "T") scale = 0x1p40;
    else throw bad();
    const double bytes = std::floor(v * scale);
    if (!(bytes < 0x1p63)) throw usage_error("option '--" + std::string(option) + "' is too large: '" + io::printable(text) + "'");
    if (bytes < 0x1p20) throw usage_error("option '--" + std::string(option) + "' must be at least 1M, got '" + io::printable(text) + "'");
    return static_cast<std::uint64_t>(bytes);
}

/// The memory this process may use: the smallest of physical memory, the cgroup's memory.max and the
/// address-space and data-segment limits (ulimit -v, -d); `source` says which one it was.
[[nodiscard]] inline std::uint64_t available_memory(std::string* source = nullptr) {
    std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
    std::string from = "unknown";
    auto consider = [&](std::uint64_t v, const char* what) {
        if (v > 0 && v < best) {
            best = v;
            from = what;
        }
    };
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0) consider(static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page), "physical memory");
    {
        std::ifstream f("/sys/fs/cgroup/memory.max");
        std::string s;
        if (f >> s && s != "max") {
            std::uint64_t v = 0;
            if (std::from_chars(s.data(), s.data() + s.size(), v).ec == std::errc{}) consider(v, "the cgroup's memory.max");
        }
    }
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) consider(static_cast<std::uint64_t>(rl.rlim_cur), "the address-space limit (ulimit -v)");
    if (::getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) consider(static_cast<std::uint64_t>(rl.rlim_cur), "the data-segment limit (ulimit -d)");
    if (best == std::numeric_limits<std::uint64_t>::max()) best = std::uint64_t{8} << 30; // nothing known: assume 8 GiB
    if (source) *source = from;
    return best;
}

/// Most the default budget allows: a file of a few bytes must not make the tool allocate more than
/// this unless the user says so (a model declaring a [1, 2^30] input asks for 4 GiB of random data).
inline constexpr std::uint64_t default_budget_cap = std::uint64_t{2} << 30;

/// The default budget: half of `available_memory()`, at most `default_budget_cap`; `origin` says so.
[[nodiscard]] inline std::uint64_t default_budget(std::string* origin = nullptr) {
    std::string source;
    const std::uint64_t half = available_memory(&source) / 2;
    if (origin) *origin = half > default_budget_cap ? "default: half of " + source + ", at most 2 GiB" : "default: half of " + source;
    return std::min(half, default_budget_cap);
}

/// The tool's memory budget: what the tool itself may allocate for models and tensors. Given with
/// `--max-memory`, else `default_budget()`. Handed to everything the tool calls that
/// allocates from sizes a file declares (the .npy reader, random inputs; the reference executor
/// once it takes a budget).
struct memory_budget {
    std::uint64_t limit = 0;
    std::uint64_t used = 0;
    std::string origin; ///< "--max-memory" or "default: half of physical memory, at most 2 GiB; raise it with --max-memory"

    [[nodiscard]] std::uint64_t remaining() const noexcept { return used >= limit ? 0 : limit - used; }

    /// "1.5 GiB (--max-memory)": how messages name the budget.
    [[nodiscard]] std::string describe() const { return io::format_bytes(limit) + " (" + origin + ")"; }

    /// Records `bytes` more in use for `what`; io_error naming `what` and the budget when they do not fit.
    void charge(std::uint64_t bytes, const std::string& what) {
        if (bytes > remaining())
            throw io_error(what + " needs " + io::format_bytes(bytes) +
                           (used >= (std::uint64_t{1} << 20) ? ", with " + io::format_bytes(used) + " already in use," : std::string(",")) +
                           " more than the memory budget of " + describe() + "; nothing was allocated");
        used += bytes;
    }
};

/// The option every command takes.
[[nodiscard]] inline option_spec max_memory_option() {
    std::string origin;
    const std::uint64_t def = default_budget(&origin);
    return {"max-memory", 0, "BYTES", "memory budget for models and tensors, e.g. 512M, 4G (" + origin + ": here " + io::format_bytes(def) + ")"};
}

/// The budget of a command from its `--max-memory` option.
[[nodiscard]] inline memory_budget budget_from(const arguments& args) {
    memory_budget b;
    if (const auto v = args.value("max-memory")) {
        b.limit = parse_size("max-memory", *v);
        b.origin = "--max-memory";
    } else {
        b.limit = default_budget(&b.origin);
        b.origin += "; raise it with --max-memory";
    }
    return b;
}

/// Bytes the IR uses per element of `t` (float32 in `f`, every integer type and bool in the int64 `i`).
[[nodiscard]] constexpr std::uint64_t ir_element_bytes(ir::DType t) noexcept { return t == ir::DType::f32 ? 4 : 8; }

/// Elements times element bytes of `shape`, or nothing when it overflows 64 bits. Unknown (negative)
/// dimensions count as 0.
[[nodiscard]] inline std::optional<std::uint64_t> checked_bytes(const ir::Shape& shape, ir::DType t) noexcept {
    std::uint64_t n = ir_element_bytes(t);
    for (std::int64_t d : shape) {
        const auto u = d < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(d);
        if (u != 0 && n > std::numeric_limits<std::uint64_t>::max() / u) return std::nullopt;
        n *= u;
    }
    return n;
}

/// Charges the random tensors `reference::random_inputs(g, ..., dynamic_dims)` would build, `copies`
/// sets of them, before they are built: io_error naming the input, its shape and the budget when
/// they do not fit. (A 100-byte model can declare a [1, 2^30] input: 4 GiB of random floats.)
/// With `use_defaults`, inputs that have a default value get none (as random_input_options says).
inline void charge_random_inputs(memory_budget& budget, const ir::Graph& g, const std::string& model, std::uint64_t copies = 1,
                                 std::int64_t dynamic_dims = 0, bool use_defaults = false) {
    for (ir::ValueId v : g.inputs()) {
        const ir::Value& val = g.value(v);
        if (!val.shape) continue; // random_inputs refuses it with its own message
        if (use_defaults && val.data) continue;
        const ir::Shape shape = dynamic_dims > 0 ? ir::with_dynamic_dims(*val.shape, dynamic_dims) : *val.shape;
        const std::string what = model + ": random input '" + io::printable(g.label(v)) + "' of shape " + ir::to_string(shape);
        const auto bytes = checked_bytes(shape, val.dtype);
        if (!bytes || *bytes > std::numeric_limits<std::uint64_t>::max() / copies)
            throw io_error(what + ": its size overflows 64 bits; nothing was allocated");
        budget.charge(*bytes * copies, what);
    }
}

} // namespace surgery::cli
