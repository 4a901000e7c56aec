// reference::executor: runs an ir::Graph with the reference kernels (plan once, run many times).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/reference/kernels.hpp"
#include "surgery/search/program.hpp"

namespace surgery::reference {

/// What the per-node hook receives after each executed step.
struct node_timing {
    ir::NodeId node;       ///< the node that ran (for a fused step: the producer, e.g. the Conv)
    std::string_view name; ///< its label
    std::string_view op;   ///< its op type, with fused activations: "Conv+HardSwish"
    std::uint64_t ns = 0;  ///< wall time of the kernel
};

struct executor_options {
    /// Compute a Conv/Gemm/MatMul and the activation that alone consumes it in one step (the
    /// activation runs on the output while it is in cache). Patterns: Relu, Clip with constant
    /// bounds, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh, Gelu, and the written-out forms
    /// of SiLU, HardSwish and GELU of the pattern library (pattern/library.hpp). The result equals
    /// the unfused one (to float rounding).
    bool fuse_activations = true;
    /// Evaluate nodes whose inputs are all constants once, when the executor is built.
    bool fold_constants = true;
    /// Collect the time of every step in `profile()`.
    bool profile = false;
    /// Called after every step with its timing (also without `profile`).
    std::function<void(const node_timing&)> on_node{};
    /// Eigen threads for GEMM; only has an effect when compiled with OpenMP. 1 = single-threaded.
    int threads = 1;
    /// Kernel options (conv algorithm; the opset is taken from the graph).
    conv_algorithm conv = conv_algorithm::automatic;
    /// Most bytes of intermediate tensors and work memory held at once during a run (0: no limit).
    /// A step that would go beyond fails before allocating, naming the node and the tensor.
    std::size_t max_memory = 0;
};

/// Time per step, summed over the runs since the last `reset_profile()`.
struct node_profile {
    ir::NodeId node;
    std::string name;
    std::string op; ///< op type, "+Activation" when fused
    ir::OpKind kind = 0;
    std::uint64_t ns = 0;
};

struct profile_report {
    std::vector<node_profile> nodes;                  ///< in execution order
    std::array<std::uint64_t, ir::op_count> ns_by_kind{}; ///< by the step's (producer's) op kind
    std::uint64_t total_ns = 0;
    std::size_t runs = 0;

    /// A text table: time per op kind, largest first, and the share of the total.
    [[nodiscard]] std::string summary() const {
        std::vector<std::pair<std::uint64_t, std::size_t>> rows;
        for (std::size_t k = 0; k < ns_by_kind.size(); ++k)
            if (ns_by_kind[k]) rows.emplace_back(ns_by_kind[k], k);
        std::sort(rows.rbegin(), rows.rend());
        std::string out = "op kind              ms/run    share\n";
        const double runs_d = runs ? static_cast<double>(runs) : 1.0;
        for (const auto& [ns, k] : rows) {
            char line[96];
            std::snprintf(line, sizeof line, "%-18s %9.3f %7.1f%%\n", std::string(ir::op_names[k]).c_str(), static_cast<double>(ns) / 1e6 / runs_d,
                          total_ns ? 100.0 * static_cast<double>(ns) / static_cast<double>(total_ns) : 0.0);
            out += line;
        }
        char tot[64];
        std::snprintf(tot, sizeof tot, "%-18s %9.3f\n", "total", static_cast<double>(total_ns) / 1e6 / runs_d);
        return out + tot;
    }
};

/// Facts about the plan and the last run.
struct run_stats {
    std::size_t steps = 0;             ///< kernel calls per run
    std::size_t fused_nodes = 0;       ///< activation nodes merged into their producer
    std::size_t folded_nodes = 0;      ///< nodes evaluated at construction (constant inputs)
    std::size_t peak_live_tensors = 0; ///< most intermediate tensors alive at once in the last run
    std::size_t peak_live_bytes = 0;   ///< their bytes at that peak
};

/// Executes an `ir::Graph` with the reference kernels.
///
/// Construction does the planning once: topological order, constant folding, activation fusion,
/// the kernel of every step, the last use of every value. `run` then walks the plan: a value is
/// released right after its last use (its storage goes back to a pool that later outputs reuse),
/// and an element-wise kernel writes in place over an input that dies there. The executor copies
/// what it needs from the graph (ops, constant tensors shared, not copied), so the graph may change
/// or go away afterwards. Single-threaded; one executor per thread.
class executor {
public:
    explicit executor(const ir::Graph& g, executor_options options = {}) : options_(std::move(options)) { plan(g); }

