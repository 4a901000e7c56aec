// ir::Graph: the default graph IR — nodes applying typed ops to values, with use lists and a cached topological order.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/chunked_vector.hpp"
#include "surgery/ir/scratch.hpp"
#include "surgery/ir/id.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/small_vector.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::ir {

/// One consumer of a value: input `slot` of `node`.
struct Use {
    NodeId node;
    std::uint32_t slot = 0;
    friend bool operator==(const Use&, const Use&) = default;
};

/// Where a value comes from.
enum class ValueKind : std::uint8_t { input, constant, node_output };

/// A tensor flowing in the graph: a graph input, a constant (initializer) or the output of a node.
struct Value {
    std::string name;
    DType dtype = DType::f32;
    std::optional<Shape> shape; ///< empty when not (yet) inferred
    ValueKind kind = ValueKind::node_output;
    NodeId producer;            ///< valid for node outputs
    std::uint32_t slot = 0;     ///< output index in the producer
    std::shared_ptr<const Tensor> data; ///< constants: the value; inputs: the default (or null); shared, not copied with the graph
    small_vector<Use, 2> uses; ///< inline up to two (most values have one or two consumers)
    bool alive = true;

    [[nodiscard]] bool is_constant() const noexcept { return kind == ValueKind::constant; }
    [[nodiscard]] bool is_input() const noexcept { return kind == ValueKind::input; }
};

/// An application of an op to input values, producing output values.
struct Node {
    std::string name;
    Op op;
    /// An omitted optional input is `ValueId::none()`. Up to four are stored in the node itself
    /// (small_vector: a `std::vector`'s interface; built from one implicitly, converted to one explicitly).
    small_vector<ValueId, 4> inputs;
    small_vector<ValueId, 4> outputs;
    bool alive = true;

    [[nodiscard]] OpKind kind() const noexcept { return kind_of(op); }
    /// The op's attributes when it is of type `T`, else nullptr.
    template <op_type T>
    [[nodiscard]] const T* as() const noexcept { return std::get_if<T>(&op); }
    template <op_type T>
    [[nodiscard]] bool is() const noexcept { return std::holds_alternative<T>(op); }
};

/// Compact arrays over the topological order that searchers walk: op kinds, and for each node the
/// position of its sole consumer (the only node that reads any of its outputs, none of which is a
/// graph output), or `flow_index::npos`. Cached by the graph; rebuilt after a structural change.
struct flow_index {
    static constexpr std::uint32_t npos = 0xffffffffu;
    std::vector<NodeId> order;           ///< live nodes in topological order
    std::vector<OpKind> kinds;           ///< kinds[p]: op kind of order[p]
    std::vector<std::uint32_t> next;     ///< next[p]: position of order[p]'s sole consumer, or npos
    std::vector<std::uint32_t> position; ///< position[node index]: its position in `order`, or npos
    /// kind_counts[k]: live nodes of kind k (the searcher skips a pattern whose kinds are absent;
    /// counts that do not add up to order.size() are not used)
    std::array<std::uint32_t, op_count> kind_counts{};
};

/// A position in a graph's history; `Graph::rollback` returns to it (see `checkpoint`).
struct Checkpoint {
    std::size_t nodes = 0;
    std::size_t values = 0;
    std::size_t outputs = 0;
};

/// A directed acyclic graph of typed ops (SSA: every value is defined exactly once).
///
/// Ids are dense and stable: removing a node marks it dead instead of renumbering, so ids held by a
/// caller stay meaningful. Not thread-safe for concurrent mutation; the topological order is cached
/// and recomputed lazily after a structural change.
class Graph {
public:
    std::string name;
    std::int64_t opset = 17;                 ///< default-domain opset the graph was built for
    std::string producer_name = "model-surgery"; ///< ONNX producer_name kept across a round trip
    /// Opsets imported for other domains (vendor ops), kept across a round trip.
    std::vector<std::pair<std::string, std::int64_t>> domain_opsets;
    /// The model's metadata_props, kept across a round trip.
    std::vector<std::pair<std::string, std::string>> metadata;

