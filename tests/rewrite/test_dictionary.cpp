// Tests of the dictionary driver: order, fixpoint and cap, report contents, strong guarantee, text rules.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "surgery/ir.hpp"
#include "surgery/pattern.hpp"
#include "surgery/rewrite.hpp"
#include "surgery/rules.hpp"
#include "surgery/zoo/mobilenet_v3.hpp"

using namespace surgery;
using namespace surgery::ir;
namespace P = surgery::pattern;

TEST_CASE("the MobileNetV3 dictionary on MobileNetV3-Large: counts per rule and op histograms") {
    Graph g = zoo::mobilenet_v3_large();
    const auto before = g.op_histogram();
    const auto rep = rewrite::apply(g, rules::mobilenet_v3_lite());
    CHECK(rep.converged);
    REQUIRE(rep.rules.size() == 3);
    CHECK(rep.rules[0].name == "remove_squeeze_excitation");
    CHECK(rep.rules[0].replaced == 8);  // 8 SE blocks in MobileNetV3-Large
    CHECK(rep.rules[1].name == "hardswish_to_relu");
    CHECK(rep.rules[1].replaced == 21); // HardSwish activations
    CHECK(rep.rules[2].name == "hardsigmoid_to_relu");
    CHECK(rep.rules[2].replaced == 0);  // every HardSigmoid was an SE gate, removed with its block
    CHECK(rep.ops_before == before);
    CHECK(rep.ops_after[op_kind_v<ops::HardSwish>] == 0);
    CHECK(rep.ops_after[op_kind_v<ops::HardSigmoid>] == 0);
    CHECK(rep.ops_after[op_kind_v<ops::Mul>] == 0);
    CHECK(rep.ops_after[op_kind_v<ops::GlobalAveragePool>] == 1);
    CHECK(rep.ops_after[op_kind_v<ops::Conv>] == before[op_kind_v<ops::Conv>] - 16);
    CHECK(rep.nodes_after == g.num_nodes());
    CHECK(rep.removed_constants == 32); // the SE convs' weights and biases
    CHECK(*g.value(g.outputs()[0]).shape == Shape{1, 1000});
    CHECK_NOTHROW(verify(g));
    CHECK(rep.to_string().find("remove_squeeze_excitation (approximate): 8 matches, 8 replaced") != std::string::npos);
}

TEST_CASE("the replacement log names, per replacement, the rule and the original nodes it replaced") {
    Graph g = zoo::mobilenet_v3_large();
    std::set<std::string> names;
    std::map<std::string, std::string> op_of;
    for (NodeId n : g.topological_order()) {
        names.insert(g.node(n).name);
        op_of[g.node(n).name] = std::string(name_of(g.node(n).op));
    }
    Graph quiet = g;
    CHECK(rewrite::apply(quiet, rules::mobilenet_v3_lite()).replacements.empty()); // off by default

    rewrite::apply_options o;
    o.log_replacements = true;
    const auto rep = rewrite::apply(g, rules::mobilenet_v3_lite(), o);
    REQUIRE(rep.replacements.size() == rep.total_replaced());
    std::size_t se = 0, hs = 0;
    for (const auto& r : rep.replacements) {
        REQUIRE(r.rule < rep.rules.size());
        REQUIRE(!r.nodes.empty());
        for (const auto& n : r.nodes) CHECK(names.count(n) == 1); // every one a node of the input
        if (r.rule == 0) {
            ++se;
            std::set<std::string> ops;
            for (const auto& n : r.nodes) ops.insert(op_of[n]);
            CHECK(ops.count("GlobalAveragePool") == 1);
            CHECK(ops.count("HardSigmoid") == 1);
            CHECK(ops.count("Mul") == 1);
        } else {
            ++hs;
            CHECK(r.rule == 1);
            REQUIRE(r.nodes.size() == 1);
            CHECK(op_of[r.nodes[0]] == "HardSwish");
        }
    }
    CHECK(se == 8);
    CHECK(hs == 21);
}

