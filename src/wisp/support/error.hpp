#pragma once
// Errors as values: expected failures (bad input, a remote side that failed) travel as
// `Result<T>` up to the command, which turns them into an exit code. Unexpected failures
// are exceptions, caught once in cli/main.cpp.

#include <wisp/support/diagnostic.hpp>

#include <fmt/format.h>
#include <tl/expected.hpp>

#include <string>
#include <utility>
#include <vector>

namespace wisp::support {

// Process exit codes shared by every command.
enum class ExitCode : int {
  ok = 0,      // success
  failure = 1, // the user's input or the remote side failed
  usage = 2,   // the command line was wrong
};

struct Error {
  std::string message;                 // one line, no trailing period needed
  std::vector<Diagnostic> diagnostics; // positions in files, when a file is involved
  ExitCode exit_code = ExitCode::failure;
};

template <class T> using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> fail(std::string message, ExitCode code = ExitCode::failure) {
  return tl::unexpected<Error>(Error{std::move(message), {}, code});
}

template <class... Args>
tl::unexpected<Error> failf(fmt::format_string<Args...> format, Args&&... args) {
  return fail(fmt::format(format, std::forward<Args>(args)...));
}

inline tl::unexpected<Error> fail(Diagnostic diagnostic) {
  Error error{diagnostic.message, {}, ExitCode::failure};
  error.diagnostics.push_back(std::move(diagnostic));
  return tl::unexpected<Error>(std::move(error));
}

} // namespace wisp::support

#define WISP_CONCAT_INNER(a, b) a##b
#define WISP_CONCAT(a, b) WISP_CONCAT_INNER(a, b)

// WISP_TRY(expr): return the error of `expr` (a Result/Status) from the enclosing function.
#define WISP_TRY(expr)                                                                             \
  do {                                                                                             \
    auto&& wisp_try_result_ = (expr);                                                              \
    if (!wisp_try_result_)                                                                         \
      return ::tl::unexpected<::wisp::support::Error>(std::move(wisp_try_result_).error());        \
  } while (false)

// WISP_TRY_ASSIGN(lhs, expr): `lhs = *expr`, or return its error. `lhs` may be a declaration
// (`const auto x`), so it cannot be parenthesised.
#define WISP_TRY_ASSIGN(lhs, expr)                                                                 \
  auto&& WISP_CONCAT(wisp_try_, __LINE__) = (expr);                                                \
  if (!WISP_CONCAT(wisp_try_, __LINE__))                                                           \
    return ::tl::unexpected<::wisp::support::Error>(                                               \
        std::move(WISP_CONCAT(wisp_try_, __LINE__)).error());                                      \
  lhs = std::move(*WISP_CONCAT(wisp_try_, __LINE__)) // NOLINT(bugprone-macro-parentheses)
