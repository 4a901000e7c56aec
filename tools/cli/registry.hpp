// The rule registry of the tool: every built-in rule by stable name, the presets, and dictionaries built from names.
#pragma once

#include <algorithm>
#include <functional>
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
    static const std::vector<preset> list{
        {"mobilenet_v3", "the paper's MobileNetV3 dictionary (rules::mobilenet_v3_lite): SE removal, HardSwish/HardSigmoid -> ReLU",
         [] { return rules::mobilenet_v3_lite(); }},
        {"exact", "exact clean-up only (rules::exact_cleanup): the network computes the same function", [] { return rules::exact_cleanup(); }},
        {"lite", "every lite rule followed by the exact clean-up (rules::lite)", [] { return rules::lite(); }},
    };
    return list;
}

/// Every built-in rule once, by stable name, in the order rules must run (the order of
/// rules::lite(), which contains every lite rule and the exact clean-up, then any rule that only
/// another preset has).
[[nodiscard]] inline const std::vector<rewrite::rule>& all_rules() {
    static const std::vector<rewrite::rule> list = [] {
        std::vector<rewrite::rule> out;
        auto add = [&](const rewrite::dictionary& d) {
            for (const auto& r : d.rules())
                if (std::none_of(out.begin(), out.end(), [&](const rewrite::rule& x) { return x.name == r.name; })) out.push_back(r);
        };
        add(rules::lite());
        for (const auto& p : presets()) add(p.make());
        return out;
    }();
    return list;
}

/// The presets that contain rule `name`.
[[nodiscard]] inline std::vector<std::string> presets_of(std::string_view name) {
    std::vector<std::string> out;
    for (const auto& p : presets()) {
        const auto d = p.make();
        if (std::any_of(d.rules().begin(), d.rules().end(), [&](const rewrite::rule& r) { return r.name == name; })) out.push_back(p.name);
    }
    return out;
}

[[nodiscard]] inline const preset& find_preset(std::string_view name) {
    for (const auto& p : presets())
        if (p.name == name) return p;
    std::string known;
    for (const auto& p : presets()) known += (known.empty() ? "" : ", ") + p.name;
    throw usage_error("unknown preset '" + std::string(name) + "' (presets: " + known + ")");
}

/// Index of rule `name` in `all_rules()`; usage_error listing the way to see them otherwise.
[[nodiscard]] inline std::size_t find_rule(std::string_view name) {
    const auto& rs = all_rules();
    for (std::size_t i = 0; i < rs.size(); ++i)
        if (rs[i].name == name) return i;
    throw usage_error("unknown rule '" + std::string(name) + "' (see 'surgery lite --list-rules')");
}

/// Splits "a,b, c" into names; empty items are a usage error.
[[nodiscard]] inline std::vector<std::string> split_names(const std::string& text, std::string_view option) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        std::string item = text.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (item.empty()) throw usage_error("option '--" + std::string(option) + "' has an empty rule name in '" + text + "'");
        out.push_back(std::move(item));
        start = end + 1;
    }
    return out;
}

/// The dictionary the command line asks for: the preset's rules and the named built-in rules, each
/// once and in the built-in order (so SE removal always runs before its gate's activation is
/// replaced), then the text rules in the order given. A preset given alone is used as it is.
/// Throws usage_error for an unknown preset or rule name and for rule text that does not parse.
[[nodiscard]] inline rewrite::dictionary make_dictionary(const std::optional<std::string>& preset_name, const std::vector<std::string>& rule_names,
                                                         const std::vector<std::string>& rule_texts) {
    std::vector<rewrite::rule> text_rules;
    for (const auto& t : rule_texts) {
        try {
            text_rules.push_back(rewrite::parse_rule(t));
        } catch (const pattern_error& e) {
            throw usage_error(std::string("bad --rule: ") + e.what());
        }
    }
    std::vector<std::size_t> chosen;
    for (const auto& n : rule_names) chosen.push_back(find_rule(n));
    std::optional<rewrite::dictionary> base;
    if (preset_name) base = find_preset(*preset_name).make();
    if (base && chosen.empty() && text_rules.empty()) return *base;

    std::string name = base ? base->name() : std::string("custom");
    if (base) {
        if (!chosen.empty()) name += "+rules";
        for (const auto& r : base->rules()) {
            const auto& rs = all_rules();
            for (std::size_t i = 0; i < rs.size(); ++i)
                if (rs[i].name == r.name) chosen.push_back(i);
        }
    }
    std::sort(chosen.begin(), chosen.end());
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    rewrite::dictionary d(name, {});
    for (std::size_t i : chosen) d.add(all_rules()[i]);
    for (auto& r : text_rules) {
        if (std::any_of(d.rules().begin(), d.rules().end(), [&](const rewrite::rule& x) { return x.name == r.name; })) continue; // same text twice
        d.add(std::move(r));
    }
    return d;
}

} // namespace surgery::cli
