// The text pattern language: parsed into an expression tree, then compiled to the same
// pattern::program tables as the C++ patterns (see docs/patterns.md, "Text patterns").
//
//   pattern  := chain | expr
//   chain    := item (',' | '->') item ...          Conv, BatchNormalization, Relu|Clip, *
//   item     := ops attrs?
//   expr     := term (('+' | '-') term)*            x + y is Add(x, y)
//   term     := unary (('*' | '/') unary)*          x * Sigmoid(x) is Mul(x, Sigmoid(x))
//   unary    := '-' NUMBER | factor
//   factor   := NUMBER                              a constant whose every element is NUMBER
//             | name (':const')?                    a capture (lower-case first letter); the same name twice is the same value
//             | '_'                                 any value
//             | ops attrs? '(' args? ')'            an op node; its first inputs are the args
//             | '(' expr ('|' expr)* ')'            alternatives
//   ops      := OpName ('|' OpName)* | '*'          OpName: upper-case first letter, or domain::Name
//   attrs    := '[' attr (',' attr)* ']'
//   attr     := name ('=' | '!=' | '<' | '<=' | '>' | '>=') value
//   value    := NUMBER | '(' NUMBER (',' NUMBER)* ')' | 'text' | "text"
//
// Errors are pattern_errors that quote the text and point at the column.
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/pattern/chain.hpp"
#include "surgery/pattern/program.hpp"

namespace surgery::pattern {

/// One attribute constraint as written.
struct text_attr {
    std::string name;
    cmp op = cmp::eq;
    attr_test::value_kind kind = attr_test::value_kind::number;
    double number = 0.0;
    /// `number` as a 64-bit integer when it is one, read exactly (a double rounds digits beyond
    /// 2^53): empty for a fraction and for a number beyond the int64 range.
    std::optional<std::int64_t> integer;
    std::vector<std::int64_t> list;
    std::string text;
    std::size_t column = 0;
};

/// A parsed expression (pattern or replacement side).
struct text_expr {
    enum class kind : std::uint8_t { capture, any, number, op, alternatives };
    kind k = kind::any;
    std::string name;               ///< capture name
    std::vector<std::string> ops;   ///< op alternatives; empty with any_op for '*'
    bool any_op = false;
    std::vector<text_attr> attrs;
    std::vector<text_expr> args;    ///< operands (op) or alternatives
    double number = 0.0;
    bool must_be_constant = false;
    std::size_t column = 0;         ///< 1-based column in the text
};

namespace detail {

class text_parser {
public:
    /// How deep parentheses and op arguments may nest in a pattern text.
    static constexpr std::size_t max_nesting = 64;

    text_parser(std::string_view text, std::string_view whole, std::size_t offset) : s_(text), whole_(whole), offset_(offset) {}

    [[noreturn]] void fail(const std::string& msg, std::size_t at) const {
        const std::size_t col = offset_ + at + 1;
        std::string caret(col - 1, ' ');
        for (std::size_t i = 0; i + 1 < col && i < whole_.size(); ++i)
            if (whole_[i] == '\t') caret[i] = '\t';
        throw pattern_error("pattern '" + std::string(whole_) + "', column " + std::to_string(col) + ": " + msg + "\n  " + std::string(whole_) +
                            "\n  " + caret + "^");
    }

    /// The whole text as one expression, or a chain when it has top-level commas or arrows and no call.
    bool is_chain() const {
        int depth = 0;
        bool has_sep = false, has_call = false, has_op = false;
        for (std::size_t i = 0; i < s_.size(); ++i) {
            const char c = s_[i];
            if (c == '(') {
                ++depth;
                has_call = true;
            } else if (c == ')') {
                --depth;
            } else if (depth == 0 && c == '[') {
                while (i < s_.size() && s_[i] != ']') ++i;
            } else if (depth == 0 && (c == ',' || (c == '-' && i + 1 < s_.size() && s_[i + 1] == '>'))) {
                has_sep = true;
            } else if (depth == 0 && (c == '+' || c == '/')) {
                has_op = true;
            }
        }
        if (has_sep) return true;
        // A single item without parentheses ("HardSwish", "Relu|Clip", "*") is a one-node chain.
        if (has_call || has_op) return false;
        std::size_t i = 0;
        while (i < s_.size() && std::isspace(static_cast<unsigned char>(s_[i]))) ++i;
        return i < s_.size() && (std::isupper(static_cast<unsigned char>(s_[i])) || s_[i] == '*' || qualified_name_at(i));
    }

