// Tests of ir::Graph: construction, use lists, topological order, rollback, dead-code removal, verification.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "surgery/ir.hpp"

using namespace surgery;
using namespace surgery::ir;

static_assert(op_type<ops::Conv>);
static_assert(!op_type<int>);
static_assert(is_commutative_v<ops::Mul> && is_commutative_v<ops::Add> && !is_commutative_v<ops::Sub>);
static_assert(op_names[op_kind_v<ops::HardSwish>] == "HardSwish");
static_assert(kind_from_name("Conv") == op_kind_v<ops::Conv>);
static_assert(!kind_from_name("NoSuchOp").has_value());
static_assert(plain_domain("ai.onnx").empty() && plain_domain("").empty() && plain_domain("com.microsoft") == "com.microsoft");
static_assert(!std::is_convertible_v<NodeId, ValueId> && !std::is_convertible_v<ValueId, NodeId>);

TEST_CASE("split_op_name: domain and op_type of a name as patterns write it, the default domain made one") {
    auto parts = [](std::string_view s) {
        const op_name_parts p = split_op_name(s);
        return std::tuple(std::string(p.domain), std::string(p.name), p.qualified);
    };
    using T = std::tuple<std::string, std::string, bool>;
    CHECK(parts("Relu") == T{"", "Relu", false});
    CHECK(parts("ai.onnx::Relu") == T{"", "Relu", true});
    CHECK(parts("com.vendor::Op") == T{"com.vendor", "Op", true});
    CHECK(parts("a::b::Op") == T{"a::b", "Op", true}); // split at the last '::'
    CHECK(parts("::Relu") == T{"", "Relu", true});      // the default domain, written empty
    CHECK(parts("com.vendor::") == T{"com.vendor", "", true});
    CHECK(parts("ai.onnx") == T{"", "ai.onnx", false}); // a name, not a domain
    CHECK(parts("ai.onnx.ml::Op") == T{"ai.onnx.ml", "Op", true});
    CHECK(parts("") == T{"", "", false});
    CHECK(parts("::") == T{"", "", true});
    static_assert(split_op_name("ai.onnx::Relu").domain.empty()); // usable at compile time (pattern::named_op)
}

TEST_CASE("builder infers shapes and names nodes") {
    Graph g;
    Builder b(g, 1);
    auto x = b.input("x", {1, 3, 32, 32});
    auto y = b.conv(x, {.out_channels = 8, .kernel = 3, .stride = 2});
    CHECK(*g.value(y).shape == Shape{1, 8, 16, 16});
    auto d = b.conv(y, {.kernel = 3, .depthwise = true});
    CHECK(*g.value(d).shape == Shape{1, 8, 16, 16});
    auto p = b.max_pool(d, 3, 2, 1);
    CHECK(*g.value(p).shape == Shape{1, 8, 8, 8});
    b.output(b.flatten(b.global_average_pool(p)));
    CHECK(*g.value(g.outputs()[0]).shape == Shape{1, 8});
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("a node whose shapes do not fit is rejected with its name and not left in the graph") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {1, 3, 8, 8});
    auto before = g.num_nodes();
    try {
        (void)b.apply(ops::Add{}, {x, b.input("y", {1, 4, 8, 8})}, "bad_add");
        FAIL("expected a graph_error");
    } catch (const graph_error& e) {
        CHECK(e.node() == "bad_add");
        CHECK(std::string(e.what()).find("cannot be broadcast") != std::string::npos);
    }
    CHECK(g.num_nodes() == before);
}

TEST_CASE("arity is enforced at construction") {
    Graph g;
    auto x = g.add_input("x", {4});
    CHECK_THROWS_AS(g.add_node(ops::Add{}, {x}), graph_error);
    CHECK_THROWS_AS(g.add_node(ops::Relu{}, {x}, 2), graph_error);
    CHECK_THROWS_AS(g.add_node(ops::Relu{}, {ValueId{123u}}), graph_error);
}

