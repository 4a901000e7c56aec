// The replacer: splices a replacement in place of a match, transactionally (validate, then commit).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/shape_inference.hpp"
#include "surgery/rewrite/replacement.hpp"
#include "surgery/search/match.hpp"

namespace surgery::rewrite {

/// Values replaced earlier in a batch of replacements: old exit -> the value that took its place.
/// Matches found in one search hold value ids from before the batch; this keeps them meaningful.
/// Indexed by value id (an array as long as the largest id forwarded: a batch forwards as many
/// values as it replaces matches, a hash map per batch cost more than the replacements).
class value_forwarding {
public:
    void add(ir::ValueId from, ir::ValueId to) {
        if (!from) return;
        if (from.index() >= to_.size()) to_.resize(from.index() + 1);
        to_[from.index()] = to;
    }
    [[nodiscard]] ir::ValueId resolve(ir::ValueId v) const {
        while (v && v.index() < to_.size() && to_[v.index()]) v = to_[v.index()];
        return v;
    }

private:
    std::vector<ir::ValueId> to_; ///< none: not forwarded
};

namespace detail {

inline std::vector<ir::ValueId> build_replacement(ir::Graph& g, ir::Builder& b, const ir_match& m, const replacement& r,
                                                  std::string_view rule) {
    context ctx(g, b, m, rule);
    return std::visit(
        [&](const auto& x) -> std::vector<ir::ValueId> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bypass>) {
                return {ctx.input()};
            } else if constexpr (std::is_same_v<T, single_op>) {
                return {b.apply(x.op, {ctx.input()})};
            } else if constexpr (std::is_same_v<T, op_chain>) {
                if (x.ops.empty()) ctx.fail("the replacement chain is empty");
                ir::ValueId v = ctx.input();
                for (const auto& op : x.ops) v = b.apply(op, {v});
                return {v};
            } else {
                if (!x.build) ctx.fail("the generator is empty");
                return x.build(ctx);
            }
        },
        r);
}

inline bool used(const ir::Graph& g, ir::ValueId v) { return !g.value(v).uses.empty() || g.is_output(v); }

