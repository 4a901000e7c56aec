// Tests of the text pattern language: parsing, error columns, the programs it compiles to, and
// the equality of text and C++ patterns (same tables, same matches).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/ir.hpp"
#include "surgery/pattern.hpp"
#include "surgery/pattern/compile.hpp"
#include "surgery/pattern/text.hpp"
#include "surgery/search.hpp"
#include "surgery/search/program.hpp"

using namespace surgery;
using namespace surgery::ir;
namespace P = surgery::pattern;
namespace L = surgery::pattern::library;

namespace {
std::string error_of(std::string_view text) {
    try {
        P::text_pattern p(text);
    } catch (const pattern_error& e) {
        return e.what();
    }
    return {};
}
} // namespace

TEST_CASE("text patterns: chains and expressions compile to programs") {
    const P::text_pattern chain("Conv[kernel=3], BatchNormalization -> Relu|Clip");
    CHECK(chain.is_chain());
    REQUIRE(chain.view().nodes.size() == 3);
    CHECK(chain.view().nodes[0].num_attrs == 1);
    CHECK(chain.view().nodes[2].num_kinds == 2);

    const P::text_pattern silu("x * Sigmoid(x)");
    CHECK_FALSE(silu.is_chain());
    CHECK(silu.view().nodes.size() == 2);
    CHECK(silu.view().num_captures == 1);
    CHECK(silu.view().capture_slot("x") == 0);

    const P::text_pattern clip("Clip(x, 0, 6)");
    REQUIRE(clip.view().constants.size() == 2);
    CHECK(clip.view().constants[1] == 6.0);

    // Infix is sugar for the ops: the same program shape as the call form.
    const P::text_pattern call("Mul(x, Sigmoid(x))");
    CHECK(call.view().nodes.size() == silu.view().nodes.size());
    CHECK(call.view().operands.size() == silu.view().operands.size());
}

TEST_CASE("text pattern errors name the column") {
    CHECK(error_of("Mul(x, Sigmoid(x)").find("column 18") != std::string::npos);
    CHECK(error_of("Mul(x, Sigmoid(x)").find("expected ')'") != std::string::npos);
    CHECK(error_of("Conv[kernel 7](x)").find("column 13") != std::string::npos);
    CHECK(error_of("Relu(x) Tanh(x)").find("unexpected 'T'") != std::string::npos);
    CHECK(error_of("x").find("rooted at an op") != std::string::npos);
    CHECK(error_of("Relu,,Conv").find("expected an op name") != std::string::npos);
    CHECK(error_of("   ").find("empty") != std::string::npos);
    CHECK(error_of("Mul(x, y:constant)").find("unknown capture modifier") != std::string::npos);
    CHECK(error_of("Conv[kernel<(3,3)](x)").find("lists compare with") != std::string::npos);
    CHECK(error_of("Conv[auto_pad>'SAME'](x)").find("strings compare") != std::string::npos);
    // '*' (any op) without operands: found by fuzz_cli_lite ('Foo,Bar|Relu=>*elu' read an empty op list).
    CHECK(error_of("Relu(x) + *elu").find("expected '(' and the operands of '*'") != std::string::npos);
    // The message quotes the text and puts a caret under the column.
    const std::string e = error_of("Relu(x");
    CHECK(e.find("\n  Relu(x\n        ^") != std::string::npos);
    // Nesting is bounded (found by fuzz_rule_text: 2,282 '(' overflowed the stack of the recursive
    // parser): parentheses and op arguments alike, refused at the column where the limit is passed.
    const std::size_t limit = P::detail::text_parser::max_nesting;
    CHECK(error_of(std::string(100000, '(') + "x").find("nested more than 64 levels deep") != std::string::npos);
    // 64 parentheses: the op inside them (column 65) is the 65th level.
    CHECK(error_of(std::string(limit, '(') + "Relu(x)" + std::string(limit, ')')).find("column " + std::to_string(limit + 1) + ":") != std::string::npos);
    std::string calls = "x";
    for (std::size_t i = 0; i < limit + 1; ++i) calls = "Relu(" + calls + ")";
    CHECK(error_of(calls).find("nested more than") != std::string::npos);
    // Up to the limit it parses.
    std::string ok = "x";
    for (std::size_t i = 0; i + 1 < limit; ++i) ok = "Relu(" + ok + ")";
    CHECK(error_of(ok) == "");
    CHECK(error_of(std::string(limit - 2, '(') + "Relu(x)" + std::string(limit - 2, ')')) == ""); // x at the 64th level
}

