// search::match<G>: what a search returns — the matched nodes, the values entering and leaving them, the captures.
#pragma once

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "surgery/graph_traits.hpp"
#include "surgery/pattern/dag.hpp"

namespace surgery::search {

/// One occurrence of a pattern in a graph.
// Not constrained on the template head: naming match<G> in a signature must not fail before the
// function's own searchable_graph constraint does (clang 14 substitutes the return type first, and
// would report "constraints not satisfied for class template 'match'" instead of the concept).
template <class G>
struct match {
    static_assert(searchable_graph<G>, "surgery::search::match<G>: G must model surgery::searchable_graph (specialise surgery::graph_traits<G>)");
    using node_type = node_t<G>;
    using value_type = value_t<G>;

    /// Matched nodes: for a chain in chain order; for a DAG pattern in topological order (root last).
    std::vector<node_type> nodes;
    /// Values read by the matched nodes that no matched node produces (data input first, then weights), deduplicated.
    std::vector<value_type> entries;
    /// Outputs of the last (root) node: the values the rest of the graph reads.
    std::vector<value_type> exits;
    /// The value bound to each capture slot (`pattern::bind<I>`, or a named capture of a text pattern).
    std::vector<std::optional<value_type>> captures;
    /// Programs: the node matched by each pattern node, by pattern-node index.
    std::vector<node_type> bound;
    /// The names of the capture slots, by slot (empty for numbered ones); views into the pattern.
    std::vector<std::string_view> capture_names;

    [[nodiscard]] node_type first() const { return nodes.front(); }
    [[nodiscard]] node_type last() const { return nodes.back(); }
    /// The main data input: capture 0 when the pattern binds it, else the first node's first input.
    [[nodiscard]] std::optional<value_type> input() const {
        if (!captures.empty() && captures[0]) return captures[0];
        if (entries.empty()) return std::nullopt;
        return entries.front();
    }
    [[nodiscard]] bool contains(node_type n) const { return std::find(nodes.begin(), nodes.end(), n) != nodes.end(); }
    /// The value captured under `name`, if the pattern has such a capture and it was bound.
    [[nodiscard]] std::optional<value_type> capture(std::string_view name) const {
        for (std::size_t i = 0; i < capture_names.size() && i < captures.size(); ++i)
            if (capture_names[i] == name) return captures[i];
        return std::nullopt;
    }
};

namespace detail {
/// Fills `m.entries` and `m.exits` from `m.nodes` (last node = exit producer).
template <searchable_graph G>
void fill_boundary(const G& g, match<G>& m) {
    using T = graph_traits<G>;
    m.entries.clear();
    m.exits.clear();
    for (const auto& n : m.nodes) {
        for_each_input(g, n, [&](std::size_t, const std::optional<value_t<G>>& v) {
            if (!v) return;
            auto p = T::producer(g, *v);
            if (p && m.contains(*p)) return;
            if (std::find(m.entries.begin(), m.entries.end(), *v) == m.entries.end()) m.entries.push_back(*v);
        });
    }
    const auto& root = m.nodes.back();
    const std::size_t no = T::num_outputs(g, root);
    for (std::size_t o = 0; o < no; ++o) m.exits.push_back(T::output(g, root, o));
}
} // namespace detail

} // namespace surgery::search