TEST_CASE("use lists follow rewiring and dead nodes are removed") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {2, 2});
    auto r = b.relu(x);
    auto s = b.sigmoid(r);
    b.output(s);
    CHECK(g.value(r).uses.size() == 1);
    g.replace_all_uses(r, x);
    CHECK(g.value(r).uses.empty());
    CHECK(g.value(x).uses.size() == 2); // relu and sigmoid
    auto [nodes, consts] = g.remove_dead();
    CHECK(nodes == 1);
    CHECK(consts == 0);
    CHECK(g.num_nodes() == 1);
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("topological order is recomputed after appending producers") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto r = b.relu(x);
    auto s = b.sigmoid(r);
    b.output(s);
    // Insert a new node between x and relu: it has a larger id than relu.
    auto t = b.apply(ops::Tanh{}, {x});
    g.set_input(g.producer(r), 0, t);
    const auto& order = g.topological_order();
    REQUIRE(order.size() == 3);
    CHECK(order[0] == g.producer(t));
    CHECK(order[1] == g.producer(r));
    CHECK(order[2] == g.producer(s));
}

namespace {
// Whether `order` lists every live node of `g` once, producers first.
bool is_topological(const Graph& g, const std::vector<NodeId>& order) {
    std::vector<int> pos(g.node_bound(), -1);
    for (std::size_t p = 0; p < order.size(); ++p) {
        if (!g.node(order[p]).alive || pos[order[p].index()] != -1) return false;
        pos[order[p].index()] = static_cast<int>(p);
    }
    if (order.size() != g.num_nodes()) return false;
    for (NodeId n : order)
        for (ValueId in : g.node(n).inputs)
            if (in && g.producer(in) && pos[g.producer(in).index()] >= pos[n.index()]) return false;
    return true;
}

// Whether the live nodes of `g` hold a cycle (depth-first search, independent of the graph's own sort).
bool has_cycle(const Graph& g) {
    std::vector<int> state(g.node_bound(), 0); // 0 new, 1 on the stack, 2 done
    std::function<bool(std::size_t)> visit = [&](std::size_t i) {
        state[i] = 1;
        for (ValueId in : g.node(NodeId{i}).inputs) {
            if (!in || !g.producer(in)) continue;
            const std::size_t p = g.producer(in).index();
            if (state[p] == 1 || (state[p] == 0 && visit(p))) return true;
        }
        state[i] = 2;
        return false;
    };
    for (std::size_t i = 0; i < g.node_bound(); ++i)
        if (g.node(NodeId{i}).alive && state[i] == 0 && visit(i)) return true;
    return false;
}
} // namespace

