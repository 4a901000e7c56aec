// Tests of surgery/onnx/reader.hpp: malformed input gives io_error naming the node; older opsets' forms are converted.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "surgery/ir.hpp"
#include "surgery/onnx.hpp"

#include "graph_compare.hpp"
#include "proto_builder.hpp"
#include "zoo.hpp"

namespace fs = std::filesystem;
namespace so = surgery::onnx;
namespace ir = surgery::ir;
using surgery::io_error;
using surgery::test::attr_f;
using surgery::test::attr_i;
using surgery::test::attr_ints;
using surgery::test::attr_s;
using surgery::test::find_attr;
using surgery::test::proto_builder;

namespace {

constexpr int f32 = ::onnx::TensorProto_DataType_FLOAT;

std::string message_of(const ::onnx::ModelProto& m) {
    try {
        (void)so::from_model_proto(m);
    } catch (const io_error& e) {
        return e.what();
    }
    return "<no error>";
}

fs::path write_bytes(const std::string& name, const std::string& bytes) {
    const fs::path p = fs::temp_directory_path() / ("surgery_reader_" + std::to_string(std::random_device{}()) + "_" + name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}

/// A small valid model: x -> Conv -> Relu -> y, opset 13.
proto_builder small_model() {
    proto_builder b(13);
    b.input("x", {1, 2, 4, 4}).floats("w", {3, 2, 1, 1}, std::vector<float>(6, 0.5f)).output("y", {1, 3, 4, 4}, true);
    b.node("Conv", {"x", "w"}, {"c"}, "conv");
    b.node("Relu", {"c"}, {"y"}, "relu");
    return b;
}

/// The node that produces graph output `k`.
const ir::Node& producer_of_output(const ir::Graph& g, std::size_t k = 0) { return g.node(g.producer(g.outputs()[k])); }

} // namespace

TEST_CASE("a valid model loads with names, shapes and constants") {
    proto_builder b = small_model();
    const ir::Graph g = so::from_model_proto(b.model());
    CHECK(g.opset == 13);
    CHECK(g.producer_name == "test");
    CHECK(g.num_nodes() == 2);
    REQUIRE(g.find_node("conv"));
    const ir::Node& conv = g.node(*g.find_node("conv"));
    CHECK(conv.is<ir::ops::Conv>());
    CHECK(g.value(conv.inputs[1]).is_constant());
    CHECK(g.constant(conv.inputs[1])->shape == ir::Shape{3, 2, 1, 1});
    CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{1, 3, 4, 4});
    CHECK(g.value(g.outputs()[0]).name == "y");
    CHECK_NOTHROW(ir::verify(g));
}

