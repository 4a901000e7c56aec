// Searching with a pattern program: the DAG matcher (backtracking over the pattern, not the graph)
// and the chain tables for the sliding-window searcher, shared by compile-time and text patterns.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "surgery/graph_traits.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/pattern/program.hpp"
#include "surgery/pattern/runtime_chain.hpp"
#include "surgery/search/chain.hpp"
#include "surgery/search/match.hpp"

namespace surgery::search {

namespace detail {

/// The values of a list-valued attribute seen through a shorthand (`kernel`, `stride`, `dilation`).
inline std::optional<std::vector<double>> attribute_values(const ir::Graph& g, ir::NodeId n, std::string_view name) {
    const ir::Node& nd = g.node(n);
    std::optional<std::vector<double>> out;
    std::string_view want = name;
    if (name == "kernel") want = "kernel_shape";
    else if (name == "stride") want = "strides";
    else if (name == "dilation") want = "dilations";
    if (const auto* o = nd.as<ir::ops::Opaque>()) {
        const ir::ops::opaque_attribute* a = o->attribute(want);
        if (!a) return out;
        if (a->i) return std::vector<double>{static_cast<double>(*a->i)};
        if (a->f) return std::vector<double>{static_cast<double>(*a->f)};
        if (!a->ints.empty()) return std::vector<double>(a->ints.begin(), a->ints.end());
        if (!a->floats.empty()) return std::vector<double>(a->floats.begin(), a->floats.end());
        return out;
    }
    ir::for_each_attribute(nd.op, [&](std::string_view an, const auto& value) {
        using M = std::decay_t<decltype(value)>;
        if (an != want) return;
        if constexpr (std::is_same_v<M, std::int64_t> || std::is_same_v<M, float>) out = std::vector<double>{static_cast<double>(value)};
        else if constexpr (std::is_same_v<M, ir::Ints> || std::is_same_v<M, ir::Floats>) out = std::vector<double>(value.begin(), value.end());
    });
    // Shorthand defaults: a Conv's kernel from its weight, strides and dilations of 1.
    if (out && out->empty() && name == "kernel" && nd.is<ir::ops::Conv>() && nd.inputs.size() > 1) {
        if (const auto& w = g.value(nd.inputs[1]).shape; w && w->size() > 2) out = std::vector<double>(w->begin() + 2, w->end());
    }
    if (out && out->empty() && (name == "stride" || name == "dilation")) out = std::vector<double>{1.0};
    return out;
}

inline std::optional<std::string> attribute_text(const ir::Graph& g, ir::NodeId n, std::string_view name) {
    const ir::Node& nd = g.node(n);
    if (const auto* o = nd.as<ir::ops::Opaque>()) {
        const ir::ops::opaque_attribute* a = o->attribute(name);
        if (a && a->s) return *a->s;
        return std::nullopt;
    }
    std::optional<std::string> out;
    ir::for_each_attribute(nd.op, [&](std::string_view an, const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>)
            if (an == name) out = value;
    });
    return out;
}

/// Whether attribute value `a` equals the pattern's number `b`: to 1e-6 relative to `b`, as for
/// constants (float attributes are stored in float32: `alpha=0.16666667` must match 1/6), and
/// exactly when `b` is 0 or an integer (kernel sizes, axes).
[[nodiscard]] inline bool number_equals(double a, double b) noexcept {
    if (b == 0.0 || b == std::trunc(b)) return a == b;
    return std::abs(a - b) <= 1e-6 * std::abs(b);
}

[[nodiscard]] inline bool compare(double a, pattern::cmp op, double b) noexcept {
    switch (op) {
    case pattern::cmp::eq: return number_equals(a, b);
    case pattern::cmp::ne: return !number_equals(a, b);
    case pattern::cmp::lt: return a < b;
    case pattern::cmp::le: return a <= b;
    case pattern::cmp::gt: return a > b;
    case pattern::cmp::ge: return a >= b;
    }
    return false;
}

/// Whether attribute test `t` holds on node `n`.
inline bool attr_holds(const ir::Graph& g, ir::NodeId n, const pattern::attr_test& t, const pattern::program_view& v) {
    using K = pattern::attr_test::value_kind;
    if (t.kind == K::text) {
        const auto s = attribute_text(g, n, t.name);
        if (!s) return false;
        return t.op == pattern::cmp::eq ? *s == t.text : (t.op == pattern::cmp::ne && *s != t.text);
    }
    const auto vals = attribute_values(g, n, t.name);
    if (!vals || vals->empty()) return false;
    if (t.kind == K::number) {
        for (double x : *vals)
            if (!compare(x, t.op, t.number)) return false;
        return true;
    }
    const auto list = v.ints.subspan(t.first_int, t.num_ints);
    const bool equal = vals->size() == list.size() && std::equal(vals->begin(), vals->end(), list.begin(),
                                                                 [](double a, std::int64_t b) { return a == static_cast<double>(b); });
    return t.op == pattern::cmp::eq ? equal : (t.op == pattern::cmp::ne && !equal);
}

/// Whether `t` is a constant whose every element equals `x`: floats to 1e-6 relative to `x` (so
/// that 1/sqrt(2) written in float32 matches), and exactly when `x` is 0 (an epsilon of 1e-6 is not
/// a zero: `x + 0` must never match LayerNorm's `var + eps`).
inline bool constant_equals(const ir::Tensor& t, double x) {
    if (t.size() == 0) return false;
    if (t.dtype == ir::DType::f32) {
        for (float f : t.f)
            if (!(std::abs(static_cast<double>(f) - x) <= 1e-6 * std::abs(x))) return false;
        return true;
    }
    for (std::int64_t i : t.i)
        if (static_cast<double>(i) != x) return false;
    return true;
}

/// Backtracking matcher of one program against one graph.
template <searchable_graph G>
class program_matcher {
public:
    using node_type = node_t<G>;
    using value_type = value_t<G>;
    using T = graph_traits<G>;

