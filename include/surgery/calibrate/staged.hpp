// calibrate::staged_run: a graph executed stage by stage over calibration data held in chunks, so that a
// caller can read every intermediate between stages and change a layer's weights before it runs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/ir/shape_inference.hpp"
#include "surgery/reference/executor.hpp"

namespace surgery::calibrate {

/// New constant inputs for nodes of a stage: (node, input slot) -> tensor. A slot one past a node's
/// last input appends it (a bias for a Conv or Gemm that has none).
using input_overrides = std::map<std::pair<ir::NodeId, std::size_t>, std::shared_ptr<const ir::Tensor>>;

/// The bytes that staged runs hold, against a limit they share (0: no limit). Checked before every
/// stage with the stage's output shapes, so that a run that would not fit fails before allocating.
struct memory_meter {
    std::size_t limit = 0;
    std::size_t held = 0;
    /// What the executor of a stage may use on top of what is held (0 means "no limit" there).
    [[nodiscard]] std::size_t remaining() const noexcept { return limit == 0 ? 0 : held >= limit ? 1 : limit - held; }
};

/// Runs `g` over a calibration set split into chunks, one stage at a time.
///
/// The topological order is cut into stages: every node listed as a stop is a stage of its own, and
/// the nodes between two stops form one stage (executed as one sub-graph, with the executor's fusions).
/// The values that cross a stage boundary are kept, one tensor per chunk, until their last reader has
/// run (or longer when pinned), so the caller can read any of them (`chunks`) right after the stage
/// that makes it. Each stage is planned when it runs, from the graph as it is then, plus `overrides`:
/// a correction of a stop layer's weights takes effect without changing the graph. `g` must outlive
/// the run. One graph input (the images); the chunks are its values, in order. With a `meter`, every
/// tensor held is counted in it, and a stage whose outputs would take it over its limit throws (naming
/// the node, the value and the sizes) before it runs.
class staged_run {
public:
    staged_run(const ir::Graph& g, std::vector<ir::Tensor> input_chunks, const std::vector<char>& stops, reference::executor_options exec = {},
               std::shared_ptr<memory_meter> meter = nullptr)
        : g_(&g), exec_(std::move(exec)), meter_(std::move(meter)) {
        if (g.inputs().size() != 1)
            throw error("calibrate: the graph has " + std::to_string(g.inputs().size()) + " inputs; calibration feeds one (the images)");
        if (input_chunks.empty()) throw error("calibrate: no calibration data");
        exec_.fold_constants = true;
        chunk_count_ = input_chunks.size();
        const auto& order = g.topological_order();
        std::vector<ir::NodeId> current;
        auto flush = [&] {
            if (!current.empty()) stages_.push_back({std::move(current), false});
            current.clear();
        };
        for (ir::NodeId n : order) {
            if (n.index() < stops.size() && stops[n.index()]) {
                flush();
                stages_.push_back({{n}, true});
            } else {
                current.push_back(n);
            }
        }
        flush();
        stage_of_.assign(g.node_bound(), npos);
        for (std::size_t s = 0; s < stages_.size(); ++s)
            for (ir::NodeId n : stages_[s].nodes) stage_of_[n.index()] = s;
        last_use_.assign(g.value_bound(), npos);
        for (std::size_t s = 0; s < stages_.size(); ++s)
            for (ir::NodeId n : stages_[s].nodes)
                for (ir::ValueId in : g.node(n).inputs)
                    if (in && !g.value(in).is_constant()) last_use_[in.index()] = s;
        store_.resize(g.value_bound());
        pinned_.assign(g.value_bound(), 0);
        ready_.assign(g.value_bound(), 0);
        const ir::ValueId in = g.inputs()[0];
        bytes_.assign(g.value_bound(), 0);
        if (meter_) {
            std::size_t b = 0;
            for (const ir::Tensor& t : input_chunks) b += bytes_of(t);
            charge(b, "the calibration images (" + std::to_string(input_chunks.size()) + " chunks)");
            bytes_[in.index()] = b;
        }
        store_[in.index()] = std::move(input_chunks);
        ready_[in.index()] = 1;
        output_.assign(g.value_bound(), 0);
        for (ir::ValueId o : g.outputs()) pinned_[o.index()] = output_[o.index()] = 1;
    }

    staged_run(const staged_run&) = delete;
    staged_run& operator=(const staged_run&) = delete;
    staged_run(staged_run&&) = default; ///< the moved-from run holds nothing (its meter is null)
    staged_run& operator=(staged_run&&) = delete;
    /// Gives back to the meter what the run still holds (pinned values, its outputs, the images), so
    /// that runs after it on the same meter see the whole budget.
    ~staged_run() {
        if (meter_)
            for (std::size_t b : bytes_) meter_->held -= std::min(meter_->held, b);
    }