    std::vector<text_expr> chain() {
        std::vector<text_expr> items;
        for (;;) {
            ws();
            text_expr e;
            e.k = text_expr::kind::op;
            e.column = p_ + 1;
            ops(e);
            ws();
            if (peek() == '[') attrs(e);
            items.push_back(std::move(e));
            ws();
            if (p_ == s_.size()) break;
            if (peek() == ',') ++p_;
            else if (peek() == '-' && p_ + 1 < s_.size() && s_[p_ + 1] == '>') p_ += 2;
            else fail("expected ',' or '->' between chain positions", p_);
        }
        if (items.size() > max_chain_length) fail("a chain has at most 64 positions", 0);
        return items;
    }

    text_expr whole_expr() {
        text_expr e = expr();
        ws();
        if (p_ != s_.size()) fail("unexpected '" + std::string(1, s_[p_]) + "'", p_);
        return e;
    }

private:
    char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }
    void ws() {
        while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
    }
    void expect(char c, const char* what) {
        ws();
        if (peek() != c) fail(std::string("expected '") + c + "' " + what, p_);
        ++p_;
    }

    static text_expr binary(const char* op, text_expr a, text_expr b, std::size_t col) {
        text_expr e;
        e.k = text_expr::kind::op;
        e.ops = {op};
        e.column = col;
        e.args.push_back(std::move(a));
        e.args.push_back(std::move(b));
        return e;
    }

    text_expr expr() {
        ws();
        text_expr a = term();
        for (;;) {
            ws();
            const char c = peek();
            if (c != '+' && !(c == '-' && !(p_ + 1 < s_.size() && s_[p_ + 1] == '>'))) return a;
            const std::size_t col = p_ + 1;
            ++p_;
            a = binary(c == '+' ? "Add" : "Sub", std::move(a), term(), col);
        }
    }

    text_expr term() {
        ws();
        text_expr a = unary();
        for (;;) {
            ws();
            const char c = peek();
            if (c != '*' && c != '/') return a;
            const std::size_t col = p_ + 1;
            ++p_;
            a = binary(c == '*' ? "Mul" : "Div", std::move(a), unary(), col);
        }
    }

