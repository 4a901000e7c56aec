// A small streaming JSON writer (pretty-printed, keys in insertion order) for the tool's reports; its output
// is valid JSON whatever bytes the strings hold.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "surgery/io/file.hpp"

namespace surgery::cli {

class json_writer {
public:
    json_writer& begin_object() { return open('{'); }
    json_writer& end_object() { return close('}'); }
    json_writer& begin_array() { return open('['); }
    json_writer& end_array() { return close(']'); }

    /// The key of the next member of the current object.
    json_writer& key(std::string_view k) {
        separator();
        string(k);
        out_ += ": ";
        after_key_ = true;
        return *this;
    }
    json_writer& value(std::string_view s) {
        separator();
        string(s);
        return *this;
    }
    json_writer& value(const char* s) { return value(std::string_view(s)); }
    json_writer& value(const std::string& s) { return value(std::string_view(s)); }
    json_writer& value(bool b) {
        separator();
        out_ += b ? "true" : "false";
        return *this;
    }
    json_writer& value(std::int64_t v) {
        separator();
        out_ += std::to_string(v);
        return *this;
    }
    json_writer& value(std::uint64_t v) {
        separator();
        out_ += std::to_string(v);
        return *this;
    }
    json_writer& value(int v) { return value(static_cast<std::int64_t>(v)); }
    json_writer& value(unsigned v) { return value(static_cast<std::uint64_t>(v)); }
    template <class T>
        requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, std::int64_t> && !std::is_same_v<T, std::uint64_t> &&
                 !std::is_same_v<T, int> && !std::is_same_v<T, unsigned>)
    json_writer& value(T v) {
        if constexpr (std::is_signed_v<T>) return value(static_cast<std::int64_t>(v));
        else return value(static_cast<std::uint64_t>(v));
    }
    /// Doubles with 9 significant digits; NaN and infinities (not JSON) as null.
    json_writer& value(double v) {
        separator();
        if (!std::isfinite(v)) {
            out_ += "null";
        } else {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.9g", v);
            out_ += buf;
        }
        return *this;
    }
    json_writer& null() {
        separator();
        out_ += "null";
        return *this;
    }
    template <class T>
    json_writer& member(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }

    /// Member `k` holding a name from a model or a path. JSON strings are Unicode, so a name that is
    /// not UTF-8 is written with U+FFFD for each bad byte and, so that the exact bytes are not lost,
    /// a second member `k_hex` with all its bytes in hexadecimal.
    json_writer& name(std::string_view k, std::string_view v) {
        member(k, v);
        if (!io::is_utf8(v)) {
            std::string hex;
            for (char c : v) io::detail::append_hex_escape(hex, "", static_cast<unsigned char>(c), 2);
            member(std::string(k) + "_hex", hex);
        }
        return *this;
    }

    [[nodiscard]] const std::string& str() const noexcept { return out_; }

private:
    json_writer& open(char c) {
        separator();
        out_.push_back(c);
        first_.push_back(true);
        return *this;
    }
    json_writer& close(char c) {
        const bool empty = first_.back();
        first_.pop_back();
        if (!empty) newline();
        out_.push_back(c);
        if (first_.empty()) out_.push_back('\n');
        return *this;
    }
    void separator() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (first_.empty()) return;
        if (!first_.back()) out_.push_back(',');
        first_.back() = false;
        newline();
    }
    void newline() {
        out_.push_back('\n');
        out_.append(2 * first_.size(), ' ');
    }
    /// JSON string of `s`, always valid and terminal-safe: control characters, DEL, C1 controls,
    /// bidirectional overrides, zero-width characters and U+2028/U+2029 as \uXXXX (the parsed string is
    /// unchanged); each byte that is not UTF-8 as \ufffd (the replacement character; see `name`).
    void string(std::string_view s) {
        out_.push_back('"');
        for (std::size_t i = 0; i < s.size();) {
            char32_t cp = 0;
            const int n = io::detail::utf8_sequence(s, i, cp);
            if (n <= 0) {
                out_ += "\\ufffd";
                ++i;
                continue;
            }
            if (n == 1) {
                const char ch = s[i];
                switch (ch) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                default:
                    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) io::detail::append_hex_escape(out_, "\\u", static_cast<unsigned char>(ch), 4);
                    else out_.push_back(ch);
                }
            } else if (io::detail::deceptive_code_point(cp)) {
                io::detail::append_hex_escape(out_, "\\u", static_cast<unsigned>(cp), 4);
            } else {
                out_.append(s.substr(i, static_cast<std::size_t>(n)));
            }
            i += static_cast<std::size_t>(n);
        }
        out_.push_back('"');
    }

    std::string out_;
    std::vector<bool> first_;
    bool after_key_ = false;
};

} // namespace surgery::cli
