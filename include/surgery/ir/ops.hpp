// The typed op catalogue: every op family's structs joined into ir::Op, with lookups by kind and ONNX name.
//
// Each op is defined once, in its family header under ir/ops/ (see ir/op_def.hpp for what an
// op declares). This header only joins the families: adding an op to a family's `*_ops` list is
// all it takes to make it part of the catalogue. Ops outside the catalogue are `ops::Opaque`.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "surgery/ir/op_def.hpp"
#include "surgery/ir/ops/elementwise.hpp"
#include "surgery/ir/ops/indexing.hpp"
#include "surgery/ir/ops/logic.hpp"
#include "surgery/ir/ops/math.hpp"
#include "surgery/ir/ops/nn.hpp"
#include "surgery/ir/ops/opaque.hpp"
#include "surgery/ir/ops/reduce.hpp"
#include "surgery/ir/ops/shape.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::ir {

/// Every op type of the catalogue, in kind order. `ops::Opaque` is last.
using catalogue = concat_t<ops::nn_ops, ops::elementwise_ops, ops::math_ops, ops::logic_ops, ops::shape_ops, ops::indexing_ops, ops::reduce_ops,
                           type_list<ops::Opaque>>;

namespace detail {
template <class L>
struct variant_of;
template <class... Ts>
struct variant_of<type_list<Ts...>> {
    using type = std::variant<Ts...>;
};
template <class T, class L>
struct index_in;
template <class T, class... Ts>
struct index_in<T, type_list<Ts...>> {
    static constexpr std::size_t count = (std::size_t{std::is_same_v<T, Ts>} + ... + 0);
    static constexpr std::size_t value = [] {
        constexpr bool same[] = {std::is_same_v<T, Ts>..., false};
        std::size_t i = 0;
        while (i < sizeof...(Ts) && !same[i]) ++i;
        return i;
    }();
};
} // namespace detail

/// A node's op: one of the catalogue's types, attributes typed.
using Op = typename detail::variant_of<catalogue>::type;

/// Number of op kinds (the catalogue's types, `ops::Opaque` included).
inline constexpr std::size_t op_count = catalogue::size;

/// Small integer naming an op type (its index in `ir::Op`); what the searcher compares.
using OpKind = std::uint16_t;
static_assert(op_count < 0xffff, "surgery::ir: the op catalogue has more kinds than OpKind counts");

/// True when `T` is one of the catalogue's op types.
template <class T>
inline constexpr bool is_op_v = detail::index_in<T, catalogue>::count == 1;

/// An op type of the catalogue (`ops::Conv`, `ops::Relu`, ...).
template <class T>
concept op_type = is_op_v<T>;

/// The kind (variant index) of op type `T`.
template <op_type T>
inline constexpr OpKind op_kind_v = static_cast<OpKind>(detail::index_in<T, catalogue>::value);

/// The kind of opaque nodes.
inline constexpr OpKind opaque_kind = op_kind_v<ops::Opaque>;

namespace detail {
template <class L>
struct catalogue_tables;
template <class... Ts>
struct catalogue_tables<type_list<Ts...>> {
    static constexpr std::array<std::string_view, sizeof...(Ts)> names{Ts::name...};
    static constexpr std::array<std::string_view, sizeof...(Ts)> domains{domain_v<Ts>...};
    static constexpr std::array<std::int64_t, sizeof...(Ts)> since{since_v<Ts>...};
    static constexpr std::array<trait, sizeof...(Ts)> traits{traits_v<Ts>...};
    static constexpr std::array<arity_t, sizeof...(Ts)> arities{Ts::arity...};
};
using tables = catalogue_tables<catalogue>;

/// No two ops of the catalogue share a (domain, name).
inline constexpr bool names_unique = [] {
    for (std::size_t a = 0; a < op_count; ++a)
        for (std::size_t b = a + 1; b < op_count; ++b)
            if (tables::names[a] == tables::names[b] && tables::domains[a] == tables::domains[b]) return false;
    return true;
}();
static_assert(names_unique, "surgery::ir: two ops of the catalogue have the same ONNX domain and name");
} // namespace detail

/// Kind names, indexed by kind ("Opaque" for opaque nodes: use `name_of(op)` for a node's op_type).
inline constexpr const std::array<std::string_view, op_count>& op_names = detail::tables::names;

[[nodiscard]] inline OpKind kind_of(const Op& op) noexcept { return static_cast<OpKind>(op.index()); }

/// The ONNX op_type of `op` (an opaque op's own).
[[nodiscard]] inline std::string_view name_of(const Op& op) noexcept {
    if (const auto* o = std::get_if<ops::Opaque>(&op)) return o->op_type;
    return op_names[op.index()];
}
/// The ONNX domain of `op` ("" for the default domain).
[[nodiscard]] inline std::string_view domain_of(const Op& op) noexcept {
    if (const auto* o = std::get_if<ops::Opaque>(&op)) return o->op_domain;
    return detail::tables::domains[op.index()];
}
/// ONNX's two spellings of the default domain, "" and "ai.onnx", made one: "" for both, any other
/// domain as it is. Every comparison of domains goes through it.
[[nodiscard]] constexpr std::string_view plain_domain(std::string_view domain) noexcept {
    return domain == "ai.onnx" ? std::string_view{} : domain;
}

