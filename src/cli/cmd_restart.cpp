// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "join_driver.hpp"
#include "steps.hpp"
#include <fmt/format.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/loopback_probe.hpp"
#include "pooljoin/restart.hpp"

namespace pooljoin::cli {
namespace {

nlohmann::json to_json(const RestartAttempt& attempt) {
  nlohmann::json answer = nullptr;
  if (attempt.answer) {
    answer = {{"leap", attempt.answer->leap},
              {"stratum", attempt.answer->stratum},
              {"refid", attempt.answer->refid},
              {"synchronised", attempt.answer->synchronised()},
              {"rtt_ms", attempt.answer->rtt.count()}};
  }
  return {{"ok", attempt.ok()},
          {"failure", attempt.failure},
          {"waited_ms", attempt.waited.count()},
          {"answer", answer}};
}

std::string describe(const RestartAttempt& attempt, const std::string& daemon) {
  if (!attempt.ok()) return attempt.failure;
  return fmt::format("{} answers on 127.0.0.1:123 after {:.1f} s: {}", daemon,
                     static_cast<double>(attempt.waited.count()) / 1000.0,
                     attempt.answer->describe());
}

}  // namespace

nlohmann::json to_json(const RestartPlan& plan) {
  return {{"daemon", to_string(plan.spec.daemon)},
          {"service", plan.spec.service},
          {"config_path", plan.spec.config_path},
          {"init_system", to_string(plan.init)},
          {"live", plan.live},
          {"conflicting", plan.conflicting},
          {"commands", to_json(plan.commands())},
          {"answer_timeout_s", plan.answer_timeout.count()},
          {"notes", plan.notes}};
}

void add_outcome(nlohmann::json& doc, const RestartPlan& plan, const RestartOutcome& outcome) {
  doc["warnings"] = outcome.warnings;
  doc["first"] = plan.live ? to_json(outcome.first) : nlohmann::json(nullptr);
  doc["rollback"] = nullptr;
  if (!outcome.ok() && plan.live) {
    doc["rollback"] = {{"done", outcome.after_rollback.has_value()},
                       {"reason_not_done", outcome.no_rollback_reason},
                       {"restored_from", outcome.restored_from},
                       {"failed_config", outcome.failed_config},
                       {"after", outcome.after_rollback ? to_json(*outcome.after_rollback)
                                                        : nlohmann::json(nullptr)}};
  }
}

// The plan as a dry run shows it: the commands (on stderr, a note says what apply verifies).
std::string render_plan(const RestartPlan& plan, const Context& ctx) {
  if (ctx.console.quiet()) return fmt::format("would restart {}\n", plan.spec.service);
  if (plan.live) {
    ctx.console.note(fmt::format(
        "then: {} must answer on 127.0.0.1:123 within {} s; if it does not, the newest backup of "
        "{} is restored and {} restarted on it",
        to_string(plan.spec.daemon), plan.answer_timeout.count(), plan.spec.config_path,
        plan.spec.service));
  }
  return command_lines(plan.commands());
}

// Says what the plan does to the other time services (notes, on stderr).
void note_conflicting(const RestartPlan& plan, const Context& ctx) {
  print_notes(ctx.console, plan.notes);
  for (const auto& other : plan.conflicting) {
    ctx.console.note(fmt::format("{} conflicts with {} on UDP port 123: it is {}", other,
                                 to_string(plan.spec.daemon),
                                 plan.live ? "stopped and disabled" : "disabled"));
  }
}

std::string render(const RestartPlan& plan, const RestartOutcome& outcome, const Context& ctx) {
  const std::string daemon(to_string(plan.spec.daemon));
  if (!plan.live) {
    return fmt::format("{} enabled at boot in {}\n", plan.spec.service, ctx.fs.root().string());
  }
  if (outcome.ok()) return describe(outcome.first, daemon) + "\n";
  // Both outcomes, plainly: what failed, what was done about it, and where things stand now.
  std::string report =
      fmt::format("{} did not come up on the new config: {}\n", daemon, outcome.first.failure);
  if (!outcome.after_rollback) {
    report += fmt::format("no rollback: {}\n", outcome.no_rollback_reason);
    return report;
  }
  report += fmt::format("rolled back: {} restored from {}; the config that failed is kept as {}\n",
                        ctx.fs.host(plan.spec.config_path).string(),
                        ctx.fs.host(outcome.restored_from).string(),
                        ctx.fs.host(outcome.failed_config).string());
  if (outcome.after_rollback->ok()) {
    report += fmt::format("after the rollback: {}\n", describe(*outcome.after_rollback, daemon));
  } else {
    report += fmt::format("after the rollback, {} still failed: {}\n", daemon,
                          outcome.after_rollback->failure);
  }
  return report;
}

RestartOutcome apply_shown(Context& ctx, const RestartPlan& plan) {
  RestartOutcome outcome = [&] {
    ConsoleEvents events(ctx.console);
    return value_or_throw(apply_restart(plan, ctx.effects, events.events()));
  }();
  for (const auto& warning : outcome.warnings)
    ctx.console.warn(warning);
  if (!plan.live && !outcome.warnings.empty()) {
    // In an image, enabling is the whole step.
    throw Fatal(ExitCode::unavailable,
                fmt::format("cannot enable {} in {}", plan.spec.service, ctx.fs.root().string()),
                outcome.warnings.front(), "enable it from inside the image");
  }
  return outcome;
}

int run_restart(Context& ctx, const RestartOptions& options) {
  begin_change(ctx, "restart");
  const SystemFacts facts = detect(ctx.fs, ctx.effects.runner);
  show_facts(ctx, facts);
  const RestartPlan plan = value_or_throw(plan_restart(facts, ctx.fs, restart_request(options)));
  note_conflicting(plan, ctx);
  if (ctx.options.dry_run) {
    if (ctx.console.json()) {
      ctx.console.emit_json(to_json(plan));
    } else {
      ctx.console.print(render_plan(plan, ctx));
    }
    return to_int(ExitCode::ok);
  }

  const RestartOutcome outcome = apply_shown(ctx, plan);
  if (ctx.console.json()) {
    auto doc = to_json(plan);
    add_outcome(doc, plan, outcome);
    ctx.console.emit_json(doc);
  } else {
    ctx.console.print(render(plan, outcome, ctx));
  }
  if (plan.live && !outcome.ok()) {
    ctx.console.error(
        {ExitCode::check_failed,
         fmt::format("{} did not come up on the new config", to_string(plan.spec.daemon)),
         outcome.first.failure,
         {}});
    return to_int(ExitCode::check_failed);
  }
  return to_int(ExitCode::ok);
}

Action add_restart(CLI::App& sub) {
  auto options = std::make_shared<RestartOptions>();
  add_daemon_option(sub, options->daemon,
                    "Which daemon: auto (the detected one), ntpsec, ntp or chrony");
  add_restart_options(sub, *options);
  return [options](Context& ctx) { return run_restart(ctx, *options); };
}

// How long the daemon has to answer before join decides that a restart is due anyway.
constexpr auto kAnswerProbe = std::chrono::milliseconds(1500);

// restart in join: not redone when nothing changed and the daemon already answers (or, in an
// image, an earlier run enabled it).
StepOutcome join_restart(JoinRun& j) {
  RestartRequest request = restart_request(j.options.restart);
  request.daemon = j.spec.daemon;
  request.package_pending = j.dry && j.installed_now;
  const RestartPlan plan = value_or_throw(plan_restart(j.facts, j.ctx.fs, request));
  nlohmann::json doc = to_json(plan);
  j.driver.keep(doc);
  const bool pending = j.driver.state().restart_pending || j.config_changed;
  if (!j.dry && !pending) {
    if (plan.live && query_loopback(j.ctx.effects.ntp, kAnswerProbe)) {
      return {"unchanged", j.spec.service + " runs its current config and answers on 127.0.0.1",
              doc};
    }
    auto earlier = j.driver.state().steps.find("restart");
    if (!plan.live && earlier != j.driver.state().steps.end() && earlier->second.status == "done") {
      return {"unchanged", j.spec.service + " was enabled at boot by an earlier run", doc};
    }
  }
  note_conflicting(plan, j.ctx);
  const std::string what = plan.live ? "restart " + j.spec.service
                                     : "enable " + j.spec.service + " at boot in the image";
  if (j.dry) {
    j.driver.show(render_plan(plan, j.ctx));
    return {"planned", "would " + what + (j.installed_now ? " once installed" : ""), doc};
  }
  j.driver.confirm(
      plan.live ? fmt::format("Restart {} now?", j.spec.service)
                : fmt::format("Enable {} at boot in {}?", j.spec.service, j.ctx.fs.root().string()),
      j.ctx.prompter.interactive() ? render_plan(plan, j.ctx) : "");
  const RestartOutcome outcome = apply_shown(j.ctx, plan);
  add_outcome(doc, plan, outcome);
  j.driver.keep(doc);
  j.driver.show(render(plan, outcome, j.ctx));
  if (!outcome.ok()) {
    throw Stop{to_int(ExitCode::check_failed),
               fmt::format("{} did not come up on the new config: {}", to_string(j.spec.daemon),
                           outcome.first.failure)};
  }
  j.driver.state().restart_pending = false;
  j.refresh_daemons();
  return {"done",
          plan.live ? j.spec.service + " restarted and answering"
                    : j.spec.service + " enabled at boot in the image; it starts when it boots",
          doc};
}

}  // namespace pooljoin::cli
