// Tests of surgery/onnx/detail/parallel_check.hpp: libonnx's strict shape inference run on pieces of a
// graph gives the verdict and the message of a run on the whole graph.
#include <doctest/doctest.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "surgery/ir.hpp"
#include "surgery/onnx.hpp"

#include "proto_builder.hpp"
#include "zoo.hpp"
#include "../support/thrown.hpp"

namespace so = surgery::onnx;
namespace pb = ::onnx;
using surgery::test::attr_i;
using surgery::test::proto_builder;
using surgery::test::thrown_message;

namespace parallel_check_test {

const pb::ShapeInferenceOptions strict{/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/false};

/// libonnx's check of `m` as the library ran it before it had pieces: checker, then inference of the
/// whole graph (on a copy).
std::string sequential(const pb::ModelProto& m) {
    return thrown_message([&] {
        pb::checker::check_model(m);
        pb::ModelProto copy = m;
        pb::shape_inference::InferShapes(copy, pb::OpSchemaRegistry::Instance(), strict);
    });
}

/// The same check with the graph cut into `pieces` pieces, on two threads, on the model itself.
std::string in_pieces(const pb::ModelProto& m, std::size_t pieces) {
    pb::ModelProto own = m;
    return thrown_message([&] { so::detail::check_model_in_parallel(own, own, strict, 2, pieces); });
}

/// The declared element type of a value info's first dimension set to `v`.
void set_dim(pb::ValueInfoProto& vi, int dim, std::int64_t v) {
    vi.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(dim)->set_dim_value(v);
}

/// "r<i>", built with += only: GCC 12 warns falsely (-Wstringop-overflow) on "literal" + std::string.
std::string relu_name(int i) {
    std::string s = "r";
    s += std::to_string(i);
    return s;
}

/// The piece holding node `i`.
std::size_t piece_of(const so::detail::inference_plan& plan, int i) {
    for (std::size_t k = 0; k < plan.pieces.size(); ++k)
        if (plan.pieces[k].begin <= i && i < plan.pieces[k].end) return k;
    FAIL("node " << i << " is in no piece");
    return 0;
}

/// Checks the plan's invariants on `m`: the pieces cover the nodes in order, and every value a piece
/// reads is made in it, carried into it, or a graph input or initializer it holds.
void check_plan(const pb::ModelProto& m, const so::detail::inference_plan& plan) {
    const pb::GraphProto& g = m.graph();
    REQUIRE(!plan.pieces.empty());
    CHECK(plan.pieces.front().begin == 0);
    CHECK(plan.pieces.back().end == g.node_size());
    for (std::size_t k = 0; k + 1 < plan.pieces.size(); ++k) {
        CHECK(plan.pieces[k].end == plan.pieces[k + 1].begin);
        CHECK(plan.pieces[k].begin < plan.pieces[k].end);
    }
    for (std::size_t k = 0; k < plan.pieces.size(); ++k) {
        const auto& p = plan.pieces[k];
        std::vector<std::string> known;
        for (int j : p.inputs) known.push_back(g.input(j).name());
        for (int j : p.initializers) known.push_back(g.initializer(j).name());
        for (const auto& vi : p.carried) {
            known.push_back(vi.name());
            CHECK(so::detail::concrete_type(vi.type()));
        }
        for (int i = p.begin; i < p.end; ++i) {
            for (const auto& x : g.node(i).input()) {
                if (x.empty()) continue;
                CAPTURE(x);
                CHECK(std::find(known.begin(), known.end(), x) != known.end());
            }
            for (const auto& y : g.node(i).output()) known.push_back(y);
        }
    }
}

} // namespace parallel_check_test

using namespace parallel_check_test;

TEST_CASE("a plan cuts a written network into pieces where only values of concrete types cross") {
    const pb::ModelProto m = so::to_model_proto(surgery::test::zoo(17));
    for (std::size_t pieces : {2u, 3u, 6u, 12u}) {
        CAPTURE(pieces);
        const auto plan = so::detail::plan_inference(m, pieces);
        REQUIRE(plan);
        CHECK(plan->pieces.size() >= std::min<std::size_t>(pieces, 2));
        CHECK(plan->pieces.size() <= pieces);
        check_plan(m, *plan);
        // every value info and graph output in exactly one piece
        std::size_t infos = 0, outputs = 0;
        for (const auto& p : plan->pieces) {
            infos += p.value_infos.size();
            outputs += p.outputs.size();
        }
        CHECK(infos == static_cast<std::size_t>(m.graph().value_info_size()));
        CHECK(outputs == static_cast<std::size_t>(m.graph().output_size()));
    }
    CHECK(so::detail::plan_inference(m, 6)->pieces.size() >= 4);
}

