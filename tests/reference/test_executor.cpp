// Tests of reference::executor: results equal op-by-op evaluation, fusion changes nothing,
// intermediates are released after their last use, profiling, input checks, errors naming nodes;
// reference::fold_constants on a graph.
#include "helpers.hpp"

#include <algorithm>
#include <map>
#include <memory>

using namespace reftest;
using surgery::ir::Builder;
using surgery::ir::Graph;
using surgery::ir::ValueId;

namespace {

/// A MobileNetV3-like block: stem conv + HardSwish, depthwise + ReLU, squeeze-and-excitation
/// (GAP, 1x1 convs, HardSigmoid, Mul), projection, residual Add, SiLU, head.
Graph mobile_block(std::uint64_t seed) {
    Graph g;
    Builder b(g, seed);
    auto x = b.input("image", {1, 3, 32, 32});
    auto y = b.hardswish(b.conv(x, {.out_channels = 16, .kernel = 3, .stride = 2}));
    auto d = b.relu(b.conv(y, {.kernel = 3, .depthwise = true}));
    auto s = b.global_average_pool(d);
    s = b.relu(b.conv(s, {.out_channels = 8, .kernel = 1}));
    s = b.hardsigmoid(b.conv(s, {.out_channels = 16, .kernel = 1}));
    d = b.mul(d, s);
    auto p = b.batch_norm(b.conv(d, {.out_channels = 16, .kernel = 1, .bias = false}));
    y = b.add(y, p);
    y = b.silu(b.conv(y, {.out_channels = 24, .kernel = 3, .stride = 2}));
    y = b.relu6(b.conv(y, {.out_channels = 24, .kernel = 5, .groups = 4}));
    y = b.flatten(b.global_average_pool(y));
    b.output(b.linear(y, 10));
    return g;
}

/// Evaluates `g` node by node with `reference::evaluate` (no executor, no fusion, no pool).
std::vector<Tensor> op_by_op(const Graph& g, const std::vector<Tensor>& inputs) {
    std::map<std::size_t, Tensor> vals;
    for (std::size_t k = 0; k < inputs.size(); ++k) vals[g.inputs()[k].index()] = inputs[k];
    for (auto n : g.topological_order()) {
        const auto& nd = g.node(n);
        std::vector<const Tensor*> in;
        for (ValueId v : nd.inputs) {
            if (!v) in.push_back(nullptr);
            else if (const Tensor* c = g.constant(v)) in.push_back(c);
            else in.push_back(&vals.at(v.index()));
        }
        auto out = ref::evaluate(nd.op, in, nd.outputs.size(), {}, g.label(n));
        for (std::size_t o = 0; o < out.size(); ++o) vals[nd.outputs[o].index()] = std::move(out[o]);
    }
    std::vector<Tensor> res;
    for (ValueId v : g.outputs()) res.push_back(vals.at(v.index()));
    return res;
}

} // namespace

TEST_CASE("executor: equals op-by-op evaluation, with and without fusion") {
    const Graph g = mobile_block(3);
    const auto inputs = ref::random_inputs(g, 9);
    const auto expected = op_by_op(g, inputs);
    ref::executor fused(g);
    ref::executor plain(g, {.fuse_activations = false});
    const auto a = fused.run(inputs);
    const auto b = plain.run(inputs);
    REQUIRE(a.size() == 1);
    REQUIRE(a[0].shape == Shape{1, 10});
    CHECK(max_rel_diff(a[0].f, expected[0].f) < 1e-5);
    CHECK(max_rel_diff(b[0].f, expected[0].f) < 1e-5);
    // Conv+HardSwish, Conv+Relu (x2), Conv+HardSigmoid, Conv+Sigmoid+Mul, Conv+Clip.
    CHECK(fused.stats().fused_nodes == 7);
    CHECK(plain.stats().fused_nodes == 0);
    CHECK(fused.stats().steps + 7 == plain.stats().steps);
    // Running again (storage now recycled from the pool) gives the same bits.
    const auto again = fused.run(inputs);
    CHECK(again[0].f == a[0].f);
    // The rvalue overload may reuse the input's storage.
    auto copy = inputs;
    CHECK(fused.run(std::move(copy))[0].f == a[0].f);
    CHECK(ref::run(g, inputs)[0].f == a[0].f);
}