    program_matcher(const G& g, pattern::program_view v) : g_(g), v_(v), binds_(v.num_captures), bound_(v.nodes.size()) {}

    /// Whether node `n` satisfies pattern node `p` on its own (kind or name, attributes,
    /// predicates, and operands that are constants).
    bool node_ok(std::size_t p, const node_type& n) const {
        const pattern::pnode& pn = v_.nodes[p];
        const auto k = kind_of(g_, n);
        if (!pn.any_op) {
            bool ok = false;
            if (k && *k != ir::opaque_kind) {
                for (std::size_t i = 0; i < pn.num_kinds && !ok; ++i) ok = v_.kinds[pn.first_kind + i] == *k;
            }
            if (!ok && pn.num_names) {
                for (std::size_t i = 0; i < pn.num_names && !ok; ++i) ok = op_name_matches(g_, n, v_.names[pn.first_name + i]);
            }
            if (!ok) return false;
        }
        if (T::num_inputs(g_, n) < pn.num_operands) {
            // Fewer inputs than operands: only acceptable when the missing ones are `any`.
            for (std::size_t i = T::num_inputs(g_, n); i < pn.num_operands; ++i)
                if (v_.operands[pn.first_operand + i].kind != pattern::operand_kind::any) return false;
        }
        for (std::size_t i = 0; i < pn.num_predicates; ++i)
            if (!v_.predicates[pn.first_predicate + i](&g_, &n)) return false;
        if (pn.num_attrs) {
            if constexpr (std::is_same_v<G, ir::Graph>) {
                for (std::size_t i = 0; i < pn.num_attrs; ++i)
                    if (!attr_holds(g_, n, v_.attrs[pn.first_attr + i], v_)) return false;
            } else {
                return false; // attributes by name need the library's IR
            }
        }
        return true;
    }

    /// Tries to match the whole program with its root at node `n`; `accept(nodes)` gets the
    /// matched nodes (unsorted, one per pattern node) and may refuse them (overlap, closedness).
    template <class Accept>
    bool match_root(const node_type& n, Accept&& accept) {
        accept_ = [&](const std::vector<node_type>& nodes) { return accept(nodes); };
        std::fill(binds_.begin(), binds_.end(), std::nullopt);
        std::fill(bound_.begin(), bound_.end(), std::nullopt);
        goals_.clear();
        trail_.clear();
        return match_node_at(v_.root, n, 0);
    }

    [[nodiscard]] const std::vector<std::optional<value_type>>& captures() const noexcept { return binds_; }
    [[nodiscard]] const std::vector<std::optional<node_type>>& bound() const noexcept { return bound_; }

