// `pooljoin join`: the guide end to end, composed of the steps' own plan and apply calls. The
// facts are gathered once and each step's outcome is handed to the next in memory (the daemons
// installed, the servers selected, whether the config changed); what is done and verified is
// left as it is. JoinDriver records, asks and reports.
#include "commands.hpp"
#include "generated_at.hpp"
#include "join_driver.hpp"
#include "steps.hpp"
#include <fmt/format.h>

#include "pooljoin/duration.hpp"
#include "pooljoin/loopback_probe.hpp"
#include "pooljoin/resources.hpp"

namespace pooljoin::cli {
namespace {

// How long the daemon has to answer before join decides that a restart is due anyway.
constexpr auto kAnswerProbe = std::chrono::milliseconds(1500);

class Join {
 public:
  Join(Context& ctx, const JoinOptions& options) : ctx_(ctx), o_(options), run_(ctx) {}
  int run();

 private:
  StepOutcome install();
  StepOutcome resolve();
  StepOutcome gen_conf();
  StepOutcome restart();
  StepOutcome firewall();
  StepOutcome check();
  StepOutcome web_redirect();
  StepOutcome submit();
  void resume_with(const std::string& option, const std::string& value = {});

  Context& ctx_;
  const JoinOptions& o_;
  JoinDriver run_;
  const bool dry_ = run_.dry();
  // Handed from step to step.
  SystemFacts facts_;  // gathered once; install-ntp's outcome updates the daemons installed
  DaemonSpec spec_{};
  bool installed_now_ = false;  // the daemon was (in a dry run: would be) installed by this run
  std::optional<Selection> selection_;
  bool config_changed_ = false;
};

void Join::resume_with(const std::string& option, const std::string& value) {
  run_.resume_words().push_back(option);
  if (!value.empty()) run_.resume_words().push_back(value);
}

StepOutcome Join::install() {
  std::optional<Daemon> daemon = o_.install.daemon ? o_.install.daemon : run_.ask_daemon(facts_);
  if (daemon) resume_with("--daemon", std::string(to_string(*daemon)));
  const InstallPlan plan =
      value_or_throw(plan_install(facts_, ctx_.fs, {daemon, o_.install.lock_timeout}));
  spec_ = plan.spec;
  print_notes(ctx_.console, plan.notes);
  const std::string daemon_name(to_string(spec_.daemon));
  if (plan.already_installed) {
    return {"unchanged", daemon_name + " is already installed", to_json(plan)};
  }
  installed_now_ = true;
  if (dry_) {
    run_.show(ctx_.console.quiet() ? fmt::format("would install {}\n", plan.spec.package)
                                   : command_lines(plan.commands));
    return {"planned", "would install " + plan.spec.package, to_json(plan)};
  }
  if (plan.removes.empty()) {
    run_.confirm(fmt::format("Install {} with {}?", plan.spec.package, facts_.package_manager),
                 command_lines(plan.commands));
  } else if (!confirm_replacement(ctx_, plan, facts_)) {
    throw Stop{to_int(ExitCode::usage), "declined: replacing " + plan.removes.front(), true};
  }
  ConsoleEvents events(ctx_.console);
  facts_.daemons_installed =
      value_or_throw(apply_install(plan, ctx_.effects, events.events())).installed;
  return {"done", "installed " + plan.spec.package, to_json(plan)};
}

StepOutcome Join::resolve() {
  const std::optional<int> count =
      o_.servers->count() > 0 ? std::optional<int>(o_.resolve.servers) : std::nullopt;
  if (count) resume_with("--servers", std::to_string(*count));
  if (!o_.refresh && o_.resolve.candidates.empty() && o_.resolve.candidates_file.empty()) {
    auto saved = value_or_throw(load_selection(ctx_.fs));
    if (saved && selection_fits(*saved, o_.resolve.country, count)) {
      selection_ = saved;
      return {"unchanged",
              fmt::format("the {} servers chosen at {} (--refresh chooses again)",
                          saved->servers.size(), saved->created),
              nlohmann::json::parse(selection_to_json(*saved))};
    }
  }
  ResolveRequest request = resolve_request(o_.resolve);
  if (request.country.empty()) request.country = run_.ask_country();
  if (!request.country.empty()) resume_with("--country", request.country);
  request.unmeasured_if_silent = dry_;
  const ResolvePlan plan = value_or_throw(plan_resolve(facts_, ctx_.fs, request));
  ctx_.console.note(fmt::format("zones: {} ({})", plan.zone_names(), plan.candidates.zone.reason));
  const ResolveSurvey survey = [&] {
    ConsoleEvents events(ctx_.console);
    return value_or_throw(survey_resolve(plan, ctx_.effects, events.events()));
  }();
  run_.keep(to_json(survey));
  if (!ctx_.console.quiet()) run_.show(render(survey, ctx_.console));
  print_notes(ctx_.console, {}, survey.warnings);
  value_or_throw(survey.usable());
  selection_ = survey.selection;
  if (!dry_) value_or_throw(apply_resolve(survey, ctx_.effects));
  return {dry_ ? "planned" : "done",
          fmt::format("{} servers near {}{}", survey.selection.servers.size(),
                      survey.selection.zone, dry_ ? " (not saved: a dry run)" : ""),
          to_json(survey)};
}

StepOutcome Join::gen_conf() {
  GenConfRequest request;
  request.daemon = spec_.daemon;
  request.upstreams = o_.gen_conf.upstreams;
  request.selection = selection_;
  request.selection_saved = !dry_;
  request.force = o_.gen_conf.force;
  request.generated_at = generated_at(ctx_.effects.clock.now());
  const GenConfPlan plan = value_or_throw(plan_gen_conf(facts_, ctx_.fs, request));
  nlohmann::json doc = to_json(plan, ctx_);
  run_.keep(doc);
  print_notes(ctx_.console, plan.notes, plan.warnings);
  if (!plan.changes()) return {"unchanged", spec_.config_path + " is already this config", doc};
  if (dry_) {
    note_current(plan, ctx_);
    run_.show(render_plan(plan, ctx_));
    return {"planned", "would write " + spec_.config_path, doc};
  }
  run_.confirm(fmt::format("Write {}?", spec_.config_path), plan.current ? plan.diff : plan.text);
  const GenConfOutcome outcome = apply_shown(ctx_, plan, !o_.gen_conf.no_daemon_check);
  add_outcome(doc, outcome, ctx_);
  run_.show(render(plan, outcome, ctx_));
  config_changed_ = outcome.changed;
  if (config_changed_) run_.state().restart_pending = true;
  return {"done",
          fmt::format("{} written ({})", spec_.config_path,
                      outcome.backup.empty() ? "there was none before"
                                             : "the old one kept as " + outcome.backup),
          doc};
}

StepOutcome Join::restart() {
  RestartRequest request = restart_request(o_.restart);
  request.daemon = spec_.daemon;
  request.package_pending = dry_ && installed_now_;
  const RestartPlan plan = value_or_throw(plan_restart(facts_, ctx_.fs, request));
  nlohmann::json doc = to_json(plan);
  run_.keep(doc);
  const bool pending = run_.state().restart_pending || config_changed_;
  if (!dry_ && !pending) {
    if (plan.live && query_loopback(ctx_.effects.ntp, kAnswerProbe)) {
      return {"unchanged", spec_.service + " runs its current config and answers on 127.0.0.1",
              doc};
    }
    auto earlier = run_.state().steps.find("restart");
    if (!plan.live && earlier != run_.state().steps.end() && earlier->second.status == "done") {
      return {"unchanged", spec_.service + " was enabled at boot by an earlier run", doc};
    }
  }
  note_conflicting(plan, ctx_);
  const std::string what =
      plan.live ? "restart " + spec_.service : "enable " + spec_.service + " at boot in the image";
  if (dry_) {
    run_.show(render_plan(plan, ctx_));
    return {"planned", "would " + what + (installed_now_ ? " once installed" : ""), doc};
  }
  run_.confirm(
      plan.live ? fmt::format("Restart {} now?", spec_.service)
                : fmt::format("Enable {} at boot in {}?", spec_.service, ctx_.fs.root().string()),
      ctx_.prompter.interactive() ? render_plan(plan, ctx_) : "");
  const RestartOutcome outcome = apply_shown(ctx_, plan);
  add_outcome(doc, plan, outcome);
  run_.keep(doc);
  run_.show(render(plan, outcome, ctx_));
  if (!outcome.ok()) {
    throw Stop{to_int(ExitCode::check_failed),
               fmt::format("{} did not come up on the new config: {}", to_string(spec_.daemon),
                           outcome.first.failure)};
  }
  run_.state().restart_pending = false;
  return {"done",
          plan.live ? spec_.service + " restarted and answering"
                    : spec_.service + " enabled at boot in the image; it starts when it boots",
          doc};
}

StepOutcome Join::firewall() {
  const FirewallFacts facts = gather_firewall(facts_, ctx_.effects);
  const FirewallPlan plan = plan_firewall(facts, ctx_.fs, {o_.firewall.notrack});
  nlohmann::json doc = to_json(plan);
  add_outcome(doc, facts, nullptr);
  run_.keep(doc);
  if (!ctx_.console.quiet()) run_.show(render_verdict(plan.before, ctx_.console));
  print_notes(ctx_.console, plan.notes);
  if (plan.nothing_to_do()) {
    return {"unchanged",
            plan.before.in_force.empty() && facts.live
                ? "no host firewall in force; " + describe_reach(plan.before)
                : describe_reach(plan.before),
            doc};
  }
  if (o_.firewall.notrack) resume_with("--notrack");
  if (dry_) {
    run_.show(render_plan(plan, ctx_));
    return {"planned", "would open UDP 123 (" + describe_reach(plan.before) + " now)", doc};
  }
  run_.confirm(plan.live ? "Open UDP 123 in the host firewall?"
                         : fmt::format("Open UDP 123 in the firewall configured in {}?",
                                       ctx_.fs.root().string()),
               render_plan(plan, ctx_));
  const FirewallOutcome outcome = apply_shown(ctx_, plan, facts_);
  add_outcome(doc, facts, &outcome);
  run_.keep(doc);
  if (const Judgement* closed = outcome.after.closed())
    throw Stop{to_int(ExitCode::check_failed), "UDP 123 is still closed: " + closed->describe()};
  return {"done",
          plan.live ? "UDP 123 let in: " + describe_reach(outcome.after)
                    : "UDP 123 let in by the image's firewall configuration, from its next boot",
          doc};
}

StepOutcome Join::check() {
  const std::string wait = format_duration(*o_.check.wait);
  if (dry_) {
    run_.show(fmt::format("pooljoin check --wait {}\n", wait));
    return {"planned",
            fmt::format("would wait up to {} for synchronisation, then check every global address",
                        wait),
            {}};
  }
  if (!ctx_.fs.is_live()) return {"skipped", "an image: nothing runs there to check", {}};
  const CheckFacts facts = gather_check_facts(
      ctx_, facts_, {{}, o_.check.wait, o_.resolve.probe, o_.check.references});
  note_wait(facts, ctx_.console);
  const std::vector<Finding> findings = check_findings(facts);
  const nlohmann::json doc = to_json(facts, findings);
  run_.keep(doc);
  run_.show(render(facts, findings, ctx_.console));
  if (worst(findings) == Severity::fail) {
    throw Stop{to_int(ExitCode::check_failed),
               "check found failures: fix them and run `pooljoin join` again"};
  }
  return {"done", "the pool's monitors would score this server up", doc};
}

StepOutcome Join::web_redirect() {
  const bool installed = web_server_installed(ctx_.fs);
  bool wanted = o_.web_redirect;
  if (!wanted && installed && !dry_ && ctx_.prompter.interactive()) {
    wanted = ctx_.prompter.confirm(
        "A web server is installed: redirect its HTTP requests to the pool's site?", false, "");
  }
  if (!wanted) {
    return {"skipped",
            installed ? "not asked for (--web-redirect adds it)" : "no web server installed",
            {}};
  }
  resume_with("--web-redirect");
  const WebRedirectPlan plan = value_or_throw(plan_web_redirect(
      facts_, ctx_.fs, value_or_throw(templates_dir()), web_redirect_request(ctx_, o_.redirect)));
  nlohmann::json doc = to_json(plan, ctx_);
  run_.keep(doc);
  note_plan(plan, ctx_);
  if (dry_) {
    run_.show(render_plan(plan, ctx_));
    return {"planned", "would redirect HTTP to the pool's site", doc};
  }
  for (const auto& site : plan.disables)
    run_.confirm(fmt::format("Disable the stock site {}?", site), "");
  const WebRedirectOutcome outcome = apply_shown(ctx_, plan);
  add_outcome(doc, outcome, ctx_);
  run_.show(render(plan, outcome, ctx_));
  return {outcome.written.changed ? "done" : "unchanged", "HTTP redirects to the pool's site", doc};
}

StepOutcome Join::submit() {
  if (dry_) {
    run_.show("pooljoin submit\n");
    return {"planned", "would check what the pool's site checks, then say what to enter there", {}};
  }
  if (!ctx_.fs.is_live()) return {"skipped", "an image: submit it once it runs", {}};
  SubmitRequest request = submit_request(ctx_, o_.submit, o_.resolve.probe);
  // A server the pool knows has joined: only the addresses it does not know are submitted.
  request.only_unregistered = o_.submit.verify_url.empty();
  const SubmitPlan plan = [&] {
    ConsoleEvents events(ctx_.console);
    return value_or_throw(plan_submit(facts_, request, ctx_.effects, events.events()));
  }();
  if (plan.nothing_to_submit()) {
    return {"unchanged",
            "every address is in the pool already (`pooljoin status` shows the score)",
            {}};
  }
  std::optional<SubmitOutcome> outcome;
  if (!plan.verify_url.empty()) outcome = value_or_throw(apply_submit(plan, ctx_.effects));
  const nlohmann::json doc = to_json(plan, outcome, false);
  run_.keep(doc);
  run_.show(render(plan, outcome, ctx_.console));
  if (const std::string why = plan.failure(outcome); !why.empty())
    throw Stop{to_int(ExitCode::check_failed), why};
  return {"done",
          plan.verify_url.empty() ? "ready to add on the pool's site (instructions above)"
                                  : "ownership proven",
          doc};
}

int Join::run() {
  run_.resume_words() = resume_words(o_);
  try {
    run_.step("detect", [&] {
      facts_ = detect(ctx_.fs, ctx_.effects.runner);
      show_facts(ctx_, facts_);
      return StepOutcome{"done", summary(facts_), to_json(facts_)};
    });
    run_.step("install-ntp", [&] { return install(); });
    run_.step("resolve", [&] { return resolve(); });
    run_.step("gen-conf", [&] { return gen_conf(); });
    run_.step("restart", [&] { return restart(); });
    run_.step("firewall", [&] { return firewall(); });
    run_.step("check", [&] { return check(); });
    run_.step("web-redirect", [&] { return web_redirect(); });
    run_.step("submit", [&] { return submit(); });
  } catch (const Stop& stop) {
    return run_.finish(stop);
  } catch (const Fatal& fatal) {
    run_.finish(fatal);
    throw;
  }
  return run_.finish();
}

}  // namespace

Action add_join(CLI::App& sub) {
  auto options = std::make_shared<JoinOptions>();
  add_join_options(sub, *options);
  return [options](Context& ctx) {
    require_root(ctx, "join");
    return Join(ctx, *options).run();
  };
}

}  // namespace pooljoin::cli
