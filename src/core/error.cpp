// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/error.hpp"

#include <cstring>

namespace pooljoin {

std::string Error::message() const {
  std::string text = what;
  if (!why.empty()) text += " (" + why + ")";
  if (!fix.empty()) text += "; " + fix;
  return text;
}

std::string errno_text(int err) {
  char buffer[256];
  // GNU strerror_r returns the message, which may or may not live in `buffer`.
  return ::strerror_r(err, buffer, sizeof buffer);
}

}  // namespace pooljoin
