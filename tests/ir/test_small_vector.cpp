// Tests of ir::small_vector, the inline-first list of a node's inputs and outputs and a value's uses:
// the same results as std::vector over random edits, the inline/heap boundary, and what the graph's
// users relied on when the members were std::vectors (conversions, comparison, spans).
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "surgery/ir.hpp"

using namespace surgery::ir;

namespace {
using ids = small_vector<ValueId, 4>;
ValueId v(std::uint32_t i) { return ValueId{i}; }

template <class A, class B>
bool same(const A& a, const B& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i])) return false;
    return true;
}
} // namespace

static_assert(sizeof(ids) == sizeof(std::vector<ValueId>), "as small as the std::vector it replaces");
static_assert(sizeof(small_vector<Use, 2>) == sizeof(std::vector<Use>));
static_assert(std::is_nothrow_move_constructible_v<ids> && std::is_nothrow_move_assignable_v<ids>);
// To a std::vector only when asked: an implicit conversion made a temporary wherever a
// `const std::vector<T>&` was taken, and a range keeping a pointer to it dangled.
static_assert(std::is_constructible_v<std::vector<ValueId>, const ids&> && !std::is_convertible_v<const ids&, std::vector<ValueId>>);
static_assert(std::is_convertible_v<const std::vector<ValueId>&, ids>);

TEST_CASE("small_vector: inline up to N, then on the heap, elements kept across the move") {
    ids a;
    CHECK(a.empty());
    CHECK(a.capacity() == 4);
    for (std::uint32_t i = 0; i < 4; ++i) a.push_back(v(i));
    CHECK(a.capacity() == 4); // still inline
    const ValueId* inline_data = a.data();
    CHECK(static_cast<const void*>(inline_data) >= static_cast<const void*>(&a));
    CHECK(static_cast<const void*>(inline_data) < static_cast<const void*>(&a + 1));
    a.push_back(v(4));
    CHECK(a.capacity() >= 5);
    CHECK(!(static_cast<const void*>(a.data()) >= static_cast<const void*>(&a) && static_cast<const void*>(a.data()) < static_cast<const void*>(&a + 1)));
    CHECK(same(a, std::vector<ValueId>{v(0), v(1), v(2), v(3), v(4)}));

    // Moves: a heap buffer is handed over, an inline one copied; the source is left empty.
    ids b = std::move(a);
    CHECK(b.size() == 5);
    CHECK(a.empty()); // NOLINT: the moved-from state is specified (empty)
    ids c{v(7), v(8)};
    ids d = std::move(c);
    CHECK(same(d, std::vector<ValueId>{v(7), v(8)}));
    CHECK(c.empty()); // NOLINT
    d = std::move(b);
    CHECK(d.size() == 5);
    ids& alias = d;
    d = alias; // self-assignment keeps the elements
    CHECK(d.size() == 5);
}

TEST_CASE("small_vector: pushing one of its own elements while it grows") {
    ids a{v(1), v(2), v(3), v(4)};
    a.push_back(a[0]); // grows: the argument must be read before the old storage goes
    a.push_back(a.back());
    CHECK(same(a, std::vector<ValueId>{v(1), v(2), v(3), v(4), v(1), v(1)}));
    ids b{v(5), v(6), v(7), v(8)};
    b.insert(b.begin(), b[3]);
    CHECK(same(b, std::vector<ValueId>{v(8), v(5), v(6), v(7), v(8)}));
    b.resize(9, b[1]);
    CHECK(same(b, std::vector<ValueId>{v(8), v(5), v(6), v(7), v(8), v(5), v(5), v(5), v(5)}));
}

TEST_CASE("small_vector: what code written for the std::vector member does still works") {
    const std::vector<ValueId> src{v(3), v(1), v(2)};
    ids a = src;                         // from a std::vector
    std::vector<ValueId> back(a);        // to a std::vector (explicit)
    CHECK(back == src);
    CHECK(a == src);                     // compared with one
    CHECK(src == a);
    std::span<const ValueId> s(a);       // viewed as a span
    CHECK(s.size() == 3);
    CHECK(s[2] == v(2));
    ids b;
    b = {v(9)};
    CHECK(b != a);
    CHECK_THROWS_AS((void)a.at(3), std::out_of_range);
    CHECK(a.at(0) == v(3));
    a.erase(a.begin() + 1);
    CHECK(same(a, std::vector<ValueId>{v(3), v(2)}));
    a.erase(a.begin(), a.end());
    CHECK(a.empty());
}

