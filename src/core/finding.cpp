// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/finding.hpp"

#include <algorithm>

namespace pooljoin {

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::ok:
      return "ok";
    case Severity::warn:
      return "warn";
    case Severity::fail:
      return "fail";
  }
  return "?";
}

Severity worst(const std::vector<Finding>& findings) {
  Severity result = Severity::ok;
  for (const auto& finding : findings)
    result = std::max(result, finding.severity);
  return result;
}

}  // namespace pooljoin
