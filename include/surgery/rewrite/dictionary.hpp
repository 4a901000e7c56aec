// The replacement dictionary: ordered, named rules `pattern -> replacement`, applied to a fixpoint with a report.
#pragma once

#include <algorithm>
#include <array>
#include <map>
#include <unordered_set>
#include <cctype>
#include <memory>
#include <optional>
#include <cstddef>
#include <functional>
#include <span>
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
#include "surgery/search/program.hpp"
#include "surgery/pattern/text.hpp"
#include "surgery/rewrite/text_rule.hpp"

namespace surgery::rewrite {

/// Whether a rule keeps the function of the network (exact) or changes it (approximate).
enum class exactness { exact, approximate };

[[nodiscard]] constexpr std::string_view to_string(exactness e) noexcept { return e == exactness::exact ? "exact" : "approximate"; }

/// One entry of a dictionary: a stable name, a pattern (type-erased into a finder), a replacement.
struct rule {
    std::string name;
    std::string pattern_text; ///< human-readable pattern, for reports and docs
    exactness kind = exactness::exact;
    /// The matches in a graph: a function of the graph alone (`apply` does not search again a graph
    /// that did not change since the rule's last search).
    std::function<std::vector<ir_match>(const ir::Graph&)> find;
    replacement with;
    std::string description;
    /// The op names outside the catalogue that a pattern given as text compares with op_type
    /// (`MyNpuOp`, `com.vendor::MyNpuOp`): a tool says why such a rule matched nothing without
    /// parsing its text again.
    std::vector<std::string> op_names;
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

/// A rule whose replacement is built by `fn(typed_context<P>&)`, which reads the matched nodes by
/// position with their types deduced (`c.op<1>()`) and returns the new value(s), or none to decline.
template <class P, class F>
    requires std::is_invocable_v<F&, typed_context<P>&>
[[nodiscard]] rule make_rule(std::string name, P p, F fn, exactness kind, std::string description = {}) {
    return make_rule(std::move(name), p, generate([fn = std::move(fn)](context& c) mutable {
                         typed_context<P> tc(c);
                         return fn(tc);
                     }),
                     kind, std::move(description));
}

/// A rule from a chain given as text ("HardSwish", "Conv,Relu").
[[nodiscard]] inline rule make_rule(std::string name, const pattern::runtime_chain& pat, replacement with, exactness kind,
                                    std::string description = {}) {
    rule r;
    r.name = std::move(name);
    r.pattern_text = pat.to_string();
    r.find = [pat](const ir::Graph& g) { return search::find_chains(g, pat); };
    r.op_names = std::vector<std::string>(pat.view().names.begin(), pat.view().names.end());
    r.kind = kind;
    r.with = std::move(with);
    r.description = std::move(description);
    return r;
}

/// A rule from a pattern given as text (chain or DAG, see pattern/text.hpp).
[[nodiscard]] inline rule make_rule(std::string name, const pattern::text_pattern& pat, replacement with, exactness kind,
                                    std::string description = {}) {
    rule r;
    r.name = std::move(name);
    r.pattern_text = pat.text();
    auto shared = std::make_shared<const pattern::text_pattern>(pat);
    r.find = [shared](const ir::Graph& g) { return search::find_program(g, shared->view()); };
    r.op_names = std::vector<std::string>(pat.view().names.begin(), pat.view().names.end());
    r.kind = kind;
    r.with = std::move(with);
    r.description = std::move(description);
    return r;
}

/// Parses a rule given as text: `PATTERN => REPLACEMENT` in the text pattern language (see
/// rewrite/text_rule.hpp for examples): a DAG pattern with named captures, constant operands and
/// attribute constraints, or a chain of op names; the replacement is an expression over the
/// captures (ops with attributes and several operands, numbers), `identity`, or a chain of
/// single-input op names applied to the match's input. The rule is named after the text and
/// counted as approximate. Throws `pattern_error` pointing at the column.
[[nodiscard]] inline rule parse_rule(std::string_view text) {
    const auto arrow = text.find("=>");
    if (arrow == std::string_view::npos)
        throw pattern_error("rule '" + std::string(text) + "': expected 'PATTERN => REPLACEMENT', e.g. 'HardSwish => Relu' or 'Mul(x, Sigmoid(x)) => Relu(x)'");
    const pattern::text_pattern pat(text.substr(0, arrow), text, 0);
    std::string_view rhs = text.substr(arrow + 2);
    std::size_t offset = arrow + 2;
    while (!rhs.empty() && std::isspace(static_cast<unsigned char>(rhs.front()))) rhs.remove_prefix(1), ++offset;
    while (!rhs.empty() && std::isspace(static_cast<unsigned char>(rhs.back()))) rhs.remove_suffix(1);
    if (rhs.empty()) pattern::detail::text_parser({}, text, offset).fail("the replacement is empty (write 'identity' to remove the match)", 0);
    const std::string rule_name(text);
    if (rhs == "identity") return make_rule(rule_name, pat, identity(), exactness::approximate, "from text");
    const bool legacy_chain = rhs.find('(') == std::string_view::npos && std::isupper(static_cast<unsigned char>(rhs.front()));
    if (legacy_chain) {
        // `OpA,OpB`: weightless single-input catalogue ops with default attributes, applied to the match's input.
        std::vector<ir::Op> ops;
        std::size_t start = 0;
        while (start <= rhs.size()) {
            auto end = rhs.find(',', start);
            if (end == std::string_view::npos) end = rhs.size();
            std::string_view nm = rhs.substr(start, end - start);
            while (!nm.empty() && nm.front() == ' ') nm.remove_prefix(1);
            while (!nm.empty() && nm.back() == ' ') nm.remove_suffix(1);
            const auto k = ir::kind_from_name(nm);
            if (!k)
                pattern::detail::text_parser({}, text, offset).fail("replacement op '" + std::string(nm) + "' is not in the op catalogue", start);
            const auto ar = ir::arity_of(ir::make_op(*k));
            if (ar.min_inputs != 1)
                pattern::detail::text_parser({}, text, offset)
                    .fail("replacement op '" + std::string(nm) + "' needs more than one input: write it with its operands, e.g. " +
                              std::string(nm) + "(x, ...)",
                          start);
            ops.push_back(ir::make_op(*k));
            start = end + 1;
        }
        return make_rule(rule_name, pat, ops.size() == 1 ? with_op(ops[0]) : with_chain(std::move(ops)), exactness::approximate, "from text");
    }
    auto built = std::make_shared<const detail::text_replacement>(pattern::parse_expression(rhs, text, offset), pat, text, offset);
    return make_rule(rule_name, pat, generate([built](context& c) { return built->build(c); }), exactness::approximate, "from text");
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
        /// Matches made only of nodes this rule created: its replacement matches its own pattern
        /// (it would rewrite forever). They are skipped and counted here.
        std::size_t self_matches = 0;
    };
    std::string dictionary;
    std::vector<rule_entry> rules;
    std::array<std::size_t, ir::op_count> ops_before{};
    std::array<std::size_t, ir::op_count> ops_after{};
    /// Node counts by op name (`domain::` prefixed outside the default domain), opaque ops included.
    std::map<std::string, std::size_t> op_counts_before, op_counts_after;
    std::size_t nodes_before = 0;
    std::size_t nodes_after = 0;
    std::size_t removed_constants = 0;
    int iterations = 0;
    bool converged = false;
    /// One replacement made: the rule (index into `rules`) and the names of the nodes it replaced,
    /// in match order. Filled only with `apply_options::log_replacements`: it lets a caller trace each
    /// rewrite back to the source model's nodes (the CLI's report maps them to PyTorch modules).
    struct replacement_entry {
        std::size_t rule = 0;
        std::vector<std::string> nodes;
    };
    std::vector<replacement_entry> replacements;

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
        for (const auto& r : rules) {
            os << "  " << r.name << " (" << rewrite::to_string(r.kind) << "): " << r.matches << " matches, " << r.replaced << " replaced";
            if (r.self_matches) os << ", " << r.self_matches << " skipped: the rule's replacement matches its own pattern";
            os << "\n";
        }
        os << "  nodes: " << nodes_before << " -> " << nodes_after << "\n";
        std::map<std::string, std::pair<std::size_t, std::size_t>> both;
        for (const auto& [n, c] : op_counts_before) both[n].first = c;
        for (const auto& [n, c] : op_counts_after) both[n].second = c;
        for (const auto& [n, c] : both) os << "    " << n << ": " << c.first << " -> " << c.second << (c.first != c.second ? "  *" : "") << "\n";
        return os.str();
    }
};

