// surgery lite IN.onnx -o OUT.onnx [--preset NAME] [--rules A,B] [--rule TEXT]...: apply rules, write the model, report.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cli/common.hpp"
#include "cli/dataset.hpp"
#include "cli/json.hpp"
#include "cli/limits.hpp"
#include "cli/model.hpp"
#include "cli/outputs.hpp"
#include "cli/registry.hpp"
#include "surgery/calibrate.hpp"
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
        "IN.onnx -o OUT.onnx [--preset NAME] [--rules NAME,...] [--rule 'OpA,OpB=>OpC'] [--calibrate DATA] [--report R.json] [--dot DIR] [--check]",
        "Rewrite a model with built-in and/or text rules; write it only when everything succeeded.",
        "Rules come from a preset (mobilenet_v3, exact, lite), from built-in rule names (--rules; see --list-rules)\n"
        "and from text rules (--rule): a chain of ops, ',' between positions, '|' between alternatives, '*' for\n"
        "any op, then '=>' and either op names (weightless ops with default attributes) or 'identity' (the\n"
        "chain is removed). Built-in rules always run in the built-in order (the order of --list-rules), text\n"
        "rules after them in the order given; the whole list repeats until nothing matches. With no rule at\n"
        "all the model is written back unchanged (a round trip through the IR).\n"
        "Outputs (OUT.onnx, --report, --dot) are written together and only on success: each is staged in a\n"
        "temporary file and all are renamed into place at the end, so a rule that fails, a result that does not\n"
        "verify or pass the ONNX checker, or a --check over --tolerance leaves no file (an existing one untouched).\n"
        "Output paths are checked before any work: none may be the input (also through a link or another\n"
        "spelling) or another output, a directory (except --dot), a FIFO, a device or a socket.\n"
        "--dot DIR: DIR may exist (only before/after.dot and .svg in it are replaced) or is created at the end.\n"
        "--calibrate DATA recovers accuracy without retraining (docs/calibration.md): on DATA's first images, every\n"
        "BatchNorm a rewrite reaches gets its statistics re-estimated, and each affected Conv/Gemm/MatMul has its\n"
        "per-channel output mean and variance matched to the input model's, folded into its weights and bias\n"
        "(optionally a least-squares refit, --calibrate-methods). Corrections that would leave the outputs further\n"
        "from the input model's on that data are dropped. DATA is a dataset spec (docs/cli.md), e.g.\n"
        "  'fmnist:?split=train&pad=32&channels=3&mean=0.2860&std=0.3530'.\n"
        "--evaluate DATA measures top-1 on labelled data: the input model, the lite model before and after --calibrate.",
        {
            {"output", 'o', "OUT.onnx", "the rewritten model"},
            {"preset", 0, "NAME", "exact | paper | lite | mobilenet_v3 (see --list-rules)"},
            {"rules", 0, "NAME,...", "built-in rules by name", true},
            {"rule", 0, "TEXT", "a text rule, e.g. 'HardSwish=>Relu' or 'Dropout=>identity'", true},
            {"without", 0, "NAME,...", "leave these built-in rules out (e.g. --preset paper --without fold_batchnorm)", true},
            {"report", 0, "R.json", "write a JSON report: rules with matches/replaced, op histograms, nodes, timing"},
            {"dot", 0, "DIR", "write DIR/before.dot and DIR/after.dot (removed and created nodes filled),\nand SVGs when Graphviz 'dot' is on PATH"},
            {"no-svg", 0, "", "with --dot: do not run Graphviz"},
            {"calibrate", 0, "DATA", "recover accuracy on calibration data, without retraining (see above)"},
            {"calibrate-count", 0, "N", "calibration images: DATA's first N (default 500)"},
            {"calibrate-methods", 0, "LIST", "batchnorm, moments, lstsq, comma-separated (default all three; least-squares refits that fail\nthe checks are dropped and the rest corrected again without them)"},
            {"calibrate-validate", 0, "N", "held-out check: DATA's next N images after the calibration ones; the corrections are\ndropped if they are worse there (default: a quarter of --calibrate-count; 0: off)"},
            {"evaluate", 0, "DATA", "top-1 accuracy on labelled data of the input, lite and calibrated models"},
            {"evaluate-count", 0, "N", "images evaluated: DATA's first N (default all)"},
            {"check", 0, "", "compare the input and the written model on seeded random inputs (reference executor)"},
            {"seed", 0, "S", "seed of the --check inputs (default 0)"},
            {"tolerance", 0, "T", "with --check: fail (and write nothing) when an output's max relative error exceeds T"},
            {"onnx-check", 0, "MODE", "libonnx's checker and strict shape inference on the written model: auto (default: when the\nlinked libonnx knows the opset and every op of the default domain; otherwise written unchecked),\nalways (a model it cannot check is an error), never (skipped: about 0.9 s of the 4.7 s of a 1,000,000-node\nchain; the library's own verification still runs)"},
            {"freeze-inputs", 0, "", "graph inputs that have an initializer become constants (default: they stay inputs,\nwith the initializer as their default, and rules treat them as unknown)"},
            {"max-iterations", 0, "N", "passes over the rule list before giving up on a fixpoint (default 8)"},
            {"list-rules", 0, "", "list the built-in rules (name, exact/approximate, presets, description) and exit"},
            max_memory_option(),
        },
        0,
        1,
        "examples:\n"
        "  surgery lite mobilenet_v3_large.onnx -o lite.onnx --preset mobilenet_v3 --report report.json --dot graphs\n"
        "  surgery lite model_bn.onnx -o folded.onnx --preset exact --check --tolerance 1e-5\n"
        "  surgery lite model.onnx -o out.onnx --rules fold_batchnorm,silu_to_relu --rule 'HardSwish=>Relu'\n"
        "  surgery lite mnv3.onnx -o lite.onnx --preset paper --calibrate 'fmnist:?split=train&pad=32&channels=3' \\\n"
        "      --evaluate 'fmnist:?split=test&pad=32&channels=3' --report report.json\n"
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