    /// Checks the operands of pattern node `p` that are not the chain link (slot 0) on node `n`,
    /// binding captures; for chains, whose links the scan already checked.
    bool chain_operands(std::size_t p, const node_type& n) {
        const pattern::pnode& pn = v_.nodes[p];
        goals_.clear();
        for (std::size_t i = (p > 0 ? 1 : 0); i < pn.num_operands; ++i) goals_.push_back({&v_.operands[pn.first_operand + i], input(n, i)});
        accept_ = [](const std::vector<node_type>&) { return true; };
        return solve(0);
    }
    void reset_captures() { std::fill(binds_.begin(), binds_.end(), std::nullopt); }

private:
    struct goal {
        const pattern::operand* op;
        std::optional<value_type> value;
    };

    std::optional<value_type> input(const node_type& n, std::size_t i) const {
        if (i >= T::num_inputs(g_, n)) return std::nullopt;
        return T::input(g_, n, i);
    }

    bool is_constant_value(const value_type& v, double* equals = nullptr) const {
        if constexpr (std::is_same_v<G, ir::Graph>) {
            const ir::Tensor* t = g_.constant(v);
            if (!t) return false;
            return equals ? constant_equals(*t, *equals) : true;
        } else {
            (void)v;
            (void)equals;
            return false;
        }
    }

    bool match_node_at(std::size_t p, const node_type& n, std::size_t next_goal) {
        if (bound_[p]) return *bound_[p] == n && solve(next_goal);
        if (!node_ok(p, n)) return false;
        const pattern::pnode& pn = v_.nodes[p];
        const std::size_t mark = goals_.size();
        bool commutative = false;
        if (pn.num_operands == 2) {
            const auto k = kind_of(g_, n);
            commutative = k && ir::has(ir::traits_of(*k), ir::trait::commutative);
        }
        for (int order = 0; order < (commutative ? 2 : 1); ++order) {
            for (std::size_t i = 0; i < pn.num_operands; ++i) {
                const std::size_t slot = commutative && order == 1 ? 1 - i : i;
                goals_.push_back({&v_.operands[pn.first_operand + i], input(n, slot)});
            }
            if (commutative && order == 1) {
                const auto a = input(n, 0), b = input(n, 1);
                if (a && b && *a == *b) { // swapping equal operands tries nothing new
                    goals_.resize(mark);
                    break;
                }
            }
            bound_[p] = n;
            trail_.push_back(n);
            // The new goals are solved after the pending ones (breadth does not matter for correctness).
            if (solve(next_goal)) return true;
            trail_.pop_back();
            bound_[p].reset();
            goals_.resize(mark);
        }
        return false;
    }

    bool bind(std::uint16_t slot, const std::optional<value_type>& v, std::size_t next) {
        if (slot == pattern::no_index) return solve(next);
        if (!v) return false;
        if (binds_[slot]) return *binds_[slot] == *v && solve(next);
        binds_[slot] = *v;
        if (solve(next)) return true;
        binds_[slot].reset();
        return false;
    }

    bool solve(std::size_t i) {
        if (i == goals_.size()) return accept_(trail_);
        const goal gl = goals_[i];
        const pattern::operand& o = *gl.op;
        if (o.must_be_constant && (!gl.value || !is_constant_value(*gl.value))) return false;
        switch (o.kind) {
        case pattern::operand_kind::any: return bind(o.capture, gl.value, i + 1);
        case pattern::operand_kind::capture: return bind(o.index, gl.value, i + 1);
        case pattern::operand_kind::constant: {
            double x = v_.constants[o.index];
            if (!gl.value || !is_constant_value(*gl.value, &x)) return false;
            return bind(o.capture, gl.value, i + 1);
        }
        case pattern::operand_kind::node: {
            if (!gl.value) return false;
            const auto prod = T::producer(g_, *gl.value);
            if (!prod) return false;
            if (o.capture != pattern::no_index) {
                if (binds_[o.capture]) {
                    if (!(*binds_[o.capture] == *gl.value)) return false;
                    return match_node_at(o.index, *prod, i + 1);
                }
                binds_[o.capture] = *gl.value;
                if (match_node_at(o.index, *prod, i + 1)) return true;
                binds_[o.capture].reset();
                return false;
            }
            return match_node_at(o.index, *prod, i + 1);
        }
        case pattern::operand_kind::alternatives:
            for (std::size_t a = 0; a < o.count; ++a) {
                goals_[i].op = &v_.alternatives[o.index + a];
                if (solve(i)) return true;
            }
            goals_[i].op = &o;
            return false;
        }
        return false;
    }

