// The replacement dictionary: ordered, named rules `pattern -> replacement`, applied to a fixpoint with a report.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/shape_inference.hpp"
#include "surgery/ir/verify.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/pattern/runtime_chain.hpp"
#include "surgery/rewrite/replacement.hpp"
#include "surgery/rewrite/replacer.hpp"
#include "surgery/search/chain.hpp"
#include "surgery/search/dag.hpp"

namespace surgery::rewrite {

/// Whether a rule keeps the function of the network (exact) or changes it (approximate).
enum class exactness { exact, approximate };

[[nodiscard]] constexpr std::string_view to_string(exactness e) noexcept { return e == exactness::exact ? "exact" : "approximate"; }

/// One entry of a dictionary: a stable name, a pattern (type-erased into a finder), a replacement.
struct rule {
    std::string name;
    std::string pattern_text; ///< human-readable pattern, for reports and docs
    exactness kind = exactness::exact;
    std::function<std::vector<ir_match>(const ir::Graph&)> find;
    replacement with;
    std::string description;
};

namespace detail {
template <class... Ps>
std::string chain_text(pattern::chain<Ps...>*) {
    std::string s;
    std::size_t i = 0;
    auto one = [&]<class P>(P*) {
        if (i++) s += " -> ";
        if constexpr (requires { typename P::op_type; }) s += std::string(P::op_type::name) + (P::has_predicates ? "[...]" : "");
        else s += "?";
    };
    (one(static_cast<Ps*>(nullptr)), ...);
    return s;
}
} // namespace detail

/// A rule from a compile-time chain or DAG pattern.
template <class P>
[[nodiscard]] rule make_rule(std::string name, P, replacement with, exactness kind, std::string description = {}) {
    static_assert(pattern::chain_pattern<P> || pattern::dag_pattern<P>,
                  "surgery::rewrite::make_rule(name, pattern, ...): pattern must be a pattern::chain<...> or a pattern::node<...> "
                  "(use the runtime_chain overload for patterns given as text)");
    rule r;
    r.name = std::move(name);
    if constexpr (pattern::chain_pattern<P>) {
        r.pattern_text = detail::chain_text(static_cast<P*>(nullptr));
        r.find = [](const ir::Graph& g) { return search::find_chains(g, P{}); };
    } else {
        r.pattern_text = "dag pattern";
        r.find = [](const ir::Graph& g) { return search::find_dags(g, P{}); };
    }
    r.kind = kind;
    r.with = std::move(with);
    r.description = std::move(description);
    return r;
}

/// A rule from a chain given as text ("HardSwish", "Conv,Relu").
[[nodiscard]] inline rule make_rule(std::string name, const pattern::runtime_chain& pat, replacement with, exactness kind,
                                    std::string description = {}) {
    rule r;
    r.name = std::move(name);
    r.pattern_text = pat.to_string();
    r.find = [pat](const ir::Graph& g) { return search::find_chains(g, pat); };
    r.kind = kind;
    r.with = std::move(with);
    r.description = std::move(description);
    return r;
}

/// Parses a rule given as text, `OpA,OpB=>OpC[,OpD]` or `OpA,OpB=>identity` (weightless replacement
/// ops with default attributes). The rule is named after the text. Throws `pattern_error`.
[[nodiscard]] inline rule parse_rule(std::string_view text) {
    const auto arrow = text.find("=>");
    if (arrow == std::string_view::npos)
        throw pattern_error("rule '" + std::string(text) + "': expected 'PATTERN=>REPLACEMENT', e.g. 'HardSwish=>Relu'");
    pattern::runtime_chain pat(text.substr(0, arrow), true);
    std::string_view rhs = text.substr(arrow + 2);
    while (!rhs.empty() && rhs.front() == ' ') rhs.remove_prefix(1);
    while (!rhs.empty() && rhs.back() == ' ') rhs.remove_suffix(1);
    if (rhs == "identity") return make_rule(std::string(text), pat, identity(), exactness::approximate, "from the command line");
    std::vector<ir::Op> ops;
    std::size_t start = 0;
    while (start <= rhs.size()) {
        auto end = rhs.find(',', start);
        if (end == std::string_view::npos) end = rhs.size();
        std::string_view nm = rhs.substr(start, end - start);
        while (!nm.empty() && nm.front() == ' ') nm.remove_prefix(1);
        while (!nm.empty() && nm.back() == ' ') nm.remove_suffix(1);
        const auto k = ir::kind_from_name(nm);
        if (!k) throw pattern_error("rule '" + std::string(text) + "': replacement op '" + std::string(nm) + "' is not in the op catalogue");
        const auto ar = ir::arity_of(ir::make_op(*k));
        if (ar.min_inputs != 1)
            throw pattern_error("rule '" + std::string(text) + "': replacement op '" + std::string(nm) +
                                "' needs more than one input (weights); only single-input ops can be given as text");
        ops.push_back(ir::make_op(*k));
        start = end + 1;
    }
    return make_rule(std::string(text), pat, ops.size() == 1 ? with_op(ops[0]) : with_chain(std::move(ops)), exactness::approximate,
                     "from the command line");
}

/// An ordered list of rules. Order matters: Squeeze-and-Excitation removal must run before its
/// HardSigmoid gate is turned into a ReLU, for instance.
class dictionary {
public:
    dictionary() = default;
    dictionary(std::string name, std::vector<rule> rules) : name_(std::move(name)), rules_(std::move(rules)) {}

