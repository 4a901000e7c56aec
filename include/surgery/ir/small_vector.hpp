// ir::small_vector: the graph's short lists (a node's inputs and outputs, a value's uses), stored in
// the node or value itself while they are short, and on the heap beyond. Most nodes have one to
// four inputs and one output, and most values one or two uses: inline, reading a node's inputs is
// no second cache miss, and a million-node graph makes no three million small allocations.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace surgery::ir {

/// A `std::vector` of trivially copyable `T` whose first `N` elements live inside the object (24
/// bytes for four ids, like a `std::vector`). The interface is the part of `std::vector`'s the graph
/// and its users need: contiguous storage (a `std::span` views it), indexing, appending, resizing,
/// comparison, construction from a `std::vector` (implicit) and conversion to one (explicit), so
/// most code written against a `std::vector` member keeps compiling. As with `std::vector`, growing
/// may move the elements: pointers and iterators into it are invalidated by anything that changes
/// its size (and, for the inline elements, by a move or swap of the vector).
template <class T, std::size_t N>
class small_vector {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>, "small_vector holds ids and plain records");
    static_assert(N > 0);

public:
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using reference = T&;
    using const_reference = const T&;
    using pointer = T*;
    using const_pointer = const T*;
    using iterator = T*;
    using const_iterator = const T*;
    using reverse_iterator = std::reverse_iterator<iterator>;
    using const_reverse_iterator = std::reverse_iterator<const_iterator>;

    small_vector() noexcept {}
    explicit small_vector(size_type n, const T& v = T{}) { assign(n, v); }
    small_vector(std::initializer_list<T> l) { assign(l.begin(), l.end()); }
    template <std::input_iterator It>
    small_vector(It first, It last) {
        assign(first, last);
    }
    small_vector(const std::vector<T>& v) { assign(v.begin(), v.end()); } // NOLINT: implicit, as the member was a std::vector
    small_vector(const small_vector& o) { assign(o.begin(), o.end()); }
    small_vector(small_vector&& o) noexcept { steal(o); }
    small_vector& operator=(const small_vector& o) {
        if (this != &o) assign(o.begin(), o.end());
        return *this;
    }
    small_vector& operator=(small_vector&& o) noexcept {
        if (this != &o) {
            release();
            steal(o);
        }
        return *this;
    }
    small_vector& operator=(std::initializer_list<T> l) {
        assign(l.begin(), l.end());
        return *this;
    }
    ~small_vector() { release(); }

    /// A copy as a `std::vector`: `std::vector<ValueId> ins(node.inputs)`. Explicit: an implicit one
    /// would make a temporary wherever a `const std::vector<T>&` is expected, and a reference kept
    /// to it would dangle.
    explicit operator std::vector<T>() const { return std::vector<T>(begin(), end()); }

    template <std::input_iterator It>
    void assign(It first, It last) {
        clear();
        if constexpr (std::forward_iterator<It>) reserve(static_cast<size_type>(std::distance(first, last)));
        for (; first != last; ++first) push_back(*first);
    }
    void assign(size_type n, const T& v) {
        clear();
        resize(n, v);
    }

    [[nodiscard]] T* data() noexcept { return heap() ? u_.heap : u_.local; }
    [[nodiscard]] const T* data() const noexcept { return heap() ? u_.heap : u_.local; }
    [[nodiscard]] size_type size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] size_type capacity() const noexcept { return heap() ? cap_ : N; }
    [[nodiscard]] static constexpr size_type max_size() noexcept { return std::numeric_limits<std::uint32_t>::max(); }

    iterator begin() noexcept { return data(); }
    iterator end() noexcept { return data() + size_; }
    const_iterator begin() const noexcept { return data(); }
    const_iterator end() const noexcept { return data() + size_; }
    const_iterator cbegin() const noexcept { return begin(); }
    const_iterator cend() const noexcept { return end(); }
    reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
    reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
    const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
    const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }

    T& operator[](size_type i) noexcept { return data()[i]; }
    const T& operator[](size_type i) const noexcept { return data()[i]; }
    T& at(size_type i) {
        if (i >= size_) throw std::out_of_range("small_vector::at");
        return data()[i];
    }
    const T& at(size_type i) const {
        if (i >= size_) throw std::out_of_range("small_vector::at");
        return data()[i];
    }
    T& front() noexcept { return data()[0]; }
    const T& front() const noexcept { return data()[0]; }
    T& back() noexcept { return data()[size_ - 1]; }
    const T& back() const noexcept { return data()[size_ - 1]; }

    void reserve(size_type n) {
        if (n <= capacity()) return;
        if (n > max_size()) throw std::length_error("small_vector: too many elements");
        T* p = static_cast<T*>(::operator new(n * sizeof(T)));
        if (size_) std::memcpy(static_cast<void*>(p), data(), size_ * sizeof(T));
        release();
        u_.heap = p;
        cap_ = static_cast<std::uint32_t>(n);
    }
    void push_back(const T& v) {
        if (size_ == capacity()) {
            const T copy = v; // `v` may be an element of this vector
            grow(size_ + 1);
            data()[size_++] = copy;
            return;
        }
        data()[size_++] = v;
    }
    template <class... Args>
    T& emplace_back(Args&&... args) {
        push_back(T(std::forward<Args>(args)...));
        return back();
    }
    void pop_back() noexcept { --size_; }
    void clear() noexcept { size_ = 0; }
    void resize(size_type n, const T& v = T{}) {
        if (n > size_) {
            const T copy = v;
            grow(n);
            std::fill(data() + size_, data() + n, copy);
        }
        size_ = static_cast<std::uint32_t>(n);
    }
    iterator insert(const_iterator pos, const T& v) {
        const auto i = static_cast<size_type>(pos - begin());
        const T copy = v;
        grow(size_ + 1);
        T* d = data();
        std::memmove(static_cast<void*>(d + i + 1), d + i, (size_ - i) * sizeof(T));
        d[i] = copy;
        ++size_;
        return d + i;
    }
    iterator erase(const_iterator pos) noexcept { return erase(pos, pos + 1); }
    iterator erase(const_iterator first, const_iterator last) noexcept {
        const auto i = static_cast<size_type>(first - begin());
        const auto j = static_cast<size_type>(last - begin());
        T* d = data();
        std::memmove(static_cast<void*>(d + i), d + j, (size_ - j) * sizeof(T));
        size_ -= static_cast<std::uint32_t>(j - i);
        return d + i;
    }
    void swap(small_vector& o) noexcept {
        small_vector t(std::move(o));
        o = std::move(*this);
        *this = std::move(t);
    }

    friend bool operator==(const small_vector& a, const small_vector& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }
    friend bool operator==(const small_vector& a, const std::vector<T>& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

private:
    [[nodiscard]] bool heap() const noexcept { return cap_ > N; }
    void grow(size_type n) {
        if (n > capacity()) reserve(std::max(n, 2 * capacity()));
    }
    void release() noexcept {
        if (heap()) ::operator delete(u_.heap);
        cap_ = 0;
    }
    void steal(small_vector& o) noexcept {
        size_ = o.size_;
        cap_ = o.cap_;
        if (o.heap()) u_.heap = o.u_.heap;
        else std::memcpy(static_cast<void*>(u_.local), o.u_.local, o.size_ * sizeof(T));
        o.size_ = 0;
        o.cap_ = 0;
    }

    std::uint32_t size_ = 0;
    std::uint32_t cap_ = 0; ///< heap capacity when above N; at most N: the elements are inline
    union storage {
        T local[N];
        T* heap;
        storage() noexcept : local{} {}
    } u_;
};

} // namespace surgery::ir
