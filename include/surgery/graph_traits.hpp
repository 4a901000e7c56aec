// graph_traits<G> and the searchable_graph concept: the small interface the searcher and matcher need from ANY graph.
//
// To make your own graph type searchable, specialise `surgery::graph_traits<YourGraph>` with:
//
//   using node_type  = ...;   // cheap to copy, equality comparable
//   using value_type = ...;   // an edge/tensor handle, equality comparable
//   static std::size_t node_bound(const G&);                 // index(g, n) < node_bound(g)
//   static std::size_t index(const G&, node_type);           // dense index of a node
//   static RANGE topological_order(const G&);                // nodes, producers first
//   static std::string_view op_name(const G&, node_type);    // ONNX op_type, e.g. "Conv"
//   static std::size_t num_inputs(const G&, node_type);
//   static std::optional<value_type> input(const G&, node_type, std::size_t i);   // nullopt: omitted
//   static std::size_t num_outputs(const G&, node_type);
//   static value_type output(const G&, node_type, std::size_t i);
//   static std::optional<node_type> producer(const G&, value_type);              // nullopt: graph input/constant
//   static RANGE consumers(const G&, value_type);            // one node per use
//   static bool is_graph_output(const G&, value_type);
//
// Optional members make searching faster or richer:
//   static std::optional<ir::OpKind> kind(const G&, node_type);          // skip string compares
//   template <class Op> static const Op* attributes(const G&, node_type); // enables attribute predicates
//   static const ir::flow_index& flow(const G&);                         // precomputed search arrays
//   static std::string_view op_domain(const G&, node_type);              // ONNX domain: patterns may name
//                                                                        // ops as domain::Name
//   static RANGE inputs(const G&, node_type);                            // every input in slot order, in one
//                                                                        // walk (when input(g, n, i) walks to i)
#pragma once

#include <concepts>
#include <cstddef>
#include <iterator>
#include <optional>
#include <span>
#include <ranges>
#include <string_view>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/ir/ops.hpp"

namespace surgery {

/// Specialise for a graph type to make it searchable (see the header comment for the members).
template <class G>
struct graph_traits;

template <class G>
using node_t = typename graph_traits<G>::node_type;
template <class G>
using value_t = typename graph_traits<G>::value_type;

/// A graph the chain searcher and the DAG matcher can work on.
template <class G>
concept searchable_graph = requires(const G& g, node_t<G> n, value_t<G> v, std::size_t i) {
    requires std::equality_comparable<node_t<G>>;
    requires std::equality_comparable<value_t<G>>;
    { graph_traits<G>::node_bound(g) } -> std::convertible_to<std::size_t>;
    { graph_traits<G>::index(g, n) } -> std::convertible_to<std::size_t>;
    { graph_traits<G>::topological_order(g) } -> std::ranges::forward_range;
    { graph_traits<G>::op_name(g, n) } -> std::convertible_to<std::string_view>;
    { graph_traits<G>::num_inputs(g, n) } -> std::convertible_to<std::size_t>;
    { graph_traits<G>::input(g, n, i) } -> std::same_as<std::optional<value_t<G>>>;
    { graph_traits<G>::num_outputs(g, n) } -> std::convertible_to<std::size_t>;
    { graph_traits<G>::output(g, n, i) } -> std::convertible_to<value_t<G>>;
    { graph_traits<G>::producer(g, v) } -> std::same_as<std::optional<node_t<G>>>;
    { graph_traits<G>::consumers(g, v) } -> std::ranges::forward_range;
    { graph_traits<G>::is_graph_output(g, v) } -> std::convertible_to<bool>;
};

/// Whether the traits of `G` give op kinds directly (faster than comparing names).
template <class G>
concept graph_with_kinds = searchable_graph<G> && requires(const G& g, node_t<G> n) {
    { graph_traits<G>::kind(g, n) } -> std::same_as<std::optional<ir::OpKind>>;
};

/// Whether the traits of `G` expose typed attributes of op `Op` (needed by attribute predicates).
template <class G, class Op>
concept graph_with_attributes = searchable_graph<G> && requires(const G& g, node_t<G> n) {
    { graph_traits<G>::template attributes<Op>(g, n) } -> std::same_as<const Op*>;
};

/// Whether the traits of `G` provide a cached flow index.
template <class G>
concept graph_with_flow_index = searchable_graph<G> && requires(const G& g) {
    { graph_traits<G>::flow(g) } -> std::same_as<const ir::flow_index&>;
};

/// Whether the traits of `G` give each node's ONNX domain (then `domain::Name` in a pattern is
/// compared with it; otherwise with `op_name` as a whole).
template <class G>
concept graph_with_domains = searchable_graph<G> && requires(const G& g, node_t<G> n) {
    { graph_traits<G>::op_domain(g, n) } -> std::convertible_to<std::string_view>;
};

/// Whether the traits of `G` give every input of a node in one walk (`inputs`; elements convertible
/// to `std::optional<value_t<G>>`, nullopt for an omitted input).
template <class G>
concept graph_with_input_range = searchable_graph<G> && requires(const G& g, node_t<G> n) {
    { graph_traits<G>::inputs(g, n) } -> std::ranges::forward_range;
    requires std::convertible_to<std::ranges::range_reference_t<decltype(graph_traits<G>::inputs(g, n))>, std::optional<value_t<G>>>;
};

/// Calls `f(slot, value)` for every input of node `n` in slot order (`value` nullopt when omitted):
/// with the traits' `inputs` when they give it, so that a graph whose `input(g, n, i)` walks to slot
/// `i` (an edge list) is visited in time linear in the input count, not quadratic.
template <searchable_graph G, class F>
void for_each_input(const G& g, const node_t<G>& n, F&& f) {
    using T = graph_traits<G>;
    if constexpr (graph_with_input_range<G>) {
        std::size_t slot = 0;
        for (auto&& v : T::inputs(g, n)) f(slot++, std::optional<value_t<G>>(v));
    } else {
        const std::size_t ni = T::num_inputs(g, n);
        for (std::size_t slot = 0; slot < ni; ++slot) f(slot, T::input(g, n, slot));
    }
}

/// The op kind of node `n`: from the traits when they give it, else by looking the name up; an op
/// the catalogue does not know has the opaque kind (patterns then compare its name).
template <searchable_graph G>
[[nodiscard]] std::optional<ir::OpKind> kind_of(const G& g, node_t<G> n) {
    if constexpr (graph_with_kinds<G>)
        return graph_traits<G>::kind(g, n);
    else
        return ir::kind_from_name(std::string_view(graph_traits<G>::op_name(g, n))).value_or(ir::opaque_kind);
}

/// Whether node `n` is the op a pattern names `name`: `Op` matches op_type `Op` in any domain;
/// `domain::Op` matches op_type `Op` of that domain when the traits give domains (`op_domain`),
/// else a node whose `op_name` is the whole string.
template <searchable_graph G>
[[nodiscard]] bool op_name_matches(const G& g, const node_t<G>& n, std::string_view name) {
    const std::string_view type(graph_traits<G>::op_name(g, n));
    if constexpr (graph_with_domains<G>) {
        if (const ir::op_name_parts parts = ir::split_op_name(name); parts.qualified) {
            return type == parts.name && ir::plain_domain(graph_traits<G>::op_domain(g, n)) == parts.domain;
        }
    }
    return type == name;
}

/// graph_traits for the library's own IR.
template <>
struct graph_traits<ir::Graph> {
    using node_type = ir::NodeId;
    using value_type = ir::ValueId;

