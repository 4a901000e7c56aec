// libonnx's check of a large model on several threads (writer.hpp, check_model): its checker beside
// its strict shape inference, and the inference itself run on pieces of the graph at once, with the
// verdict and the message it gives on the whole graph.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <latch>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "surgery/ir/name_map.hpp"
#include "surgery/onnx/detail/proto.hpp"

namespace surgery::onnx::detail {

/// Whether a node of `g` has a graph attribute (If, Loop, Scan): libonnx's shape inference writes into
/// such subgraphs, which its checker reads.
[[nodiscard]] inline bool has_graph_attribute(const pb::GraphProto& g) {
    for (const auto& n : g.node())
        for (const auto& a : n.attribute())
            if (a.has_g() || a.graphs_size() > 0) return true;
    return false;
}

/// A graph cut into pieces on which libonnx 1.12's strict shape inference (`InferShapes`) can run one
/// by one, or at once, with the verdict of a run on the whole graph. What one node's inference leaves
/// to the next is the entry of each value in a table of types: its declaration (value_info, graph
/// input or output) merged with what its producer inferred, a Constant node's tensor, an
/// initializer's type and data. A value may therefore cross from one piece to the next only when that
/// entry is known in advance: declared once, with an element type and every dimension a number (a
/// merge then either leaves it as it was or fails in the producer's piece), and not a Constant's
/// output. The pieces are cut where only such values cross; each reads them as graph inputs (copies of
/// their declarations). Graphs whose inference carries state across the whole graph get no plan: a
/// node of another domain or of an op libonnx does not know (after one, libonnx drops the errors of
/// every later node), an experimental op, a subgraph, a sparse initializer, and declarations or
/// orders that only an invalid model has (a value made twice, or read before it is made).
struct inference_plan {
    struct piece {
        int begin = 0, end = 0;                   ///< the nodes [begin, end)
        std::vector<int> inputs;                  ///< graph inputs read here (indices into the graph's)
        std::vector<int> initializers;            ///< initializers read here
        std::vector<int> value_infos;             ///< value infos of the values made here
        std::vector<int> outputs;                 ///< graph outputs made here
        std::vector<pb::ValueInfoProto> carried;  ///< declarations of values from earlier pieces read here
        bool sparse_initializers = false;         ///< all the graph's sparse initializers (the whole graph)
    };
    std::vector<piece> pieces;
};

/// At most this many values cross a cut (each is a graph input of the pieces after it).
inline constexpr std::int64_t max_carried_values = 64;

/// Names (views into a model that outlives the table) numbered 0, 1, ... in the order they are
/// added: open addressing over a power-of-two table of slots holding a part of the hash (most
/// mismatches are told apart without reading the name) and the number; doubled when half full.
class name_numbers {
public:
    static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

    explicit name_numbers(std::size_t expected) : slots_(std::bit_ceil(std::max<std::size_t>(16, expected * 2))) {
        names_.reserve(expected);
    }

    /// The number of `name`, or `none`.
    [[nodiscard]] std::uint32_t find(std::string_view name) const noexcept {
        const std::uint64_t h = ir::detail::name_hash(name);
        return slots_[probe(name, h)].number;
    }
    /// The number of `name`, which is `size()` before the call when it is new.
    std::uint32_t add(std::string_view name) {
        if (names_.size() * 2 >= slots_.size()) grow();
        const std::uint64_t h = ir::detail::name_hash(name);
        slot& s = slots_[probe(name, h)];
        if (s.number == none) {
            if (names_.size() >= none) throw std::length_error("too many names");
            s = slot{static_cast<std::uint32_t>(h >> 32), static_cast<std::uint32_t>(names_.size())};
            names_.push_back(name);
        }
        return s.number;
    }
    [[nodiscard]] std::string_view name(std::uint32_t number) const noexcept { return names_[number]; }
    [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }

private:
    struct slot {
        std::uint32_t tag = 0;
        std::uint32_t number = none;
    };
    [[nodiscard]] std::size_t probe(std::string_view name, std::uint64_t h) const noexcept {
        const auto tag = static_cast<std::uint32_t>(h >> 32);
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = h & mask;; i = (i + 1) & mask)
            if (const slot& s = slots_[i]; s.number == none || (s.tag == tag && names_[s.number] == name)) return i;
    }
    void grow() {
        std::vector<slot> old(slots_.size() * 2);
        old.swap(slots_);
        const std::size_t mask = slots_.size() - 1;
        for (const slot& s : old) {
            if (s.number == none) continue;
            std::size_t i = ir::detail::name_hash(names_[s.number]) & mask;
            while (slots_[i].number != none) i = (i + 1) & mask;
            slots_[i] = s;
        }
    }
    std::vector<slot> slots_;
    std::vector<std::string_view> names_;
};

