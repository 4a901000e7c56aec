// The README's ten-line API, compiled and run, so the README stays true.
#include <doctest/doctest.h>

#include <surgery/surgery.hpp>
#include <surgery/zoo/mobilenet_v3.hpp>

TEST_CASE("README API snippet") {
    surgery::ir::Graph graph = surgery::zoo::mobilenet_v3_large();
    const auto before = graph.op_histogram();
    // --- as in README.md ---
    namespace P = surgery::pattern; namespace ops = surgery::ir::ops;
    using conv_bn_act = P::chain<P::op<ops::Conv, P::kernel<3>>, P::op<ops::BatchNormalization>,
                                 P::any_of<P::op<ops::Relu>, P::op<ops::Clip>>>;
    auto matches = surgery::search::find_chains(graph, conv_bn_act{});
    auto vendor  = surgery::search::find_chains(graph, P::chain<P::named_op<"MyNpuOp">>{});
    surgery::rewrite::dictionary dict = surgery::rules::preset("paper");
    dict.add(surgery::rewrite::parse_rule("Mul(x, Sigmoid(x)) => Relu(x)"));
    auto report = surgery::rewrite::apply(graph, dict);
    // --- end ---
    CHECK(matches.size() == 3); // the 3x3 depthwise Conv-BN-ReLU blocks of the first three bottlenecks
    CHECK(vendor.empty());      // no opaque op of that name in a built-in network
    CHECK(report.converged);
    CHECK(before[surgery::ir::op_kind_v<ops::HardSwish>] == 21);
    CHECK(report.ops_after[surgery::ir::op_kind_v<ops::HardSwish>] == 0);
    CHECK(report.ops_after[surgery::ir::op_kind_v<ops::HardSigmoid>] == 0);
    CHECK(report.ops_after[surgery::ir::op_kind_v<ops::BatchNormalization>] == 0); // folded: paper holds the exact rules
}