    // ---- construction ----------------------------------------------------------------------

    /// Adds a graph input named `name`.
    ValueId add_input(std::string value_name, Shape shape, DType dtype = DType::f32) {
        ValueId id = new_value(std::move(value_name), ValueKind::input);
        Value& v = values_[id.index()];
        v.shape = std::move(shape);
        v.dtype = dtype;
        inputs_.push_back(id);
        return id;
    }

    /// Adds a constant (initializer) value holding `t`.
    ValueId add_constant(std::string value_name, Tensor t) {
        return add_constant(std::move(value_name), std::make_shared<const Tensor>(std::move(t)));
    }
    ValueId add_constant(std::string value_name, std::shared_ptr<const Tensor> t) {
        if (!t) throw error("ir::Graph::add_constant('" + value_name + "'): null tensor");
        ValueId id = new_value(std::move(value_name), ValueKind::constant);
        Value& v = values_[id.index()];
        v.shape = t->shape;
        v.dtype = t->dtype;
        v.data = std::move(t);
        return id;
    }

    /// Adds a node applying `op` to `inputs`, with `num_outputs` fresh output values.
    /// Throws `graph_error` when the input or output count is not one the op accepts, or an input id is dead.
    NodeId add_node(Op op, std::vector<ValueId> inputs, std::size_t num_outputs = 1, std::string node_name = {}) {
        const arity_t ar = arity_of(op);
        const std::string_view opname = name_of(op);
        auto label = [&] { return node_name.empty() ? std::string(opname) : node_name; };
        if (inputs.size() < ar.min_inputs || (ar.max_inputs != arity_t::variadic && inputs.size() > ar.max_inputs))
            throw graph_error(label(), std::string(opname) + " takes " + arity_text(ar.min_inputs, ar.max_inputs) + " inputs, got " +
                                           std::to_string(inputs.size()));
        if (num_outputs < ar.min_outputs || (ar.max_outputs != arity_t::variadic && num_outputs > ar.max_outputs))
            throw graph_error(label(), std::string(opname) + " produces " + arity_text(ar.min_outputs, ar.max_outputs) +
                                           " outputs, asked for " + std::to_string(num_outputs));
        for (std::size_t s = 0; s < inputs.size(); ++s) {
            ValueId in = inputs[s];
            if (!in) {
                if (s < ar.min_inputs)
                    throw graph_error(label(), "required input " + std::to_string(s) + " of " + std::string(opname) + " is missing");
                continue;
            }
            if (in.index() >= values_.size() || !values_[in.index()].alive)
                throw graph_error(label(), "input " + std::to_string(s) + " refers to a value that does not exist");
        }
        NodeId id{nodes_.size()};
        Node& n = nodes_.emplace_back();
        n.name = std::move(node_name);
        n.op = std::move(op);
        n.inputs = std::move(inputs);
        use_first_.push_back(use_pos_.size());
        use_pos_.resize(use_pos_.size() + n.inputs.size(), 0u);
        for (std::size_t s = 0; s < n.inputs.size(); ++s)
            if (n.inputs[s]) use_pos(id, s) = push_use(n.inputs[s], {id, static_cast<std::uint32_t>(s)});
        n.outputs.reserve(num_outputs);
        for (std::size_t o = 0; o < num_outputs; ++o) {
            std::string vname = n.name.empty() ? std::string{} : (num_outputs == 1 ? n.name : n.name + ":" + std::to_string(o));
            ValueId v = new_value(std::move(vname), ValueKind::node_output);
            values_[v.index()].producer = id;
            values_[v.index()].slot = static_cast<std::uint32_t>(o);
            n.outputs.push_back(v);
        }
        ++alive_nodes_;
        invalidate();
        return id;
    }

    /// Gives graph input `v` a default value (ONNX: an initializer of the same name), used when a
    /// run does not provide the input. The value stays an input: rules do not treat it as constant.
    void set_default(ValueId v, std::shared_ptr<const Tensor> t) {
        check_value(v, "set_default");
        if (!values_[v.index()].is_input()) throw error("ir::Graph::set_default: '" + label(v) + "' is not a graph input");
        values_[v.index()].data = std::move(t);
    }