TEST_CASE("small_vector: the same results as std::vector over random edits") {
    std::mt19937 rng(12345);
    std::vector<ids> mine(6);
    std::vector<std::vector<ValueId>> ref(6);
    for (int step = 0; step < 20000; ++step) {
        const std::size_t k = rng() % mine.size();
        ids& m = mine[k];
        std::vector<ValueId>& r = ref[k];
        const auto x = v(static_cast<std::uint32_t>(rng() % 1000));
        switch (rng() % 10) {
        case 0: case 1: case 2: m.push_back(x); r.push_back(x); break;
        case 3: if (!r.empty()) { m.pop_back(); r.pop_back(); } break;
        case 4: { const std::size_t n = rng() % 11; m.resize(n, x); r.resize(n, x); break; }
        case 5: { const std::size_t at = r.empty() ? 0 : rng() % (r.size() + 1);
                  m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), x); r.insert(r.begin() + static_cast<std::ptrdiff_t>(at), x); break; }
        case 6: if (!r.empty()) { const std::size_t at = rng() % r.size();
                  m.erase(m.begin() + static_cast<std::ptrdiff_t>(at)); r.erase(r.begin() + static_cast<std::ptrdiff_t>(at)); } break;
        case 7: { const std::size_t j = rng() % mine.size(); m = mine[j]; r = ref[j]; break; } // copy, possibly itself
        case 8: { const std::size_t j = rng() % mine.size(); if (j != k) { m = std::move(mine[j]); r = std::move(ref[j]); mine[j].clear(); ref[j].clear(); } break; }
        default: if (rng() % 8 == 0) { m.clear(); r.clear(); } break;
        }
        REQUIRE(same(m, r));
    }
}

TEST_CASE("graph: node inputs and value uses past the inline size") {
    Graph g;
    std::vector<ValueId> ins;
    for (int i = 0; i < 9; ++i) ins.push_back(g.add_input(std::string(1, static_cast<char>('a' + i)), {1, 2}));
    const NodeId n = g.add_node(ops::Concat{.axis = 1}, ins);
    CHECK(g.node(n).inputs == ins);
    // One value read by many nodes: its uses go to the heap and back to inline as they are removed.
    const ValueId y = g.node(n).outputs[0];
    std::vector<NodeId> readers;
    for (int i = 0; i < 7; ++i) readers.push_back(g.add_node(ops::Relu{}, {y}));
    CHECK(g.value(y).uses.size() == 7);
    const ValueId keep = g.node(readers.back()).outputs[0];
    g.add_output(keep);
    g.remove_dead();
    CHECK(g.value(y).uses.size() == 1);
    CHECK(g.value(y).uses[0].node == readers.back());
    verify(g);
}

TEST_CASE("graph: nodes and values never move, so their inline lists stay valid while the graph grows") {
    // With the lists stored in the node, a loop over a node's inputs that adds nodes (a replacement
    // built input by input) reads freed memory if nodes move when their storage grows.
    Graph g;
    const ValueId x = g.add_input("x", {1, 2});
    const NodeId n = g.add_node(ops::Add{}, {x, x});
    const Node* node_at = &g.node(n);
    const ValueId* inputs_at = g.node(n).inputs.data();
    const Value* x_at = &g.value(x);
    std::size_t added = 0;
    for (ValueId in : g.node(n).inputs)
        for (int i = 0; i < 3000; ++i, ++added) (void)g.add_node(ops::Relu{}, {in}); // 6000 nodes: past the first chunk
    CHECK(added == 6000);
    CHECK(&g.node(n) == node_at);
    CHECK(g.node(n).inputs.data() == inputs_at);
    CHECK(&g.value(x) == x_at);
    // The same for a value's uses (on the heap by now) and a copy of the graph, which grows in turn.
    Graph copy = g;
    const Node* copied_at = &copy.node(n);
    std::size_t seen = 0;
    for (const Use& u : copy.value(copy.node(n).outputs[0]).uses) (void)u;
    for (ValueId in : copy.node(n).inputs) {
        (void)copy.add_node(ops::Neg{}, {in});
        ++seen;
    }
    CHECK(seen == 2);
    CHECK(&copy.node(n) == copied_at);
    CHECK(copy.value(x).uses.size() == g.value(x).uses.size() + 2);
}