/// The calibration methods of `--calibrate-methods`.
calibrate::options calibration_options(const std::optional<std::string>& methods) {
    calibrate::options o;
    if (!methods) return o;
    o.batchnorm = o.moments = o.lstsq = false;
    for (const auto& m : split_names(*methods, "calibrate-methods")) {
        if (m == "batchnorm") o.batchnorm = true;
        else if (m == "moments") o.moments = true;
        else if (m == "lstsq") o.lstsq = true;
        else throw usage_error("--calibrate-methods: unknown method '" + m + "' (batchnorm, moments, lstsq)");
    }
    return o;
}

/// Top-1 of `g` on `data`, printed as `what`; with `baseline`, also how often `g` agrees with it
/// and the images only one of the two classifies right.
calibrate::accuracy top1_of(const ir::Graph& g, const io::dataset& data, const std::string& what, const memory_budget& budget,
                            const calibrate::accuracy* baseline = nullptr, const std::string& baseline_name = {}) {
    const doing ctx("evaluating " + what + " on " + data.name());
    reference::executor_options exec;
    exec.max_memory = static_cast<std::size_t>(std::max<std::uint64_t>(budget.remaining(), 1));
    auto acc = calibrate::evaluate(g, data, 0, 250, exec);
    std::cout << format("top-1 of %s: %.2f%% (%lld of %lld)", what.c_str(), 100.0 * acc.top1(), static_cast<long long>(acc.correct),
                        static_cast<long long>(acc.total));
    if (baseline) {
        const auto c = calibrate::compare(*baseline, acc, data);
        std::cout << format("; same prediction as %s on %.2f%%; right where %s is wrong: %lld, wrong where it is right: %lld (sign test p = %.3g)",
                            baseline_name.c_str(), 100.0 * c.agreement(), baseline_name.c_str(), static_cast<long long>(c.only_b),
                            static_cast<long long>(c.only_a), c.p_value);
    }
    std::cout << "\n";
    return acc;
}

