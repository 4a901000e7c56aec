// Strongly typed node and value identifiers, so that a node id is never passed where a value id is expected.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>

namespace surgery::ir {

/// A dense index tagged with what it indexes. `Tag` only distinguishes the types.
template <class Tag>
class basic_id {
public:
    using underlying_type = std::uint32_t;
    static constexpr underlying_type invalid_value = std::numeric_limits<underlying_type>::max();

    constexpr basic_id() noexcept = default;
    constexpr explicit basic_id(underlying_type v) noexcept : v_(v) {}
    constexpr explicit basic_id(std::size_t v) noexcept : v_(static_cast<underlying_type>(v)) {}

    /// The "no value" id (e.g. an omitted optional input).
    [[nodiscard]] static constexpr basic_id none() noexcept { return basic_id{}; }
    [[nodiscard]] constexpr bool valid() const noexcept { return v_ != invalid_value; }
    [[nodiscard]] constexpr explicit operator bool() const noexcept { return valid(); }
    [[nodiscard]] constexpr std::size_t index() const noexcept { return v_; }

    friend constexpr bool operator==(basic_id, basic_id) noexcept = default;
    friend constexpr auto operator<=>(basic_id, basic_id) noexcept = default;

private:
    underlying_type v_ = invalid_value;
};

struct node_tag {};
struct value_tag {};

/// Identifies a node (an op application) of an `ir::Graph`.
using NodeId = basic_id<node_tag>;
/// Identifies a value (a tensor: graph input, constant or node output) of an `ir::Graph`.
using ValueId = basic_id<value_tag>;

} // namespace surgery::ir

template <class Tag>
struct std::hash<surgery::ir::basic_id<Tag>> {
    std::size_t operator()(surgery::ir::basic_id<Tag> id) const noexcept { return std::hash<std::size_t>{}(id.index()); }
};