TEST_CASE("malformed files and graphs give io_error naming the file, the node and the op") {
    SUBCASE("random bytes and truncated files") {
        std::mt19937 rng(1);
        std::string garbage(4096, '\0');
        for (char& c : garbage) c = static_cast<char>(rng());
        const fs::path p = write_bytes("garbage.onnx", garbage);
        CHECK_THROWS_WITH_AS((void)so::load(p), doctest::Contains(p.string().c_str()), io_error);
        fs::remove(p);

        const std::string good = small_model().model().SerializeAsString();
        for (std::size_t cut : {good.size() / 2, good.size() - 3, std::size_t{7}}) {
            CAPTURE(cut);
            const fs::path t = write_bytes("truncated.onnx", good.substr(0, cut));
            CHECK_THROWS_WITH_AS((void)so::load(t), doctest::Contains(t.string().c_str()), io_error);
            fs::remove(t);
        }
        CHECK_THROWS_WITH_AS((void)so::load("/nonexistent/model.onnx"), doctest::Contains("/nonexistent/model.onnx"), io_error);
        CHECK_THROWS_WITH_AS((void)so::load(fs::temp_directory_path()), doctest::Contains("directory"), io_error);
    }
    SUBCASE("an op outside the catalogue is carried as opaque, not refused") {
        proto_builder b = small_model();
        b.node("NonMaxSuppression", {"y"}, {"z"}, "nms");
        b.output("z");
        const ir::Graph g = so::from_model_proto(b.model());
        const ir::Node& nms = g.node(g.producer(*g.find_value("z")));
        REQUIRE(nms.as<ir::ops::Opaque>() != nullptr);
        CHECK(nms.as<ir::ops::Opaque>()->op_type == "NonMaxSuppression");
        CHECK(nms.name == "nms");
    }
    SUBCASE("an op of the default domain that exists only from a later opset is refused, naming the file, the node and the op") {
        proto_builder b = small_model();
        b.node("Trilu", {"y"}, {"z"}, "trilu"); // ONNX defines Trilu from opset 14
        const fs::path p = write_bytes("too_new_op.onnx", b.model().SerializeAsString());
        CHECK_THROWS_WITH_AS((void)so::load(p), ("'" + p.string() + "': node 'trilu' (index 2): op 'Trilu' does not exist in opset 13 (ONNX defines it from opset 14)").c_str(),
                             io_error);
        fs::remove(p);
        b.model().mutable_graph()->mutable_node(2)->set_name("");
        CHECK(message_of(b.model()).rfind("node #2: op 'Trilu' does not exist in opset 13", 0) == 0);
    }
    SUBCASE("the output type of a vendor op no value_info declares: what follows it takes the declared types") {
        // x -> Relu -> com.vendor::MyNpuOp -> Relu -> Relu -> y: only y is declared (float32).
        proto_builder b(13);
        b.input("x", {1, 4}).output("y", {1, 4}, true);
        b.node("Relu", {"x"}, {"r"}, "r0");
        b.node("MyNpuOp", {"r"}, {"v"}, "npu").set_domain("com.vendor");
        b.node("Relu", {"v"}, {"r1"}, "r1");
        b.node("Relu", {"r1"}, {"y"}, "r2");
        auto* os = b.model().add_opset_import();
        os->set_domain("com.vendor");
        os->set_version(1);
        ir::Graph g = so::from_model_proto(b.model());
        CHECK(g.value(*g.find_value("y")).dtype == ir::DType::f32);
        CHECK(g.value(*g.find_value("v")).dtype == ir::DType::undefined); // nothing says it
        ir::infer_shapes(g); // inference keeps a declared type it cannot infer
        CHECK(g.value(*g.find_value("y")).dtype == ir::DType::f32);
        const ir::Graph back = so::from_model_proto(so::to_model_proto(g));
        CHECK(back.value(*back.find_value("y")).dtype == ir::DType::f32);
        // A type that is inferred still has to agree with the declaration.
        proto_builder c(13);
        c.input("x", {1, 4}).output("y", {1, 4}, true, ::onnx::TensorProto_DataType_INT64);
        c.node("Relu", {"x"}, {"y"}, "relu");
        CHECK(message_of(c.model()) == "node 'relu' (index 0): op 'Relu': output 'y' is declared int64 but inferred float32");
    }
    SUBCASE("an attribute ONNX turned into an input, given as an attribute after that opset, is refused by name") {
        proto_builder b(18);
        b.input("x", {2, 3}).output("y");
        attr_ints(b.node("ReduceMean", {"x"}, {"y"}, "rm"), "axes", {1});
        CHECK(message_of(b.model()) == "node 'rm' (index 0): op 'ReduceMean' has no attribute 'axes' in opset 18 (it is input 1 from opset 18 on)");
        proto_builder c(17); // still an attribute in opset 17
        c.input("x", {2, 3}).output("y");
        attr_ints(c.node("ReduceMean", {"x"}, {"y"}, "rm"), "axes", {1});
        CHECK(message_of(c.model()) == "<no error>");
    }
    SUBCASE("a name ONNX does not know, even without a domain, is carried as opaque") {
        proto_builder b = small_model();
        b.node("Frobnicate", {"y"}, {"z"}, "frob");
        b.output("z");
        const ir::Graph g = so::from_model_proto(b.model());
        const auto* f = g.node(g.producer(*g.find_value("z"))).as<ir::ops::Opaque>();
        REQUIRE(f != nullptr);
        CHECK(f->op_type == "Frobnicate");
    }
    SUBCASE("wrong arity") {
        proto_builder b = small_model();
        b.node("Add", {"y"}, {"z"}, "add1");
        CHECK(message_of(b.model()) == "node 'add1' (index 2): op 'Add' takes 2 inputs, got 1");
        proto_builder c = small_model();
        c.node("Relu", {"y"}, {"z1", "z2"}, "relu2");
        CHECK(message_of(c.model()) == "node 'relu2' (index 2): op 'Relu' produces 1 outputs, got 2");
    }
    SUBCASE("missing input value") {
        proto_builder b = small_model();
        b.node("Add", {"y", "nowhere"}, {"z"}, "add");
        CHECK(message_of(b.model()) == "node 'add' (index 2): op 'Add' reads 'nowhere', which no node, initializer or graph input defines");
    }
    SUBCASE("non-default domain") {
        proto_builder b = small_model();
        b.node("FusedConv", {"y"}, {"z"}, "fc").set_domain("com.microsoft");
        b.output("z");
        auto* opset = b.model().add_opset_import();
        opset->set_domain("com.microsoft");
        opset->set_version(1);
        const ir::Graph g = so::from_model_proto(b.model()); // a vendor op: opaque, domain kept
        const auto* fc = g.node(g.producer(*g.find_value("z"))).as<ir::ops::Opaque>();
        REQUIRE(fc != nullptr);
        CHECK(fc->op_domain == "com.microsoft");
        proto_builder ok = small_model();
        ok.model().mutable_graph()->mutable_node(1)->set_domain("ai.onnx");
        CHECK_NOTHROW((void)so::from_model_proto(ok.model()));
    }
    SUBCASE("unknown attribute and attribute of the wrong type") {
        proto_builder b = small_model();
        attr_i(*b.model().mutable_graph()->mutable_node(1), "bogus", 1);
        CHECK(message_of(b.model()) == "node 'relu' (index 1): op 'Relu' has no attribute 'bogus' in opset 13 (ONNX's schema, version 13)");
        proto_builder c = small_model();
        attr_f(*c.model().mutable_graph()->mutable_node(0), "group", 1.0f);
        CHECK(message_of(c.model()) == "node 'conv' (index 0): op 'Conv': attribute 'group' has type float, expected int");
    }
    SUBCASE("shapes that do not fit name the node") {
        proto_builder b(13);
        b.input("x", {1, 2, 4, 4}).floats("w", {3, 5, 1, 1}, std::vector<float>(15, 0.5f)).output("y");
        b.node("Conv", {"x", "w"}, {"y"}, "conv");
        CHECK(message_of(b.model()).rfind("node 'conv' (index 0): op 'Conv': Conv: input has 2 channels", 0) == 0);
    }
    SUBCASE("declared shape differing from the inferred one") {
        proto_builder b = small_model();
        auto* vi = b.model().mutable_graph()->add_value_info();
        vi->set_name("c");
        proto_builder::set_type(*vi, {1, 3, 5, 5}, f32);
        CHECK(message_of(b.model()) == "node 'conv' (index 0): op 'Conv': output 'c' is declared [1,3,5,5] but inferred [1,3,4,4]");
    }
    SUBCASE("graph-level problems") {
        ::onnx::ModelProto empty;
        CHECK(message_of(empty) == "the model has no graph");
        proto_builder b = small_model();
        b.output("ghost");
        CHECK(message_of(b.model()) == "graph output 'ghost' is not produced by any node, initializer or input");
        proto_builder c = small_model();
        c.node("Relu", {"x"}, {"c"}, "again");
        CHECK(message_of(c.model()) == "node 'again' (index 2): output 'c' is already defined elsewhere");
        proto_builder d(13);
        d.input("x", {2}).output("b");
        d.node("Relu", {"x"}, {"a"}, "r1");
        d.node("Add", {"a", "b"}, {"b2"}, "add");
        d.node("Relu", {"b2"}, {"b"}, "r2");
        d.model().mutable_graph()->mutable_node(1)->set_input(1, "b");
        CHECK(message_of(d.model()).find("has a cycle") != std::string::npos);
        // A graph input listed twice (found by fuzz_onnx_load: the second was taken for an
        // initializer's input entry and its missing data dereferenced), also when it has an initializer.
        proto_builder twice(13);
        twice.input("x", {2}).input("x", {2}).output("x");
        CHECK(message_of(twice.model()) == "graph input 'x' is listed twice");
        for (const bool freeze : {false, true}) {
            CAPTURE(freeze);
            proto_builder w(13);
            w.input("x", {2}).input("w", {2}).floats("w", {2}, {1, 2}).input("w", {2}).output("y");
            w.node("Add", {"x", "w"}, {"y"}, "add");
            so::load_options opt;
            opt.freeze_inputs = freeze;
            CHECK_THROWS_WITH_AS((void)so::from_model_proto(w.model(), opt), "graph input 'w' is listed twice", io_error);
        }
        // A zero stride beside an op outside the catalogue: libonnx's shape inference, which the
        // reader runs for such ops, would divide by it (found by fuzz_onnx_load: SIGFPE); the reader
        // skips it and refuses the Conv itself.
        proto_builder z(13);
        z.input("x", {1, 4, 8, 8}).floats("w", {4, 4, 1, 1}, std::vector<float>(16, 0.5f)).output("y");
        auto& conv = z.node("Conv", {"x", "w"}, {"c"}, "conv");
        surgery::test::attr_ints(conv, "strides", {1, 0});
        z.node("LpPool", {"c"}, {"y"}, "lp");
        const std::string zm = message_of(z.model());
        CHECK(zm.find("'conv'") != std::string::npos);
        CHECK(zm.find("stride") != std::string::npos);
        proto_builder e(13);
        e.input("x", {2}, ::onnx::TensorProto_DataType_UNDEFINED).output("x");
        CHECK(message_of(e.model()).find("graph input 'x'") != std::string::npos);
        proto_builder f(99);
        f.input("x", {2}).output("x");
        CHECK(message_of(f.model()) == "opset 99 is not supported (model-surgery reads opsets 1 to 20)");
        proto_builder h(13, "ai.onnx.ml");
        h.input("x", {2}).output("x");
        CHECK(message_of(h.model()) == "the model imports no opset of the default ONNX domain");
        proto_builder k(13);
        k.input("x", {2}).output("x");
        k.model().mutable_graph()->add_sparse_initializer();
        CHECK(message_of(k.model()) == "sparse initializers are not supported");
    }
    SUBCASE("tensors: external data, bad sizes, unsupported types") {
        proto_builder b = small_model();
        auto* w = b.model().mutable_graph()->mutable_initializer(0);
        w->clear_float_data();
        w->set_data_location(::onnx::TensorProto_DataLocation_EXTERNAL);
        auto* kv = w->add_external_data();
        kv->set_key("location");
        kv->set_value("weights.bin");
        CHECK(message_of(b.model()).rfind("initializer 'w': data is stored in an external file ('weights.bin')", 0) == 0);
        proto_builder c = small_model();
        c.model().mutable_graph()->mutable_initializer(0)->add_float_data(1.0f);
        CHECK(message_of(c.model()) == "initializer 'w': float_data holds 7 values but shape [3,2,1,1] needs 6");
        proto_builder d = small_model();
        d.model().mutable_graph()->mutable_initializer(0)->set_data_type(::onnx::TensorProto_DataType_FLOAT16);
        CHECK(message_of(d.model()) ==
              "initializer 'w': element type float16 is not supported (model-surgery handles float32, int64, int32 and bool)");
        proto_builder e = small_model();
        e.model().mutable_graph()->mutable_initializer(0)->set_dims(0, std::int64_t{1} << 40);
        CHECK(message_of(e.model()).find("too large") != std::string::npos);
    }
    SUBCASE("training-mode BatchNormalization (statistics outputs declared) is carried as opaque, never turned into inference") {
        proto_builder b(9);
        b.input("x", {1, 2, 3, 3});
        for (const char* n : {"s", "b", "m", "v"}) b.floats(n, {2}, {1, 1});
        b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y", "rm", "rv", "sm", "sv"}, "bn");
        b.output("y").output("rm");
        const ir::Graph g = so::from_model_proto(b.model());
        const auto* bn = producer_of_output(g).as<ir::ops::Opaque>();
        REQUIRE(bn != nullptr);
        CHECK(bn->op_type == "BatchNormalization");
    }
    SUBCASE("an op newer than the model's opset") {
        proto_builder b(13);
        b.input("x", {2, 3}).output("y");
        b.node("HardSwish", {"x"}, {"y"}, "hs");
        CHECK(message_of(b.model()) == "node 'hs' (index 0): op 'HardSwish' does not exist in opset 13 (ONNX defines it from opset 14)");
        // The first opset that has the op, not its latest revision (Erf: 9, revised in 13).
        proto_builder c(8);
        c.input("x", {2, 3}).output("y");
        c.node("Erf", {"x"}, {"y"}, "erf");
        CHECK(message_of(c.model()) == "node 'erf' (index 0): op 'Erf' does not exist in opset 8 (ONNX defines it from opset 9)");
    }
    SUBCASE("an element type code ONNX does not define") {
        proto_builder b(13);
        b.input("x", {2, 3}, 99).output("y");
        b.node("Relu", {"x"}, {"y"}, "relu");
        CHECK(message_of(b.model()) == "graph input 'x' has element type code 99, which is not one ONNX defines");
    }
}

