// surgery run MODEL.onnx [--input X.npy] [--output Y.npy] [--repeat N]: the reference executor, latency, output summary.
#include <iostream>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/dataset.hpp"
#include "cli/json.hpp"
#include "cli/limits.hpp"
#include "cli/model.hpp"
#include "cli/outputs.hpp"
#include "cli/tensors.hpp"
#include "surgery/calibrate/recover.hpp"
#include "surgery/io/file.hpp"
#include "surgery/reference/equivalence.hpp"
#include "surgery/reference/executor.hpp"

namespace surgery::cli {

const command_spec& run_spec() {
    static const command_spec spec{
        "run",
        "MODEL.onnx [--input X.npy|NAME=X.npy]... [--output Y.npy|NAME=Y.npy]... [--repeat N] | MODEL.onnx --dataset DATA",
        "Run a model with the reference executor: latency and a summary of each output.",
        "Tensor files are .npy (float32 or int64, C order) or .pb (a serialized ONNX TensorProto), chosen by\n"
        "extension. --input is given once per graph input in graph order, or as NAME=FILE; inputs not given\n"
        "are seeded random (normal for floats, see --seed). --output likewise, for the outputs to save.\n"
        "Latency is the wall time of executor::run, median and minimum over --repeat runs, after --warmup\n"
        "runs (default 1 when --repeat > 1, else 0).\n"
        "Tensor files are read only when they are regular files within the memory budget (--max-memory), and\n"
        "random inputs are built only when their declared shapes fit it. --output files are checked before the\n"
        "run (none may be the model, an --input or --expect file, another output, or a special file) and\n"
        "written together at the end, or not at all.\n"
        "--dataset DATA runs the model over a labelled dataset instead (a dataset spec, see docs/cli.md: IDX,\n"
        "Fashion-MNIST, .npy batches or an image folder, with its preprocessing) in batches of --batch, and\n"
        "prints the top-1 accuracy of its first output (logits [N, classes]).",
        {
            {"input", 'i', "FILE|NAME=FILE", "an input tensor", true},
            {"output", 'o', "FILE|NAME=FILE", "where to save an output tensor", true},
            {"repeat", 'r', "N", "timed runs (default 1)"},
            {"warmup", 0, "N", "untimed runs before the timed ones"},
            {"threads", 0, "N", "threads for the GEMM kernels (needs a build with OpenMP; default 1)"},
            {"expect", 'e', "FILE|NAME=FILE", "an expected output: fail (exit 1) when the output's max relative error\n(max|y - e| / max|e|) exceeds --tolerance", true},
            {"tolerance", 0, "T", "tolerance of --expect (default 1e-4)"},
            {"seed", 0, "S", "seed of the random inputs (default 0)"},
            {"profile", 0, "", "print the time per op kind"},
            {"json", 0, "", "print the result as JSON on stdout"},
            {"dataset", 0, "DATA", "measure top-1 on a labelled dataset (no --input/--output/--expect/--repeat)"},
            {"count", 0, "N", "with --dataset: its first N samples (default all)"},
            {"batch", 0, "B", "with --dataset: samples per run (default 250)"},
            max_memory_option(),
        },
        1,
        1,
        "examples:\n  surgery run mobilenet_v3_large.onnx --input mobilenet_v3_large_input.npy --output y.npy --repeat 10\n"
        "  surgery run model.onnx -i image=x.pb -o logits=y.npy\n"
        "  surgery run classifier.onnx --dataset 'fmnist:?split=test&pad=32&channels=3&mean=0.2860&std=0.3530'",
    };
    return spec;
}

const command_spec& compare_spec() {
    static const command_spec spec{
        "compare",
        "A.onnx B.onnx [--input X.npy|NAME=X.npy]... [--seed S] [--trials N] [--tolerance T]",
        "Numerical equivalence of two models: per output, max absolute and relative error of B against A.",
        "Inputs are the given tensor files, else seeded random (normal) tensors, one set per trial (seeds S,\n"
        "S+1, ...). The relative error of an output is max|A - B| / max|A|. For 2-D outputs (logits) the\n"
        "number of rows whose argmax agrees is shown too. With --tolerance T the exit status is 1 when any\n"
        "output's relative error exceeds T.",
        {
            {"input", 'i', "FILE|NAME=FILE", "an input tensor (otherwise random)", true},
            {"seed", 0, "S", "seed of the random inputs (default 0)"},
            {"trials", 0, "N", "sets of random inputs (default 1)"},
            {"tolerance", 0, "T", "fail (exit 1) when an output's relative error exceeds T"},
            {"json", 0, "", "print the result as JSON on stdout"},
            max_memory_option(),
        },
        2,
        2,
        "examples:\n  surgery compare model_bn.onnx folded.onnx --tolerance 1e-5\n  surgery compare a.onnx b.onnx --input x.npy --trials 1",
    };
    return spec;
}

namespace {

/// The inputs of `g` (read from `model`) to run it on, with their names and where each came from:
/// the files bound by --input, random tensors (seed) for the others, all charged to the budget
/// before they are allocated. An input with a default value (an initializer listed as a graph input,
/// as older exporters write every weight) that is not given keeps its default, as in ONNX Runtime:
/// it is left out of the list, or, when another such input is given (the executor then needs every
/// input), passed as a copy of the default.
std::vector<ir::Tensor> make_inputs(const ir::Graph& g, const std::string& model, const std::vector<binding>& bound, std::uint64_t seed,
                                    std::vector<std::string>& names, std::vector<std::string>& origin, memory_budget& budget) {
    auto has_default = [&](std::size_t k) { return g.value(g.inputs()[k]).data != nullptr; };
    bool need_random = false, default_given = false;
    for (std::size_t k = 0; k < bound.size(); ++k) {
        need_random = need_random || (bound[k].file.empty() && !has_default(k));
        default_given = default_given || (!bound[k].file.empty() && has_default(k));
    }
    reference::random_input_options ro;
    ro.dynamic_dims = 1; // a dynamic dimension of a random input gets the size 1 (said in its line)
    ro.use_defaults = true;
    std::vector<ir::Tensor> random; // one per input without a default, in order (the given ones dropped)
    if (need_random) {
        charge_random_inputs(budget, g, model, 1, ro.dynamic_dims, ro.use_defaults);
        const doing ctx("building random inputs for " + model);
        random = reference::random_inputs(g, seed, ro);
    }
    std::vector<ir::Tensor> out;
    names.clear();
    origin.clear();
    std::size_t next_random = 0;
    for (std::size_t k = 0; k < bound.size(); ++k) {
        const ir::Value& val = g.value(g.inputs()[k]);
        if (!bound[k].file.empty()) {
            out.push_back(load_tensor_file(bound[k].file, budget));
            origin.push_back(io::quoted(bound[k].file));
        } else if (val.data) {
            if (!default_given) continue; // the executor uses the default
            const std::string what = model + ": input '" + io::printable(bound[k].name) + "' (a copy of its default)";
            const auto bytes = checked_bytes(val.data->shape, val.data->dtype);
            if (!bytes) throw io_error(what + ": its size overflows 64 bits");
            budget.charge(*bytes, what);
            out.push_back(*val.data);
            origin.push_back("its default (the model's initializer)");
        } else {
            const ir::Shape& declared = *val.shape;
            std::string note = format("random normal (seed %llu", static_cast<unsigned long long>(seed));
            if (!ir::is_static(declared))
                note += "; declared " + ir::to_string(declared) + ", its dynamic dimensions set to " + std::to_string(ro.dynamic_dims);
            origin.push_back(note + ")");
            out.push_back(std::move(random.at(next_random)));
        }
        names.push_back(bound[k].name);
        if (!val.data) ++next_random;
    }
    return out;
}

void print_run(const ir::Graph& g, const std::string& path, const reference::executor& ex, const std::vector<ir::Tensor>& inputs,
               const std::vector<std::string>& in_names, const std::vector<std::string>& origin, const std::vector<ir::Tensor>& outputs, const std::vector<binding>& out_bind,
               const std::vector<std::optional<reference::output_deviation>>& devs, double med, double best, int repeat, int warmup, int threads,
               double plan_s) {
    std::cout << "model: " << io::printable(path) << " (" << g.num_nodes() << " nodes; plan " << format("%.1f", 1e3 * plan_s) << " ms; " << ex.stats().steps
              << " steps, " << ex.stats().fused_nodes << " fused, " << ex.stats().folded_nodes << " folded)\n";
    for (std::size_t k = 0; k < inputs.size(); ++k)
        std::cout << "input  " << io::printable(in_names[k]) << " <- " << origin[k] << ": " << summarize(inputs[k]) << "\n";
    std::cout << format("latency: median %.3f ms, min %.3f ms over %d run(s)", med, best, repeat);
    if (warmup) std::cout << " after " << warmup << " warm-up run(s)";
    std::cout << ", " << threads << " thread(s)";
    if (threads > 1 && !have_openmp()) std::cout << " (built without OpenMP: --threads has no effect)";
    std::cout << "\n";
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        std::cout << "output " << io::printable(out_bind[k].name) << ": " << summarize(outputs[k]) << "\n";
        if (!out_bind[k].file.empty()) std::cout << "  wrote " << io::quoted(out_bind[k].file) << "\n";
        if (devs[k]) std::cout << format("  vs expected: max_abs %.3g, max_rel %.3g\n", devs[k]->max_abs, devs[k]->max_rel);
    }
}

/// `run --dataset`: top-1 of the model's first output over a labelled dataset.
int run_dataset(const arguments& args) {
    for (const char* o : {"input", "output", "expect", "tolerance", "repeat", "warmup", "seed", "profile"})
        if (args.has(o)) throw usage_error(std::string("--") + o + " does not apply with --dataset");
    const std::string path = args.positionals.at(0);
    const std::int64_t count = args.value("count") ? parse_int("count", *args.value("count"), 1, INT64_MAX) : 0;
    const std::int64_t batch = args.value("batch") ? parse_int("batch", *args.value("batch"), 1, 1'000'000) : 250;
    const int threads = static_cast<int>(args.value("threads") ? parse_int("threads", *args.value("threads"), 1, 1024) : 1);
    memory_budget budget = budget_from(args);
    const io::dataset data = open_cli_dataset(*args.value("dataset"), "dataset", count, budget, true);
    const ir::Graph g = load_model(path, budget);
    if (g.inputs().size() != 1)
        throw error(io::quoted(path) + ": the model has " + std::to_string(g.inputs().size()) + " inputs; --dataset feeds one (the images)");
    reference::executor_options eo;
    eo.threads = threads;
    eo.max_memory = static_cast<std::size_t>(budget.remaining());
    const doing ctx("running the model " + io::quoted(path) + " on " + data.name());
    const auto t0 = clock::now();
    const auto acc = calibrate::evaluate(g, data, 0, batch, eo);
    const double s = seconds_since(t0);
    if (args.has("json")) {
        json_writer j;
        j.begin_object().name("model", path).name("dataset", data.name()).member("samples", acc.total).member("correct", acc.correct);
        j.member("top1", acc.top1()).member("seconds", s).member("threads", threads).end_object();
        std::cout << j.str();
    } else {
        std::cout << io::quoted(path) << " on " << data.name() << ": top-1 " << format("%.2f%% (%lld of %lld), %.2f s\n", 100.0 * acc.top1(),
                                                                                             static_cast<long long>(acc.correct), static_cast<long long>(acc.total), s);
    }
    return exit_ok;
}

} // namespace

