// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/install.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "pooljoin/effects.hpp"
#include "pooljoin/fs.hpp"

namespace pooljoin {
namespace {

// The install commands of the guide, for when pooljoin cannot do it itself.
constexpr const char* kManualInstall =
    "install an NTP daemon with the system's package manager (for example `apt-get install "
    "ntpsec`, "
    "`dnf install chrony`, `pacman -S ntp`, `zypper install chrony` or `apk add chrony`), then "
    "run `pooljoin gen-conf`";

// How often a command that found the package manager locked is tried again.
constexpr auto kLockRetry = std::chrono::seconds(2);

std::vector<Command> package_commands(const std::string& manager, const std::string& package,
                                      int lock_timeout) {
  if (manager == "apt-get") {
    std::string lock = fmt::format("DPkg::Lock::Timeout={}", lock_timeout);
    return {{{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-o", lock, "update"}},
            {{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-o", lock, "install", "-y",
              package}}};
  }
  if (manager == "dnf" || manager == "yum") return {{{manager, "install", "-y", package}}};
  if (manager == "pacman") return {{{"pacman", "-S", "--needed", "--noconfirm", package}}};
  if (manager == "zypper") {
    return {{{"env", fmt::format("ZYPP_LOCK_TIMEOUT={}", lock_timeout), "zypper",
              "--non-interactive", "install", package}}};
  }
  if (manager == "apk") return {{{"apk", "update"}}, {{"apk", "add", package}}};
  return {};
}

// Recognises a package manager that failed because another one holds its lock.
bool locked(const ProcessResult& result) {
  for (const auto* text : {&result.err, &result.out}) {
    if (text->find("Could not get lock") != std::string::npos ||
        text->find("unable to lock database") != std::string::npos ||
        text->find("System management is locked") != std::string::npos ||
        text->find("Waiting for process with pid") != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

Command in_root(const RootedFs& fs, Command command) {
  if (fs.is_live()) return command;
  command.argv.insert(command.argv.begin(), {"chroot", fs.root().string()});
  return command;
}

Result<InstallPlan> plan_install(const SystemFacts& facts, const RootedFs& fs,
                                 const InstallRequest& request) {
  auto spec = resolve_daemon_spec(facts, request.daemon, kManualInstall);
  if (!spec) return tl::unexpected(std::move(spec.error()));
  const Daemon daemon = spec->daemon;

  InstallPlan plan;
  plan.spec = *spec;
  plan.lock_timeout = request.lock_timeout;
  plan.already_installed = facts.has_installed(to_string(daemon));
  if (plan.already_installed) return plan;

  if (facts.package_manager.empty()) {
    return fail(ExitCode::unsupported,
                fmt::format("no package manager found for {}", facts.distro.pretty_name),
                fmt::format("looked for it under {}", fs.root().string()), kManualInstall);
  }

  // Two daemons cannot both serve UDP 123. On Debian and its derivatives the packages conflict,
  // so installing one removes the other; elsewhere `pooljoin restart` stops the other one.
  for (const char* other : {"ntpsec", "ntp", "chrony", "openntpd", "busybox-ntpd"}) {
    if (other == to_string(daemon) || !facts.has_installed(other)) continue;
    if (other == std::string_view("busybox-ntpd")) {
      plan.notes.push_back(
          "busybox's ntpd is also there (part of busybox, not a package to remove); "
          "`pooljoin restart` stops and disables its service ntpd");
    } else if (facts.distro.family == Family::debian) {
      plan.removes.push_back(other);
    } else {
      plan.notes.push_back(
          fmt::format("{} is also installed; `pooljoin restart` stops and disables it", other));
    }
  }

  if (facts.has_running("systemd-timesyncd") && facts.init == InitSystem::systemd) {
    plan.commands.push_back(in_root(fs, {{"systemctl", "stop", "systemd-timesyncd"}}));
    plan.commands.push_back(in_root(fs, {{"systemctl", "disable", "systemd-timesyncd"}}));
  }
  if (facts.has_installed("systemd-timesyncd") && facts.distro.family == Family::debian) {
    plan.notes.push_back("systemd-timesyncd is replaced by " + spec->package);
  }
  if (facts.package_manager == "pacman" && fs.exists("/var/lib/pacman/db.lck")) {
    return fail(
        ExitCode::unavailable, "pacman is locked", "/var/lib/pacman/db.lck exists",
        "wait for the other pacman to finish (or remove the stale lock file) and run again");
  }
  const int lock_seconds = static_cast<int>(request.lock_timeout.count());
  for (auto& command : package_commands(facts.package_manager, spec->package, lock_seconds)) {
    plan.commands.push_back(in_root(fs, std::move(command)));
  }
  return plan;
}

Result<InstallOutcome> apply_install(const InstallPlan& plan, Effects& effects,
                                     const StepEvents& events) {
  Clock& clock = effects.clock;
  for (const auto& command : plan.commands) {
    events.on_command(command);
    const auto give_up = clock.steady() + plan.lock_timeout;
    auto result = effects.runner.run(command);
    while (result && !result->ok() && locked(*result) && clock.steady() + kLockRetry < give_up) {
      events.on_waiting("the package manager is locked by another process");
      auto slept = clock.sleep_for(kLockRetry, "the wait for the package manager's lock");
      events.on_waiting("");
      if (!slept) return tl::unexpected(std::move(slept.error()));
      result = effects.runner.run(command);
    }
    if (!result) return tl::unexpected(result.error());
    if (result->ok()) continue;
    if (locked(*result)) {
      return fail(
          ExitCode::unavailable, "the package manager is locked by another process",
          result->status_text(),
          "wait for it to finish (unattended-upgrades or cloud-init often hold it at boot), "
          "or raise --lock-timeout, and run again; nothing was installed",
          result->output_tail(3));
    }
    return fail(ExitCode::unavailable, fmt::format("`{}` failed", display(command)),
                result->status_text(), "fix the cause shown above and run again",
                result->output_tail());
  }
  // Trust what is on disk afterwards, not the package manager's exit status alone.
  InstallOutcome outcome;
  outcome.installed = detect_installed_daemons(effects.fs);
  if (!has_program(effects.fs, daemon_program_name(plan.spec.daemon))) {
    return fail(ExitCode::unavailable, fmt::format("{} was not installed", plan.spec.package),
                fmt::format("the package manager succeeded but no {} program is there",
                            daemon_program_name(plan.spec.daemon)),
                "install it by hand and run `pooljoin detect` to check");
  }
  return outcome;
}

}  // namespace pooljoin