TEST_CASE("a text DAG pattern finds what the C++ pattern finds") {
    Graph g;
    Builder b(g, 7);
    auto x = b.input("x", {1, 8, 4, 4});
    auto y = b.silu(b.conv(x, {.out_channels = 8, .kernel = 3}));
    auto z = b.mul(b.sigmoid(y), y); // operands swapped
    auto w = b.mul(y, b.sigmoid(x)); // not SiLU: different values
    b.output(b.add(z, w));
    const auto cpp = search::find_dags(g, L::silu<>{});
    const P::text_pattern text("x * Sigmoid(x)");
    const auto txt = search::find_program(g, text.view());
    REQUIRE(cpp.size() == 2);
    REQUIRE(txt.size() == cpp.size());
    for (std::size_t i = 0; i < cpp.size(); ++i) {
        CHECK(txt[i].nodes == cpp[i].nodes);
        CHECK(txt[i].captures[0] == cpp[i].captures[0]);
        CHECK(txt[i].capture("x") == cpp[i].captures[0]);
    }
}

TEST_CASE("integer lists and attribute values hold the whole int64 range, exactly, and nothing beyond it") {
    const P::text_pattern ends("Conv[pads=(9223372036854775807, -9223372036854775808, 9007199254740993, -1, 1e3)](x)");
    const auto ints = ends.view().ints;
    CHECK(std::vector<std::int64_t>(ints.begin(), ints.end()) ==
          std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min(), 9007199254740993, -1, 1000});
    // One beyond either end is refused at the column of the number (its sign included), not rounded into range.
    const std::string above = error_of("Conv[pads=(1, 9223372036854775808)](x)");
    CHECK(above.find("list values are 64-bit integers") != std::string::npos);
    CHECK(above.find("column 15") != std::string::npos);
    const std::string below = error_of("Conv[pads=(1, -9223372036854775809)](x)");
    CHECK(below.find("list values are 64-bit integers") != std::string::npos);
    CHECK(below.find("column 15") != std::string::npos);
    CHECK(error_of("Conv[pads=(1.5)](x)").find("list values are 64-bit integers") != std::string::npos);
    // A scalar keeps its number (compared as such) and, when it is an int64, that integer exactly.
    const auto attr = [](std::string_view text) { return P::detail::text_parser(text, text, 0).chain().front().attrs.front(); };
    CHECK(attr("Conv[group=9223372036854775807]").integer == std::numeric_limits<std::int64_t>::max());
    CHECK(attr("Conv[group=-9223372036854775808]").integer == std::numeric_limits<std::int64_t>::min());
    CHECK(attr("Conv[group=-9223372036854775808]").number == -9223372036854775808.0);
    CHECK_FALSE(attr("Conv[group=9223372036854775808]").integer.has_value());
    CHECK_FALSE(attr("Conv[group=-9223372036854775809]").integer.has_value());
    CHECK(attr("Conv[group=-9223372036854775809]").number == -9223372036854775808.0); // the double rounds into range
    CHECK(attr("Conv[group=-2e3]").integer == -2000);
    CHECK_FALSE(attr("Conv[group=0.5]").integer.has_value());
}

