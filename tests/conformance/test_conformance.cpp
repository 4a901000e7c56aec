// ONNX backend conformance: the official node and PyTorch test cases whose ops are all in the catalogue,
// loaded with surgery::onnx and run with the reference executor, compared as ONNX's backend runner does.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "surgery/ir.hpp"
#include "surgery/onnx.hpp"

#include "../onnx/graph_compare.hpp"

#if __has_include("surgery/reference/executor.hpp")
#include "surgery/reference/executor.hpp"
#define SURGERY_HAVE_EXECUTOR 1
#else
#define SURGERY_HAVE_EXECUTOR 0
#endif

namespace fs = std::filesystem;
namespace so = surgery::onnx;
namespace ir = surgery::ir;

namespace {

// numpy.testing.assert_allclose in onnx/backend/test/runner: |actual - expected| <= atol + rtol * |expected|.
// Every case used here (node, pytorch-converted, pytorch-operator) has a model.onnx, so the runner
// uses its defaults for all of them.
constexpr double rtol = 1e-3;
constexpr double atol = 1e-7;

fs::path data_root() {
    if (const char* env = std::getenv("SURGERY_ONNX_TESTDATA")) return env;
    return "/usr/share/libonnx-testdata/data";
}

fs::path here() {
#ifdef SURGERY_CONFORMANCE_DIR
    return SURGERY_CONFORMANCE_DIR;
#else
    return fs::path(__FILE__).parent_path();
#endif
}

/// case name -> reason, from out_of_scope.txt ("name: reason" lines, '#' comments).
std::map<std::string, std::string> read_out_of_scope() {
    std::map<std::string, std::string> out;
    std::ifstream in(here() / "out_of_scope.txt");
    REQUIRE_MESSAGE(in.good(), "cannot read " << (here() / "out_of_scope.txt"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto colon = line.find(':');
        REQUIRE_MESSAGE(colon != std::string::npos, "out_of_scope.txt: line without 'name: reason': " << line);
        std::string name = line.substr(0, colon), reason = line.substr(colon + 1);
        while (!reason.empty() && reason.front() == ' ') reason.erase(0, 1);
        REQUIRE_MESSAGE(!reason.empty(), "out_of_scope.txt: " << name << " has no reason");
        REQUIRE_MESSAGE(out.emplace(name, reason).second, "out_of_scope.txt: " << name << " listed twice");
    }
    return out;
}

::onnx::ModelProto read_model(const fs::path& p) {
    ::onnx::ModelProto m;
    std::ifstream in(p, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!m.ParseFromString(bytes)) throw surgery::io_error("cannot parse " + p.string());
    return m;
}

::onnx::TensorProto read_tensor(const fs::path& p) {
    ::onnx::TensorProto t;
    std::ifstream in(p, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!t.ParseFromString(bytes)) throw surgery::io_error("cannot parse " + p.string());
    return t;
}

struct data_set {
    std::vector<::onnx::TensorProto> inputs, outputs;
};

std::vector<data_set> read_data_sets(const fs::path& dir) {
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    std::vector<data_set> out;
    for (const auto& s : sets) {
        data_set d;
        for (int i = 0; fs::exists(s / ("input_" + std::to_string(i) + ".pb")); ++i) d.inputs.push_back(read_tensor(s / ("input_" + std::to_string(i) + ".pb")));
        for (int i = 0; fs::exists(s / ("output_" + std::to_string(i) + ".pb")); ++i) d.outputs.push_back(read_tensor(s / ("output_" + std::to_string(i) + ".pb")));
        out.push_back(std::move(d));
    }
    return out;
}

/// Empty when `actual` matches `expected` as assert_allclose would; otherwise what differs.
std::string compare(const ir::Tensor& actual, const ir::Tensor& expected, const std::string& what) {
    if (actual.dtype != expected.dtype)
        return what + ": type " + std::string(ir::to_string(actual.dtype)) + ", expected " + std::string(ir::to_string(expected.dtype));
    if (actual.shape != expected.shape) return what + ": shape " + ir::to_string(actual.shape) + ", expected " + ir::to_string(expected.shape);
    if (expected.is_float()) {
        if (actual.f.size() != expected.f.size()) return what + ": holds " + std::to_string(actual.f.size()) + " values";
        std::size_t bad = 0, first = 0;
        double worst = 0;
        for (std::size_t k = 0; k < expected.f.size(); ++k) {
            const double a = actual.f[k], e = expected.f[k];
            if (std::isnan(a) && std::isnan(e)) continue;
            if (a == e) continue;
            const double err = std::abs(a - e);
            if (!(err <= atol + rtol * std::abs(e))) {
                if (bad++ == 0) first = k;
                worst = std::max(worst, std::isnan(err) ? INFINITY : err);
            }
        }
        if (bad == 0) return {};
        std::ostringstream os;
        os << std::setprecision(9) << what << ": " << bad << " of " << expected.f.size() << " values differ (max abs error " << worst << "); first at flat index "
           << first << ": got " << actual.f[first] << ", expected " << expected.f[first];
        return os.str();
    }
    if (actual.i != expected.i) {
        std::size_t k = 0;
        while (k < expected.i.size() && k < actual.i.size() && actual.i[k] == expected.i[k]) ++k;
        std::ostringstream os;
        os << what << ": integer values differ first at flat index " << k;
        if (k < actual.i.size() && k < expected.i.size()) os << ": got " << actual.i[k] << ", expected " << expected.i[k];
        return os.str();
    }
    return {};
}

/// True when every consumer of `name` reads it as a shape-like input (one the IR needs constant).
bool shape_like(const ::onnx::ModelProto& m, const std::string& name) {
    static const std::map<std::string, std::set<int>> slots{
        {"Reshape", {1}}, {"Slice", {1, 2, 3, 4}}, {"Squeeze", {1}}, {"Unsqueeze", {1}}, {"Split", {1}},
        {"ReduceMean", {1}}, {"Resize", {1, 2, 3}}, {"Dropout", {1, 2}}};
    bool any = false;
    for (const auto& n : m.graph().node())
        for (int k = 0; k < n.input_size(); ++k) {
            if (n.input(k) != name) continue;
            auto it = slots.find(n.op_type());
            if (it == slots.end() || !it->second.count(k)) return false;
            any = true;
        }
    return any;
}

/// Equal element for element, NaN equal to NaN (sqrt of a negative number is NaN both times).
bool same_values(const ir::Tensor& a, const ir::Tensor& b) {
    if (a.dtype != b.dtype || a.shape != b.shape || a.i != b.i || a.f.size() != b.f.size()) return false;
    for (std::size_t k = 0; k < a.f.size(); ++k)
        if (!(a.f[k] == b.f[k] || (std::isnan(a.f[k]) && std::isnan(b.f[k])))) return false;
    return true;
}

enum class outcome { pass, fail, out_of_scope, stale };

struct case_result {
    std::string suite, name;
    std::set<std::string> ops;
    outcome result = outcome::pass;
    std::string message;
};

/// Runs one case; returns the empty string on success, else the reason it failed.
std::string run_case(const fs::path& dir, const ::onnx::ModelProto& model) {
    const std::vector<data_set> sets = read_data_sets(dir);
    if (sets.empty()) return "no test data sets";
    std::string problem;
    // Each data set runs twice: (1) shape-like, integer and boolean inputs bound as initializers
    // (constants: the path of exported models, whose shape subgraphs fold), other inputs fed;
    // (2) every input fed at run time (shapes computed while running, as `surgery run` does for
    // models whose shape operands are graph inputs).
    for (std::size_t k = 0; k < sets.size() && problem.empty(); ++k) {
        for (int mode = 0; mode < 2 && problem.empty(); ++mode) {
            const data_set& ds = sets[k];
            const std::string set_name = "data set " + std::to_string(k) + (mode == 0 ? " (bound)" : " (all inputs fed)");
            ::onnx::ModelProto bound = model;
            std::map<std::string, ir::Tensor> feeds;
            for (std::size_t i = 0; i < ds.inputs.size(); ++i) {
                if (static_cast<int>(i) >= bound.graph().input_size()) return set_name + ": more input files than graph inputs";
                const auto& vi = bound.graph().input(static_cast<int>(i));
                const std::string& name = vi.name();
                if (!vi.type().has_tensor_type()) return "graph input '" + name + "' is not a tensor (sequence/optional types are not supported)";
                ::onnx::TensorProto t = ds.inputs[i];
                if (mode == 0 && (t.data_type() != ::onnx::TensorProto_DataType_FLOAT || shape_like(model, name))) {
                    t.set_name(name);
                    *bound.mutable_graph()->add_initializer() = t;
                } else {
                    feeds.emplace(name, so::from_tensor_proto(t, "input " + std::to_string(i)));
                }
            }
            so::load_options lo;
            lo.freeze_inputs = true; // the bound inputs are constants, as in an exported model
            ir::Graph g = so::from_model_proto(bound, lo);
            ir::verify(g);

            // Writer: the graph must survive a round trip through ONNX (checked by libonnx).
            ::onnx::ModelProto written = so::to_model_proto(g);
            if (g.opset <= so::checker_max_opset()) so::check(written);
            ir::Graph back = so::from_model_proto(written, lo);
            if (auto d = surgery::test::graph_difference(g, back); !d.empty()) return set_name + ": round trip changed the graph: " + d;

            std::vector<ir::Tensor> expected;
            for (std::size_t i = 0; i < ds.outputs.size(); ++i) expected.push_back(so::from_tensor_proto(ds.outputs[i], "expected output " + std::to_string(i)));
            if (expected.size() != g.outputs().size())
                return set_name + ": " + std::to_string(expected.size()) + " expected outputs for " + std::to_string(g.outputs().size()) + " graph outputs";
#if SURGERY_HAVE_EXECUTOR
            std::vector<ir::Tensor> inputs;
            for (ir::ValueId v : g.inputs()) {
                auto it = feeds.find(g.value(v).name);
                if (it == feeds.end()) return set_name + ": no data for graph input '" + g.value(v).name + "'";
                inputs.push_back(it->second);
            }
            const std::vector<ir::Tensor> actual = surgery::reference::run(g, inputs);
            if (actual.size() != expected.size()) return set_name + ": the executor returned " + std::to_string(actual.size()) + " outputs";
            for (std::size_t i = 0; i < expected.size() && problem.empty(); ++i)
                problem = compare(actual[i], expected[i], set_name + " output " + std::to_string(i) + " ('" + g.value(g.outputs()[i]).name + "')");
            if (problem.empty()) {
                const std::vector<ir::Tensor> again = surgery::reference::run(back, inputs);
                for (std::size_t i = 0; i < actual.size() && problem.empty(); ++i)
                    if (!same_values(again[i], actual[i])) problem = set_name + ": output " + std::to_string(i) + " changes after a save/load round trip";
            }
#endif
        }
    }
    return problem;
}

} // namespace

TEST_CASE("ONNX backend test cases whose ops are in the catalogue") {
    const fs::path root = data_root();
    if (!fs::exists(root / "node")) {
        MESSAGE("ONNX test data not found under " << root << " (install libonnx-testdata); skipped");
        return;
    }
    const auto out_of_scope = read_out_of_scope();
    const char* filter = std::getenv("SURGERY_CONFORMANCE_FILTER"); // substring of case names to run
    std::set<std::string> catalogue(ir::op_names.begin(), ir::op_names.end());

    std::vector<case_result> results;
    std::size_t not_applicable = 0;
    std::set<std::string> seen;
    for (const char* suite : {"node", "pytorch-converted", "pytorch-operator"}) {
        std::vector<fs::path> dirs;
        for (const auto& e : fs::directory_iterator(root / suite))
            if (fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
        std::sort(dirs.begin(), dirs.end());
        for (const auto& dir : dirs) {
            const std::string name = dir.filename().string();
            if (filter && name.find(filter) == std::string::npos) continue;
            const ::onnx::ModelProto model = read_model(dir / "model.onnx");
            case_result r{suite, name, {}, outcome::pass, {}};
            bool applicable = true;
            for (const auto& n : model.graph().node()) {
                const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
                if (!default_domain || !catalogue.count(n.op_type())) applicable = false;
                if (n.op_type() != "Constant") r.ops.insert(n.op_type());
            }
            if (!applicable || r.ops.empty()) {
                ++not_applicable;
                continue;
            }
            seen.insert(name);
            try {
                r.message = run_case(dir, model);
            } catch (const std::exception& e) {
                r.message = e.what();
            }
            const auto listed = out_of_scope.find(name);
            if (listed != out_of_scope.end()) {
                if (r.message.empty()) {
                    r.result = outcome::stale;
                    r.message = "listed in out_of_scope.txt (" + listed->second + ") but passes: remove the entry";
                } else {
                    r.result = outcome::out_of_scope;
                    r.message = listed->second + " [" + r.message + "]";
                }
            } else if (!r.message.empty()) {
                r.result = outcome::fail;
            }
            results.push_back(std::move(r));
        }
    }

    // Per-op table (a case counts for each op it uses) and the summary line.
    std::map<std::string, std::array<std::size_t, 3>> per_op; // passed, failed, out of scope
    std::size_t passed = 0, failed = 0, skipped = 0;
    for (const auto& r : results) {
        const std::size_t col = r.result == outcome::pass ? 0 : r.result == outcome::out_of_scope ? 2 : 1;
        (col == 0 ? passed : col == 1 ? failed : skipped)++;
        for (const auto& op : r.ops) ++per_op[op][col];
    }
    std::printf("%-22s %7s %7s %13s\n", "op", "passed", "failed", "out of scope");
    for (const auto& [op, c] : per_op) std::printf("%-22s %7zu %7zu %13zu\n", op.c_str(), c[0], c[1], c[2]);
    for (const auto& r : results)
        if (r.result == outcome::out_of_scope) std::printf("out of scope: %s/%s: %s\n", r.suite.c_str(), r.name.c_str(), r.message.c_str());
    for (const auto& r : results)
        if (r.result == outcome::fail || r.result == outcome::stale) std::printf("FAILED: %s/%s: %s\n", r.suite.c_str(), r.name.c_str(), r.message.c_str());
    std::printf("conformance: %zu passed, %zu failed, %zu skipped (out of scope)%s\n", passed, failed, skipped,
                SURGERY_HAVE_EXECUTOR ? "" : " [load, check and round trip only: no reference executor yet]");
    std::printf("(%zu further cases use ops outside the catalogue and are not run)\n", not_applicable);
    if (const char* md = std::getenv("SURGERY_CONFORMANCE_MARKDOWN")) {
        std::ofstream out(md);
        out << "| op | passed | failed | out of scope |\n|---|---:|---:|---:|\n";
        for (const auto& [op, c] : per_op) out << "| " << op << " | " << c[0] << " | " << c[1] << " | " << c[2] << " |\n";
        out << "| **total (cases)** | **" << passed << "** | **" << failed << "** | **" << skipped << "** |\n";
    }

    for (const auto& r : results)
        CHECK_MESSAGE((r.result == outcome::pass || r.result == outcome::out_of_scope), r.suite << "/" << r.name << ": " << r.message);
    if (!filter)
        for (const auto& [name, reason] : out_of_scope)
            CHECK_MESSAGE(seen.count(name), "out_of_scope.txt lists '" << name << "', which is not a case that runs here");
}