TEST_CASE("executor: every forced conv algorithm gives the same network output") {
    const Graph g = mobile_block(4);
    const auto inputs = ref::random_inputs(g, 1);
    const auto a = ref::executor(g).run(inputs);
    const auto b = ref::executor(g, {.conv = ref::conv_algorithm::im2col}).run(inputs);
    CHECK(max_rel_diff(a[0].f, b[0].f) < 1e-5);
}

TEST_CASE("executor: intermediates are released after their last use") {
    Graph g;
    Builder b(g, 1);
    auto x = b.input("x", {1, 4, 8, 8});
    auto y = x;
    for (int k = 0; k < 20; ++k) y = k % 2 ? b.relu(y) : b.sigmoid(y);
    b.output(y);
    ref::executor ex(g);
    (void)ex.run(ref::random_inputs(g, 1));
    CHECK(ex.stats().steps == 20);
    CHECK(ex.stats().peak_live_tensors == 1); // each step consumes its input (in place)

    // A residual keeps its source alive until the Add; a branch point keeps two.
    Graph g2;
    Builder b2(g2, 2);
    auto x2 = b2.input("x", {1, 4, 8, 8});
    auto r = b2.relu(x2);
    auto t = r;
    for (int k = 0; k < 10; ++k) t = b2.conv(t, {.out_channels = 4, .kernel = 3});
    b2.output(b2.add(r, t));
    ref::executor ex2(g2, {.fuse_activations = false});
    (void)ex2.run(ref::random_inputs(g2, 1));
    CHECK(ex2.stats().peak_live_tensors == 3); // r, the previous conv output, the new one
    CHECK(ex2.stats().peak_live_bytes >= 3 * 256 * sizeof(float));

    // The network: far fewer live tensors than values.
    const Graph net = mobile_block(5);
    ref::executor exn(net);
    (void)exn.run(ref::random_inputs(net, 1));
    CHECK(exn.stats().peak_live_tensors <= 4);
}

TEST_CASE("executor: profile and per-node hook") {
    const Graph g = mobile_block(6);
    std::size_t calls = 0;
    std::uint64_t hook_ns = 0;
    ref::executor ex(g, {.profile = true, .on_node = [&](const ref::node_timing& t) {
                             ++calls;
                             hook_ns += t.ns;
                             CHECK(!t.name.empty());
                         }});
    const auto inputs = ref::random_inputs(g, 1);
    (void)ex.run(inputs);
    (void)ex.run(inputs);
    CHECK(calls == 2 * ex.stats().steps);
    const auto& p = ex.profile();
    CHECK(p.runs == 2);
    CHECK(p.nodes.size() == ex.stats().steps);
    CHECK(p.total_ns > 0);
    CHECK(p.total_ns == hook_ns);
    CHECK(p.ns_by_kind[surgery::ir::op_kind_v<ops::Conv>] > 0);
    CHECK(p.ns_by_kind[surgery::ir::op_kind_v<ops::Relu>] == 0); // fused into the convs
    bool saw_fused = false;
    for (const auto& n : p.nodes) saw_fused = saw_fused || n.op == "Conv+HardSwish";
    CHECK(saw_fused);
    CHECK(p.summary().find("Conv") != std::string::npos);
    ex.reset_profile();
    CHECK(ex.profile().total_ns == 0);
}