    struct stage {
        std::vector<ir::NodeId> nodes;
        bool stop = false; ///< a single node the caller asked to stop at
    };

    [[nodiscard]] const ir::Graph& graph() const noexcept { return *g_; }
    [[nodiscard]] std::size_t stages() const noexcept { return stages_.size(); }
    [[nodiscard]] const stage& at(std::size_t s) const { return stages_.at(s); }
    /// The stage that runs next (`stages()` when done).
    [[nodiscard]] std::size_t next() const noexcept { return next_; }
    [[nodiscard]] bool done() const noexcept { return next_ >= stages_.size(); }
    [[nodiscard]] std::size_t chunk_count() const noexcept { return chunk_count_; }
    /// Whether `v` has been computed and is still held.
    [[nodiscard]] bool available(ir::ValueId v) const { return v && v.index() < ready_.size() && ready_[v.index()] && !store_[v.index()].empty(); }
    /// The chunks of `v` (one tensor per chunk); empty when it is not held.
    [[nodiscard]] std::vector<ir::Tensor>& chunks(ir::ValueId v) { return store_.at(v.index()); }
    /// Keeps `v` after its last reader has run, until `unpin`. Graph outputs are pinned for good.
    void pin(ir::ValueId v) { pinned_.at(v.index()) = 1; }
    /// Releases `v` now if its readers have all run; a graph output stays (the run's result).
    void unpin(ir::ValueId v) {
        if (output_.at(v.index())) return;
        pinned_.at(v.index()) = 0;
        const std::size_t lu = last_use_[v.index()];
        if (lu == npos || lu < next_) release(v);
    }

    /// Runs the next stage over every chunk, with `overrides` for its nodes' constant inputs.
    void step(const input_overrides& overrides = {}) {
        if (done()) throw error("calibrate::staged_run: every stage has run");
        const stage& st = stages_[next_];
        run_nodes(st.nodes, overrides, true);
        for (ir::NodeId n : st.nodes)
            for (ir::ValueId in : g_->node(n).inputs)
                if (in && !pinned_[in.index()] && last_use_[in.index()] == next_) release(in);
        // Outputs nobody reads (optional outputs, dead ends) go at once.
        for (ir::NodeId n : st.nodes)
            for (ir::ValueId o : g_->node(n).outputs)
                if (last_use_[o.index()] == npos && !pinned_[o.index()]) release(o);
        ++next_;
    }

    /// Runs stages until `v` is available (it must be made by a later stage or be held already).
    void run_until(ir::ValueId v) {
        while (!available(v)) {
            if (done()) throw error("calibrate::staged_run: value '" + g_->label(v) + "' is not produced");
            step();
        }
    }

    /// Recomputes the outputs of stop node `n` (whose stage has run) with `overrides`, replacing the
    /// held chunks of its outputs. Its inputs must still be held (they are when `n`'s stage is the
    /// last one that ran and the inputs were pinned or are read later; the caller pins them).
    void rerun(ir::NodeId n, const input_overrides& overrides) { run_nodes({n}, overrides, false); }