/// Whether `t` is a tensor type whose element type and every dimension are given as numbers.
[[nodiscard]] inline bool concrete_type(const pb::TypeProto& t) {
    if (!t.has_tensor_type()) return false;
    const auto& tt = t.tensor_type();
    if (tt.elem_type() == 0 || !tt.has_shape()) return false;
    for (const auto& d : tt.shape().dim())
        if (!d.has_dim_value()) return false;
    return true;
}

/// The plan for `m` in about `pieces` pieces (nullopt when there is none, see inference_plan: the
/// whole graph is then inferred at once). Reads `m` only. The plan is exact for a model that passes
/// libonnx's checker (which the caller runs, and whose error comes first): one in SSA form, its nodes
/// in topological order, each input made before it is read; for any other model it is only safe.
/// Cost: most inputs are outputs of the last few nodes, and declarations come in the order of their
/// producers (as model-surgery writes them), so a table of every value made is built only when an
/// input or declaration is found neither way (a million-node chain needs none).
[[nodiscard]] inline std::optional<inference_plan> plan_inference(const pb::ModelProto& m, std::size_t pieces) {
    if (!m.has_graph() || pieces < 2) return std::nullopt;
    const pb::GraphProto& g = m.graph();
    const int n = g.node_size();
    if (n < 2 || g.sparse_initializer_size() > 0) return std::nullopt;
    int opset = -1;
    for (const auto& os : m.opset_import())
        if (os.domain().empty()) opset = static_cast<int>(os.version());
    if (opset < 1) return std::nullopt;
    constexpr std::uint32_t none = name_numbers::none;

    // Graph inputs and initializers ("external" values), with the first and last nodes reading them.
    struct use {
        std::uint32_t first = none, last = 0;
    };
    name_numbers externals(static_cast<std::size_t>(g.input_size() + g.initializer_size()));
    std::vector<use> external_uses;
    for (const auto& in : g.input())
        if (externals.add(in.name()) == external_uses.size()) external_uses.emplace_back();
    for (const auto& t : g.initializer())
        if (externals.add(t.name()) == external_uses.size()) external_uses.emplace_back();
    // Graph outputs, and the value each names.
    name_numbers output_names(static_cast<std::size_t>(g.output_size()));
    for (const auto& o : g.output()) (void)output_names.add(o.name());
    std::vector<std::uint32_t> output_value(output_names.size(), none);

    // The values the nodes make, in order.
    struct value {
        std::string_view name;
        std::uint32_t producer = 0;     ///< the node making it
        std::uint32_t last_use = 0;     ///< the last node reading it (the producer: none)
        std::uint32_t declarations = 0; ///< value infos and graph outputs naming it
        const pb::ValueInfoProto* declaration = nullptr;
        bool constant = false; ///< made by a Constant node
        bool concrete = false; ///< its (last) declaration is of a concrete type
    };
    std::vector<value> values;
    values.reserve(static_cast<std::size_t>(n));
    // name -> index into values, filled up to `indexed` when first needed.
    std::optional<name_numbers> made;
    std::size_t indexed = 0;
    bool twice = false; // a name made twice (seen while indexing)
    auto made_by_name = [&](std::string_view name) -> std::uint32_t {
        if (!made) made.emplace(values.capacity());
        for (; indexed < values.size(); ++indexed)
            if (made->add(values[indexed].name) != made->size() - 1 || made->size() != indexed + 1) twice = true;
        return made->find(name);
    };
    // The values the last few nodes made: most inputs are one of them.
    struct recent_value {
        const std::string* name = nullptr;
        std::uint32_t index = none;
    };
    std::array<recent_value, 16> recent{};
    std::size_t recent_next = 0;

    // The nodes: each op known to libonnx at the model's opset, in the default domain, not experimental.
    struct known_op {
        std::string_view type;
        bool ok;
    };
    std::vector<known_op> ops;
    for (int i = 0; i < n; ++i) {
        const pb::NodeProto& nd = g.node(i);
        if (!nd.domain().empty()) return std::nullopt;
        auto op = std::find_if(ops.begin(), ops.end(), [&](const known_op& k) { return k.type == nd.op_type(); });
        if (op == ops.end()) {
            if (ops.size() >= 256) return std::nullopt; // not a graph worth the bookkeeping
            const bool ok = ::onnx::OpSchemaRegistry::Schema(nd.op_type(), opset, "") != nullptr &&
                            !::onnx::checker::check_is_experimental_op(nd.op_type());
            op = ops.insert(ops.end(), known_op{nd.op_type(), ok});
        }
        if (!op->ok) return std::nullopt;
        for (const auto& a : nd.attribute())
            if (a.has_g() || a.graphs_size() > 0) return std::nullopt;
        const auto at = static_cast<std::uint32_t>(i);
        for (const std::string& x : nd.input()) {
            if (x.empty()) continue;
            std::uint32_t k = none;
            for (const recent_value& r : recent)
                if (r.name && *r.name == x) {
                    k = r.index;
                    break;
                }
            if (k == none) {
                if (const std::uint32_t e = externals.find(x); e != none) {
                    use& u = external_uses[e];
                    if (u.first == none) u.first = at;
                    u.last = at;
                    continue;
                }
                k = made_by_name(x);
                if (k == none || twice) return std::nullopt; // read before it is made: the checker refuses it
            }
            values[k].last_use = at;
        }
        const bool constant = nd.op_type() == "Constant";
        for (const std::string& y : nd.output()) {
            if (y.empty()) continue;
            if (values.size() >= none) return std::nullopt;
            const auto k = static_cast<std::uint32_t>(values.size());
            values.push_back(value{y, at, at, 0, nullptr, constant});
            recent[recent_next++ % recent.size()] = recent_value{&y, k};
            if (const std::uint32_t o = output_names.find(y); o != none) {
                if (output_value[o] != none) return std::nullopt; // made twice
                output_value[o] = k;
            }
        }
    }
    // Declarations. In the order of their producers, each is the next value made (no lookup).
    std::vector<std::uint32_t> value_info_of(static_cast<std::size_t>(g.value_info_size()), none);
    {
        std::size_t cursor = 0;
        for (int j = 0; j < g.value_info_size(); ++j) {
            const pb::ValueInfoProto& vi = g.value_info(j);
            std::uint32_t k = none;
            if (cursor < values.size() && values[cursor].name == vi.name()) {
                k = static_cast<std::uint32_t>(cursor);
            } else if (externals.find(vi.name()) != none) {
                return std::nullopt; // declares a graph input or initializer
            } else {
                k = made_by_name(vi.name());
                if (twice) return std::nullopt;
                if (k == none) continue; // names nothing made: the first piece takes it
            }
            cursor = k + std::size_t{1};
            ++values[k].declarations;
            values[k].declaration = &vi;
            values[k].concrete = concrete_type(vi.type()); // read while the declaration is in the cache
            value_info_of[static_cast<std::size_t>(j)] = k;
        }
    }
    std::vector<std::uint32_t> output_of(static_cast<std::size_t>(g.output_size()), none);
    for (int j = 0; j < g.output_size(); ++j) {
        const std::uint32_t k = output_value[output_names.find(g.output(j).name())];
        if (k == none) {
            if (externals.find(g.output(j).name()) != none) return std::nullopt; // an input or initializer
            continue;                                                         // made by nothing
        }
        ++values[k].declarations;
        values[k].declaration = &g.output(j);
        values[k].concrete = concrete_type(g.output(j).type());
        output_of[static_cast<std::size_t>(j)] = k;
    }

    // The cost of a cut before each node: the number of values crossing it, or `forbidden` when one
    // of them may not cross.
    constexpr std::int64_t forbidden = std::int64_t{1} << 40;
    std::vector<std::int64_t> cost(static_cast<std::size_t>(n) + 1, 0);
    for (const value& v : values) {
        if (v.last_use <= v.producer) continue;
        const std::int64_t c = v.declarations == 1 && v.concrete && !v.constant ? 1 : forbidden;
        cost[v.producer + 1] += c;
        cost[v.last_use + 1] -= c;
    }
    for (std::size_t i = 1; i < cost.size(); ++i) cost[i] += cost[i - 1];
    // Each cut near k * n / pieces (within n / (4 * pieces) nodes), where the fewest values cross
    // and all may (the nearest first among equals).
    const int window = std::max(1, n / static_cast<int>(4 * pieces));
    std::vector<int> cuts{0};
    for (std::size_t k = 1; k < pieces; ++k) {
        const int target = static_cast<int>(static_cast<std::int64_t>(n) * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(pieces));
        int best = -1;
        for (int c = std::max(cuts.back() + 1, target - window); c <= std::min(n - 1, target + window); ++c) {
            const std::int64_t here = cost[static_cast<std::size_t>(c)];
            if (here > max_carried_values) continue;
            const std::int64_t was = best < 0 ? 0 : cost[static_cast<std::size_t>(best)];
            if (best < 0 || here < was || (here == was && std::abs(c - target) < std::abs(best - target))) best = c;
        }
        if (best > 0) cuts.push_back(best);
    }
    if (cuts.size() < 2) return std::nullopt;
    cuts.push_back(n);
    auto piece_of = [&](std::uint32_t node) {
        return static_cast<std::size_t>(std::upper_bound(cuts.begin(), cuts.end(), static_cast<int>(node)) - cuts.begin() - 1);
    };

    inference_plan plan;
    plan.pieces.resize(cuts.size() - 1);
    for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
        plan.pieces[k].begin = cuts[k];
        plan.pieces[k].end = cuts[k + 1];
    }
    for (int j = 0; j < g.value_info_size(); ++j) {
        const std::uint32_t k = value_info_of[static_cast<std::size_t>(j)];
        plan.pieces[k == none ? 0 : piece_of(values[k].producer)].value_infos.push_back(j);
    }
    for (int j = 0; j < g.output_size(); ++j) {
        const std::uint32_t k = output_of[static_cast<std::size_t>(j)];
        plan.pieces[k == none ? 0 : piece_of(values[k].producer)].outputs.push_back(j);
    }
    for (const value& v : values) {
        if (v.last_use <= v.producer) continue;
        const std::size_t from = piece_of(v.producer), to = piece_of(v.last_use);
        for (std::size_t k = from + 1; k <= to; ++k) plan.pieces[k].carried.push_back(*v.declaration);
    }
    // Graph inputs and initializers go to the pieces between their first and last readers (the
    // first piece takes those nothing reads: libonnx still checks an initializer against its input).
    auto spread = [&](std::string_view name, int j, std::vector<int> inference_plan::piece::*list) {
        const use& u = external_uses[externals.find(name)];
        const std::size_t from = u.first != none ? piece_of(u.first) : 0;
        const std::size_t to = u.first != none ? piece_of(u.last) : 0;
        for (std::size_t k = from; k <= to; ++k) (plan.pieces[k].*list).push_back(j);
    };
    for (int j = 0; j < g.input_size(); ++j) spread(g.input(j).name(), j, &inference_plan::piece::inputs);
    for (int j = 0; j < g.initializer_size(); ++j) spread(g.initializer(j).name(), j, &inference_plan::piece::initializers);
    return plan;
}