TEST_CASE("executor: inputs are checked by count, type and static shape, by name") {
    Graph g;
    Builder b(g);
    auto x = b.input("pixels", {1, 3, 4, 4});
    auto n = b.input("count", {2}, DType::i64);
    (void)n;
    b.output(b.relu(x));
    ref::executor ex(g);
    std::mt19937_64 rng(1);
    const Tensor good = random_tensor({1, 3, 4, 4}, rng), cnt = Tensor::vector({1, 2});
    CHECK_NOTHROW((void)ex.run({good, cnt}));
    CHECK_THROWS_WITH_AS((void)ex.run({good}), doctest::Contains("2 inputs"), surgery::error);
    CHECK_THROWS_WITH_AS((void)ex.run({random_tensor({1, 3, 4, 5}, rng), cnt}), doctest::Contains("'pixels'"), surgery::error);
    CHECK_THROWS_WITH_AS((void)ex.run({good, Tensor::floats({2}, {1, 2})}), doctest::Contains("'count' must be int64"), surgery::error);
    Tensor broken = good;
    broken.f.pop_back();
    CHECK_THROWS_WITH_AS((void)ex.run({broken, cnt}), doctest::Contains("holds"), surgery::error);
    // By name.
    const auto by_name = ex.run(std::map<std::string, Tensor>{{"pixels", good}, {"count", cnt}});
    CHECK(by_name[0] == ex.run({good, cnt})[0]);
    CHECK_THROWS_WITH_AS((void)ex.run(std::map<std::string, Tensor>{{"pixels", good}}), doctest::Contains("'count' is not given"), surgery::error);
    CHECK_THROWS_WITH_AS((void)ex.run(std::map<std::string, Tensor>{{"pixels", good}, {"count", cnt}, {"extra", cnt}}),
                         doctest::Contains("'extra'"), surgery::error);
}

TEST_CASE("executor: a kernel error names the node; the executor stays usable") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {-1, 6}); // dynamic: shape inference cannot check the Reshape
    auto r = b.apply(ops::Reshape{}, {x, b.ints({4, 3})}, "to_4x3");
    b.output(b.relu(r));
    ref::executor ex(g);
    const Tensor ok = iota({2, 6});
    CHECK(ex.run({ok})[0].shape == Shape{4, 3});
    try {
        (void)ex.run({iota({3, 6})});
        FAIL("expected a graph_error");
    } catch (const surgery::graph_error& e) {
        CHECK(e.node() == "to_4x3");
        CHECK(std::string(e.what()).find("Reshape") != std::string::npos);
    }
    CHECK(ex.run({ok})[0].shape == Shape{4, 3});
}

TEST_CASE("executor: constants, constant folding, int tensors through shape ops") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {2, 3, 4});
    // The target shape is computed from int constants: folded once at construction.
    auto shape = b.concat({b.ints({2}), b.ints({-1})}, 0);
    // Shape inference needs a constant shape, so this node is added without it.
    auto flat = g.node(g.add_node(ops::Reshape{}, {x, shape}, 1, "reshape")).outputs[0];
    // An int graph input flows through Unsqueeze / Concat / Slice.
    auto k = b.input("k", {2}, DType::i64);
    auto k2 = b.apply(ops::Unsqueeze{}, {k, b.ints({0})});
    auto kk = b.concat({k2, k2}, 0);
    auto ks = b.slice(kk, {1}, {2}, {0}, {1});
    b.output(flat);
    b.output(ks);
    b.output(shape);
    ref::executor ex(g);
    CHECK(ex.stats().folded_nodes == 1);
    const auto out = ex.run({iota({2, 3, 4}), Tensor::vector({7, 9})});
    CHECK(out[0].shape == Shape{2, 12});
    CHECK(out[1].dtype == DType::i64);
    CHECK(out[1].shape == Shape{1, 2});
    CHECK(out[1].i == std::vector<std::int64_t>{7, 9});
    CHECK(out[2].i == std::vector<std::int64_t>{2, -1});
    ref::executor nofold(g, {.fold_constants = false});
    CHECK(nofold.stats().folded_nodes == 0);
    CHECK(nofold.run({iota({2, 3, 4}), Tensor::vector({7, 9})})[0] == out[0]);
}

