// Type-level facts about patterns and the compile-time window tables, plus runtime chain parsing.
#include <doctest/doctest.h>

#include "surgery/search/program.hpp"

#include "surgery/ir.hpp"
#include "surgery/pattern.hpp"

using namespace surgery;
using namespace surgery::ir;
namespace P = surgery::pattern;

using conv = P::op<ops::Conv>;
using conv7 = P::op<ops::Conv, P::kernel<7>>;
using relu = P::op<ops::Relu>;
using act = P::any_of<relu, P::op<ops::Clip>>;
using cba = P::chain<conv, P::op<ops::BatchNormalization>, act>;

static_assert(P::single_node_pattern<conv> && P::single_node_pattern<act> && P::single_node_pattern<P::any_op>);
static_assert(!P::single_node_pattern<ops::Conv>);
static_assert(P::chain_pattern<cba> && !P::chain_pattern<conv>);
static_assert(std::is_same_v<cba::mask_type, std::uint8_t>);
static_assert(std::is_same_v<P::mask_for<9>, std::uint16_t> && std::is_same_v<P::mask_for<33>, std::uint64_t>);
// Window tables: Conv is position 0, BN position 1, Relu and Clip position 2; nothing needs a predicate.
static_assert(cba::base[op_kind_v<ops::Conv>] == 0b001);
static_assert(cba::base[op_kind_v<ops::BatchNormalization>] == 0b010);
static_assert(cba::base[op_kind_v<ops::Relu>] == 0b100 && cba::base[op_kind_v<ops::Clip>] == 0b100);
static_assert(cba::base[op_kind_v<ops::Sigmoid>] == 0 && cba::check[op_kind_v<ops::Conv>] == 0);
// A predicated position moves from the base table to the check table.
using big = P::chain<conv7, relu, conv>;
static_assert(big::base[op_kind_v<ops::Conv>] == 0b100 && big::check[op_kind_v<ops::Conv>] == 0b001);
// Wildcards accept every kind, and unknown ops.
using wild = P::chain<relu, P::any_op>;
static_assert(wild::base[op_kind_v<ops::Relu>] == 0b11 && wild::base[op_kind_v<ops::Gemm>] == 0b10 && wild::unknown_kind == 0b10);

TEST_CASE("runtime chains parse alternatives, wildcards and arrows") {
    P::runtime_chain c("Conv -> BatchNormalization, Relu|Clip ,*");
    REQUIRE(c.size() == 4);
    CHECK(c.positions()[2].names == std::vector<std::string>{"Relu", "Clip"});
    CHECK(c.positions()[3].any);
    // The per-kind tables the chain searcher reads, as pattern::chain builds them at compile time.
    const surgery::search::chain_tables t(c.view());
    CHECK(t.base[op_kind_v<ops::Conv>] == 0b1001);
    CHECK(t.base[op_kind_v<ops::Clip>] == 0b1100);
    CHECK(c.to_string() == "Conv,BatchNormalization,Relu|Clip,*");
    // Names outside the catalogue are kept for other graphs, or rejected on request.
    CHECK(P::runtime_chain("MyOp,Relu").size() == 2);
    CHECK_THROWS_WITH_AS(P::runtime_chain("MyOp,Relu", true), doctest::Contains("op 'MyOp' at position 1 is not in the op catalogue"), pattern_error);
    CHECK_THROWS_AS(P::runtime_chain("Relu,,Conv"), pattern_error);
    CHECK_THROWS_AS(P::runtime_chain(""), pattern_error);
}

TEST_CASE("predicates see attributes and, on ir::Graph, weight shapes") {
    Graph g;
    Builder b(g, 2);
    auto x = b.input("x", {1, 4, 8, 8});
    // A Conv without kernel_shape: the kernel comes from the weight.
    auto w = b.constant(Tensor::zeros({4, 4, 7, 7}));
    ops::Conv c;
    c.pads = {3, 3, 3, 3};
    auto y = b.apply(c, {x, w});
    b.output(y);
    CHECK(conv7::test(g, g.producer(y)));
    CHECK_FALSE((P::op<ops::Conv, P::kernel<3>>::test(g, g.producer(y))));
    CHECK((P::op<ops::Conv, P::stride<1>>::test(g, g.producer(y))));
    CHECK((P::op<ops::Conv, P::attr_equals<&ops::Conv::group, 1>>::test(g, g.producer(y))));
    CHECK_FALSE((P::op<ops::Conv, P::depthwise>::test(g, g.producer(y))));
}