/// Options of `apply`.
struct apply_options {
    int max_iterations = 8;   ///< passes over the whole dictionary before giving up on a fixpoint
    bool verify = true;       ///< run ir::verify on the result before committing it
    /// Rewrite a copy and move it into the graph at the end, so that a failure leaves the graph
    /// unchanged (the strong guarantee). False rewrites the graph in place, without the copy (half
    /// the memory of a large model): on failure it is well formed but partly rewritten, for
    /// callers that discard it then (the CLI keeps the model it read and writes nothing).
    bool transactional = true;
    /// Most nodes the graph may reach while rules run: a rule that grows it beyond (a replacement
    /// bigger than what it replaces, applied again and again) stops the rewrite with an error
    /// naming the rule. 0: twice the initial node count plus 10,000.
    std::size_t max_nodes = 0;
    /// Record every replacement in `report::replacements` (the matched nodes' names).
    bool log_replacements = false;
};

namespace detail {
/// The set of a match's nodes as a short string (sorted indices, 7 bits per byte), so that a match
/// seen again is recognised; a match of up to three nodes of a graph under 2^21 nodes fits in the
/// string itself (no allocation).
inline std::string match_key(const ir_match& m) {
    std::array<std::uint32_t, 8> small{};
    std::vector<std::uint32_t> large;
    if (m.nodes.size() > small.size()) large.resize(m.nodes.size());
    const std::span<std::uint32_t> ids(large.empty() ? small.data() : large.data(), m.nodes.size());
    for (std::size_t k = 0; k < m.nodes.size(); ++k) ids[k] = static_cast<std::uint32_t>(m.nodes[k].index());
    std::sort(ids.begin(), ids.end());
    std::string key;
    for (std::uint32_t x : ids) {
        for (; x >= 0x80u; x >>= 7) key.push_back(static_cast<char>((x & 0x7fu) | 0x80u));
        key.push_back(static_cast<char>(x));
    }
    return key;
}

/// A short identifier for rule `r` at position `i`, for the names of the nodes it creates: its
/// name when that is a short identifier, else `rule<i>` (text rules are named after their text).
inline std::string rule_id(const rule& r, std::size_t i) {
    const bool ident = !r.name.empty() && r.name.size() <= 48 &&
                       std::all_of(r.name.begin(), r.name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    return ident ? r.name : "rule" + std::to_string(i);
}
} // namespace detail

/// Applies the rules of `dict` to `g` in order, repeating the whole list until nothing matches
/// (a fixpoint) or `max_iterations` passes were made. Strong guarantee (unless `opts.transactional` is false): if any replacement fails
/// (`rewrite_error` naming the rule and the node), the graph outgrows `max_nodes`, or the result
/// does not verify, `g` is unchanged. New nodes are named `<rule id>_<n>/<op>_<k>`: short, and
/// stable from run to run. A match made only of nodes the same rule created is skipped and
/// reported (`self_matches`): the rule would otherwise rewrite its own output forever.
inline report apply(ir::Graph& g, const dictionary& dict, apply_options opts = {}) {
    report rep;
    rep.dictionary = dict.name();
    rep.ops_before = g.op_histogram();
    rep.op_counts_before = g.op_counts();
    rep.nodes_before = g.num_nodes();
    for (const auto& r : dict.rules()) rep.rules.push_back({r.name, r.kind, 0, 0, 0});
    const std::size_t max_nodes = opts.max_nodes ? opts.max_nodes : 2 * g.num_nodes() + 10000;

    std::optional<ir::Graph> copy; // constants are shared, so this copies structure, not weights
    if (opts.transactional) copy.emplace(g);
    ir::Graph& work = opts.transactional ? *copy : g;
    ir::infer_shapes(work, false);
    std::vector<std::uint32_t> created_by; // node index -> 1 + the rule that created it (0: the input's)
    // Per rule: the matches it found and did not replace (declined, or its own output), by
    // detail::match_key, so that one found again in a later pass is counted once. A replaced match
    // needs no entry: its nodes are erased, so it cannot be found again.
    std::vector<std::unordered_set<std::string>> kept(dict.rules().size());
    std::size_t counter = 0;
    // A rule searches again only if the graph changed since its last search: finding is a function
    // of the graph, so it would find the same matches, every one already replaced or declined. (A
    // large graph's last pass, which only confirms the fixpoint, then searches only with the rules
    // that ran before the last change.)
    std::size_t version = 0; // rule applications so far that changed the graph
    std::vector<std::size_t> searched_at(dict.rules().size(), static_cast<std::size_t>(-1));
    // Rule i searched for and applied once. Returns whether the graph changed, and whether the
    // replacements made shapes known downstream (a folded shape computation, a constant where a
    // value was computed), which may let the same rule find more.
    auto run_rule = [&](std::size_t i) -> std::pair<bool, bool> {
        if (searched_at[i] == version) return {false, false};
        searched_at[i] = version;
        const rule& r = dict.rules()[i];
        const std::string id = detail::rule_id(r, i);
        auto matches = r.find(work);
        // Skip matches made only of this rule's own output. A match found again in a later pass
        // (declined, or skipped, before) is counted once.
        auto seen_before = [&](const ir_match& m) { return !kept[i].empty() && kept[i].count(detail::match_key(m)) > 0; };
        std::erase_if(matches, [&](const ir_match& m) {
            const bool own = std::all_of(m.nodes.begin(), m.nodes.end(), [&](ir::NodeId n) {
                return n.index() < created_by.size() && created_by[n.index()] == i + 1;
            });
            if (own && kept[i].insert(detail::match_key(m)).second) ++rep.rules[i].self_matches;
            return own;
        });
        for (const auto& m : matches)
            if (!seen_before(m)) ++rep.rules[i].matches;
        if (matches.empty()) return {false, false};
        value_forwarding fwd;
        std::size_t replaced = 0;
        const std::size_t first_new = work.node_bound();
        // The sweep after this rule starts from what its replacements may leave dead: the
        // producers of the matched nodes' inputs, and the new nodes. Dead code the rule did not
        // make is remove_dead_code's.
        std::vector<ir::NodeId> sweep;
        std::vector<ir::ValueId> sharper; // values that tell more than those they replaced
        for (auto& m : matches) {
            const bool fresh_nodes = std::all_of(m.nodes.begin(), m.nodes.end(), [&](ir::NodeId n) { return work.node(n).alive; });
            if (fresh_nodes)
                for (ir::NodeId n : m.nodes)
                    for (ir::ValueId in : work.node(n).inputs)
                        if (in)
                            if (const ir::NodeId p = work.producer(in)) sweep.push_back(p);
            std::vector<std::string> names;
            if (opts.log_replacements)
                for (ir::NodeId n : m.nodes) names.push_back(work.node(n).name);
            if (detail::replace_in_place(work, m, r.with, r.name, &fwd, id + "_" + std::to_string(counter++) + "/", &sharper)) {
                ++replaced;
                if (opts.log_replacements) rep.replacements.push_back({i, std::move(names)});
            } else {
                kept[i].insert(detail::match_key(m));
            }
        }
        rep.rules[i].replaced += replaced;
        created_by.resize(work.node_bound(), 0);
        for (std::size_t n = first_new; n < work.node_bound(); ++n) created_by[n] = static_cast<std::uint32_t>(i + 1);
        if (work.num_nodes() > max_nodes)
            throw rewrite_error(r.name, matches.front().nodes.empty() ? "?" : work.label(matches.front().nodes.front()),
                                "the graph grew from " + std::to_string(rep.nodes_before) + " to " + std::to_string(work.num_nodes()) +
                                    " nodes, beyond the budget of " + std::to_string(max_nodes) +
                                    " (does the replacement grow what it replaces, again and again?)");
        if (replaced == 0) return {false, false}; // every match declined: nothing changed
        for (std::size_t n = first_new; n < work.node_bound(); ++n) sweep.push_back(ir::NodeId{n});
        rep.removed_constants += work.remove_dead(sweep).second;
        // What the replacements made known (a folded shape computation, a constant where a
        // value was computed) reaches the shapes downstream, so that later searches see it:
        // without it, a constant chain waits for the model to be read again to fold further.
        const bool gained = !sharper.empty() && ir::refine_shapes(work, sharper) > 0;
        ++version;
        return {true, gained};
    };
    for (int it = 0; it < std::max(1, opts.max_iterations); ++it) {
        bool changed = false;
        rep.iterations = it + 1;
        for (std::size_t i = 0; i < dict.rules().size(); ++i) {
            // A rule whose replacements made shapes known downstream searches again at once, up to
            // `max_rounds` times: one level of an exporter's shape computation folded makes the next
            // one foldable (Swin's window partitions nest dozens deep), which would otherwise take a
            // pass over the whole dictionary per level.
            constexpr int max_rounds = 64;
            for (int round = 0; round < max_rounds; ++round) {
                const auto [did, again] = run_rule(i);
                changed = changed || did;
                if (!again) break;
            }
        }
        if (!changed) {
            rep.converged = true;
            break;
        }
    }
    if (opts.verify) ir::verify(work);
    rep.ops_after = work.op_histogram();
    rep.op_counts_after = work.op_counts();
    rep.nodes_after = work.num_nodes();
    if (opts.transactional) g = std::move(work);
    return rep;
}

} // namespace surgery::rewrite
