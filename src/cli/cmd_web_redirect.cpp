#include "commands.hpp"
#include "generated_at.hpp"
#include "steps.hpp"
#include "views.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/detect.hpp"
#include "pooljoin/resources.hpp"
#include "pooljoin/web_redirect.hpp"

namespace pooljoin::cli {
namespace {

nlohmann::json to_json(const WebRedirectPlan& plan, const RootedFs& fs) {
  return {{"web_server", to_string(plan.server)},
          {"mode", plan.mode == RedirectMode::alias ? "alias" : "rewrite"},
          {"target", plan.target},
          {"path", fs.host(plan.path).string()},
          {"content", plan.content},
          {"commands", cli::to_json(plan.commands)},
          {"check", plan.check ? nlohmann::json(plan.check->argv) : nlohmann::json(nullptr)},
          {"disables", plan.disables},
          {"notes", plan.notes}};
}

}  // namespace

int run_web_redirect(Context& ctx, const WebRedirectOptions& options) {
  WebRedirectRequest request;
  request.mode = options.mode == "rewrite" ? RedirectMode::rewrite : RedirectMode::alias;
  request.target = value_or_throw(parse_redirect_target(options.target, request.mode));
  if (options.server != "auto")
    request.server = options.server == "nginx" ? WebServer::nginx : WebServer::apache;
  require_root(ctx, "web-redirect");
  request.generated_at = generated_at();

  SystemFacts facts = detect(ctx.fs, ctx.query_runner);
  const auto templates = value_or_throw(templates_dir());
  WebRedirectPlan plan = value_or_throw(plan_web_redirect(facts, ctx.fs, templates, request));
  if (request.mode == RedirectMode::rewrite && plan.server == WebServer::nginx) {
    ctx.console.note(
        "note: nginx always sends every request to the target itself (--mode "
        "only chooses between Apache's modules)");
  }
  for (const auto& note : plan.notes)
    ctx.console.note("note: " + note);
  const std::string path = ctx.fs.host(plan.path).string();

  if (ctx.options.dry_run) {
    if (ctx.console.json()) {
      ctx.console.emit_json(to_json(plan, ctx.fs));
      return to_int(ExitCode::ok);
    }
    std::string out = fmt::format("# {}:\n{}", path, plan.content);
    for (const auto& command : plan.commands)
      out += display(command) + '\n';
    if (plan.check) out += display(*plan.check) + '\n';
    ctx.console.print(out);
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
  WebRedirectOutcome outcome =
      value_or_throw(apply_web_redirect(plan, ctx.fs, ctx.change_runner, [&](const Command& c) {
        ctx.console.note(ctx.console.paint_err(Console::Style::dim, "$ " + display(c)));
      }));
  if (ctx.console.json()) {
    auto doc = to_json(plan, ctx.fs);
    doc["changed"] = outcome.written.changed;
    doc["backup"] = outcome.written.backup.empty()
                        ? nlohmann::json(nullptr)
                        : nlohmann::json(ctx.fs.host(outcome.written.backup).string());
    doc["checked"] = outcome.checked;
    ctx.console.emit_json(doc);
    return to_int(ExitCode::ok);
  }
  std::string out =
      fmt::format("wrote {}: HTTP requests to this server go to {}\n", path, plan.target);
  if (!outcome.written.changed)
    out = fmt::format("{} already redirects to {}\n", path, plan.target);
  if (!outcome.written.backup.empty()) {
    out += fmt::format("previous file kept as {}\n", ctx.fs.host(outcome.written.backup).string());
  }
  if (plan.check) out += fmt::format("checked: `{}` accepts it\n", display(*plan.check));
  ctx.console.print(out);
  ctx.console.note(fmt::format("next: reload {} to serve it",
                               plan.server == WebServer::nginx ? "nginx" : "Apache"));
  return to_int(ExitCode::ok);
}

Action add_web_redirect(CLI::App& sub) {
  auto options = std::make_shared<WebRedirectOptions>();
  sub.add_option("--web-server", options->server,
                 "Which web server: auto (the one installed), nginx or apache")
      ->check(CLI::IsMember({"auto", "nginx", "apache"}));
  sub.add_option("--mode", options->mode,
                 "Apache's module: alias (Redirect permanent /) or rewrite (RewriteRule)")
      ->check(CLI::IsMember({"alias", "rewrite"}));
  sub.add_option("--target", options->target, "Where HTTP requests go")->type_name("URL");
  return [options](Context& ctx) { return run_web_redirect(ctx, *options); };
}

}  // namespace pooljoin::cli
