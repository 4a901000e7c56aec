// ir::detail::name_map: a hash map from names to small values for the tables of every name of a
// model (the ONNX reader's and writer's), where std::unordered_map costs a heap node and a string
// copy per name: here one flat array of slots, and the keys copied into shared blocks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace surgery::ir::detail {

/// A bijective 64-bit mixer (xorshift-multiply).
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

/// The seed of name_hash, drawn once per process (address-space layout and clock): a model cannot
/// be built in advance whose names all land in the same slots (a table of a million names probed
/// end to end on every insert). Nothing depends on the order of a name_map's entries.
[[nodiscard]] inline std::uint64_t name_hash_seed() noexcept {
    static const std::uint64_t seed = [] {
        static const char anchor = 0;
        const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        return mix64(reinterpret_cast<std::uintptr_t>(&anchor) ^ mix64(now));
    }();
    return seed;
}

/// A 64-bit hash of a name: eight bytes at a time, each step mixed (names that differ only in their
/// last digits land far apart), from a per-process seed.
[[nodiscard]] inline std::uint64_t name_hash(std::string_view s) noexcept {
    constexpr auto mix = mix64;
    std::uint64_t h = name_hash_seed() ^ 0x9e3779b97f4a7c15ULL ^ (static_cast<std::uint64_t>(s.size()) * 0xff51afd7ed558ccdULL);
    const char* p = s.data();
    std::size_t n = s.size();
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, 8);
        h = mix(h ^ w);
    }
    if (n > 0) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);
        h = mix(h ^ w ^ 0x8000000000000000ULL);
    }
    return h;
}

/// Open addressing with linear probing over a power-of-two array of slots, at most 7/8 full; erase
/// shifts the following entries back (no tombstones). Keys are copied into blocks the map owns
/// (never moved, so the views it hands out stay valid until the map is destroyed or cleared; an
/// erased key's bytes are not reclaimed). Values are trivially copyable. Not copyable; movable.
template <class V>
class name_map {
    static_assert(std::is_trivially_copyable_v<V>, "name_map holds small trivially copyable values");

public:
    struct insert_result {
        V* value;             ///< the entry's value (the existing one when not inserted)
        std::string_view key; ///< the key as stored in the map
        bool inserted;
    };

    name_map() = default;
    name_map(const name_map&) = delete;
    name_map& operator=(const name_map&) = delete;
    /// The source is left empty (its blocks, which the slots point into, move with them).
    name_map(name_map&& o) noexcept
        : slots_(std::move(o.slots_)), blocks_(std::move(o.blocks_)), current_(std::exchange(o.current_, nullptr)),
          used_(std::exchange(o.used_, block_size_)), size_(std::exchange(o.size_, 0)) {
        o.slots_.clear();
        o.blocks_.clear();
    }
    name_map& operator=(name_map&& o) noexcept {
        if (this != &o) {
            slots_ = std::move(o.slots_);
            blocks_ = std::move(o.blocks_);
            current_ = std::exchange(o.current_, nullptr);
            used_ = std::exchange(o.used_, block_size_);
            size_ = std::exchange(o.size_, 0);
            o.slots_.clear();
            o.blocks_.clear();
        }
        return *this;
    }
    ~name_map() = default;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    /// Room for `n` entries without growing the slot array.
    void reserve(std::size_t n) {
        if (n > max_entries) throw std::length_error("name_map: more than 2^31 names");
        std::size_t cap = 16;
        while (cap - cap / 8 < n) cap *= 2;
        if (cap > slots_.size()) rehash(cap);
    }

    /// Inserts `key` -> `value` unless `key` is present (then the map is unchanged, and pointers to
    /// its values stay valid; an insert may move every value).
    insert_result try_emplace(std::string_view key, V value) {
        if (key.size() > max_key_size) throw std::length_error("name_map: a name of more than 4 GiB");
        const auto h = static_cast<std::uint32_t>(name_hash(key));
        if (slots_.empty()) rehash(16);
        std::size_t i = probe(key, h);
        if (slots_[i].data) return {&slots_[i].value, std::string_view(slots_[i].data, slots_[i].size), false};
        if (size_ + 1 > slots_.size() - slots_.size() / 8) { // full enough: grow, then find the free slot again
            if (size_ + 1 > max_entries) throw std::length_error("name_map: more than 2^31 names");
            rehash(slots_.size() * 2);
            i = probe(key, h);
        }
        slot& s = slots_[i];
        s.data = store(key); // the key's bytes are read before the slot is written: key may view this map's blocks
        s.size = static_cast<std::uint32_t>(key.size());
        s.hash = h;
        s.value = value;
        ++size_;
        return {&s.value, std::string_view(s.data, s.size), true};
    }