/// libonnx's shape inference on one piece of `model`'s graph (see inference_plan): a shell model whose
/// nodes and initializers are `model`'s own (read, not written), with copies of the inputs, outputs and
/// values carried in, and the value infos of the values the piece makes: `value_infos`' own (inference
/// merges into them) when given, copies otherwise. Everything shared leaves the shell whatever happens.
inline void infer_piece(const pb::ModelProto& model, pb::GraphProto* value_infos, const inference_plan::piece& p,
                        const ::onnx::ShapeInferenceOptions& options) {
    const pb::GraphProto& g = model.graph();
    pb::ModelProto shell;
    shell.set_ir_version(model.ir_version());
    *shell.mutable_opset_import() = model.opset_import();
    *shell.mutable_functions() = model.functions();
    pb::GraphProto& sg = *shell.mutable_graph();
    struct release {
        pb::GraphProto& sg;
        int shared_value_infos = 0;
        ~release() {
            sg.mutable_node()->UnsafeArenaExtractSubrange(0, sg.node_size(), nullptr);
            sg.mutable_initializer()->UnsafeArenaExtractSubrange(0, sg.initializer_size(), nullptr);
            sg.mutable_sparse_initializer()->UnsafeArenaExtractSubrange(0, sg.sparse_initializer_size(), nullptr);
            // inference appends the value infos it adds after those shared
            sg.mutable_value_info()->UnsafeArenaExtractSubrange(0, shared_value_infos, nullptr);
        }
    } guard{sg};
    sg.set_name(g.name());
    for (int j : p.inputs) *sg.add_input() = g.input(j);
    for (const auto& vi : p.carried) *sg.add_input() = vi;
    for (int j : p.outputs) *sg.add_output() = g.output(j);
    if (value_infos) {
        sg.mutable_value_info()->Reserve(static_cast<int>(p.value_infos.size()));
        for (int j : p.value_infos) {
            sg.mutable_value_info()->UnsafeArenaAddAllocated(value_infos->mutable_value_info(j));
            ++guard.shared_value_infos;
        }
    } else {
        for (int j : p.value_infos) *sg.add_value_info() = g.value_info(j);
    }
    sg.mutable_node()->Reserve(p.end - p.begin);
    for (int i = p.begin; i < p.end; ++i) sg.mutable_node()->UnsafeArenaAddAllocated(const_cast<pb::NodeProto*>(&g.node(i)));
    sg.mutable_initializer()->Reserve(static_cast<int>(p.initializers.size()));
    for (int j : p.initializers) sg.mutable_initializer()->UnsafeArenaAddAllocated(const_cast<pb::TensorProto*>(&g.initializer(j)));
    if (p.sparse_initializers)
        for (const auto& t : g.sparse_initializer()) sg.mutable_sparse_initializer()->UnsafeArenaAddAllocated(const_cast<pb::SparseTensorProto*>(&t));
    ::onnx::shape_inference::InferShapes(shell, ::onnx::OpSchemaRegistry::Instance(), options);
}

