// Unit tests of the surgery tool's pieces (tools/cli/*.hpp): argument parsing, the rule registry,
// MAC and parameter counting, --input/--output binding, the JSON writer, tensor summaries; and the
// hardening: output paths and transactions, the memory budget, escaping, file reading, protobuf diagnostics.
// The invocations of the program itself are CTest entries (tests/cli/CMakeLists.txt).
#include <doctest/doctest.h>

#include <algorithm>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/json.hpp"
#include "cli/limits.hpp"
#include "cli/outputs.hpp"
#include "cli/registry.hpp"
#include "cli/stats.hpp"
#include "cli/tensors.hpp"
#include "cli/terminal.hpp"
#include "surgery/io/file.hpp"
#include "surgery/onnx/detail/proto.hpp"
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
    CHECK(cli::presets_of("fold_batchnorm") == std::vector<std::string>{"exact", "paper", "lite"});
    CHECK(cli::presets_of("hardswish_to_relu") == std::vector<std::string>{"paper", "lite", "mobilenet_v3"});
    CHECK(cli::presets_of("large_kernel_to_3x3") == std::vector<std::string>{"paper", "lite"});
    CHECK(cli::presets_of("mish_to_relu") == std::vector<std::string>{"lite"});
    // A former name finds the rule that took its forms.
    CHECK(rs[cli::find_rule("gelu_erf_to_relu")].name == "gelu_to_relu");
    CHECK_THROWS_WITH_AS((void)cli::find_rule("nope"), "unknown rule 'nope' (see 'surgery lite --list-rules')", usage_error);
    CHECK_THROWS_WITH_AS((void)cli::find_preset("mobile"), "unknown preset 'mobile' (presets: exact, paper, lite, mobilenet_v3)", usage_error);
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
    CHECK(d.size() == cli::find_preset("exact").make().size() + 1);
    CHECK(d.rules()[0].name == "fold_constants");
    CHECK(std::any_of(d.rules().begin(), d.rules().end(), [](const rewrite::rule& r) { return r.name == "silu_to_relu"; }));
    CHECK(cli::make_dictionary(std::nullopt, {}, {}).size() == 0);
    CHECK_THROWS_WITH_AS((void)cli::make_dictionary(std::nullopt, {}, {"Conv,Relu"}), doctest::Contains("bad --rule: rule 'Conv,Relu': expected"), usage_error);
    // Ops outside the catalogue (vendor ops) can be named: they match opaque nodes of that name.
    CHECK(cli::make_dictionary(std::nullopt, {}, {"Conv,Frob=>Relu"}).size() == 1);
    CHECK_THROWS_WITH_AS((void)cli::make_dictionary(std::nullopt, {"large_kernel_to_3x3[min_kernel=4]"}, {}), doctest::Contains("min_kernel must be an integer of at least 5"),
                         usage_error);
    CHECK(cli::split_names("large_kernel_to_3x3[min_kernel=5], silu_to_relu", "rules") ==
          std::vector<std::string>{"large_kernel_to_3x3[min_kernel=5]", "silu_to_relu"});
    CHECK(cli::split_names("a, b,c", "rules") == std::vector<std::string>{"a", "b", "c"});
    CHECK_THROWS_AS((void)cli::split_names("a,,b", "rules"), usage_error);
}

