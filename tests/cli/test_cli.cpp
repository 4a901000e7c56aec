// Unit tests of the surgery tool's pieces (tools/cli/*.hpp): argument parsing, the rule registry,
// MAC and parameter counting, --input/--output binding, the JSON writer, tensor summaries.
// The invocations of the program itself are CTest entries (tests/cli/CMakeLists.txt).
#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/json.hpp"
#include "cli/registry.hpp"
#include "cli/stats.hpp"
#include "cli/tensors.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/zoo/mobilenet_v3.hpp"

using namespace surgery;
using cli::usage_error;

namespace {

const cli::command_spec& spec() {
    static const cli::command_spec s{
        "lite", "IN -o OUT", "summary", "", {{"output", 'o', "OUT", "out"}, {"rule", 0, "TEXT", "a rule", true}, {"check", 0, "", "check"}}, 1, 1, ""};
    return s;
}

cli::arguments parse(std::vector<std::string> args) { return *cli::parse(spec(), args); }

} // namespace

TEST_CASE("args: long, short, inline values, repeats, flags, --") {
    const auto a = parse({"in.onnx", "-o", "out.onnx", "--rule", "A=>B", "--rule=C=>D", "--check"});
    CHECK(a.positionals == std::vector<std::string>{"in.onnx"});
    CHECK(a.value("output") == "out.onnx");
    CHECK(a.all("rule") == std::vector<std::string>{"A=>B", "C=>D"});
    CHECK(a.has("check"));
    CHECK_FALSE(a.has("nothing"));
    CHECK(parse({"-oout.onnx", "in"}).value("output") == "out.onnx");
    CHECK(parse({"-o", "x", "--", "-weird-name.onnx"}).positionals == std::vector<std::string>{"-weird-name.onnx"});
    CHECK_FALSE(cli::parse(spec(), std::vector<std::string>{"--help"}).has_value());
    CHECK_FALSE(cli::parse(spec(), std::vector<std::string>{"x", "-h"}).has_value());
}

TEST_CASE("args: usage errors name the option") {
    CHECK_THROWS_WITH_AS(parse({"in", "--bogus"}), "unknown option '--bogus'", usage_error);
    CHECK_THROWS_WITH_AS(parse({"in", "-o"}), "option '-o' needs a value (OUT)", usage_error);
    CHECK_THROWS_WITH_AS(parse({"in", "-o", "a", "-o", "b"}), "option '--output' is given twice", usage_error);
    CHECK_THROWS_WITH_AS(parse({"in", "--check=yes"}), "option '--check' takes no value", usage_error);
    CHECK_THROWS_WITH_AS(parse({"a", "b"}), "unexpected argument 'b'", usage_error);
    CHECK_THROWS_WITH_AS(parse({}), "missing argument: expected IN -o OUT", usage_error);
    CHECK(cli::parse_int("repeat", "12", 1, 100) == 12);
    CHECK_THROWS_WITH_AS((void)cli::parse_int("repeat", "0", 1, 100), "option '--repeat' must be between 1 and 100, got 0", usage_error);
    CHECK_THROWS_AS((void)cli::parse_int("repeat", "3x", 1, 100), usage_error);
    CHECK(cli::parse_double("tolerance", "1e-5") == doctest::Approx(1e-5));
    CHECK_THROWS_AS((void)cli::parse_double("tolerance", "-1"), usage_error);
    CHECK_THROWS_AS((void)cli::parse_double("tolerance", "nan"), usage_error);
    const std::string help = cli::help_text(spec());
    CHECK(help.find("usage: surgery lite IN -o OUT") == 0);
    CHECK(help.find("-o, --output OUT") != std::string::npos);
    CHECK(help.find("(repeatable)") != std::string::npos);
}

