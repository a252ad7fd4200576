// `pooljoin join`: the guide end to end, composed of the steps' own plan and apply calls. The
// facts are gathered once and each step's outcome is handed to the next in memory (the daemon
// installed, the servers selected, whether the config changed); each step is planned, shown,
// asked about and applied; what is done and verified is skipped; progress is kept in
// /var/lib/pooljoin/state.json so that a stopped run says where to resume.
#include <algorithm>
#include <iostream>

#include "commands.hpp"
#include "generated_at.hpp"
#include "options.hpp"
#include "steps.hpp"
#include "table.hpp"
#include "validators.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/duration.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/join_state.hpp"
#include "pooljoin/loopback_probe.hpp"
#include "pooljoin/resources.hpp"
#include "pooljoin/text.hpp"
#include "pooljoin/zones.hpp"

namespace pooljoin::cli {
namespace {

// Every option of the steps join runs, declared by the steps themselves. Left out, on purpose:
// gen-conf's --output and --lint (they make gen-conf not write the daemon's config, which the
// later steps run), check's --server (it checks other machines) and submit's addresses (join
// submits this machine's own).
struct JoinOptions {
  InstallOptions install;  // with the --daemon all steps share
  ResolveOptions resolve;  // with the probe options resolve, check and submit share
  CLI::Option* servers = nullptr;
  bool refresh = false;
  GenConfOptions gen_conf;
  RestartOptions restart;
  CheckWaitOptions check{std::chrono::minutes(5)};
  bool web_redirect = false;
  WebRedirectOptions redirect;
  SubmitOptions submit;
};

constexpr const char* kSteps[] = {"detect",  "install-ntp", "resolve",      "gen-conf",
                                  "restart", "check",       "web-redirect", "submit"};
constexpr int kStepCount = static_cast<int>(std::size(kSteps));

// How long the daemon has to answer before join decides a restart is due anyway.
constexpr auto kAnswerProbe = std::chrono::milliseconds(1500);

// A step's outcome, as the summary table and the JSON document show it.
struct StepOutcome {
  std::string status;  // done, unchanged, planned, skipped, failed, interrupted, stopped
  std::string summary;
  nlohmann::json result;  // the step's plan and outcome, as its subcommand's --json shows them
};

// Raised by a step that must not go on (the operator said no, or a check found failures): join
// stops there with this code.
struct Stop {
  int code;
  std::string summary;
  bool declined = false;  // the operator said no: "stopped" rather than "failed"
  const char* status() const { return declined ? "stopped" : "failed"; }
};

class Join {
 public:
  Join(Context& ctx, const JoinOptions& options)
      : ctx_(ctx), options_(options), dry_(ctx.options.dry_run) {}

  int run();

 private:
  // Runs `body` as step `name`: a header, the step's output, its outcome recorded (a failed
  // step keeps the result it had got to); a Fatal is recorded before it goes on to main.
  void step(const char* name, StepOutcome (Join::*body)());

  StepOutcome detect_step();
  StepOutcome install_step();
  StepOutcome resolve_step();
  StepOutcome gen_conf_step();
  StepOutcome restart_step();
  StepOutcome check_step();
  StepOutcome web_redirect_step();
  StepOutcome submit_step();

  // The step's own output on stdout: not with --json (the document is the result), not with -q
  // in a real run (the result is the last line).
  void show(const std::string& text) const {
    if (ctx_.console.json() || (ctx_.console.quiet() && !dry_)) return;
    ctx_.console.print(text);
  }
  // Shows `plan` and asks before `what`; Stop when the answer is no.
  void confirm(const std::string& what, const std::string& plan);
  // The answers only the operator can give: --daemon and --country, else asked when needed.
  std::optional<Daemon> choose_daemon();
  std::string choose_country();
  void save_state();
  // The command that resumes this run: the options that decide what it does, and the answers
  // given on the way.
  std::string resume_command() const;
  // The summary: one JSON document, or a headline and the table of steps on stderr.
  void report(const std::string& status);
  std::string daemon_name() const { return std::string(to_string(spec_.daemon)); }