    const G& g_;
    pattern::program_view v_;
    std::vector<std::optional<value_type>> binds_;
    std::vector<std::optional<node_type>> bound_;
    std::vector<goal> goals_;
    std::vector<node_type> trail_;
    std::function<bool(const std::vector<node_type>&)> accept_;
};

/// Whether every matched node but `root` keeps its outputs inside the match.
template <searchable_graph G>
bool closed(const G& g, const std::vector<node_t<G>>& nodes, const node_t<G>& root) {
    using T = graph_traits<G>;
    auto inside = [&](const node_t<G>& c) { return std::find(nodes.begin(), nodes.end(), c) != nodes.end(); };
    for (const auto& n : nodes) {
        if (n == root) continue;
        const std::size_t no = T::num_outputs(g, n);
        for (std::size_t o = 0; o < no; ++o) {
            const auto v = T::output(g, n, o);
            if (T::is_graph_output(g, v)) return false;
            for (auto&& c : T::consumers(g, v))
                if (!inside(c)) return false;
        }
    }
    return true;
}

/// A test a root candidate must pass before the matcher runs: for each operand of the root that is
/// another pattern node, the kinds that node accepts (the input's producer must be one of them). A
/// necessary condition only, and a cheap one: most candidates of a common root kind (a Mul tried by
/// every SiLU, GELU and SE form) fail it without the matcher's setup.
class root_filter {
public:
    explicit root_filter(const pattern::program_view& v) {
        const pattern::pnode& r = v.nodes[v.root];
        for (std::size_t i = 0; i < r.num_operands && i < max_operands; ++i) {
            const pattern::operand& o = v.operands[r.first_operand + i];
            if (o.kind != pattern::operand_kind::node) continue; // captures, constants, alternatives: left to the matcher
            const pattern::pnode& p = v.nodes[o.index];
            if (p.any_op || p.num_names) continue; // names are compared whatever the kind (node_ok)
            auto& kinds = producer_kinds_[i];
            kinds.assign(ir::op_count, 0);
            for (std::size_t k = 0; k < ir::op_count; ++k) kinds[k] = v.accepts(o.index, static_cast<ir::OpKind>(k)) ? 1 : 0;
            active_ = true;
        }
        two_operands_ = r.num_operands == 2; // the matcher swaps only those, of a commutative op
    }

    /// False when node `n` (of kind `k`) cannot be the root of a match.
    template <searchable_graph G>
    [[nodiscard]] bool may_match(const G& g, const node_t<G>& n, ir::OpKind k) const {
        if (!active_) return true;
        if (slots_accept<G>(g, n, false)) return true;
        return two_operands_ && ir::has(ir::traits_of(k), ir::trait::commutative) && slots_accept<G>(g, n, true);
    }

private:
    static constexpr std::size_t max_operands = 4;

    template <searchable_graph G>
    bool slots_accept(const G& g, const node_t<G>& n, bool swapped) const {
        using T = graph_traits<G>;
        for (std::size_t i = 0; i < max_operands; ++i) {
            const auto& kinds = producer_kinds_[i];
            if (kinds.empty()) continue;
            const std::size_t slot = swapped ? 1 - i : i;
            const auto in = slot < T::num_inputs(g, n) ? T::input(g, n, slot) : std::nullopt;
            if (!in) return false;
            const auto prod = T::producer(g, *in);
            if (!prod) return false;
            const auto pk = kind_of(g, *prod);
            if (pk && !kinds[*pk]) return false;
        }
        return true;
    }

    std::array<std::vector<char>, max_operands> producer_kinds_; ///< empty: no test on that operand
    bool two_operands_ = false;
    bool active_ = false;
};

/// Whether a graph whose live nodes have the kinds counted in `kind_counts` holds no match of `v`
/// at all: some pattern node that every match binds (the root, and each node reached from it
/// through operands that name a pattern node, not through alternatives) accepts none of the kinds
/// present. A necessary condition, tested once per search in a time that does not depend on the
/// graph's size: a rule whose ops the model lacks (a Squeeze-and-Excitation form in a network
/// without a global pool) then costs no walk over the graph. Pattern nodes that compare op names
/// are left to the matcher, as in `root_filter`.
[[nodiscard]] inline bool no_match_possible(const pattern::program_view& v, std::span<const std::uint32_t> kind_counts) {
    if (v.nodes.empty()) return false;
    std::vector<char> seen(v.nodes.size(), 0);
    std::vector<std::uint16_t> todo{v.root};
    seen[v.root] = 1;
    while (!todo.empty()) {
        const std::uint16_t p = todo.back();
        todo.pop_back();
        const pattern::pnode& n = v.nodes[p];
        if (!n.any_op && n.num_names == 0) { // then it accepts exactly its listed kinds
            bool present = false;
            for (std::size_t i = 0; i < n.num_kinds && !present; ++i) {
                const std::size_t k = v.kinds[n.first_kind + i];
                present = k < kind_counts.size() && kind_counts[k] > 0;
            }
            if (!present) return true;
        }
        for (std::size_t i = 0; i < n.num_operands; ++i) {
            const pattern::operand& o = v.operands[n.first_operand + i];
            if (o.kind == pattern::operand_kind::node && o.index < v.nodes.size() && !seen[o.index]) {
                seen[o.index] = 1;
                todo.push_back(o.index);
            }
        }
    }
    return false;
}

} // namespace detail

