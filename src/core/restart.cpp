// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/restart.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "pooljoin/effects.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/install.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/ntp_config.hpp"

namespace pooljoin {
namespace {

// An init script may wait for a slow daemon to stop (ntpsec's: TERM, 30 s, KILL, 5 s).
constexpr auto kInitCommandTimeout = std::chrono::seconds(120);
// How long one loopback query waits, and the pause after a refused one (nothing listening yet).
constexpr auto kProbeTimeout = std::chrono::milliseconds(1000);
constexpr auto kProbePause = std::chrono::milliseconds(250);
// How long `systemctl is-active` and journalctl may take, and the journal lines a failed unit's
// report quotes.
constexpr auto kUnitQueryTimeout = std::chrono::seconds(10);
constexpr int kUnitLogLines = 5;

// Whether `systemctl is-active` says the unit has stopped for good: "failed" (it exited with an
// error, or was killed), or "inactive" (it exited by itself). "activating" (still starting, or
// waiting to be restarted by Restart=) is waited for.
bool unit_has_stopped(std::string_view state) {
  return state == "failed" || state == "inactive";
}

std::string first_word(std::string_view text) {
  auto start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  auto end = text.find_first_of(" \t\r\n", start);
  return std::string(text.substr(start, end == std::string_view::npos ? end : end - start));
}

// Where runit distributions keep the service directories, and the directories runsvdir watches
// (Void, Artix, Debian's runit).
constexpr const char* kRunitServiceDirs[] = {"/etc/sv", "/etc/runit/sv"};
constexpr const char* kRunitEnabledDirs[] = {"/run/runit/service", "/var/service", "/etc/service",
                                             "/etc/runit/runsvdir/default"};

std::string service_name(const Distro& distro, const std::string& daemon) {
  if (daemon == "systemd-timesyncd" || daemon == "openntpd") return daemon;
  if (daemon == "busybox-ntpd") return "ntpd";  // Alpine's OpenRC service of busybox's applet
  if (auto parsed = parse_daemon(daemon)) {
    if (auto spec = daemon_spec(distro, *parsed)) return spec->service;
    if (*parsed == Daemon::chrony) return distro.family == Family::debian ? "chrony" : "chronyd";
    return distro.family == Family::debian ? daemon : "ntpd";
  }
  return daemon;
}

std::string first_existing(const RootedFs& fs, std::initializer_list<const char*> dirs,
                           const std::string& leaf = {}) {
  for (const char* dir : dirs) {
    std::string path = leaf.empty() ? dir : std::string(dir) + "/" + leaf;
    if (fs.exists(path)) return path;
  }
  return {};
}

// The unit file that masks `service` (a link to /dev/null where systemd looks first); nullopt
// when it is not masked.
std::optional<std::string> systemd_mask(const RootedFs& fs, const std::string& service) {
  for (const char* dir : {"/etc/systemd/system", "/run/systemd/system"}) {
    const std::string unit = fmt::format("{}/{}.service", dir, service);
    if (fs.read_link(unit) == "/dev/null") return unit;
  }
  return std::nullopt;
}

struct InitCommands {
  std::vector<Command> enable, restart, stop_other;
  std::optional<Command> state, log;
  std::vector<std::string> notes;
};

// The commands of `init` for `service`, and to stop and disable `others`. `live` false: an image,
// where nothing is started or stopped. `package_pending`: see RestartRequest.
Result<InitCommands> init_commands(InitSystem init, const RootedFs& fs, const std::string& service,
                                   const std::vector<std::string>& others, bool live,
                                   bool package_pending) {
  InitCommands c;
  switch (init) {
    case InitSystem::systemd:
      c.enable.push_back({{"systemctl", "enable", service}});
      c.restart.push_back({{"systemctl", "restart", service}});
      c.state = Command{{"systemctl", "is-active", service}};
      // Its warnings and errors of the last minutes: the daemon's start-up notes would crowd out
      // why it ended.
      c.log = Command{{"journalctl", "--unit", service, "--priority", "warning", "--lines",
                       std::to_string(kUnitLogLines), "--no-pager", "--output", "cat", "--since",
                       "-2min"}};
      for (const auto& other : others) {
        if (live) c.stop_other.push_back({{"systemctl", "stop", other}});
        c.stop_other.push_back({{"systemctl", "disable", other}});
      }
      break;
    case InitSystem::sysvinit: {
      const std::string script = "/etc/init.d/" + service;
      if (!package_pending && !fs.exists(script)) {
        return fail(ExitCode::unsupported, fmt::format("no init script {}", script),
                    "the daemon's package installs one on sysvinit systems",
                    "reinstall the daemon's package, or start it yourself");
      }
      const bool has_service = has_program(fs, "service");
      auto control = [&](const std::string& name, const char* action) -> Command {
        if (has_service) return {{"service", name, action}};
        return {{"/etc/init.d/" + name, action}};
      };
      if (has_program(fs, "update-rc.d")) {
        // `defaults` creates the links when there are none; `enable` turns stop links to start.
        c.enable.push_back({{"update-rc.d", service, "defaults"}});
        c.enable.push_back({{"update-rc.d", service, "enable"}});
      } else if (has_program(fs, "chkconfig")) {
        c.enable.push_back({{"chkconfig", service, "on"}});
      } else {
        c.notes.push_back(fmt::format(
            "neither update-rc.d nor chkconfig found: make sure {} starts at boot", script));
      }
      c.restart.push_back(control(service, "restart"));
      for (const auto& other : others) {
        if (!fs.exists("/etc/init.d/" + other)) continue;
        if (live) c.stop_other.push_back(control(other, "stop"));
        if (has_program(fs, "update-rc.d")) {
          c.stop_other.push_back({{"update-rc.d", other, "disable"}});
        } else if (has_program(fs, "chkconfig")) {
          c.stop_other.push_back({{"chkconfig", other, "off"}});
        }
      }
      break;
    }
    case InitSystem::openrc:
      c.enable.push_back({{"rc-update", "add", service, "default"}});
      c.restart.push_back({{"rc-service", service, "restart"}});
      for (const auto& other : others) {
        if (live) c.stop_other.push_back({{"rc-service", other, "stop"}});
        c.stop_other.push_back({{"rc-update", "del", other, "default"}});
      }
      break;
    case InitSystem::runit: {
      std::string sv_dir =
          first_existing(fs, {kRunitServiceDirs[0], kRunitServiceDirs[1]}, service);
      if (sv_dir.empty() && package_pending)
        sv_dir = std::string(kRunitServiceDirs[0]) + "/" + service;
      std::string enabled_dir = first_existing(fs, {kRunitEnabledDirs[0], kRunitEnabledDirs[1],
                                                    kRunitEnabledDirs[2], kRunitEnabledDirs[3]});
      if (sv_dir.empty() || enabled_dir.empty()) {
        return fail(ExitCode::unsupported,
                    fmt::format("no runit service directory for {}", service),
                    fmt::format("looked for /etc/sv/{0} and /etc/runit/sv/{0}, and for the "
                                "directory runsvdir watches",
                                service),
                    "install the daemon's runit service package, or start it yourself");
      }
      const std::string link = enabled_dir + "/" + service;
      if (!fs.exists(link)) c.enable.push_back({{"ln", "-s", sv_dir, link}});
      c.restart.push_back({{"sv", "restart", link}});
      for (const auto& other : others) {
        const std::string other_link = enabled_dir + "/" + other;
        if (!fs.read_link(other_link)) continue;
        if (live) c.stop_other.push_back({{"sv", "stop", other_link}});
        c.stop_other.push_back({{"rm", other_link}});
      }
      break;
    }
    case InitSystem::none:
      return fail(ExitCode::unsupported, "no init system found",
                  "none of systemd, OpenRC, runit or /etc/init.d scripts",
                  fmt::format("start {} yourself (or choose one with --init)", service));
  }
  return c;
}

Result<RestartAttempt> attempt(const RestartPlan& plan, Effects& effects,
                               const StepEvents& events) {
  Clock& clock = effects.clock;
  RestartAttempt result;
  const auto started = clock.steady();
  auto waited = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady() - started);
  };
  for (const auto& command : plan.restart) {
    events.on_command(command);
    auto ran = effects.runner.run(command, {kInitCommandTimeout});
    if (!ran && ran.error().code == ExitCode::interrupted) return tl::unexpected(ran.error());
    if (!ran) {
      result.failure = ran.error().message();
      return result;
    }
    if (!ran->ok()) {
      result.failure = fmt::format("`{}` failed ({})", display(command), ran->status_text());
      if (auto tail = ran->output_tail(5); !tail.empty()) result.failure += ": " + tail;
      return result;
    }
  }
  const auto deadline = clock.steady() + plan.answer_timeout;
  std::string last = "no answer";
  events.on_waiting(
      fmt::format("waiting for {} to answer on 127.0.0.1", to_string(plan.spec.daemon)));
  for (;;) {
    if (interrupted()) {
      events.on_waiting("");
      return interruption("the wait for the daemon to answer");
    }
    auto left = remaining(clock, deadline);
    if (left.count() == 0) break;
    auto answer =
        query_loopback(effects.ntp, std::min<std::chrono::milliseconds>(kProbeTimeout, left));
    if (answer) {
      events.on_waiting("");
      result.answer = *answer;
      result.waited = waited();
      return result;
    }
    if (answer.error().code == ExitCode::interrupted) {
      events.on_waiting("");
      return tl::unexpected(std::move(answer.error()));
    }
    last = answer.error().why.empty() ? answer.error().what : answer.error().why;
    // The unit may already have failed: no answer will come, and its state says more than the
    // port does.
    if (plan.unit_state) {
      auto state = effects.runner.run(*plan.unit_state, {kUnitQueryTimeout});
      std::string word = state ? first_word(state->out) : std::string();
      if (unit_has_stopped(word)) {
        events.on_waiting("");
        result.waited = waited();
        result.failure = fmt::format("{}.service is {} after the restart (`{}`)", plan.spec.service,
                                     word, display(*plan.unit_state));
        std::string tail;
        if (plan.unit_log) {
          auto log = effects.runner.run(*plan.unit_log, {kUnitQueryTimeout});
          if (log && log->ok()) tail = log->output_tail(kUnitLogLines);
        }
        // The journal may not hold the last words yet: then say where they will be.
        result.failure +=
            tail.empty() ? fmt::format("; see `journalctl -u {}`", plan.spec.service) : ": " + tail;
        return result;
      }
    }
    // A refused query comes back at once: pause before the next one.
    if (remaining(clock, deadline) > kProbePause) {
      if (auto slept = clock.sleep_for(kProbePause, "the wait for the daemon to answer"); !slept) {
        events.on_waiting("");
        return tl::unexpected(std::move(slept.error()));
      }
    }
  }
  events.on_waiting("");
  result.waited = waited();
  result.failure = fmt::format("{} did not answer on 127.0.0.1:123 within {} s ({})",
                               to_string(plan.spec.daemon), plan.answer_timeout.count(), last);
  return result;
}

}  // namespace

