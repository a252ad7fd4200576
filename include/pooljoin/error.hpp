// SPDX-License-Identifier: Apache-2.0
// Errors: a value that says what failed, why, and what to do. Functions that touch the outside
// world return Result<T>; Fatal carries an Error up to main, which prints it and exits.
#pragma once

#include <exception>
#include <string>

#include <tl/expected.hpp>

#include "pooljoin/exit_codes.hpp"

namespace pooljoin {

struct Error {
  ExitCode code = ExitCode::internal;
  std::string what;       // what failed, on what: "cannot write /etc/ntpsec/ntp.conf"
  std::string why;        // the cause: "No space left on device"; may be empty
  std::string fix;        // what the operator can do about it; may be empty
  std::string details{};  // multi-line evidence (a tool's output), shown after the message

  // "<what> (<why>); <fix>", leaving out the parts that are empty.
  std::string message() const;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ExitCode code, std::string what, std::string why = {},
                                  std::string fix = {}, std::string details = {}) {
  return tl::unexpected<Error>(
      Error{code, std::move(what), std::move(why), std::move(fix), std::move(details)});
}

// The message of errno `err`, as strerror gives it.
std::string errno_text(int err);

class Fatal : public std::exception {
 public:
  explicit Fatal(Error error) : error_(std::move(error)), text_(error_.message()) {}
  Fatal(ExitCode code, std::string what, std::string why = {}, std::string fix = {})
      : Fatal(Error{code, std::move(what), std::move(why), std::move(fix)}) {}
  const Error& error() const { return error_; }
  const char* what() const noexcept override { return text_.c_str(); }

 private:
  Error error_;
  std::string text_;
};

// The value of `result`, or throws Fatal with its error.
template <class T>
T value_or_throw(Result<T>&& result) {
  if (!result) throw Fatal(std::move(result.error()));
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

}  // namespace pooljoin
