// surgery lite IN.onnx -o OUT.onnx [--preset NAME] [--rules A,B] [--rule TEXT]...: apply rules, write the model, report.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "cli/common.hpp"
#include "cli/json.hpp"
#include "cli/registry.hpp"
#include "surgery/io/dot.hpp"
#include "surgery/io/file.hpp"
#include "surgery/onnx.hpp"
#include "surgery/reference/equivalence.hpp"
#include "surgery/rewrite/dictionary.hpp"

extern char** environ;

namespace surgery::cli {

const command_spec& lite_spec() {
    static const command_spec spec{
        "lite",
        "IN.onnx -o OUT.onnx [--preset NAME] [--rules NAME,...] [--rule 'OpA,OpB=>OpC'] [--report R.json] [--dot DIR] [--check]",
        "Rewrite a model with built-in and/or text rules; write it only when everything succeeded.",
        "Rules come from a preset (mobilenet_v3, exact, lite), from built-in rule names (--rules; see --list-rules)\n"
        "and from text rules (--rule): a chain of ops, ',' between positions, '|' between alternatives, '*' for\n"
        "any op, then '=>' and either op names (weightless ops with default attributes) or 'identity' (the\n"
        "chain is removed). Built-in rules always run in the built-in order (the order of --list-rules), text\n"
        "rules after them in the order given; the whole list repeats until nothing matches. With no rule at\n"
        "all the model is written back unchanged (a round trip through the IR).\n"
        "OUT.onnx is written atomically and only on success: a rule that fails, a result that does not verify\n"
        "or pass the ONNX checker, or a --check over --tolerance leaves no file (and an existing one untouched).",
        {
            {"output", 'o', "OUT.onnx", "the rewritten model"},
            {"preset", 0, "NAME", "mobilenet_v3 | exact | lite"},
            {"rules", 0, "NAME,...", "built-in rules by name", true},
            {"rule", 0, "TEXT", "a text rule, e.g. 'HardSwish=>Relu' or 'Dropout=>identity'", true},
            {"report", 0, "R.json", "write a JSON report: rules with matches/replaced, op histograms, nodes, timing"},
            {"dot", 0, "DIR", "write DIR/before.dot and DIR/after.dot (removed and created nodes filled),\nand SVGs when Graphviz 'dot' is on PATH"},
            {"no-svg", 0, "", "with --dot: do not run Graphviz"},
            {"check", 0, "", "compare the input and the written model on seeded random inputs (reference executor)"},
            {"seed", 0, "S", "seed of the --check inputs (default 0)"},
            {"tolerance", 0, "T", "with --check: fail (and write nothing) when an output's max relative error exceeds T"},
            {"max-iterations", 0, "N", "passes over the rule list before giving up on a fixpoint (default 8)"},
            {"list-rules", 0, "", "list the built-in rules (name, exact/approximate, presets, description) and exit"},
        },
        0,
        1,
        "examples:\n"
        "  surgery lite mobilenet_v3_large.onnx -o lite.onnx --preset mobilenet_v3 --report report.json --dot graphs\n"
        "  surgery lite model_bn.onnx -o folded.onnx --preset exact --check --tolerance 1e-5\n"
        "  surgery lite model.onnx -o out.onnx --rules fold_batchnorm,silu_to_relu --rule 'HardSwish=>Relu'\n"
        "exit status: 0 written, 1 bad input or a rule failed (nothing written), 2 bad command line",
    };
    return spec;
}

namespace {

int list_rules() {
    std::cout << "presets:\n";
    for (const auto& p : presets()) std::cout << format("  %-14s %s\n", p.name.c_str(), p.description.c_str());
    std::cout << "rules (in the order they run):\n";
    for (const auto& r : all_rules()) {
        std::string in;
        for (const auto& p : presets_of(r.name)) in += (in.empty() ? "" : ",") + p;
        std::cout << format("  %-30s %-12s %-22s %s\n", r.name.c_str(), std::string(rewrite::to_string(r.kind)).c_str(), ("[" + in + "]").c_str(),
                            r.description.c_str());
    }
    return exit_ok;
}

/// Full path of `program` when it is an executable on PATH.
std::optional<std::filesystem::path> on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    if (!path) return std::nullopt;
    std::string p(path);
    std::size_t start = 0;
    while (start <= p.size()) {
        std::size_t end = p.find(':', start);
        if (end == std::string::npos) end = p.size();
        const std::filesystem::path candidate = std::filesystem::path(end > start ? p.substr(start, end - start) : ".") / program;
        if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return candidate;
        start = end + 1;
    }
    return std::nullopt;
}

/// Runs `dot -Tsvg -o svg in` without a shell; false when it fails.
bool run_dot(const std::filesystem::path& dot, const std::filesystem::path& in, const std::filesystem::path& svg) {
    std::string a0 = dot.string(), a1 = "-Tsvg", a2 = "-o", a3 = svg.string(), a4 = in.string();
    char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, a0.c_str(), nullptr, nullptr, argv, environ) != 0) return false;
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void write_histogram(json_writer& j, const std::array<std::size_t, ir::op_count>& h) {
    j.begin_object();
    for (std::size_t k = 0; k < ir::op_count; ++k)
        if (h[k]) j.member(ir::op_names[k], h[k]);
    j.end_object();
}

} // namespace

