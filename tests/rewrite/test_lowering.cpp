// Tests of the lowerings to older opsets: each op becomes its pattern-library form (the shape the
// rules and the executor match), with the same values, names kept, and nothing else touched.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "surgery/ir.hpp"
#include "surgery/pattern/library.hpp"
#include "surgery/reference/executor.hpp"
#include "surgery/rewrite/lowering.hpp"
#include "surgery/search/program.hpp"

using namespace surgery;
using namespace surgery::ir;

namespace {
float max_abs_diff(const Tensor& a, const Tensor& b) {
    REQUIRE(a.f.size() == b.f.size());
    float d = 0.0f;
    for (std::size_t i = 0; i < a.f.size(); ++i) d = std::max(d, std::abs(a.f[i] - b.f[i]));
    return d;
}

/// x -> HardSwish -> Gelu(erf) and Gelu(tanh), two outputs, at opset 20.
Graph activations() {
    Graph g;
    g.opset = 20;
    Builder b(g, 3);
    auto x = b.input("x", {2, 9});
    auto h = b.hardswish(x);
    g.set_node_name(g.producer(h), "hs");
    ops::Gelu ge;
    auto y1 = b.apply(ge, {h});
    g.set_node_name(g.producer(y1), "gelu_erf");
    ge.approximate = "tanh";
    auto y2 = b.apply(ge, {h});
    g.set_node_name(g.producer(y2), "gelu_tanh");
    g.set_value_name(y1, "y_erf");
    g.set_value_name(y2, "y_tanh");
    b.output(y1);
    b.output(y2);
    return g;
}
} // namespace

TEST_CASE("lowering: HardSwish below 14 and Gelu below 20 become the library's forms, with the same values") {
    Graph g = activations();
    std::mt19937_64 rng(7);
    const Tensor in = Tensor::uniform({2, 9}, rng, -6.0f, 6.0f);
    const auto want = reference::run(g, {in});

    SUBCASE("at opset 20 nothing is lowered") {
        CHECK_FALSE(rewrite::needs_lowering(g));
        const Graph same = rewrite::lower(g);
        CHECK(same.num_nodes() == g.num_nodes());
        CHECK(same.op_counts() == g.op_counts());
    }
    SUBCASE("at opset 14 only Gelu is lowered") {
        g.opset = 14;
        CHECK(rewrite::needs_lowering(g));
        const Graph low = rewrite::lower(g);
        CHECK(low.op_histogram()[op_kind_v<ops::HardSwish>] == 1);
        CHECK(low.op_histogram()[op_kind_v<ops::Gelu>] == 0);
    }
    SUBCASE("at opset 13 all three, each as exactly one match of its form") {
        g.opset = 13;
        const Graph low = rewrite::lower(g);
        CHECK(low.op_histogram()[op_kind_v<ops::HardSwish>] == 0);
        CHECK(low.op_histogram()[op_kind_v<ops::Gelu>] == 0);
        namespace F = pattern::forms;
        for (const pattern::form* f : {&F::hardswish_hardsigmoid, &F::gelu_erf, &F::gelu_tanh}) {
            CAPTURE(f->name);
            CHECK(search::find_program(low, f->pattern().view()).size() == 1);
        }
        // The rules' own view: every HardSwish / GELU form in the library finds these and no more.
        std::size_t gelu = 0, hardswish = 0;
        for (const auto& f : F::gelu) gelu += search::find_program(low, f.pattern().view()).size();
        for (const auto& f : F::hardswish) hardswish += search::find_program(low, f.pattern().view()).size();
        CHECK(gelu == 2);
        CHECK(hardswish == 1);
        // Outputs keep their names; new nodes are named after the node they replace.
        REQUIRE(low.outputs().size() == 2);
        CHECK(low.label(low.outputs()[0]) == "y_erf");
        CHECK(low.label(low.outputs()[1]) == "y_tanh");
        CHECK(low.label(low.producer(low.outputs()[0])).starts_with("gelu_erf/"));
        CHECK(low.label(low.producer(low.outputs()[1])).starts_with("gelu_tanh/"));
        // Same function (float rounding of the decomposition only); the input graph is untouched.
        const auto got = reference::run(low, {in});
        CHECK(max_abs_diff(got[0], want[0]) < 1e-5f);
        CHECK(max_abs_diff(got[1], want[1]) < 1e-5f);
        CHECK(g.op_histogram()[op_kind_v<ops::Gelu>] == 2);
        // The executor fuses nothing here (no Conv/Gemm/MatMul), but runs the forms op by op.
        reference::executor ex(low);
        CHECK(max_abs_diff(ex.run({in})[0], want[0]) < 1e-5f);
    }
}

TEST_CASE("lowering: a lowered HardSwish is a HardSigmoid of slope 1/6; other slopes are not HardSwish forms") {
    Graph g;
    g.opset = 13;
    Builder b(g, 1);
    auto x = b.input("x", {1, 4});
    b.output(b.mul(x, b.hardsigmoid(x, 0.2f, 0.5f))); // ONNX HardSigmoid's default slope: not a HardSwish
    b.output(b.mul(x, b.hardsigmoid(x)));             // 1/6, 1/2: HardSwish's definition
    CHECK(search::find_program(g, pattern::forms::hardswish_hardsigmoid.pattern().view()).size() == 1);
}