TEST_CASE("executor: a graph input may be an output, and an executor outlives its graph") {
    std::unique_ptr<ref::executor> ex;
    {
        Graph g;
        Builder b(g);
        auto x = b.input("x", {3});
        b.output(x);
        b.output(b.relu(x));
        ex = std::make_unique<ref::executor>(g);
    }
    const Tensor t = Tensor::floats({3}, {-1, 0, 2});
    const auto out = ex->run({t});
    CHECK(out[0] == t);
    CHECK(out[1].f == std::vector<float>{0, 0, 2});
    CHECK(ex->output_names().size() == 2);
    CHECK(ex->input_specs()[0].name == "x");
}

namespace {

/// A ConvNeXt block as torch.onnx exports it at opset 17: depthwise 7x7, NHWC LayerNorm,
/// Linear (MatMul + Add), GELU as Div/Erf/Add/Mul/Mul, Linear, layer scale, back to NCHW, residual.
Graph convnext_block() {
    Graph g;
    Builder b(g, 8);
    const std::int64_t C = 16;
    auto x = b.input("x", {1, C, 9, 9});
    auto y = b.conv(x, {.kernel = 7, .depthwise = true});
    y = b.transpose(y, {0, 2, 3, 1});
    y = b.layer_norm(y);
    auto linear = [&](ValueId v, std::int64_t in, std::int64_t out) {
        auto w = b.constant(Tensor::uniform({in, out}, b.rng(), -0.5f, 0.5f));
        return b.add(b.apply(ops::MatMul{}, {v, w}), b.constant(Tensor::uniform({out}, b.rng(), -0.5f, 0.5f)));
    };
    y = linear(y, C, 4 * C);
    auto d = b.apply(ops::Erf{}, {b.apply(ops::Div{}, {y, b.scalar(1.4142135f)})});
    y = b.mul(b.mul(y, b.add(d, b.scalar(1.0f))), b.scalar(0.5f));
    y = linear(y, 4 * C, C);
    y = b.mul(y, b.constant(Tensor::uniform({C}, b.rng(), 0.1f, 1.0f)));
    y = b.transpose(y, {0, 3, 1, 2});
    b.output(b.add(y, x));
    return g;
}

} // namespace

TEST_CASE("executor: element-wise chains after MatMul and Conv are fused and change nothing") {
    const Graph g = convnext_block();
    const auto inputs = ref::random_inputs(g, 2);
    ref::executor fused(g, {.profile = true});
    ref::executor plain(g, {.fuse_activations = false});
    const auto a = fused.run(inputs), e = plain.run(inputs);
    CHECK(max_rel_diff(a[0].f, e[0].f) < 1e-6);
    CHECK(max_rel_diff(a[0].f, op_by_op(g, inputs)[0].f) < 1e-5);
    // Add (bias) + 5 GELU nodes into the first MatMul; Add (bias) + Mul (scale) into the second.
    CHECK(fused.stats().fused_nodes == 8);
    std::vector<std::string> ops_run;
    for (const auto& n : fused.profile().nodes) ops_run.push_back(n.op);
    CHECK(std::find(ops_run.begin(), ops_run.end(), "MatMul+Add+gelu_erf") != ops_run.end());
    CHECK(std::find(ops_run.begin(), ops_run.end(), "MatMul+Add+Mul") != ops_run.end());

    // Conv followed by per-channel and scalar constants, in both operand orders.
    Graph h;
    Builder b(h, 9);
    auto x = b.input("x", {2, 6, 7, 7});
    auto y = b.conv(x, {.out_channels = 8, .kernel = 3});
    y = b.add(b.constant(Tensor::uniform({8, 1, 1}, b.rng())), y);                  // per channel, constant first
    y = b.apply(ops::Sub{}, {y, b.scalar(0.25f)});                                   // v - k
    y = b.apply(ops::Div{}, {y, b.constant(Tensor::uniform({1, 8, 1, 1}, b.rng(), 0.5f, 2.0f))});
    y = b.relu(b.mul(y, b.scalar(1.5f)));
    auto z = b.apply(ops::Sub{}, {b.scalar(1.0f), y});                               // k - v: not fusable
    z = b.conv(z, {.out_channels = 4, .kernel = 1});
    z = b.add(z, b.constant(Tensor::uniform({1, 1, 7, 7}, b.rng())));               // spatial constant: not fusable
    b.output(z);
    ref::executor hf(h, {.profile = true}), hp(h, {.fuse_activations = false});
    const auto hin = ref::random_inputs(h, 3);
    CHECK(max_rel_diff(hf.run(hin)[0].f, hp.run(hin)[0].f) < 1e-6);
    CHECK(hf.stats().fused_nodes == 5);
    CHECK(hf.profile().nodes[0].op == "Conv+Add+Sub+Div+Mul+Relu");
}