    dictionary& add(rule r) {
        for (const auto& x : rules_)
            if (x.name == r.name) throw error("dictionary '" + name_ + "': a rule named '" + r.name + "' is already present");
        rules_.push_back(std::move(r));
        return *this;
    }
    dictionary& append(const dictionary& other) {
        for (const auto& r : other.rules_) add(r);
        return *this;
    }
    [[nodiscard]] const std::vector<rule>& rules() const noexcept { return rules_; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] std::size_t size() const noexcept { return rules_.size(); }

private:
    std::string name_;
    std::vector<rule> rules_;
};

/// What `apply` did, per rule and overall.
struct report {
    struct rule_entry {
        std::string name;
        exactness kind = exactness::exact;
        std::size_t matches = 0;  ///< occurrences found, over all iterations
        std::size_t replaced = 0; ///< occurrences replaced
    };
    std::string dictionary;
    std::vector<rule_entry> rules;
    std::array<std::size_t, ir::op_count> ops_before{};
    std::array<std::size_t, ir::op_count> ops_after{};
    std::size_t nodes_before = 0;
    std::size_t nodes_after = 0;
    std::size_t removed_constants = 0;
    int iterations = 0;
    bool converged = false;

    [[nodiscard]] std::size_t total_replaced() const {
        std::size_t n = 0;
        for (const auto& r : rules) n += r.replaced;
        return n;
    }
    /// A human-readable table: one line per rule, then op counts that changed.
    [[nodiscard]] std::string to_string() const {
        std::ostringstream os;
        os << "dictionary '" << dictionary << "': " << total_replaced() << " replacements in " << iterations << " iteration(s), "
           << (converged ? "converged" : "NOT converged (iteration cap reached)") << "\n";
        for (const auto& r : rules)
            os << "  " << r.name << " (" << rewrite::to_string(r.kind) << "): " << r.matches << " matches, " << r.replaced << " replaced\n";
        os << "  nodes: " << nodes_before << " -> " << nodes_after << "\n";
        for (std::size_t k = 0; k < ir::op_count; ++k)
            if (ops_before[k] || ops_after[k])
                os << "    " << ir::op_names[k] << ": " << ops_before[k] << " -> " << ops_after[k]
                   << (ops_before[k] != ops_after[k] ? "  *" : "") << "\n";
        return os.str();
    }
};

/// Options of `apply`.
struct apply_options {
    int max_iterations = 8;   ///< passes over the whole dictionary before giving up on a fixpoint
    bool verify = true;       ///< run ir::verify on the result before committing it
};

/// Applies the rules of `dict` to `g` in order, repeating the whole list until nothing matches
/// (a fixpoint) or `max_iterations` passes were made. Strong guarantee: if any replacement fails
/// (`rewrite_error` naming the rule and the node) or the result does not verify, `g` is unchanged.
inline report apply(ir::Graph& g, const dictionary& dict, apply_options opts = {}) {
    report rep;
    rep.dictionary = dict.name();
    rep.ops_before = g.op_histogram();
    rep.nodes_before = g.num_nodes();
    for (const auto& r : dict.rules()) rep.rules.push_back({r.name, r.kind, 0, 0});

    ir::Graph work = g; // constants are shared, so this copies structure, not weights
    ir::infer_shapes(work, false);
    for (int it = 0; it < std::max(1, opts.max_iterations); ++it) {
        bool changed = false;
        rep.iterations = it + 1;
        for (std::size_t i = 0; i < dict.rules().size(); ++i) {
            const rule& r = dict.rules()[i];
            const auto matches = r.find(work);
            rep.rules[i].matches += matches.size();
            if (matches.empty()) continue;
            value_forwarding fwd;
            std::size_t replaced = 0;
            for (const auto& m : matches)
                if (replace(work, m, r.with, r.name, &fwd)) ++replaced;
            rep.rules[i].replaced += replaced;
            if (replaced == 0) continue; // every match declined: nothing changed
            rep.removed_constants += work.remove_dead().second;
            changed = true;
        }
        if (!changed) {
            rep.converged = true;
            break;
        }
    }
    if (opts.verify) ir::verify(work);
    rep.ops_after = work.op_histogram();
    rep.nodes_after = work.num_nodes();
    g = std::move(work);
    return rep;
}

} // namespace surgery::rewrite
