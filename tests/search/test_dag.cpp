// Tests of the DAG matcher: shared captures, commutative operands, SE blocks, closedness.
#include <doctest/doctest.h>

#include "surgery/ir.hpp"
#include "surgery/pattern.hpp"
#include "surgery/search.hpp"

using namespace surgery;
using namespace surgery::ir;
namespace P = surgery::pattern;
namespace L = surgery::pattern::library;

static_assert(P::dag_pattern<L::silu<>>);
static_assert(!P::dag_pattern<P::chain<P::op<ops::Relu>>>);
static_assert(P::capture_count_v<L::silu<>> == 1);
static_assert(P::capture_count_v<L::squeeze_excitation> == 2);
static_assert(P::node_count_v<L::silu<>> == 2);

namespace {
/// An opaque node of op type "Frobnicate" (outside the catalogue) reading `x` of shape [4].
ValueId frobnicate(Graph& g, ValueId x) {
    ops::Opaque fro;
    fro.op_type = "Frobnicate";
    const ValueId f = g.node(g.add_node(fro, {x}, 1, "fro")).outputs[0];
    g.set_shape(f, Shape{4});
    g.set_dtype(f, DType::f32);
    return f;
}
} // namespace

TEST_CASE("x * sigmoid(x) matches in both operand orders; x * sigmoid(y) does not") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto y = b.input("y", {4});
    auto a = b.mul(x, b.sigmoid(x));     // x first
    auto c = b.mul(b.sigmoid(y), y);     // sigmoid first
    auto d = b.mul(x, b.sigmoid(y));     // different values: not SiLU
    b.output(a);
    b.output(c);
    b.output(d);
    auto m = search::find_dags(g, L::silu<>{});
    REQUIRE(m.size() == 2);
    CHECK(m[0].captures[0] == x);
    CHECK(m[1].captures[0] == y);
    CHECK(m[0].nodes.size() == 2);
    CHECK(m[0].nodes.back() == g.producer(a)); // root last
    CHECK(m[0].exits == std::vector<ValueId>{a});
    CHECK(m[0].input() == x);
}

TEST_CASE("a diamond whose sigmoid is also read elsewhere is not matched") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto s = b.sigmoid(x);
    b.output(b.mul(x, s));
    b.output(b.relu(s)); // the sigmoid escapes
    CHECK(search::find_dags(g, L::silu<>{}).empty());
}

TEST_CASE("x * hardsigmoid(x), HardSwish before opset 14") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    b.output(b.mul(b.hardsigmoid(x), x));
    CHECK(search::find_dags(g, L::hardswish_decomposed<>{}).size() == 1);
    CHECK(search::find_dags(g, L::silu<>{}).empty());
}

namespace {
ValueId se_block(Builder& b, ValueId x, bool silu_gate, bool hard) {
    const std::int64_t c = b.shape(x)[1];
    ValueId s = b.conv(b.global_average_pool(x), {.out_channels = c / 4, .kernel = 1});
    s = silu_gate ? b.silu(s) : b.relu(s);
    s = b.conv(s, {.out_channels = c, .kernel = 1});
    s = hard ? b.hardsigmoid(s) : b.sigmoid(s);
    return b.mul(s, x);
}
} // namespace

TEST_CASE("Squeeze-and-Excitation: MobileNetV3 (ReLU, HardSigmoid) and EfficientNet (SiLU diamond, Sigmoid) gates") {
    Graph g;
    Builder b(g, 5);
    auto x = b.input("x", {1, 16, 8, 8});
    auto y = b.relu(b.conv(x, {.out_channels = 16}));
    auto se1 = se_block(b, y, false, true);
    auto z = b.silu(b.conv(se1, {.out_channels = 16}));
    auto se2 = se_block(b, z, true, false);
    b.output(se2);
    auto m = search::find_dags(g, L::squeeze_excitation{});
    REQUIRE(m.size() == 2);
    CHECK(m[0].captures[0] == y);
    CHECK(m[0].nodes.size() == 6);
    CHECK(m[1].captures[0] == z);
    CHECK(m[1].nodes.size() == 7); // GAP, Conv, Sigmoid, Mul (SiLU), Conv, Sigmoid, Mul
    CHECK(m[1].captures[1].has_value());
    // The block's input also feeds the GAP and the Mul, both inside: still closed.
    CHECK(m[0].exits == std::vector<ValueId>{se1});
}

TEST_CASE("SE whose gate is read outside the block is not matched") {
    Graph g;
    Builder b(g, 5);
    auto x = b.input("x", {1, 8, 4, 4});
    ValueId s = b.conv(b.global_average_pool(x), {.out_channels = 2, .kernel = 1});
    s = b.conv(b.relu(s), {.out_channels = 8, .kernel = 1});
    auto gate = b.hardsigmoid(s);
    b.output(b.mul(gate, x));
    b.output(gate);
    CHECK(search::find_dags(g, L::squeeze_excitation{}).empty());
}

