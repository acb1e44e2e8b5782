// Errors. Untrusted input (files, JSON, flags, HTTP) is reported by throwing lf::error with a
// message that names the problem; broken internal invariants abort with their location (LF_CHECK).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <format>
#include <stdexcept>
#include <string>

namespace lf {

struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] inline void fail(std::format_string<Args...> fmt, Args&&... args) {
    throw error(std::format(fmt, std::forward<Args>(args)...));
}

[[noreturn]] inline void abort_at(const char* file, int line, const char* what) {
    std::fprintf(stderr, "leapfrog: internal error at %s:%d: %s\n", file, line, what);
    std::abort();
}

}  // namespace lf

// Internal invariant (never for validating input): abort with the location when false.
#define LF_CHECK(cond) \
    do { if (!(cond)) ::lf::abort_at(__FILE__, __LINE__, #cond); } while (0)