TEST_CASE("registry: every preset rule is registered once, names are stable") {
    const auto& rs = cli::all_rules();
    for (const auto& p : cli::presets()) {
        const auto d = p.make();
        for (const auto& r : d.rules()) CHECK_NOTHROW((void)cli::find_rule(r.name));
    }
    for (std::size_t i = 0; i < rs.size(); ++i)
        for (std::size_t j = i + 1; j < rs.size(); ++j) CHECK(rs[i].name != rs[j].name);
    for (const char* name : {"fold_batchnorm", "remove_identity", "remove_dropout", "remove_squeeze_excitation", "hardswish_to_relu", "silu_to_relu"})
        CHECK_NOTHROW((void)cli::find_rule(name));
    CHECK(cli::presets_of("fold_batchnorm") == std::vector<std::string>{"exact", "lite"});
    CHECK(cli::presets_of("hardswish_to_relu") == std::vector<std::string>{"mobilenet_v3", "lite"});
    CHECK_THROWS_WITH_AS((void)cli::find_rule("nope"), "unknown rule 'nope' (see 'surgery lite --list-rules')", usage_error);
    CHECK_THROWS_WITH_AS((void)cli::find_preset("mobile"), "unknown preset 'mobile' (presets: mobilenet_v3, exact, lite)", usage_error);
}

TEST_CASE("registry: dictionaries from the command line") {
    // A preset alone is used as it is.
    CHECK(cli::make_dictionary(std::string("mobilenet_v3"), {}, {}).name() == "mobilenet_v3_lite");
    // Named rules run in the built-in order, each once, whatever order they are given in.
    auto d = cli::make_dictionary(std::nullopt, {"hardsigmoid_to_relu", "remove_squeeze_excitation", "hardsigmoid_to_relu"}, {"HardSwish=>Relu"});
    REQUIRE(d.size() == 3);
    CHECK(d.name() == "custom");
    CHECK(d.rules()[0].name == "remove_squeeze_excitation");
    CHECK(d.rules()[1].name == "hardsigmoid_to_relu");
    CHECK(d.rules()[2].name == "HardSwish=>Relu");
    // A preset plus names: the union, in the built-in order.
    d = cli::make_dictionary(std::string("exact"), {"silu_to_relu", "fold_batchnorm"}, {});
    CHECK(d.name() == "exact+rules");
    CHECK(d.size() == cli::presets()[1].make().size() + 1);
    CHECK(d.rules()[0].name == "silu_to_relu");
    CHECK(cli::make_dictionary(std::nullopt, {}, {}).size() == 0);
    CHECK_THROWS_WITH_AS((void)cli::make_dictionary(std::nullopt, {}, {"Conv,Relu"}), doctest::Contains("bad --rule: rule 'Conv,Relu': expected"), usage_error);
    CHECK_THROWS_WITH_AS((void)cli::make_dictionary(std::nullopt, {}, {"Conv,Frob=>Relu"}), doctest::Contains("'Frob'"), usage_error);
    CHECK(cli::split_names("a, b,c", "rules") == std::vector<std::string>{"a", "b", "c"});
    CHECK_THROWS_AS((void)cli::split_names("a,,b", "rules"), usage_error);
}

TEST_CASE("stats: MACs and parameters follow the documented formulas") {
    ir::Graph g;
    ir::Builder b(g, 1);
    auto x = b.input("x", {2, 8, 16, 16});
    auto y = b.conv(x, {.out_channels = 16, .kernel = 3, .stride = 2, .groups = 2}); // [2,16,8,8], weight [16,4,3,3]
    y = b.relu(y);
    y = b.flatten(b.global_average_pool(y)); // [2,16]
    y = b.linear(y, 10);                     // Gemm [2,16] x [16,10]^T
    b.output(y);
    const auto s = cli::compute_stats(g);
    const std::uint64_t conv = 2ull * 16 * 8 * 8 * (8 / 2) * 3 * 3, gemm = 2ull * 10 * 16;
    CHECK(s.macs == conv + gemm);
    CHECK(s.macs_by_op[ir::op_kind_v<ir::ops::Conv>] == conv);
    CHECK(s.macs_by_op[ir::op_kind_v<ir::ops::Gemm>] == gemm);
    CHECK(s.parameters == 16 * 4 * 3 * 3 + 16 + 10 * 16 + 10);
    CHECK(s.elementwise == 2 * 16 * 8 * 8 + 2 * 16); // Relu and GlobalAveragePool; Flatten is data movement
    CHECK(s.unknown_cost.empty());
    CHECK(s.nodes == 5);

    // MatMul: batch * M * N * K.
    ir::Graph m;
    ir::Builder mb(m);
    auto a = mb.input("a", {3, 4, 5});
    auto w = mb.input("w", {5, 6});
    mb.output(mb.apply(ir::ops::MatMul{}, {a, w}));
    CHECK(cli::compute_stats(m).macs == 3 * 4 * 6 * 5);

    // MobileNetV3-Large at 224: about 0.22 G MACs and 5.5 M parameters (the published figures).
    const auto net = cli::compute_stats(zoo::mobilenet_v3_large());
    CHECK(net.macs > 210'000'000);
    CHECK(net.macs < 225'000'000);
    CHECK(net.parameters > 5'400'000);
    CHECK(net.parameters < 5'600'000);
    CHECK(cli::human(216'589'760) == "216.59 M");
    CHECK(cli::human(999) == "999");
    CHECK(cli::human_bytes(1536) == "1.5 KiB");
}

