// Errors. Untrusted input (files, JSON, flags, HTTP) is reported by throwing lf::error with a
// message that names the problem; broken internal invariants abort with their location (LF_CHECK).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace lf {

struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws lf::error with a {fmt}-formatted message ("{}" placeholders).
template <typename... Args>
[[noreturn]] inline void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw error(fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] inline void abort_at(const char* file, int line, const char* what) {
    std::fprintf(stderr, "leapfrog: internal error at %s:%d: %s\n", file, line, what);
    std::abort();
}

}  // namespace lf

// Internal invariant (never for validating input): abort with the location when false.
#define LF_CHECK(cond) \
    do { if (!(cond)) ::lf::abort_at(__FILE__, __LINE__, #cond); } while (0)
