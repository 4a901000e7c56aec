// Command-line parsing for the surgery tool: option tables, generated --help, usage errors (exit code 2).
#pragma once

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace surgery::cli {

/// Exit codes of every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1; ///< bad input (file, model, tensor) or the operation failed
inline constexpr int exit_usage = 2;   ///< bad command line

/// A mistake on the command line: printed with a pointer to --help, exit code 2.
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct option_spec {
    std::string name;       ///< long name without "--"
    char short_name = 0;    ///< e.g. 'o' for -o, 0 for none
    std::string metavar;    ///< empty: a flag without value
    std::string help;
    bool repeatable = false;
};

struct command_spec {
    std::string name;       ///< "lite"
    std::string synopsis;   ///< "IN.onnx -o OUT.onnx [options]"
    std::string summary;    ///< one line
    std::string description;
    std::vector<option_spec> options;
    std::size_t min_positionals = 0;
    std::size_t max_positionals = 0;
    std::string epilog;     ///< examples, notes
};

/// Parsed command line of one subcommand.
class arguments {
public:
    std::vector<std::string> positionals;

    [[nodiscard]] bool has(std::string_view name) const { return values_.find(std::string(name)) != values_.end(); }
    [[nodiscard]] std::optional<std::string> value(std::string_view name) const {
        auto it = values_.find(std::string(name));
        if (it == values_.end() || it->second.empty()) return std::nullopt;
        return it->second.back();
    }
    [[nodiscard]] std::vector<std::string> all(std::string_view name) const {
        auto it = values_.find(std::string(name));
        return it == values_.end() ? std::vector<std::string>{} : it->second;
    }
    void add(const std::string& name, std::string v) { values_[name].push_back(std::move(v)); }

private:
    std::map<std::string, std::vector<std::string>> values_;
};

/// The --help text of `spec`.
[[nodiscard]] inline std::string help_text(const command_spec& spec) {
    std::string s = "usage: surgery " + spec.name + (spec.synopsis.empty() ? "" : " " + spec.synopsis) + "\n\n" + spec.summary + "\n";
    if (!spec.description.empty()) s += "\n" + spec.description + "\n";
    s += "\noptions:\n";
    auto line = [&](const std::string& left, const std::string& help) {
        std::string l = "  " + left;
        if (l.size() < 30) l.append(30 - l.size(), ' ');
        else l += "\n" + std::string(30, ' ');
        // Indent continuation lines of the help.
        std::string h;
        for (char c : help) {
            h.push_back(c);
            if (c == '\n') h.append(30, ' ');
        }
        s += l + h + "\n";
    };
    for (const auto& o : spec.options) {
        std::string left = o.short_name ? std::string("-") + o.short_name + ", --" + o.name : "--" + o.name;
        if (!o.metavar.empty()) left += " " + o.metavar;
        line(left, o.help + (o.repeatable ? " (repeatable)" : ""));
    }
    line("-h, --help", "show this help and exit");
    if (!spec.epilog.empty()) s += "\n" + spec.epilog + "\n";
    return s;
}

/// Parses `args` (after the subcommand name) against `spec`. Accepts `--name value`, `--name=value`,
/// `-x value`, `--` to end options. Returns nullopt when --help was asked (the caller prints it).
[[nodiscard]] inline std::optional<arguments> parse(const command_spec& spec, std::span<const std::string> args) {
    arguments out;
    auto find_long = [&](std::string_view n) -> const option_spec* {
        for (const auto& o : spec.options)
            if (o.name == n) return &o;
        return nullptr;
    };
    auto find_short = [&](char c) -> const option_spec* {
        for (const auto& o : spec.options)
            if (o.short_name == c) return &o;
        return nullptr;
    };
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (options_done || a.size() < 2 || a[0] != '-') {
            out.positionals.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        if (a == "-h" || a == "--help") return std::nullopt;
        const option_spec* o = nullptr;
        std::optional<std::string> inline_value;
        std::string shown = a;
        if (a.rfind("--", 0) == 0) {
            std::string_view body = std::string_view(a).substr(2);
            if (auto eq = body.find('='); eq != std::string_view::npos) {
                inline_value = std::string(body.substr(eq + 1));
                body = body.substr(0, eq);
                shown = "--" + std::string(body);
            }
            o = find_long(body);
        } else if (a.size() == 2) {
            o = find_short(a[1]);
        } else if (const option_spec* so = find_short(a[1]); so && !so->metavar.empty()) {
            o = so; // -oFILE
            inline_value = a.substr(2);
            shown = a.substr(0, 2);
        }
        if (!o) throw usage_error("unknown option '" + shown + "'");
        if (o->metavar.empty()) {
            if (inline_value) throw usage_error("option '--" + o->name + "' takes no value");
            if (out.has(o->name) && !o->repeatable) throw usage_error("option '--" + o->name + "' is given twice");
            out.add(o->name, "");
            continue;
        }
        std::string v;
        if (inline_value) {
            v = *inline_value;
        } else {
            if (i + 1 >= args.size()) throw usage_error("option '" + shown + "' needs a value (" + o->metavar + ")");
            v = args[++i];
        }
        if (out.has(o->name) && !o->repeatable) throw usage_error("option '--" + o->name + "' is given twice");
        out.add(o->name, std::move(v));
    }
    if (out.positionals.size() < spec.min_positionals || out.positionals.size() > spec.max_positionals) {
        if (out.positionals.size() > spec.max_positionals)
            throw usage_error("unexpected argument '" + out.positionals[spec.max_positionals] + "'");
        throw usage_error("missing argument: expected " + spec.synopsis);
    }
    return out;
}

/// An integer option value in [lo, hi]; usage_error naming the option otherwise.
[[nodiscard]] inline std::int64_t parse_int(std::string_view option, const std::string& text, std::int64_t lo, std::int64_t hi) {
    std::int64_t v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size() || text.empty())
        throw usage_error("option '--" + std::string(option) + "' expects an integer, got '" + text + "'");
    if (v < lo || v > hi)
        throw usage_error("option '--" + std::string(option) + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + text);
    return v;
}

/// A non-negative floating-point option value; usage_error naming the option otherwise.
[[nodiscard]] inline double parse_double(std::string_view option, const std::string& text) {
    double v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size() || text.empty() || !(v >= 0))
        throw usage_error("option '--" + std::string(option) + "' expects a non-negative number, got '" + text + "'");
    return v;
}

} // namespace surgery::cli
