#include "commands.hpp"
#include "steps.hpp"
#include "ticker.hpp"
#include "views.hpp"
#include <fmt/format.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/install.hpp"

namespace pooljoin::cli {
namespace {}  // namespace

int run_install_ntp(Context& ctx, const InstallOptions& options) {
  require_root(ctx, "install-ntp");
  SystemFacts facts = detect(ctx.fs, ctx.query_runner);
  InstallRequest request;
  if (options.daemon != "auto") request.daemon = parse_daemon(options.daemon);
  request.lock_timeout_seconds = options.lock_timeout;
  InstallPlan plan = value_or_throw(plan_install(facts, ctx.fs, request));
  const std::string daemon(to_string(plan.spec.daemon));

  for (const auto& note : plan.notes)
    ctx.console.note("note: " + note);
  if (plan.already_installed) {
    if (ctx.console.json()) ctx.console.emit_json(to_json(plan));
    ctx.console.note(fmt::format("{} is already installed (package {}); nothing to do", daemon,
                                 plan.spec.package));
    return to_int(ExitCode::ok);
  }
  if (!plan.removes.empty()) {
    std::string removed;
    for (const auto& name : plan.removes)
      removed += (removed.empty() ? "" : ", ") + name;
    ctx.console.warn(fmt::format("installing {} makes {} remove {}, which is installed",
                                 plan.spec.package, facts.package_manager, removed));
    if (!ctx.options.dry_run &&
        !ctx.prompter.confirm(
            fmt::format("Replace {} with {}?", removed, daemon), false,
            "re-run with --yes to accept the replacement, or choose it with --daemon")) {
      throw Fatal(ExitCode::usage, "installation declined", {}, "nothing was changed");
    }
  }

  if (ctx.options.dry_run) {
    if (ctx.console.json()) {
      ctx.console.emit_json(to_json(plan));
    } else {
      std::string lines;
      for (const auto& command : plan.commands)
        lines += display(command) + '\n';
      ctx.console.print(lines);
    }
    return to_int(ExitCode::ok);
  }

  Ticker ticker(ctx.console);
  value_or_throw(apply_install(plan, ctx.change_runner, [&](const Command& command) {
    ticker.stop();
    ctx.console.note(ctx.console.paint_err(Console::Style::dim, "$ " + display(command)));
    ticker.start(command.argv.size() > 2
                     ? command.argv[command.argv.size() - 2] + " " + command.argv.back()
                     : display(command));
  }));
  ticker.stop();
  // Trust what is on disk afterwards, not the package manager's exit status alone.
  if (!has_program(ctx.fs, plan.spec.daemon == Daemon::chrony ? "chronyd" : "ntpd")) {
    throw Fatal(ExitCode::unavailable, fmt::format("{} was not installed", plan.spec.package),
                "the package manager succeeded but the daemon's program is missing",
                "install it by hand and run `pooljoin detect` to check");
  }
  if (ctx.console.json()) ctx.console.emit_json(to_json(plan));
  ctx.console.note(fmt::format("{} installed", plan.spec.package));
  return to_int(ExitCode::ok);
}

Action add_install_ntp(CLI::App& sub) {
  auto options = std::make_shared<InstallOptions>();
  sub.add_option("--daemon", options->daemon,
                 "Which daemon: auto (keep an installed one, else the "
                 "distribution's ntpd), ntpsec, ntp or chrony")
      ->check(CLI::IsMember({"auto", "ntpsec", "ntp", "chrony"}));
  sub.add_option("--lock-timeout", options->lock_timeout,
                 "Seconds to wait for another package manager run to finish")
      ->check(CLI::Range(0, 3600));
  return [options](Context& ctx) { return run_install_ntp(ctx, *options); };
}

}  // namespace pooljoin::cli
