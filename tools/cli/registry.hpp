// The rule registry of the tool: the library's registry (rules/registry.hpp) seen from the command
// line: presets, every built-in rule by stable name, rule options, dictionaries built from names.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/args.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rules.hpp"

namespace surgery::cli {

/// A named rule set selectable with --preset.
struct preset {
    std::string name;
    std::string description;
    std::function<rewrite::dictionary()> make;
};

/// The presets, in the order --list-rules shows them.
[[nodiscard]] inline const std::vector<preset>& presets() {
    static const std::vector<preset> list = [] {
        std::vector<preset> out;
        for (const auto& p : rules::presets())
            out.push_back({std::string(p.name), std::string(p.description), [name = p.name] { return rules::preset(name); }});
        return out;
    }();
    return list;
}

/// Every built-in rule once, by stable name, in the order rules run.
[[nodiscard]] inline const std::vector<rewrite::rule>& all_rules() {
    static const std::vector<rewrite::rule> list = [] {
        std::vector<rewrite::rule> out;
        for (const auto& e : rules::registry()) out.push_back(e.make({}).rule);
        return out;
    }();
    return list;
}

/// The presets that contain rule `name`.
[[nodiscard]] inline std::vector<std::string> presets_of(std::string_view name) {
    std::vector<std::string> out;
    if (const rules::registry_entry* e = rules::find_rule(name))
        for (auto p : e->presets) out.emplace_back(p);
    return out;
}

/// What `surgery lite --list-rules` prints (the same text the rule reference in docs/rules.md is checked against).
[[nodiscard]] inline std::string list_rules_text() { return rules::list_text(); }

[[nodiscard]] inline const preset& find_preset(std::string_view name) {
    for (const auto& p : presets())
        if (p.name == name) return p;
    std::string known;
    for (const auto& p : presets()) known += (known.empty() ? "" : ", ") + p.name;
    throw usage_error("unknown preset '" + std::string(name) + "' (presets: " + known + ")");
}

/// Index of rule `name` in `all_rules()` (a former name finds the rule that took its forms);
/// usage_error listing the way to see them otherwise.
[[nodiscard]] inline std::size_t find_rule(std::string_view name) {
    const rules::registry_entry* e = rules::find_rule(name);
    if (!e) throw usage_error("unknown rule '" + std::string(name) + "' (see 'surgery lite --list-rules')");
    const auto& rs = all_rules();
    for (std::size_t i = 0; i < rs.size(); ++i)
        if (rs[i].name == e->name) return i;
    throw usage_error("unknown rule '" + std::string(name) + "' (see 'surgery lite --list-rules')");
}

/// Splits "a,b, c" into names; commas inside [...] (rule options) do not split. Empty items are a usage error.
[[nodiscard]] inline std::vector<std::string> split_names(const std::string& text, std::string_view option) {
    std::vector<std::string> out;
    std::string item;
    int depth = 0;
    auto flush = [&] {
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (item.empty()) throw usage_error("option '--" + std::string(option) + "' has an empty rule name in '" + text + "'");
        out.push_back(std::move(item));
        item.clear();
    };
    for (char ch : text) {
        if (ch == '[') ++depth;
        else if (ch == ']') --depth;
        if (ch == ',' && depth == 0) flush();
        else item += ch;
    }
    flush();
    return out;
}

/// A rule name with options, `large_kernel_to_3x3[min_kernel=5]`: sets them in `opts` and returns
/// the name. Options: `min_kernel` (large_kernel_to_3x3, odd kernels with every dim at least this, >= 5).
[[nodiscard]] inline std::string parse_rule_options(const std::string& item, rules::options& opts) {
    const auto open = item.find('[');
    if (open == std::string::npos) return item;
    std::string name = item.substr(0, open);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (!rules::find_rule(name)) return item; // not a rule with options: find_rule reports the unknown name
    if (item.back() != ']') throw usage_error("rule '" + item + "': options are written name[key=value,...]");
    const std::string body = item.substr(open + 1, item.size() - open - 2);
    std::size_t start = 0;
    while (start <= body.size()) {
        std::size_t end = body.find(',', start);
        if (end == std::string::npos) end = body.size();
        const std::string kv = body.substr(start, end - start);
        const auto eq = kv.find('=');
        std::string key = kv.substr(0, eq);
        key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
        std::string value = eq == std::string::npos ? std::string() : kv.substr(eq + 1);
        value.erase(std::remove(value.begin(), value.end(), ' '), value.end());
        if (name == "large_kernel_to_3x3" && key == "min_kernel") {
            std::int64_t k = 0;
            const auto r = std::from_chars(value.data(), value.data() + value.size(), k);
            if (r.ec != std::errc{} || r.ptr != value.data() + value.size() || k < 5)
                throw usage_error("rule '" + item + "': min_kernel must be an integer of at least 5");
            opts.large_kernel_min = k;
        } else {
            throw usage_error("rule '" + item + "': unknown option '" + key + "' (large_kernel_to_3x3 takes min_kernel)");
        }
        start = end + 1;
    }
    return name;
}

/// Warnings for the text rules (`--rule`, as given; `dict` holds them parsed) that matched nothing
/// and name an op outside the catalogue without a domain: most often a misspelling (`Hardswish`,
/// PyTorch's `Silu`), which the pattern takes for a vendor op's name. Each names the rule, the op
/// and, when the catalogue has it under another case, that spelling.
[[nodiscard]] inline std::vector<std::string> unknown_op_warnings(const std::vector<std::string>& rule_texts, const rewrite::dictionary& dict,
                                                                 const rewrite::report& rep) {
    std::vector<std::string> out;
    auto lower = [](std::string_view s) {
        std::string l(s);
        for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return l;
    };
    for (const std::string& t : rule_texts) {
        const auto entry = std::find_if(rep.rules.begin(), rep.rules.end(), [&](const auto& e) { return e.name == t; });
        if (entry == rep.rules.end() || entry->matches > 0) continue;
        const auto parsed = std::find_if(dict.rules().begin(), dict.rules().end(), [&](const rewrite::rule& r) { return r.name == t; });
        if (parsed == dict.rules().end()) continue;
        for (const std::string& name : parsed->op_names) {
            if (name.find("::") != std::string::npos) continue;
            std::string w = "rule '" + t + "' matched nothing: '" + name + "' is not an op of the catalogue, so it only matches a node of that exact op_type";
            for (std::size_t k = 0; k < ir::op_count; ++k)
                if (lower(ir::op_names[k]) == lower(name)) {
                    w += " (did you mean '" + std::string(ir::op_names[k]) + "'?)";
                    break;
                }
            out.push_back(std::move(w));
        }
    }
    return out;
}

/// The dictionary the command line asks for: the preset's rules and the named built-in rules, each
/// once and in the built-in order (so SE removal always runs before its gate's activation is
/// replaced), then the text rules in the order given. A preset given alone is used as it is.
/// Rule options given with a name (`large_kernel_to_3x3[min_kernel=5]`) apply to the preset's rules too.
/// Rules named in `without` are left out (`--without`; e.g. the paper preset without fold_batchnorm, so
/// that BatchNorm stays for calibration): each must be in the dictionary otherwise.
/// Throws usage_error for an unknown preset, rule name or option and for rule text that does not parse.
[[nodiscard]] inline rewrite::dictionary make_dictionary(const std::optional<std::string>& preset_name, const std::vector<std::string>& rule_names,
                                                         const std::vector<std::string>& rule_texts, const std::vector<std::string>& without = {}) {
    std::vector<rewrite::rule> text_rules;
    for (const auto& t : rule_texts) {
        try {
            text_rules.push_back(rewrite::parse_rule(t));
        } catch (const pattern_error& e) {
            // An error is one line here: the column the message gives, without the caret diagram that
            // the parser puts under the text ("\n  TEXT\n  ^"; the text itself may hold line breaks).
            std::string what = e.what();
            if (const auto at = what.rfind("\n  " + t + "\n  "); at != std::string::npos && what.back() == '^') what.erase(at);
            throw usage_error("bad --rule: " + what);
        }
    }
    rules::options opts;
    std::vector<std::size_t> chosen;
    for (const auto& n : rule_names) chosen.push_back(find_rule(parse_rule_options(n, opts)));
    const preset* base = preset_name ? &find_preset(*preset_name) : nullptr;
    if (base && chosen.empty() && text_rules.empty() && without.empty()) return base->make();

    std::string name = base ? std::string(rules::find_preset(base->name)->dictionary_name) : std::string("custom");
    if (base) {
        if (!chosen.empty()) name += "+rules";
        const auto& reg = rules::registry();
        for (std::size_t i = 0; i < reg.size(); ++i)
            if (rules::in_preset(reg[i], base->name)) chosen.push_back(i);
    }
    std::sort(chosen.begin(), chosen.end());
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    for (const auto& w : without) {
        const std::size_t i = find_rule(w);
        const auto it = std::find(chosen.begin(), chosen.end(), i);
        if (it == chosen.end()) {
            std::string msg = "--without ";
            msg += w;
            msg += ": the rule is not in the dictionary (";
            if (base) msg.append("preset '").append(base->name).append("')");
            else msg += "the rules given)";
            throw usage_error(msg);
        }
        chosen.erase(it);
        name += '-';
        name += rules::registry()[i].name;
    }
    rewrite::dictionary d(name, {});
    for (std::size_t i : chosen) d.add(rules::registry()[i].make(opts).rule);
    for (auto& r : text_rules) {
        if (std::any_of(d.rules().begin(), d.rules().end(), [&](const rewrite::rule& x) { return x.name == r.name; })) continue; // same text twice
        d.add(std::move(r));
    }
    return d;
}

} // namespace surgery::cli
