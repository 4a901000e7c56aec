// The registry of built-in rules: every rule by stable name, in the order they run, with its
// presets; the presets as dictionaries; and the rule reference (docs/rules.md) generated from it.
//
//   rewrite::apply(g, rules::preset("paper"));                       // the paper's dictionary
//   rules::options o; o.large_kernel_min = 5;
//   rewrite::apply(g, rules::preset("lite", o));                      // with 5x5 kernels decomposed too
//   for (const auto& e : rules::registry()) std::cout << e.name << "\n";
//
// Presets: `exact` keeps the function (clean-up, folding, exact restructuring); `paper` is the
// paper's dictionary in TI's default form (SE removed; HardSwish, HardSigmoid, SiLU, GELU, ReLU6 to
// ReLU; LayerNorm to BatchNorm; kernels of 7 and more as 3x3 stacks; Focus as a conv) plus the exact
// rules; `lite` is `paper` plus the opt-in lite rules (Mish, LeakyReLU, PReLU, ELU to ReLU);
// `mobilenet_v3` is the paper's MobileNetV3 dictionary alone (SE removal, HardSwish and HardSigmoid
// to ReLU), kept for compatibility.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/rules/common.hpp"
#include "surgery/rules/exact.hpp"
#include "surgery/rules/fold.hpp"
#include "surgery/rules/lite.hpp"

