// SPDX-License-Identifier: Apache-2.0
// The exit codes of pooljoin, in one place. Documented in README.md and docs/pooljoin.1;
// scripts and cloud-init rely on them, so a value never changes meaning. (`status --nagios`
// alone exits with a monitoring plugin's codes: PluginState, score_export.hpp.)
#pragma once

namespace pooljoin {

enum class ExitCode : int {
  ok = 0,             // success
  check_failed = 1,   // a check ran and found a failure
  usage = 2,          // bad command line, or an answer needed that was not given
  unavailable = 69,   // a needed service, network, program or package is unavailable
  internal = 70,      // a bug in pooljoin
  cant_write = 73,    // a file could not be written (the old one is intact)
  needs_root = 77,    // the change needs root
  unsupported = 78,   // unsupported system (distribution, package manager, init system)
  interrupted = 130,  // interrupted by SIGINT/SIGTERM
};

constexpr int to_int(ExitCode code) {
  return static_cast<int>(code);
}

}  // namespace pooljoin
