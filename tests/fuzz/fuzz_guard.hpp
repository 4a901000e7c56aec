// Shared by the fuzz targets: lets surgery::error through, turns anything else into a crash libFuzzer reports.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "surgery/error.hpp"

namespace surgery::fuzz {

/// A broken promise of the library (not a rejected input): prints what and aborts, so libFuzzer
/// saves the input as a crash.
[[noreturn]] inline void finding(const char* target, const std::string& what) {
    std::fprintf(stderr, "\n==== %s: FINDING: %s\n", target, what.c_str());
    std::fflush(stderr);
    std::abort();
}

/// Runs `body`; a `surgery::error` is the documented way to reject bad input, any other exception is a finding.
template <class F>
void guard(const char* target, F&& body) {
    try {
        body();
    } catch (const surgery::error&) {
    } catch (const std::exception& e) {
        finding(target, std::string("an exception not derived from surgery::error escaped: ") + typeid(e).name() + ": " + e.what());
    } catch (...) {
        finding(target, "an exception of unknown type escaped");
    }
}

} // namespace surgery::fuzz