/// `name_of(op)`, prefixed by `domain::` outside the default domain: how reports and histograms name ops.
[[nodiscard]] inline std::string qualified_name_of(const Op& op) {
    const std::string_view d = plain_domain(domain_of(op));
    std::string out;
    if (!d.empty()) out.append(d).append("::");
    out.append(name_of(op));
    return out;
}

namespace detail {
/// The catalogue's kinds (the opaque kind left out) sorted by (domain, name), for a binary search:
/// a reader looks up every node of a model.
inline constexpr auto kinds_by_name = [] {
    std::array<OpKind, op_count - 1> a{};
    std::size_t n = 0;
    for (std::size_t k = 0; k < op_count; ++k)
        if (k != opaque_kind) a[n++] = static_cast<OpKind>(k);
    std::sort(a.begin(), a.end(), [](OpKind x, OpKind y) {
        return std::pair(tables::domains[x], tables::names[x]) < std::pair(tables::domains[y], tables::names[y]);
    });
    return a;
}();
} // namespace detail

/// The catalogue kind whose ONNX domain and op_type are these (never the opaque kind).
[[nodiscard]] constexpr std::optional<OpKind> kind_from_name(std::string_view name, std::string_view domain = {}) noexcept {
    domain = plain_domain(domain);
    const auto& sorted = detail::kinds_by_name;
    const auto key = std::pair(domain, name);
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), key, [](OpKind k, const std::pair<std::string_view, std::string_view>& v) {
        return std::pair(detail::tables::domains[k], detail::tables::names[k]) < v;
    });
    if (it != sorted.end() && detail::tables::domains[*it] == domain && detail::tables::names[*it] == name) return *it;
    return std::nullopt;
}

/// An op name as patterns and rules write it, `domain::Name` or `Name`, in its parts.
struct op_name_parts {
    std::string_view domain;  ///< "" for the default domain, however written
    std::string_view name;    ///< the ONNX op_type
    bool qualified = false;   ///< written with a domain (`::`): then `domain` is compared, even when it is the default
};

/// Splits `domain::Name` at its last `::` (an op_type has none), with ONNX's two spellings of the
/// default domain, `ai.onnx` and "", made one: `ai.onnx::Relu`, `::Relu` and `Relu` all name the
/// catalogue's Relu, but only the first two say its domain (an op outside the catalogue written
/// `Foo` matches in any domain, `ai.onnx::Foo` and `::Foo` only in the default one).
[[nodiscard]] constexpr op_name_parts split_op_name(std::string_view qualified_name) noexcept {
    const auto sep = qualified_name.rfind("::");
    if (sep == std::string_view::npos) return {{}, qualified_name, false};
    return {plain_domain(qualified_name.substr(0, sep)), qualified_name.substr(sep + 2), true};
}

/// First opset of the op's domain in which op kind `k` exists.
[[nodiscard]] constexpr std::int64_t since_of(OpKind k) noexcept { return detail::tables::since[k]; }
/// The traits of op kind `k`.
[[nodiscard]] constexpr trait traits_of(OpKind k) noexcept { return detail::tables::traits[k]; }

/// A default-constructed op (ONNX default attributes) of kind `k`.
[[nodiscard]] inline Op make_op(OpKind k) {
    static constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
        // emplace<I> on a default-constructed op: converting from the alternative (overload
        // resolution over every alternative) and in_place_index construction (a recursion as deep
        // as I through the variant's storage) are both quadratic in the catalogue's size, and were
        // half the compile time of every translation unit that includes the IR.
        return std::array<Op (*)(), sizeof...(I)>{+[]() -> Op {
            Op op;
            op.template emplace<I>();
            return op;
        }...};
    }(std::make_index_sequence<op_count>{});
    return table[k]();
}

/// Arity of the op held by `op`.
[[nodiscard]] inline arity_t arity_of(const Op& op) noexcept { return detail::tables::arities[op.index()]; }

/// Whether the op held by `op` is commutative in its two inputs.
[[nodiscard]] inline bool is_commutative(const Op& op) noexcept { return has(traits_of(kind_of(op)), trait::commutative); }

/// The legacy-input table of the op held by `op` (see `legacy_input`).
[[nodiscard]] inline std::span<const legacy_input> legacy_inputs_of(const Op& op) noexcept {
    return std::visit([](const auto& o) { return legacy_inputs_of<std::decay_t<decltype(o)>>(); }, op);
}

/// The newer-part table of the op held by `op` (see `newer_part`).
[[nodiscard]] inline std::span<const newer_part> newer_parts_of(const Op& op) noexcept {
    return std::visit([](const auto& o) { return newer_parts_of<std::decay_t<decltype(o)>>(); }, op);
}

/// Calls `f(name, value)` for every attribute of `op` (typed: `value` is `const M&`).
template <class F>
void for_each_attribute(const Op& op, F&& f) {
    std::visit([&](const auto& o) { std::apply([&](const auto&... a) { (f(a.name, o.*(a.member)), ...); }, o.attributes()); }, op);
}

} // namespace surgery::ir
