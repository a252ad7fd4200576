// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "join_driver.hpp"
#include "steps.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/install.hpp"

namespace pooljoin::cli {

nlohmann::json to_json(const InstallPlan& plan) {
  return {{"daemon", to_string(plan.spec.daemon)},
          {"package", plan.spec.package},
          {"service", plan.spec.service},
          {"config_path", plan.spec.config_path},
          {"already_installed", plan.already_installed},
          {"commands", to_json(plan.commands)},
          {"removes", plan.removes},
          {"notes", plan.notes}};
}

bool confirm_replacement(const Context& ctx, const InstallPlan& plan, const SystemFacts& facts) {
  if (plan.removes.empty()) return true;
  const std::string removed = fmt::format("{}", fmt::join(plan.removes, ", "));
  ctx.console.warn(fmt::format("installing {} makes {} remove {}, which is installed",
                               plan.spec.package, facts.package_manager, removed));
  return ctx.options.dry_run ||
         ctx.prompter.confirm(
             fmt::format("Replace {} with {}?", removed, to_string(plan.spec.daemon)), false,
             "re-run with --yes to accept the replacement, or choose it with --daemon");
}

int run_install_ntp(Context& ctx, const InstallOptions& options) {
  begin_change(ctx, "install-ntp");
  const SystemFacts facts = detect(ctx.fs, ctx.effects.runner);
  show_facts(ctx, facts);
  InstallRequest request{options.daemon, ctx.options.lock_timeout};
  InstallPlan plan = value_or_throw(plan_install(facts, ctx.fs, request));
  const std::string daemon(to_string(plan.spec.daemon));

  print_notes(ctx.console, plan.notes);
  if (plan.already_installed) {
    if (ctx.console.json()) ctx.console.emit_json(to_json(plan));
    ctx.console.print(fmt::format("{} is already installed (package {}); nothing to do", daemon,
                                  plan.spec.package));
    return to_int(ExitCode::ok);
  }
  if (!confirm_replacement(ctx, plan, facts)) {
    throw Fatal(ExitCode::usage, "installation declined", {}, "nothing was changed");
  }

  if (ctx.options.dry_run) {
    if (ctx.console.json()) {
      ctx.console.emit_json(to_json(plan));
    } else {
      ctx.console.print(ctx.console.quiet() ? fmt::format("would install {}", plan.spec.package)
                                            : command_lines(plan.commands));
    }
    return to_int(ExitCode::ok);
  }

  ConsoleEvents events(ctx.console);
  value_or_throw(apply_install(plan, ctx.effects, events.events()));
  if (ctx.console.json()) ctx.console.emit_json(to_json(plan));
  ctx.console.print(fmt::format("{} installed", plan.spec.package));
  return to_int(ExitCode::ok);
}

Action add_install_ntp(CLI::App& sub) {
  auto options = std::make_shared<InstallOptions>();
  add_daemon_option(sub, options->daemon,
                    "Which daemon: auto (keep an installed one, else pooljoin's pick for the "
                    "distribution: ntpsec on Fedora, whose own default is chrony), ntpsec, ntp "
                    "or chrony");
  return [options](Context& ctx) { return run_install_ntp(ctx, *options); };
}

// install-ntp in join: the daemon asked for (or asked about), installed unless it is; what
// is installed now is handed on.
StepOutcome join_install(JoinRun& j) {
  std::optional<Daemon> daemon =
      j.options.install.daemon ? j.options.install.daemon : j.driver.ask_daemon(j.facts);
  if (daemon) j.resume_with("--daemon", std::string(to_string(*daemon)));
  const InstallPlan plan =
      value_or_throw(plan_install(j.facts, j.ctx.fs, {daemon, j.ctx.options.lock_timeout}));
  j.spec = plan.spec;
  print_notes(j.ctx.console, plan.notes);
  const std::string daemon_name(to_string(j.spec.daemon));
  if (plan.already_installed) {
    return {"unchanged", daemon_name + " is already installed", to_json(plan)};
  }
  j.installed_now = true;
  if (j.dry) {
    j.driver.show(j.ctx.console.quiet() ? fmt::format("would install {}\n", plan.spec.package)
                                        : command_lines(plan.commands));
    return {"planned", "would install " + plan.spec.package, to_json(plan)};
  }
  if (plan.removes.empty()) {
    j.driver.confirm(fmt::format("Install {} with {}?", plan.spec.package, j.facts.package_manager),
                     command_lines(plan.commands));
  } else if (!confirm_replacement(j.ctx, plan, j.facts)) {
    throw Stop{to_int(ExitCode::usage), "declined: replacing " + plan.removes.front(), true};
  }
  ConsoleEvents events(j.ctx.console);
  value_or_throw(apply_install(plan, j.ctx.effects, events.events()));
  j.refresh_daemons();
  return {"done", "installed " + plan.spec.package, to_json(plan)};
}

}  // namespace pooljoin::cli