int run_main(const arguments& args) {
    if (args.has("dataset")) return run_dataset(args);
    for (const char* o : {"count", "batch"})
        if (args.has(o)) throw usage_error(std::string("--") + o + " needs --dataset");
    const std::string path = args.positionals.at(0);
    const int repeat = static_cast<int>(args.value("repeat") ? parse_int("repeat", *args.value("repeat"), 1, 1'000'000) : 1);
    const int warmup = static_cast<int>(args.value("warmup") ? parse_int("warmup", *args.value("warmup"), 0, 1'000'000) : (repeat > 1 ? 1 : 0));
    const int threads = static_cast<int>(args.value("threads") ? parse_int("threads", *args.value("threads"), 1, 1024) : 1);
    const auto seed = static_cast<std::uint64_t>(args.value("seed") ? parse_int("seed", *args.value("seed"), 0, INT64_MAX) : 0);
    const bool json = args.has("json");
    const bool has_tolerance = args.has("tolerance");
    const double tolerance = has_tolerance ? parse_double("tolerance", *args.value("tolerance")) : 1e-4;
    if (has_tolerance && args.all("expect").empty()) throw usage_error("--tolerance needs --expect");
    memory_budget budget = budget_from(args);
    const std::string model = io::quoted(path);

    // The output names are the model's, so the model is read before the --output paths are known;
    // they are checked before any tensor is read or anything is run.
    const ir::Graph g = load_model(path, budget);
    const auto in_bind = bind_files(input_names(g), args.all("input"), "input", "input");
    const auto out_bind = bind_files(output_names(g), args.all("output"), "output", "output");
    const auto expect_bind = bind_files(output_names(g), args.all("expect"), "expect", "output");
    output_plan plan;
    plan.input(path, "the model");
    for (const auto& b : in_bind)
        if (!b.file.empty()) plan.input(b.file, "--input");
    for (const auto& b : expect_bind)
        if (!b.file.empty()) plan.input(b.file, "--expect");
    for (const auto& b : out_bind)
        if (!b.file.empty()) {
            (void)format_of(b.file); // an unknown extension fails before the run
            plan.file(b.file, "--output");
        }
    plan.check();

    std::vector<std::optional<ir::Tensor>> expected(expect_bind.size());
    for (std::size_t k = 0; k < expect_bind.size(); ++k)
        if (!expect_bind[k].file.empty()) expected[k] = load_tensor_file(expect_bind[k].file, budget);
    std::vector<std::string> in_names, origin;
    const std::vector<ir::Tensor> inputs = make_inputs(g, model, in_bind, seed, in_names, origin, budget);

    reference::executor_options eo;
    eo.threads = threads;
    eo.profile = args.has("profile");
    // What is left of the budget bounds the executor's intermediate tensors (it fails before
    // allocating beyond, naming the node).
    eo.max_memory = static_cast<std::size_t>(budget.remaining());
    const doing ctx("running the model " + model);
    const auto t_plan = clock::now();
    reference::executor ex(g, eo);
    const double plan_s = seconds_since(t_plan);
    std::vector<ir::Tensor> outputs;
    for (int w = 0; w < warmup; ++w) outputs = ex.run(inputs);
    ex.reset_profile();
    std::vector<double> ms;
    for (int r = 0; r < repeat; ++r) {
        const auto t0 = clock::now();
        outputs = ex.run(inputs);
        ms.push_back(1e3 * seconds_since(t0));
    }
    const double med = median(ms), best = *std::min_element(ms.begin(), ms.end());

    output_transaction tx;
    for (std::size_t k = 0; k < out_bind.size(); ++k)
        if (!out_bind[k].file.empty()) tx.stage_file(out_bind[k].file, tensor_file_bytes(outputs[k], out_bind[k].file, out_bind[k].name));
    // --expect: each given output against its expected tensor (relative to the expected's max |value|).
    std::vector<std::optional<reference::output_deviation>> devs(outputs.size());
    bool within = true;
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        if (!expected[k]) continue;
        if (expected[k]->shape != outputs[k].shape || expected[k]->dtype != outputs[k].dtype)
            throw error("output '" + io::printable(out_bind[k].name) + "' is " + std::string(ir::to_string(outputs[k].dtype)) + " " + ir::to_string(outputs[k].shape) +
                        " but the expected tensor " + io::quoted(expect_bind[k].file) + " is " + std::string(ir::to_string(expected[k]->dtype)) + " " +
                        ir::to_string(expected[k]->shape));
        devs[k] = reference::compare_tensors(*expected[k], outputs[k]);
        devs[k]->name = out_bind[k].name;
        within = within && devs[k]->max_rel <= tolerance;
    }
    // The outputs are what the model computes: written even when they are over an --expect tolerance.
    tx.commit();

    if (json) {
        json_writer j;
        j.begin_object().name("model", path).member("nodes", g.num_nodes()).member("threads", threads).member("openmp", have_openmp());
        j.member("repeat", repeat).member("warmup", warmup).member("median_ms", med).member("min_ms", best).member("plan_ms", 1e3 * plan_s);
        j.key("inputs").begin_array();
        for (std::size_t k = 0; k < inputs.size(); ++k) j.begin_object().name("name", in_names[k]).name("source", origin[k]).end_object();
        j.end_array();
        j.key("outputs").begin_array();
        for (std::size_t k = 0; k < outputs.size(); ++k) {
            j.begin_object().name("name", out_bind[k].name).member("summary", summarize(outputs[k]));
            if (!out_bind[k].file.empty()) j.name("file", out_bind[k].file.native());
            if (devs[k]) j.member("expect_max_abs", devs[k]->max_abs).member("expect_max_rel", devs[k]->max_rel);
            const auto am = argmax_rows(outputs[k]);
            if (!am.empty()) {
                j.key("argmax").begin_array();
                for (auto a : am) j.value(a);
                j.end_array();
            }
            j.end_object();
        }
        j.end_array();
        if (!args.all("expect").empty()) j.member("tolerance", tolerance).member("within_tolerance", within);
        j.end_object();
        std::cout << j.str();
    } else {
        print_run(g, path, ex, inputs, in_names, origin, outputs, out_bind, devs, med, best, repeat, warmup, threads, plan_s);
        if (eo.profile) std::cout << ex.profile().summary();
    }
    if (!within) {
        std::cerr << format("surgery run: an output differs from the expected tensor by more than the tolerance %.3g (relative)\n", tolerance);
        return exit_failure;
    }
    return exit_ok;
}

