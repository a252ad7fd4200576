#include "commands.hpp"
#include "steps.hpp"
#include "ticker.hpp"
#include "views.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/detect.hpp"
#include "pooljoin/loopback_probe.hpp"
#include "pooljoin/restart.hpp"

namespace pooljoin::cli {
namespace {

std::optional<InitSystem> parse_init(const std::string& name) {
  for (InitSystem init :
       {InitSystem::systemd, InitSystem::sysvinit, InitSystem::openrc, InitSystem::runit}) {
    if (name == to_string(init)) return init;
  }
  return std::nullopt;
}

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

nlohmann::json to_json(const RestartPlan& plan) {
  return {{"daemon", to_string(plan.spec.daemon)},
          {"service", plan.spec.service},
          {"config_path", plan.spec.config_path},
          {"init_system", to_string(plan.init)},
          {"live", plan.live},
          {"conflicting", plan.conflicting},
          {"commands", cli::to_json(plan.commands())},
          {"answer_timeout_s", plan.answer_timeout.count()},
          {"notes", plan.notes}};
}

std::string describe(const RestartAttempt& attempt, const std::string& daemon) {
  if (!attempt.ok()) return attempt.failure;
  return fmt::format("{} answers on 127.0.0.1:123 after {:.1f} s: {}", daemon,
                     static_cast<double>(attempt.waited.count()) / 1000.0,
                     attempt.answer->describe());
}

}  // namespace

int run_restart(Context& ctx, const RestartOptions& options) {
  require_root(ctx, "restart");
  SystemFacts facts = detect(ctx.fs, ctx.query_runner);
  RestartRequest request;
  if (options.daemon != "auto") request.daemon = parse_daemon(options.daemon);
  if (options.init != "auto") request.init = parse_init(options.init);
  auto asked = duration_of(options.timeout, "--timeout");
  // Whole seconds, rounded up: the daemon never gets less than asked for.
  request.answer_timeout = std::chrono::ceil<std::chrono::seconds>(asked);
  RestartPlan plan = value_or_throw(plan_restart(facts, ctx.fs, request));
  const std::string daemon(to_string(plan.spec.daemon));

  for (const auto& note : plan.notes)
    ctx.console.note("note: " + note);
  for (const auto& other : plan.conflicting) {
    ctx.console.note(fmt::format("{} conflicts with {} on UDP port 123: it is {}", other, daemon,
                                 plan.live ? "stopped and disabled" : "disabled"));
  }
  if (ctx.options.dry_run) {
    if (ctx.console.json()) {
      ctx.console.emit_json(to_json(plan));
    } else {
      std::string lines;
      for (const auto& command : plan.commands())
        lines += display(command) + '\n';
      ctx.console.print(lines);
      if (plan.live) {
        ctx.console.note(fmt::format(
            "then: {} must answer on 127.0.0.1:123 within {} s; if it does not, the newest "
            "backup of {} is restored and {} restarted on it",
            daemon, plan.answer_timeout.count(), plan.spec.config_path, plan.spec.service));
      }
    }
    return to_int(ExitCode::ok);
  }

  Ticker ticker(ctx.console);
  RestartOutcome outcome = apply_restart(
      plan, ctx.fs, ctx.change_runner,
      [&](std::chrono::milliseconds timeout) {
        ticker.start(fmt::format("waiting for {} to answer on 127.0.0.1", daemon));
        auto answer = query_loopback(timeout);
        ticker.stop();
        return answer;
      },
      [&](const Command& command) {
        ticker.stop();
        ctx.console.note(ctx.console.paint_err(Console::Style::dim, "$ " + display(command)));
        ticker.start(display(command));
      });
  ticker.stop();
  for (const auto& warning : outcome.warnings)
    ctx.console.warn(warning);
  if (!plan.live && !outcome.warnings.empty()) {
    // In an image, enabling is the whole step.
    throw Fatal(ExitCode::unavailable,
                fmt::format("cannot enable {} in {}", plan.spec.service, ctx.fs.root().string()),
                outcome.warnings.front(), "enable it from inside the image");
  }

  if (ctx.console.json()) {
    auto doc = to_json(plan);
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
    ctx.console.emit_json(doc);
  }
  if (!plan.live) {
    ctx.console.print(
        fmt::format("{} enabled at boot in {}\n", plan.spec.service, ctx.fs.root().string()));
    return to_int(ExitCode::ok);
  }
  if (outcome.ok()) {
    ctx.console.print(describe(outcome.first, daemon) + "\n");
    return to_int(ExitCode::ok);
  }

  // Both outcomes, plainly: what failed, what was done about it, and where things stand now.
  ctx.console.error({ExitCode::check_failed,
                     fmt::format("{} did not come up on the new config", daemon),
                     outcome.first.failure,
                     {}});
  std::string report;
  if (!outcome.after_rollback) {
    report += fmt::format("no rollback: {}\n", outcome.no_rollback_reason);
  } else {
    report += fmt::format(
        "rolled back: {} restored from {}; the config that failed is kept as {}\n",
        ctx.fs.host(plan.spec.config_path).string(), ctx.fs.host(outcome.restored_from).string(),
        ctx.fs.host(outcome.failed_config).string());
    if (outcome.after_rollback->ok()) {
      report += fmt::format("after the rollback: {}\n", describe(*outcome.after_rollback, daemon));
    } else {
      report += fmt::format("after the rollback, {} still failed: {}\n", daemon,
                            outcome.after_rollback->failure);
    }
  }
  ctx.console.print(report);
  return to_int(ExitCode::check_failed);
}

Action add_restart(CLI::App& sub) {
  auto options = std::make_shared<RestartOptions>();
  sub.add_option("--daemon", options->daemon,
                 "Which daemon: auto (the detected one), ntpsec, ntp or chrony")
      ->check(CLI::IsMember({"auto", "ntpsec", "ntp", "chrony"}));
  sub.add_option("--init", options->init,
                 "The init system: auto (detected), systemd, sysvinit, openrc or runit")
      ->check(CLI::IsMember({"auto", "systemd", "sysvinit", "openrc", "runit"}));
  sub.add_option("--timeout", options->timeout,
                 "How long the restarted daemon has to answer on 127.0.0.1:123 (1s to 10m)")
      ->type_name("DURATION")
      ->check(duration_validator(std::chrono::seconds(1), std::chrono::minutes(10)));
  return [options](Context& ctx) { return run_restart(ctx, *options); };
}

}  // namespace pooljoin::cli