TEST_CASE("damaged copies of valid models never crash: they load or throw surgery::error") {
    for (const std::string& good : {small_model().model().SerializeAsString(), so::to_model_proto(surgery::test::zoo(11)).SerializeAsString(),
                                    so::to_model_proto(surgery::test::zoo(17)).SerializeAsString()}) {
        std::mt19937 rng(42);
        std::size_t loaded = 0, rejected = 0;
        const int rounds = 1500;
        for (int round = 0; round < rounds; ++round) {
            std::string bytes = good;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
            if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
            ::onnx::ModelProto m;
            if (!m.ParseFromString(bytes)) {
                ++rejected;
                continue;
            }
            try {
                const ir::Graph g = so::from_model_proto(m);
                ir::verify(g);
                ++loaded;
            } catch (const surgery::error&) {
                ++rejected;
            }
        }
        MESSAGE(good.size() << "-byte model: " << loaded << " damaged copies loaded, " << rejected << " rejected");
        CHECK(loaded + rejected == rounds);
    }
}

TEST_CASE("Constant nodes become constants; every value form is accepted") {
    proto_builder b(13);
    b.input("x", {2, 3}).output("y");
    auto& c1 = b.node("Constant", {}, {"shape"}, "c1");
    attr_ints(c1, "value_ints", {3, 2});
    auto& c2 = b.node("Constant", {}, {"two"}, "c2");
    attr_f(c2, "value_float", 2.0f);
    auto& c3 = b.node("Constant", {}, {"t"}, "c3");
    auto* a = c3.add_attribute();
    a->set_name("value");
    a->set_type(::onnx::AttributeProto_AttributeType_TENSOR);
    *a->mutable_t() = so::to_tensor_proto(ir::Tensor::floats({1}, {0.5f}));
    b.node("Reshape", {"x", "shape"}, {"r"}, "reshape");
    b.node("Mul", {"r", "two"}, {"m"}, "mul");
    b.node("Add", {"m", "t"}, {"y"}, "add");
    const ir::Graph g = so::from_model_proto(b.model());
    CHECK(g.num_nodes() == 3);
    CHECK(g.constant(*g.find_value("shape"))->i == std::vector<std::int64_t>{3, 2});
    CHECK(g.constant(*g.find_value("two"))->shape.empty());
    CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{3, 2});
}

