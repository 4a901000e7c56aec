// A small streaming JSON writer (pretty-printed, keys in insertion order) for the tool's reports.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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
    void string(std::string_view s) {
        out_.push_back('"');
        for (char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            switch (ch) {
            case '"': out_ += "\\\""; break;
            case '\\': out_ += "\\\\"; break;
            case '\n': out_ += "\\n"; break;
            case '\r': out_ += "\\r"; break;
            case '\t': out_ += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    out_ += buf;
                } else {
                    out_.push_back(ch);
                }
            }
        }
        out_.push_back('"');
    }

    std::string out_;
    std::vector<bool> first_;
    bool after_key_ = false;
};

} // namespace surgery::cli