TEST_CASE("executor: activations written out are fused by the pattern library's forms, and only those") {
    Graph g;
    Builder b(g, 21);
    auto x = b.input("x", {3, 8});
    auto linear = [&](ValueId v) { return b.apply(ops::MatMul{}, {v, b.constant(Tensor::uniform({8, 8}, b.rng(), -0.5f, 0.5f))}); };
    // GELU, tanh approximation, as PyTorch writes it below opset 20: x * (Tanh((x + x*x*x * 0.044715) * sqrt(2/pi)) + 1) * 0.5
    auto y = linear(x);
    auto cube = b.mul(y, b.mul(y, y));
    auto t = b.apply(ops::Tanh{}, {b.mul(b.add(y, b.mul(cube, b.scalar(0.044715f))), b.scalar(0.7978845608f))});
    y = b.mul(b.mul(y, b.add(t, b.scalar(1.0f))), b.scalar(0.5f));
    // HardSwish below opset 14: x * HardSigmoid(x), slope 1/6.
    y = linear(y);
    y = b.mul(y, b.hardsigmoid(y));
    // x * HardSigmoid(x) with ONNX's default slope 0.2 is no HardSwish: not fused, still run.
    y = linear(y);
    y = b.mul(y, b.hardsigmoid(y, 0.2f, 0.5f));
    // A GELU whose constant is not sqrt(2/pi) is not a GELU either.
    y = linear(y);
    auto t2 = b.apply(ops::Tanh{}, {b.mul(b.add(y, b.mul(b.mul(y, b.mul(y, y)), b.scalar(0.044715f))), b.scalar(0.75f))});
    b.output(b.mul(b.mul(y, b.add(t2, b.scalar(1.0f))), b.scalar(0.5f)));

    const auto inputs = ref::random_inputs(g, 5);
    ref::executor fused(g, {.profile = true}), plain(g, {.fuse_activations = false});
    CHECK(max_rel_diff(fused.run(inputs)[0].f, plain.run(inputs)[0].f) < 1e-5);
    CHECK(max_rel_diff(fused.run(inputs)[0].f, op_by_op(g, inputs)[0].f) < 1e-5);
    std::vector<std::string> ops_run;
    for (const auto& n : fused.profile().nodes) ops_run.push_back(n.op);
    CAPTURE(ops_run.size());
    CHECK(std::count(ops_run.begin(), ops_run.end(), "MatMul+gelu_tanh") == 1);
    CHECK(std::count(ops_run.begin(), ops_run.end(), "MatMul+hardswish_hardsigmoid") == 1);
    CHECK(std::count(ops_run.begin(), ops_run.end(), "MatMul") == 2);
    // 9 GELU nodes and 2 HardSwish nodes moved into their MatMul.
    CHECK(fused.stats().fused_nodes == 11);
}

