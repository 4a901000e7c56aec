// ir::detail::chunked_vector: the graph's node and value storage. Elements live in chunks of a fixed
// number of elements, so that growing never moves what is stored: a graph of a million nodes grows
// without the copy of every node, and without holding the old and the new array at once.
#pragma once

#include <compare>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace surgery::ir::detail {

/// A sequence with `std::vector`'s indexing, appending and shrinking, stored as chunks of
/// `2^ChunkBits` elements, each allocated whole. Appending never relocates an element: references,
/// pointers and iterators into an element stay valid until it is removed (`resize` to fewer).
template <class T, unsigned ChunkBits = 12>
class chunked_vector {
    static constexpr std::size_t chunk = std::size_t{1} << ChunkBits;
    static constexpr std::size_t mask = chunk - 1;

public:
    using value_type = T;
    using size_type = std::size_t;

    template <bool Const>
    class basic_iterator {
        using owner = std::conditional_t<Const, const chunked_vector, chunked_vector>;

    public:
        using iterator_category = std::random_access_iterator_tag;
        using iterator_concept = std::random_access_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using reference = std::conditional_t<Const, const T&, T&>;
        using pointer = std::conditional_t<Const, const T*, T*>;

        basic_iterator() = default;
        basic_iterator(owner* v, std::size_t i) : v_(v), i_(i) {}
        operator basic_iterator<true>() const { return {v_, i_}; } // NOLINT: iterator to const_iterator

        reference operator*() const { return (*v_)[i_]; }
        pointer operator->() const { return &(*v_)[i_]; }
        reference operator[](difference_type d) const { return (*v_)[static_cast<std::size_t>(static_cast<difference_type>(i_) + d)]; }
        basic_iterator& operator++() { ++i_; return *this; }
        basic_iterator operator++(int) { auto t = *this; ++i_; return t; }
        basic_iterator& operator--() { --i_; return *this; }
        basic_iterator operator--(int) { auto t = *this; --i_; return t; }
        basic_iterator& operator+=(difference_type d) { i_ = static_cast<std::size_t>(static_cast<difference_type>(i_) + d); return *this; }
        basic_iterator& operator-=(difference_type d) { return *this += -d; }
        friend basic_iterator operator+(basic_iterator a, difference_type d) { return a += d; }
        friend basic_iterator operator+(difference_type d, basic_iterator a) { return a += d; }
        friend basic_iterator operator-(basic_iterator a, difference_type d) { return a -= d; }
        friend difference_type operator-(const basic_iterator& a, const basic_iterator& b) {
            return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
        }
        friend bool operator==(const basic_iterator& a, const basic_iterator& b) { return a.i_ == b.i_; }
        friend auto operator<=>(const basic_iterator& a, const basic_iterator& b) { return a.i_ <=> b.i_; }

    private:
        owner* v_ = nullptr;
        std::size_t i_ = 0;
    };
    using iterator = basic_iterator<false>;
    using const_iterator = basic_iterator<true>;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    T& operator[](std::size_t i) noexcept { return chunks_[i >> ChunkBits][i & mask]; }
    const T& operator[](std::size_t i) const noexcept { return chunks_[i >> ChunkBits][i & mask]; }
    T& at(std::size_t i) {
        if (i >= size_) throw std::out_of_range("ir::Graph: index out of range");
        return (*this)[i];
    }
    const T& at(std::size_t i) const {
        if (i >= size_) throw std::out_of_range("ir::Graph: index out of range");
        return (*this)[i];
    }
    T& back() noexcept { return (*this)[size_ - 1]; }

    chunked_vector() = default;
    /// A copy whose chunks have whole capacity, as the original's: appending to it moves nothing either.
    chunked_vector(const chunked_vector& o) : size_(o.size_) {
        chunks_.reserve(o.chunks_.capacity());
        for (const auto& c : o.chunks_) {
            auto& d = chunks_.emplace_back();
            d.reserve(chunk);
            d.insert(d.end(), c.begin(), c.end());
        }
    }
    chunked_vector(chunked_vector&&) noexcept = default;
    chunked_vector& operator=(const chunked_vector& o) {
        if (this != &o) *this = chunked_vector(o);
        return *this;
    }
    chunked_vector& operator=(chunked_vector&&) noexcept = default;
    ~chunked_vector() = default;

    template <class... Args>
    T& emplace_back(Args&&... args) {
        if (chunks_.empty() || chunks_.back().size() == chunk) {
            // Every chunk is allocated whole (the pages of a small graph's one chunk that are never
            // written are never touched), so that an element never moves: a node's inputs and a
            // value's uses are stored in it (ir::small_vector), and an iteration over them stays valid
            // while nodes and values are added.
            chunks_.emplace_back().reserve(chunk);
        }
        T& t = chunks_.back().emplace_back(std::forward<Args>(args)...);
        ++size_;
        return t;
    }
    void push_back(T t) { emplace_back(std::move(t)); }

    /// Room for `n` elements in all: only the chunk table is reserved (chunks are allocated as filled).
    void reserve(std::size_t n) { chunks_.reserve((n + mask) >> ChunkBits); }

    /// Shrinks to `n` elements (growing is `emplace_back`'s).
    void resize(std::size_t n) {
        if (n >= size_) {
            while (size_ < n) emplace_back();
            return;
        }
        const std::size_t keep = (n + mask) >> ChunkBits;
        chunks_.resize(keep);
        if (keep > 0) chunks_.back().resize(n - ((keep - 1) << ChunkBits));
        size_ = n;
    }

    iterator begin() noexcept { return {this, 0}; }
    iterator end() noexcept { return {this, size_}; }
    const_iterator begin() const noexcept { return {this, 0}; }
    const_iterator end() const noexcept { return {this, size_}; }

private:
    std::vector<std::vector<T>> chunks_;
    std::size_t size_ = 0;
};

} // namespace surgery::ir::detail