/// A paired comparison for the report: {"agreement", "gained", "lost", "p_value"} of `b` against `a`.
void comparison_json(json_writer& j, const std::string& key, const calibrate::accuracy& a, const calibrate::accuracy& b, const io::dataset& data) {
    const auto c = calibrate::compare(a, b, data);
    j.key(key).begin_object().member("agreement", c.agreement()).member("gained", c.only_b).member("lost", c.only_a).member("p_value", c.p_value).end_object();
}

/// A rewritten site for the report: where it is, which rules made it (from the new nodes' names and
/// from the replacement log), whether they keep the function, and the PyTorch modules it touches.
struct site_record {
    calibrate::site where;
    std::vector<std::string> rules; ///< rule names
    std::string kind;               ///< "exact", "approximate", or "unknown" (no rule traced)
    std::vector<std::string> original_modules;
};

std::vector<site_record> site_records(std::vector<calibrate::site> sites, const rewrite::dictionary& dict, const rewrite::report& rep) {
    std::map<std::string, std::size_t> rule_by_id;
    for (std::size_t i = 0; i < dict.rules().size(); ++i) rule_by_id.emplace(rewrite::detail::rule_id(dict.rules()[i], i), i);
    std::map<std::string, std::set<std::size_t>> rules_of_node; // original node name -> rules that replaced it
    for (const auto& r : rep.replacements)
        for (const auto& n : r.nodes)
            if (!n.empty()) rules_of_node[n].insert(r.rule);
    std::vector<site_record> out;
    for (auto& s : sites) {
        std::set<std::size_t> idx;
        for (const auto& id : s.rules)
            if (auto it = rule_by_id.find(id); it != rule_by_id.end()) idx.insert(it->second);
        for (const auto& n : s.original_nodes)
            if (auto it = rules_of_node.find(n); it != rules_of_node.end()) idx.insert(it->second.begin(), it->second.end());
        site_record r;
        bool approximate = false;
        for (std::size_t i : idx) {
            r.rules.push_back(dict.rules()[i].name);
            approximate = approximate || dict.rules()[i].kind == rewrite::exactness::approximate;
        }
        r.kind = idx.empty() ? "unknown" : approximate ? "approximate" : "exact";
        std::set<std::string> seen;
        for (const auto& n : s.original_nodes)
            if (auto m = calibrate::torch_module_of(n); !m.empty() && seen.insert(m).second) r.original_modules.push_back(std::move(m));
        r.where = std::move(s);
        out.push_back(std::move(r));
    }
    return out;
}

void write_strings(json_writer& j, std::string_view key, const std::vector<std::string>& v) {
    j.key(key).begin_array();
    for (const auto& x : v) j.value(x);
    j.end_array();
}

} // namespace

