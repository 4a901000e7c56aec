// The README's ten-line API, compiled and run, so the README stays true.
#include <doctest/doctest.h>

#include <surgery/surgery.hpp>
#include <surgery/zoo/mobilenet_v3.hpp>

TEST_CASE("README API snippet") {
    surgery::ir::Graph graph = surgery::zoo::mobilenet_v3_large();
    // --- as in README.md ---
    namespace P = surgery::pattern; namespace ops = surgery::ir::ops;
    using conv_bn_act = P::chain<P::op<ops::Conv, P::kernel<3>>, P::op<ops::BatchNormalization>,
                                 P::any_of<P::op<ops::Relu>, P::op<ops::Clip>>>;
    auto matches = surgery::search::find_chains(graph, conv_bn_act{});
    auto silus   = surgery::search::find_dags(graph, P::library::silu<>{});
    surgery::rewrite::dictionary dict = surgery::rules::mobilenet_v3_lite();
    dict.add(surgery::rewrite::parse_rule("HardSigmoid=>Relu"));
    auto report = surgery::rewrite::apply(graph, dict);
    // --- end ---
    CHECK(matches.size() == 3); // the 3x3 depthwise Conv-BN-ReLU blocks of the first three bottlenecks
    CHECK(silus.empty());       // MobileNetV3 has no SiLU
    CHECK(report.converged);
    CHECK(report.total_replaced() == 29);
}