TEST_CASE("rule order matters: HardSigmoid first destroys the SE pattern") {
    Graph a = zoo::mobilenet_v3_large();
    rewrite::dictionary wrong("wrong", {rules::hardsigmoid_to_relu(), rules::remove_squeeze_excitation()});
    const auto rep = rewrite::apply(a, wrong);
    CHECK(rep.rules[0].replaced == 8);
    CHECK(rep.rules[1].replaced == 0);
}

TEST_CASE("a rule that re-creates its own pattern is detected and reported, not run to the iteration cap") {
    Graph g;
    Builder b(g);
    b.output(b.relu(b.input("x", {4})));
    rewrite::dictionary loop("loop", {rewrite::parse_rule("Relu=>Relu")});
    const auto rep = rewrite::apply(g, loop, {.max_iterations = 3, .verify = true});
    CHECK(rep.converged);
    CHECK(rep.iterations < 3);
    CHECK(rep.rules[0].replaced == 1);
    CHECK(rep.rules[0].self_matches >= 1);
    CHECK(rep.to_string().find("matches its own pattern") != std::string::npos);
    CHECK(g.num_nodes() == 1);
}

TEST_CASE("two rules that re-create each other's pattern stop at the iteration cap and say so") {
    Graph g;
    Builder b(g);
    b.output(b.relu(b.input("x", {4})));
    rewrite::dictionary loop("loop", {rewrite::parse_rule("Relu=>Sigmoid"), rewrite::parse_rule("Sigmoid=>Relu")});
    const auto rep = rewrite::apply(g, loop, {.max_iterations = 3, .verify = true});
    CHECK_FALSE(rep.converged);
    CHECK(rep.iterations == 3);
    CHECK(rep.rules[0].replaced == 3);
    CHECK(rep.rules[1].replaced == 3);
    CHECK(rep.to_string().find("NOT converged") != std::string::npos);
}

TEST_CASE("rules that enable each other run to a fixpoint") {
    Graph g;
    Builder b(g);
    auto v = b.input("x", {4});
    v = b.sigmoid(b.relu(b.relu(v)));
    b.output(v);
    rewrite::dictionary d("d", {rewrite::parse_rule("Sigmoid,Relu=>Relu"), rewrite::parse_rule("Relu,Sigmoid=>Sigmoid")});
    const auto rep = rewrite::apply(g, d);
    CHECK(rep.converged);
    CHECK(g.num_nodes() == 1);
}