/// Every match of `program` in `g` as a DAG pattern: in topological order of the roots, non
/// overlapping; every matched node but the root has all its consumers inside the match and is not a
/// graph output. `match::nodes` is in topological order (root last), `match::bound` by pattern node,
/// `match::captures` by capture slot.
template <searchable_graph G>
[[nodiscard]] std::vector<match<G>> find_program_dags(const G& g, const pattern::program_view& program) {
    using T = graph_traits<G>;
    std::vector<match<G>> out;
    std::vector<char> root_kinds(ir::op_count, 0);
    for (std::size_t k = 0; k < ir::op_count; ++k) root_kinds[k] = program.accepts(program.root, static_cast<ir::OpKind>(k)) ? 1 : 0;
    const detail::root_filter filter(program);
    detail::program_matcher<G> m(g, program);
    std::vector<std::uint8_t> claimed; // by node index: in a match already (made at the first candidate: most rules find no root)
    auto run = [&](std::span<const node_t<G>> order, const ir::OpKind* kinds, auto&& pos) {
        std::vector<node_t<G>> uniq;
        for (std::size_t p = 0; p < order.size(); ++p) {
            if (kinds && !root_kinds[kinds[p]]) continue;
            const node_t<G>& root = order[p];
            if (claimed.empty()) claimed.assign(T::node_bound(g), 0);
            if (claimed[T::index(g, root)]) continue;
            const auto k = kinds ? std::optional<ir::OpKind>(kinds[p]) : kind_of(g, root);
            if (k && (!root_kinds[*k] || !filter.may_match(g, root, *k))) continue;
            const bool found = m.match_root(root, [&](const std::vector<node_t<G>>& nodes) {
                uniq = nodes;
                std::sort(uniq.begin(), uniq.end(), [&](const auto& a, const auto& b) { return pos(a) < pos(b); });
                uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
                for (const auto& n : uniq)
                    if (claimed[T::index(g, n)]) return false;
                return detail::closed(g, uniq, root);
            });
            if (!found) continue;
            match<G> r;
            r.nodes = uniq;
            for (const auto& b : m.bound()) r.bound.push_back(b ? *b : root);
            r.captures = m.captures();
            r.capture_names.assign(program.capture_names.begin(), program.capture_names.end());
            for (const auto& n : r.nodes) claimed[T::index(g, n)] = 1;
            detail::fill_boundary(g, r);
            out.push_back(std::move(r));
        }
    };
    if constexpr (graph_with_flow_index<G>) {
        const ir::flow_index& fi = T::flow(g);
        // Counts that do not add up to the order's size (a flow index built by other traits without
        // them) tell nothing.
        std::size_t counted = 0;
        for (const std::uint32_t c : fi.kind_counts) counted += c;
        if (counted == fi.order.size() && detail::no_match_possible(program, fi.kind_counts)) return out;
        run(std::span<const node_t<G>>(fi.order), fi.kinds.data(), [&](const node_t<G>& n) { return fi.position[T::index(g, n)]; });
    } else {
        std::vector<node_t<G>> order;
        for (auto&& n : T::topological_order(g)) order.push_back(n);
        const std::vector<std::uint32_t> pos = detail::order_positions(g, std::span<const node_t<G>>(order));
        run(std::span<const node_t<G>>(order), nullptr, [&](const node_t<G>& n) { return pos[T::index(g, n)]; });
    }
    return out;
}


/// Per-kind position masks of a chain program: the same tables `pattern::chain<...>` builds at
/// compile time (base: positions a kind matches unconditionally; check: positions it may match
/// after the node's own tests).
struct chain_tables {
    std::vector<std::uint64_t> base, check;
    std::size_t size = 0;