    /// Removes value `v`, a graph input or constant that nothing reads and that is not a graph output.
    void erase_value(ValueId v) {
        check_value(v, "erase_value");
        Value& val = values_[v.index()];
        if (val.kind == ValueKind::node_output) throw error("ir::Graph::erase_value: '" + label(v) + "' is a node output (erase its node)");
        if (!val.uses.empty() || is_output(v)) throw error("ir::Graph::erase_value: '" + label(v) + "' is still read");
        if (val.is_input()) inputs_.erase(std::find(inputs_.begin(), inputs_.end(), v));
        val.alive = false;
        val.data.reset();
        invalidate_flow();
    }

    /// Reserves room for `nodes` more nodes and `values` more values (readers that know the size).
    void reserve(std::size_t nodes, std::size_t values) {
        nodes_.reserve(nodes_.size() + nodes);
        use_first_.reserve(use_first_.size() + nodes);
        values_.reserve(values_.size() + values);
    }

    /// Marks `v` as a graph output (a value may be listed once).
    void add_output(ValueId v) {
        check_value(v, "add_output");
        if (std::find(outputs_.begin(), outputs_.end(), v) == outputs_.end()) outputs_.push_back(v);
        invalidate_flow();
    }

    // ---- access ----------------------------------------------------------------------------

    [[nodiscard]] const Node& node(NodeId n) const { return nodes_.at(n.index()); }
    [[nodiscard]] const Value& value(ValueId v) const { return values_.at(v.index()); }
    [[nodiscard]] std::span<const ValueId> inputs() const noexcept { return inputs_; }
    [[nodiscard]] std::span<const ValueId> outputs() const noexcept { return outputs_; }
    /// One past the largest node id ever issued (ids of dead nodes included).
    [[nodiscard]] std::size_t node_bound() const noexcept { return nodes_.size(); }
    [[nodiscard]] std::size_t value_bound() const noexcept { return values_.size(); }
    /// Number of live nodes.
    [[nodiscard]] std::size_t num_nodes() const noexcept { return alive_nodes_; }
    [[nodiscard]] bool is_output(ValueId v) const noexcept {
        return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end();
    }
    /// The node producing `v`, or an invalid id for inputs and constants.
    [[nodiscard]] NodeId producer(ValueId v) const { return value(v).producer; }
    /// The constant tensor behind `v`, or nullptr when `v` is not a constant.
    [[nodiscard]] const Tensor* constant(ValueId v) const {
        if (!v || v.index() >= values_.size()) return nullptr;
        const Value& val = values_[v.index()];
        return val.is_constant() ? val.data.get() : nullptr;
    }
    /// A printable name for `v`: its name, or `%<id>` when it has none.
    [[nodiscard]] std::string label(ValueId v) const {
        const Value& val = value(v);
        if (!val.name.empty()) return val.name;
        std::string out(1, '%'); // built by appending: g++ 12 warns (-Wrestrict) on "%" + std::string
        out.append(std::to_string(v.index()));
        return out;
    }
    /// A printable name for node `n`: its name, or `<Op>#<id>` when it has none.
    [[nodiscard]] std::string label(NodeId n) const {
        const Node& nd = node(n);
        if (!nd.name.empty()) return nd.name;
        std::string out(name_of(nd.op));
        out.push_back('#');
        out.append(std::to_string(n.index()));
        return out;
    }
    /// Live nodes in topological order (cached; producers before consumers), deterministic: sorted
    /// with ties broken by id, then kept through edits (each node added since the last order is
    /// placed just before its first consumer, a rewrite's nodes where the nodes they replace were),
    /// sorted again only when that does not give an order. Throws `graph_error` on a cycle.
    [[nodiscard]] const std::vector<NodeId>& topological_order() const {
        if (!order_valid_) compute_order();
        return order_;
    }
    /// The cached flow index (see `flow_index`). Throws `graph_error` on a cycle.
    [[nodiscard]] const flow_index& flow() const {
        if (!flow_valid_) compute_flow();
        return flow_;
    }
    /// Whether the use list of `v` holds `u` (input `u.slot` of `u.node` reads `v`); constant time
    /// when the graph's records agree, which is what `verify` checks.
    [[nodiscard]] bool lists_use(ValueId v, Use u) const {
        if (!v || v.index() >= values_.size()) return false;
        const auto& uses = values_[v.index()].uses;
        if (u.node.index() < nodes_.size() && u.slot < nodes_[u.node.index()].inputs.size()) {
            const std::size_t p = use_pos_[use_first_[u.node.index()] + u.slot];
            if (p < uses.size() && uses[p] == u) return true;
        }
        return std::find(uses.begin(), uses.end(), u) != uses.end();
    }
    /// Finds a live value by name (linear scan; for tools and tests).
    [[nodiscard]] std::optional<ValueId> find_value(std::string_view value_name) const {
        for (std::size_t i = 0; i < values_.size(); ++i)
            if (values_[i].alive && values_[i].name == value_name) return ValueId{i};
        return std::nullopt;
    }
    /// Finds a live node by name (linear scan; for tools and tests).
    [[nodiscard]] std::optional<NodeId> find_node(std::string_view node_name) const {
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            if (nodes_[i].alive && nodes_[i].name == node_name) return NodeId{i};
        return std::nullopt;
    }
    /// Number of live nodes of each op kind (all opaque ops count under `opaque_kind`).
    [[nodiscard]] std::array<std::size_t, op_count> op_histogram() const {
        std::array<std::size_t, op_count> h{};
        for (const Node& n : nodes_)
            if (n.alive) ++h[n.kind()];
        return h;
    }
    /// Number of live nodes of each op, by qualified name (`qualified_name_of`), opaque ops included.
    [[nodiscard]] std::map<std::string, std::size_t> op_counts() const {
        std::map<std::string, std::size_t> h;
        std::array<std::size_t, op_count> by_kind{}; // catalogue ops counted by kind, named once at the end
        for (const Node& n : nodes_) {
            if (!n.alive) continue;
            if (n.kind() == opaque_kind) ++h[qualified_name_of(n.op)];
            else ++by_kind[n.kind()];
        }
        for (std::size_t k = 0; k < op_count; ++k)
            if (by_kind[k]) {
                std::string qualified(plain_domain(detail::tables::domains[k]));
                if (!qualified.empty()) qualified.append("::");
                h[qualified.append(op_names[k])] += by_kind[k];
            }
        return h;
    }

