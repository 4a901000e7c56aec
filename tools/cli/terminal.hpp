// Everything the tool prints goes through a filter that makes it safe for a terminal: names from a
// model (in our messages and in the library's) cannot move the cursor, recolour, retitle or hide text.
#pragma once

#include <iostream>
#include <streambuf>
#include <string>
#include <string_view>

#include "surgery/io/file.hpp"

namespace surgery::cli {

/// A stream buffer that passes text on to `sink` through `io::terminal_safe`: control characters
/// other than newline and tab, escape sequences, bytes that are not UTF-8, C1 controls and
/// bidirectional overrides come out escaped (`\x1b`, `\xff`, `\u202e`). A UTF-8 sequence split
/// across two writes is held back until it is complete.
class safe_streambuf : public std::streambuf {
public:
    explicit safe_streambuf(std::streambuf* sink) : sink_(sink) {}
    safe_streambuf(const safe_streambuf&) = delete;
    safe_streambuf& operator=(const safe_streambuf&) = delete;
    ~safe_streambuf() override { pass_on(true); }

protected:
    int_type overflow(int_type ch) override {
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            pending_.push_back(traits_type::to_char_type(ch));
            if (pending_.size() >= 4096 || ch == '\n') pass_on(false);
        }
        return traits_type::not_eof(ch);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        pending_.append(s, static_cast<std::size_t>(n));
        if (pending_.size() >= 4096 || std::string_view(s, static_cast<std::size_t>(n)).find('\n') != std::string_view::npos) pass_on(false);
        return n;
    }
    int sync() override {
        pass_on(false);
        return sink_->pubsync();
    }

private:
    void pass_on(bool final) {
        std::size_t cut = pending_.size();
        if (!final) // hold back a UTF-8 sequence the next write completes
            for (std::size_t i = pending_.size() > 3 ? pending_.size() - 3 : 0; i < pending_.size(); ++i) {
                char32_t cp = 0;
                if (io::detail::utf8_sequence(pending_, i, cp) < 0) {
                    cut = i;
                    break;
                }
            }
        if (cut == 0) return;
        const std::string out = io::terminal_safe(std::string_view(pending_).substr(0, cut));
        sink_->sputn(out.data(), static_cast<std::streamsize>(out.size()));
        pending_.erase(0, cut);
    }

    std::streambuf* sink_;
    std::string pending_;
};

/// Puts std::cout and std::cerr behind a `safe_streambuf` for its lifetime.
class safe_terminal {
public:
    safe_terminal() : out_(std::cout.rdbuf()), err_(std::cerr.rdbuf()) {
        old_out_ = std::cout.rdbuf(&out_);
        old_err_ = std::cerr.rdbuf(&err_);
    }
    safe_terminal(const safe_terminal&) = delete;
    safe_terminal& operator=(const safe_terminal&) = delete;
    ~safe_terminal() {
        std::cout.flush();
        std::cerr.flush();
        std::cout.rdbuf(old_out_);
        std::cerr.rdbuf(old_err_);
    }

private:
    safe_streambuf out_, err_;
    std::streambuf* old_out_ = nullptr;
    std::streambuf* old_err_ = nullptr;
};

} // namespace surgery::cli