    text_expr unary() {
        ws();
        if (peek() == '-' && p_ + 1 < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[p_ + 1])) || s_[p_ + 1] == '.')) {
            ++p_;
            text_expr e = factor();
            e.number = -e.number;
            return e;
        }
        return factor();
    }

    double number_at(std::size_t& i) {
        const std::size_t start = i;
        while (i < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i])) || s_[i] == '.' || s_[i] == 'e' || s_[i] == 'E' ||
                                 ((s_[i] == '-' || s_[i] == '+') && i > start && (s_[i - 1] == 'e' || s_[i - 1] == 'E'))))
            ++i;
        const std::string text(s_.substr(start, i - start));
        try {
            std::size_t used = 0;
            const double v = std::stod(text, &used);
            if (used != text.size()) fail("'" + text + "' is not a number", start);
            return v;
        } catch (const std::exception&) {
            fail("'" + text + "' is not a number", start);
        }
    }

    /// The number written from `start` (its '-' sign included) to `end`, `value` as parsed, as a
    /// 64-bit integer. Digits are read with their sign: -2^63 has no int64 magnitude to negate, and
    /// a number just beyond the range must not round into it. A number written with '.' or an
    /// exponent counts when its value is an integer.
    [[nodiscard]] std::optional<std::int64_t> integer_at(std::size_t start, std::size_t end, double value) const {
        std::int64_t i = 0;
        const auto [ptr, ec] = std::from_chars(s_.data() + start, s_.data() + end, i);
        if (ptr == s_.data() + end) return ec == std::errc{} ? std::optional(i) : std::nullopt;
        if (value >= -9223372036854775808.0 && value < 9223372036854775808.0 && value == std::trunc(value)) return static_cast<std::int64_t>(value);
        return std::nullopt;
    }

    text_expr factor() {
        ws();
        // Parentheses and op arguments nest through here: bounded, so that a hostile text (thousands
        // of '(') is an error at its column, not a stack overflow.
        if (depth_ >= max_nesting) fail("nested more than " + std::to_string(max_nesting) + " levels deep (parentheses and op arguments)", p_);
        struct nesting {
            std::size_t& d;
            explicit nesting(std::size_t& depth) : d(depth) { ++d; }
            ~nesting() { --d; }
            nesting(const nesting&) = delete;
            nesting& operator=(const nesting&) = delete;
        } guard(depth_);
        text_expr e;
        e.column = p_ + 1;
        const char c = peek();
        if (c == '\0') fail("expected a value (an op, a name, a number or '_')", p_);
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
            e.k = text_expr::kind::number;
            e.number = number_at(p_);
            return e;
        }
        if (c == '(') {
            ++p_;
            e.k = text_expr::kind::alternatives;
            e.args.push_back(expr());
            ws();
            while (peek() == '|') {
                ++p_;
                e.args.push_back(expr());
                ws();
            }
            expect(')', "to close the parenthesis");
            if (e.args.size() == 1) return std::move(e.args[0]);
            return e;
        }
        if (c == '_' && !(p_ + 1 < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_ + 1])) || s_[p_ + 1] == '_'))) {
            ++p_;
            e.k = text_expr::kind::any;
            return e;
        }
        if ((std::islower(static_cast<unsigned char>(c)) || c == '_') && !qualified_name_at(p_)) {
            const std::size_t start = p_;
            while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_')) ++p_;
            e.k = text_expr::kind::capture;
            e.name = std::string(s_.substr(start, p_ - start));
            if (p_ + 1 < s_.size() && s_[p_] == ':' && s_[p_ + 1] != ':') {
                ++p_;
                const std::size_t m = p_;
                while (p_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[p_]))) ++p_;
                if (s_.substr(m, p_ - m) != "const") fail("unknown capture modifier '" + std::string(s_.substr(m, p_ - m)) + "' (only ':const')", m);
                e.must_be_constant = true;
            }
            return e;
        }
        if (std::isupper(static_cast<unsigned char>(c)) || c == '*' || qualified_name_at(p_)) {
            e.k = text_expr::kind::op;
            ops(e);
            ws();
            if (peek() == '[') attrs(e);
            ws();
            if (peek() != '(') fail("expected '(' and the operands of '" + (e.any_op ? std::string("*") : e.ops.front()) + "' (write Op() for none)", p_);
            ++p_;
            ws();
            if (peek() != ')') {
                for (;;) {
                    e.args.push_back(expr());
                    ws();
                    if (peek() == ',') {
                        ++p_;
                        continue;
                    }
                    break;
                }
            }
            expect(')', "to close the operand list");
            return e;
        }
        fail("unexpected '" + std::string(1, c) + "'", p_);
    }

    /// Whether an op name with a domain starts at `at` (`com.vendor::Op`, `vendor::Op`): a capture
    /// name, also lower-case, has neither '.' nor "::".
    [[nodiscard]] bool qualified_name_at(std::size_t at) const {
        while (at < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[at])) || s_[at] == '_' || s_[at] == '.')) ++at;
        return at + 1 < s_.size() && s_[at] == ':' && s_[at + 1] == ':';
    }

    void ops(text_expr& e) {
        ws();
        if (peek() == '*') {
            ++p_;
            e.any_op = true;
            return;
        }
        for (;;) {
            ws();
            const std::size_t start = p_;
            while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_' || s_[p_] == '.' ||
                                      (s_[p_] == ':' && p_ + 1 < s_.size() && s_[p_ + 1] == ':')))
                p_ += (s_[p_] == ':') ? 2 : 1;
            if (p_ == start) fail("expected an op name", p_);
            e.ops.emplace_back(s_.substr(start, p_ - start));
            ws();
            if (peek() != '|') break;
            ++p_;
        }
    }

    void attrs(text_expr& e) {
        expect('[', "");
        for (;;) {
            ws();
            text_attr a;
            a.column = p_ + 1;
            const std::size_t start = p_;
            while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_')) ++p_;
            if (p_ == start) fail("expected an attribute name", p_);
            a.name = std::string(s_.substr(start, p_ - start));
            ws();
            const std::string_view rest = s_.substr(p_);
            if (rest.starts_with("!=")) a.op = cmp::ne, p_ += 2;
            else if (rest.starts_with("<=")) a.op = cmp::le, p_ += 2;
            else if (rest.starts_with(">=")) a.op = cmp::ge, p_ += 2;
            else if (rest.starts_with("=")) a.op = cmp::eq, p_ += 1;
            else if (rest.starts_with("<")) a.op = cmp::lt, p_ += 1;
            else if (rest.starts_with(">")) a.op = cmp::gt, p_ += 1;
            else fail("expected '=', '!=', '<', '<=', '>' or '>=' after attribute '" + a.name + "'", p_);
            ws();
            const char c = peek();
            if (c == '\'' || c == '"') {
                const std::size_t q = p_++;
                const std::size_t begin = p_;
                while (p_ < s_.size() && s_[p_] != c) ++p_;
                if (p_ == s_.size()) fail("unterminated string", q);
                a.kind = attr_test::value_kind::text;
                a.text = std::string(s_.substr(begin, p_ - begin));
                ++p_;
                if (a.op != cmp::eq && a.op != cmp::ne) fail("strings compare with '=' or '!=' only", a.column - 1);
            } else if (c == '(') {
                ++p_;
                a.kind = attr_test::value_kind::list;
                for (;;) {
                    ws();
                    const std::size_t at = p_;
                    const bool neg = peek() == '-';
                    if (neg) ++p_;
                    const double v = number_at(p_);
                    const auto i = integer_at(at, p_, neg ? -v : v);
                    if (!i) fail("list values are 64-bit integers", at);
                    a.list.push_back(*i);
                    ws();
                    if (peek() == ',') {
                        ++p_;
                        continue;
                    }
                    break;
                }
                expect(')', "to close the list");
                if (a.op != cmp::eq && a.op != cmp::ne) fail("lists compare with '=' or '!=' only", a.column - 1);
            } else {
                const std::size_t at = p_;
                if (c == '-') ++p_;
                if (!std::isdigit(static_cast<unsigned char>(peek())) && peek() != '.') fail("expected a number, a (list) or a 'string'", p_);
                a.number = number_at(p_);
                if (c == '-') a.number = -a.number;
                a.integer = integer_at(at, p_, a.number);
            }
            e.attrs.push_back(std::move(a));
            ws();
            if (peek() == ',') {
                ++p_;
                continue;
            }
            break;
        }
        expect(']', "to close the attribute list");
    }

    std::string_view s_;
    std::string_view whole_;
    std::size_t offset_ = 0;
    std::size_t p_ = 0;
    std::size_t depth_ = 0; ///< factor() calls active
};

