// SPDX-License-Identifier: Apache-2.0
// Findings: what `check`, `gen-conf --lint` and `submit` report. Diagnosers are pure functions
// from collected facts to findings; the CLI renders them as a table or JSON.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pooljoin {

enum class Severity { ok, warn, fail };

std::string_view to_string(Severity severity);

struct Finding {
  std::string id;  // stable, for scripts: "daemon.unsynchronized", "lint.local-clock"
  Severity severity = Severity::ok;
  std::string message;  // what was found, with the evidence
  std::string fix{};    // what to do about it; empty when nothing is to be done

  bool operator==(const Finding&) const = default;
};

// The worst severity among the findings (ok for none).
Severity worst(const std::vector<Finding>& findings);

}  // namespace pooljoin