    // ---- mutation --------------------------------------------------------------------------

    /// The op of `n`, to change its attributes (not its kind: use a rewrite for that).
    [[nodiscard]] Op& op(NodeId n) {
        invalidate_flow();
        return nodes_.at(n.index()).op;
    }
    void set_node_name(NodeId n, std::string node_name) { nodes_.at(n.index()).name = std::move(node_name); }
    void set_value_name(ValueId v, std::string value_name) { values_.at(v.index()).name = std::move(value_name); }
    void set_shape(ValueId v, std::optional<Shape> shape) { values_.at(v.index()).shape = std::move(shape); }
    void set_dtype(ValueId v, DType t) { values_.at(v.index()).dtype = t; }

    /// Makes input `slot` of `n` read `v` (use lists follow).
    void set_input(NodeId n, std::size_t slot, ValueId v) {
        Node& nd = nodes_.at(n.index());
        if (slot >= nd.inputs.size()) throw graph_error(label(n), "set_input: no input slot " + std::to_string(slot));
        if (v) check_value(v, "set_input");
        if (nd.inputs[slot]) remove_use(nd.inputs[slot], {n, static_cast<std::uint32_t>(slot)});
        nd.inputs[slot] = v;
        if (v) use_pos(n, slot) = push_use(v, {n, static_cast<std::uint32_t>(slot)});
        rewired(n);
        invalidate();
    }