TEST_CASE("the order is kept through a rewrite: the new nodes go where the replaced ones were") {
    Graph g;
    auto x = g.add_input("x", {4});
    auto a = g.add_node(ops::Relu{}, {x}, 1, "a");
    auto side = g.add_node(ops::Abs{}, {x}, 1, "side");
    auto b = g.add_node(ops::Sigmoid{}, {g.node(a).outputs[0]}, 1, "b");
    auto c = g.add_node(ops::Tanh{}, {g.node(b).outputs[0]}, 1, "c");
    auto d = g.add_node(ops::Add{}, {g.node(c).outputs[0], g.node(side).outputs[0]}, 1, "d");
    g.add_output(g.node(d).outputs[0]);
    REQUIRE(g.topological_order() == std::vector<NodeId>{a, side, b, c, d});
    // Replace b by two new nodes (ids after d): they take b's place, not the end.
    auto n1 = g.add_node(ops::Neg{}, {g.node(a).outputs[0]}, 1, "n1");
    auto n2 = g.add_node(ops::Neg{}, {g.node(n1).outputs[0]}, 1, "n2");
    g.replace_all_uses(g.node(b).outputs[0], g.node(n2).outputs[0]);
    g.erase_node(b);
    CHECK(g.topological_order() == std::vector<NodeId>{a, side, n1, n2, c, d});
    // A node nothing reads goes to the end; an op change keeps the order.
    auto e = g.add_node(ops::Exp{}, {x}, 1, "e");
    (void)g.op(c);
    CHECK(g.topological_order() == std::vector<NodeId>{a, side, n1, n2, c, d, e});
    // An old node made to read a later one: the kept order no longer fits, and is sorted again.
    g.set_input(side, 0, g.node(e).outputs[0]);
    CHECK(is_topological(g, g.topological_order()));
    CHECK(g.topological_order().back() == d);
    // A rewiring that closes a cycle is still reported.
    g.set_input(a, 0, g.node(c).outputs[0]);
    CHECK_THROWS_AS((void)g.topological_order(), graph_error);
    g.set_input(a, 0, x);
    CHECK(is_topological(g, g.topological_order()));
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("a rollback to after the kept order keeps it; one to before it sorts again") {
    Graph g;
    auto x = g.add_input("x", {4});
    auto a = g.add_node(ops::Relu{}, {x}, 1, "a");
    auto b = g.add_node(ops::Sigmoid{}, {g.node(a).outputs[0]}, 1, "b");
    g.add_output(g.node(b).outputs[0]);
    REQUIRE(g.topological_order() == std::vector<NodeId>{a, b});
    const Checkpoint cp = g.checkpoint();
    auto t = g.add_node(ops::Tanh{}, {g.node(a).outputs[0]});
    g.set_input(t, 0, x); // a rewired node that the rollback drops
    g.rollback(cp);
    CHECK(g.topological_order() == std::vector<NodeId>{a, b});
    auto m = g.add_node(ops::Neg{}, {g.node(a).outputs[0]}, 1, "m"); // the dropped id again
    CHECK(m == t);
    g.set_input(b, 0, g.node(m).outputs[0]);
    CHECK(g.topological_order() == std::vector<NodeId>{a, m, b});
    // A rollback to before the order was computed: sorted again.
    Graph h;
    auto hx = h.add_input("x", {4});
    const Checkpoint early = h.checkpoint();
    (void)h.add_node(ops::Relu{}, {hx});
    REQUIRE(h.topological_order().size() == 1);
    h.rollback(early);
    CHECK(h.topological_order().empty());
    auto s = h.add_node(ops::Exp{}, {hx});
    CHECK(h.topological_order() == std::vector<NodeId>{s});
}

TEST_CASE("the kept order stays a topological order through random edits, and cycles are still found") {
    std::mt19937 rng(20261206);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    Graph g;
    std::vector<ValueId> values{g.add_input("x", {4}), g.add_input("y", {4})};
    auto live_values = [&] {
        std::vector<ValueId> out;
        for (ValueId v : values)
            if (g.value(v).alive) out.push_back(v);
        return out;
    };
    auto live_nodes = [&] {
        std::vector<NodeId> out;
        for (std::size_t i = 0; i < g.node_bound(); ++i)
            if (g.node(NodeId{i}).alive) out.push_back(NodeId{i});
        return out;
    };
    for (int i = 0; i < 60; ++i) {
        auto lv = live_values();
        values.push_back(g.node(g.add_node(ops::Add{}, {lv[pick(lv.size())], lv[pick(lv.size())]})).outputs[0]);
    }
    g.add_output(values.back());
    int cycles = 0, resorted_checks = 0;
    for (int step = 0; step < 600; ++step) {
        const auto nodes = live_nodes();
        const NodeId n = nodes[pick(nodes.size())];
        switch (pick(5)) {
        case 0: { // a new node reading anything
            auto lv = live_values();
            values.push_back(g.node(g.add_node(ops::Add{}, {lv[pick(lv.size())], lv[pick(lv.size())]})).outputs[0]);
            break;
        }
        case 1: { // replace n by a new node reading its first input, as a rewrite does
            const ValueId out = g.node(n).outputs[0];
            if (g.is_output(out)) break;
            const NodeId r = g.add_node(ops::Relu{}, {g.node(n).inputs[0]});
            values.push_back(g.node(r).outputs[0]);
            g.replace_all_uses(out, g.node(r).outputs[0]);
            g.erase_node(n);
            break;
        }
        case 2: { // rewire an input of n to any value; undone when it closes a cycle
            const std::size_t slot = pick(g.node(n).inputs.size());
            const ValueId before = g.node(n).inputs[slot];
            auto lv = live_values();
            g.set_input(n, slot, lv[pick(lv.size())]);
            if (has_cycle(g)) {
                ++cycles;
                CHECK_THROWS_AS((void)g.topological_order(), graph_error);
                g.set_input(n, slot, before);
            }
            break;
        }
        case 3: { // a declined replacement: nodes added (one rewired), then rolled back
            const ir::Checkpoint cp = g.checkpoint();
            auto lv = live_values();
            const NodeId a = g.add_node(ops::Add{}, {lv[pick(lv.size())], lv[pick(lv.size())]});
            const NodeId r = g.add_node(ops::Relu{}, {g.node(a).outputs[0]});
            g.set_input(r, 0, lv[pick(lv.size())]);
            if (pick(2)) (void)g.topological_order();
            g.rollback(cp);
            break;
        }
        default: // sweep what nothing reads
            (void)g.remove_dead();
            break;
        }
        if (step % 3 == 0) {
            ++resorted_checks;
            REQUIRE(is_topological(g, g.topological_order()));
            REQUIRE(g.flow().order == g.topological_order());
        }
    }
    CHECK(cycles > 0); // the walk did try cycles
    // Values the rollbacks dropped are not in `values` (they were never pushed there).
    CHECK(resorted_checks == 200);
    // A copy continues from the same order.
    Graph copy = g;
    CHECK(copy.topological_order() == g.topological_order());
}

TEST_CASE("a copy has the graph and the kept order, not the order's scratch, and outlives the original") {
    auto original = std::make_unique<Graph>();
    const ValueId x = original->add_input("x", {4});
    std::vector<NodeId> relus;
    for (int i = 0; i < 50; ++i) relus.push_back(original->add_node(ops::Relu{}, {x}));
    for (NodeId r : relus) original->add_output(original->node(r).outputs[0]);
    (void)original->topological_order();
    // Edits after the order: it is brought up to date (update_order, which fills the scratch).
    const NodeId s = original->add_node(ops::Sigmoid{}, {x});
    original->set_input(relus[7], 0, original->node(s).outputs[0]);
    const std::vector<NodeId> order = original->topological_order();
    Graph copy = *original;
    original.reset();
    CHECK(copy.topological_order() == order);
    // The copy keeps its order through edits as the original would have.
    const NodeId t = copy.add_node(ops::Tanh{}, {x});
    copy.set_input(relus[3], 0, copy.node(t).outputs[0]);
    const auto& after = copy.topological_order();
    REQUIRE(after.size() == order.size() + 1);
    CHECK(std::find(after.begin(), after.end(), t) < std::find(after.begin(), after.end(), relus[3]));
    CHECK(copy.flow().order == after);
    CHECK_NOTHROW(verify(copy));

    using scratch = surgery::ir::detail::scratch<std::vector<int>>;
    scratch a;
    a.buffer = {1, 2, 3};
    const scratch b = a;
    CHECK(b.buffer.empty());
    scratch c;
    c.buffer = {4};
    c = a;
    CHECK(c.buffer == std::vector<int>{4}); // assignment keeps the target's own
    const scratch d = std::move(a);
    CHECK(d.buffer == std::vector<int>{1, 2, 3});
}

TEST_CASE("replace_all_uses of a value with many consumers: use lists, outputs and the kept order agree") {
    Graph g;
    const ValueId x = g.add_input("x", {4});
    const ValueId y = g.add_input("y", {4});
    std::vector<NodeId> consumers;
    for (int i = 0; i < 1000; ++i) consumers.push_back(i % 2 ? g.add_node(ops::Relu{}, {x}) : g.add_node(ops::Add{}, {x, x})); // Add reads x twice
    g.add_output(x);
    for (NodeId c : consumers) g.add_output(g.node(c).outputs[0]);
    (void)g.topological_order(); // a kept order, to be brought up to date after the edit
    const NodeId p = g.add_node(ops::Sigmoid{}, {y}); // added after it: placed before its first consumer
    const ValueId to = g.node(p).outputs[0];
    g.add_output(to);
    g.replace_all_uses(x, to);
    CHECK(g.value(x).uses.empty());
    CHECK(g.value(to).uses.size() == 1500);
    for (NodeId c : consumers)
        for (std::uint32_t s = 0; s < g.node(c).inputs.size(); ++s) {
            CHECK(g.node(c).inputs[s] == to);
            CHECK(g.lists_use(to, {c, s}));
        }
    // x was an output before `to`: it became `to` there, the later copy of it is dropped.
    REQUIRE(g.outputs().size() == 1001);
    CHECK(g.outputs()[0] == to);
    CHECK(std::count(g.outputs().begin(), g.outputs().end(), to) == 1);
    const auto& order = g.topological_order();
    REQUIRE(order.size() == 1001);
    CHECK(order.front() == p);
    CHECK(g.flow().order == order);
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("a cycle is reported with a node name") {
    Graph g;
    auto x = g.add_input("x", {4});
    auto a = g.add_node(ops::Add{}, {x, x}, 1, "a");
    auto bnode = g.add_node(ops::Relu{}, {g.node(a).outputs[0]}, 1, "b");
    g.set_input(a, 1, g.node(bnode).outputs[0]);
    CHECK_THROWS_AS((void)g.topological_order(), graph_error);
    CHECK_THROWS_AS(verify(g), graph_error);
}

TEST_CASE("rollback removes everything added since the checkpoint") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {4});
    auto r = b.relu(x);
    b.output(r);
    auto cp = g.checkpoint();
    auto n1 = b.sigmoid(x);
    (void)b.add(n1, b.scalar(1.0f));
    CHECK(g.num_nodes() == 3);
    g.rollback(cp);
    CHECK(g.num_nodes() == 1);
    CHECK(g.value(x).uses.size() == 1);
    CHECK_NOTHROW(verify(g));
}