/// The error libonnx's inference gives on a whole graph, from those of its pieces in order (null:
/// none). A node whose inference function fails adds to a list that is thrown at the end of the graph
/// ("Shape inference error(s): " then one line per node); any other failure (a declared type the
/// inferred one contradicts) is thrown at once. So the first error of the second kind wins, and
/// otherwise the lists are joined. A message in neither form counts as of the second kind.
[[nodiscard]] inline std::exception_ptr whole_graph_error(const std::vector<std::exception_ptr>& errors) {
    static constexpr std::string_view listed = "[ShapeInferenceError] Shape inference error(s): ";
    std::vector<std::string> lists;
    for (const std::exception_ptr& e : errors) {
        if (!e) continue;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            const std::string_view what = x.what();
            if (!what.starts_with(listed)) return e;
            lists.emplace_back(what);
        } catch (...) {
            return e;
        }
    }
    if (lists.empty()) return nullptr;
    if (lists.size() == 1) {
        for (const std::exception_ptr& e : errors)
            if (e) return e;
    }
    std::string joined = lists.front();
    for (std::size_t k = 1; k < lists.size(); ++k) joined.append(lists[k], listed.size());
    return std::make_exception_ptr(::onnx::InferenceError(joined));
}

/// How many pieces a graph of `nodes` nodes is cut into for `threads` threads: a few per thread, and
/// pieces of about 16,384 nodes at most. libonnx's inference is faster on small graphs than its time
/// per node on a large one (its tables stay in the caches): on a chain of a million nodes, two threads
/// infer 6 pieces in 0.75-0.85 s, 48 to 96 pieces in 0.64-0.73 s, and the whole graph takes 1.0-1.2 s
/// on one.
[[nodiscard]] inline std::size_t automatic_pieces(std::size_t nodes, std::size_t threads) {
    constexpr std::size_t piece_nodes = 16384;
    return std::clamp<std::size_t>((nodes + piece_nodes - 1) / piece_nodes, 3 * threads, 1024);
}

