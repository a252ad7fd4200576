// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/gen_conf.hpp"

#include <algorithm>

#include <unistd.h>

#include <fmt/format.h>

#include "pooljoin/conf_lint.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/leap_list.hpp"
#include "pooljoin/resources.hpp"
#include "pooljoin/text_diff.hpp"

namespace pooljoin {
namespace {

constexpr const char* kManualConfig =
    "write the config by hand; `pooljoin gen-conf --lint FILE` checks it";

// The filesystem the target lives in: the system under --root, or the caller's own.
const RootedFs& target_fs(ConfigTarget target, const RootedFs& system, const RootedFs& host) {
  return target == ConfigTarget::daemon_config ? system : host;
}

// The daemon's config is read by its start script only when DHCP has not handed it a copy: the
// plan turns the copy off where the packaging can, and says so where it cannot.
void plan_dhcp_settings(const RootedFs& fs, const DaemonSpec& spec, GenConfPlan& plan) {
  auto state = read_dhcp_state(fs, spec);
  if (!state) return;
  if (state->hook.ignore_variable.empty()) {
    if (state->copy_exists) {
      for (const auto& finding : diagnose_dhcp(*state, spec, std::nullopt))
        plan.warnings.push_back(finding.message + "; " + finding.fix);
    }
    return;
  }
  plan.settings = plan_ignore_dhcp(fs, spec);
  if (plan.settings) {
    const std::string shown = fs.host(plan.settings->path).string();
    plan.settings_diff =
        unified_diff(plan.settings->current.value_or(""), plan.settings->text,
                     plan.settings->current ? shown : "/dev/null", shown + " (new)");
    plan.notes.push_back(fmt::format("{}: {}", shown, plan.settings->why));
  } else if (!state->ignored()) {
    plan.notes.push_back(fmt::format(
        "gen-conf sets {}=\"yes\" in {} once {} is installed, so that DHCP cannot replace the "
        "upstreams",
        state->hook.ignore_variable, state->hook.settings, spec.package));
  }
}

// Writes the plan's start settings edit; on failure puts the config back as it was.
Result<void> apply_settings(const GenConfPlan& plan, const RootedFs& fs, const WriteOptions& base,
                            GenConfOutcome& outcome) {
  if (!plan.settings || !plan.settings->changes()) return {};
  WriteOptions write;
  write.now = base.now;
  auto written = fs.write_atomic(plan.settings->path, plan.settings->text, write);
  if (written) {
    outcome.settings_changed = written->changed;
    outcome.settings_backup = written->backup;
    return {};
  }
  if (outcome.changed) {
    if (!outcome.backup.empty()) {
      (void)fs.restore(plan.path, outcome.backup);
    } else {
      ::unlink(fs.host(plan.path).c_str());
    }
    outcome.changed = false;
    outcome.backup.clear();
  }
  return tl::unexpected(std::move(written.error()));
}

// The previous config's lines, sorted; with --fresh none is kept.
void plan_previous_lines(GenConfPlan& plan, bool fresh) {
  if (!plan.current) return;
  PreviousLines previous = sort_previous_lines(*plan.current, plan.spec.daemon);
  plan.dropped = std::move(previous.dropped);
  for (auto& k : previous.kept) {
    // The operator's leap-second line naming the file gen-conf would name is gen-conf's own.
    const auto space = k.text.find(' ');
    const std::string path = space == std::string::npos ? "" : k.text.substr(space + 1);
    if (fresh) {
      plan.dropped.push_back({k.line, k.text, kWhyFresh});
    } else if (k.leap && path == plan.spec.leapfile) {
      plan.dropped.push_back({k.line, k.text, kWhyOwn});
    } else {
      plan.kept.push_back(std::move(k));
    }
  }
  std::sort(plan.dropped.begin(), plan.dropped.end(),
            [](const DroppedLine& a, const DroppedLine& b) { return a.line < b.line; });
}

// The kept lines a lint finding of the rendered text points at move to the dropped ones;
// whether there was any.
bool drop_kept_lines_lint_refuses(GenConfPlan& plan, Daemon daemon) {
  if (plan.kept.empty()) return false;
  // The kept lines follow the heading, one a line.
  int heading = 0, number = 0;
  for (std::string_view rest = plan.text; !rest.empty();) {
    ++number;
    auto nl = rest.find('\n');
    if (rest.substr(0, nl).starts_with(kKeptHeading)) {
      heading = number;
      break;
    }
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  if (heading == 0) return false;
  std::vector<bool> refused(plan.kept.size(), false);
  std::vector<std::string> why(plan.kept.size());
  for (const auto& f : lint_config(plan.text, daemon)) {
    const int index = f.line - heading - 1;
    if (f.finding.severity == Severity::ok || index < 0 || index >= std::ssize(plan.kept)) continue;
    const auto at = static_cast<std::size_t>(index);
    refused[at] = true;
    why[at] = fmt::format("it breaks a pool rule ({})", f.finding.id);
  }
  std::vector<KeptLine> kept;
  bool any = false;
  for (std::size_t i = 0; i < plan.kept.size(); ++i) {
    if (refused[i]) {
      plan.dropped.push_back({plan.kept[i].line, plan.kept[i].text, why[i]});
      any = true;
    } else {
      kept.push_back(std::move(plan.kept[i]));
    }
  }
  plan.kept = std::move(kept);
  std::sort(plan.dropped.begin(), plan.dropped.end(),
            [](const DroppedLine& a, const DroppedLine& b) { return a.line < b.line; });
  return any;
}

}  // namespace

Result<GenConfPlan> plan_gen_conf(const SystemFacts& facts, const RootedFs& fs,
                                  const GenConfRequest& request) {
  auto spec = resolve_daemon_spec(facts, request.daemon, kManualConfig);
  if (!spec) return tl::unexpected(std::move(spec.error()));

  ConfigRequest config;
  config.spec = *spec;
  if (!request.upstreams.empty()) {
    config.servers = request.upstreams;
    config.origin = "given on the command line (--upstream)";
  } else if (request.selection) {
    auto servers = upstreams_from(*request.selection);
    if (!servers) return tl::unexpected(std::move(servers.error()));
    config.servers = std::move(*servers);
    config.origin = selection_origin(*request.selection) +
                    (request.selection_saved ? "" : " (not saved: a dry run)");
  } else {
    auto saved = load_selection(fs);
    if (!saved) return tl::unexpected(std::move(saved.error()));
    if (*saved) {
      auto servers = upstreams_from(**saved);
      if (!servers) return tl::unexpected(std::move(servers.error()));
      config.servers = std::move(*servers);
      config.origin = selection_origin(**saved);
    }
  }
  if (auto counted = check_upstream_count(config.servers, request.force); !counted) {
    return tl::unexpected(std::move(counted.error()));
  }
  // Under --root, detect's addresses are those of the machine running pooljoin, not the image's.
  if (fs.is_live()) {
    auto own =
        check_not_own_address(config.servers, facts.all_addresses(), request.upstreams.empty());
    if (!own) return tl::unexpected(std::move(own.error()));
  }

  GenConfPlan plan;
  plan.spec = *spec;
  plan.upstreams = config.servers;
  plan.origin = config.origin;
  plan.generated_at = request.generated_at;
  plan.target = request.target;
  const auto count = std::ssize(config.servers);
  if (count < kMinUpstreams || count > kMaxUpstreams) {
    plan.warnings.push_back(
        fmt::format("{} upstream servers, outside the pool's {} to {} (--force)", count,
                    kMinUpstreams, kMaxUpstreams));
  }
  const RootedFs host("/", fs.policy());
  switch (request.target) {
    case ConfigTarget::daemon_config:
      plan.path = spec->config_path;
      plan.shown = fs.host(plan.path).string();
      break;
    case ConfigTarget::file:
      plan.path = plan.shown = request.output;
      break;
    case ConfigTarget::standard_output:
      plan.path = plan.shown = "-";
      break;
  }
  if (plan.target != ConfigTarget::standard_output) {
    plan.current = target_fs(plan.target, fs, host).read(plan.path);
  }
  plan_previous_lines(plan, request.fresh);
  const bool own_leap =
      std::any_of(plan.kept.begin(), plan.kept.end(), [](const KeptLine& k) { return k.leap; });

  const std::string leap = leap_data_path(*spec);
  config.leapfile = !own_leap && !leap.empty() && fs.exists(leap);
  if (!own_leap && !leap.empty() && !config.leapfile) {
    plan.notes.push_back(
        fmt::format("{} does not exist under {}: no leap-second line", leap, fs.root().string()));
  }
  if (config.leapfile && reads_leap_list(*spec) && request.now) {
    const LeapList list = read_leap_list(fs, leap, *request.now);
    if (list.state != LeapListState::valid) {
      const Finding stale = leap_list_finding(list, to_string(spec->daemon), facts.package_manager);
      plan.warnings.push_back(fmt::format("{}; {}", stale.message, stale.fix));
    }
  }
  config.generated_at = request.generated_at;
  auto templates = templates_dir();
  if (!templates) return tl::unexpected(std::move(templates.error()));
  // Rendered until no kept line draws a lint finding: such a line is dropped, and said.
  for (;;) {
    config.kept.clear();
    for (const auto& k : plan.kept)
      config.kept.push_back(k.text);
    auto text = render_config(*templates, config);
    if (!text) return tl::unexpected(std::move(text.error()));
    plan.text = std::move(*text);
    if (!drop_kept_lines_lint_refuses(plan, spec->daemon)) break;
  }
  for (auto& note : dropped_notes(plan.dropped, plan.shown))
    plan.notes.push_back(std::move(note));
  for (const auto& k : plan.kept) {
    if (k.leap) {
      plan.notes.push_back(fmt::format(
          "the previous config's leap-second line (line {}) is kept instead of gen-conf's",
          k.line));
    }
  }

  // What pooljoin renders must pass its own lint; only --force may render a count outside 4..7.
  for (const auto& f : lint_config(plan.text, spec->daemon)) {
    if (f.finding.severity == Severity::ok) continue;
    if (f.finding.id == "lint.upstream-count" && request.force) continue;
    return fail(ExitCode::internal, "the rendered config breaks a pool rule", f.finding.message,
                "please report this");
  }
  if (plan.target == ConfigTarget::standard_output) return plan;

  // The same config but for the time in its header: the file stays as it is.
  if (plan.current && same_apart_from_generation_time(*plan.current, plan.text)) {
    plan.text = *plan.current;
  }
  if (plan.current) {
    plan.diff = unified_diff(*plan.current, plan.text, plan.shown, plan.shown + " (new)");
  }
  if (plan.target == ConfigTarget::daemon_config) {
    plan_dhcp_settings(fs, *spec, plan);
    if (!spec->vendor_config.empty()) {
      plan.notes.push_back(fmt::format(
          "{} is the administrator's override of {}, which the package owns: {} reads the "
          "override when it exists, and {} stays as shipped",
          spec->config_path, spec->vendor_config, daemon_program_name(spec->daemon),
          spec->vendor_config));
    }
  }
  return plan;
}

Result<GenConfOutcome> apply_gen_conf(const GenConfPlan& plan, Effects& effects, bool daemon_check,
                                      const StepEvents& events) {
  GenConfOutcome outcome;
  if (plan.target == ConfigTarget::standard_output) return outcome;
  const RootedFs host("/", effects.fs.policy());
  const RootedFs& fs = target_fs(plan.target, effects.fs, host);
  WriteOptions write;
  write.now = effects.clock.now();
  // The last safe point before the rename: after SIGINT or SIGTERM the write is abandoned (the
  // temp file removed, the old file as it was) and the run ends as interrupted.
  write.verify = [](const std::string&) -> Result<void> {
    if (interrupted()) return interruption("the write of the new config");
    return {};
  };
  if (plan.target == ConfigTarget::daemon_config && daemon_check) {
    const Daemon daemon = plan.spec.daemon;
    auto program = daemon_program(effects.fs, daemon);
    if (!program) {
      return fail(
          ExitCode::unavailable,
          fmt::format("{} is not installed, so it cannot check the new config", to_string(daemon)),
          fmt::format("no {} program under {}", daemon_program_name(daemon),
                      effects.fs.root().string()),
          "run `pooljoin install-ntp` first, or add --no-daemon-check to write a file "
          "checked by pooljoin's own rules only");
    }
    write.verify = [&effects, &events, &outcome, daemon, kept = plan.kept.size(),
                    program = *program](const std::string& candidate) -> Result<void> {
      events.on_detail(fmt::format("checking {} with {}", candidate, program));
      events.on_waiting(fmt::format("{} checks the new config", program));
      auto verdict = check_with_daemon(effects.fs, effects.runner, daemon, program, candidate);
      events.on_waiting("");
      // A signal while the daemon ran stopped it: its verdict, whatever it is, is not one.
      if (interrupted()) {
        return interruption(
            fmt::format("{}'s check of the new config", daemon_program_name(daemon)).c_str());
      }
      if (!verdict && verdict.error().code == ExitCode::check_failed && kept > 0) {
        // The operator's own lines, carried over, may name what this daemon lacks (a refclock
        // driver it was built without, a key file that is gone).
        verdict.error().fix = fmt::format(
            "the previous file is unchanged; {} line{} kept from it may be what the daemon "
            "refuses (see its words below): correct {}, or add --fresh to leave them out",
            kept, kept == 1 ? "" : "s", kept == 1 ? "it" : "them");
      }
      if (!verdict) return tl::unexpected(std::move(verdict.error()));
      outcome.daemon_check = std::move(*verdict);
      return {};
    };
  }
  auto written = fs.write_atomic(plan.path, plan.text, write);
  if (!written) return tl::unexpected(std::move(written.error()));
  outcome.changed = written->changed;
  outcome.backup = written->backup;
  if (plan.target == ConfigTarget::daemon_config) {
    if (auto settings = apply_settings(plan, fs, write, outcome); !settings)
      return tl::unexpected(std::move(settings.error()));
  }
  return outcome;
}

}  // namespace pooljoin
