// Shape and type rules of the math and logic families (ir/ops/math.hpp, ir/ops/logic.hpp): broadcasting
// across all inputs, bool outputs, Cast's target type from the ONNX type number, and clear errors
// naming the node and the op for inputs the op does not take.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "surgery/ir.hpp"

using namespace surgery;
using namespace surgery::ir;

namespace {

struct rule_result {
    std::optional<Shape> shape;
    DType dtype = DType::undefined;
    std::string error; ///< empty when accepted
};

/// Runs `op`'s rule on `inputs` as node "n" of `g`.
rule_result run_rule(Graph& g, Op op, std::vector<ValueId> inputs) {
    const NodeId n = g.add_node(std::move(op), std::move(inputs), 1, "n");
    rule_result r;
    try {
        const inferred_outputs o = infer_node(g, n);
        r.shape = o.shapes[0];
        r.dtype = o.dtypes[0];
    } catch (const graph_error& e) {
        CHECK(e.node() == "n");
        r.error = e.what();
    }
    return r;
}

bool math_contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

} // namespace

TEST_CASE("variadic ops broadcast every input; types must agree") {
    Graph g;
    const ValueId a = g.add_input("a", {2, 1, 4}), b = g.add_input("b", {3, 1}), c = g.add_input("c", {4});
    for (const Op& op : std::vector<Op>{ops::Min{}, ops::Max{}, ops::Sum{}, ops::Mean{}}) {
        CAPTURE(name_of(op));
        const rule_result r = run_rule(g, op, {a, b, c});
        CHECK(r.error.empty());
        CHECK(r.shape == Shape{2, 3, 4});
        CHECK(r.dtype == DType::f32);
        CHECK(run_rule(g, op, {a}).shape == Shape{2, 1, 4});
    }
    const ValueId u = g.add_input("u", {-1, 3}), v = g.add_input("v", {5, 1});
    CHECK(run_rule(g, ops::Max{}, {u, v}).shape == Shape{5, 3});
    const ValueId bad = g.add_input("bad", {3});
    CHECK(math_contains(run_rule(g, ops::Sum{}, {a, bad}).error, "Sum: shapes [2,1,4] and [3] cannot be broadcast"));
    const ValueId i = g.add_input("i", {4}, DType::i64);
    CHECK(math_contains(run_rule(g, ops::Min{}, {a, i}).error, "Min: input 1 has type int64, input 0 has float32"));
    CHECK(run_rule(g, ops::Max{}, {i, i}).dtype == DType::i64);
    CHECK(math_contains(run_rule(g, ops::Mean{}, {i, i}).error, "Mean: input 0 has type int64; the op takes floating-point tensors"));
    const ValueId flag = g.add_input("flag", {4}, DType::boolean);
    CHECK(math_contains(run_rule(g, ops::Max{}, {flag}).error, "numeric"));
    // Types the IR holds no data of still get shapes (a rewrite needs them; only running fails).
    const ValueId h = g.add_input("h", {2, 1}, DType::f16), h2 = g.add_input("h2", {3}, DType::f16);
    const rule_result rh = run_rule(g, ops::Max{}, {h, h2});
    CHECK(rh.shape == Shape{2, 3});
    CHECK(rh.dtype == DType::f16);
}

TEST_CASE("Mod and PRelu rules") {
    Graph g;
    const ValueId x = g.add_input("x", {2, 3, 4, 4}), ch = g.add_input("ch", {3, 1, 1}), row = g.add_input("row", {4});
    CHECK(math_contains(run_rule(g, ops::Mod{}, {x, row}).error, "Mod: fmod must be 1 for float32 inputs"));
    ops::Mod fm;
    fm.fmod = 1;
    CHECK(run_rule(g, fm, {x, row}).shape == Shape{2, 3, 4, 4});
    fm.fmod = 2;
    CHECK(math_contains(run_rule(g, fm, {x, row}).error, "fmod must be 0 or 1"));
    const ValueId i = g.add_input("i", {5, 1}, DType::i32), j = g.add_input("j", {7}, DType::i32);
    const rule_result ri = run_rule(g, ops::Mod{}, {i, j});
    CHECK(ri.shape == Shape{5, 7});
    CHECK(ri.dtype == DType::i32);
    CHECK(run_rule(g, ops::PRelu{}, {x, ch}).shape == Shape{2, 3, 4, 4});
    const ValueId big = g.add_input("big", {1, 2, 3, 4, 4});
    CHECK(math_contains(run_rule(g, ops::PRelu{}, {x, big}).error, "PRelu: slope [1,2,3,4,4] does not broadcast to X [2,3,4,4]"));
    const ValueId wrong = g.add_input("wrong", {3});
    CHECK(math_contains(run_rule(g, ops::PRelu{}, {x, wrong}).error, "cannot be broadcast"));
    const ValueId unknown = g.add_input("unknown", {-1, 3, 4, 4});
    CHECK(run_rule(g, ops::PRelu{}, {unknown, ch}).shape == Shape{-1, 3, 4, 4});
}