TEST_CASE("apply is all-or-nothing: a failing rule leaves the graph as it was") {
    Graph g = zoo::mobilenet_v3_large();
    const auto before = g.op_histogram();
    const auto nodes = g.num_nodes();
    rewrite::dictionary d = rules::mobilenet_v3_lite();
    ops::MaxPool pool; // halves the spatial size: never fits
    pool.kernel_shape = {2, 2};
    pool.strides = {2, 2};
    d.add(rewrite::make_rule("bad", P::chain<P::op<ops::Relu>>{}, rewrite::with_op(pool), rewrite::exactness::approximate));
    CHECK_THROWS_WITH_AS(rewrite::apply(g, d), doctest::Contains("rule 'bad' at node"), rewrite_error);
    CHECK(g.op_histogram() == before);
    CHECK(g.num_nodes() == nodes);
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("text rules: parsing and errors") {
    CHECK(rewrite::parse_rule("HardSwish=>Relu").name == "HardSwish=>Relu");
    CHECK(rewrite::parse_rule("Conv,Relu => identity").pattern_text == "Conv,Relu");
    CHECK_THROWS_WITH_AS((void)rewrite::parse_rule("HardSwish"), doctest::Contains("expected 'PATTERN => REPLACEMENT'"), pattern_error);
    // Names outside the catalogue are ops a model may carry as opaque nodes: accepted in patterns.
    CHECK(rewrite::parse_rule("Foo=>Relu").pattern_text == "Foo");
    CHECK_THROWS_WITH_AS((void)rewrite::parse_rule("Relu=>Bar"), doctest::Contains("replacement op 'Bar'"), pattern_error);
    CHECK_THROWS_WITH_AS((void)rewrite::parse_rule("Relu=>Conv"), doctest::Contains("needs more than one input"), pattern_error);
    rewrite::dictionary d;
    d.add(rules::silu_to_relu());
    CHECK_THROWS_AS(d.add(rules::silu_to_relu()), error);
}

TEST_CASE("consecutive matches whose input is a previous match's exit (value forwarding)") {
    Graph g;
    Builder b(g);
    auto v = b.input("x", {4});
    for (int i = 0; i < 4; ++i) v = b.silu(v);
    b.output(v);
    const auto rep = rewrite::apply(g, rewrite::dictionary("s", {rules::silu_to_relu()}));
    CHECK(rep.rules[0].replaced == 4);
    CHECK(g.num_nodes() == 4);
    CHECK(g.op_histogram()[op_kind_v<ops::Relu>] == 4);
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("a rule does not search again a graph that did not change since its last search") {
    // Pass 1: 'before' finds nothing, Sigmoid=>Relu rewrites, 'after' finds nothing in the changed
    // graph. Pass 2 confirms the fixpoint: 'before' searches again (the graph changed since its
    // search), so does Sigmoid=>Relu (its own change may complete a match), 'after' does not.
    Graph g;
    Builder b(g);
    b.output(b.relu(b.sigmoid(b.relu(b.sigmoid(b.input("x", {4}))))));
    int before_calls = 0, rule_calls = 0, after_calls = 0;
    auto counted = [](rewrite::rule r, int& calls) {
        r.find = [find = r.find, &calls](const Graph& graph) {
            ++calls;
            return find(graph);
        };
        return r;
    };
    rewrite::dictionary d("d", {counted(rewrite::parse_rule("Tanh=>Relu"), before_calls), counted(rewrite::parse_rule("Sigmoid=>Relu"), rule_calls),
                                counted(rewrite::parse_rule("Erf=>Relu"), after_calls)});
    const auto rep = rewrite::apply(g, d);
    CHECK(rep.converged);
    CHECK(rep.iterations == 2);
    CHECK(rep.rules[1].replaced == 2);
    CHECK(before_calls == 2);
    CHECK(rule_calls == 2);
    CHECK(after_calls == 1);
    CHECK(g.op_counts() == std::map<std::string, std::size_t>{{"Relu", 4}});
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("a shape computation nested many levels deep folds in one apply, to a true fixpoint") {
    // Each level reshapes by a target computed from the previous level's shape: the target folds
    // only once that shape is static, which it becomes only once the previous target was folded (as
    // in torch's export of Swin's window partitions). The dictionary carries each fold's shapes
    // downstream (ir::refine_shapes) and searches again, so one apply folds all 20 levels, far more
    // than its 8 passes.
    Graph g;
    Builder b(g, 3);
    ValueId v = b.input("x", {4, 6, 10});
    constexpr int levels = 20;
    for (int k = 0; k < levels; ++k) {
        const ValueId dims = b.apply(ops::ShapeOf{}, {v});
        const ValueId first = b.apply(ops::Slice{}, {dims, b.ints({0}), b.ints({1}), b.ints({0})});
        const ValueId last = b.apply(ops::Slice{}, {dims, b.ints({-1}), b.ints({INT64_MAX}), b.ints({0})});
        // [a, b, c] -> [c, -1, a]: the first and last dims swap at every level.
        v = b.relu(b.apply(ops::Reshape{}, {v, b.apply(ops::Concat{.axis = 0}, {last, b.ints({-1}), first})}));
    }
    b.output(v);
    infer_shapes(g);
    CHECK_FALSE(is_static(*g.value(v).shape)); // unknown until the targets are folded

    const auto rep = rewrite::apply(g, rewrite::dictionary("fold", {rules::fold_constants()}));
    CHECK(rep.converged);
    CHECK(rep.iterations == 2); // one pass folds every level; the second finds nothing
    CHECK(g.op_counts() == std::map<std::string, std::size_t>{{"Relu", levels}, {"Reshape", levels}});
    REQUIRE(g.value(g.outputs()[0]).shape);
    CHECK(*g.value(g.outputs()[0]).shape == Shape{4, 6, 10}); // swapped an even number of times
    CHECK_NOTHROW(verify(g));
    const auto again = rewrite::apply(g, rewrite::dictionary("fold", {rules::fold_constants()}));
    CHECK(again.total_replaced() == 0);
}