/// Adds the pattern node for op expression `e` (kinds, names, attributes) without operands.
inline std::uint16_t add_op_node(runtime_program& prog, const text_expr& e, const text_parser& tp) {
    pnode pn;
    pn.any_op = e.any_op;
    pn.first_kind = static_cast<std::uint16_t>(prog.kinds.size());
    pn.first_name = static_cast<std::uint16_t>(prog.names.size());
    for (const std::string& name : e.ops) {
        const ir::op_name_parts parts = ir::split_op_name(name);
        if (const auto k = ir::kind_from_name(parts.name, parts.domain)) {
            prog.kinds.push_back(*k);
            ++pn.num_kinds;
        } else {
            prog.add_name(parts.qualified ? name : std::string(parts.name)); // compared with its domain (see op_name_matches)
            ++pn.num_names;
        }
    }
    pn.first_attr = static_cast<std::uint16_t>(prog.attrs.size());
    for (const text_attr& a : e.attrs) {
        attr_test t;
        t.op = a.op;
        t.kind = a.kind;
        t.number = a.number;
        t.first_int = static_cast<std::uint16_t>(prog.ints.size());
        t.num_ints = static_cast<std::uint16_t>(a.list.size());
        prog.ints.insert(prog.ints.end(), a.list.begin(), a.list.end());
        prog.add_attr(t, a.name, a.text);
        ++pn.num_attrs;
    }
    if (prog.nodes.size() >= no_index) tp.fail("the pattern is too large", 0);
    prog.nodes.push_back(pn);
    return static_cast<std::uint16_t>(prog.nodes.size() - 1);
}

inline operand compile_operand(runtime_program& prog, const text_expr& e, const text_parser& tp);