namespace surgery::rules {

/// A named set of rules.
struct preset_info {
    std::string_view name;
    std::string_view dictionary_name; ///< the name its dictionary carries in reports
    std::string_view description;
};

/// The presets, from the smallest change to the largest.
[[nodiscard]] inline const std::vector<preset_info>& presets() {
    static const std::vector<preset_info> list{
        {"exact", "exact", "only rules that keep the function: dead code, no-ops, folding, exact restructuring"},
        {"paper", "paper",
         "the paper's dictionary in TI's default form (SE removed; HardSwish, HardSigmoid, SiLU, GELU, ReLU6 to ReLU; LayerNorm to "
         "BatchNorm; kernels >= 7 as 3x3 stacks; Focus as a conv) and the exact rules"},
        {"lite", "lite", "paper and the opt-in lite rules (Mish, LeakyReLU, PReLU, ELU to ReLU)"},
        {"mobilenet_v3", "mobilenet_v3_lite", "the paper's MobileNetV3 dictionary alone: SE removal, HardSwish and HardSigmoid to ReLU"},
    };
    return list;
}

/// One built-in rule: stable name, presets, and how to make it (with its reference entry).
struct registry_entry {
    std::string_view name;
    std::vector<std::string_view> presets;
    std::function<definition(const options&)> make;
};

/// Every built-in rule once, in the order they run: clean-up first (so patterns see through
/// Identity and constants), Squeeze-and-Excitation removal before its gate's activation is
/// replaced, HardSwish and HardSigmoid before ReLU6 (their written forms contain a ReLU6),
/// LayerNorm before the Transpose merging and BatchNorm folding that tidy what it leaves.
[[nodiscard]] inline const std::vector<registry_entry>& registry() {
    using V = std::vector<std::string_view>;
    const V all{"exact", "paper", "lite"}, paper{"paper", "lite"}, lite{"lite"}, paper_mnv3{"paper", "lite", "mobilenet_v3"};
    auto plain = [](definition (*f)()) { return [f](const options&) { return f(); }; };
    static const std::vector<registry_entry> list{
        {"fold_constants", all, [](const options&) { return defs::fold_constants(); }},
        {"remove_dead_code", all, plain(defs::remove_dead_code)},
        {"remove_identity", all, plain(defs::remove_identity)},
        {"remove_dropout", all, plain(defs::remove_dropout)},
        {"remove_noop_transpose", all, plain(defs::remove_noop_transpose)},
        {"remove_noop_reshape", all, plain(defs::remove_noop_reshape)},
        {"remove_noop_cast", all, plain(defs::remove_noop_cast)},
        {"remove_noop_pad", all, plain(defs::remove_noop_pad)},
        {"remove_neutral_arithmetic", all, plain(defs::remove_neutral_arithmetic)},
        {"remove_squeeze_excitation", paper_mnv3, plain(defs::remove_squeeze_excitation)},
        {"focus_to_conv", all, plain(defs::focus_to_conv)},
        {"hardswish_to_relu", paper_mnv3, plain(defs::hardswish_to_relu)},
        {"hardsigmoid_to_relu", paper_mnv3, plain(defs::hardsigmoid_to_relu)},
        {"silu_to_relu", paper, plain(defs::silu_to_relu)},
        {"gelu_to_relu", paper, plain(defs::gelu_to_relu)},
        {"relu6_to_relu", paper, plain(defs::relu6_to_relu)},
        {"mish_to_relu", lite, plain(defs::mish_to_relu)},
        {"leaky_relu_to_relu", lite, plain(defs::leaky_relu_to_relu)},
        {"prelu_to_relu", lite, plain(defs::prelu_to_relu)},
        {"elu_to_relu", lite, plain(defs::elu_to_relu)},
        {"layernorm_to_batchnorm", paper, plain(defs::layernorm_to_batchnorm)},
        {"large_kernel_to_3x3", paper, [](const options& o) { return defs::large_kernel_to_3x3(o); }},
        {"maxpool_to_3x3_stack", all, plain(defs::maxpool_to_3x3_stack)},
        {"merge_transposes", all, plain(defs::merge_transposes)},
        {"merge_reshapes", all, plain(defs::merge_reshapes)},
        {"fold_batchnorm", all, plain(defs::fold_batchnorm)},
        {"fold_affine_into_conv", all, plain(defs::fold_affine_into_conv)},
    };
    return list;
}

/// Names of rules merged into others, and the rule that has their forms now.
inline constexpr std::pair<std::string_view, std::string_view> renamed_rules[] = {
    {"hardswish_decomposed_to_relu", "hardswish_to_relu"},
    {"gelu_erf_to_relu", "gelu_to_relu"},
    {"layernorm2d_to_batchnorm", "layernorm_to_batchnorm"},
};

/// The registry entry of rule `name` (or of the rule a former name was merged into), or nullptr.
[[nodiscard]] inline const registry_entry* find_rule(std::string_view name) {
    for (const auto& [old, now] : renamed_rules)
        if (name == old) name = now;
    for (const auto& e : registry())
        if (e.name == name) return &e;
    return nullptr;
}

/// The preset named `name`, or nullptr.
[[nodiscard]] inline const preset_info* find_preset(std::string_view name) {
    for (const auto& p : presets())
        if (p.name == name) return &p;
    return nullptr;
}

/// Whether rule `e` belongs to preset `p`.
[[nodiscard]] inline bool in_preset(const registry_entry& e, std::string_view p) {
    return std::find(e.presets.begin(), e.presets.end(), p) != e.presets.end();
}

/// Built-in rule `name` (throws `surgery::error` naming the known rules when there is none).
[[nodiscard]] inline rewrite::rule make_rule(std::string_view name, const options& opts = {}) {
    const registry_entry* e = find_rule(name);
    if (!e) throw error("rules::make_rule: no built-in rule named '" + std::string(name) + "'");
    return e->make(opts).rule;
}

/// The dictionary of preset `name`, its rules in registry order (throws `surgery::error` for an unknown preset).
[[nodiscard]] inline rewrite::dictionary preset(std::string_view name, const options& opts = {}) {
    const preset_info* p = find_preset(name);
    if (!p) {
        std::string known;
        for (const auto& q : presets()) known += (known.empty() ? "" : ", ") + std::string(q.name);
        throw error("rules::preset: no preset named '" + std::string(name) + "' (presets: " + known + ")");
    }
    rewrite::dictionary d{std::string(p->dictionary_name), {}};
    for (const auto& e : registry())
        if (in_preset(e, name)) d.add(e.make(opts).rule);
    return d;
}

/// The paper's MobileNetV3 dictionary: SE removal first (its gate is a HardSigmoid), then the activations.
[[nodiscard]] inline rewrite::dictionary mobilenet_v3_lite() { return preset("mobilenet_v3"); }
/// The exact clean-up (preset `exact`).
[[nodiscard]] inline rewrite::dictionary exact_cleanup() { return preset("exact"); }
/// Every lite rule and the exact ones (preset `lite`).
[[nodiscard]] inline rewrite::dictionary lite() { return preset("lite"); }
/// The paper's dictionary (preset `paper`).
[[nodiscard]] inline rewrite::dictionary paper() { return preset("paper"); }

/// The rules as `surgery lite --list-rules` prints them: the presets, then one line per rule in
/// the order they run (name, exactness, presets, what it changes).
[[nodiscard]] inline std::string list_text(const options& opts = {}) {
    std::ostringstream os;
    os << std::left << "presets:\n";
    for (const auto& p : presets()) os << "  " << std::setw(14) << p.name << " " << p.description << "\n";
    os << "rules (in the order they run):\n";
    for (const auto& e : registry()) {
        const definition d = e.make(opts);
        std::string in(1, '['); // appended: g++ 12 warns (-Wrestrict) on "[" + std::string
        for (auto p : e.presets) in.append(in.size() > 1 ? "," : "").append(p);
        in += ']';
        os << "  " << std::setw(27) << e.name << " " << std::setw(12) << rewrite::to_string(d.rule.kind) << " " << std::setw(29) << in << " "
           << d.rule.description << "\n";
    }
    return os.str();
}

/// The rule reference in Markdown (the generated part of docs/rules.md; a test checks they agree).
[[nodiscard]] inline std::string reference_markdown(const options& opts = {}) {
    std::ostringstream os;
    auto code = [](std::string_view s) {
        std::string out;
        out += '`';
        for (char ch : s) out.append(ch == '|' ? "\\|" : std::string(1, ch));
        out += '`';
        return out;
    };
    os << "## Presets\n\n| preset | rules | what it is |\n|---|---|---|\n";
    for (const auto& p : presets()) {
        std::size_t n = 0;
        for (const auto& e : registry()) n += in_preset(e, p.name) ? 1 : 0;
        os << "| `" << p.name << "` | " << n << " | " << p.description << " |\n";
    }
    os << "\n## Rules, in the order they run\n\n| rule | exact? | presets | what it changes |\n|---|---|---|---|\n";
    for (const auto& e : registry()) {
        const definition d = e.make(opts);
        std::string in;
        for (auto p : e.presets) in += (in.empty() ? "" : ", ") + std::string(p);
        os << "| [`" << e.name << "`](#" << e.name << ") | " << rewrite::to_string(d.rule.kind) << " | " << in << " | " << d.rule.description << " |\n";
    }
    for (const auto& e : registry()) {
        const definition d = e.make(opts);
        std::string in;
        for (auto p : e.presets) in.append(in.empty() ? "" : ", ").append("`").append(p).append("`");
        os << "\n### " << e.name << "\n\n" << d.rule.description << ". **" << rewrite::to_string(d.rule.kind) << "**; presets " << in << ".\n\n";
        os << "| matches | emitted by |\n|---|---|\n";
        for (const auto& f : d.forms) os << "| " << (f.find ? f.text : code(f.text)) << " | " << f.source << " |\n";
        os << "\nProduces: " << d.produces << ".\n";
    }
    return os.str();
}

} // namespace surgery::rules
