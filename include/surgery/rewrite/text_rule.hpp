// Rules given as text: `PATTERN => REPLACEMENT`, both in the text pattern language (pattern/text.hpp).
//
//   Mul(x, Sigmoid(x)) => Relu(x)              a DAG pattern with a named capture, one op
//   x * HardSigmoid(x) => Relu(x)              the same with infix arithmetic
//   Clip(x, 0, 6) => Relu(x)                   constant operands constrain the match
//   Conv[kernel>=7](x, w, b) => Relu(x)        attribute constraints
//   Mul(x, s:const) => x                       a capture that must be a constant; bypass to x
//   Conv, BatchNormalization, Relu => Relu     a chain (legacy form); the replacement applies to the first input
//   HardSwish => identity                      remove the match
//   Div(x, 2) => Mul(x, 0.5)                   numbers in a replacement are float32 scalars
//   Relu(x) => Clip[...](x, 0, 6)              replacement ops take attributes as NAME=VALUE
//
// Captures used in the replacement must appear in the pattern; replacement ops must be in the
// catalogue (or `domain::Name` for an op outside it, created without attributes).
#pragma once

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/pattern/text.hpp"
#include "surgery/rewrite/replacement.hpp"

namespace surgery::rewrite {

namespace detail {

/// Whether `v` is finite as a float32 (a larger number would silently become infinity).
[[nodiscard]] inline bool fits_float(double v) noexcept { return std::fabs(v) <= static_cast<double>(std::numeric_limits<float>::max()); }

/// Sets attribute `name` of `op` from a text value; false when the op has no such attribute,
/// throws `pattern_error` (via `fail`) when the value does not fit its type.
template <class Fail>
bool set_attribute(ir::Op& op, const pattern::text_attr& a, Fail&& fail) {
    bool found = false;
    std::visit(
        [&](auto& o) {
            std::apply(
                [&](const auto&... entry) {
                    auto one = [&](const auto& e) {
                        if (found || e.name != a.name) return;
                        found = true;
                        using M = std::remove_cvref_t<decltype(o.*(e.member))>;
                        using K = pattern::attr_test::value_kind;
                        if (a.op != pattern::cmp::eq) fail("a replacement sets attributes with '=' only", a.column);
                        if constexpr (std::is_same_v<M, std::int64_t>) {
                            if (a.kind != K::number || !a.integer) fail("attribute '" + a.name + "' is a 64-bit integer", a.column);
                            o.*(e.member) = *a.integer;
                        } else if constexpr (std::is_same_v<M, float>) {
                            if (a.kind != K::number) fail("attribute '" + a.name + "' is a number", a.column);
                            if (!fits_float(a.number)) fail("attribute '" + a.name + "' is a float32, which this number exceeds", a.column);
                            o.*(e.member) = static_cast<float>(a.number);
                        } else if constexpr (std::is_same_v<M, std::string>) {
                            if (a.kind != K::text) fail("attribute '" + a.name + "' is a string ('...')", a.column);
                            o.*(e.member) = a.text;
                        } else if constexpr (std::is_same_v<M, ir::Ints>) {
                            if (a.kind == K::list) o.*(e.member) = a.list;
                            else if (a.kind == K::number && a.integer) o.*(e.member) = ir::Ints{*a.integer};
                            else fail("attribute '" + a.name + "' is a list of integers, e.g. (1, 1)", a.column);
                        } else if constexpr (std::is_same_v<M, ir::Floats>) {
                            if (a.kind == K::list) o.*(e.member) = ir::Floats(a.list.begin(), a.list.end());
                            else if (a.kind == K::number && fits_float(a.number)) o.*(e.member) = ir::Floats{static_cast<float>(a.number)};
                            else fail("attribute '" + a.name + "' is a list of numbers", a.column);
                        } else {
                            fail("attribute '" + a.name + "' cannot be given as text", a.column);
                        }
                    };
                    (one(entry), ...);
                    (void)one;
                },
                std::remove_cvref_t<decltype(o)>::attributes());
        },
        op);
    return found;
}

/// A replacement expression checked against its pattern, ready to build.
class text_replacement {
public:
    /// `first_alternative`: build `(a | b)` as `a` (a pattern of the library used as a replacement,
    /// as the writer's lowerings do: its first alternative is the form exporters write); otherwise
    /// alternatives are an error, as in rules given by users.
    text_replacement(pattern::text_expr e, const pattern::text_pattern& pat, std::string_view whole, std::size_t offset,
                     bool first_alternative = false)
        : expr_(std::move(e)), whole_(whole), offset_(offset), first_alternative_(first_alternative) {
        check(expr_, pat);
    }