/// libonnx's checker on `model` and its strict shape inference on `scratch`'s value infos, on up to
/// `threads` threads: the checker on a second thread while this one plans the pieces of the graph
/// (plan_inference), then all threads infer the pieces (the whole graph at once when there is no
/// plan). libonnx's inference writes only into a graph's value_info, inputs and outputs (and into
/// subgraphs: the caller excludes graph attributes), and its checker reads neither value_info nor
/// anything inference writes; so the nodes and initializers are shared by all threads (read by all,
/// written by none), inputs and outputs are copied, and each value info belongs to one piece:
/// `scratch`'s own when `scratch` is `model`, copies otherwise. The checker's error comes first, as
/// when the two run one after the other; then inference's, as on the whole graph (whole_graph_error).
inline void check_model_in_parallel(const ::onnx::ModelProto& model, ::onnx::ModelProto& scratch,
                                    const ::onnx::ShapeInferenceOptions& options, std::size_t threads, std::size_t pieces = 0) {
    threads = std::max<std::size_t>(2, threads);
    if (pieces == 0) pieces = automatic_pieces(static_cast<std::size_t>(model.graph().node_size()), threads);
    // Taken before the checker starts: mutable_graph() writes (a has-bit) where the checker reads.
    pb::GraphProto* value_infos = &scratch == &model ? scratch.mutable_graph() : nullptr;
    std::exception_ptr checker_error;
    std::optional<inference_plan> plan;
    std::vector<std::exception_ptr> piece_errors;
    std::atomic<std::size_t> next{0};
    std::latch planned(1);
    auto run_checker = [&]() noexcept {
        try {
            ::onnx::checker::check_model(model);
        } catch (...) {
            checker_error = std::current_exception();
        }
    };
    auto run_pieces = [&]() noexcept {
        planned.wait();
        if (!plan) return;
        for (std::size_t k = next++; k < plan->pieces.size(); k = next++) {
            try {
                infer_piece(model, value_infos, plan->pieces[k], options);
            } catch (...) {
                piece_errors[k] = std::current_exception();
            }
        }
    };
    std::exception_ptr whole_error;
    {
        std::vector<std::jthread> helpers;
        try {
            helpers.emplace_back([&] {
                run_checker();
                run_pieces();
            });
            while (helpers.size() + 1 < threads) helpers.emplace_back(run_pieces);
        } catch (const std::system_error&) { // fewer threads to be had: the rest on this one
            if (helpers.empty()) {
                run_checker();
                if (checker_error) {
                    planned.count_down();
                    std::rethrow_exception(checker_error);
                }
            }
        }
        try {
            plan = plan_inference(model, pieces);
            if (plan) piece_errors.resize(plan->pieces.size());
        } catch (...) { // out of memory for the plan: the whole graph at once
            plan.reset();
        }
        planned.count_down();
        if (plan) {
            run_pieces();
        } else {
            inference_plan::piece whole;
            whole.end = model.graph().node_size();
            whole.sparse_initializers = true;
            for (int j = 0; j < model.graph().input_size(); ++j) whole.inputs.push_back(j);
            for (int j = 0; j < model.graph().initializer_size(); ++j) whole.initializers.push_back(j);
            for (int j = 0; j < model.graph().value_info_size(); ++j) whole.value_infos.push_back(j);
            for (int j = 0; j < model.graph().output_size(); ++j) whole.outputs.push_back(j);
            try {
                infer_piece(model, value_infos, whole, options);
            } catch (...) {
                whole_error = std::current_exception();
            }
        }
    } // joined
    if (checker_error) std::rethrow_exception(checker_error);
    if (whole_error) std::rethrow_exception(whole_error);
    if (std::exception_ptr e = whole_graph_error(piece_errors)) std::rethrow_exception(e);
}

} // namespace surgery::onnx::detail
