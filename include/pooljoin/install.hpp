// `install-ntp` as plan, then apply: which daemon, which package, and the exact commands.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/process.hpp"

namespace pooljoin {

class RootedFs;

struct InstallRequest {
  std::optional<Daemon> daemon;    // nullopt: auto (facts.recommended)
  int lock_timeout_seconds = 120;  // how long to wait for another package manager to finish
};

struct InstallPlan {
  DaemonSpec spec;
  int lock_timeout_seconds = 120;
  bool already_installed = false;
  std::vector<Command> commands;     // in order; empty when already installed
  std::vector<std::string> removes;  // time daemons the package manager will remove
  std::vector<std::string> notes;    // what the operator should know
};

// Decides from the facts alone; fails with ExitCode::unsupported on an unknown distribution, a
// missing package manager, or a daemon the distribution does not package.
Result<InstallPlan> plan_install(const SystemFacts& facts, const RootedFs& fs,
                                 const InstallRequest& request);

// Runs the plan's commands in order, stopping at the first failure (ExitCode::unavailable, with
// the command's output). A command that fails because another package manager holds the lock
// (apt-get update does not wait for it) is retried until the plan's lock timeout.
// `on_command` is told of each command before it runs.
Result<void> apply_install(const InstallPlan& plan, ProcessRunner& runner,
                           const std::function<void(const Command&)>& on_command = {});

// The commands, run inside the image when the root is not "/" (`chroot ROOT ...`).
Command in_root(const RootedFs& fs, Command command);

}  // namespace pooljoin
