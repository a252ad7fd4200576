// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "generated_at.hpp"
#include "join_driver.hpp"
#include "steps.hpp"
#include <fmt/format.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/resources.hpp"
#include "pooljoin/web_redirect.hpp"

namespace pooljoin::cli {

nlohmann::json to_json(const WebRedirectPlan& plan, const Context& ctx) {
  return {{"web_server", to_string(plan.server)},
          {"mode", plan.mode == RedirectMode::alias ? "alias" : "rewrite"},
          {"target", plan.target},
          {"path", ctx.fs.host(plan.path).string()},
          {"content", plan.content},
          {"commands", to_json(plan.commands)},
          {"check", plan.check ? nlohmann::json(plan.check->argv) : nlohmann::json(nullptr)},
          {"disables", plan.disables},
          {"notes", plan.notes}};
}

void add_outcome(nlohmann::json& doc, const WebRedirectOutcome& outcome, const Context& ctx) {
  doc["changed"] = outcome.written.changed;
  doc["backup"] = outcome.written.backup.empty()
                      ? nlohmann::json(nullptr)
                      : nlohmann::json(ctx.fs.host(outcome.written.backup).string());
  doc["checked"] = outcome.checked;
}

std::string render_plan(const WebRedirectPlan& plan, const Context& ctx) {
  const std::string path = ctx.fs.host(plan.path).string();
  if (ctx.console.quiet()) return fmt::format("would write {}\n", path);
  std::string out = fmt::format("# {}:\n{}", path, plan.content);
  out += command_lines(plan.commands);
  if (plan.check) out += display(*plan.check) + '\n';
  return out;
}

std::string render(const WebRedirectPlan& plan, const WebRedirectOutcome& outcome,
                   const Context& ctx) {
  const std::string path = ctx.fs.host(plan.path).string();
  if (!outcome.written.changed)
    return fmt::format("{} already redirects to {}\n", path, plan.target);
  std::string out =
      fmt::format("wrote {}: HTTP requests to this server go to {}\n", path, plan.target);
  if (ctx.console.quiet()) return out;
  if (!outcome.written.backup.empty()) {
    out += fmt::format("previous file kept as {}\n", ctx.fs.host(outcome.written.backup).string());
  }
  if (plan.check) out += fmt::format("checked: `{}` accepts it\n", display(*plan.check));
  return out;
}

WebRedirectRequest web_redirect_request(const Context& ctx, const WebRedirectOptions& options) {
  WebRedirectRequest request;
  request.mode = options.mode;
  request.target = value_or_throw(parse_redirect_target(options.target, request.mode));
  request.server = options.server;
  request.generated_at = generated_at(ctx.effects.clock.now());
  return request;
}

void note_plan(const WebRedirectPlan& plan, const Context& ctx) {
  if (plan.mode == RedirectMode::rewrite && plan.server == WebServer::nginx) {
    ctx.console.note(
        "note: nginx always sends every request to the target itself (--mode "
        "only chooses between Apache's modules)");
  }
  print_notes(ctx.console, plan.notes);
}

WebRedirectOutcome apply_shown(Context& ctx, const WebRedirectPlan& plan) {
  ConsoleEvents events(ctx.console);
  return value_or_throw(apply_web_redirect(plan, ctx.effects, events.events()));
}

namespace {

int run_web_redirect(Context& ctx, const WebRedirectOptions& options) {
  const WebRedirectRequest request = web_redirect_request(ctx, options);
  begin_change(ctx, "web-redirect");
  const SystemFacts facts = detect(ctx.fs, ctx.effects.runner);
  show_facts(ctx, facts);
  const auto templates = value_or_throw(templates_dir());
  const WebRedirectPlan plan = value_or_throw(plan_web_redirect(facts, ctx.fs, templates, request));
  note_plan(plan, ctx);

  if (ctx.options.dry_run) {
    if (ctx.console.json()) {
      ctx.console.emit_json(to_json(plan, ctx));
      return to_int(ExitCode::ok);
    }
    ctx.console.print(render_plan(plan, ctx));
    for (const auto& site : plan.disables)
      ctx.console.note(fmt::format("note: disables the stock site {}", site));
    return to_int(ExitCode::ok);
  }

  for (const auto& site : plan.disables) {
    ctx.console.warn(
        fmt::format("the stock site {} would answer some requests instead of the redirect", site));
    if (!ctx.prompter.confirm(
            fmt::format("Disable {}?", site), true,
            "re-run with --yes to disable it (it is re-enabled if the check fails)")) {
      throw Fatal(ExitCode::usage, "disabling the stock site declined", {},
                  "nothing was changed; disable it yourself or keep it");
    }
  }
  const WebRedirectOutcome outcome = apply_shown(ctx, plan);
  if (ctx.console.json()) {
    auto doc = to_json(plan, ctx);
    add_outcome(doc, outcome, ctx);
    ctx.console.emit_json(doc);
    return to_int(ExitCode::ok);
  }
  ctx.console.print(render(plan, outcome, ctx));
  ctx.console.note(fmt::format("next: reload {} to serve it",
                               plan.server == WebServer::nginx ? "nginx" : "Apache"));
  return to_int(ExitCode::ok);
}

}  // namespace

Action add_web_redirect(CLI::App& sub) {
  auto options = std::make_shared<WebRedirectOptions>();
  add_web_redirect_options(sub, *options);
  return [options](Context& ctx) { return run_web_redirect(ctx, *options); };
}

// web-redirect in join: only when asked for (--web-redirect, or yes at a terminal).
StepOutcome join_web_redirect(JoinRun& j) {
  const bool installed = web_server_installed(j.ctx.fs);
  bool wanted = j.options.web_redirect;
  if (!wanted && installed && !j.dry && j.ctx.prompter.interactive()) {
    wanted = j.ctx.prompter.confirm(
        "A web server is installed: redirect its HTTP requests to the pool's site?", false, "");
  }
  if (!wanted) {
    return {"skipped",
            installed ? "not asked for (--web-redirect adds it)" : "no web server installed",
            {}};
  }
  j.resume_with("--web-redirect");
  const WebRedirectPlan plan =
      value_or_throw(plan_web_redirect(j.facts, j.ctx.fs, value_or_throw(templates_dir()),
                                       web_redirect_request(j.ctx, j.options.redirect)));
  nlohmann::json doc = to_json(plan, j.ctx);
  j.driver.keep(doc);
  note_plan(plan, j.ctx);
  if (j.dry) {
    j.driver.show(render_plan(plan, j.ctx));
    return {"planned", "would redirect HTTP to the pool's site", doc};
  }
  for (const auto& site : plan.disables)
    j.driver.confirm(fmt::format("Disable the stock site {}?", site), "");
  const WebRedirectOutcome outcome = apply_shown(j.ctx, plan);
  add_outcome(doc, outcome, j.ctx);
  j.driver.show(render(plan, outcome, j.ctx));
  return {outcome.written.changed ? "done" : "unchanged", "HTTP redirects to the pool's site", doc};
}

}  // namespace pooljoin::cli