/// `replace` on a match it may update (its boundary refreshed, its captures forwarded): what the
/// dictionary uses, which needs no copy of each of its matches.
/// `sharper`, when given, receives each new value that tells more than the exit it replaces (a
/// constant where a computed value was, or a better-known shape): what `ir::refine_shapes` starts from.
inline bool replace_in_place(ir::Graph& g, ir_match& m, const replacement& r, std::string_view rule, value_forwarding* fwd,
                             std::string name_prefix, std::vector<ir::ValueId>* sharper = nullptr) {
    if (m.nodes.empty()) throw rewrite_error(std::string(rule), "?", "empty match");
    for (ir::NodeId n : m.nodes)
        if (n.index() >= g.node_bound() || !g.node(n).alive)
            throw rewrite_error(std::string(rule), "#" + std::to_string(n.index()), "the match refers to a node that was removed");
    const ir::NodeId first_node = m.nodes.front();
    const auto first = [&] { return g.label(first_node); }; // for messages: built only when one is

    // Refresh the boundary (inputs may have been rewired by earlier replacements of the batch).
    search::detail::fill_boundary(g, m);
    if (fwd)
        for (auto& c : m.captures)
            if (c) c = fwd->resolve(*c);

    const ir::Checkpoint cp = g.checkpoint();
    // New nodes are named by the caller's prefix (the dictionary: rule id and a counter), or after
    // the match's first node; never after the rule's text, which may be long.
    if (name_prefix.empty()) name_prefix = first() + "/";
    ir::Builder b(g, 0x5eed, std::move(name_prefix));
    std::vector<ir::ValueId> fresh;
    std::vector<bool> rename; // existing values that take a graph output's name
    try {
        fresh = detail::build_replacement(g, b, m, r, rule);
        if (fresh.empty()) {
            g.rollback(cp);
            return false;
        }
        if (fresh.size() > m.exits.size())
            throw rewrite_error(std::string(rule), first(), "the replacement gives " + std::to_string(fresh.size()) + " values for " +
                                                          std::to_string(m.exits.size()) + " match outputs");
        rename.assign(fresh.size(), false);
        for (std::size_t i = fresh.size(); i < m.exits.size(); ++i)
            if (detail::used(g, m.exits[i]))
                throw rewrite_error(std::string(rule), first(),
                                    "match output " + std::to_string(i) + " ('" + g.label(m.exits[i]) + "') is used but the replacement does not provide it");
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            const ir::ValueId nv = fresh[i], ov = m.exits[i];
            if (!nv || nv.index() >= g.value_bound() || !g.value(nv).alive)
                throw rewrite_error(std::string(rule), first(), "the replacement returned an invalid value for output " + std::to_string(i));
            if (auto p = g.producer(nv); p && m.contains(p))
                throw rewrite_error(std::string(rule), first(), "the replacement returns '" + g.label(nv) + "', a value inside the match");
            // A new value whose shape or type nothing infers (the output of an op outside the
            // catalogue) takes those of the value it replaces: the match's outputs are the contract.
            if (nv.index() >= cp.values) {
                if (!g.value(nv).shape && g.value(ov).shape) g.set_shape(nv, g.value(ov).shape);
                if (g.value(nv).dtype == ir::DType::undefined) g.set_dtype(nv, g.value(ov).dtype);
            }
            const auto& os = g.value(ov).shape;
            const auto& ns = g.value(nv).shape;
            if (os && ns && ir::is_static(*os) && ir::is_static(*ns) && *os != *ns)
                throw rewrite_error(std::string(rule), first(),
                                    "the replacement produces shape " + ir::to_string(*ns) + " where the match produced " + ir::to_string(*os) +
                                        " (output '" + g.label(ov) + "')");
            if (g.value(nv).dtype != g.value(ov).dtype && g.value(ov).dtype != ir::DType::undefined)
                throw rewrite_error(std::string(rule), first(),
                                    "the replacement produces " + std::string(ir::to_string(g.value(nv).dtype)) + " where the match produced " +
                                        std::string(ir::to_string(g.value(ov).dtype)));
        }
        // New nodes may read only values from outside the match.
        for (std::size_t i = cp.nodes; i < g.node_bound(); ++i) {
            for (ir::ValueId in : g.node(ir::NodeId{i}).inputs) {
                if (!in) continue;
                if (auto p = g.producer(in); p && m.contains(p))
                    throw rewrite_error(std::string(rule), first(), "a new node reads '" + g.label(in) + "', a value inside the match");
            }
        }
        // A graph output replaced by an existing value keeps its name: an intermediate value (made by
        // a node, not a graph input, output or constant) takes the name, as a new one does; any other
        // gets an Identity under the output's name.
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            if (fresh[i].index() >= cp.values || !g.is_output(m.exits[i])) continue;
            const ir::ValueId v = fresh[i];
            const bool renamable = g.producer(v) && !g.is_output(v) &&
                                   std::none_of(fresh.begin(), fresh.begin() + static_cast<std::ptrdiff_t>(i), [&](ir::ValueId w) { return w == v; });
            if (renamable) rename[i] = true;
            else fresh[i] = b.apply(ir::ops::Identity{}, {v});
        }
    } catch (const rewrite_error&) {
        g.rollback(cp);
        throw;
    } catch (const std::exception& e) {
        g.rollback(cp);
        throw rewrite_error(std::string(rule), first(), e.what());
    }

    // Commit: cannot fail from here on (all checks done).
    for (std::size_t i = 0; i < fresh.size(); ++i) {
        const ir::ValueId ov = m.exits[i], nv = fresh[i];
        if (!detail::used(g, ov)) continue;
        g.replace_all_uses(ov, nv);
        if (nv.index() >= cp.values || rename[i]) {
            std::string nm = g.value(ov).name;
            g.set_value_name(ov, {});
            g.set_value_name(nv, std::move(nm));
        }
        if (fwd) fwd->add(ov, nv);
        if (sharper && ((g.constant(nv) && !g.constant(ov)) || ir::known_dims(g.value(nv).shape) > ir::known_dims(g.value(ov).shape)))
            sharper->push_back(nv);
    }
    for (std::size_t i = m.nodes.size(); i-- > 0;) {
        // Unused exits of the root (e.g. an optional mask output) are dropped with it.
        g.erase_node(m.nodes[i]);
    }
    return true;
}

} // namespace detail

/// Replaces match `m` of rule `rule` in `g` by `r`.
///
/// Validates before changing anything: the replacement gives one value per used exit, each with the
/// exit's element type and (when both are known) shape, and reads only values from outside the
/// match. On any failure it throws `rewrite_error` naming the rule and the match's first node, and
/// `g` is exactly as before. On success the exits' consumers (and graph outputs) read the new
/// values, which take over the exits' names, and the matched nodes are removed (their constants
/// stay until `Graph::remove_dead`). A generator may decline a match (return no value: the match is
/// not an instance it can rewrite); then nothing changes and `replace` returns false.
inline bool replace(ir::Graph& g, const ir_match& m, const replacement& r, std::string_view rule, value_forwarding* fwd = nullptr,
                    std::string name_prefix = {}) {
    ir_match copy = m;
    return detail::replace_in_place(g, copy, r, rule, fwd, std::move(name_prefix));
}

} // namespace surgery::rewrite