TEST_CASE("either<> and value leaves; overlapping candidates are claimed once") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    // Two SiLUs in a row: the second's x is the first's output.
    auto s1 = b.silu(x);
    auto s2 = b.silu(s1);
    b.output(s2);
    auto m = search::find_dags(g, L::silu<>{});
    REQUIRE(m.size() == 2);
    CHECK(m[1].captures[0] == s1);
    using add_or_mul = P::node<P::any_of<P::op<ops::Add>, P::op<ops::Mul>>, P::value, P::either<P::node<P::op<ops::Sigmoid>, P::value>, P::node<P::op<ops::Relu>, P::value>>>;
    CHECK(search::find_dags(g, add_or_mul{}).size() == 2);
}

TEST_CASE("the root pre-filter keeps every match: operands by slot, a commutative root's swapped operands, absent producers") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto y = b.input("y", {4});
    auto add_rs = b.add(b.relu(x), b.sigmoid(x));                    // Add(Relu, Sigmoid)
    auto add_sr = b.add(b.sigmoid(y), b.relu(y));                    // operands swapped: Add commutes
    auto sub_rs = b.apply(ops::Sub{}, {b.relu(x), b.sigmoid(x)});    // Sub in pattern order
    auto sub_sr = b.apply(ops::Sub{}, {b.sigmoid(y), b.relu(y)});    // Sub swapped: no match
    auto add_in = b.add(x, b.sigmoid(x));                            // operand 0 is a graph input
    auto u = b.input("u", {});
    auto v = b.input("v", {});
    auto clip = b.apply(ops::Clip{}, {b.relu(x), b.sigmoid(u), b.sigmoid(v)}); // a node operand in slot 2
    for (auto r : {add_rs, add_sr, sub_rs, sub_sr, add_in, clip}) b.output(r);

    auto roots = [&](const char* text) {
        std::vector<ValueId> out;
        for (const auto& m : search::find_program(g, P::text_pattern(text).view())) out.push_back(g.node(m.nodes.back()).outputs[0]);
        return out;
    };
    CHECK(roots("Add(Relu(x), Sigmoid(x))") == std::vector<ValueId>{add_rs, add_sr});
    CHECK(roots("Add(Relu(x), Sigmoid(x))") == roots("Add(Sigmoid(x), Relu(x))"));
    CHECK(roots("Add(Relu(a), Sigmoid(b))") == std::vector<ValueId>{add_rs, add_sr});
    CHECK(roots("Sub(Relu(a), Sigmoid(b))") == std::vector<ValueId>{sub_rs});
    CHECK(roots("Sub(Sigmoid(a), Relu(b))") == std::vector<ValueId>{sub_sr});
    CHECK(roots("Add(a, Sigmoid(b))") == std::vector<ValueId>{add_rs, add_sr, add_in}); // add_sr: its Sigmoid in slot 0
    CHECK(roots("Clip(Relu(x), a, Sigmoid(y))") == std::vector<ValueId>{clip});
    CHECK(roots("Clip(Relu(x), Sigmoid(a), Sigmoid(y))") == std::vector<ValueId>{clip});
    CHECK(roots("Clip(Relu(x), a, Relu(y))").empty());
    CHECK(roots("Add(Relu(a), Relu(b))").empty());

    // Deeper levels: the producers' producers, a commutative node there in either order.
    Graph d;
    Builder db(d);
    auto dx = db.input("x", {4});
    auto deep_rs = db.relu(db.add(db.relu(dx), db.sigmoid(dx)));              // Relu(Add(Relu, Sigmoid))
    auto deep_sub = db.relu(db.apply(ops::Sub{}, {db.relu(dx), db.sigmoid(dx)})); // Relu(Sub(Relu, Sigmoid))
    auto deep3 = db.apply(ops::Neg{}, {db.apply(ops::Abs{}, {db.add(db.sigmoid(dx), db.relu(dx))})});
    for (auto r : {deep_rs, deep_sub, deep3}) db.output(r);
    auto droots = [&](const char* text) {
        std::vector<ValueId> out;
        for (const auto& m : search::find_program(d, P::text_pattern(text).view())) out.push_back(d.node(m.nodes.back()).outputs[0]);
        return out;
    };
    CHECK(droots("Relu(Add(Sigmoid(a), Relu(b)))") == std::vector<ValueId>{deep_rs});
    CHECK(droots("Relu(Add(Relu(a), Sigmoid(b)))") == std::vector<ValueId>{deep_rs});
    CHECK(droots("Relu(Sub(Relu(a), Sigmoid(b)))") == std::vector<ValueId>{deep_sub});
    CHECK(droots("Relu(Sub(Sigmoid(a), Relu(b)))").empty());
    CHECK(droots("Neg(Abs(Add(Relu(a), Sigmoid(b))))") == std::vector<ValueId>{deep3});
    CHECK(droots("Neg(Abs(Add(Relu(a), Relu(b))))").empty());
    CHECK(droots("Neg(Abs(Add(Relu(Sigmoid(a)), b)))").empty());            // a fourth level fails in the matcher
    CHECK(droots("Neg(Abs(Add(x, Relu(x))))").empty()); // Add's other operand is a Sigmoid's output, not Relu's input
    CHECK(droots("Relu(Add(*(a), Sigmoid(a)))") == std::vector<ValueId>{deep_rs}); // any op: left to the matcher

    // An operand named outside the catalogue: an opaque node of that op type.
    Graph h;
    Builder hb(h);
    auto hx = hb.input("x", {4});
    hb.output(hb.mul(hx, frobnicate(h, hx)));
    CHECK(search::find_program(h, P::text_pattern("Mul(x, Frobnicate(x))").view()).size() == 1);
    CHECK(search::find_program(h, P::text_pattern("Mul(Frobnicate(x), x)").view()).size() == 1);
    CHECK(search::find_program(h, P::text_pattern("Mul(x, Relu(x))").view()).empty());
}