TEST_CASE("tensors: --input/--output binding by position and by name") {
    const std::vector<std::string> names{"a", "b", "c"};
    auto b = cli::bind_files(names, {"x.npy", "c=z.pb"}, "input", "input");
    CHECK(b[0].file == "x.npy");
    CHECK(b[1].file.empty());
    CHECK(b[2].file == "z.pb");
    b = cli::bind_files(names, {"b=y.npy", "x.npy", "z.npy"}, "input", "input");
    CHECK(b[0].file == "x.npy");
    CHECK(b[1].file == "y.npy");
    CHECK(b[2].file == "z.npy");
    CHECK_THROWS_WITH_AS((void)cli::bind_files(names, {"d=x.npy"}, "input", "input"),
                         "--input 'd=x.npy': 'd' is not an input of the model (its inputs: 'a', 'b', 'c')", usage_error);
    CHECK_THROWS_WITH_AS((void)cli::bind_files({"y"}, {"1.npy", "2.npy"}, "output", "output"), "too many --output files: the model has 1 output", usage_error);
    CHECK_THROWS_AS((void)cli::bind_files(names, {"a=1.npy", "a=2.npy"}, "input", "input"), usage_error);
    CHECK(cli::format_of("x.npy") == cli::tensor_format::npy);
    CHECK(cli::format_of("dir/x.pb") == cli::tensor_format::pb);
    CHECK_THROWS_WITH_AS((void)cli::format_of("x.txt"), "'x.txt': unknown tensor file type '.txt' (use .npy or .pb, an ONNX TensorProto)", io_error);
}

TEST_CASE("tensors: summaries") {
    const auto logits = ir::Tensor::floats({2, 3}, {0.1f, 0.7f, 0.2f, 5, -1, 2});
    CHECK(cli::summarize(logits) == "float32 [2,3]  min -1  max 5  mean 1.16667  argmax per row 1 (0.7) 0 (5)");
    CHECK(cli::argmax_rows(logits) == std::vector<std::size_t>{1, 0});
    CHECK(cli::summarize(ir::Tensor::ints({2}, {3, 4})) == "int64 [2]  min 3  max 4  mean 3.5");
    CHECK(cli::summarize(ir::Tensor::floats({0}, {})) == "float32 [0]  (empty)");
}

TEST_CASE("json: pretty output with escaping and null for non-finite numbers") {
    cli::json_writer j;
    j.begin_object().member("name", "a\"b\\c\n").member("n", std::size_t{3}).member("x", 0.5).member("bad", std::numeric_limits<double>::infinity()).member("ok", true);
    j.key("list").begin_array().value(1).value(-2).end_array();
    j.key("empty").begin_object().end_object();
    j.end_object();
    CHECK(j.str() ==
          "{\n  \"name\": \"a\\\"b\\\\c\\n\",\n  \"n\": 3,\n  \"x\": 0.5,\n  \"bad\": null,\n  \"ok\": true,\n  \"list\": [\n    1,\n    -2\n  ],\n  \"empty\": {}\n}\n");
}
