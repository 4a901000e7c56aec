// pattern::program: the one representation every pattern compiles to (C++ types and text alike),
// as flat tables that the chain searcher and the DAG matcher read.
//
// A program is a small DAG of pattern nodes. Each pattern node accepts a set of op kinds (or op
// names outside the catalogue), may constrain attributes by name, may call a C++ predicate, and
// describes its first inputs with operands: any value, a capture (the first occurrence binds it,
// later ones must see the same value), a constant whose every element equals a number, another
// pattern node (the value is that node's output), or alternatives. Compile-time patterns fill
// fixed-capacity tables in constant expressions; text patterns fill vectors at run time; both are
// read through `program_view`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/ir/ops.hpp"

namespace surgery::pattern {

inline constexpr std::uint16_t no_index = 0xffff;

/// How an attribute value is compared.
enum class cmp : std::uint8_t { eq, ne, lt, le, gt, ge };

/// A constraint on one attribute of the matched node, by ONNX name. `kernel`, `stride`,
/// `dilation` and `group` are shorthands (kernel_shape with Conv's weight as fallback, strides and
/// dilations with 1 for an empty list); a list attribute compared with one number compares every
/// element (kernel=7 is a 7x7 kernel; kernel>=7 a kernel with every dim at least 7).
struct attr_test {
    enum class value_kind : std::uint8_t { number, list, text };
    std::string_view name;
    cmp op = cmp::eq;
    value_kind kind = value_kind::number;
    double number = 0.0;
    std::uint16_t first_int = 0, num_ints = 0; ///< list: into `program_view::ints`
    std::string_view text;
};

/// What an operand asks of the value at one input slot.
enum class operand_kind : std::uint8_t {
    any,          ///< any value (also an omitted input)
    capture,      ///< capture slot `index`
    node,         ///< produced by pattern node `index`
    constant,     ///< a constant tensor whose every element equals `constants[index]`
    alternatives, ///< one of the operands `[index, index + count)` of `program_view::alternatives`
};

struct operand {
    operand_kind kind = operand_kind::any;
    std::uint16_t index = 0;
    std::uint16_t count = 0;
    /// Also bind the value to this capture slot (a node or constant operand that is captured too).
    std::uint16_t capture = no_index;
    /// The capture must be a constant (text: `name:const`).
    bool must_be_constant = false;
};

/// A predicate given as C++ code: erased over the graph type (the program is built per graph type).
using erased_predicate = bool (*)(const void* graph, const void* node);

/// One op position of a pattern.
struct pnode {
    std::uint16_t first_kind = 0, num_kinds = 0; ///< accepted catalogue kinds (none and no names: any op)
    std::uint16_t first_name = 0, num_names = 0; ///< accepted op names outside the catalogue (matched on opaque nodes)
    std::uint16_t first_operand = 0, num_operands = 0; ///< constraints on inputs 0 .. num_operands-1
    std::uint16_t first_attr = 0, num_attrs = 0;
    std::uint16_t first_predicate = 0, num_predicates = 0;
    bool any_op = false; ///< the wildcard `*`
};

/// The tables of one program; spans into fixed arrays (compile time) or vectors (run time).
struct program_view {
    std::span<const pnode> nodes;
    std::span<const operand> operands;
    std::span<const operand> alternatives;
    std::span<const ir::OpKind> kinds;
    std::span<const std::string_view> names;
    std::span<const attr_test> attrs;
    std::span<const std::int64_t> ints;
    std::span<const double> constants;
    std::span<const erased_predicate> predicates;
    std::span<const std::string_view> capture_names; ///< by slot; empty names for numbered slots
    std::uint16_t root = 0;
    std::uint16_t num_captures = 0;
    /// A straight chain: node j's operand 0 is node j-1 and no other operand is a node, root last.
    bool chain = false;