TEST_CASE("unary math ops keep shape and type") {
    Graph g;
    const ValueId x = g.add_input("x", {2, -1}), i = g.add_input("i", {3}, DType::i64);
    for (const Op& op : std::vector<Op>{ops::Exp{}, ops::Round{}, ops::Softplus{}, ops::Elu{}, ops::Selu{}, ops::ThresholdedRelu{}, ops::Mish{}}) {
        CAPTURE(name_of(op));
        const rule_result r = run_rule(g, op, {x});
        CHECK(r.shape == Shape{2, -1});
        CHECK(r.dtype == DType::f32);
    }
    CHECK(run_rule(g, ops::Neg{}, {i}).dtype == DType::i64);
    ops::Celu zero;
    zero.alpha = 0.0f;
    CHECK(math_contains(run_rule(g, zero, {x}).error, "Celu: alpha must not be 0"));
}

TEST_CASE("comparisons and boolean ops give bool") {
    Graph g;
    const ValueId a = g.add_input("a", {2, 1}), b = g.add_input("b", {3});
    for (const Op& op : std::vector<Op>{ops::Equal{}, ops::Less{}, ops::Greater{}, ops::LessOrEqual{}, ops::GreaterOrEqual{}}) {
        CAPTURE(name_of(op));
        const rule_result r = run_rule(g, op, {a, b});
        CHECK(r.shape == Shape{2, 3});
        CHECK(r.dtype == DType::boolean);
    }
    const ValueId i = g.add_input("i", {3}, DType::i64);
    CHECK(math_contains(run_rule(g, ops::Equal{}, {a, i}).error, "Equal: input 1 has type int64, input 0 has float32"));
    const ValueId p = g.add_input("p", {2, 1}, DType::boolean), q = g.add_input("q", {4}, DType::boolean);
    CHECK(run_rule(g, ops::Equal{}, {p, q}).dtype == DType::boolean);
    CHECK(math_contains(run_rule(g, ops::Less{}, {p, q}).error, "Less: input 0 has type bool; the op takes numeric tensors"));
    for (const Op& op : std::vector<Op>{ops::And{}, ops::Or{}, ops::Xor{}}) {
        CAPTURE(name_of(op));
        const rule_result r = run_rule(g, op, {p, q});
        CHECK(r.shape == Shape{2, 4});
        CHECK(r.dtype == DType::boolean);
        CHECK(math_contains(run_rule(g, op, {a, b}).error, "the op takes bool tensors"));
    }
    CHECK(run_rule(g, ops::Not{}, {p}).shape == Shape{2, 1});
    CHECK(math_contains(run_rule(g, ops::Not{}, {a}).error, "Not: input 0 has type float32"));
    const rule_result nan = run_rule(g, ops::IsNaN{}, {a});
    CHECK(nan.dtype == DType::boolean);
    CHECK(nan.shape == Shape{2, 1});
    CHECK(run_rule(g, ops::IsInf{}, {a}).dtype == DType::boolean);
    CHECK(math_contains(run_rule(g, ops::IsInf{}, {i}).error, "floating-point"));
}

TEST_CASE("Where and Cast rules") {
    Graph g;
    const ValueId c = g.add_input("c", {3, 1}, DType::boolean), x = g.add_input("x", {1, 4}, DType::i64), y = g.add_input("y", {}, DType::i64);
    const rule_result w = run_rule(g, ops::Where{}, {c, x, y});
    CHECK(w.shape == Shape{3, 4});
    CHECK(w.dtype == DType::i64);
    const ValueId f = g.add_input("f", {4});
    CHECK(math_contains(run_rule(g, ops::Where{}, {c, x, f}).error, "Where: X has type int64, Y has float32"));
    CHECK(math_contains(run_rule(g, ops::Where{}, {f, x, y}).error, "condition (input 0) has type float32, expected bool"));
    const ValueId c5 = g.add_input("c5", {5}, DType::boolean);
    CHECK(math_contains(run_rule(g, ops::Where{}, {c5, x, y}).error, "cannot be broadcast"));

    ops::Cast cast;
    for (const auto& entry : std::vector<std::pair<std::int64_t, DType>>{
             {1, DType::f32}, {6, DType::i32}, {7, DType::i64}, {9, DType::boolean}, {10, DType::f16}, {11, DType::f64}, {2, DType::u8}, {16, DType::bf16}}) {
        const std::int64_t to = entry.first; // not a structured binding: CAPTURE's lambda cannot capture one with clang 14
        const DType type = entry.second;
        cast.to = to;
        const rule_result r = run_rule(g, cast, {x});
        CAPTURE(to);
        CHECK(r.error.empty());
        CHECK(r.shape == Shape{1, 4});
        CHECK(r.dtype == type); // the right type even where the IR holds no data of it
    }
    cast.to = 0;
    CHECK(math_contains(run_rule(g, cast, {x}).error, "Cast: attribute 'to' is not set"));
    cast.to = 19;
    CHECK(math_contains(run_rule(g, cast, {x}).error, "to = 19 is not an element type the IR knows"));
    const rule_result like = run_rule(g, ops::CastLike{}, {f, c});
    CHECK(like.shape == Shape{4});
    CHECK(like.dtype == DType::boolean);
}
