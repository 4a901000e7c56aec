// Test helper: the message of what a callable throws, for tests that compare whole messages.
#pragma once

#include <exception>
#include <string>
#include <utility>

namespace surgery::test {

/// The message of the `E` that `f` throws, or `none` when it throws nothing (anything else that it
/// throws goes through: a test that expects one kind of error must not swallow another).
template <class E = std::exception, class F>
std::string thrown_message(F&& f, std::string none = {}) {
    try {
        std::forward<F>(f)();
    } catch (const E& e) {
        return e.what();
    }
    return none;
}

} // namespace surgery::test