    static std::size_t node_bound(const ir::Graph& g) noexcept { return g.node_bound(); }
    static std::size_t index(const ir::Graph&, ir::NodeId n) noexcept { return n.index(); }
    static const std::vector<ir::NodeId>& topological_order(const ir::Graph& g) { return g.topological_order(); }
    static std::string_view op_name(const ir::Graph& g, ir::NodeId n) { return ir::name_of(g.node(n).op); }
    static std::string_view op_domain(const ir::Graph& g, ir::NodeId n) { return ir::domain_of(g.node(n).op); }
    static std::optional<ir::OpKind> kind(const ir::Graph& g, ir::NodeId n) { return g.node(n).kind(); }
    template <class Op>
    static const Op* attributes(const ir::Graph& g, ir::NodeId n) {
        return g.node(n).template as<Op>();
    }
    static std::size_t num_inputs(const ir::Graph& g, ir::NodeId n) { return g.node(n).inputs.size(); }
    static std::optional<ir::ValueId> input(const ir::Graph& g, ir::NodeId n, std::size_t i) {
        const auto& ins = g.node(n).inputs;
        if (i >= ins.size() || !ins[i]) return std::nullopt;
        return ins[i];
    }
    static std::size_t num_outputs(const ir::Graph& g, ir::NodeId n) { return g.node(n).outputs.size(); }
    static ir::ValueId output(const ir::Graph& g, ir::NodeId n, std::size_t i) { return g.node(n).outputs.at(i); }
    static std::optional<ir::NodeId> producer(const ir::Graph& g, ir::ValueId v) {
        ir::NodeId p = g.value(v).producer;
        if (!p) return std::nullopt;
        return p;
    }
    /// The consumers of `v`, one per use (a plain range: no std::views, so clang 14 with libstdc++ 12 copes).
    class consumer_range {
    public:
        class iterator {
        public:
            using iterator_concept = std::forward_iterator_tag;
            using iterator_category = std::forward_iterator_tag;
            using value_type = ir::NodeId;
            using difference_type = std::ptrdiff_t;
            using pointer = void;
            using reference = ir::NodeId;
            iterator() = default;
            explicit iterator(const ir::Use* p) : p_(p) {}
            ir::NodeId operator*() const { return p_->node; }
            iterator& operator++() {
                ++p_;
                return *this;
            }
            iterator operator++(int) {
                iterator t = *this;
                ++p_;
                return t;
            }
            friend bool operator==(const iterator& a, const iterator& b) { return a.p_ == b.p_; }

        private:
            const ir::Use* p_ = nullptr;
        };
        explicit consumer_range(std::span<const ir::Use> uses) : uses_(uses) {}
        [[nodiscard]] iterator begin() const { return iterator(uses_.data()); }
        [[nodiscard]] iterator end() const { return iterator(uses_.data() + uses_.size()); }

    private:
        std::span<const ir::Use> uses_;
    };
    static consumer_range consumers(const ir::Graph& g, ir::ValueId v) { return consumer_range(g.value(v).uses); }
    static bool is_graph_output(const ir::Graph& g, ir::ValueId v) { return g.is_output(v); }
    static const ir::flow_index& flow(const ir::Graph& g) { return g.flow(); }
};

static_assert(searchable_graph<ir::Graph>);
static_assert(graph_with_kinds<ir::Graph>);
static_assert(graph_with_flow_index<ir::Graph>);

} // namespace surgery