int lite_main(const arguments& args) {
    if (args.has("list-rules")) return list_rules();
    if (args.positionals.empty()) throw usage_error("missing argument: expected IN.onnx");
    const auto out_opt = args.value("output");
    if (!out_opt) throw usage_error("missing option '-o OUT.onnx'");
    const std::filesystem::path in = args.positionals[0], out = *out_opt;

    // Everything about the command line first: a typo costs nothing.
    std::vector<std::string> names;
    for (const auto& r : args.all("rules"))
        for (auto& n : split_names(r, "rules")) names.push_back(std::move(n));
    const rewrite::dictionary dict = make_dictionary(args.value("preset"), names, args.all("rule"));
    const bool check = args.has("check") || args.has("tolerance");
    const auto seed = static_cast<std::uint64_t>(args.value("seed") ? parse_int("seed", *args.value("seed"), 0, INT64_MAX) : 0);
    const bool has_tolerance = args.has("tolerance");
    const double tolerance = has_tolerance ? parse_double("tolerance", *args.value("tolerance")) : 0.0;
    rewrite::apply_options opts;
    if (auto m = args.value("max-iterations")) opts.max_iterations = static_cast<int>(parse_int("max-iterations", *m, 1, 1000));
    const auto report_path = args.value("report");
    const auto dot_dir = args.value("dot");
    require_parent_dir(out);
    if (report_path) require_parent_dir(*report_path);
    if (dot_dir) {
        std::error_code ec;
        std::filesystem::create_directories(*dot_dir, ec);
        if (!std::filesystem::is_directory(*dot_dir)) throw io_error(io::quoted(*dot_dir) + ": cannot create the directory for --dot");
    }

    const auto t_load = clock::now();
    ir::Graph g = onnx::load(in);
    const double load_s = seconds_since(t_load);
    const ir::Graph before = g; // constants are shared: this copies structure only

    rewrite::report rep;
    double rewrite_s = 0;
    if (dict.size() == 0) {
        rep.dictionary = "none";
        rep.ops_before = rep.ops_after = g.op_histogram();
        rep.nodes_before = rep.nodes_after = g.num_nodes();
        rep.converged = true;
    } else {
        const auto t0 = clock::now();
        try {
            rep = rewrite::apply(g, dict, opts);
        } catch (const surgery::error& e) {
            throw error(std::string(e.what()) + "; nothing was written");
        }
        rewrite_s = seconds_since(t0);
    }
    std::cout << io::quoted(in) << ": " << before.num_nodes() << " nodes, opset " << before.opset << " (loaded in " << format("%.2f", load_s) << " s)\n";
    if (dict.size() == 0) std::cout << "no rules given: the model is written back unchanged\n";
    else std::cout << rep.to_string() << format("rewrite time: %.2f ms\n", 1e3 * rewrite_s);

    // --check compares the input with the model exactly as it will be written (after export and re-import).
    std::optional<reference::equivalence_report> eq;
    if (check) {
        const ir::Graph written = onnx::from_model_proto(onnx::to_model_proto(g));
        eq = reference::compare(before, written, seed);
        std::cout << "check (random normal inputs, seed " << seed << "):\n";
        for (const auto& o : eq->outputs)
            std::cout << format("  output '%s': max_abs %.3g, max_rel %.3g (|ref| max %.3g)\n", o.name.c_str(), o.max_abs, o.max_rel, o.ref_max_abs);
        if (has_tolerance && !eq->within(tolerance))
            throw error(format("--check: max relative error %.3g exceeds the tolerance %.3g; ", eq->max_rel, tolerance) + io::quoted(out) +
                        " was not written");
    }

    onnx::save(g, out);
    std::cout << "wrote " << io::quoted(out) << " (" << g.num_nodes() << " nodes)\n";

    // Nodes removed (drawn in before.dot) and created (in after.dot): surviving nodes keep their ids.
    std::unordered_set<ir::NodeId> removed, created;
    for (std::size_t i = 0; i < before.node_bound(); ++i)
        if (before.node(ir::NodeId{i}).alive && (i >= g.node_bound() || !g.node(ir::NodeId{i}).alive)) removed.insert(ir::NodeId{i});
    for (std::size_t i = 0; i < g.node_bound(); ++i)
        if (g.node(ir::NodeId{i}).alive && (i >= before.node_bound() || !before.node(ir::NodeId{i}).alive)) created.insert(ir::NodeId{i});

    if (report_path) {
        json_writer j;
        j.begin_object();
        j.member("input", in.string()).member("output", out.string()).member("dictionary", rep.dictionary);
        j.key("rules").begin_array();
        for (std::size_t i = 0; i < rep.rules.size(); ++i) {
            const auto& r = rep.rules[i];
            j.begin_object().member("name", r.name).member("kind", std::string(rewrite::to_string(r.kind)));
            j.member("pattern", dict.rules()[i].pattern_text).member("matches", r.matches).member("replaced", r.replaced).end_object();
        }
        j.end_array();
        j.key("ops_before");
        write_histogram(j, rep.ops_before);
        j.key("ops_after");
        write_histogram(j, rep.ops_after);
        j.member("nodes_before", rep.nodes_before).member("nodes_after", rep.nodes_after);
        j.member("nodes_removed", removed.size()).member("nodes_created", created.size()).member("constants_removed", rep.removed_constants);
        j.member("converged", rep.converged).member("iterations", rep.iterations).member("seconds", rewrite_s);
        if (eq) {
            j.key("check").begin_object().member("seed", seed).member("max_abs", eq->max_abs).member("max_rel", eq->max_rel);
            if (has_tolerance) j.member("tolerance", tolerance);
            j.key("outputs").begin_array();
            for (const auto& o : eq->outputs)
                j.begin_object().member("name", o.name).member("max_abs", o.max_abs).member("max_rel", o.max_rel).member("ref_max_abs", o.ref_max_abs).end_object();
            j.end_array().end_object();
        }
        j.end_object();
        io::write_file_atomically(*report_path, j.str());
        std::cout << "wrote report " << io::quoted(*report_path) << "\n";
    }

    if (dot_dir) {
        const std::filesystem::path dir = *dot_dir;
        io::dot_options bo;
        bo.graph_name = in.filename().string() + " (before; removed nodes filled)";
        bo.highlight = removed;
        bo.highlight_color = "lightsalmon";
        io::dot_options ao;
        ao.graph_name = out.filename().string() + " (after; created nodes filled)";
        ao.highlight = created;
        ao.highlight_color = "palegreen";
        io::save_dot(before, dir / "before.dot", bo);
        io::save_dot(g, dir / "after.dot", ao);
        std::cout << "wrote " << io::quoted(dir / "before.dot") << " (" << removed.size() << " removed nodes filled) and " << io::quoted(dir / "after.dot")
                  << " (" << created.size() << " created nodes filled)\n";
        if (!args.has("no-svg")) {
            if (const auto dot = on_path("dot")) {
                const bool ok = run_dot(*dot, dir / "before.dot", dir / "before.svg") && run_dot(*dot, dir / "after.dot", dir / "after.svg");
                if (!ok) throw error("Graphviz '" + dot->string() + "' failed to render the SVGs in " + io::quoted(dir) + " (the .dot files are written)");
                std::cout << "wrote " << io::quoted(dir / "before.svg") << " and " << io::quoted(dir / "after.svg") << "\n";
            } else {
                std::cout << "note: Graphviz 'dot' is not on PATH, no SVG written\n";
            }
        }
    }
    return exit_ok;
}

} // namespace surgery::cli