TEST_CASE("a plan finds the cuts where only values of concrete types cross, among many where others do") {
    // A chain of 80 Relus whose values are declared with a symbolic batch size, except r3, r13, ...:
    // the cut near node 20 can only be at 24 (r23 crosses it), the fifth-nearest position.
    proto_builder b(17);
    b.input("x", {1, 16}).output("y", {1, 16}, true);
    std::string prev = "x";
    for (int i = 0; i < 80; ++i) {
        const std::string out = i == 79 ? std::string("y") : relu_name(i);
        b.node("Relu", {prev}, {out}, out);
        prev = out;
    }
    pb::ModelProto m = b.model();
    for (int i = 0; i < 79; ++i) {
        auto* vi = m.mutable_graph()->add_value_info();
        vi->set_name(relu_name(i));
        proto_builder::set_type(*vi, {i % 10 == 3 ? std::int64_t{1} : std::int64_t{-1}, 16}, pb::TensorProto_DataType_FLOAT);
    }
    const auto plan = so::detail::plan_inference(m, 4);
    REQUIRE(plan);
    CHECK(plan->pieces.size() == 4);
    check_plan(m, *plan);
    CHECK(plan->pieces[1].begin == 24);
    CHECK(in_pieces(m, 4) == sequential(m));
}

TEST_CASE("no plan where libonnx's inference carries state across the graph") {
    const pb::ModelProto good = so::to_model_proto(surgery::test::zoo(17));
    REQUIRE(so::detail::plan_inference(good, 4));
    SUBCASE("an op libonnx does not know (it drops the errors of every later node)") {
        pb::ModelProto m = good;
        m.mutable_graph()->mutable_node(3)->set_op_type("NoSuchOp");
        CHECK(!so::detail::plan_inference(m, 4));
    }
    SUBCASE("a node of another domain") {
        pb::ModelProto m = good;
        m.mutable_graph()->mutable_node(3)->set_domain("com.example");
        CHECK(!so::detail::plan_inference(m, 4));
    }
    SUBCASE("every value of a symbolic batch size: no cut where only concrete types cross") {
        pb::ModelProto m = good;
        for (auto& vi : *m.mutable_graph()->mutable_value_info())
            vi.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("N");
        CHECK(!so::detail::plan_inference(m, 4));
        CHECK(in_pieces(m, 4) == sequential(m));
    }
    SUBCASE("a value read before it is made") {
        pb::ModelProto m = good;
        m.mutable_graph()->mutable_node()->SwapElements(1, 2);
        CHECK(!so::detail::plan_inference(m, 4));
        CHECK(in_pieces(m, 4) == sequential(m)); // the checker's message
        CHECK(!sequential(m).empty());
    }
    SUBCASE("a value info that declares a graph input") {
        pb::ModelProto m = good;
        *m.mutable_graph()->add_value_info() = m.graph().input(0);
        CHECK(!so::detail::plan_inference(m, 4));
    }
}