TEST_CASE("verify catches a stored shape that disagrees with the op") {
    Graph g;
    Builder b(g);
    auto x = b.input("x", {1, 3, 8, 8});
    auto r = b.relu(x);
    b.output(r);
    g.set_shape(r, Shape{1, 3, 4, 4});
    CHECK_THROWS_WITH_AS(verify(g), doctest::Contains("recorded as [1,3,4,4]"), graph_error);
}

TEST_CASE("use lists stay exact when the readers of a widely shared value come and go") {
    // Removing a use is constant time (each input slot records its position in the use list):
    // every way of adding and removing uses must keep those records and the lists in step.
    Graph g;
    Builder b(g);
    auto x = b.input("x", {1, 4});
    auto lo = b.scalar(0.0f), hi = b.scalar(6.0f);
    std::vector<NodeId> clips;
    ValueId v = x;
    for (int i = 0; i < 200; ++i) {
        v = b.apply(ops::Clip{}, {v, lo, hi});
        clips.push_back(g.producer(v));
    }
    b.output(v);
    CHECK(g.value(lo).uses.size() == 200);
    // Readers removed out of order: every other Clip is bypassed and erased.
    for (std::size_t i = 1; i < clips.size() - 1; i += 2) {
        const ValueId out = g.node(clips[i]).outputs[0];
        g.replace_all_uses(out, g.node(clips[i]).inputs[0]);
        g.erase_node(clips[i]);
    }
    CHECK(g.value(lo).uses.size() == 101);
    CHECK(g.value(hi).uses.size() == 101);
    CHECK_NOTHROW(verify(g));
    for (const Use& u : g.value(lo).uses) CHECK(g.lists_use(lo, u));
    // set_input moves a use from one value to another; rollback removes the uses new nodes added.
    g.set_input(clips[0], 2, lo);
    CHECK(g.value(lo).uses.size() == 102);
    CHECK(g.value(hi).uses.size() == 100);
    const Checkpoint cp = g.checkpoint();
    for (int i = 0; i < 10; ++i) (void)b.apply(ops::Clip{}, {x, hi, lo});
    CHECK(g.value(hi).uses.size() == 110);
    g.rollback(cp);
    CHECK(g.value(hi).uses.size() == 100);
    CHECK(g.value(lo).uses.size() == 102);
    CHECK_NOTHROW(verify(g));
    // Nothing is dead, and a node that is read cannot be erased.
    CHECK(g.remove_dead().first == 0);
    CHECK_THROWS_AS(g.erase_node(clips[0]), graph_error); // its output is read
}