// A graph type whose traits give a flow index built elsewhere, without the kind counts (all zero):
// the searcher must not take the zeros for absent kinds.
namespace {
struct stale_counts : Graph {
    flow_index fi;
};
} // namespace
template <>
struct surgery::graph_traits<stale_counts> : surgery::graph_traits<Graph> {
    static const flow_index& flow(const stale_counts& g) { return g.fi; }
};
static_assert(surgery::graph_with_flow_index<stale_counts>);

TEST_CASE("a flow index without kind counts (other traits) is searched in full") {
    stale_counts g;
    Builder b(g);
    b.output(b.silu(b.input("x", {4})));
    g.fi = g.flow();
    g.fi.kind_counts.fill(0);
    CHECK(search::detail::no_match_possible(pattern::program_of<L::silu<>, stale_counts>.view(), g.fi.kind_counts));
    CHECK(search::find_dags(g, L::silu<>{}).size() == 1);
}

TEST_CASE("a pattern whose required ops the graph lacks is rejected before the walk; alternatives and op names are not required") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto y = b.input("y", {4});
    b.output(b.silu(x));                                  // Mul(x, Sigmoid(x))
    b.output(b.add(b.relu(y), y));                        // Add(Relu(y), y)
    b.output(b.mul(y, frobnicate(g, y)));

    const ir::flow_index& fi = g.flow();
    std::size_t counted = 0;
    for (auto c : fi.kind_counts) counted += c;
    CHECK(counted == fi.order.size());
    CHECK(fi.kind_counts[op_kind_v<ops::Mul>] == 2);
    CHECK(fi.kind_counts[op_kind_v<ops::Sigmoid>] == 1);
    CHECK(fi.kind_counts[op_kind_v<ops::Tanh>] == 0);

    auto impossible = [&](const char* text) { return search::detail::no_match_possible(P::text_pattern(text).view(), fi.kind_counts); };
    auto found = [&](const char* text) { return search::find_program(g, P::text_pattern(text).view()).size(); };
    // Required: the root and every node below it through plain node operands.
    CHECK(impossible("Tanh(x)"));
    CHECK(impossible("Mul(x, Tanh(x))"));
    CHECK(impossible("Mul(x, Sigmoid(Tanh(x)))"));          // two levels down
    CHECK(impossible("Mul(x, Sigmoid(Conv(GlobalAveragePool(x), w)))")); // an SE form
    CHECK_FALSE(impossible("Mul(x, Sigmoid(x))"));
    CHECK_FALSE(impossible("Mul|Tanh(x, y)"));                // one accepted kind present is enough
    CHECK_FALSE(impossible("Mul(x, (Tanh(x) | Sigmoid(x)))")); // an absent op under alternatives is not required
    CHECK_FALSE(impossible("Mul(x, *(x))"));
    CHECK_FALSE(impossible("Mul(x, Frobnicate(x))"));         // op names are compared by the matcher
    CHECK_FALSE(impossible("Mul(x, Sigmoid(*(x)))"));
    // And the searches agree: nothing where it says impossible, the matches otherwise.
    CHECK(found("Mul(x, Sigmoid(Tanh(x)))") == 0);
    CHECK(found("Mul(x, Sigmoid(x))") == 1);
    CHECK(found("Mul(x, (Tanh(x) | Sigmoid(x)))") == 1);
    CHECK(found("Mul(x, Frobnicate(x))") == 1);
    CHECK(search::find_dags(g, L::squeeze_excitation{}).empty());
    CHECK(search::find_dags(g, L::silu<>{}).size() == 1);
}