std::vector<Command> RestartPlan::commands() const {
  std::vector<Command> all = stop_conflicting;
  all.insert(all.end(), enable.begin(), enable.end());
  if (live) all.insert(all.end(), restart.begin(), restart.end());
  return all;
}

InitSystem image_init_system(const SystemFacts& facts, const RootedFs& fs) {
  if (facts.init == InitSystem::systemd || facts.init == InitSystem::openrc ||
      facts.init == InitSystem::runit) {
    return facts.init;
  }
  for (const char* systemd : {"/usr/lib/systemd/systemd", "/lib/systemd/systemd"}) {
    if (fs.exists(systemd)) return InitSystem::systemd;
  }
  if (fs.exists("/sbin/openrc") || fs.exists("/usr/sbin/openrc")) return InitSystem::openrc;
  if (fs.exists("/etc/runit")) return InitSystem::runit;
  return facts.init;
}

Result<RestartPlan> plan_restart(const SystemFacts& facts, const RootedFs& fs,
                                 const RestartRequest& request) {
  auto spec = resolve_daemon_spec(facts, request.daemon,
                                  "restart the NTP daemon with the system's own tools");
  if (!spec) return tl::unexpected(std::move(spec.error()));
  const std::string name(to_string(spec->daemon));
  if (!facts.has_installed(name) && !request.package_pending) {
    return fail(ExitCode::unavailable, fmt::format("{} is not installed", name),
                fmt::format("no {} program under {}", daemon_program_name(spec->daemon),
                            fs.root().string()),
                "run `pooljoin install-ntp` and `pooljoin gen-conf` first");
  }

  RestartPlan plan;
  plan.spec = *spec;
  plan.live = fs.is_live();
  plan.answer_timeout = request.answer_timeout;
  plan.init = request.init ? *request.init : plan.live ? facts.init : image_init_system(facts, fs);
  if (plan.init == InitSystem::systemd) {
    if (auto mask = systemd_mask(fs, spec->service)) {
      // systemctl would refuse to start it, and the failure is not the config's: nothing is
      // rolled back, and the running daemon (masking does not stop it) keeps its old config.
      return fail(ExitCode::unavailable, fmt::format("{}.service is masked", spec->service),
                  fmt::format("{} links to /dev/null", fs.host(*mask).string()),
                  fmt::format("if {} is meant to run, `systemctl unmask {}` and run pooljoin again",
                              spec->service, spec->service));
    }
  }

  // Two daemons cannot both serve UDP 123: every other time service goes.
  std::vector<std::string> others;
  auto add_other = [&](const std::string& daemon_name) {
    if (daemon_name == name) return;
    if (daemon_name == "systemd-timesyncd" && plan.init != InitSystem::systemd) return;
    std::string service = service_name(facts.distro, daemon_name);
    if (service == spec->service) return;  // ntpsec and ntp: the same ntpd, one service
    if (std::find(others.begin(), others.end(), service) == others.end()) others.push_back(service);
  };
  for (const auto& d : facts.daemons_running)
    add_other(d);
  for (const auto& d : facts.daemons_installed)
    add_other(d);

  auto commands =
      init_commands(plan.init, fs, spec->service, others, plan.live, request.package_pending);
  if (!commands) return tl::unexpected(commands.error());
  plan.conflicting = others;
  for (auto& c : commands->stop_other)
    plan.stop_conflicting.push_back(in_root(fs, std::move(c)));
  for (auto& c : commands->enable)
    plan.enable.push_back(in_root(fs, std::move(c)));
  for (auto& c : commands->restart)
    plan.restart.push_back(in_root(fs, std::move(c)));
  if (plan.live) {
    plan.unit_state = std::move(commands->state);
    plan.unit_log = std::move(commands->log);
  }
  plan.notes = std::move(commands->notes);
  if (!plan.live) {
    plan.notes.push_back(fmt::format(
        "{} is an image, where nothing runs: {} is only enabled at boot, and checked when the "
        "system boots (`pooljoin check`)",
        fs.root().string(), spec->service));
  }
  return plan;
}