TEST_CASE("chunked storage: appending never moves full chunks; shrinking, copies and iteration") {
    surgery::ir::detail::chunked_vector<std::string, 2> v; // chunks of 4
    for (int i = 0; i < 10; ++i) v.emplace_back(std::to_string(i));
    CHECK(v.size() == 10);
    const std::string* first = &v[0];
    const std::string* fifth = &v[4];
    for (int i = 10; i < 40; ++i) v.push_back(std::to_string(i));
    CHECK(&v[0] == first); // full chunks stay where they are
    CHECK(&v[4] == fifth);
    for (std::size_t i = 0; i < v.size(); ++i) CHECK(v[i] == std::to_string(i));
    CHECK_THROWS_AS((void)v.at(40), std::out_of_range);
    std::size_t n = 0;
    for (const std::string& s : v) CHECK(s == std::to_string(n++));
    CHECK(n == 40);
    CHECK(std::distance(v.begin(), v.end()) == 40);
    for (std::size_t keep : {std::size_t{37}, std::size_t{36}, std::size_t{9}, std::size_t{8}, std::size_t{1}, std::size_t{0}}) {
        surgery::ir::detail::chunked_vector<std::string, 2> w = v; // copies grow on as before
        w.resize(keep);
        CHECK(w.size() == keep);
        for (std::size_t i = 0; i < keep; ++i) CHECK(w[i] == std::to_string(i));
        for (int i = 0; i < 9; ++i) w.emplace_back(std::string(1, 'x').append(std::to_string(i))); // not "x" + ...: g++ 12 warns falsely
        CHECK(w.size() == keep + 9);
        CHECK(w[keep] == "x0");
        CHECK(w.back() == "x8");
        if (keep > 0) CHECK(w[keep - 1] == std::to_string(keep - 1));
    }
    CHECK(v.size() == 40); // the copies did not touch the original
    v.resize(42);
    CHECK(v[41].empty());
}