    /// Runs on `inputs` given in graph-input order; returns the outputs in graph-output order.
    /// Throws `surgery::error` naming the input when the count, a dtype or a static dim differs
    /// from the graph's, and `graph_error` naming the node when a kernel rejects its inputs.
    /// Inputs that have a default value (an ONNX initializer of the same name) may be left out:
    /// give either every input, or only those without a default, in graph-input order.
    [[nodiscard]] std::vector<Tensor> run(const std::vector<Tensor>& inputs) {
        const std::vector<std::size_t> slots = given_slots(inputs.size());
        check_inputs(inputs, slots);
        for (std::size_t k = 0; k < inputs.size(); ++k) view_[input_slots_[slots[k]]] = &inputs[k];
        bind_defaults(slots);
        return execute();
    }
    /// As above; the inputs' storage is reused for intermediates.
    [[nodiscard]] std::vector<Tensor> run(std::vector<Tensor>&& inputs) {
        const std::vector<std::size_t> slots = given_slots(inputs.size());
        check_inputs(inputs, slots);
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            const std::uint32_t s = input_slots_[slots[k]];
            store_[s] = std::move(inputs[k]);
            view_[s] = &store_[s];
            owned_[s] = 1;
        }
        bind_defaults(slots);
        return execute();
    }
    /// Inputs by name; every graph input must be given, and no other name. (A template only so
    /// that a braced list `run({a, b})` is never taken for a map.)
    template <class Map>
        requires std::same_as<Map, std::map<std::string, Tensor>>
    [[nodiscard]] std::vector<Tensor> run(const Map& inputs) {
        std::vector<Tensor> ordered;
        ordered.reserve(input_specs_.size());
        const bool all = std::all_of(input_specs_.begin(), input_specs_.end(), [&](const input_spec& spec) { return inputs.count(spec.name) > 0; });
        for (const auto& spec : input_specs_) {
            auto it = inputs.find(spec.name);
            if (it == inputs.end()) {
                if (spec.default_value && !all) continue;
                throw error("reference::executor: graph input '" + spec.name + "' is not given");
            }
            if (!all && spec.default_value) throw error("reference::executor: give every input, or only those without a default ('" + spec.name + "' has one)");
            ordered.push_back(it->second);
        }
        for (const auto& [name, t] : inputs) {
            bool known = false;
            for (const auto& spec : input_specs_) known = known || spec.name == name;
            if (!known) throw error("reference::executor: '" + name + "' is not an input of the graph");
        }
        return run(std::move(ordered));
    }

    /// Graph inputs as the executor checks them.
    struct input_spec {
        std::string name;
        DType dtype = DType::f32;
        std::optional<Shape> shape;
        std::shared_ptr<const Tensor> default_value; ///< used when the run does not give the input
    };
    [[nodiscard]] const std::vector<input_spec>& input_specs() const noexcept { return input_specs_; }
    [[nodiscard]] const std::vector<std::string>& output_names() const noexcept { return output_names_; }
    [[nodiscard]] const run_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] const profile_report& profile() const noexcept { return profile_; }
    void reset_profile() {
        for (auto& n : profile_.nodes) n.ns = 0;
        profile_.ns_by_kind.fill(0);
        profile_.total_ns = 0;
        profile_.runs = 0;
    }
    /// Frees the recycled storage kept between runs.
    void release_memory() { pool_.clear(); scratch_ = {}; }