    explicit chain_tables(const pattern::program_view& v) : base(ir::op_count, 0), check(ir::op_count, 0), size(v.nodes.size()) {
        if (!v.chain) throw pattern_error("search: the pattern is not a straight chain");
        if (size > pattern::max_chain_length) throw pattern_error("search: a chain has at most 64 positions");
        for (std::size_t j = 0; j < size; ++j)
            for (std::size_t k = 0; k < ir::op_count; ++k) {
                const auto kk = static_cast<ir::OpKind>(k);
                if (v.unconditional(j, kk)) base[k] |= std::uint64_t{1} << j;
                else if (v.accepts(j, kk)) check[k] |= std::uint64_t{1} << j;
            }
    }
};

/// Calls `visit(nodes, matcher)` for every match of chain program `v` (leftmost first, non
/// overlapping); `matcher.captures()` holds the match's captures.
template <searchable_graph G, class Visit>
void for_each_program_chain(const G& g, const pattern::program_view& v, Visit&& visit) {
    const chain_tables t(v);
    detail::program_matcher<G> m(g, v);
    auto test = [&](std::uint64_t candidates, const node_t<G>& n) {
        std::uint64_t out = 0;
        for (std::size_t j = 0; j < t.size; ++j)
            if (((candidates >> j) & 1u) && m.node_ok(j, n) && (!v.has_value_tests(j) || (m.reset_captures(), m.chain_operands(j, n))))
                out |= std::uint64_t{1} << j;
        return out;
    };
    detail::with_flow(g, [&](const detail::flow_ref<G>& fr) {
        std::vector<node_t<G>> nodes(t.size);
        auto on_match = [&](std::span<const std::uint32_t> path) {
            m.reset_captures();
            for (std::size_t j = 0; j < path.size(); ++j) {
                nodes[j] = fr.order[path[j]];
                (void)m.chain_operands(j, nodes[j]); // binds the captures of side operands
            }
            visit(std::span<const node_t<G>>(nodes), m);
        };
        auto positions = [&](std::size_t p) -> std::uint64_t {
            const node_t<G>& n = fr.order[p];
            const auto k = fr.kinds ? std::optional<ir::OpKind>(fr.kinds[p]) : kind_of(g, n);
            const ir::OpKind kk = k.value_or(ir::opaque_kind);
            const std::uint64_t c = t.check[kk];
            return t.base[kk] | (c ? test(c, n) : 0);
        };
        detail::scan<std::uint64_t>(fr.order.size(), fr.next, t.size, positions, on_match);
    });
}

/// Every match of `program`: through the sliding-window chain searcher when it is a straight chain,
/// the DAG matcher otherwise. One search path for patterns written in C++ and in text.
template <searchable_graph G>
[[nodiscard]] std::vector<match<G>> find_program(const G& g, const pattern::program_view& program) {
    if (!program.chain) return find_program_dags(g, program);
    std::vector<match<G>> out;
    for_each_program_chain(g, program, [&](std::span<const node_t<G>> nodes, const detail::program_matcher<G>& m) {
        match<G> r;
        r.nodes.assign(nodes.begin(), nodes.end());
        r.bound = r.nodes;
        r.captures = m.captures();
        r.capture_names.assign(program.capture_names.begin(), program.capture_names.end());
        detail::fill_boundary(g, r);
        out.push_back(std::move(r));
    });
    return out;
}

/// The same for a pattern given as text. The matches' capture names view the pattern, which must
/// outlive them: `const pattern::text_pattern p("Mul(x, Sigmoid(x))"); auto ms = find_program(g, p);`
template <searchable_graph G>
[[nodiscard]] std::vector<match<G>> find_program(const G& g, const pattern::text_pattern& pat) {
    return find_program(g, pat.view());
}
/// A temporary pattern would leave the matches' capture names dangling: name the pattern.
template <searchable_graph G>
std::vector<match<G>> find_program(const G& g, const pattern::text_pattern&& pat) = delete;


/// Calls `visit(nodes)` for every match of a chain given as text (the same searcher and tables).
template <searchable_graph G, class Visit>
void for_each_chain(const G& g, const pattern::runtime_chain& pat, Visit&& visit) {
    for_each_program_chain(g, pat.view(), [&](std::span<const node_t<G>> nodes, const auto&) { visit(nodes); });
}

/// Every match of a chain given as text (same semantics as the compile-time one).
template <searchable_graph G>
[[nodiscard]] std::vector<match<G>> find_chains(const G& g, const pattern::runtime_chain& pat) {
    return find_program(g, pat.view());
}

} // namespace surgery::search