TEST_CASE("a graph larger than a storage chunk: rollback across a chunk boundary, copies, order") {
    // Nodes and values are stored in chunks of 4,096: a checkpoint just before a boundary and a
    // rollback after it must leave the same graph as before, and a copy must be the same graph.
    Graph g;
    Builder b(g);
    ValueId v = b.input("x", {1, 4});
    const ValueId lo = b.scalar(0.0f), hi = b.scalar(6.0f);
    for (int i = 0; i < 4090; ++i) v = i % 2 ? b.relu(v) : b.apply(ops::Clip{}, {v, lo, hi});
    const Checkpoint cp = g.checkpoint();
    const std::size_t nodes = g.num_nodes(), values = g.value_bound();
    for (int i = 0; i < 30; ++i) (void)b.apply(ops::Clip{}, {v, hi, lo}); // crosses the boundary
    CHECK(g.node_bound() > 4096);
    CHECK(g.value(hi).uses.size() == 2045 + 30);
    g.rollback(cp);
    CHECK(g.num_nodes() == nodes);
    CHECK(g.value_bound() == values);
    CHECK(g.value(hi).uses.size() == 2045);
    for (int i = 0; i < 3000; ++i) v = b.relu(v);
    b.output(v);
    CHECK_NOTHROW(verify(g));
    const Graph copy = g;
    CHECK(copy.num_nodes() == 7090);
    CHECK(copy.topological_order() == g.topological_order());
    CHECK(copy.op_counts() == g.op_counts());
    CHECK(copy.node(copy.topological_order().back()).name == g.node(g.topological_order().back()).name);
    CHECK_NOTHROW(verify(copy));
}
