// ir::detail::scratch: a buffer an object keeps between calls only to reuse its memory, and so
// leaves out of its copies.
#pragma once

namespace surgery::ir::detail {

/// A member buffer whose contents mean nothing between calls (a const member function's working
/// arrays, kept for their capacity). A copy of its owner starts empty, and an assignment leaves
/// the target's own: copying them would cost what the owner's data costs (a graph's order scratch
/// is 12 MB at a million nodes) for nothing. Moves move it.
template <class T>
struct scratch {
    T buffer;

    scratch() = default;
    scratch(const scratch&) noexcept(noexcept(T())) : buffer() {}
    scratch(scratch&&) = default;
    scratch& operator=(const scratch&) noexcept { return *this; }
    scratch& operator=(scratch&&) = default;
    ~scratch() = default;
};

} // namespace surgery::ir::detail