TEST_CASE("constant operands and attribute constraints") {
    Graph g;
    Builder b(g, 3);
    auto x = b.input("x", {1, 4, 8, 8});
    auto r6 = b.relu6(x);                                                  // Clip(x, 0, 6)
    auto r1 = b.apply(ops::Clip{}, {r6, b.scalar(-1.0f), b.scalar(1.0f)}); // another Clip
    auto c7 = b.conv(r1, {.out_channels = 4, .kernel = 7});
    auto c3 = b.conv(c7, {.out_channels = 4, .kernel = 3, .stride = 2});
    b.output(c3);
    CHECK(search::find_program(g, P::text_pattern("Clip(x, 0, 6)").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Clip(x, -1, 1)").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Clip(x, lo:const, hi:const)").view()).size() == 2);
    CHECK(search::find_program(g, P::text_pattern("Conv[kernel=7](x, w, b)").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Conv[kernel>=3](x, w, b)").view()).size() == 2);
    CHECK(search::find_program(g, P::text_pattern("Conv[kernel=(3,3), stride=2](x, _, _)").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Conv[stride=1]").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Conv[kernel=7], Conv").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Conv[auto_pad='NOTSET'](x, w, b)").view()).size() == 2);
    CHECK(search::find_program(g, P::text_pattern("Conv[group!=1](x, w, b)").view()).empty());
}

TEST_CASE("alternatives at the value level and op alternatives") {
    Graph g;
    Builder b(g, 5);
    auto x = b.input("x", {1, 4, 2, 2});
    auto a = b.relu(x);
    auto s = b.apply(ops::Tanh{}, {x});
    b.output(b.add(a, b.scalar(1.0f)));
    b.output(b.add(s, b.scalar(1.0f)));
    CHECK(search::find_program(g, P::text_pattern("Add((Relu(x) | Tanh(x)), 1)").view()).size() == 2);
    CHECK(search::find_program(g, P::text_pattern("Add(Relu|Tanh(x), 1)").view()).size() == 2);
    CHECK(search::find_program(g, P::text_pattern("Add(Relu(x), 1)").view()).size() == 1);
}

TEST_CASE("opaque ops are named in text patterns and in pattern::named_op") {
    Graph g;
    ops::Opaque vendor;
    vendor.op_type = "MyNpuOp";
    vendor.op_domain = "com.vendor";
    vendor.attrs.push_back({"mode", 2, {}, 3, {}, {}, {}, {}});
    const ValueId x = g.add_input("x", {1, 4});
    const NodeId n = g.add_node(vendor, {x}, 1, "npu");
    const ValueId v = g.node(n).outputs[0];
    g.set_shape(v, Shape{1, 4});
    const NodeId r = g.add_node(ops::Relu{}, {v}, 1, "relu");
    g.add_output(g.node(r).outputs[0]);
    CHECK(search::find_program(g, P::text_pattern("MyNpuOp, Relu").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Relu(MyNpuOp[mode=3](x))").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Relu(MyNpuOp[mode=4](x))").view()).empty());
    CHECK(search::find_program(g, P::text_pattern("OtherOp, Relu").view()).empty());
    using named = P::chain<P::named_op<"MyNpuOp", P::attribute_is<"mode", 3>>, P::op<ops::Relu>>;
    CHECK(search::find_chains(g, named{}).size() == 1);
    using wrong = P::chain<P::named_op<"MyNpuOp", P::attribute_is<"mode", 1>>, P::op<ops::Relu>>;
    CHECK(search::find_chains(g, wrong{}).empty());
    // With its domain: lower-case domains are op names, not captures; the domain is compared.
    CHECK(search::find_program(g, P::text_pattern("com.vendor::MyNpuOp, Relu").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Relu(com.vendor::MyNpuOp[mode=3](x))").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("Relu(Tanh | com.vendor::MyNpuOp(x))").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("vendor::MyNpuOp, Relu").view()).empty());
    CHECK(search::find_program(g, P::text_pattern("com.other::MyNpuOp, Relu").view()).empty());
    CHECK(search::find_chains(g, P::chain<P::named_op<"com.vendor::MyNpuOp">, P::op<ops::Relu>>{}).size() == 1);
    CHECK(search::find_chains(g, P::chain<P::named_op<"org.x::MyNpuOp">, P::op<ops::Relu>>{}).empty());
    const P::text_pattern capture("Relu(x)"); // a capture is still a capture; no view() needed
    const auto ms = search::find_program(g, capture);
    REQUIRE(ms.size() == 1);
    CHECK(ms[0].capture("x") == v);
    // A lone op with a domain is a one-node chain; "ai.onnx" is the default domain spelt out.
    CHECK(search::find_program(g, P::text_pattern("com.vendor::MyNpuOp").view()).size() == 1);
    CHECK(search::find_program(g, P::text_pattern("ai.onnx::Relu(x)").view()).size() == 1);
    CHECK(search::find_chains(g, P::chain<P::named_op<"ai.onnx::Relu">>{}).size() == 1);
    static_assert(std::is_same_v<P::named_op<"ai.onnx::Relu">::op_type, ops::Relu>);
    // An op of the default domain outside the catalogue: "Foo" and "ai.onnx::Foo" name it, another domain does not.
    Graph h;
    ops::Opaque foo;
    foo.op_type = "Foo";
    const ValueId hx = h.add_input("x", {1, 4});
    h.add_output(h.node(h.add_node(foo, {hx}, 1, "foo")).outputs[0]);
    CHECK(search::find_program(h, P::text_pattern("Foo").view()).size() == 1);
    CHECK(search::find_program(h, P::text_pattern("ai.onnx::Foo").view()).size() == 1);
    CHECK(search::find_program(h, P::text_pattern("com.x::Foo").view()).empty());
    CHECK(search::find_chains(h, P::chain<P::named_op<"ai.onnx::Foo">>{}).size() == 1);
    // Written with a domain (the default one too, '::Foo' as 'ai.onnx::Foo') the name is compared
    // with the node's domain, in text as with named_op; without one it matches any domain.
    CHECK(search::find_program(h, P::text_pattern("::Foo").view()).size() == 1);
    Graph k;
    foo.op_domain = "com.x";
    const ValueId kx = k.add_input("x", {1, 4});
    k.add_output(k.node(k.add_node(foo, {kx}, 1, "foo")).outputs[0]);
    CHECK(search::find_program(k, P::text_pattern("Foo").view()).size() == 1);
    CHECK(search::find_program(k, P::text_pattern("com.x::Foo").view()).size() == 1);
    CHECK(search::find_program(k, P::text_pattern("ai.onnx::Foo").view()).empty());
    CHECK(search::find_program(k, P::text_pattern("::Foo").view()).empty());
    CHECK(search::find_chains(k, P::chain<P::named_op<"::Foo">>{}).empty());
    CHECK(search::find_chains(k, P::chain<P::named_op<"com.x::Foo">>{}).size() == 1);
    // named_op of a catalogue op is the same as op<T>.
    static_assert(std::is_same_v<P::named_op<"Relu">::op_type, ops::Relu>);
    CHECK(search::find_chains(g, P::chain<P::named_op<"Relu">>{}).size() == 1);
}