    /// Redirects every consumer of `from` (and the graph output list) to `to`. Strong guarantee: the
    /// one allocation (room in the use list of `to`) comes before any change, and nothing after it
    /// throws (a failed record of a rewired node forgets the kept order instead), so a throw
    /// leaves the graph and its caches as they were.
    void replace_all_uses(ValueId from, ValueId to) {
        check_value(from, "replace_all_uses");
        check_value(to, "replace_all_uses");
        if (from == to) return;
        values_[to.index()].uses.reserve(values_[to.index()].uses.size() + values_[from.index()].uses.size());
        invalidate();
        auto uses = std::move(values_[from.index()].uses);
        values_[from.index()].uses.clear();
        for (const Use& u : uses) {
            nodes_[u.node.index()].inputs[u.slot] = to;
            use_pos(u.node, u.slot) = push_use(to, u);
            rewired(u.node);
        }
        for (auto& o : outputs_)
            if (o == from) o = to;
        dedupe_outputs();
    }

    /// Replaces graph output `from` by `to` in the output list only.
    void replace_output(ValueId from, ValueId to) {
        check_value(to, "replace_output");
        for (auto& o : outputs_)
            if (o == from) o = to;
        dedupe_outputs();
        invalidate_flow();
    }

    /// Removes node `n`. Its outputs must have no consumers and not be graph outputs.
    void erase_node(NodeId n) {
        Node& nd = nodes_.at(n.index());
        if (!nd.alive) return;
        for (ValueId o : nd.outputs) {
            if (!values_[o.index()].uses.empty())
                throw graph_error(label(n), "cannot erase: output '" + label(o) + "' still has consumers");
            if (is_output(o)) throw graph_error(label(n), "cannot erase: output '" + label(o) + "' is a graph output");
        }
        for (std::size_t s = 0; s < nd.inputs.size(); ++s)
            if (nd.inputs[s]) remove_use(nd.inputs[s], {n, static_cast<std::uint32_t>(s)});
        for (ValueId o : nd.outputs) values_[o.index()].alive = false;
        nd.alive = false;
        --alive_nodes_;
        invalidate();
    }

    /// Removes nodes whose outputs are all unused (repeatedly), then unused constants.
    /// Returns {nodes removed, constants removed}.
    std::pair<std::size_t, std::size_t> remove_dead() {
        std::vector<NodeId> all;
        all.reserve(nodes_.size());
        for (std::size_t i = 0; i < nodes_.size(); ++i) all.push_back(NodeId{i});
        return remove_dead(all);
    }

    /// The same, starting from `from` only: those of them that are dead, then the producers that
    /// become dead with them; dead nodes elsewhere stay (a rewrite sweeps only what it made dead).
    /// Unused constants are removed everywhere.
    std::pair<std::size_t, std::size_t> remove_dead(const std::vector<NodeId>& from) {
        std::vector<NodeId> work;
        for (NodeId n : from)
            if (n.index() < nodes_.size() && nodes_[n.index()].alive && is_dead(n)) work.push_back(n);
        std::size_t removed_nodes = 0;
        while (!work.empty()) {
            NodeId n = work.back();
            work.pop_back();
            if (!nodes_[n.index()].alive || !is_dead(n)) continue;
            const small_vector<ValueId, 4> ins = nodes_[n.index()].inputs; // the node goes
            erase_node(n);
            ++removed_nodes;
            for (ValueId in : ins) {
                if (!in) continue;
                NodeId p = values_[in.index()].producer;
                if (p && nodes_[p.index()].alive && is_dead(p)) work.push_back(p);
            }
        }
        std::size_t removed_consts = 0;
        for (auto& v : values_) {
            if (v.alive && v.is_constant() && v.uses.empty()) {
                bool out = false;
                for (ValueId o : outputs_) out = out || &values_[o.index()] == &v;
                if (!out) {
                    v.alive = false;
                    v.data.reset();
                    ++removed_consts;
                }
            }
        }
        return {removed_nodes, removed_consts};
    }

    /// Records the current size, so that nodes and values added afterwards can be dropped by `rollback`.
    [[nodiscard]] Checkpoint checkpoint() const noexcept { return {nodes_.size(), values_.size(), outputs_.size()}; }