    std::vector<ir::ValueId> build(context& c) const { return {build(expr_, c)}; }

private:
    [[noreturn]] void fail(const std::string& msg, std::size_t column) const {
        pattern::detail::text_parser tp({}, whole_, offset_);
        tp.fail(msg, column == 0 ? 0 : column - 1);
    }

    void check(const pattern::text_expr& e, const pattern::text_pattern& pat) const {
        using K = pattern::text_expr::kind;
        switch (e.k) {
        case K::any: fail("'_' (any value) cannot be built; name the value in the pattern and use the name", e.column);
        case K::alternatives:
            if (!first_alternative_ || e.args.empty()) fail("alternatives cannot be built", e.column);
            check(e.args.front(), pat);
            return;
        case K::number:
            if (!detail::fits_float(e.number)) fail("the number exceeds a float32 (numbers in a replacement are float32 scalars)", e.column);
            return;
        case K::capture:
            if (pat.view().capture_slot(e.name) == pattern::no_index && !(pat.is_chain() && e.name == "x"))
                fail("'" + e.name + "' is not captured by the pattern", e.column);
            return;
        case K::op: {
            if (e.any_op || e.ops.size() != 1) fail("a replacement op must be one op name", e.column);
            ir::Op op = make(e);
            const ir::arity_t ar = ir::arity_of(op);
            if (e.args.size() < ar.min_inputs || (ar.max_inputs != ir::arity_t::variadic && e.args.size() > ar.max_inputs))
                fail("'" + e.ops[0] + "' takes " + std::to_string(ar.min_inputs) + (ar.max_inputs == ar.min_inputs ? "" : "+") +
                         " operands, got " + std::to_string(e.args.size()),
                     e.column);
            for (const auto& a : e.args) check(a, pat);
            return;
        }
        }
    }

    ir::Op make(const pattern::text_expr& e) const {
        const std::string& name = e.ops[0];
        const ir::op_name_parts parts = ir::split_op_name(name);
        if (const auto k = ir::kind_from_name(parts.name, parts.domain)) {
            ir::Op op = ir::make_op(*k);
            for (const auto& a : e.attrs)
                if (!set_attribute(op, a, [&](const std::string& m, std::size_t col) { fail(m, col); }))
                    fail("'" + name + "' has no attribute '" + a.name + "'", a.column);
            return op;
        }
        if (!parts.qualified) fail("'" + name + "' is not in the op catalogue (an op of another domain is written domain::Name)", e.column);
        if (!e.attrs.empty()) fail("attributes of an op outside the catalogue cannot be given as text", e.column);
        ir::ops::Opaque o;
        o.op_type = std::string(parts.name);
        o.op_domain = std::string(parts.domain);
        return o;
    }

    ir::ValueId build(const pattern::text_expr& e, context& c) const {
        using K = pattern::text_expr::kind;
        switch (e.k) {
        case K::number: return c.build.scalar(static_cast<float>(e.number));
        case K::capture: {
            if (auto v = c.match.capture(e.name)) return *v;
            return c.input(); // a chain's input, `x`
        }
        case K::op: {
            std::vector<ir::ValueId> ins;
            for (const auto& a : e.args) ins.push_back(build(a, c));
            return c.build.apply(make(e), std::move(ins));
        }
        case K::alternatives:
            if (first_alternative_ && !e.args.empty()) return build(e.args.front(), c);
            c.fail("cannot build alternatives");
        default: c.fail("cannot build this replacement");
        }
    }

    pattern::text_expr expr_;
    std::string whole_;
    std::size_t offset_;
    bool first_alternative_ = false;
};

} // namespace detail

} // namespace surgery::rewrite