int compare_main(const arguments& args) {
    const std::string pa = args.positionals.at(0), pb = args.positionals.at(1);
    const auto seed = static_cast<std::uint64_t>(args.value("seed") ? parse_int("seed", *args.value("seed"), 0, INT64_MAX) : 0);
    const int trials = static_cast<int>(args.value("trials") ? parse_int("trials", *args.value("trials"), 1, 1000) : 1);
    const bool has_tolerance = args.has("tolerance");
    const double tolerance = has_tolerance ? parse_double("tolerance", *args.value("tolerance")) : 0.0;
    const bool json = args.has("json");
    const bool given = !args.all("input").empty();
    if (given && trials > 1) throw usage_error("--trials applies to random inputs; with --input there is one trial");

    memory_budget budget = budget_from(args);
    const ir::Graph a = load_model(pa, budget), b = load_model(pb, budget);
    if (a.inputs().size() != b.inputs().size() || a.outputs().size() != b.outputs().size())
        throw error(format("the models do not have the same interface: %s has %zu inputs and %zu outputs, %s has %zu and %zu", io::quoted(pa).c_str(),
                           a.inputs().size(), a.outputs().size(), io::quoted(pb).c_str(), b.inputs().size(), b.outputs().size()));
    const auto in_bind = bind_files(input_names(a), args.all("input"), "input", "input");
    const doing ctx("running the models " + io::quoted(pa) + " and " + io::quoted(pb));
    // One trial's inputs are charged first (each trial's are freed before the next); what is left is
    // split between the two executors' intermediate tensors.
    const memory_budget before_inputs = budget;
    std::vector<std::string> in_names, origin;
    // B's inputs, by graph position, when A's list (make_inputs: every input, or only those without
    // a default in A) does not say them: an input not given keeps B's own default when both models
    // have one, takes a copy of A's default when only A has one, and is the same tensor as A's
    // otherwise (given, or random). Each copy is charged to `bud`.
    const std::size_t n_inputs = a.inputs().size();
    auto inputs_of_b = [&](const std::vector<ir::Tensor>& ins, memory_budget& bud) {
        std::optional<std::vector<ir::Tensor>> out;
        const bool full = ins.size() == n_inputs; // else A's defaults are left out
        auto is_given = [&](std::size_t k) { return !in_bind[k].file.empty(); };
        auto default_of = [](const ir::Graph& g, std::size_t k) { return g.value(g.inputs()[k]).data.get(); };
        bool needed = false;
        for (std::size_t k = 0; k < n_inputs; ++k) {
            if (is_given(k)) continue;
            const bool da = default_of(a, k) != nullptr, db = default_of(b, k) != nullptr;
            needed = needed || da != db || (full && da && db);
        }
        if (!needed) return out; // the same list means the same to both executors
        out.emplace();
        out->reserve(n_inputs);
        std::size_t next = 0; // in ins
        for (std::size_t k = 0; k < n_inputs; ++k) {
            const ir::Tensor* da = default_of(a, k);
            const ir::Tensor* db = default_of(b, k);
            const ir::Tensor* listed = (full || !da) ? &ins.at(next++) : nullptr;
            const ir::Tensor& t = is_given(k) ? *listed : (da && db) ? *db : da ? *da : *listed;
            const auto bytes = checked_bytes(t.shape, t.dtype);
            if (!bytes) throw io_error(io::quoted(pb) + ": input '" + io::printable(b.label(b.inputs()[k])) + "': its size overflows 64 bits");
            bud.charge(*bytes, io::quoted(pb) + ": input '" + io::printable(b.label(b.inputs()[k])) + "' (a copy for its executor)");
            out->push_back(t);
        }
        return out;
    };
    std::vector<ir::Tensor> first = make_inputs(a, io::quoted(pa), in_bind, seed, in_names, origin, budget);
    std::optional<std::vector<ir::Tensor>> first_b = inputs_of_b(first, budget);
    reference::executor_options eo;
    eo.max_memory = static_cast<std::size_t>(budget.remaining() / 2);
    reference::executor ea(a, eo), eb(b, eo);
    const auto names = output_names(a);
    std::vector<reference::output_deviation> dev(names.size());
    std::vector<std::size_t> rows(names.size(), 0), agree(names.size(), 0);
    for (int t = 0; t < trials; ++t) {
        memory_budget trial = before_inputs;
        const auto inputs = t == 0 ? std::move(first) : make_inputs(a, io::quoted(pa), in_bind, seed + static_cast<std::uint64_t>(t), in_names, origin, trial);
        const auto inputs_b = t == 0 ? std::move(first_b) : inputs_of_b(inputs, trial);
        const auto ya = ea.run(inputs), yb = eb.run(inputs_b ? *inputs_b : inputs);
        for (std::size_t k = 0; k < names.size(); ++k) {
            if (ya[k].shape != yb[k].shape || ya[k].dtype != yb[k].dtype)
                throw error("output " + std::to_string(k) + " ('" + io::printable(names[k]) + "') is " + std::string(ir::to_string(ya[k].dtype)) + " " +
                            ir::to_string(ya[k].shape) + " in " + io::quoted(pa) + " but " + std::string(ir::to_string(yb[k].dtype)) + " " +
                            ir::to_string(yb[k].shape) + " in " + io::quoted(pb));
            const auto d = reference::compare_tensors(ya[k], yb[k]);
            dev[k].name = names[k];
            dev[k].max_abs = std::max(dev[k].max_abs, d.max_abs);
            dev[k].max_rel = std::max(dev[k].max_rel, d.max_rel);
            dev[k].ref_max_abs = std::max(dev[k].ref_max_abs, d.ref_max_abs);
            const auto am = argmax_rows(ya[k]), bm = argmax_rows(yb[k]);
            for (std::size_t r = 0; r < am.size(); ++r) {
                ++rows[k];
                agree[k] += am[r] == bm[r] ? 1 : 0;
            }
        }
    }
    bool within = true;
    double worst = 0;
    for (const auto& d : dev) {
        within = within && (!has_tolerance || d.max_rel <= tolerance);
        worst = std::max(worst, d.max_rel);
    }

    if (json) {
        json_writer j;
        j.begin_object().name("a", pa).name("b", pb).member("inputs", given ? std::string("given") : std::string("random normal"));
        if (!given) j.member("seed", seed).member("trials", trials);
        j.key("outputs").begin_array();
        for (std::size_t k = 0; k < dev.size(); ++k) {
            j.begin_object().name("name", dev[k].name).member("max_abs", dev[k].max_abs).member("max_rel", dev[k].max_rel).member("ref_max_abs", dev[k].ref_max_abs);
            if (rows[k]) j.member("argmax_agree", agree[k]).member("rows", rows[k]);
            j.end_object();
        }
        j.end_array().member("max_rel", worst);
        if (has_tolerance) j.member("tolerance", tolerance).member("within_tolerance", within);
        j.end_object();
        std::cout << j.str();
    } else {
        std::cout << "A: " << io::printable(pa) << " (" << a.num_nodes() << " nodes)\nB: " << io::printable(pb) << " (" << b.num_nodes() << " nodes)\n";
        if (given) {
            for (std::size_t k = 0; k < origin.size(); ++k) std::cout << "input " << io::printable(in_names[k]) << " <- " << origin[k] << "\n";
        } else {
            std::size_t kept = 0;
            for (ir::ValueId v : a.inputs()) kept += a.value(v).data ? 1 : 0;
            std::cout << "inputs: random normal, seed " << seed << ", " << trials << " trial(s)";
            if (kept) std::cout << "; " << kept << " input(s) with an initializer keep it";
            std::cout << "\n";
        }
        for (std::size_t k = 0; k < dev.size(); ++k) {
            std::cout << "output '" << io::printable(dev[k].name) << "'" << format(": max_abs %.3g, max_rel %.3g (|A| max %.3g)", dev[k].max_abs, dev[k].max_rel, dev[k].ref_max_abs);
            if (rows[k]) std::cout << ", argmax agrees on " << agree[k] << "/" << rows[k] << " row(s)";
            std::cout << "\n";
        }
        if (has_tolerance)
            std::cout << format("%s: max_rel %.3g %s tolerance %.3g\n", within ? "equivalent" : "NOT equivalent", worst, within ? "<=" : ">", tolerance);
    }
    if (!within) {
        std::cerr << format("surgery compare: max relative error %.3g exceeds the tolerance %.3g\n", worst, tolerance);
        return exit_failure;
    }
    return exit_ok;
}

} // namespace surgery::cli