TEST_CASE("graph inputs that are also initializers stay inputs with a default (constants with freeze_inputs); symbolic dims are -1") {
    proto_builder b(9);
    b.input("x", {-1, 2}).input("w", {2, 2}).floats("w", {2, 2}, {1, 2, 3, 4}).output("y");
    b.node("MatMul", {"x", "w"}, {"y"}, "mm");
    {
        const ir::Graph g = so::from_model_proto(b.model());
        CHECK(g.inputs().size() == 2);
        CHECK_FALSE(g.value(*g.find_value("w")).is_constant());
        CHECK(so::to_model_proto(g).graph().input_size() == 2); // the interface is unchanged
    }
    so::load_options frozen;
    frozen.freeze_inputs = true;
    const ir::Graph g = so::from_model_proto(b.model(), frozen);
    REQUIRE(g.inputs().size() == 1);
    CHECK(g.value(*g.find_value("w")).is_constant());
    CHECK(*g.value(g.inputs()[0]).shape == ir::Shape{-1, 2});
    CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{-1, 2});
}

TEST_CASE("older opsets are converted to the IR's forms") {
    SUBCASE("Clip min/max attributes (opset < 11) become inputs") {
        proto_builder b(6);
        b.input("x", {2, 3}).output("y");
        auto& n = b.node("Clip", {"x"}, {"y"}, "clip");
        attr_f(n, "min", 0.0f);
        attr_f(n, "max", 6.0f);
        const ir::Graph g = so::from_model_proto(b.model());
        CHECK(g.opset == 11);
        const ir::Node& c = producer_of_output(g);
        REQUIRE(c.inputs.size() == 3);
        CHECK(g.constant(c.inputs[1])->f == std::vector<float>{0.0f});
        CHECK(g.constant(c.inputs[2])->f == std::vector<float>{6.0f});
        CHECK(g.constant(c.inputs[2])->shape.empty());
        CHECK_NOTHROW(so::check(so::to_model_proto(g)));

        proto_builder only_max(6);
        only_max.input("x", {2, 3}).output("y");
        attr_f(only_max.node("Clip", {"x"}, {"y"}, "clip"), "max", 1.0f);
        const ir::Graph g2 = so::from_model_proto(only_max.model());
        const ir::Node& c2 = producer_of_output(g2);
        REQUIRE(c2.inputs.size() == 3);
        CHECK_FALSE(c2.inputs[1].valid());
        CHECK_NOTHROW(so::check(so::to_model_proto(g2)));
    }
    SUBCASE("Slice attributes (opset < 10) become inputs") {
        proto_builder b(9);
        b.input("x", {4, 6}).output("y");
        auto& n = b.node("Slice", {"x"}, {"y"}, "slice");
        attr_ints(n, "starts", {1, 0});
        attr_ints(n, "ends", {3, 100});
        attr_ints(n, "axes", {0, 1});
        const ir::Graph g = so::from_model_proto(b.model());
        const ir::Node& s = producer_of_output(g);
        REQUIRE(s.inputs.size() == 4);
        CHECK(g.constant(s.inputs[2])->i == std::vector<std::int64_t>{3, 100});
        CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{2, 6});
        CHECK_NOTHROW(so::check(so::to_model_proto(g)));
    }
    SUBCASE("Squeeze/Unsqueeze axes attribute (opset < 13) becomes an input, and is written back as an attribute") {
        proto_builder b(11);
        b.input("x", {2, 1, 3}).output("y");
        attr_ints(b.node("Squeeze", {"x"}, {"s"}, "sq"), "axes", {1});
        attr_ints(b.node("Unsqueeze", {"s"}, {"y"}, "us"), "axes", {0, 3});
        const ir::Graph g = so::from_model_proto(b.model());
        const ir::Node& us = producer_of_output(g);
        REQUIRE(us.inputs.size() == 2);
        CHECK(g.constant(us.inputs[1])->i == std::vector<std::int64_t>{0, 3});
        CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{1, 2, 3, 1});
        const ::onnx::ModelProto m = so::to_model_proto(g);
        CHECK_NOTHROW(so::check(m));
        CHECK(m.opset_import(0).version() == 11);
        for (const auto& n : m.graph().node()) {
            CHECK(n.input_size() == 1);
            CHECK(find_attr(n, "axes") != nullptr);
        }
        CHECK(m.graph().initializer_size() == 0);
    }
    SUBCASE("Split: the split attribute (opset < 13) becomes the input of the opset-13 form, and back") {
        proto_builder b(11);
        b.input("x", {6, 2}).output("a").output("b");
        attr_ints(b.node("Split", {"x"}, {"a", "b"}, "split"), "split", {2, 4});
        const ir::Graph g = so::from_model_proto(b.model());
        const ir::Node& s = producer_of_output(g);
        REQUIRE(s.inputs.size() == 2);
        CHECK(g.constant(s.inputs[1])->i == std::vector<std::int64_t>{2, 4});
        CHECK(*g.value(g.outputs()[1]).shape == ir::Shape{4, 2});
        const ::onnx::ModelProto back = so::to_model_proto(g);
        CHECK_NOTHROW(so::check(back));
        CHECK(back.graph().node(0).input_size() == 1);
        CHECK(find_attr(back.graph().node(0), "split") != nullptr);

        proto_builder c(13);
        c.input("x", {6, 2}).ints("sizes", {2, 4}).output("a").output("b");
        c.node("Split", {"x", "sizes"}, {"a", "b"}, "split");
        const ir::Graph g13 = so::from_model_proto(c.model());
        const ir::Node& s13 = producer_of_output(g13);
        REQUIRE(s13.inputs.size() == 2);
        CHECK(*g13.value(g13.outputs()[0]).shape == ir::Shape{2, 2});
    }
    SUBCASE("ReduceMean: the axes attribute (<= 17) becomes the input of opset 18, and back") {
        proto_builder b(17);
        b.input("x", {2, 3, 4}).output("y");
        attr_ints(b.node("ReduceMean", {"x"}, {"y"}, "rm"), "axes", {1});
        const ir::Graph g = so::from_model_proto(b.model());
        REQUIRE(producer_of_output(g).inputs.size() == 2);
        CHECK(g.constant(producer_of_output(g).inputs[1])->i == std::vector<std::int64_t>{1});
        CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{2, 1, 4});
        const ::onnx::ModelProto back = so::to_model_proto(g);
        CHECK_NOTHROW(so::check(back));
        CHECK(back.graph().node(0).input_size() == 1);
        CHECK(find_attr(back.graph().node(0), "axes") != nullptr);

        proto_builder c(18);
        c.input("x", {2, 3, 4}).ints("axes", {1}).output("y");
        attr_i(c.node("ReduceMean", {"x", "axes"}, {"y"}, "rm"), "keepdims", 0);
        const ir::Graph g18 = so::from_model_proto(c.model());
        CHECK(producer_of_output(g18).inputs.size() == 2);
        CHECK(*g18.value(g18.outputs()[0]).shape == ir::Shape{2, 4});
        CHECK(g18.opset == 18);
    }
    SUBCASE("Dropout: ratio attribute (opset < 12) or input (from 12); is_test of opset 6 ignored") {
        proto_builder b(6);
        b.input("x", {2, 3}).output("y");
        auto& n = b.node("Dropout", {"x"}, {"y", "mask"}, "drop");
        attr_f(n, "ratio", 0.3f);
        attr_i(n, "is_test", 1);
        const ir::Graph g = so::from_model_proto(b.model());
        const ir::Node& d = producer_of_output(g);
        REQUIRE(d.inputs.size() == 2);
        CHECK(g.constant(d.inputs[1])->f == std::vector<float>{0.3f});
        CHECK(d.outputs.size() == 2); // the mask output is kept, though unused
        CHECK_NOTHROW(so::check(so::to_model_proto(g)));

        proto_builder c(13);
        c.input("x", {2, 3}).floats("r", {}, {0.3f}).output("y");
        c.node("Dropout", {"x", "r"}, {"y"}, "drop");
        const ir::Graph g13 = so::from_model_proto(c.model());
        CHECK(producer_of_output(g13).inputs.size() == 2);
        CHECK_NOTHROW(so::check(so::to_model_proto(g13)));
    }
    SUBCASE("BatchNormalization: unused training outputs and legacy attributes are dropped") {
        proto_builder b(6);
        b.input("x", {1, 2, 3, 3});
        for (const char* n : {"s", "b", "m", "v"}) b.floats(n, {2}, {1, 1});
        auto& n = b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y", "rm", "rv", "sm", "sv"}, "bn");
        attr_i(n, "is_test", 1);
        attr_i(n, "spatial", 1);
        attr_f(n, "epsilon", 1e-3f);
        b.output("y");
        const ir::Graph g = so::from_model_proto(b.model());
        const ir::Node& bn = producer_of_output(g);
        CHECK(bn.outputs.size() == 1);
        CHECK(bn.as<ir::ops::BatchNormalization>()->epsilon == doctest::Approx(1e-3f));
        CHECK_NOTHROW(so::check(so::to_model_proto(g)));

        proto_builder c(7);
        c.input("x", {1, 2, 3, 3});
        for (const char* nm : {"s", "b", "m", "v"}) c.floats(nm, {2}, {1, 1});
        attr_i(c.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "bn"), "spatial", 0);
        c.output("y");
        // A form the IR does not hold is carried as opaque, attributes kept.
        const ir::Graph gc = so::from_model_proto(c.model());
        const auto* bn0 = producer_of_output(gc).as<ir::ops::Opaque>();
        REQUIRE(bn0 != nullptr);
        CHECK(bn0->op_type == "BatchNormalization");
        CHECK(bn0->attribute("spatial") != nullptr);
    }
    SUBCASE("Softmax before opset 13: over the last axis kept; over another axis as Flatten -> Softmax -> Reshape") {
        proto_builder b(11);
        b.input("x", {2, 3}).output("y");
        b.node("Softmax", {"x"}, {"y"}, "sm"); // default axis 1 = last for rank 2
        const ir::Graph g = so::from_model_proto(b.model());
        CHECK(g.num_nodes() == 1);
        CHECK(producer_of_output(g).as<ir::ops::Softmax>()->axis == 1);
        CHECK_NOTHROW(so::check(so::to_model_proto(g)));

        proto_builder c(11);
        c.input("x", {2, 3, 4, 5}).output("y");
        c.node("Softmax", {"x"}, {"y"}, "sm"); // axis 1 of rank 4: softmax over 3*4*5 values
        const ir::Graph g4 = so::from_model_proto(c.model());
        CHECK(g4.num_nodes() == 3);
        CHECK(g4.op_histogram()[ir::op_kind_v<ir::ops::Flatten>] == 1);
        CHECK(g4.op_histogram()[ir::op_kind_v<ir::ops::Reshape>] == 1);
        CHECK(*g4.value(g4.outputs()[0]).shape == ir::Shape{2, 3, 4, 5});
        CHECK(g4.value(g4.outputs()[0]).name == "y");
        const ::onnx::ModelProto m = so::to_model_proto(g4);
        CHECK_NOTHROW(so::check(m));
        CHECK(surgery::test::graph_difference(g4, so::from_model_proto(m)) == "");
    }
    SUBCASE("Concat before opset 4 defaults to axis 1") {
        proto_builder b(1);
        b.input("a", {2, 3}).input("b", {2, 4}).output("y");
        b.node("Concat", {"a", "b"}, {"y"}, "cat");
        const ir::Graph g = so::from_model_proto(b.model());
        CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{2, 7});
    }
    SUBCASE("opset < 7 broadcasting with axis becomes numpy broadcasting") {
        proto_builder b(6);
        b.input("x", {2, 3, 4, 5}).floats("bias", {3}, {1, 2, 3}).output("y");
        auto& n = b.node("Add", {"x", "bias"}, {"y"}, "add");
        attr_i(n, "broadcast", 1);
        attr_i(n, "axis", 1);
        const ir::Graph g = so::from_model_proto(b.model());
        const ir::Node& add = producer_of_output(g);
        CHECK(g.constant(add.inputs[1])->shape == ir::Shape{3, 1, 1});
        CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{2, 3, 4, 5});
        CHECK_NOTHROW(so::check(so::to_model_proto(g)));
    }
    SUBCASE("Reshape before opset 5 takes the shape as an attribute") {
        proto_builder b(4);
        b.input("x", {2, 6}).output("y");
        attr_ints(b.node("Reshape", {"x"}, {"y"}, "r"), "shape", {3, 4});
        const ir::Graph g = so::from_model_proto(b.model());
        CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{3, 4});
    }
    SUBCASE("Resize: empty roi/scales mean 'not given'; before opset 11 it is rejected") {
        proto_builder b(11);
        b.input("x", {1, 2, 4, 4}).floats("roi", {0}, {}).floats("scales", {0}, {}).ints("sizes", {1, 2, 8, 8}).output("y");
        attr_s(b.node("Resize", {"x", "roi", "scales", "sizes"}, {"y"}, "rs"), "mode", "nearest");
        const ir::Graph g = so::from_model_proto(b.model());
        const ir::Node& rs = producer_of_output(g);
        REQUIRE(rs.inputs.size() == 4);
        CHECK_FALSE(rs.inputs[1].valid());
        CHECK_FALSE(rs.inputs[2].valid());
        CHECK_FALSE(g.find_value("roi").has_value());
        CHECK(*g.value(g.outputs()[0]).shape == ir::Shape{1, 2, 8, 8});
        const ::onnx::ModelProto m = so::to_model_proto(g);
        CHECK_NOTHROW(so::check(m));
        CHECK(surgery::test::graph_difference(g, so::from_model_proto(m)) == "");

        proto_builder c(10);
        c.input("x", {1, 2, 4, 4}).floats("scales", {4}, {1, 1, 2, 2}).output("y");
        c.node("Resize", {"x", "scales"}, {"y"}, "rs");
        // The opset-10 Resize (scales only) is not in the IR: carried as opaque.
        const ir::Graph gc = so::from_model_proto(c.model());
        const auto* old_resize = producer_of_output(gc).as<ir::ops::Opaque>();
        REQUIRE(old_resize != nullptr);
        CHECK(old_resize->op_type == "Resize");
    }
    SUBCASE("Split opset 18: num_outputs") {
        proto_builder b(18);
        b.input("x", {6, 2}).output("a").output("b").output("c");
        attr_i(b.node("Split", {"x"}, {"a", "b", "c"}, "split"), "num_outputs", 3);
        const ir::Graph g = so::from_model_proto(b.model());
        CHECK(*g.value(g.outputs()[2]).shape == ir::Shape{2, 2});
    }
    SUBCASE("Gelu of opset 20") {
        proto_builder b(20);
        b.input("x", {2, 3}).output("y");
        attr_s(b.node("Gelu", {"x"}, {"y"}, "gelu"), "approximate", "tanh");
        const ir::Graph g = so::from_model_proto(b.model());
        CHECK(producer_of_output(g).as<ir::ops::Gelu>()->approximate == "tanh");
    }
}

