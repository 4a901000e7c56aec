// surgery inspect MODEL.onnx [--json] [--nodes]: op histogram, node count, parameters, MACs, inputs and outputs.
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cli/common.hpp"
#include "cli/json.hpp"
#include "cli/limits.hpp"
#include "cli/model.hpp"
#include "cli/stats.hpp"
#include "surgery/io/dot.hpp"
#include "surgery/io/file.hpp"
#include "surgery/reference/fold.hpp"

namespace surgery::cli {

const command_spec& inspect_spec() {
    static const command_spec spec{
        "inspect",
        "MODEL.onnx [--json] [--nodes]",
        "Inputs and outputs with shapes, node count, op histogram, parameters and MACs of a model.",
        "MACs (multiply-accumulates) count Conv as N*Cout*Hout*Wout*(Cin/group)*kh*kw, Gemm as M*N*K and\n"
        "MatMul as batch*M*N*K; every other op has none. 'element-wise ops' count one operation per output\n"
        "element of the other computing nodes (activations, arithmetic, normalisations, pools, reductions,\n"
        "Softmax, Resize); data movement (Reshape, Transpose, Concat, Slice, ...) counts nothing. Shapes are\n"
        "inferred with the model's constant shape arithmetic evaluated (a Reshape or Resize target computed\n"
        "from Shape nodes), the model itself is described as read.\n"
        "Parameters are the elements of the float32 constants (weights). Counts that do not fit 64 bits\n"
        "(declared shapes can be absurd) are reported as an overflow, never as a wrapped number. Names are\n"
        "printed escaped (control characters as \\x1b, bytes that are not UTF-8 as \\xNN); the JSON is always\n"
        "valid: a name that is not UTF-8 gets U+FFFD for each bad byte and a NAME_hex member with its bytes.",
        {
            {"json", 0, "", "print the statistics as JSON on stdout"},
            {"nodes", 0, "", "also list every node: name, op with attributes, output shape, MACs"},
            max_memory_option(),
        },
        1,
        1,
        "example:\n  surgery inspect mobilenet_v3_large.onnx\n  surgery inspect model.onnx --json | python3 -m json.tool",
    };
    return spec;
}

namespace {

/// Node counts by op name (opaque nodes under their own name, `domain::` prefixed outside the
/// default domain), most frequent first.
std::vector<std::pair<std::string, std::size_t>> sorted_histogram(const std::map<std::string, std::size_t>& h) {
    std::vector<std::pair<std::string, std::size_t>> rows(h.begin(), h.end());
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return rows;
}

void write_values(json_writer& j, const ir::Graph& g, std::span<const ir::ValueId> vs) {
    j.begin_array();
    for (ir::ValueId v : vs) {
        const ir::Value& val = g.value(v);
        j.begin_object().name("name", g.label(v)).member("dtype", std::string(ir::to_string(val.dtype)));
        j.key("shape");
        if (val.shape) {
            j.begin_array();
            for (auto d : *val.shape) {
                if (d < 0) j.null();
                else j.value(d);
            }
            j.end_array();
        } else {
            j.null();
        }
        j.end_object();
    }
    j.end_array();
}

} // namespace

int inspect_main(const arguments& args) {
    const std::string path = args.positionals.at(0);
    memory_budget budget = budget_from(args);
    ir::Graph g = load_model(path, budget);
    const doing ctx("inspecting " + io::quoted(path));
    // Shapes behind the exporters' shape arithmetic (a Reshape or Resize target computed from
    // Shape nodes) are known once it is evaluated: on a copy, so the model is described as read.
    try {
        reference::propagate_shapes(g);
    } catch (const graph_error& e) {
        std::cerr << "surgery inspect: warning: the model's constant computations could not be evaluated (" << e.what()
                  << "); shapes are those inferred without them\n";
    }
    const model_stats s = compute_stats(g);
    const auto hist = sorted_histogram(g.op_counts());

    if (args.has("json")) {
        json_writer j;
        j.begin_object();
        j.name("model", path).name("graph", g.name).name("producer", g.producer_name).member("opset", g.opset);
        j.key("inputs");
        write_values(j, g, g.inputs());
        j.key("outputs");
        write_values(j, g, g.outputs());
        j.member("nodes", s.nodes).member("parameters", s.parameters).member("constant_bytes", s.parameter_bytes);
        // A count that overflowed is null (with *_overflow true), never a saturated or wrapped number.
        j.key("macs");
        if (s.macs_overflow) j.null();
        else j.value(s.macs);
        j.member("macs_overflow", s.macs_overflow);
        j.key("macs_by_op").begin_object();
        for (std::size_t k = 0; k < ir::op_count; ++k) {
            if (!s.macs_by_op[k]) continue;
            j.key(ir::op_names[k]);
            if (s.macs_by_op[k] == UINT64_MAX) j.null();
            else j.value(s.macs_by_op[k]);
        }
        j.end_object();
        j.key("elementwise_ops");
        if (s.elementwise_overflow) j.null();
        else j.value(s.elementwise);
        j.member("elementwise_overflow", s.elementwise_overflow);
        j.key("nodes_with_unknown_cost").begin_array();
        for (const auto& n : s.unknown_cost) j.value(n);
        j.end_array();
        j.key("ops").begin_object();
        for (const auto& [name, count] : hist) j.member(name, count);
        j.end_object();
        if (args.has("nodes")) {
            j.key("node_list").begin_array();
            for (ir::NodeId n : g.topological_order()) {
                const node_cost c = cost_of(g, n);
                const auto& nd = g.node(n);
                j.begin_object().name("name", g.label(n)).member("op", std::string(ir::name_of(nd.op))).member("summary", io::op_summary(nd.op));
                j.key("macs");
                if (c.known && !c.overflow) j.value(c.macs);
                else j.null();
                j.end_object();
            }
            j.end_array();
        }
        j.end_object();
        std::cout << j.str();
        return exit_ok;
    }

    std::cout << "model: " << io::printable(path) << " (graph '" << io::printable(g.name) << "', opset " << g.opset << ", producer '"
              << io::printable(g.producer_name) << "')\n";
    auto print_values = [&](const char* title, std::span<const ir::ValueId> vs) {
        std::cout << title << ":\n";
        for (ir::ValueId v : vs) {
            const ir::Value& val = g.value(v);
            std::cout << "  " << io::printable(g.label(v)) << "  " << ir::to_string(val.dtype) << " " << (val.shape ? ir::to_string(*val.shape) : std::string("(unknown shape)"))
                      << "\n";
        }
    };
    print_values("inputs", g.inputs());
    print_values("outputs", g.outputs());
    std::cout << "nodes: " << s.nodes << "\n";
    std::cout << "parameters: " << s.parameters << " (" << human(s.parameters) << "), constants " << human_bytes(s.parameter_bytes) << "\n";
    std::cout << "MACs: " << count_text(s.macs, s.macs_overflow);
    std::string by;
    for (std::size_t k = 0; k < ir::op_count; ++k)
        if (s.macs_by_op[k])
            by += (by.empty() ? "" : ", ") + std::string(ir::op_names[k]) + " " + (s.macs_by_op[k] == UINT64_MAX ? std::string("overflow") : human(s.macs_by_op[k]));
    if (!by.empty()) std::cout << ": " << by;
    std::cout << "\n";
    std::cout << "element-wise ops: " << count_text(s.elementwise, s.elementwise_overflow) << "\n";
    if (!s.unknown_cost.empty())
        std::cout << "note: " << s.unknown_cost.size() << " node(s) have shapes that are not static (first: '" << io::printable(s.unknown_cost.front())
                  << "'); the counts above leave them out\n";
    std::cout << "op histogram:\n";
    for (const auto& [name, count] : hist) std::cout << format("  %-20s %zu\n", name.c_str(), count);
    if (args.has("nodes")) {
        std::cout << "nodes (topological order):\n";
        for (ir::NodeId n : g.topological_order()) {
            const auto& nd = g.node(n);
            const node_cost c = cost_of(g, n);
            const auto& shape = nd.outputs.empty() ? std::nullopt : g.value(nd.outputs[0]).shape;
            std::cout << "  " << io::printable(g.label(n)) << "  " << io::op_summary(nd.op) << "  -> " << (shape ? ir::to_string(*shape) : std::string("?"));
            if (c.overflow) std::cout << "  MACs overflow";
            else if (c.macs) std::cout << "  " << human(c.macs) << " MACs";
            std::cout << "\n";
        }
    }
    return exit_ok;
}

} // namespace surgery::cli