inline std::uint16_t compile_node(runtime_program& prog, const text_expr& e, const text_parser& tp) {
    const std::uint16_t idx = add_op_node(prog, e, tp);
    std::vector<operand> ops;
    for (const text_expr& a : e.args) ops.push_back(compile_operand(prog, a, tp));
    prog.nodes[idx].first_operand = static_cast<std::uint16_t>(prog.operands.size());
    prog.nodes[idx].num_operands = static_cast<std::uint16_t>(ops.size());
    prog.operands.insert(prog.operands.end(), ops.begin(), ops.end());
    return idx;
}

inline operand compile_operand(runtime_program& prog, const text_expr& e, const text_parser& tp) {
    operand o;
    switch (e.k) {
    case text_expr::kind::any: break;
    case text_expr::kind::capture:
        o.kind = operand_kind::capture;
        o.index = prog.capture(e.name);
        o.must_be_constant = e.must_be_constant;
        break;
    case text_expr::kind::number:
        o.kind = operand_kind::constant;
        o.index = static_cast<std::uint16_t>(prog.constants.size());
        prog.constants.push_back(e.number);
        break;
    case text_expr::kind::op:
        o.kind = operand_kind::node;
        o.index = compile_node(prog, e, tp);
        break;
    case text_expr::kind::alternatives: {
        std::vector<operand> alts;
        for (const text_expr& a : e.args) alts.push_back(compile_operand(prog, a, tp));
        o.kind = operand_kind::alternatives;
        o.index = static_cast<std::uint16_t>(prog.alternatives.size());
        o.count = static_cast<std::uint16_t>(alts.size());
        prog.alternatives.insert(prog.alternatives.end(), alts.begin(), alts.end());
        break;
    }
    }
    return o;
}

} // namespace detail

/// A pattern given as text, compiled to a program (see the grammar at the top of this header).
/// `whole` and `offset` place `text` inside a longer text (a rule) for error columns.
class text_pattern {
public:
    text_pattern() = default;
    explicit text_pattern(std::string_view text, std::string_view whole = {}, std::size_t offset = 0) : text_(trimmed(text)) {
        if (whole.empty()) whole = text;
        detail::text_parser tp(text, whole, offset);
        std::size_t lead = 0;
        while (lead < text.size() && std::isspace(static_cast<unsigned char>(text[lead]))) ++lead;
        if (lead == text.size()) tp.fail("the pattern is empty", 0);
        if (tp.is_chain()) {
            const std::vector<text_expr> items = tp.chain();
            for (std::size_t j = 0; j < items.size(); ++j) {
                const std::uint16_t idx = detail::add_op_node(prog_, items[j], tp);
                if (j > 0) {
                    operand link;
                    link.kind = operand_kind::node;
                    link.index = static_cast<std::uint16_t>(idx - 1);
                    prog_.nodes[idx].first_operand = static_cast<std::uint16_t>(prog_.operands.size());
                    prog_.nodes[idx].num_operands = 1;
                    prog_.operands.push_back(link);
                }
            }
            prog_.root = static_cast<std::uint16_t>(prog_.nodes.size() - 1);
            prog_.chain = true;
            chain_items_ = items;
        } else {
            const text_expr e = tp.whole_expr();
            if (e.k != text_expr::kind::op) tp.fail("a pattern must be rooted at an op, e.g. Relu(x)", e.column - 1);
            expr_ = e;
            prog_.root = detail::compile_node(prog_, e, tp);
            prog_.chain = false;
        }
    }

    [[nodiscard]] pattern::program_view view() const noexcept { return prog_.view(); }
    [[nodiscard]] const runtime_program& program() const noexcept { return prog_; }
    [[nodiscard]] bool is_chain() const noexcept { return prog_.chain; }
    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    /// The parsed expression (DAG patterns) or positions (chains).
    [[nodiscard]] const text_expr& expression() const noexcept { return expr_; }
    [[nodiscard]] const std::vector<text_expr>& chain_items() const noexcept { return chain_items_; }

private:
    static std::string trimmed(std::string_view t) {
        while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
        while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
        return std::string(t);
    }

    std::string text_;
    runtime_program prog_;
    text_expr expr_;
    std::vector<text_expr> chain_items_;
};

/// Parses a replacement (or any) expression without compiling it; errors point into `whole`.
[[nodiscard]] inline text_expr parse_expression(std::string_view text, std::string_view whole = {}, std::size_t offset = 0) {
    if (whole.empty()) whole = text;
    detail::text_parser tp(text, whole, offset);
    return tp.whole_expr();
}

} // namespace surgery::pattern