    /// Sets `key` -> `value`, inserting it when absent.
    void assign(std::string_view key, V value) { *try_emplace(key, value).value = value; }

    [[nodiscard]] V* find(std::string_view key) noexcept { return const_cast<V*>(std::as_const(*this).find(key)); }
    [[nodiscard]] const V* find(std::string_view key) const noexcept {
        const std::size_t i = locate(key);
        return i == npos ? nullptr : &slots_[i].value;
    }
    [[nodiscard]] bool contains(std::string_view key) const noexcept { return locate(key) != npos; }

    /// Removes `key`; whether it was present.
    bool erase(std::string_view key) noexcept {
        std::size_t i = locate(key);
        if (i == npos) return false;
        const std::size_t mask = slots_.size() - 1;
        // Backward shift: move each following entry of the run into the hole when its home slot
        // does not lie (cyclically) after the hole.
        for (std::size_t j = (i + 1) & mask; slots_[j].data; j = (j + 1) & mask) {
            const std::size_t home = slots_[j].hash & mask;
            const bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) continue;
            slots_[i] = slots_[j];
            i = j;
        }
        slots_[i] = slot{};
        --size_;
        return true;
    }

    void clear() noexcept {
        slots_.clear();
        blocks_.clear();
        current_ = nullptr;
        used_ = block_size_;
        size_ = 0;
    }

private:
    struct slot {
        const char* data = nullptr; ///< null: empty slot
        std::uint32_t size = 0;
        std::uint32_t hash = 0; ///< the low half of name_hash: the home slot and a first comparison
        V value{};
    };
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static constexpr std::size_t block_size_ = 64 * 1024;
    static constexpr std::size_t max_key_size = 0xffffffffU;
    static constexpr std::size_t max_entries = std::size_t{1} << 31; ///< slots are found by a 32-bit hash

    /// The slot holding `key` (hash `h`), or the empty slot where it would go. The array is never
    /// full (at most 7/8), so the walk ends.
    [[nodiscard]] std::size_t probe(std::string_view key, std::uint32_t h) const noexcept {
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = h & mask;; i = (i + 1) & mask) {
            const slot& s = slots_[i];
            if (!s.data) return i;
            if (s.hash == h && s.size == key.size() && std::memcmp(s.data, key.data(), key.size()) == 0) return i;
        }
    }

    [[nodiscard]] std::size_t locate(std::string_view key) const noexcept {
        if (slots_.empty() || key.size() > max_key_size) return npos;
        const std::size_t i = probe(key, static_cast<std::uint32_t>(name_hash(key)));
        return slots_[i].data ? i : npos;
    }

    /// A copy of `key`'s bytes in the map's blocks (a non-null pointer even for an empty key).
    const char* store(std::string_view key) {
        if (key.size() > block_size_ / 4) { // a long key gets a block of its own
            blocks_.push_back(std::make_unique_for_overwrite<char[]>(key.size() + 1));
            std::memcpy(blocks_.back().get(), key.data(), key.size());
            return blocks_.back().get();
        }
        if (used_ + key.size() + 1 > block_size_ || current_ == nullptr) {
            blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_size_));
            current_ = blocks_.back().get();
            used_ = 0;
        }
        char* p = current_ + used_;
        if (!key.empty()) std::memcpy(p, key.data(), key.size());
        used_ += key.size() + 1;
        return p;
    }

    void rehash(std::size_t capacity) {
        std::vector<slot> old(capacity);
        old.swap(slots_);
        const std::size_t mask = capacity - 1;
        for (const slot& s : old) {
            if (!s.data) continue;
            std::size_t i = s.hash & mask;
            while (slots_[i].data) i = (i + 1) & mask;
            slots_[i] = s;
        }
    }

    std::vector<slot> slots_;
    std::vector<std::unique_ptr<char[]>> blocks_;
    char* current_ = nullptr; ///< the block short keys go to
    std::size_t used_ = block_size_;
    std::size_t size_ = 0;
};

/// A set of names: a `name_map` without values.
class name_set {
public:
    /// Inserts `key`; the stored view and whether it was inserted.
    std::pair<std::string_view, bool> insert(std::string_view key) {
        const auto r = map_.try_emplace(key, 0);
        return {r.key, r.inserted};
    }
    [[nodiscard]] bool contains(std::string_view key) const noexcept { return map_.contains(key); }
    bool erase(std::string_view key) noexcept { return map_.erase(key); }
    void reserve(std::size_t n) { map_.reserve(n); }
    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] bool empty() const noexcept { return map_.empty(); }
    void clear() noexcept { map_.clear(); }

private:
    name_map<unsigned char> map_;
};

} // namespace surgery::ir::detail