    /// The capture slot named `n`, or no_index.
    [[nodiscard]] constexpr std::uint16_t capture_slot(std::string_view n) const noexcept {
        for (std::size_t i = 0; i < capture_names.size(); ++i)
            if (capture_names[i] == n) return static_cast<std::uint16_t>(i);
        return no_index;
    }
    /// Whether pattern node `p` accepts every node of kind `k` without further tests.
    [[nodiscard]] constexpr bool unconditional(std::size_t p, ir::OpKind k) const noexcept {
        const pnode& n = nodes[p];
        if (n.num_attrs || n.num_predicates || has_value_tests(p)) return false;
        if (n.any_op) return true;
        if (k == ir::opaque_kind) return false; // its name is compared
        return accepts_kind_only(p, k);
    }
    /// Whether pattern node `p` may accept a node of kind `k` (possibly after tests).
    [[nodiscard]] constexpr bool accepts(std::size_t p, ir::OpKind k) const noexcept {
        const pnode& n = nodes[p];
        if (n.any_op) return true;
        if (k == ir::opaque_kind) return n.num_names > 0;
        return accepts_kind_only(p, k);
    }
    /// Whether pattern node `p` tests values beyond its chain link (constants, captures of constants).
    [[nodiscard]] constexpr bool has_value_tests(std::size_t p) const noexcept {
        const pnode& n = nodes[p];
        for (std::size_t i = 0; i < n.num_operands; ++i) {
            const operand& o = operands[n.first_operand + i];
            if (chain && i == 0 && p > 0) continue;
            if (o.kind != operand_kind::any && o.kind != operand_kind::capture) return true;
            if (o.must_be_constant) return true;
        }
        return false;
    }

private:
    [[nodiscard]] constexpr bool accepts_kind_only(std::size_t p, ir::OpKind k) const noexcept {
        const pnode& n = nodes[p];
        for (std::size_t i = 0; i < n.num_kinds; ++i)
            if (kinds[n.first_kind + i] == k) return true;
        return false;
    }
};

/// A program built at run time (text patterns).
struct runtime_program {
    std::vector<pnode> nodes;
    std::vector<operand> operands;
    std::vector<operand> alternatives;
    std::vector<ir::OpKind> kinds;
    std::vector<std::string> name_storage; ///< owns the names `names` views
    std::vector<std::string_view> names;
    std::vector<attr_test> attrs;
    std::vector<std::string> attr_storage; ///< owns attribute names and texts
    std::vector<std::int64_t> ints;
    std::vector<double> constants;
    std::vector<std::string> capture_storage;
    std::vector<std::string_view> capture_names;
    std::uint16_t root = 0;
    bool chain = false;

    runtime_program() = default;
    // Views point into the owned strings: copies must re-point them.
    runtime_program(const runtime_program& o) { *this = o; }
    runtime_program& operator=(const runtime_program& o) {
        if (this == &o) return *this;
        nodes = o.nodes;
        operands = o.operands;
        alternatives = o.alternatives;
        kinds = o.kinds;
        ints = o.ints;
        constants = o.constants;
        root = o.root;
        chain = o.chain;
        name_storage = o.name_storage;
        names.clear();
        for (const auto& s : name_storage) names.emplace_back(s);
        capture_storage = o.capture_storage;
        capture_names.clear();
        for (const auto& s : capture_storage) capture_names.emplace_back(s);
        attr_storage = o.attr_storage;
        attrs = o.attrs;
        for (std::size_t i = 0; i < attrs.size(); ++i) {
            attrs[i].name = attr_storage[2 * i];
            attrs[i].text = attr_storage[2 * i + 1];
        }
        return *this;
    }
    runtime_program(runtime_program&&) noexcept = default; // moving a vector keeps its strings in place
    runtime_program& operator=(runtime_program&&) noexcept = default;

    std::uint16_t add_name(std::string n) {
        name_storage.push_back(std::move(n));
        names.clear();
        for (const auto& s : name_storage) names.emplace_back(s);
        return static_cast<std::uint16_t>(name_storage.size() - 1);
    }
    std::uint16_t add_attr(attr_test t, std::string name, std::string text) {
        attr_storage.push_back(std::move(name));
        attr_storage.push_back(std::move(text));
        attrs.push_back(t);
        for (std::size_t i = 0; i < attrs.size(); ++i) {
            attrs[i].name = attr_storage[2 * i];
            attrs[i].text = attr_storage[2 * i + 1];
        }
        return static_cast<std::uint16_t>(attrs.size() - 1);
    }
    /// The slot of capture `n`, created when new.
    std::uint16_t capture(const std::string& n) {
        for (std::size_t i = 0; i < capture_storage.size(); ++i)
            if (capture_storage[i] == n) return static_cast<std::uint16_t>(i);
        capture_storage.push_back(n);
        capture_names.clear();
        for (const auto& s : capture_storage) capture_names.emplace_back(s);
        return static_cast<std::uint16_t>(capture_storage.size() - 1);
    }

    [[nodiscard]] program_view view() const noexcept {
        program_view v;
        v.nodes = nodes;
        v.operands = operands;
        v.alternatives = alternatives;
        v.kinds = kinds;
        v.names = names;
        v.attrs = attrs;
        v.ints = ints;
        v.constants = constants;
        v.capture_names = capture_names;
        v.root = root;
        v.num_captures = static_cast<std::uint16_t>(capture_names.size());
        v.chain = chain;
        return v;
    }
};

} // namespace surgery::pattern