TEST_CASE("nodes out of order in the file are sorted") {
    proto_builder b(13);
    b.input("x", {2}).output("y");
    b.node("Relu", {"a"}, {"y"}, "second");
    b.node("Sigmoid", {"x"}, {"a"}, "first");
    const ir::Graph g = so::from_model_proto(b.model());
    CHECK(g.node(g.topological_order()[0]).name == "first");
    CHECK_NOTHROW(so::check(so::to_model_proto(g)));

    // Read in file order until a node reads a value not defined yet, then again from the start
    // with the nodes sorted: nothing of the first attempt is left (no node or value twice).
    proto_builder late(13);
    late.input("x", {2}).output("y");
    late.node("Relu", {"x"}, {"a"}, "r1");
    late.node("Sigmoid", {"a"}, {"b"}, "s1");
    late.node("Add", {"b", "c"}, {"y"}, "add"); // reads c, defined below
    late.node("Neg", {"b"}, {"c"}, "neg");
    proto_builder sorted(13);
    sorted.input("x", {2}).output("y");
    sorted.node("Relu", {"x"}, {"a"}, "r1");
    sorted.node("Sigmoid", {"a"}, {"b"}, "s1");
    sorted.node("Neg", {"b"}, {"c"}, "neg");
    sorted.node("Add", {"b", "c"}, {"y"}, "add");
    const ir::Graph from_late = so::from_model_proto(late.model());
    const ir::Graph from_sorted = so::from_model_proto(sorted.model());
    CHECK(from_late.num_nodes() == 4);
    CHECK(from_late.value_bound() == from_sorted.value_bound());
    CHECK(surgery::test::graph_difference(from_late, from_sorted) == "");
    std::vector<std::string> names;
    for (ir::NodeId n : from_late.topological_order()) names.push_back(from_late.node(n).name);
    CHECK(names == std::vector<std::string>{"r1", "s1", "neg", "add"});
}