TEST_CASE("fold_constants: a shape computation nested many levels deep folds in one pass; outputs keep their names") {
    // Each level reshapes by a target computed from the previous level's shape, which is static only
    // once the previous target is folded: the shapes each fold makes known are inferred at once, so
    // one pass folds all levels and the second confirms it.
    Graph g;
    Builder b(g, 3);
    const ValueId x = b.input("x", {4, 6, 10});
    ValueId v = x;
    constexpr int levels = 12;
    for (int k = 0; k < levels; ++k) {
        const ValueId dims = b.apply(ops::ShapeOf{}, {v});
        const ValueId first = b.apply(ops::Slice{}, {dims, b.ints({0}), b.ints({1}), b.ints({0})});
        const ValueId last = b.apply(ops::Slice{}, {dims, b.ints({-1}), b.ints({INT64_MAX}), b.ints({0})});
        v = b.relu(b.apply(ops::Reshape{}, {v, b.apply(ops::Concat{.axis = 0}, {last, b.ints({-1}), first})}));
    }
    b.output(v);
    const ValueId dims_out = b.apply(ops::ShapeOf{}, {v});
    g.set_value_name(dims_out, "final_shape");
    b.output(dims_out);
    // Dropout of a constant stays: random in training, so not folded (an identity at inference).
    const ValueId kept = b.apply(ops::Dropout{}, {b.constant(iota({3}))});
    b.output(kept);
    surgery::ir::infer_shapes(g);
    REQUIRE_FALSE(surgery::ir::is_static(*g.value(v).shape));
    const Graph before = g;

    const ref::fold_report rep = ref::fold_constants(g);
    CHECK(rep.passes == 2);
    CHECK(rep.folded_nodes == 4 * levels + 1); // Shape, two Slices and Concat per level, the output's Shape
    CHECK(g.op_counts() == std::map<std::string, std::size_t>{{"Dropout", 1}, {"Relu", levels}, {"Reshape", levels}});
    REQUIRE(g.value(g.outputs()[0]).shape);
    CHECK(*g.value(g.outputs()[0]).shape == Shape{4, 6, 10}); // swapped an even number of times
    const ValueId folded_out = g.outputs()[1];
    REQUIRE(g.constant(folded_out) != nullptr);
    CHECK(g.value(folded_out).name == "final_shape");
    CHECK(g.constant(folded_out)->i == std::vector<std::int64_t>{4, 6, 10});
    CHECK_NOTHROW(surgery::ir::verify(g));
    // The folded graph computes what the original does.
    std::mt19937_64 rng(5);
    const Tensor in = random_tensor({4, 6, 10}, rng);
    const auto want = ref::executor(before, {.fold_constants = false}).run({in});
    const auto got = ref::executor(g).run({in});
    REQUIRE(got.size() == want.size());
    for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k] == want[k]);
    const ref::fold_report again = ref::fold_constants(g);
    CHECK(again.folded_nodes == 0);
    CHECK(again.passes == 1);
}

TEST_CASE("propagate_shapes: shapes behind constant shape arithmetic, the graph's nodes unchanged") {
    Graph g;
    Builder b(g, 4);
    const ValueId x = b.input("x", {1, 48, 8, 8});
    const ValueId dims = b.apply(ops::ShapeOf{}, {x});
    const ValueId batch = b.apply(ops::Slice{}, {dims, b.ints({0}), b.ints({1}), b.ints({0})});
    const ValueId target = b.apply(ops::Concat{.axis = 0}, {batch, b.ints({3, 32, -1})});
    const ValueId r = b.apply(ops::Reshape{}, {x, target});
    std::mt19937_64 rng(7);
    ops::Conv conv;
    conv.kernel_shape = {3, 3};
    conv.pads = {1, 1, 1, 1};
    const ValueId y = b.relu(b.apply(std::move(conv), {r, b.constant(random_tensor({8, 3, 3, 3}, rng))}));
    b.output(y);
    REQUIRE((!g.value(y).shape || !surgery::ir::is_static(*g.value(y).shape))); // the Reshape target is computed
    const auto ops_before = g.op_counts();

    CHECK(ref::propagate_shapes(g) == 3); // the Reshape, the Conv and the Relu (the shape queries were static)
    REQUIRE(g.value(r).shape);
    CHECK(*g.value(r).shape == Shape{1, 3, 32, 32});
    REQUIRE(g.value(y).shape);
    CHECK(*g.value(y).shape == Shape{1, 8, 32, 32});
    CHECK(g.op_counts() == ops_before); // nothing was folded in g itself
    CHECK(g.constant(target) == nullptr);
    CHECK_NOTHROW(surgery::ir::verify(g));
    CHECK(ref::propagate_shapes(g) == 0);
}
