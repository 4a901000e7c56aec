// Tests of ir::detail::name_map and name_set, the flat tables of names the ONNX reader and writer
// keep: the same answers as std::unordered_map over random inserts, finds and erases (erase shifts
// entries back, so runs that wrap around the end of the array are exercised on a small map), the
// views they hand out surviving growth, and names that are empty, long or differ in one byte.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "surgery/ir/name_map.hpp"

using surgery::ir::detail::name_hash;
using surgery::ir::detail::name_map;
using surgery::ir::detail::name_set;

namespace {
std::string random_name(std::mt19937& rng, std::size_t pool) {
    // Names from a small pool, so that inserts hit existing keys and erases find them.
    std::uniform_int_distribution<std::size_t> pick(0, pool - 1);
    const std::size_t k = pick(rng);
    std::string name; // built with append: GCC 12 warns falsely on "literal" + std::string
    switch (k % 4) {
    case 0: name.append("v").append(std::to_string(k)); break;
    case 1: name.append("/features/features.").append(std::to_string(k)).append("/Conv_output_0"); break;
    case 2: name.assign(k % 37, 'x'); break;                                    // includes the empty name
    default: name.append(std::string("a\0b", 3)).append(std::to_string(k)); // an embedded NUL
    }
    return name;
}
} // namespace

TEST_CASE("name_map: the same answers as std::unordered_map over random edits") {
    for (std::uint32_t seed = 1; seed <= 6; ++seed) {
        std::mt19937 rng(seed);
        const std::size_t pool = seed % 2 ? 40 : 3000; // small pools wrap runs around the array's end
        name_map<std::uint32_t> m;
        std::unordered_map<std::string, std::uint32_t> ref;
        std::uniform_int_distribution<int> what(0, 9);
        for (int step = 0; step < 20000; ++step) {
            const std::string key = random_name(rng, pool);
            const int w = what(rng);
            if (w < 5) {
                const auto value = static_cast<std::uint32_t>(step);
                const auto r = m.try_emplace(key, value);
                const bool inserted = ref.emplace(key, value).second;
                REQUIRE(r.inserted == inserted);
                REQUIRE(*r.value == ref.at(key));
                REQUIRE(r.key == key);
            } else if (w < 8) {
                REQUIRE(m.erase(key) == (ref.erase(key) == 1));
            } else {
                const std::uint32_t* found = m.find(key);
                const auto it = ref.find(key);
                REQUIRE((found != nullptr) == (it != ref.end()));
                if (found) REQUIRE(*found == it->second);
            }
            REQUIRE(m.size() == ref.size());
        }
        // Every surviving entry is still found after all the shifts.
        for (const auto& [k, v] : ref) {
            const std::uint32_t* found = m.find(k);
            REQUIRE(found != nullptr);
            CHECK(*found == v);
        }
    }
}

TEST_CASE("name_map: stored keys stay valid through growth, assign overwrites, clear empties") {
    name_map<int> m;
    std::vector<std::string_view> views;
    std::vector<std::string> names;
    for (int i = 0; i < 50000; ++i) {
        std::string name = "node_";
        name.append(std::to_string(i)).append(i % 7 == 0 ? 200 : 0, 'q');
        names.push_back(name);
        std::string copy = names.back(); // the map must not keep a view of the caller's string
        views.push_back(m.try_emplace(copy, i).key);
    }
    const std::string huge(100000, 'z'); // larger than a key block
    views.push_back(m.try_emplace(huge, -1).key);
    names.push_back(huge);
    for (std::size_t i = 0; i < names.size(); ++i) REQUIRE(views[i] == names[i]);
    m.assign("node_3", 42);
    CHECK(*m.find("node_3") == 42);
    m.assign("fresh", 7);
    CHECK(*m.find("fresh") == 7);
    CHECK(m.size() == 50002);
    m.reserve(10); // never shrinks
    CHECK(*m.find(huge) == -1);
    m.clear();
    CHECK(m.empty());
    CHECK(m.find("node_3") == nullptr);
    CHECK(m.try_emplace("node_3", 1).inserted);
}

TEST_CASE("name_set and name_hash") {
    name_set s;
    CHECK(s.insert("").second);
    CHECK_FALSE(s.insert("").second);
    CHECK(s.contains(""));
    CHECK(s.insert("a").second);
    CHECK_FALSE(s.contains("b"));
    CHECK(s.erase("a"));
    CHECK_FALSE(s.erase("a"));
    CHECK(s.size() == 1);
    // Names that differ in one byte, anywhere, hash apart (the low half is the home slot).
    const std::string base = "/model/layer.123/Mul_output_0";
    for (std::size_t i = 0; i < base.size(); ++i) {
        std::string other = base;
        other[i] = static_cast<char>(other[i] ^ 1);
        CHECK(static_cast<std::uint32_t>(name_hash(other)) != static_cast<std::uint32_t>(name_hash(base)));
    }
    CHECK(name_hash("ab") != name_hash(std::string_view("ab\0", 3)));
}

TEST_CASE("name_map: a move leaves the source empty and usable; a present key never grows the map") {
    name_map<int> a;
    a.try_emplace("alpha", 1);
    name_map<int> b(std::move(a));
    CHECK(a.empty()); // NOLINT(bugprone-use-after-move): the moved-from state is specified
    CHECK(a.find("alpha") == nullptr);
    const auto ra = a.try_emplace("XXXX", 2);
    const auto rb = b.try_emplace("YYYY", 3);
    CHECK(ra.key == "XXXX"); // the two maps do not share a block
    CHECK(rb.key == "YYYY");
    CHECK(*a.find("XXXX") == 2);
    CHECK(*b.find("alpha") == 1);
    name_map<int> c;
    c.try_emplace("gamma", 5);
    c = std::move(b);
    CHECK(b.empty());
    CHECK(c.find("gamma") == nullptr);
    CHECK(*c.find("YYYY") == 3);
    b.try_emplace("z", 4);
    CHECK(*b.find("z") == 4);

    // 16 slots hold 14 entries; at that size, inserting a key already present must not rehash.
    name_map<int> d;
    for (int i = 0; i < 14; ++i) d.try_emplace(std::string("k").append(std::to_string(i)), i);
    int* p = d.find("k3");
    const auto r = d.try_emplace("k3", 99);
    CHECK_FALSE(r.inserted);
    CHECK(r.value == p);
    CHECK(*p == 3);
    CHECK(d.try_emplace("k14", 14).inserted); // the fifteenth grows the array
    CHECK(*d.find("k3") == 3);
    CHECK_THROWS_AS(d.reserve(std::size_t{1} << 40), std::length_error);
}
