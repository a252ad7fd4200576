// SPDX-License-Identifier: Apache-2.0
// `restart` as plan, then apply: the init system's commands to enable and restart the daemon and
// to stop and disable a conflicting time service; then the daemon must answer on loopback, or
// the previous config comes back from its backup and the daemon is restarted on it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/effects.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/loopback_probe.hpp"
#include "pooljoin/process.hpp"

namespace pooljoin {

class RootedFs;

// How long a restarted daemon has to answer on loopback by default. ntpsec's init script alone
// sleeps 2 s between stop and start; a daemon answers within a second of starting.
inline constexpr std::chrono::seconds kDefaultAnswerTimeout{20};

struct RestartRequest {
  std::optional<Daemon> daemon;    // nullopt: the one detect recommends
  std::optional<InitSystem> init;  // nullopt: detected
  std::chrono::seconds answer_timeout = kDefaultAnswerTimeout;
  // The daemon's package is still to be installed (join's dry run): what it brings (its init
  // script, its runit service directory) is assumed rather than looked for.
  bool package_pending = false;
};

struct RestartPlan {
  DaemonSpec spec;
  InitSystem init = InitSystem::none;
  // False for an image (--root other than /): nothing runs there, so the plan only enables the
  // daemon at boot and disables the conflicting services; nothing is started or verified.
  bool live = true;
  std::vector<std::string> conflicting;  // the other time services, by service name
  std::vector<Command>
      stop_conflicting;          // stop and disable them (failures are reported, not fatal)
  std::vector<Command> enable;   // start the daemon at boot
  std::vector<Command> restart;  // (re)start it now
  std::chrono::seconds answer_timeout = kDefaultAnswerTimeout;
  // Read-only, while waiting for the answer (systemd only): the unit's state, so that a daemon
  // that has already failed ends the wait at once, and the last lines of its journal to say why.
  std::optional<Command> unit_state;
  std::optional<Command> unit_log;
  std::vector<std::string> notes;

  // Every command, in the order they run.
  std::vector<Command> commands() const;
};

// Decides from the facts alone. ExitCode::unavailable when the daemon is not installed,
// ExitCode::unsupported for an unknown distribution, a daemon it does not package, or no init
// system.
Result<RestartPlan> plan_restart(const SystemFacts& facts, const RootedFs& fs,
                                 const RestartRequest& request);

// The init system an image will boot: the one the facts saw running when they saw one, else the
// one installed in it (systemd when its binary is there; detect only sees what runs).
InitSystem image_init_system(const SystemFacts& facts, const RootedFs& fs);

struct RestartAttempt {
  std::string failure;                   // empty when the daemon came up and answered
  std::optional<LoopbackAnswer> answer;  // what it answered
  std::chrono::milliseconds waited{0};   // from the restart command to the answer
  bool ok() const { return failure.empty(); }
};

struct RestartOutcome {
  std::vector<std::string> warnings;  // conflicting services or enabling that failed
  RestartAttempt first;
  // The rollback, when the first attempt failed.
  std::string no_rollback_reason;  // why there was none (no backup, not pooljoin's file)
  std::string restored_from;       // the backup put back in place
  std::string failed_config;       // where the config that failed was kept
  std::optional<RestartAttempt> after_rollback;
  bool ok() const { return first.ok(); }
};

// The newest backup gen-conf made of `config_path` ("<path>.pooljoin-<UTC>[-N].bak"), by the
// time in its name; nullopt when there is none.
std::optional<std::string> newest_backup(const RootedFs& fs, const std::string& config_path);

// Runs the plan. On a live system, the daemon must then answer on loopback (through
// effects.ntp) within the plan's timeout; when it does not, and the config is one gen-conf wrote
// (kGeneratedMarker) with a backup beside it, the failed config is kept as
// "<path>.pooljoin-failed-<UTC>", the backup is restored, and the daemon restarted and asked
// again. Fails only when interrupted (ExitCode::interrupted); everything else is in the outcome.
Result<RestartOutcome> apply_restart(const RestartPlan& plan, Effects& effects,
                                     const StepEvents& events = {});

}  // namespace pooljoin