    /// Runs stop node `n` on the held inputs with `overrides` and returns its first output's chunks,
    /// storing nothing (to try a correction before keeping it).
    [[nodiscard]] std::vector<ir::Tensor> evaluate(ir::NodeId n, const input_overrides& overrides) {
        auto [outs, results] = compute({n}, overrides, false);
        std::vector<ir::Tensor> out;
        out.reserve(results.size());
        for (auto& r : results)
            for (std::size_t o = 0; o < outs.size(); ++o)
                if (outs[o] == g_->node(n).outputs[0]) out.push_back(std::move(r[o]));
        return out;
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    struct sub_graph {
        ir::Graph graph;
        std::vector<ir::ValueId> inputs;  ///< values of g_, in sub-graph input order
        std::vector<ir::ValueId> outputs; ///< values of g_, in sub-graph output order
    };

    /// The sub-graph computing `nodes` (in order) from held values, with chunk 0's shapes.
    sub_graph build(const std::vector<ir::NodeId>& nodes, const input_overrides& overrides, std::size_t chunk = 0) const {
        const ir::Graph& g = *g_;
        sub_graph sg;
        sg.graph.opset = g.opset;
        sg.graph.domain_opsets = g.domain_opsets;
        sg.graph.name = "stage";
        std::map<std::uint32_t, ir::ValueId> map;
        std::vector<char> inside(g.node_bound(), 0);
        for (ir::NodeId n : nodes) inside[n.index()] = 1;
        for (ir::NodeId n : nodes) {
            const ir::Node& nd = g.node(n);
            std::vector<ir::ValueId> ins;
            auto add_override = [&](std::size_t slot) -> bool {
                auto it = overrides.find({n, slot});
                if (it == overrides.end()) return false;
                ins.push_back(sg.graph.add_constant(g.label(n) + ".override" + std::to_string(slot), it->second));
                return true;
            };
            for (std::size_t s = 0; s < nd.inputs.size(); ++s) {
                if (add_override(s)) continue;
                const ir::ValueId v = nd.inputs[s];
                if (!v) {
                    ins.push_back(ir::ValueId::none());
                    continue;
                }
                auto it = map.find(static_cast<std::uint32_t>(v.index()));
                if (it != map.end()) {
                    ins.push_back(it->second);
                    continue;
                }
                const ir::Value& val = g.value(v);
                ir::ValueId nv;
                if (val.is_constant()) {
                    nv = sg.graph.add_constant(val.name, val.data);
                } else {
                    const auto& held = store_[v.index()];
                    if (held.empty())
                        throw error("calibrate::staged_run: value '" + g.label(v) + "' read by '" + g.label(n) + "' is not available");
                    const ir::Tensor& t = held.at(chunk);
                    nv = sg.graph.add_input(val.name.empty() ? "v" + std::to_string(v.index()) : val.name, t.shape, t.dtype);
                    sg.inputs.push_back(v);
                }
                map[static_cast<std::uint32_t>(v.index())] = nv;
                ins.push_back(nv);
            }
            add_override(nd.inputs.size());
            const ir::NodeId m = sg.graph.add_node(nd.op, std::move(ins), nd.outputs.size(), nd.name);
            for (std::size_t o = 0; o < nd.outputs.size(); ++o) {
                const ir::ValueId ov = nd.outputs[o], sv = sg.graph.node(m).outputs[o];
                sg.graph.set_value_name(sv, g.value(ov).name);
                sg.graph.set_dtype(sv, g.value(ov).dtype);
                map[static_cast<std::uint32_t>(ov.index())] = sv;
            }
        }
        ir::infer_shapes(sg.graph);
        // Outputs: values made here that are read later, pinned or graph outputs.
        for (ir::NodeId n : nodes)
            for (ir::ValueId o : g.node(n).outputs) {
                const std::size_t lu = last_use_[o.index()];
                bool read_outside = pinned_[o.index()] != 0 || (lu != npos && lu != stage_of_[n.index()]);
                if (!read_outside && lu != npos)
                    for (const ir::Use& u : g.value(o).uses)
                        if (!inside[u.node.index()]) read_outside = true;
                if (read_outside || nodes.size() == 1) {
                    sg.graph.add_output(map.at(static_cast<std::uint32_t>(o.index())));
                    sg.outputs.push_back(o);
                }
            }
        return sg;
    }

    /// Runs `nodes` over every chunk: the values of g_ it outputs and, per chunk, their tensors.
    std::pair<std::vector<ir::ValueId>, std::vector<std::vector<ir::Tensor>>> compute(const std::vector<ir::NodeId>& nodes,
                                                                                       const input_overrides& overrides, bool consume) {
        std::unique_ptr<sub_graph> sg;
        std::unique_ptr<reference::executor> ex;
        std::vector<std::vector<ir::Tensor>> results;
        results.reserve(chunk_count_);
        for (std::size_t k = 0; k < chunk_count_; ++k) {
            // One plan per distinct input shape (the last chunk may be shorter).
            bool same = sg != nullptr;
            if (sg)
                for (std::size_t i = 0; same && i < sg->inputs.size(); ++i)
                    same = g_shape(*sg, i) == store_[sg->inputs[i].index()].at(k).shape;
            if (!same) {
                sg = std::make_unique<sub_graph>(build(nodes, overrides, k));
                if (k == 0) check_budget(*sg, nodes);
                reference::executor_options o = exec_;
                if (meter_ && meter_->limit) o.max_memory = meter_->remaining();
                ex = std::make_unique<reference::executor>(sg->graph, o);
            }
            std::vector<ir::Tensor> ins;
            ins.reserve(sg->inputs.size());
            for (ir::ValueId v : sg->inputs) {
                // The last reader takes the chunk (its storage is reused); others copy it.
                const bool last = consume && !pinned_[v.index()] && last_use_[v.index()] == next_;
                ins.push_back(last ? std::move(store_[v.index()][k]) : store_[v.index()][k]);
            }
            results.push_back(ex->run(std::move(ins)));
        }
        return {sg ? sg->outputs : std::vector<ir::ValueId>{}, std::move(results)};
    }

    static const ir::Shape& g_shape(const sub_graph& sg, std::size_t i) { return *sg.graph.value(sg.graph.inputs()[i]).shape; }

    static std::size_t bytes_of(const ir::Tensor& t) noexcept { return t.f.size() * sizeof(float) + t.i.size() * sizeof(std::int64_t); }

    void charge(std::size_t bytes, const std::string& what) {
        if (!meter_) return;
        if (meter_->limit && (bytes > meter_->limit || meter_->held > meter_->limit - bytes))
            throw error("calibrate: " + what + " need " + io::format_bytes(bytes) + ", with " + io::format_bytes(meter_->held) +
                        " already held, more than the memory budget of " + io::format_bytes(meter_->limit) +
                        " (calibrate::options::max_memory, --max-memory); use fewer calibration images or a larger budget");
        meter_->held += bytes;
    }

    /// Before a stage runs: its outputs over all chunks (from chunk 0's inferred shapes) must fit.
    void check_budget(const sub_graph& sg, const std::vector<ir::NodeId>& nodes) const {
        if (!meter_ || !meter_->limit) return;
        std::size_t total = 0;
        std::string biggest;
        std::size_t biggest_bytes = 0;
        for (std::size_t o = 0; o < sg.outputs.size(); ++o) {
            const auto& shape = sg.graph.value(sg.graph.outputs()[o]).shape;
            if (!shape) continue;
            std::size_t per = g_->value(sg.outputs[o]).dtype == ir::DType::f32 ? sizeof(float) : sizeof(std::int64_t);
            for (std::int64_t d : *shape) per = d <= 0 ? 0 : per > SIZE_MAX / static_cast<std::size_t>(d) ? SIZE_MAX : per * static_cast<std::size_t>(d);
            const std::size_t all = per > SIZE_MAX / chunk_count_ ? SIZE_MAX : per * chunk_count_;
            total = all > SIZE_MAX - total ? SIZE_MAX : total + all;
            if (all >= biggest_bytes) biggest_bytes = all, biggest = g_->label(sg.outputs[o]);
        }
        if (total > meter_->limit || meter_->held > meter_->limit - total)
            throw error("calibrate: running '" + g_->label(nodes.front()) + "'" +
                        (nodes.size() > 1 ? " and the " + std::to_string(nodes.size() - 1) + " nodes after it" : std::string()) +
                        " over the calibration data keeps " + io::format_bytes(total) + " (value '" + biggest + "': " + io::format_bytes(biggest_bytes) +
                        "), with " + io::format_bytes(meter_->held) + " already held: more than the memory budget of " + io::format_bytes(meter_->limit) +
                        " (calibrate::options::max_memory, --max-memory); nothing was allocated; use fewer calibration images or a larger budget");
    }

    void run_nodes(const std::vector<ir::NodeId>& nodes, const input_overrides& overrides, bool consume) {
        auto [outs, results] = compute(nodes, overrides, consume);
        for (std::size_t o = 0; o < outs.size(); ++o) {
            auto& dst = store_[outs[o].index()];
            dst.clear();
            dst.reserve(results.size());
            for (auto& r : results) dst.push_back(std::move(r[o]));
            ready_[outs[o].index()] = 1;
            if (meter_) {
                meter_->held -= std::min(meter_->held, bytes_[outs[o].index()]);
                std::size_t b = 0;
                for (const ir::Tensor& t : dst) b += bytes_of(t);
                bytes_[outs[o].index()] = b;
                meter_->held += b;
            }
        }
    }

    void release(ir::ValueId v) {
        std::vector<ir::Tensor>().swap(store_[v.index()]);
        if (meter_) meter_->held -= std::min(meter_->held, bytes_[v.index()]);
        bytes_[v.index()] = 0;
    }

    const ir::Graph* g_;
    reference::executor_options exec_;
    std::size_t chunk_count_ = 0;
    std::vector<stage> stages_;
    std::vector<std::size_t> stage_of_, last_use_;
    std::shared_ptr<memory_meter> meter_;
    std::vector<std::vector<ir::Tensor>> store_;
    std::vector<std::size_t> bytes_; ///< bytes of each held value (with a meter)
    std::vector<char> pinned_, ready_, output_;
    std::size_t next_ = 0;
};

} // namespace surgery::calibrate