/// Runs `f`, which only reads `g`, while ir::verify checks `g` on a second thread (when `verify`);
/// then throws verify's error as a failed rewrite does. On one thread (verify first, and `f` only if
/// it passes) when no thread can be had or the graph has a cycle (verify says so). The graph's
/// cached order is computed first: from then on both threads only read it.
template <class F>
void verify_while(const ir::Graph& g, bool verify, F&& f) {
    if (!verify) {
        f();
        return;
    }
    std::exception_ptr verify_error;
    auto run_verify = [&]() noexcept {
        try {
            ir::verify(g);
        } catch (...) {
            verify_error = std::current_exception();
        }
    };
    bool beside = true;
    try {
        (void)g.topological_order();
    } catch (const surgery::error&) {
        beside = false;
    }
    {
        std::jthread verifier;
        if (beside) {
            try {
                verifier = std::jthread(run_verify);
            } catch (const std::system_error&) {
                beside = false;
            }
        }
        if (beside) {
            f();
        } else {
            run_verify();
            if (!verify_error) f();
        }
    } // joined
    if (verify_error) {
        try {
            std::rethrow_exception(verify_error);
        } catch (const surgery::error& e) {
            throw error(std::string(e.what()) + "; nothing was written");
        }
    }
}

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
    std::vector<std::string> without;
    for (const auto& r : args.all("without"))
        for (auto& n : split_names(r, "without")) without.push_back(std::move(n));
    const rewrite::dictionary dict = make_dictionary(args.value("preset"), names, args.all("rule"), without);
    const bool check = args.has("check") || args.has("tolerance");
    const auto seed = static_cast<std::uint64_t>(args.value("seed") ? parse_int("seed", *args.value("seed"), 0, INT64_MAX) : 0);
    const bool has_tolerance = args.has("tolerance");
    const double tolerance = has_tolerance ? parse_double("tolerance", *args.value("tolerance")) : 0.0;
    onnx::check_policy onnx_check = onnx::check_policy::when_supported;
    const std::string onnx_check_name = args.value("onnx-check").value_or("auto");
    if (onnx_check_name == "always") onnx_check = onnx::check_policy::always;
    else if (onnx_check_name == "never") onnx_check = onnx::check_policy::never;
    else if (onnx_check_name != "auto")
        throw usage_error("--onnx-check: unknown mode '" + io::printable(onnx_check_name) + "' (auto, always, never)");
    rewrite::apply_options opts;
    if (auto m = args.value("max-iterations")) opts.max_iterations = static_cast<int>(parse_int("max-iterations", *m, 1, 1000));
    memory_budget budget = budget_from(args);
    const auto report_path = args.value("report");
    const auto dot_dir = args.value("dot");
    const auto calibrate_spec = args.value("calibrate");
    const auto evaluate_spec = args.value("evaluate");
    calibrate::options copt = calibration_options(args.value("calibrate-methods"));
    copt.count = args.value("calibrate-count") ? parse_int("calibrate-count", *args.value("calibrate-count"), 2, INT64_MAX) : 500;
    copt.validate = args.value("calibrate-validate") ? parse_int("calibrate-validate", *args.value("calibrate-validate"), 0, INT64_MAX) : copt.count / 4;
    const std::int64_t evaluate_count = args.value("evaluate-count") ? parse_int("evaluate-count", *args.value("evaluate-count"), 1, INT64_MAX) : 0;
    for (const char* o : {"calibrate-count", "calibrate-methods", "calibrate-validate"})
        if (args.has(o) && !calibrate_spec) throw usage_error(std::string("--") + o + " needs --calibrate");
    if (args.has("evaluate-count") && !evaluate_spec) throw usage_error("--evaluate-count needs --evaluate");
    opts.log_replacements = report_path.has_value();

    // Then every output path, before anything is read or created.
    output_plan plan;
    plan.input(in, "the input model");
    plan.file(out, "-o");
    if (report_path) plan.file(*report_path, "--report");
    if (dot_dir) plan.directory(*dot_dir, "--dot", {"before.dot", "after.dot", "before.svg", "after.svg"});
    plan.check();
    // The datasets next: a wrong path or spec fails before the model is read.
    std::optional<io::dataset> cal_data, eval_data;
    if (calibrate_spec)
        cal_data.emplace(open_cli_dataset(*calibrate_spec, "calibrate", copt.validate > INT64_MAX - copt.count ? 0 : copt.count + copt.validate, budget));
    if (evaluate_spec) eval_data.emplace(open_cli_dataset(*evaluate_spec, "evaluate", evaluate_count, budget, true));

    const auto t_load = clock::now();
    onnx::load_options lo;
    lo.freeze_inputs = args.has("freeze-inputs");
    ir::Graph g = load_model(in, budget, lo);
    const double load_s = seconds_since(t_load);
    const std::size_t nodes_read = g.num_nodes();
    const std::int64_t opset_read = g.opset;
    std::size_t inputs_with_default = 0; // initializers listed as graph inputs, when not frozen
    for (ir::ValueId v : g.inputs()) inputs_with_default += g.value(v).data ? 1 : 0;
    // The nodes the model had (ids survive a rewrite), for the removed/created counts.
    std::vector<bool> alive_read(g.node_bound());
    for (std::size_t i = 0; i < alive_read.size(); ++i) alive_read[i] = g.node(ir::NodeId{i}).alive;
    // The model as read, kept only for --check and --dot (constants are shared: structure only).
    std::optional<ir::Graph> before;
    if (check || dot_dir || report_path || cal_data || eval_data) before.emplace(g);
    // In place: on failure nothing is written and the graph is dropped, so no copy is needed.
    opts.transactional = false;

    // With nothing between the rewrite and the serialization that reads the graph (no report, no
    // accuracy, no calibration), ir::verify runs on a second thread while the graph is serialized:
    // both only read it. Otherwise it runs at the end of the rewrite, as usual.
    const bool verify_beside = !report_path && !eval_data && !cal_data;
    opts.verify = !verify_beside;

    rewrite::report rep;
    double rewrite_s = 0;
    if (dict.size() == 0) {
        rep.dictionary = "none";
        rep.ops_before = rep.ops_after = g.op_histogram();
        rep.nodes_before = rep.nodes_after = g.num_nodes();
        rep.converged = true;
    } else {
        const doing ctx("rewriting " + io::quoted(in) + " with the dictionary '" + io::printable(dict.name()) + "'");
        const auto t0 = clock::now();
        try {
            rep = rewrite::apply(g, dict, opts);
        } catch (const surgery::error& e) {
            throw error(std::string(e.what()) + "; nothing was written");
        }
        rewrite_s = seconds_since(t0);
    }
    auto print_summary = [&] {
        std::cout << io::quoted(in) << ": " << nodes_read << " nodes, opset " << opset_read << " (loaded in " << format("%.2f", load_s) << " s)\n";
        if (dict.size() == 0) std::cout << "no rules given: the model is written back unchanged\n";
        else std::cout << rep.to_string() << format("rewrite time: %.2f ms\n", 1e3 * rewrite_s);
        for (const std::string& w : unknown_op_warnings(args.all("rule"), dict, rep)) std::cerr << "surgery lite: warning: " << w << "\n";
        // Weights exported as graph inputs (keep_initializers_as_inputs, older exporters) may be given
        // other values at run time, so no rule folds them: say so, and how to make them constants.
        if (inputs_with_default > 0 && dict.size() > 0)
            std::cout << "note: " << inputs_with_default << " graph input(s) have an initializer (weights exported as inputs): rules take them "
                      << "as values known only at run time, so those that need constant weights (BatchNorm folding, constant folding) "
                      << "leave them; --freeze-inputs makes them constants\n";
    };
    if (!verify_beside) print_summary();

    // The sites (before calibration, which changes weights only), for the report.
    std::vector<site_record> sites;
    if (report_path) sites = site_records(calibrate::find_sites(*before, g), dict, rep);

    // Accuracy: the input and the lite model as rewritten, then recovery and the result.
    std::optional<calibrate::accuracy> top1_input, top1_lite, top1_calibrated;
    if (eval_data) {
        top1_input = top1_of(*before, *eval_data, "the input model", budget);
        top1_lite = top1_of(g, *eval_data, "the lite model", budget, &*top1_input, "the input model");
    }
    std::optional<calibrate::report> cal;
    if (cal_data) {
        const doing ctx("calibrating the rewrite of " + io::quoted(in) + " on " + cal_data->name());
        // What the model, the datasets and the graphs' copies left of the budget bounds what the
        // calibration holds (both networks' activations over the calibration images).
        copt.max_memory = static_cast<std::size_t>(std::max<std::uint64_t>(budget.remaining(), 1));
        try {
            cal = calibrate::recover(*before, g, *cal_data, copt);
        } catch (const surgery::error& e) {
            throw error("--calibrate " + cal_data->name() + ": " + e.what() + "; nothing was written");
        }
        std::cout << cal->to_string();
        // Squeeze-and-Excitation gates scale each channel per image: no per-channel constant
        // (moments, BatchNorm statistics) reproduces them, the least-squares refits do much better.
        if (!copt.lstsq)
            for (const auto& r : rep.rules)
                if (r.name == "remove_squeeze_excitation" && r.replaced > 0) {
                    std::cout << "note: " << r.replaced << " Squeeze-and-Excitation block(s) were removed; --calibrate-methods batchnorm,moments,lstsq "
                              << "usually recovers much more there (docs/calibration.md)\n";
                    break;
                }
        if (eval_data) {
            top1_calibrated = top1_of(g, *eval_data, "the calibrated lite model", budget, &*top1_lite, "the lite model");
            const auto c = calibrate::compare(*top1_input, *top1_calibrated, *eval_data);
            std::cout << format("  the calibrated lite model gives the input model's prediction on %.2f%% of the images\n", 100.0 * c.agreement());
        }
    }

    // The model's bytes first: --check compares the input with the model exactly as it will be written.
    std::optional<onnx::serialized_model> serialized;
    if (!verify_beside) {
        serialized.emplace(serialize(g, out, onnx_check));
    } else {
        // Printed once the graph is verified: a graph that fails prints nothing but the error, as when
        // the rewrite verifies it.
        std::exception_ptr serialize_error;
        verify_while(g, dict.size() > 0, [&] {
            try {
                serialized.emplace(serialize(g, out, onnx_check));
            } catch (...) {
                serialize_error = std::current_exception();
            }
        });
        print_summary();
        if (serialize_error) std::rethrow_exception(serialize_error);
    }

    // Nodes removed (drawn in before.dot) and created (in after.dot): surviving nodes keep their ids.
    auto was_alive = [&](std::size_t i) { return i < alive_read.size() && alive_read[i]; };
    auto is_alive = [&](std::size_t i) { return i < g.node_bound() && g.node(ir::NodeId{i}).alive; };
    std::unordered_set<ir::NodeId> removed, created; // filled for --dot only; otherwise counted
    std::size_t n_removed = 0, n_created = 0;
    for (std::size_t i = 0; i < std::max(alive_read.size(), g.node_bound()); ++i) {
        if (was_alive(i) && !is_alive(i)) {
            ++n_removed;
            if (dot_dir) removed.insert(ir::NodeId{i});
        } else if (is_alive(i) && !was_alive(i)) {
            ++n_created;
            if (dot_dir) created.insert(ir::NodeId{i});
        }
    }
    const std::size_t nodes_written = g.num_nodes();
    if (!dot_dir) g = ir::Graph{}; // what is left to do needs only the bytes (and the model as read)
    const std::string model = checked_model_bytes(std::move(*serialized), out);

    std::optional<reference::equivalence_report> eq;
    if (check) {
        const doing ctx("checking the rewrite of " + io::quoted(in) + " on random inputs");
        const ir::Graph written = [&] {
            onnx::detail::arena_model reread; // freed before the run
            onnx::detail::parse(*reread, model, io::quoted(out));
            return onnx::from_model_proto(*reread);
        }();
        // A dynamic dimension (a batch axis, most often) is given the size 1, and said so.
        // Inputs with a default (an initializer listed as a graph input) keep it in both models.
        reference::random_input_options ro;
        ro.dynamic_dims = 1;
        ro.use_defaults = true;
        charge_random_inputs(budget, *before, io::quoted(in), 1, ro.dynamic_dims, ro.use_defaults);
        eq = reference::compare(*before, written, seed, 1, ro);
        std::cout << "check (random normal inputs, seed " << seed << "):\n";
        for (const ir::ValueId v : before->inputs())
            if (const auto& s = before->value(v).shape; s && !ir::is_static(*s) && !before->value(v).data)
                std::cout << "  input '" << io::printable(before->label(v)) << "' is declared " << ir::to_string(*s) << ": checked at "
                          << ir::to_string(ir::with_dynamic_dims(*s, ro.dynamic_dims)) << "\n";
        for (const auto& o : eq->outputs)
            std::cout << "  output '" << io::printable(o.name) << "'" << format(": max_abs %.3g, max_rel %.3g (|ref| max %.3g)\n", o.max_abs, o.max_rel, o.ref_max_abs);
        if (has_tolerance && !eq->within(tolerance))
            throw error(format("--check: max relative error %.3g exceeds the tolerance %.3g; ", eq->max_rel, tolerance) + io::quoted(out) +
                        " was not written");
    }

    // Every output is staged; they are renamed into place together at the end, or none is.
    output_transaction tx;
    tx.stage_file(out, model);
    std::vector<std::string> wrote{"wrote " + io::quoted(out) + " (" + std::to_string(nodes_written) + " nodes)"};

    if (report_path) {
        json_writer j;
        j.begin_object();
        j.name("input", in.native()).name("output", out.native()).name("dictionary", rep.dictionary).name("onnx_check", onnx_check_name);
        j.key("rules").begin_array();
        for (std::size_t i = 0; i < rep.rules.size(); ++i) {
            const auto& r = rep.rules[i];
            j.begin_object().name("name", r.name).member("kind", std::string(rewrite::to_string(r.kind)));
            j.name("pattern", dict.rules()[i].pattern_text).member("matches", r.matches).member("replaced", r.replaced).end_object();
        }
        j.end_array();
        j.key("ops_before");
        write_histogram(j, rep.ops_before);
        j.key("ops_after");
        write_histogram(j, rep.ops_after);
        j.member("nodes_before", rep.nodes_before).member("nodes_after", rep.nodes_after);
        j.member("nodes_removed", n_removed).member("nodes_created", n_created).member("constants_removed", rep.removed_constants);
        j.member("converged", rep.converged).member("iterations", rep.iterations).member("seconds", rewrite_s);
        // Where the model changed, by rewritten site (the way back to the source framework: node
        // names written by torch.onnx.export carry the module path).
        std::map<std::string, const calibrate::site_entry*> measured; // by the site's first original node
        if (cal)
            for (const auto& e : cal->sites)
                if (!e.where.original_nodes.empty()) measured.emplace(e.where.original_nodes.front(), &e);
        j.key("sites").begin_array();
        for (const auto& s : sites) {
            j.begin_object();
            write_strings(j, "rules", s.rules);
            j.member("kind", s.kind).name("module", s.where.module);
            write_strings(j, "original_modules", s.original_modules);
            write_strings(j, "original_nodes", s.where.original_nodes);
            write_strings(j, "original_ops", s.where.original_ops);
            write_strings(j, "lite_nodes", s.where.lite_nodes);
            write_strings(j, "lite_ops", s.where.lite_ops);
            write_strings(j, "exits", s.where.exits);
            write_strings(j, "layers_after", s.where.layers_after);
            if (!s.where.original_nodes.empty())
                if (auto it = measured.find(s.where.original_nodes.front()); it != measured.end())
                    j.name("measured_at", it->second->measured_at).member("deviation_before", it->second->before).member("deviation_after", it->second->after);
            j.end_object();
        }
        j.end_array();
        if (cal) {
            j.key("calibration").begin_object().name("data", *calibrate_spec).member("images", cal->images);
            j.key("methods").begin_array();
            if (cal->options.batchnorm) j.value("batchnorm");
            if (cal->options.moments) j.value("moments");
            if (cal->options.lstsq) j.value("lstsq");
            j.end_array();
            j.member("batchnorms", cal->batchnorms).member("moment_matched", cal->moment_matched).member("refitted", cal->refitted);
            j.member("refits_underdetermined", cal->underdetermined);
            if (!cal->lstsq_dropped.empty()) j.name("lstsq_dropped", cal->lstsq_dropped);
            j.member("deviation_before", cal->before).member("deviation_after", cal->after).member("deviation_closed", cal->deviation_closed());
            j.member("reverted", cal->reverted).member("seconds", cal->seconds);
            if (cal->reverted) j.name("revert_reason", cal->revert_reason);
            const auto share = [](const calibrate::top1_counts& t) { return static_cast<double>(t.agree) / static_cast<double>(t.samples); };
            if (cal->top1_before.samples) j.member("top1_agreement_before", share(cal->top1_before)).member("top1_agreement_after", share(cal->top1_after));
            if (cal->validation_images) {
                j.key("validation").begin_object().member("images", cal->validation_images);
                j.member("deviation_before", cal->validation_before).member("deviation_after", cal->validation_after);
                if (cal->validation_top1_before.samples)
                    j.member("top1_agreement_before", share(cal->validation_top1_before)).member("top1_agreement_after", share(cal->validation_top1_after));
                j.end_object();
            }
            j.key("layers").begin_array();
            for (const auto& l : cal->layers) {
                if (l.applied == calibrate::method::none) continue;
                j.begin_object().name("node", l.node).member("op", l.op).member("method", std::string(calibrate::to_string(l.applied)));
                j.member("deviation_before", l.before).member("deviation_after", l.after).end_object();
            }
            j.end_array();
            j.key("outputs").begin_array();
            for (const auto& o : cal->outputs) j.begin_object().name("name", o.name).member("deviation_before", o.before).member("deviation_after", o.after).end_object();
            j.end_array().end_object();
        }
        if (eval_data) {
            j.key("evaluation").begin_object().name("data", *evaluate_spec).member("images", eval_data->size());
            j.member("top1_input", top1_input->top1()).member("top1_lite", top1_lite->top1());
            if (top1_calibrated) j.member("top1_calibrated", top1_calibrated->top1());
            comparison_json(j, "lite_vs_input", *top1_input, *top1_lite, *eval_data);
            if (top1_calibrated) {
                comparison_json(j, "calibrated_vs_input", *top1_input, *top1_calibrated, *eval_data);
                comparison_json(j, "calibrated_vs_lite", *top1_lite, *top1_calibrated, *eval_data);
            }
            j.end_object();
        }
        if (eq) {
            j.key("check").begin_object().member("seed", seed).member("max_abs", eq->max_abs).member("max_rel", eq->max_rel);
            if (has_tolerance) j.member("tolerance", tolerance);
            j.key("outputs").begin_array();
            for (const auto& o : eq->outputs)
                j.begin_object().name("name", o.name).member("max_abs", o.max_abs).member("max_rel", o.max_rel).member("ref_max_abs", o.ref_max_abs).end_object();
            j.end_array().end_object();
        }
        j.end_object();
        tx.stage_file(*report_path, j.str());
        wrote.push_back("wrote report " + io::quoted(*report_path));
    }

    if (dot_dir) {
        const doing ctx("drawing the graphs for --dot " + io::quoted(*dot_dir));
        const std::filesystem::path dir = *dot_dir;
        const std::filesystem::path staged = tx.stage_directory(dir);
        io::dot_options bo;
        bo.graph_name = in.filename().string() + " (before; removed nodes filled)";
        bo.highlight = removed;
        bo.highlight_color = "lightsalmon";
        io::dot_options ao;
        ao.graph_name = out.filename().string() + " (after; created nodes filled)";
        ao.highlight = created;
        ao.highlight_color = "palegreen";
        const auto before_dot = tx.stage_file(staged / "before.dot", io::to_dot(*before, bo));
        const auto after_dot = tx.stage_file(staged / "after.dot", io::to_dot(g, ao));
        wrote.push_back("wrote " + io::quoted(dir / "before.dot") + " (" + std::to_string(n_removed) + " removed nodes filled) and " +
                        io::quoted(dir / "after.dot") + " (" + std::to_string(n_created) + " created nodes filled)");
        bool svg = false;
        if (!args.has("no-svg")) {
            if (const auto dot = on_path("dot")) {
                svg = true;
                const auto before_svg = tx.stage_for_writer(staged / "before.svg"), after_svg = tx.stage_for_writer(staged / "after.svg");
                const bool ok = run_dot(*dot, before_dot, before_svg) && run_dot(*dot, after_dot, after_svg);
                if (!ok)
                    throw error("Graphviz " + io::quoted(*dot) + " failed to render the SVGs for --dot " + io::quoted(dir) +
                                "; nothing was written (--no-svg skips the SVGs)");
                wrote.push_back("wrote " + io::quoted(dir / "before.svg") + " and " + io::quoted(dir / "after.svg"));
            } else {
                wrote.push_back("note: Graphviz 'dot' is not on PATH, no SVG written");
            }
        }
        if (!svg) // never removed (the tool deletes nothing it did not create), but said
            for (const char* n : {"before.svg", "after.svg"})
                if (std::filesystem::exists(dir / n)) wrote.push_back("note: " + io::quoted(dir / n) + " is from an earlier run, not this one");
    }

    tx.commit();
    for (const auto& w : wrote) std::cout << w << "\n";
    return exit_ok;
}

} // namespace surgery::cli