  Context& ctx_;
  const JoinOptions& options_;
  const bool dry_;
  JoinState state_;
  nlohmann::json steps_ = nlohmann::json::array();
  Table summary_{{"step", "status", ""}};
  int index_ = 0;
  nlohmann::json partial_;  // what the running step has got to, kept when it fails
  struct Failure {
    std::string step, message;
    int exit_code;
  };
  std::optional<Failure> failure_;  // the first step that failed
  // Handed from step to step.
  SystemFacts facts_;  // gathered once; install-ntp updates the installed daemons
  DaemonSpec spec_{};
  std::optional<Daemon> daemon_;  // --daemon, or the operator's answer
  std::string country_;           // --country, or the operator's answer
  bool installed_now_ = false;    // the daemon was (or, in a dry run, would be) installed
  std::optional<Selection> selection_;
  bool config_changed_ = false;
};

void Join::step(const char* name, StepOutcome (Join::*body)()) {
  ++index_;
  ctx_.console.note(ctx_.console.paint_err(Console::Style::bold,
                                           fmt::format("[{}/{}] {}", index_, kStepCount, name)));
  partial_ = nullptr;
  auto record = [&](const StepOutcome& o, int exit_code = 0) {
    steps_.push_back({{"step", name},
                      {"status", o.status},
                      {"summary", o.summary},
                      {"result", o.result.is_null() ? partial_ : o.result}});
    summary_.add({name, o.status, o.summary});
    if (o.status == "failed" || o.status == "interrupted" || o.status == "stopped") {
      if (!failure_) failure_ = Failure{name, o.summary, exit_code};
    }
    if (!dry_) {
      state_.steps[name] = {o.status, rfc3339_utc(ctx_.effects.clock.now()), o.summary};
      bool stopped = o.status == "failed" || o.status == "interrupted" || o.status == "stopped";
      state_.stopped_at = stopped ? name : "";
    }
  };
  StepOutcome outcome;
  try {
    outcome = (this->*body)();
    if (interrupted())
      throw Fatal(ExitCode::interrupted, fmt::format("interrupted during {}", name));
  } catch (const Fatal& fatal) {
    const bool was_interrupted = fatal.error().code == ExitCode::interrupted;
    record({was_interrupted ? "interrupted" : "failed", fatal.error().message(), {}},
           to_int(fatal.error().code));
    save_state();
    if (dry_ && !was_interrupted) {
      // A dry run shows the whole plan: a step that cannot be planned is reported, and the
      // rest is still planned.
      ctx_.console.warn(fmt::format("{} cannot be planned: {}", name, fatal.error().message()));
      return;
    }
    if (!was_interrupted) throw;
    throw Fatal(ExitCode::interrupted, fmt::format("interrupted during {}", name), {},
                fmt::format("nothing is half-written; run `{}` again to resume from {}",
                            resume_command(), name));
  } catch (const Stop& stop) {
    record({stop.status(), stop.summary, {}}, stop.code);
    save_state();
    if (dry_) return;
    throw;
  }
  record(outcome);
  save_state();
}

void Join::save_state() {
  if (dry_) return;
  state_.updated = rfc3339_utc(ctx_.effects.clock.now());
  value_or_throw(save_join_state(ctx_.fs, state_));
}

void Join::confirm(const std::string& what, const std::string& plan) {
  if (!ctx_.prompter.asks()) return;
  if (ctx_.prompter.interactive() && !plan.empty()) {
    std::cerr << plan << (plan.back() == '\n' ? "" : "\n");
  }
  if (!ctx_.prompter.confirm(what, true, "re-run with --yes to accept every step's plan")) {
    throw Stop{to_int(ExitCode::usage), fmt::format("declined: {}", what), true};
  }
}

std::string Join::resume_command() const {
  std::vector<std::string> words{"pooljoin"};
  if (!ctx_.fs.is_live()) {
    words.push_back("--root");
    words.push_back(shell_quote(ctx_.fs.root().string()));
  }
  words.push_back("join");
  if (daemon_) {
    words.push_back("--daemon");
    words.push_back(std::string(to_string(*daemon_)));
  }
  if (!country_.empty()) {
    words.push_back("--country");
    words.push_back(country_);
  }
  const ResolveOptions& resolve = options_.resolve;
  if (options_.servers && options_.servers->count() > 0) {
    words.push_back("--servers");
    words.push_back(std::to_string(resolve.servers));
  }
  for (const auto& host : resolve.candidates) {
    words.push_back("--candidate");
    words.push_back(shell_quote(host));
  }
  if (!resolve.candidates_file.empty()) {
    words.push_back("--candidates-file");
    words.push_back(shell_quote(resolve.candidates_file));
  }
  for (const auto& server : resolve.dns_servers) {
    auto ip = IpAddress::parse(server.host);
    words.push_back("--dns-server");
    words.push_back(ip && !ip->is_v4() ? fmt::format("[{}]:{}", server.host, server.port)
                                       : fmt::format("{}:{}", server.host, server.port));
  }
  for (const auto& upstream : options_.gen_conf.upstreams) {
    words.push_back("--upstream");
    words.push_back(upstream.address);
  }
  if (options_.web_redirect) words.push_back("--web-redirect");
  return fmt::format("{}", fmt::join(words, " "));
}

StepOutcome Join::detect_step() {
  facts_ = detect(ctx_.fs, ctx_.effects.runner);
  show_facts(ctx_, facts_);
  partial_ = to_json(facts_);
  std::vector<std::string> addresses;
  for (const auto& a : facts_.addresses)
    addresses.push_back(a.address.to_string());
  std::string where =
      facts_.distro.pretty_name.empty() ? "an unknown system" : facts_.distro.pretty_name;
  return {"done",
          fmt::format("{}, {}; {}", where, to_string(facts_.init),
                      addresses.empty() ? std::string("no global address to submit")
                                        : fmt::format("to submit: {}", fmt::join(addresses, ", "))),
          to_json(facts_)};
}

std::optional<Daemon> Join::choose_daemon() {
  if (options_.install.daemon) return options_.install.daemon;
  // Two supported daemons installed and not exactly one of them running: which one serves the
  // pool is the operator's choice, not a guess.
  std::vector<std::string> installed, running;
  for (const auto& name : facts_.daemons_installed) {
    if (!parse_daemon(name)) continue;
    installed.push_back(name);
    if (facts_.has_running(name)) running.push_back(name);
  }
  if (installed.size() < 2 || running.size() == 1) return std::nullopt;
  const std::string names = fmt::format("{}", fmt::join(installed, " or "));
  if (dry_) {
    ctx_.console.note(
        fmt::format("note: {} are installed; the plan uses {} (a real run asks, or takes --daemon)",
                    names, to_string(*facts_.recommended)));
    return std::nullopt;
  }
  std::string answer = ctx_.prompter.ask(
      fmt::format("{} are installed: which one should serve the pool ({})?", names, names),
      [&](const std::string& given) {
        return std::find(installed.begin(), installed.end(), given) != installed.end()
                   ? std::string()
                   : fmt::format("Please answer {}.", names);
      },
      "choose it with --daemon (or POOLJOIN_DAEMON)");
  return parse_daemon(answer);
}

std::string Join::choose_country() {
  if (!options_.resolve.country.empty()) return options_.resolve.country;
  ZoneChoice inferred = infer_zone(ctx_.fs);
  if (!inferred.country.empty()) return "";  // resolve infers it the same way, and says how
  if (dry_) {
    ctx_.console.note(
        "note: the time zone says nothing about the country this server is in; the plan uses "
        "the wider zone (a real run asks, or takes --country)");
    return "";
  }
  return ctx_.prompter.ask(
      "Which country is this server in (two-letter ISO code, e.g. de, us)?",
      [&](const std::string& answer) {
        return is_country_code(ctx_.fs, answer)
                   ? std::string()
                   : fmt::format("\"{}\" is not an ISO 3166 country code.", answer);
      },
      "pass --country CC (or POOLJOIN_COUNTRY=CC): the pool's servers nearby are chosen by it");
}

StepOutcome Join::install_step() {
  daemon_ = choose_daemon();
  const InstallPlan plan = value_or_throw(
      plan_install(facts_, ctx_.fs, InstallRequest{daemon_, options_.install.lock_timeout}));
  spec_ = plan.spec;
  partial_ = to_json(plan);
  print_notes(ctx_.console, plan.notes);
  if (plan.already_installed) {
    return {"unchanged", fmt::format("{} is already installed", daemon_name()), to_json(plan)};
  }
  if (dry_) {
    show(ctx_.console.quiet() ? fmt::format("would install {}\n", plan.spec.package)
                              : command_lines(plan.commands));
    installed_now_ = true;
    return {"planned", fmt::format("would install {}", plan.spec.package), to_json(plan)};
  }
  if (!plan.removes.empty()) {
    const std::string removed = fmt::format("{}", fmt::join(plan.removes, ", "));
    ctx_.console.warn(fmt::format("installing {} makes {} remove {}, which is installed",
                                  plan.spec.package, facts_.package_manager, removed));
    if (!ctx_.prompter.confirm(
            fmt::format("Replace {} with {}?", removed, daemon_name()), false,
            "re-run with --yes to accept the replacement, or choose it with --daemon")) {
      throw Stop{to_int(ExitCode::usage), fmt::format("declined: replacing {}", removed), true};
    }
  } else {
    confirm(fmt::format("Install {} with {}?", plan.spec.package, facts_.package_manager),
            command_lines(plan.commands));
  }
  ConsoleEvents events(ctx_.console);
  const InstallOutcome outcome = value_or_throw(apply_install(plan, ctx_.effects, events.events()));
  facts_.daemons_installed = outcome.installed;
  installed_now_ = true;
  return {"done", fmt::format("installed {}", plan.spec.package), to_json(plan)};
}

StepOutcome Join::resolve_step() {
  const bool count_asked = options_.servers && options_.servers->count() > 0;
  if (!options_.refresh && options_.resolve.candidates.empty() &&
      options_.resolve.candidates_file.empty()) {
    auto saved = value_or_throw(load_selection(ctx_.fs));
    const std::string wanted = lower(options_.resolve.country);
    if (saved && (wanted.empty() || saved->country == wanted) &&
        std::ssize(saved->servers) >= kMinUpstreams &&
        (!count_asked || std::ssize(saved->servers) == options_.resolve.servers)) {
      selection_ = saved;
      return {"unchanged",
              fmt::format("the {} servers chosen at {} (--refresh chooses again)",
                          saved->servers.size(), saved->created),
              nlohmann::json::parse(selection_to_json(*saved))};
    }
  }
  country_ = choose_country();
  ResolveRequest request = resolve_request(options_.resolve);
  request.country = country_;
  request.unmeasured_if_silent = dry_;
  const ResolvePlan plan = value_or_throw(plan_resolve(facts_, ctx_.fs, request));
  ctx_.console.note(fmt::format("zones: {} ({})", plan.zone_names(), plan.candidates.zone.reason));
  const ResolveSurvey survey = [&] {
    ConsoleEvents events(ctx_.console);
    return value_or_throw(survey_resolve(plan, ctx_.effects, events.events()));
  }();
  partial_ = to_json(survey);
  if (!ctx_.console.quiet()) show(render(survey, ctx_.console));
  print_notes(ctx_.console, {}, survey.warnings);
  value_or_throw(survey.usable());
  selection_ = survey.selection;
  const std::string zone = survey.selection.zone;
  if (dry_) {
    return {"planned",
            fmt::format("{} servers near {} (not saved: a dry run)",
                        survey.selection.servers.size(), zone),
            to_json(survey)};
  }
  value_or_throw(apply_resolve(survey, ctx_.effects));
  return {"done", fmt::format("{} servers near {}", survey.selection.servers.size(), zone),
          to_json(survey)};
}

StepOutcome Join::gen_conf_step() {
  GenConfRequest request;
  request.daemon = spec_.daemon;
  request.upstreams = options_.gen_conf.upstreams;
  request.selection = selection_;
  request.selection_saved = !dry_;
  request.force = options_.gen_conf.force;
  request.generated_at = generated_at(ctx_.effects.clock.now());
  const GenConfPlan plan = value_or_throw(plan_gen_conf(facts_, ctx_.fs, request));
  nlohmann::json doc = to_json(plan, ctx_);
  partial_ = doc;
  print_notes(ctx_.console, plan.notes, plan.warnings);
  if (!plan.changes()) {
    return {"unchanged", fmt::format("{} is already this config", spec_.config_path), doc};
  }
  if (dry_) {
    note_current(plan, ctx_);
    show(render_plan(plan, ctx_));
    return {"planned", fmt::format("would write {}", spec_.config_path), doc};
  }
  confirm(fmt::format("Write {}?", spec_.config_path), plan.current ? plan.diff : plan.text);
  const bool daemon_check = !options_.gen_conf.no_daemon_check;
  if (!daemon_check) {
    ctx_.console.warn(fmt::format("not checked by {} (--no-daemon-check)", daemon_name()));
  }
  ConsoleEvents events(ctx_.console);
  const GenConfOutcome outcome =
      value_or_throw(apply_gen_conf(plan, ctx_.effects, daemon_check, events.events()));
  add_outcome(doc, outcome, ctx_);
  show(render(plan, outcome, ctx_));
  config_changed_ = outcome.changed;
  if (config_changed_) state_.restart_pending = true;
  return {"done",
          fmt::format("{} written ({})", spec_.config_path,
                      outcome.backup.empty() ? "there was none before"
                                             : "the old one kept as " + outcome.backup),
          doc};
}

StepOutcome Join::restart_step() {
  RestartRequest request = restart_request(options_.restart);
  request.daemon = spec_.daemon;
  request.package_pending = dry_ && installed_now_;
  const RestartPlan plan = value_or_throw(plan_restart(facts_, ctx_.fs, request));
  nlohmann::json doc = to_json(plan);
  partial_ = doc;
  const bool live = plan.live;
  if (!dry_) {
    const bool pending = state_.restart_pending || config_changed_;
    if (live && !pending && query_loopback(ctx_.effects.ntp, kAnswerProbe)) {
      return {"unchanged",
              fmt::format("{} runs its current config and answers on 127.0.0.1", daemon_name()),
              doc};
    }
    auto earlier = state_.steps.find("restart");
    if (!live && !pending && earlier != state_.steps.end() && earlier->second.status == "done") {
      return {"unchanged",
              fmt::format("{} was enabled at boot by an earlier run; the config is the same",
                          spec_.service),
              doc};
    }
  }
  note_conflicting(plan, ctx_);
  if (dry_) {
    show(render_plan(plan, ctx_));
    const std::string what =
        live ? fmt::format("would restart {}", spec_.service)
             : fmt::format("would enable {} at boot in the image", spec_.service);
    return {"planned", installed_now_ ? what + " once installed" : what, doc};
  }
  confirm(live ? fmt::format("Restart {} now?", spec_.service)
               : fmt::format("Enable {} at boot in {}?", spec_.service, ctx_.fs.root().string()),
          ctx_.prompter.interactive() ? render_plan(plan, ctx_) : "");
  const RestartOutcome outcome = [&] {
    ConsoleEvents events(ctx_.console);
    return value_or_throw(apply_restart(plan, ctx_.effects, events.events()));
  }();
  add_outcome(doc, plan, outcome);
  partial_ = doc;
  for (const auto& warning : outcome.warnings)
    ctx_.console.warn(warning);
  if (!live && !outcome.warnings.empty()) {
    throw Fatal(ExitCode::unavailable,
                fmt::format("cannot enable {} in {}", spec_.service, ctx_.fs.root().string()),
                outcome.warnings.front(), "enable it from inside the image");
  }
  show(render(plan, outcome, ctx_));
  if (!outcome.ok()) {
    throw Stop{to_int(ExitCode::check_failed),
               fmt::format("{} did not come up on the new config: {}", daemon_name(),
                           outcome.first.failure)};
  }
  state_.restart_pending = false;
  return {"done",
          live ? fmt::format("{} restarted and answering", spec_.service)
               : fmt::format("{} enabled at boot in the image; it starts when the system boots",
                             spec_.service),
          doc};
}

StepOutcome Join::check_step() {
  const auto wait = options_.check.wait.value_or(std::chrono::milliseconds(0));
  if (dry_) {
    show(fmt::format("pooljoin check --wait {}\n", format_duration(wait)));
    return {"planned",
            fmt::format("would wait up to {} for synchronisation, then check every global address",
                        format_duration(wait)),
            {}};
  }
  if (!ctx_.fs.is_live()) return {"skipped", "an image: nothing runs there to check", {}};
  CheckRequest request;
  request.wait = options_.check.wait;
  request.probe = options_.resolve.probe;
  const CheckFacts facts = gather_check_facts(ctx_, facts_, request);
  note_wait(facts, ctx_.console);
  const std::vector<Finding> findings = check_findings(facts);
  const nlohmann::json doc = to_json(facts, findings);
  partial_ = doc;
  show(render(facts, findings, ctx_.console));
  if (worst(findings) == Severity::fail) {
    throw Stop{to_int(ExitCode::check_failed),
               "check found failures: fix them and run `pooljoin join` again"};
  }
  return {"done", "the pool's monitors would score this server up", doc};
}

StepOutcome Join::web_redirect_step() {
  const bool has_web_server = has_program(ctx_.fs, "nginx") || has_program(ctx_.fs, "apache2") ||
                              has_program(ctx_.fs, "httpd");
  bool wanted = options_.web_redirect;
  if (!wanted && has_web_server && !dry_ && ctx_.prompter.interactive()) {
    wanted = ctx_.prompter.confirm(
        "A web server is installed: redirect its HTTP requests to the pool's site?", false, "");
  }
  if (!wanted) {
    return {"skipped",
            has_web_server ? "not asked for (--web-redirect adds it)" : "no web server installed",
            {}};
  }
  const WebRedirectRequest request = web_redirect_request(ctx_, options_.redirect);
  const auto templates = value_or_throw(templates_dir());
  const WebRedirectPlan plan =
      value_or_throw(plan_web_redirect(facts_, ctx_.fs, templates, request));
  nlohmann::json doc = to_json(plan, ctx_);
  partial_ = doc;
  note_plan(plan, ctx_);
  if (dry_) {
    show(render_plan(plan, ctx_));
    return {"planned", "would redirect HTTP to the pool's site", doc};
  }
  for (const auto& site : plan.disables) {
    confirm(fmt::format("Disable the stock site {}?", site), "");
  }
  ConsoleEvents events(ctx_.console);
  const WebRedirectOutcome outcome =
      value_or_throw(apply_web_redirect(plan, ctx_.effects, events.events()));
  add_outcome(doc, outcome, ctx_);
  show(render(plan, outcome, ctx_));
  return {outcome.written.changed ? "done" : "unchanged", "HTTP redirects to the pool's site", doc};
}

StepOutcome Join::submit_step() {
  if (dry_) {
    show("pooljoin submit\n");
    return {"planned", "would check what the pool's site checks, then say what to enter there", {}};
  }
  if (!ctx_.fs.is_live()) return {"skipped", "an image: submit it once it runs", {}};
  SubmitRequest request = submit_request(ctx_, options_.submit, options_.resolve.probe);
  // A server already in the pool has joined: only the addresses the pool does not know are
  // submitted (all of them are shown by `pooljoin status`).
  request.only_unregistered = options_.submit.verify_url.empty();
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
  partial_ = doc;
  show(render(plan, outcome, ctx_.console));
  if (plan.preflight_failed() || (outcome && outcome->failed())) {
    throw Stop{to_int(ExitCode::check_failed), outcome && outcome->failed()
                                                   ? "the ownership proof failed"
                                                   : "the site's pre-flight found failures"};
  }
  return {"done",
          plan.verify_url.empty() ? "ready to add on the pool's site (instructions above)"
                                  : "ownership proven",
          doc};
}

int Join::run() {
  require_root(ctx_, "join");
  if (!dry_) {
    state_ = value_or_throw(load_join_state(ctx_.fs));
    if (!state_.stopped_at.empty()) {
      ctx_.console.note(fmt::format("resuming: the last run stopped at {}", state_.stopped_at));
    }
  }
  daemon_ = options_.install.daemon;
  country_ = options_.resolve.country;
  try {
    step("detect", &Join::detect_step);
    step("install-ntp", &Join::install_step);
    step("resolve", &Join::resolve_step);
    step("gen-conf", &Join::gen_conf_step);
    step("restart", &Join::restart_step);
    step("check", &Join::check_step);
    step("web-redirect", &Join::web_redirect_step);
    step("submit", &Join::submit_step);
  } catch (const Stop& stop) {
    report(stop.status());
    return stop.code;
  } catch (const Fatal& fatal) {
    report(fatal.error().code == ExitCode::interrupted ? "interrupted" : "failed");
    throw;
  }
  report(failure_ ? "failed" : "ok");
  return failure_ ? failure_->exit_code : to_int(ExitCode::ok);
}

void Join::report(const std::string& status) {
  if (ctx_.console.json()) {
    nlohmann::json doc = {
        {"status", status},
        {"dry_run", dry_},
        {"stopped_at",
         dry_ || state_.stopped_at.empty() ? nlohmann::json() : nlohmann::json(state_.stopped_at)},
        {"steps", steps_}};
    if (failure_) {
      doc["error"] = {{"step", failure_->step},
                      {"message", failure_->message},
                      {"exit_code", failure_->exit_code}};
    }
    ctx_.console.emit_json(doc);
    return;
  }
  std::string headline = dry_ ? fmt::format("join --dry-run: the plan{} (nothing was changed)",
                                            failure_ ? ", with failures" : "")
                         : status == "ok"
                             ? "join: done"
                             : fmt::format("join: {} at {}", status, state_.stopped_at);
  if (ctx_.console.quiet()) {
    ctx_.console.print(headline + "\n");  // -q: the result, and nothing else
    return;
  }
  ctx_.console.note(fmt::format("\n{}\n{}", ctx_.console.paint_err(Console::Style::bold, headline),
                                summary_.render()));
  if (status != "ok" && !dry_) {
    ctx_.console.note(
        fmt::format("run `{}` again to resume from {}", resume_command(), state_.stopped_at));
  }
}

}  // namespace

Action add_join(CLI::App& sub) {
  auto options = std::make_shared<JoinOptions>();
  JoinOptions& o = *options;
  add_daemon_option(sub, o.install.daemon,
                    "Which daemon: auto (keep an installed one, else the distribution's), ntpsec, "
                    "ntp or chrony");
  add_install_options(sub, o.install);
  add_resolve_options(sub, o.resolve);
  o.servers = sub.get_option("--servers");
  add_probe_options(sub, o.resolve.probe);
  sub.add_flag("--refresh", o.refresh,
               "Choose the upstream servers again even when a selection is saved");
  add_gen_conf_options(sub, o.gen_conf);
  add_restart_options(sub, o.restart);
  add_check_options(sub, o.check);
  sub.add_flag("--web-redirect", o.web_redirect,
               "Also redirect HTTP on this server to the pool's site");
  add_web_redirect_options(sub, o.redirect);
  add_submit_options(sub, o.submit);
  return [options](Context& ctx) {
    options->gen_conf.daemon = options->restart.daemon = options->install.daemon;
    return Join(ctx, *options).run();
  };
}

}  // namespace pooljoin::cli