std::optional<std::string> newest_backup(const RootedFs& fs, const std::string& config_path) {
  const std::filesystem::path path(config_path);
  const std::string prefix = path.filename().string() + ".pooljoin-";
  constexpr std::size_t kStampSize = 16;  // "20261126T032243Z"
  std::optional<std::pair<std::string, int>> best;
  std::string best_name;
  for (const auto& name : fs.list(path.parent_path().string())) {
    if (!name.starts_with(prefix) || name.size() < prefix.size() + kStampSize + 4 ||
        name.compare(name.size() - 4, 4, ".bak") != 0) {
      continue;
    }
    std::string stamp = name.substr(prefix.size(), kStampSize);
    std::string rest =
        name.substr(prefix.size() + kStampSize, name.size() - 4 - prefix.size() - kStampSize);
    if (stamp.size() != kStampSize || stamp[8] != 'T' || stamp.back() != 'Z') continue;
    int n = 0;
    if (!rest.empty()) {
      if (rest[0] != '-' || rest.size() < 2 ||
          !std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      n = std::stoi(rest.substr(1));
    }
    std::pair<std::string, int> key{stamp, n};
    if (!best || key > *best) {
      best = key;
      best_name = name;
    }
  }
  if (!best) return std::nullopt;
  return (path.parent_path() / best_name).string();
}

Result<RestartOutcome> apply_restart(const RestartPlan& plan, Effects& effects,
                                     const StepEvents& events) {
  const RootedFs& fs = effects.fs;
  RestartOutcome outcome;
  auto run_soft = [&](const Command& command) {
    events.on_command(command);
    auto ran = effects.runner.run(command, {kInitCommandTimeout});
    if (!ran) {
      outcome.warnings.push_back(ran.error().message());
    } else if (!ran->ok()) {
      std::string warning = fmt::format("`{}` failed ({})", display(command), ran->status_text());
      if (auto tail = ran->output_tail(3); !tail.empty()) warning += ": " + tail;
      outcome.warnings.push_back(warning);
    }
  };
  for (const auto& command : plan.stop_conflicting)
    run_soft(command);
  for (const auto& command : plan.enable)
    run_soft(command);
  // Stopped in the middle: nothing is restarted on a half-done stop or enable.
  if (interrupted()) return interruption("the restart's stop and enable commands");
  if (!plan.live) return outcome;

  auto first = attempt(plan, effects, events);
  if (!first) return tl::unexpected(std::move(first.error()));
  outcome.first = std::move(*first);
  if (outcome.first.ok()) return outcome;

  const std::string& config = plan.spec.config_path;
  auto content = fs.read(config);
  if (!content) {
    outcome.no_rollback_reason = fmt::format("{} cannot be read", config);
    return outcome;
  }
  if (!content->starts_with(kGeneratedMarker)) {
    outcome.no_rollback_reason = fmt::format(
        "{} was not written by `pooljoin gen-conf`, so pooljoin leaves it alone", config);
    return outcome;
  }
  auto backup = newest_backup(fs, config);
  if (!backup) {
    outcome.no_rollback_reason =
        fmt::format("there is no backup of an earlier config beside {}", config);
    return outcome;
  }
  WriteOptions keep;
  keep.backup = false;
  keep.now = effects.clock.now();
  std::string failed = config + ".pooljoin-failed-" + compact_utc(effects.clock.now());
  if (auto saved = fs.write_atomic(failed, *content, keep); !saved) {
    outcome.no_rollback_reason = saved.error().message();
    return outcome;
  }
  outcome.failed_config = failed;
  if (auto restored = fs.restore(config, *backup); !restored) {
    outcome.no_rollback_reason = restored.error().message();
    return outcome;
  }
  outcome.restored_from = *backup;
  auto again = attempt(plan, effects, events);
  if (!again) return tl::unexpected(std::move(again.error()));
  outcome.after_rollback = std::move(*again);
  return outcome;
}

}  // namespace pooljoin