    /// Drops every node and value created since `cp`. Valid only while nothing created before `cp`
    /// was changed except through the uses that the new nodes added (what the replacer guarantees).
    void rollback(const Checkpoint& cp) {
        for (std::size_t i = nodes_.size(); i-- > cp.nodes;) {
            Node& nd = nodes_[i];
            if (nd.alive) {
                for (std::size_t s = 0; s < nd.inputs.size(); ++s) {
                    ValueId in = nd.inputs[s];
                    if (in && in.index() < cp.values) remove_use(in, {NodeId{i}, static_cast<std::uint32_t>(s)});
                }
                --alive_nodes_;
            }
        }
        nodes_.resize(cp.nodes);
        if (cp.nodes < use_first_.size()) {
            use_pos_.resize(use_first_[cp.nodes]);
            use_first_.resize(cp.nodes);
        }
        values_.resize(cp.values);
        outputs_.resize(std::min(outputs_.size(), cp.outputs));
        // The kept order holds only nodes below order_bound_; when those are all older than the
        // checkpoint (a declined replacement), it stays usable: only the records of dropped nodes go
        // (their ids will be issued again). Otherwise sort from scratch next time.
        if (order_base_ && cp.nodes >= order_bound_) {
            std::erase_if(rewired_, [&](NodeId n) { return n.index() >= cp.nodes; });
            invalidate();
        } else {
            forget_order();
        }
    }

private:
    static std::string arity_text(std::uint32_t lo, std::uint32_t hi) {
        if (hi == arity_t::variadic) return "at least " + std::to_string(lo);
        if (lo == hi) return std::to_string(lo);
        return std::to_string(lo) + " to " + std::to_string(hi);
    }

    ValueId new_value(std::string value_name, ValueKind kind) {
        ValueId id{values_.size()};
        Value v;
        v.name = std::move(value_name);
        v.kind = kind;
        values_.push_back(std::move(v));
        return id;
    }

    std::uint32_t& use_pos(NodeId n, std::size_t slot) { return use_pos_[use_first_[n.index()] + slot]; }

    /// Appends `u` to the use list of `v`; returns its position there.
    std::uint32_t push_use(ValueId v, Use u) {
        auto& uses = values_[v.index()].uses;
        uses.push_back(u);
        return static_cast<std::uint32_t>(uses.size() - 1);
    }

    void check_value(ValueId v, const char* what) const {
        if (!v || v.index() >= values_.size() || !values_[v.index()].alive)
            throw error(std::string("ir::Graph::") + what + ": value id " + std::to_string(v.index()) + " does not exist");
    }

    /// Removes use `u` of `v` in constant time: its position is recorded in `use_pos_`, and the
    /// last use takes its place (a value read by every node of a large graph costs no scan).
    void remove_use(ValueId v, Use u) {
        auto& uses = values_[v.index()].uses;
        std::size_t p = use_pos(u.node, u.slot);
        if (p >= uses.size() || uses[p] != u) { // not where recorded (never expected): look for it
            p = static_cast<std::size_t>(std::find(uses.begin(), uses.end(), u) - uses.begin());
            if (p == uses.size()) return;
        }
        uses[p] = uses.back();
        use_pos(uses[p].node, uses[p].slot) = static_cast<std::uint32_t>(p);
        uses.pop_back();
    }

    /// Keeps the first of each output, in place: no allocation, so that the edits calling it cannot
    /// fail after they changed the graph.
    void dedupe_outputs() noexcept {
        auto kept = outputs_.begin();
        for (auto it = outputs_.begin(); it != outputs_.end(); ++it)
            if (std::find(outputs_.begin(), kept, *it) == kept) *kept++ = *it;
        outputs_.erase(kept, outputs_.end());
    }

    [[nodiscard]] bool is_dead(NodeId n) const {
        for (ValueId o : nodes_[n.index()].outputs)
            if (!values_[o.index()].uses.empty() || is_output(o)) return false;
        return true;
    }

