// SPDX-License-Identifier: Apache-2.0
// `install-ntp` as plan, then apply: which daemon, which package, and the exact commands.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/effects.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/process.hpp"

namespace pooljoin {

class RootedFs;

// How long install waits by default for another package manager run to finish: apt's own
// unattended upgrades at boot take about that long.
inline constexpr std::chrono::seconds kDefaultLockTimeout{120};

struct InstallRequest {
  std::optional<Daemon> daemon;  // nullopt: auto (facts.recommended)
  std::chrono::seconds lock_timeout = kDefaultLockTimeout;
};

struct InstallPlan {
  DaemonSpec spec;
  std::chrono::seconds lock_timeout = kDefaultLockTimeout;
  bool already_installed = false;
  std::vector<Command> commands;     // in order; empty when already installed
  std::vector<std::string> removes;  // time daemons the package manager will remove
  std::vector<std::string> notes;    // what the operator should know
};

// Decides from the facts alone; fails with ExitCode::unsupported on an unknown distribution, a
// missing package manager, or a daemon the distribution does not package.
Result<InstallPlan> plan_install(const SystemFacts& facts, const RootedFs& fs,
                                 const InstallRequest& request);

struct InstallOutcome {
  // The time daemons installed afterwards (detect's names): the package manager may have
  // removed a conflicting one. What later steps take as the system's daemons.
  std::vector<std::string> installed;
};

// Runs the plan's commands in order, stopping at the first failure (ExitCode::unavailable, with
// the command's output). A command that fails because another package manager holds the lock
// (apt-get update does not wait for it) is retried until the plan's lock timeout. Then the
// daemon's program must be there (ExitCode::unavailable when the package manager said yes and
// installed nothing).
Result<InstallOutcome> apply_install(const InstallPlan& plan, Effects& effects,
                                     const StepEvents& events = {});

// The commands, run inside the image when the root is not "/" (`chroot ROOT ...`).
Command in_root(const RootedFs& fs, Command command);

}  // namespace pooljoin