TEST_CASE("registry: text rules that matched nothing warn about the op names they parsed outside the catalogue") {
    const std::vector<std::string> texts{"Hardswish => Relu", "Silu(x) => Relu(x)", "com.vendor::Frob => Relu", "Relu => Sigmoid"};
    const rewrite::dictionary d = cli::make_dictionary(std::nullopt, {}, texts);
    ir::Graph g;
    ir::Builder b(g);
    b.output(b.relu(b.input("x", {1, 4})));
    const rewrite::report rep = rewrite::apply(g, d);
    const std::string not_catalogue = "' is not an op of the catalogue, so it only matches a node of that exact op_type";
    CHECK(cli::unknown_op_warnings(texts, d, rep) ==
          std::vector<std::string>{"rule 'Hardswish => Relu' matched nothing: 'Hardswish" + not_catalogue + " (did you mean 'HardSwish'?)",
                                   "rule 'Silu(x) => Relu(x)' matched nothing: 'Silu" + not_catalogue});
    // A rule that matched says nothing, whatever it names.
    CHECK(cli::unknown_op_warnings({"Relu => Sigmoid"}, d, rep).empty());
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

namespace {

namespace fs = std::filesystem;

struct scratch_dir {
    fs::path path;
    scratch_dir() : path(fs::temp_directory_path() / ("surgery_test_cli_" + std::to_string(std::random_device{}()))) { fs::create_directories(path); }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    [[nodiscard]] fs::path operator/(const char* name) const { return path / name; }
    [[nodiscard]] std::vector<std::string> listing() const {
        std::vector<std::string> out;
        for (const auto& e : fs::recursive_directory_iterator(path)) out.push_back(fs::relative(e.path(), path).string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

void write(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }
std::string read(const fs::path& p) { return surgery::io::read_file(p); }

std::string usage_message(const cli::output_plan& plan) {
    try {
        plan.check();
    } catch (const usage_error& e) {
        return e.what();
    }
    return "no clash";
}

} // namespace

TEST_CASE("escaping: names, running text and one-line messages are safe for a terminal") {
    using surgery::io::printable;
    CHECK(printable("plain_name.1") == "plain_name.1");
    CHECK(printable("a\x1b[31mb") == "a\\x1b[31mb");
    CHECK(printable(std::string("a\0b", 3)) == "a\\x00b");
    CHECK(printable("l1\nl2\tx\ry") == "l1\\nl2\\tx\\ry");
    CHECK(printable("back\\slash") == "back\\\\slash");
    CHECK(printable("bad\xff\xfe") == "bad\\xff\\xfe");
    CHECK(printable("cut\xe2\x82") == "cut\\xe2\\x82");             // a sequence cut short
    CHECK(printable("over\xc0\xaf") == "over\\xc0\\xaf");           // overlong '/'
    CHECK(printable("sur\xed\xa0\x80") == "sur\\xed\\xa0\\x80");    // a UTF-16 surrogate
    CHECK(printable("csi\xc2\x9b" "31m") == "csi\\u009b31m");       // C1 control
    CHECK(printable("abc\xe2\x80\xae" "cba") == "abc\\u202ecba");   // bidirectional override
    CHECK(printable("caf\xc3\xa9 \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xf0\x9f\x98\x80"); // printable UTF-8 kept
    CHECK(printable("del\x7f") == "del\\x7f");
    CHECK(surgery::io::terminal_safe("two\nlines\tand \\ \x1b[2J") == "two\nlines\tand \\ \\x1b[2J");
    CHECK(surgery::io::one_line("two\nlines \\x93") == "two\\nlines \\x93");
    CHECK(surgery::io::quoted("dir/x\x1b.onnx") == "'dir/x\\x1b.onnx'");
    CHECK(surgery::io::is_utf8("caf\xc3\xa9"));
    CHECK_FALSE(surgery::io::is_utf8("caf\xc3"));
    CHECK(surgery::io::format_bytes(1536) == "1.5 KiB");
    CHECK(surgery::io::format_bytes(std::uint64_t{3} << 30) == "3 GiB");
    CHECK(surgery::io::format_bytes(12) == "12 bytes");
}

TEST_CASE("escaping: everything printed goes through the terminal filter, UTF-8 split across writes included") {
    std::ostringstream sink;
    {
        cli::safe_streambuf buf(sink.rdbuf());
        std::ostream os(&buf);
        os << "name '" << "x\x1b]0;title\x07" << "'\n";
        os << "caf\xc3" << std::flush << "\xa9 ok\n"; // é split across two writes stays é
        os << "tail \xe2\x82";                        // cut off at the end: shown as bytes
    }
    CHECK(sink.str() == "name 'x\\x1b]0;title\\x07'\ncaf\xc3\xa9 ok\ntail \\xe2\\x82");
}

TEST_CASE("json: always valid, whatever bytes a name holds") {
    cli::json_writer j;
    j.begin_object().member("ctl", "a\x1b[2J\x01").member("bidi", "x\xe2\x80\xaey").member("del", "d\x7f");
    j.name("ok", "caf\xc3\xa9").name("bad", std::string("n\0\xff", 3));
    j.end_object();
    CHECK(j.str() == "{\n  \"ctl\": \"a\\u001b[2J\\u0001\",\n  \"bidi\": \"x\\u202ey\",\n  \"del\": \"d\\u007f\",\n  \"ok\": \"caf\xc3\xa9\",\n"
                     "  \"bad\": \"n\\u0000\\ufffd\",\n  \"bad_hex\": \"6e00ff\"\n}\n");
}

TEST_CASE("limits: --max-memory sizes, checked tensor sizes, the budget") {
    CHECK(cli::parse_size("max-memory", "512M") == std::uint64_t{512} << 20);
    CHECK(cli::parse_size("max-memory", "4G") == std::uint64_t{4} << 30);
    CHECK(cli::parse_size("max-memory", "4gib") == std::uint64_t{4} << 30);
    CHECK(cli::parse_size("max-memory", "1.5G") == std::uint64_t{3} << 29);
    CHECK(cli::parse_size("max-memory", "2097152") == std::uint64_t{2} << 20);
    CHECK(cli::parse_size("max-memory", "1T") == std::uint64_t{1} << 40);
    for (const char* bad : {"", "G", "-1", "1X", "1e9", "nan", "inf", "4 G"})
        CHECK_THROWS_WITH_AS((void)cli::parse_size("max-memory", bad), doctest::Contains("expects a size in bytes"), usage_error);
    CHECK_THROWS_WITH_AS((void)cli::parse_size("max-memory", "1K"), doctest::Contains("must be at least 1M"), usage_error);
    CHECK_THROWS_WITH_AS((void)cli::parse_size("max-memory", "99999999T"), doctest::Contains("is too large"), usage_error);
    CHECK(cli::available_memory() > 0);

    CHECK(cli::checked_bytes({1, 1 << 30}, ir::DType::f32) == std::uint64_t{4} << 30);
    CHECK(cli::checked_bytes({2, 3}, ir::DType::boolean) == 48u); // every integer type is held as int64
    CHECK(cli::checked_bytes({std::int64_t{1} << 32, std::int64_t{1} << 32, 4}, ir::DType::f32) == std::nullopt);
    CHECK(cli::checked_bytes({}, ir::DType::f32) == 4u);

    cli::memory_budget b{std::uint64_t{1} << 30, 0, "--max-memory"};
    b.charge(std::uint64_t{512} << 20, "'a.npy'");
    CHECK(b.remaining() == std::uint64_t{512} << 20);
    CHECK_THROWS_WITH_AS(b.charge(std::uint64_t{768} << 20, "'b.npy'"),
                         "'b.npy' needs 768 MiB, with 512 MiB already in use, more than the memory budget of 1 GiB (--max-memory); nothing was allocated",
                         io_error);

    // A 100-byte model can declare a [1, 2^30] input: refused before anything is allocated, naming it.
    ir::Graph g;
    ir::Builder gb(g);
    gb.output(gb.relu(gb.input("huge", {1, 1 << 30})));
    cli::memory_budget small{std::uint64_t{1} << 30, 0, "--max-memory"};
    CHECK_THROWS_WITH_AS(cli::charge_random_inputs(small, g, "'m.onnx'"),
                         "'m.onnx': random input 'huge' of shape [1,1073741824] needs 4 GiB, more than the memory budget of 1 GiB (--max-memory); nothing "
                         "was allocated",
                         io_error);
}

TEST_CASE("stats: counts that do not fit 64 bits saturate and say so") {
    bool over = false;
    CHECK(cli::mul_saturating(std::uint64_t{1} << 40, std::uint64_t{1} << 30, over) == UINT64_MAX);
    CHECK(over);
    over = false;
    CHECK(cli::add_saturating(UINT64_MAX - 1, 1, over) == UINT64_MAX);
    CHECK_FALSE(over);
    CHECK(cli::add_saturating(UINT64_MAX, 1, over) == UINT64_MAX);
    CHECK(over);
    over = false;
    CHECK(cli::elements_saturating({std::int64_t{1} << 40, std::int64_t{1} << 40, 0}, over) == 0); // an empty tensor is empty
    CHECK_FALSE(over);
    CHECK(cli::elements_saturating({std::int64_t{1} << 40, std::int64_t{1} << 40}, over) == UINT64_MAX);
    CHECK(over);
    CHECK(cli::count_text(216'589'760, false) == "216589760 (216.59 M)");
    CHECK(cli::count_text(UINT64_MAX, true).rfind("overflow", 0) == 0);
}

TEST_CASE("files: only regular files are read, their size checked first") {
    scratch_dir d;
    write(d / "ok.bin", "12345");
    CHECK(read(d / "ok.bin") == "12345");
    CHECK_THROWS_WITH_AS((void)surgery::io::read_file(d / "ok.bin", 4), doctest::Contains("the file has 5 bytes (5 bytes), more than the 4 bytes allowed"),
                         io_error);
    REQUIRE(::mkfifo((d / "fifo").c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS((void)read(d / "fifo"), doctest::Contains("is a FIFO (named pipe), not a regular file; nothing was read from it"), io_error);
    CHECK_THROWS_WITH_AS((void)read("/dev/zero"), doctest::Contains("'/dev/zero': is a character device"), io_error);
    CHECK_THROWS_WITH_AS((void)read(d.path), doctest::Contains("is a directory"), io_error);
    fs::create_symlink(d / "fifo", d / "link");
    CHECK_THROWS_WITH_AS((void)read(d / "link"), doctest::Contains("is a FIFO"), io_error);
    CHECK_THROWS_WITH_AS((void)read(d / "missing"), doctest::Contains("cannot open the file for reading: No such file or directory"), io_error);
    // The library's own atomic write refuses to rename over a device or a FIFO.
    CHECK_THROWS_WITH_AS(surgery::io::write_file_atomically(d / "fifo", "x"), doctest::Contains("is a FIFO (named pipe), not a regular file; it is not overwritten"),
                         io_error);
    CHECK_THROWS_WITH_AS(surgery::io::write_file_atomically("/dev/null", "x"), doctest::Contains("is a character device"), io_error);
}

TEST_CASE("protobuf: a failed parse says why (truncation, nesting, bad wire types)") {
    auto why = [](const std::string& bytes) {
        ::onnx::ModelProto m;
        try {
            surgery::onnx::detail::parse(m, bytes, "'m.onnx'");
        } catch (const io_error& e) {
            return std::string(e.what());
        }
        return std::string("parsed");
    };
    // graph (field 7) claiming 1000 bytes with 2 present.
    CHECK(why(std::string("\x3a\xe8\x07" "ab", 5)) ==
          "'m.onnx': not a valid onnx.ModelProto (protobuf parsing failed: field 'graph' at byte 0 at the top level declares 1000 bytes but only 2 remain "
          "(truncated?))");
    CHECK(why(std::string("\x3f\x00", 2)).find("invalid wire type 7 at byte 0") != std::string::npos);
    CHECK(why(std::string(16, '\xff')).find("a field tag at byte 0 at the top level is a malformed varint") != std::string::npos);
    // 150 levels of GraphProto -> NodeProto -> AttributeProto -> GraphProto ...
    std::string inner;
    auto wrap = [](int field, const std::string& body) {
        std::string out(1, static_cast<char>((field << 3) | 2));
        std::size_t n = body.size();
        do {
            out.push_back(static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0)));
            n >>= 7;
        } while (n);
        return out + body;
    };
    for (int k = 0; k < 50; ++k) inner = wrap(1, wrap(5, wrap(6, inner))); // node { attribute { g { ... } } }
    const std::string msg = why(wrap(7, inner));
    CHECK(msg.find("messages are nested more than 100 levels deep") != std::string::npos);
    CHECK(msg.find("protobuf's recursion limit") != std::string::npos);
    CHECK(msg.find("more)") != std::string::npos); // the field path is shortened
}

TEST_CASE("output plan: an output is never an input or another output, nor a special file") {
    scratch_dir d;
    write(d / "in.onnx", "model");
    fs::create_directory(d / "sub");
    fs::create_symlink("in.onnx", d / "link.onnx");
    fs::create_hard_link(d / "in.onnx", d / "hard.onnx");
    REQUIRE(::mkfifo((d / "fifo").c_str(), 0600) == 0);
    for (const char* alias : {"in.onnx", "sub/../in.onnx", "./in.onnx", "link.onnx", "hard.onnx"}) {
        cli::output_plan p;
        p.input(d / "in.onnx", "the input model");
        p.file(d / alias, "-o");
        CHECK(usage_message(p).find("is the same file as the input model") != std::string::npos);
    }
    {
        cli::output_plan p;
        p.file(d / "out.onnx", "-o");
        p.file(d / "sub/../out.onnx", "--report");
        CHECK(usage_message(p).find("--report '" + (d / "sub/../out.onnx").string() + "' is the same file as -o") == 0);
    }
    {
        cli::output_plan p;
        p.file(d / "new", "-o");
        p.directory(d / "new", "--dot", {"before.dot"});
        CHECK(usage_message(p).find("is the same file as -o") != std::string::npos);
    }
    {
        cli::output_plan p;
        p.directory(d / "sub", "--dot", {"before.dot", "after.dot"});
        p.file(d / "sub" / "after.dot", "--report");
        CHECK(usage_message(p).find("is the same file as --dot") != std::string::npos);
    }
    cli::output_plan p;
    CHECK_THROWS_WITH_AS(p.file(d / "fifo", "-o"), doctest::Contains("is a FIFO (named pipe), not a regular file; it is not overwritten"), io_error);
    CHECK_THROWS_WITH_AS(p.file(d / "sub", "-o"), doctest::Contains("is a directory"), io_error);
    CHECK_THROWS_WITH_AS(p.file("/dev/null", "-o"), doctest::Contains("is a character device"), io_error);
    CHECK_THROWS_WITH_AS(p.file(d / "no" / "x.onnx", "-o"), doctest::Contains("does not exist"), io_error);
    CHECK_THROWS_WITH_AS(p.file(d / "sub" / "..", "-o"), doctest::Contains("names a directory, not a file"), io_error);
    CHECK_THROWS_WITH_AS(p.directory(d / "in.onnx", "--dot", {}), doctest::Contains("is a regular file, not a directory"), io_error);
    fs::create_symlink(d / "nowhere", d / "dangling");
    CHECK_NOTHROW(p.file(d / "dangling", "-o")); // a dangling link is replaced by the file
    CHECK_NOTHROW(p.file(d / "fresh.onnx", "-o"));
    CHECK(usage_message(p) == "no clash");
}

TEST_CASE("output transaction: all files renamed at the end, or none and no temporary") {
    scratch_dir d;
    write(d / "old.txt", "old");
    {
        cli::output_transaction tx;
        tx.stage_file(d / "a.txt", "A");
        tx.stage_file(d / "old.txt", "new");
        const auto dir = tx.stage_directory(d / "graphs");
        tx.stage_file(dir / "g.dot", "digraph {}");
        CHECK_FALSE(fs::exists(d / "a.txt"));
        CHECK_FALSE(fs::exists(d / "graphs")); // created only at the commit
        CHECK(read(d / "old.txt") == "old");
        tx.commit();
    }
    CHECK(read(d / "a.txt") == "A");
    CHECK(read(d / "old.txt") == "new");
    CHECK(read(d / "graphs" / "g.dot") == "digraph {}");
    CHECK(d.listing() == std::vector<std::string>{"a.txt", "graphs", "graphs/g.dot", "old.txt"});
    // Not committed (an exception left the scope): nothing new, nothing changed, no temporary.
    try {
        cli::output_transaction tx;
        tx.stage_file(d / "b.txt", "B");
        tx.stage_file(d / "old.txt", "newer");
        tx.stage_file(tx.stage_directory(d / "more") / "x", "x");
        tx.stage_file(tx.stage_directory(d / "graphs") / "g.dot", "changed");
        (void)tx.stage_for_writer(d / "graphs" / "g.svg");
        throw std::runtime_error("a later step failed");
    } catch (const std::runtime_error&) {
    }
    CHECK(d.listing() == std::vector<std::string>{"a.txt", "graphs", "graphs/g.dot", "old.txt"});
    CHECK(read(d / "old.txt") == "new");
    CHECK(read(d / "graphs" / "g.dot") == "digraph {}");
    // A FIFO that appears at a target after staging is not renamed over.
    cli::output_transaction tx;
    tx.stage_file(d / "late", "x");
    REQUIRE(::mkfifo((d / "late").c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(tx.commit(), doctest::Contains("is a FIFO"), io_error);
}