TEST_CASE("a Constant's tensor, a value without a declaration or with two, and one of symbolic shape never cross a cut") {
    // node 0: Constant shape; 1-11: Relu r0..r10; 12: Reshape(r10, shape) -> mid; 13-41: Relu r11..r39;
    // 42: Reshape(r39, shape2) -> reshaped; 43: Reshape(r0, shape2) -> early (r0 read far from its
    // producer); 44: Add(reshaped, early) -> s; 45: Add(s, mid) -> y.
    proto_builder b(17);
    b.input("x", {1, 16}).output("y", {2, 8}, true).ints("shape2", {2, 8});
    auto& c = b.node("Constant", {}, {"shape"}, "shape");
    auto* t = c.add_attribute();
    t->set_name("value");
    t->set_type(pb::AttributeProto_AttributeType_TENSOR);
    t->mutable_t()->set_data_type(pb::TensorProto_DataType_INT64);
    t->mutable_t()->add_dims(2);
    t->mutable_t()->add_int64_data(2);
    t->mutable_t()->add_int64_data(8);
    std::string prev = "x";
    for (int i = 0; i < 40; ++i) {
        const std::string out = relu_name(i);
        b.node("Relu", {prev}, {out}, out);
        prev = out;
        if (i == 10) b.node("Reshape", {"r10", "shape"}, {"mid"}, "mid");
    }
    b.node("Reshape", {"r39", "shape2"}, {"reshaped"}, "reshaped");
    b.node("Reshape", {"r0", "shape2"}, {"early"}, "early");
    b.node("Add", {"reshaped", "early"}, {"s"}, "s");
    b.node("Add", {"s", "mid"}, {"y"}, "y");
    const pb::ModelProto bare = b.model();
    REQUIRE(bare.graph().node_size() == 46);
    REQUIRE(bare.graph().node(12).name() == "mid");
    auto declare = [](pb::ModelProto& m, const std::string& name, std::vector<std::int64_t> shape) {
        auto* vi = m.mutable_graph()->add_value_info();
        vi->set_name(name);
        proto_builder::set_type(*vi, shape, pb::TensorProto_DataType_FLOAT);
    };
    pb::ModelProto m = bare;
    for (int i = 0; i < 40; ++i) declare(m, relu_name(i), {1, 16});
    for (const char* name : {"mid", "reshaped", "early", "s"}) declare(m, name, {2, 8});
    REQUIRE(sequential(m).empty());

    const auto plan = so::detail::plan_inference(m, 4);
    REQUIRE(plan);
    CHECK(plan->pieces.size() >= 3);
    check_plan(m, *plan);
    // The Constant (node 0) and its reader (node 12) are in one piece: its tensor does not cross;
    // r0 and mid (declared, concrete) are carried to the end.
    CHECK(piece_of(*plan, 0) == piece_of(*plan, 12));
    auto carried = [&](std::size_t k, const std::string& name) {
        const auto& list = plan->pieces[k].carried;
        return std::any_of(list.begin(), list.end(), [&](const pb::ValueInfoProto& vi) { return vi.name() == name; });
    };
    CHECK(carried(plan->pieces.size() - 1, "r0"));
    CHECK(carried(plan->pieces.size() - 1, "mid"));
    CHECK(in_pieces(m, 4) == sequential(m));
    // A wrong declared output that only the types of the values carried into the last piece show
    // (y = s + mid: mid is made in the first piece).
    {
        pb::ModelProto wrong_y = m;
        set_dim(*wrong_y.mutable_graph()->mutable_output(0), 1, 9);
        REQUIRE(!sequential(wrong_y).empty());
        CHECK(in_pieces(wrong_y, 4) == sequential(wrong_y));
    }
    // A wrong declaration in the last piece is found, with the whole graph's message.
    for (auto& vi : *m.mutable_graph()->mutable_value_info())
        if (vi.name() == "reshaped") set_dim(vi, 1, 9);
    REQUIRE(!sequential(m).empty());
    CHECK(in_pieces(m, 4) == sequential(m));

    // Without declarations, no value may cross: no plan, and the same verdict.
    CHECK(!so::detail::plan_inference(bare, 4));
    CHECK(in_pieces(bare, 4) == sequential(bare));
    // A value declared twice is not carried.
    pb::ModelProto twice = bare;
    for (int i = 0; i < 40; ++i) declare(twice, relu_name(i), {1, 16});
    for (const char* name : {"mid", "reshaped", "early", "s"}) declare(twice, name, {2, 8});
    declare(twice, "r20", {1, 16});
    const auto p2 = so::detail::plan_inference(twice, 8);
    REQUIRE(p2);
    check_plan(twice, *p2);
    for (const auto& piece : p2->pieces)
        for (const auto& vi : piece.carried) CHECK(vi.name() != "r20");
    CHECK(in_pieces(twice, 8) == sequential(twice));
    // Declarations in any order (each found by name).
    pb::ModelProto shuffled = twice;
    std::mt19937 rng(5);
    auto* vis = shuffled.mutable_graph()->mutable_value_info();
    for (int i = vis->size() - 1; i > 0; --i) vis->SwapElements(i, static_cast<int>(rng() % static_cast<unsigned>(i + 1)));
    const auto p3 = so::detail::plan_inference(shuffled, 4);
    REQUIRE(p3);
    check_plan(shuffled, *p3);
    CHECK(in_pieces(shuffled, 4) == sequential(shuffled));
}