    /// The order and the flow index are stale. The order can still be brought up to date from the
    /// last one (`update_order`): nodes added since have ids from `order_bound_` on, and every node
    /// whose inputs changed is in `rewired_`.
    void invalidate() noexcept {
        order_valid_ = false;
        flow_valid_ = false;
    }
    void invalidate_flow() noexcept { flow_valid_ = false; }
    void forget_order() noexcept {
        invalidate();
        order_base_ = false;
        rewired_.clear();
    }
    void rewired(NodeId n) noexcept {
        if (!order_base_) return;
        if (rewired_.size() >= nodes_.size()) return forget_order(); // bounded: sorting again is as cheap
        try {
            rewired_.push_back(n);
        } catch (...) {
            forget_order();
        }
    }

    void compute_flow() const {
        const auto& order = topological_order();
        flow_.order = order;
        const std::size_t n = order.size();
        flow_.kinds.resize(n);
        flow_.kind_counts.fill(0);
        flow_.next.assign(n, flow_index::npos);
        flow_.position.assign(nodes_.size(), flow_index::npos);
        for (std::size_t p = 0; p < n; ++p) flow_.position[order[p].index()] = static_cast<std::uint32_t>(p);
        std::vector<char> is_out(values_.size(), 0);
        for (ValueId o : outputs_) is_out[o.index()] = 1;
        for (std::size_t p = 0; p < n; ++p) {
            const Node& nd = nodes_[order[p].index()];
            flow_.kinds[p] = nd.kind();
            ++flow_.kind_counts[static_cast<std::size_t>(flow_.kinds[p])];
            NodeId sole;
            bool ok = true;
            for (ValueId o : nd.outputs) {
                if (is_out[o.index()]) { ok = false; break; }
                for (const Use& u : values_[o.index()].uses) {
                    if (!sole) sole = u.node;
                    else if (sole != u.node) { ok = false; break; }
                }
                if (!ok) break;
            }
            if (ok && sole) flow_.next[p] = flow_.position[sole.index()];
        }
        flow_valid_ = true;
    }

    void order_done() const {
        order_valid_ = true;
        order_base_ = true;
        order_bound_ = nodes_.size();
        rewired_.clear();
    }

    /// Brings the last order up to date after edits instead of sorting again: dead nodes dropped,
    /// each node added since placed just before its first consumer (at the end when it has none;
    /// nodes placed together in id order), then every added or rewired node checked to follow its
    /// producers (only their edges changed; the old nodes keep their relative order). False, with
    /// the order untouched, when that check fails or a placement is not decidable this way.
    [[nodiscard]] bool update_order() const {
        constexpr std::uint32_t npos = flow_index::npos;
        const std::size_t old_bound = order_bound_, bound = nodes_.size();
        if (old_bound > bound) return false;
        std::vector<std::uint32_t>& pos = order_pos_.buffer;
        pos.assign(bound, npos);
        std::uint32_t kept = 0;
        for (NodeId n : order_)
            if (nodes_[n.index()].alive) pos[n.index()] = kept++;
        std::vector<std::uint32_t> anchor(bound - old_bound, npos);
        std::vector<std::pair<std::uint32_t, std::uint32_t>> placed; // (old position it goes before, id)
        for (std::size_t i = bound; i-- > old_bound;) {
            const Node& nd = nodes_[i];
            if (!nd.alive) continue;
            std::uint32_t a = kept;
            for (ValueId o : nd.outputs)
                for (const Use& u : values_[o.index()].uses) {
                    const std::size_t c = u.node.index();
                    if (c >= old_bound && c <= i) return false; // read by a node added before it
                    const std::uint32_t ca = c < old_bound ? pos[c] : anchor[c - old_bound];
                    if (ca == npos) return false;
                    a = std::min(a, ca);
                }
            anchor[i - old_bound] = a;
            placed.emplace_back(a, static_cast<std::uint32_t>(i));
        }
        std::sort(placed.begin(), placed.end());
        std::vector<NodeId>& next = order_scratch_.buffer;
        next.clear();
        next.reserve(alive_nodes_);
        auto it = placed.begin();
        std::uint32_t p = 0;
        for (NodeId n : order_) {
            if (!nodes_[n.index()].alive) continue;
            for (; it != placed.end() && it->first == p; ++it) next.push_back(NodeId{it->second});
            next.push_back(n);
            ++p;
        }
        for (; it != placed.end(); ++it) next.push_back(NodeId{it->second});
        if (next.size() != alive_nodes_) return false;
        for (std::size_t q = 0; q < next.size(); ++q) pos[next[q].index()] = static_cast<std::uint32_t>(q);
        auto follows_producers = [&](std::size_t i) {
            const Node& nd = nodes_[i];
            if (!nd.alive) return true;
            for (ValueId in : nd.inputs) {
                if (!in) continue;
                const NodeId pr = values_[in.index()].producer;
                if (pr && pos[pr.index()] >= pos[i]) return false;
            }
            return true;
        };
        for (std::size_t i = old_bound; i < bound; ++i)
            if (!follows_producers(i)) return false;
        for (NodeId n : rewired_)
            if (n.index() >= bound || !follows_producers(n.index())) return false;
        order_.swap(next);
        return true;
    }

