// The DAG matcher: finds pattern::node<...> trees with shared captures (x * sigmoid(x), Squeeze-and-Excitation).
//
// Matching is backtracking over the pattern (not the graph): each candidate root costs at most
// O(pattern size x 2^(commutative nodes in the pattern)), a constant, so the search is linear in
// the graph. Every matched node but the root must have all its consumers inside the match and no
// graph output (otherwise removing the match would cut a value someone else reads); matches are
// taken in topological order of their roots and never overlap.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <tuple>
#include <span>
#include <vector>

#include "surgery/graph_traits.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/search/match.hpp"

namespace surgery::search {

namespace detail {

inline constexpr std::uint32_t npos_value = 0xffffffffu;

template <searchable_graph G>
struct dag_state {
    std::array<std::optional<value_t<G>>, pattern::max_captures> binds{};
    std::vector<node_t<G>> nodes;
};

inline constexpr auto commutative_kinds = [] {
    std::array<bool, ir::op_count> t{};
    t[ir::op_kind_v<ir::ops::Add>] = true;
    t[ir::op_kind_v<ir::ops::Mul>] = true;
    return t;
}();

template <class P>
struct dag_matcher;

template <>
struct dag_matcher<pattern::value> {
    template <searchable_graph G, class K>
    static bool match_value(const G&, const value_t<G>&, dag_state<G>&, K&& k) {
        return k();
    }
};

template <std::size_t I, class P>
struct dag_matcher<pattern::bind<I, P>> {
    template <searchable_graph G, class K>
    static bool match_value(const G& g, const value_t<G>& v, dag_state<G>& st, K&& k) {
        if (st.binds[I]) return *st.binds[I] == v && k();
        return dag_matcher<P>::match_value(g, v, st, [&] {
            st.binds[I] = v;
            if (k()) return true;
            st.binds[I].reset();
            return false;
        });
    }
};

template <class... Ps>
struct dag_matcher<pattern::either<Ps...>> {
    template <searchable_graph G, class K>
    static bool match_value(const G& g, const value_t<G>& v, dag_state<G>& st, K&& k) {
        return (dag_matcher<Ps>::match_value(g, v, st, k) || ...);
    }
};

template <class OpP, class... Operands>
struct dag_matcher<pattern::node<OpP, Operands...>> {
    static constexpr std::size_t arity = sizeof...(Operands);

    template <searchable_graph G, class K>
    static bool match_value(const G& g, const value_t<G>& v, dag_state<G>& st, K&& k) {
        const auto p = graph_traits<G>::producer(g, v);
        return p && match_node(g, *p, st, k);
    }

    template <searchable_graph G, class K>
    static bool match_node(const G& g, const node_t<G>& n, dag_state<G>& st, K&& k) {
        using T = graph_traits<G>;
        if (!OpP::test(g, n)) return false;
        if (T::num_inputs(g, n) < arity) return false;
        std::array<value_t<G>, arity> ins{};
        for (std::size_t i = 0; i < arity; ++i) {
            auto v = T::input(g, n, i);
            if (!v) return false;
            ins[i] = *v;
        }
        const std::size_t mark = st.nodes.size();
        st.nodes.push_back(n);
        if (operands<0>(g, ins, st, k)) return true;
        if constexpr (arity == 2) {
            const auto kind = kind_of(g, n);
            if (kind && commutative_kinds[*kind] && !(ins[0] == ins[1])) {
                std::swap(ins[0], ins[1]);
                if (operands<0>(g, ins, st, k)) return true;
            }
        }
        st.nodes.resize(mark);
        return false;
    }

    template <std::size_t I, searchable_graph G, class K>
    static bool operands(const G& g, const std::array<value_t<G>, arity>& ins, dag_state<G>& st, K&& k) {
        if constexpr (I == arity) {
            return k();
        } else {
            using Op = std::tuple_element_t<I, std::tuple<Operands...>>;
            return dag_matcher<Op>::match_value(g, ins[I], st, [&] { return operands<I + 1>(g, ins, st, k); });
        }
    }
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

} // namespace detail

/// Every match of DAG pattern `P` in `g`, in topological order of the roots, non-overlapping.
/// `match::nodes` is in topological order (root last); `match::captures` holds the bound values.
template <pattern::dag_pattern P, searchable_graph G>
[[nodiscard]] std::vector<match<G>> find_dags(const G& g, P = {}) {
    using T = graph_traits<G>;
    using Root = typename P::op_pattern;
    std::vector<match<G>> out;

    // Kinds the root can have, from the pattern (compile time).
    static constexpr auto root_kinds = [] {
        std::array<bool, ir::op_count> t{};
        for (std::size_t k = 0; k < ir::op_count; ++k) t[k] = Root::accepts_kind(static_cast<ir::OpKind>(k));
        return t;
    }();

    // order: the topological order; kinds: op kind per position (or null); pos: node -> position.
    auto run = [&](std::span<const node_t<G>> order, const ir::OpKind* kinds, auto&& pos) {
        std::vector<std::uint8_t> claimed(T::node_bound(g), 0);
        detail::dag_state<G> st;
        st.nodes.reserve(pattern::node_count_v<P>);
        std::vector<node_t<G>> uniq;
        for (std::size_t p = 0; p < order.size(); ++p) {
            if (kinds && !root_kinds[kinds[p]]) continue; // the common case: one byte read
            const node_t<G>& root = order[p];
            if (claimed[T::index(g, root)]) continue;
            if (!kinds)
                if (const auto k = kind_of(g, root); k && !root_kinds[*k]) continue;
            st.binds = {};
            st.nodes.clear();
            const bool found = detail::dag_matcher<P>::match_node(g, root, st, [&] {
                uniq = st.nodes;
                std::sort(uniq.begin(), uniq.end(), [&](const auto& a, const auto& b) { return pos(a) < pos(b); });
                uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
                for (const auto& n : uniq)
                    if (claimed[T::index(g, n)]) return false;
                return detail::closed(g, uniq, root);
            });
            if (!found) continue;
            match<G> m;
            m.nodes = uniq;
            m.captures = st.binds;
            for (const auto& n : m.nodes) claimed[T::index(g, n)] = 1;
            detail::fill_boundary(g, m);
            out.push_back(std::move(m));
        }
    };
    if constexpr (graph_with_flow_index<G>) {
        const ir::flow_index& fi = T::flow(g); // cached by the graph: no copy, kinds precomputed
        run(std::span<const node_t<G>>(fi.order), fi.kinds.data(), [&](const node_t<G>& n) { return fi.position[T::index(g, n)]; });
    } else {
        std::vector<node_t<G>> order;
        for (auto&& n : T::topological_order(g)) order.push_back(n);
        std::vector<std::uint32_t> pos(T::node_bound(g), detail::npos_value);
        for (std::size_t p = 0; p < order.size(); ++p) pos[T::index(g, order[p])] = static_cast<std::uint32_t>(p);
        run(std::span<const node_t<G>>(order), nullptr, [&](const node_t<G>& n) { return pos[T::index(g, n)]; });
    }
    return out;
}

} // namespace surgery::search