private:
    static constexpr std::uint32_t none = 0xffffffffu;

    struct step {
        kernel_fn fn = nullptr;
        ir::Op op;
        ir::NodeId node;
        std::string label;
        std::string op_name;
        std::vector<std::uint32_t> inputs;     ///< slots, `none` for an omitted input
        std::vector<char> may_consume;         ///< last use here, read once, not a graph output
        std::vector<std::uint32_t> outputs;
        std::vector<std::uint32_t> release;    ///< slots dead after this step
        reference::epilogue epilogue;
    };

    // ---- planning ------------------------------------------------------------------------

    void plan(const ir::Graph& g) {
        const auto& order = g.topological_order();
        const std::size_t nv = g.value_bound();
        store_.assign(nv, Tensor{});
        view_.assign(nv, nullptr);
        owned_.assign(nv, 0);
        counted_.assign(nv, 0);
        bytes_.assign(nv, 0);
        constants_.assign(nv, nullptr);
        opset_ = g.opset;
        for (ir::ValueId v : g.inputs()) {
            const ir::Value& val = g.value(v);
            input_specs_.push_back({g.label(v), val.dtype, val.shape, val.data});
            input_slots_.push_back(static_cast<std::uint32_t>(v.index()));
        }
        for (ir::ValueId v : g.outputs()) {
            output_slots_.push_back(static_cast<std::uint32_t>(v.index()));
            output_names_.push_back(g.label(v));
        }
        for (std::size_t i = 0; i < nv; ++i)
            if (const ir::Value& val = g.value(ir::ValueId{i}); val.alive && val.is_constant()) constants_[i] = val.data;

        // Only the nodes the outputs depend on run: a dead branch (even one holding an op the
        // executor cannot run) costs nothing.
        std::vector<char> needed(g.node_bound(), 0);
        {
            std::vector<ir::ValueId> work(g.outputs().begin(), g.outputs().end());
            while (!work.empty()) {
                const ir::ValueId v = work.back();
                work.pop_back();
                const ir::NodeId p = g.value(v).producer;
                if (!p || needed[p.index()]) continue;
                needed[p.index()] = 1;
                for (ir::ValueId in : g.node(p).inputs)
                    if (in) work.push_back(in);
            }
        }
        std::vector<char> skip(g.node_bound(), 0);
        if (options_.fuse_activations) find_diamonds(g);
        steps_.reserve(order.size());
        for (ir::NodeId n : order) {
            if (skip[n.index()] || !needed[n.index()]) continue;
            const ir::Node& nd = g.node(n);
            if (const auto* o = nd.as<ir::ops::Opaque>())
                throw graph_error(g.label(n), "op '" + o->qualified_name() + "' is not in model-surgery's op catalogue: it is carried through "
                                              "rewrites unchanged, but the reference executor cannot run it");
            if (const auto* c = nd.as<ir::ops::Constant>()) { // a constant by definition: no kernel call
                if (!c->value) throw graph_error(g.label(n), "Constant: has no value");
                constants_[nd.outputs[0].index()] = c->value;
                continue;
            }
            step s;
            s.fn = kernel_for(nd.kind());
            s.op = nd.op;
            s.node = n;
            s.label = g.label(n);
            s.op_name = std::string(ir::name_of(nd.op));
            for (ir::ValueId in : nd.inputs) s.inputs.push_back(in ? static_cast<std::uint32_t>(in.index()) : none);
            for (ir::ValueId out : nd.outputs) s.outputs.push_back(static_cast<std::uint32_t>(out.index()));
            if (options_.fuse_activations) fuse(g, nd, s, skip);
            bool all_const = options_.fold_constants;
            for (auto in : s.inputs) all_const = all_const && (in == none || constants_[in]);
            if (all_const) {
                fold(s);
                continue;
            }
            steps_.push_back(std::move(s));
        }

        // Last uses: a value is released after the last step that reads it, or right after the
        // step that makes it when nothing reads it; graph outputs and constants never.
        std::vector<char> is_output(nv, 0);
        for (auto o : output_slots_) is_output[o] = 1;
        std::vector<std::size_t> last(nv, SIZE_MAX);
        for (std::size_t p = 0; p < steps_.size(); ++p) {
            for (auto out : steps_[p].outputs) last[out] = p;
            for (auto in : steps_[p].inputs)
                if (in != none) last[in] = p;
        }
        for (auto in : input_slots_)
            if (last[in] == SIZE_MAX && !is_output[in]) unused_inputs_.push_back(in);
        for (std::size_t v = 0; v < nv; ++v)
            if (last[v] != SIZE_MAX && !is_output[v] && !constants_[v]) steps_[last[v]].release.push_back(static_cast<std::uint32_t>(v));
        profile_.nodes.reserve(steps_.size());
        for (std::size_t p = 0; p < steps_.size(); ++p) {
            step& s = steps_[p];
            s.may_consume.assign(s.inputs.size(), 0);
            for (std::size_t k = 0; k < s.inputs.size(); ++k) {
                const auto in = s.inputs[k];
                if (in == none || constants_[in] || is_output[in] || last[in] != p) continue;
                std::size_t reads = 0;
                for (auto other : s.inputs) reads += other == in ? 1 : 0;
                s.may_consume[k] = reads == 1 ? 1 : 0;
            }
            profile_.nodes.push_back({s.node, s.label, s.op_name, ir::kind_of(s.op), 0});
        }
        stats_.steps = steps_.size();
    }

    /// Moves the chain of element-wise nodes that alone consume a Conv/Gemm/MatMul output into
    /// that step's epilogue: activations, Clip with constant bounds, Add/Sub/Mul/Div by a constant
    /// scalar or per-channel vector (bias, layer scale), and the activations written out as DAGs
    /// (`find_diamonds`).
    void fuse(const ir::Graph& g, const ir::Node& nd, step& s, std::vector<char>& skip) {
        const bool is_conv = nd.is<ir::ops::Conv>();
        if (!is_conv && !nd.is<ir::ops::Gemm>() && !nd.is<ir::ops::MatMul>()) return;
        ir::ValueId v = nd.outputs[0];
        // The producer's output shape fixes the channel axis (Conv: 1, Gemm/MatMul: last); per-channel
        // operands are only fused when it is known.
        const std::optional<Shape> shape = g.value(v).shape;
        const std::size_t channel_axis = is_conv ? 1 : (shape && !shape->empty() ? shape->size() - 1 : 0);
        auto advance = [&](const ir::Node& c, ir::NodeId id, std::string_view what) {
            skip[id.index()] = 1;
            v = c.outputs[0];
            s.outputs = {static_cast<std::uint32_t>(v.index())};
            s.op_name += '+';
            s.op_name.append(what);
            ++stats_.fused_nodes;
        };
        for (;;) {
            if (g.is_output(v)) return;
            const auto& uses = g.value(v).uses;
            if (uses.size() == 1) {
                const ir::NodeId cid = uses[0].node;
                const ir::Node& c = g.node(cid);
                if (!c.alive || c.outputs.size() != 1) return;
                if (auto a = fusable_activation(c, uses[0].slot)) {
                    s.epilogue.ops.push_back({fused_op::kind::act, *a, nullptr});
                    advance(c, cid, ir::name_of(c.op));
                    continue;
                }
                if (auto op = fusable_binary(g, c, v, shape, channel_axis)) {
                    s.epilogue.ops.push_back(std::move(*op));
                    advance(c, cid, ir::name_of(c.op));
                    continue;
                }
                return;
            }
            // Several uses: an activation written as a DAG over `v` (x * Sigmoid(x), GELU, ...),
            // found with the pattern library's forms, whose nodes alone read `v`.
            const auto found = diamonds_.find(static_cast<std::uint32_t>(v.index()));
            if (found == diamonds_.end()) return;
            const diamond* take = nullptr;
            for (const diamond& d : found->second) {
                bool ok = true;
                for (ir::NodeId n : d.nodes) ok = ok && !skip[n.index()] && g.node(n).alive;
                for (const ir::Use& u : uses) ok = ok && std::find(d.nodes.begin(), d.nodes.end(), u.node) != d.nodes.end();
                if (ok) {
                    take = &d;
                    break;
                }
            }
            if (!take) return;
            s.epilogue.ops.push_back({fused_op::kind::act, take->act, nullptr});
            const ir::NodeId root = take->nodes.back();
            for (ir::NodeId n : take->nodes)
                if (n != root) {
                    skip[n.index()] = 1;
                    ++stats_.fused_nodes;
                }
            advance(g.node(root), root, take->form);
        }
    }

    /// An activation written out as a DAG over one value (e.g. `x * Sigmoid(x)`): a match of a
    /// pattern-library form, fused when its input is the output of a Conv/Gemm/MatMul step (after
    /// what that step already fused, such as a bias Add).
    struct diamond {
        std::vector<ir::NodeId> nodes; ///< matched nodes, root last
        activation act;
        std::string_view form; ///< the form's name, for the step's op name ("Conv+silu")
    };

    /// Finds the fusable diamonds of `g`, by the value they read (`diamonds_`): SiLU, HardSwish as
    /// `x * HardSigmoid(x)` or written out, and GELU (erf and tanh) in every association. The
    /// forms check their constants, so the fused activation computes what the nodes did.
    void find_diamonds(const ir::Graph& g) {
        namespace forms = pattern::forms;
        struct fusable {
            const pattern::form* f;
            activation_kind k;
        };
        static constexpr fusable all[] = {
            {&forms::silu, activation_kind::swish},
            {&forms::hardswish_hardsigmoid, activation_kind::hard_swish},
            {&forms::hardswish_written, activation_kind::hard_swish},
            {&forms::hardswish_written_gate, activation_kind::hard_swish},
            {&forms::gelu_erf, activation_kind::gelu},
            {&forms::gelu_erf_half_first, activation_kind::gelu},
            {&forms::gelu_erf_half_inner, activation_kind::gelu},
            {&forms::gelu_tanh, activation_kind::gelu_tanh},
            {&forms::gelu_tanh_half_first, activation_kind::gelu_tanh},
            {&forms::gelu_tanh_half_inner, activation_kind::gelu_tanh},
        };
        diamonds_.clear();
        for (const fusable& fu : all) {
            for (const auto& m : search::find_program_dags(g, fu.f->pattern().view())) {
                const auto x = m.capture("x");
                if (!x || !g.producer(*x)) continue; // a graph input or constant is no step's output
                diamond d{m.nodes, {fu.k, 0.0f, 0.0f}, fu.f->name};
                if (fu.k == activation_kind::hard_swish) d.act = {activation_kind::hard_swish, 1.0f / 6.0f, 0.5f};
                diamonds_[static_cast<std::uint32_t>(x->index())].push_back(std::move(d));
            }
        }
    }

    /// The activation node `c` computes from its input `slot`, when it can be fused.
    [[nodiscard]] std::optional<activation> fusable_activation(const ir::Node& c, std::uint32_t slot) const {
        if (slot != 0) return std::nullopt;
        if (c.is<ir::ops::Clip>()) {
            activation a{activation_kind::clip, -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
            for (std::size_t k = 1; k < c.inputs.size(); ++k) {
                if (!c.inputs[k]) continue;
                const Tensor* t = constant_tensor(c.inputs[k]);
                if (!t || t->dtype != DType::f32) return std::nullopt;
                if (t->size() == 0) continue;
                if (t->size() != 1 || t->f.size() != 1) return std::nullopt;
                (k == 1 ? a.alpha : a.beta) = t->f[0];
            }
            return a;
        }
        auto a = activation_of(c.op);
        if (!a || a->kind == activation_kind::sqrt || a->kind == activation_kind::erf) return std::nullopt;
        return a;
    }

    /// Add/Sub/Mul/Div of the producer's output `v` by a constant that is a scalar or varies only
    /// along the channel axis (so the output keeps `v`'s shape); Sub and Div only as `v - k`, `v / k`.
    [[nodiscard]] std::optional<fused_op> fusable_binary(const ir::Graph& g, const ir::Node& c, ir::ValueId v, const std::optional<Shape>& shape,
                                                         std::size_t channel_axis) const {
        fused_op op;
        if (c.is<ir::ops::Add>()) op.k = fused_op::kind::add;
        else if (c.is<ir::ops::Sub>()) op.k = fused_op::kind::sub;
        else if (c.is<ir::ops::Mul>()) op.k = fused_op::kind::mul;
        else if (c.is<ir::ops::Div>()) op.k = fused_op::kind::div;
        else return std::nullopt;
        const bool commutative = op.k == fused_op::kind::add || op.k == fused_op::kind::mul;
        std::size_t other;
        if (c.inputs[0] == v && c.inputs[1] != v) other = 1;
        else if (commutative && c.inputs[1] == v && c.inputs[0] != v) other = 0;
        else return std::nullopt;
        const ir::ValueId kv = c.inputs[other];
        op.operand = kv ? constants_[kv.index()] : nullptr;
        if (!op.operand || op.operand->dtype != DType::f32 || op.operand->f.empty()) return std::nullopt;
        const Shape& ks = op.operand->shape;
        if (op.operand->f.size() == 1) {
            // A scalar: fine unless it has more dims than the output (which it would grow).
            if (ks.size() <= 1 || (shape && ks.size() <= shape->size())) return op;
            return std::nullopt;
        }
        if (!shape || !ir::is_static(*shape) || ks.size() > shape->size()) return std::nullopt;
        const std::size_t off = shape->size() - ks.size();
        for (std::size_t d = 0; d < ks.size(); ++d) {
            const std::size_t axis = d + off;
            if (axis == channel_axis ? ks[d] != (*shape)[axis] : ks[d] != 1) return std::nullopt;
        }
        (void)g;
        return op;
    }

    [[nodiscard]] const Tensor* constant_tensor(ir::ValueId v) const { return constants_[v.index()].get(); }

    void fold(step& s) {
        std::vector<const Tensor*> ins;
        for (auto in : s.inputs) ins.push_back(in == none ? nullptr : constants_[in].get());
        std::vector<Tensor> outs(s.outputs.size());
        node_io io;
        io.node = s.label;
        io.op = s.op_name;
        io.inputs = ins;
        io.outputs = outs;
        io.epilogue = s.epilogue;
        io.options = {options_.conv, opset_};
        s.fn(s.op, io);
        for (std::size_t o = 0; o < outs.size(); ++o) constants_[s.outputs[o]] = std::make_shared<const Tensor>(std::move(outs[o]));
        ++stats_.folded_nodes;
    }

    // ---- running -------------------------------------------------------------------------

    /// Which graph inputs `n` given tensors stand for: all of them, or those without a default.
    [[nodiscard]] std::vector<std::size_t> given_slots(std::size_t n) const {
        std::vector<std::size_t> all, required;
        for (std::size_t k = 0; k < input_specs_.size(); ++k) {
            all.push_back(k);
            if (!input_specs_[k].default_value) required.push_back(k);
        }
        if (n == all.size()) return all;
        if (n == required.size()) return required;
        throw error("reference::executor: the graph has " + std::to_string(all.size()) + " inputs (" + std::to_string(all.size() - required.size()) +
                    " with a default), " + std::to_string(n) + " given");
    }

    void bind_defaults(const std::vector<std::size_t>& given) {
        if (given.size() == input_specs_.size()) return;
        for (std::size_t k = 0; k < input_specs_.size(); ++k)
            if (input_specs_[k].default_value && std::find(given.begin(), given.end(), k) == given.end())
                view_[input_slots_[k]] = input_specs_[k].default_value.get();
    }

    template <class Inputs>
    void check_inputs(const Inputs& inputs, const std::vector<std::size_t>& slots) const {
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            const input_spec& spec = input_specs_[slots[k]];
            const Tensor& t = inputs[k];
            if (t.dtype != spec.dtype)
                throw error("reference::executor: input '" + spec.name + "' must be " + std::string(ir::to_string(spec.dtype)) + ", got " +
                            std::string(ir::to_string(t.dtype)));
            if (spec.shape) {
                bool ok = spec.shape->size() == t.shape.size();
                for (std::size_t d = 0; ok && d < t.shape.size(); ++d) ok = (*spec.shape)[d] < 0 || (*spec.shape)[d] == t.shape[d];
                if (!ok)
                    throw error("reference::executor: input '" + spec.name + "' must have shape " + ir::to_string(*spec.shape) + ", got " +
                                ir::to_string(t.shape));
            }
            const std::size_t have = t.dtype == DType::f32 ? t.f.size() : t.i.size();
            if (static_cast<std::int64_t>(have) != ir::numel(t.shape))
                throw error("reference::executor: input '" + spec.name + "' holds " + std::to_string(have) + " values for shape " +
                            ir::to_string(t.shape));
        }
    }

    std::vector<Tensor> execute() {
#ifdef EIGEN_HAS_OPENMP
        Eigen::setNbThreads(options_.threads);
#endif
        for (std::size_t v = 0; v < constants_.size(); ++v)
            if (constants_[v]) view_[v] = constants_[v].get();
        for (auto in : unused_inputs_) release(in);
        std::size_t live = 0, live_bytes = 0, peak = 0, peak_bytes = 0;
        const bool timed = options_.profile || static_cast<bool>(options_.on_node);
        std::vector<const Tensor*> ins;
        std::vector<Tensor*> consumable;
        try {
            for (std::size_t p = 0; p < steps_.size(); ++p) {
                step& s = steps_[p];
                ins.assign(s.inputs.size(), nullptr);
                consumable.assign(s.inputs.size(), nullptr);
                for (std::size_t k = 0; k < s.inputs.size(); ++k) {
                    const auto in = s.inputs[k];
                    if (in == none) continue;
                    ins[k] = view_[in];
                    if (s.may_consume[k] && owned_[in]) consumable[k] = &store_[in];
                }
                outs_.resize(s.outputs.size());
                node_io io;
                io.node = s.label;
                io.op = s.op_name;
                io.inputs = ins;
                io.consumable = consumable;
                io.outputs = std::span<Tensor>(outs_.data(), s.outputs.size());
                io.pool = &pool_;
                io.scratch = &scratch_;
                io.epilogue = s.epilogue;
                io.options = {options_.conv, opset_};
                io.live_bytes = live_bytes + scratch_.capacity() * sizeof(float);
                io.max_bytes = options_.max_memory;
                const auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
                s.fn(s.op, io);
                if (timed) {
                    const auto ns = static_cast<std::uint64_t>(
                        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
                    if (options_.profile) {
                        profile_.nodes[p].ns += ns;
                        profile_.ns_by_kind[ir::kind_of(s.op)] += ns;
                        profile_.total_ns += ns;
                    }
                    if (options_.on_node) options_.on_node(node_timing{s.node, s.label, s.op_name, ns});
                }
                // An input whose storage moved into an output no longer occupies memory.
                for (std::size_t k = 0; k < consumable.size(); ++k) {
                    const auto in = s.inputs[k];
                    if (consumable[k] && counted_[in] && store_[in].f.capacity() == 0 && store_[in].i.capacity() == 0) {
                        live_bytes -= std::min(live_bytes, bytes_[in]);
                        --live;
                        counted_[in] = 0;
                    }
                }
                for (std::size_t o = 0; o < s.outputs.size(); ++o) {
                    const auto slot = s.outputs[o];
                    store_[slot] = std::move(outs_[o]);
                    view_[slot] = &store_[slot];
                    owned_[slot] = 1;
                    counted_[slot] = 1;
                    bytes_[slot] = bytes_of(store_[slot]);
                    ++live;
                    live_bytes += bytes_[slot];
                }
                if (live > peak) {
                    peak = live;
                    peak_bytes = live_bytes;
                }
                for (auto v : s.release) {
                    if (counted_[v]) {
                        live_bytes -= std::min(live_bytes, bytes_[v]);
                        --live;
                        counted_[v] = 0;
                    }
                    release(v);
                }
            }
        } catch (...) {
            reset();
            throw;
        }
        std::vector<Tensor> result;
        result.reserve(output_slots_.size());
        for (auto o : output_slots_) {
            if (owned_[o]) result.push_back(std::move(store_[o]));
            else result.push_back(*view_[o]);
        }
        if (options_.profile) ++profile_.runs;
        stats_.peak_live_tensors = peak;
        stats_.peak_live_bytes = peak_bytes;
        reset();
        return result;
    }

    static std::size_t bytes_of(const Tensor& t) noexcept { return t.f.capacity() * sizeof(float) + t.i.capacity() * sizeof(std::int64_t); }

    void release(std::uint32_t v) {
        counted_[v] = 0;
        if (owned_[v]) pool_.give(std::move(store_[v]));
        store_[v] = Tensor{};
        owned_[v] = 0;
        view_[v] = nullptr;
    }

    void reset() {
        for (std::size_t v = 0; v < store_.size(); ++v) {
            if (owned_[v]) release(static_cast<std::uint32_t>(v));
            view_[v] = nullptr;
        }
        for (auto& t : outs_) pool_.give(std::move(t));
    }

    executor_options options_;
    std::int64_t opset_ = 17;
    std::vector<step> steps_;
    std::unordered_map<std::uint32_t, std::vector<diamond>> diamonds_; ///< by the value they read (planning only)
    std::vector<std::shared_ptr<const Tensor>> constants_; ///< by value index: graph constants and folded values
    std::vector<input_spec> input_specs_;
    std::vector<std::uint32_t> input_slots_, output_slots_, unused_inputs_;
    std::vector<std::string> output_names_;
    std::vector<Tensor> store_;           ///< by value index: tensors the executor owns during a run
    std::vector<const Tensor*> view_;     ///< by value index: where each live value is read from
    std::vector<char> owned_;             ///< by value index: the value lives in `store_`
    std::vector<char> counted_;           ///< by value index: an intermediate counted as live
    std::vector<std::size_t> bytes_;      ///< by value index: its bytes when it was made
    std::vector<Tensor> outs_;            ///< a step's outputs before they move into `store_`
    buffer_pool pool_;
    std::vector<float> scratch_;
    run_stats stats_;
    profile_report profile_;
};

/// Runs `g` once on `inputs` (graph-input order) and returns its outputs.
[[nodiscard]] inline std::vector<Tensor> run(const ir::Graph& g, const std::vector<Tensor>& inputs, executor_options options = {}) {
    executor ex(g, std::move(options));
    return ex.run(inputs);
}

} // namespace surgery::reference