    void compute_order() const {
        if (order_base_ && update_order()) return order_done();
        order_base_ = false;
        order_.clear();
        order_.reserve(alive_nodes_);
        // Fast path: ids already in topological order (true for imported models and built graphs).
        bool sorted = true;
        for (std::size_t i = 0; i < nodes_.size() && sorted; ++i) {
            const Node& nd = nodes_[i];
            if (!nd.alive) continue;
            for (ValueId in : nd.inputs) {
                if (!in) continue;
                NodeId p = values_[in.index()].producer;
                if (p && p.index() >= i) {
                    sorted = false;
                    break;
                }
            }
        }
        if (sorted) {
            for (std::size_t i = 0; i < nodes_.size(); ++i)
                if (nodes_[i].alive) order_.push_back(NodeId{i});
            return order_done();
        }
        // Kahn's algorithm with the smallest ready id first, so the order is deterministic and
        // stays close to the original one.
        std::vector<std::uint32_t> indeg(nodes_.size(), 0);
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (!nodes_[i].alive) continue;
            for (ValueId in : nodes_[i].inputs)
                if (in && values_[in.index()].producer) ++indeg[i];
        }
        std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            if (nodes_[i].alive && indeg[i] == 0) ready.push(i);
        while (!ready.empty()) {
            std::size_t i = ready.top();
            ready.pop();
            order_.push_back(NodeId{i});
            for (ValueId o : nodes_[i].outputs)
                for (const Use& u : values_[o.index()].uses)
                    if (--indeg[u.node.index()] == 0) ready.push(u.node.index());
        }
        if (order_.size() != alive_nodes_) {
            for (std::size_t i = 0; i < nodes_.size(); ++i)
                if (nodes_[i].alive && indeg[i] != 0) {
                    order_.clear();
                    throw graph_error(label(NodeId{i}), "the graph has a cycle through this node");
                }
        }
        order_done();
    }

    detail::chunked_vector<Node> nodes_;
    /// use_pos_[use_first_[n] + s]: position of use {n, s} in the use list of node n's input s (one
    /// array for all nodes: an input count is fixed when the node is added).
    std::vector<std::uint32_t> use_pos_;
    std::vector<std::size_t> use_first_;
    detail::chunked_vector<Value> values_;
    std::vector<ValueId> inputs_;
    std::vector<ValueId> outputs_;
    std::size_t alive_nodes_ = 0;
    mutable std::vector<NodeId> order_;
    mutable bool order_valid_ = false;
    mutable bool order_base_ = false;        ///< order_ was valid when the graph had order_bound_ nodes
    mutable std::size_t order_bound_ = 0;
    mutable std::vector<NodeId> rewired_;    ///< nodes whose inputs changed since then
    mutable detail::scratch<std::vector<std::uint32_t>> order_pos_; ///< of update_order; not copied with the graph
    mutable detail::scratch<std::vector<NodeId>> order_scratch_;
    mutable flow_index flow_;
    mutable bool flow_valid_ = false;
};

} // namespace surgery::ir