TEST_CASE("inference on pieces gives the whole graph's verdict and message, wherever the errors are") {
    const pb::ModelProto good = so::to_model_proto(surgery::test::zoo(17));
    const pb::GraphProto& g = good.graph();
    REQUIRE(sequential(good).empty());
    std::vector<pb::ModelProto> variants;
    // A wrong declared dimension on each value in turn: libonnx throws at once (a merge that fails).
    for (int j = 0; j < g.value_info_size(); ++j) {
        if (g.value_info(j).type().tensor_type().shape().dim_size() == 0) continue;
        pb::ModelProto v = good;
        set_dim(*v.mutable_graph()->mutable_value_info(j), 0, 7);
        variants.push_back(std::move(v));
    }
    // An axis out of range on each node that has one: its inference function fails, and libonnx
    // lists the error and goes on to the next node.
    std::vector<int> with_axis;
    for (int i = 0; i < g.node_size(); ++i)
        for (int a = 0; a < g.node(i).attribute_size(); ++a)
            if (g.node(i).attribute(a).name() == "axis") {
                pb::ModelProto v = good;
                v.mutable_graph()->mutable_node(i)->mutable_attribute(a)->set_i(40);
                variants.push_back(std::move(v));
                with_axis.push_back(i);
            }
    REQUIRE(with_axis.size() >= 2);
    // Two listed errors in different pieces (joined), and a listed one before a thrown one (the
    // thrown one wins, as on the whole graph).
    auto set_axis = [](pb::ModelProto& v, int node) {
        for (auto& a : *v.mutable_graph()->mutable_node(node)->mutable_attribute())
            if (a.name() == "axis") a.set_i(40);
    };
    {
        pb::ModelProto v = good;
        set_axis(v, with_axis.front());
        set_axis(v, with_axis.back());
        variants.push_back(v);
        set_dim(*v.mutable_graph()->mutable_value_info(g.value_info_size() - 1), 0, 7);
        variants.push_back(std::move(v));
    }
    std::size_t failing = 0, joined = 0;
    for (std::size_t k = 0; k < variants.size(); ++k) {
        CAPTURE(k);
        const std::string whole = sequential(variants[k]);
        failing += !whole.empty();
        joined += std::count(whole.begin(), whole.end(), '\n') >= 2;
        for (std::size_t pieces : {2u, 3u, 5u, 9u, 64u}) {
            CAPTURE(pieces);
            CHECK(in_pieces(variants[k], pieces) == whole);
        }
    }
    CHECK(failing >= variants.size() - 2); // nearly every variant is an error (a test that can fail)
    CHECK(joined >= 1);                     // and one message lists the errors of two pieces
}

TEST_CASE("the errors of the pieces make the whole graph's") {
    using so::detail::whole_graph_error;
    auto listed = [](const std::string& lines) {
        return std::make_exception_ptr(pb::InferenceError("[ShapeInferenceError] Shape inference error(s): " + lines));
    };
    auto thrown = [](const std::string& what) { return std::make_exception_ptr(pb::InferenceError("[ShapeInferenceError] " + what)); };
    auto what = [](std::exception_ptr e) { return thrown_message([&] { if (e) std::rethrow_exception(e); }); };
    CHECK(!whole_graph_error({nullptr, nullptr}));
    CHECK(what(whole_graph_error({nullptr, listed("a\n"), nullptr, listed("b\nc\n")})) ==
          "[ShapeInferenceError] Shape inference error(s): a\nb\nc\n");
    CHECK(what(whole_graph_error({listed("a\n"), thrown("(op_type:Relu): x"), thrown("second")})) == "[ShapeInferenceError] (op_type:Relu): x");
    CHECK(what(whole_graph_error({thrown("first"), listed("a\n")})) == "[ShapeInferenceError] first");
    CHECK(what(whole_graph_error({nullptr, std::make_exception_ptr(std::runtime_error("other")), listed("a\n")})) == "other");
}

TEST_CASE("the check in pieces gives the model back whole") {
    const pb::ModelProto good = so::to_model_proto(surgery::test::zoo(17));
    for (bool fails : {false, true}) {
        CAPTURE(fails);
        pb::ModelProto m = good;
        if (fails) set_dim(*m.mutable_graph()->mutable_value_info(m.graph().value_info_size() / 2), 0, 7);
        so::detail::arena_model own;
        own->CopyFrom(m);
        std::vector<const pb::ValueInfoProto*> infos;
        for (const auto& vi : own->graph().value_info()) infos.push_back(&vi);
        const std::string message = thrown_message([&] { so::detail::check_model_in_parallel(*own, *own, strict, 2, 5); });
        CHECK(message.empty() == !fails);
        // the same value infos, in the same order (inference merged into them; it added none here)
        REQUIRE(own->graph().value_info_size() == static_cast<int>(infos.size()));
        for (int j = 0; j < own->graph().value_info_size(); ++j) CHECK(&own->graph().value_info(j) == infos[static_cast<std::size_t>(j)]);
        pb::GraphProto a = own->graph(), b = m.graph();
        a.clear_value_info();
        b.clear_value_info();
        CHECK(a.SerializeAsString() == b.SerializeAsString());
        // a const model checked on a copy is not touched
        const std::string before = m.SerializeAsString();
        pb::ModelProto scratch;
        CHECK(thrown_message([&] { so::detail::check_model_in_parallel(m, scratch, strict, 2, 5); }) == message);
        CHECK(m.SerializeAsString() == before);
    }
}
