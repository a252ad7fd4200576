// `pooljoin join`: the guide end to end, each step through the same runner as its subcommand.
// Plan, ask, apply for the steps that change the system; skip what is already done and verified;
// record progress in /var/lib/pooljoin/state.json so a stopped run says where to resume.
#include <iostream>

#include "commands.hpp"
#include "steps.hpp"
#include "table.hpp"
#include "validators.hpp"
#include "views.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/install.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/join_state.hpp"
#include "pooljoin/loopback_probe.hpp"
#include "pooljoin/pool_api.hpp"
#include "pooljoin/restart.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/zones.hpp"

namespace pooljoin::cli {
namespace {

struct JoinOptions {
  std::string daemon = "auto";
  int lock_timeout = 120;
  std::string country;
  int servers = kDefaultUpstreams;
  std::vector<std::string> candidates;
  std::vector<std::string> dns_servers;
  bool refresh = false;
  bool no_daemon_check = false;
  std::string wait = "5m";
  bool web_redirect = false;
  std::string verify_url;
  int bandwidth = 0;
  std::string hostname;
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
  nlohmann::json result;  // the step's own --json document, when it printed one
};

// Raised by a step that must not go on (the operator said no, or the step failed with an exit
// code rather than an error): join stops there with this code.
struct Stop {
  int code;
  std::string summary;
  bool declined = false;  // the operator said no: "stopped" rather than "failed"
  const char* status() const { return declined ? "stopped" : "failed"; }
};

class Join {
 public:
  Join(Context& ctx, const JoinOptions& options);

  int run();

 private:
  // Runs `body` as step `name`: a header, the step's own output, its JSON captured, its outcome
  // recorded; a Fatal from it is recorded before it goes on to main.
  void step(const char* name, const std::function<StepOutcome(Context&)>& body);
  // A context for a step: the caller's, with a console that captures the step's JSON into
  // `sink`; with `preview`, a dry run of it whose JSON is captured whatever --json says.
  Context context_for(Console& console, nlohmann::json* sink, bool preview);

  StepOutcome do_detect(Context& step);
  StepOutcome do_install(Context& step);
  StepOutcome do_resolve(Context& step);
  StepOutcome do_gen_conf(Context& step);
  StepOutcome do_restart(Context& step);
  StepOutcome do_check(Context& step);
  StepOutcome do_web_redirect(Context& step);
  StepOutcome do_submit(Context& step);

  // Shows `plan` and asks before `what`; Stop when the answer is no.
  void confirm(const std::string& what, const std::string& plan);
  // The answers only the operator can give: --daemon and --country, else asked when needed.
  std::string choose_daemon();
  std::string choose_country();
  void save_state();
  // The summary: one JSON document, or a headline and the table of steps on stderr.
  void report(const std::string& status);
  std::string daemon_name() const { return std::string(to_string(spec_.daemon)); }

  Context& ctx_;
  const JoinOptions& options_;
  const bool dry_;
  GlobalOptions preview_options_;
  RecordingRunner preview_runner_;
  JoinState state_;
  nlohmann::json steps_ = nlohmann::json::array();
  Table summary_{{"step", "status", ""}};
  int index_ = 0;
  SystemFacts facts_;
  DaemonSpec spec_{};
  bool installed_now_ = false;  // the daemon was (or, in a dry run, would be) installed by this run
  std::optional<Selection> selection_;
  bool config_changed_ = false;
  std::optional<int> dry_failure_;  // a dry run's first failing step's exit code
};

Context Join::context_for(Console& console, nlohmann::json* sink, bool preview) {
  console.capture_json(sink);
  if (!preview) {
    return Context{ctx_.options,       console,       ctx_.fs,  ctx_.query_runner,
                   ctx_.change_runner, ctx_.prompter, ctx_.http};
  }
  return Context{preview_options_, console,       ctx_.fs,  ctx_.query_runner,
                 preview_runner_,  ctx_.prompter, ctx_.http};
}

void Join::step(const char* name, const std::function<StepOutcome(Context&)>& body) {
  ++index_;
  ctx_.console.note(ctx_.console.paint_err(Console::Style::bold,
                                           fmt::format("[{}/{}] {}", index_, kStepCount, name)));
  nlohmann::json captured;
  Console console = ctx_.console;
  if (console.quiet() && !dry_) console.mute_results();  // a dry run's result is its plan
  Context step_ctx = context_for(console, ctx_.console.json() ? &captured : nullptr, false);
  StepOutcome outcome;
  auto record = [&](const StepOutcome& o) {
    nlohmann::json entry = {{"step", name}, {"status", o.status}, {"summary", o.summary}};
    entry["result"] = o.result.is_null() ? captured : o.result;
    steps_.push_back(std::move(entry));
    summary_.add({name, o.status, o.summary});
    if (!dry_) {
      state_.steps[name] = {o.status, rfc3339_utc(std::chrono::system_clock::now()), o.summary};
      bool stopped = o.status == "failed" || o.status == "interrupted" || o.status == "stopped";
      state_.stopped_at = stopped ? name : "";
    }
  };
  try {
    outcome = body(step_ctx);
    if (interrupted())
      throw Fatal(ExitCode::interrupted, fmt::format("interrupted during {}", name));
  } catch (const Fatal& fatal) {
    bool was_interrupted = fatal.error().code == ExitCode::interrupted;
    record({was_interrupted ? "interrupted" : "failed", fatal.error().message(), {}});
    save_state();
    if (dry_ && !was_interrupted) {
      // A dry run shows the whole plan: a step that cannot be planned is reported, and the
      // rest is still planned.
      ctx_.console.warn(fmt::format("{} cannot be planned: {}", name, fatal.error().message()));
      if (!dry_failure_) dry_failure_ = to_int(fatal.error().code);
      return;
    }
    if (!was_interrupted) throw;
    throw Fatal(
        ExitCode::interrupted, fmt::format("interrupted during {}", name), {},
        fmt::format("nothing is half-written; run `pooljoin join` again to resume from {}", name));
  } catch (const Stop& stop) {
    record({stop.status(), stop.summary, {}});
    save_state();
    if (dry_) {
      if (!dry_failure_) dry_failure_ = stop.code;
      return;
    }
    throw;
  }
  record(outcome);
  save_state();
}

void Join::save_state() {
  if (dry_) return;
  state_.updated = rfc3339_utc(std::chrono::system_clock::now());
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

StepOutcome Join::do_detect(Context&) {
  facts_ = detect(ctx_.fs, ctx_.query_runner);
  std::string where =
      facts_.distro.pretty_name.empty() ? "an unknown system" : facts_.distro.pretty_name;
  return {"done",
          fmt::format("{}, {}, {} global address{}", where, to_string(facts_.init),
                      facts_.addresses.size(), facts_.addresses.size() == 1 ? "" : "es"),
          to_json(facts_)};
}

std::string Join::choose_daemon() {
  if (options_.daemon != "auto") return options_.daemon;
  // Two supported daemons installed and not exactly one of them running: which one serves the
  // pool is the operator's choice, not a guess.
  std::vector<std::string> installed, running;
  for (const auto& name : facts_.daemons_installed) {
    if (!parse_daemon(name)) continue;
    installed.push_back(name);
    if (facts_.has_running(name)) running.push_back(name);
  }
  if (installed.size() < 2 || running.size() == 1) return "auto";
  std::string names;
  for (const auto& name : installed)
    names += (names.empty() ? "" : " or ") + name;
  if (dry_) {
    ctx_.console.note(
        fmt::format("note: {} are installed; the plan uses {} (a real run asks, or "
                    "takes --daemon)",
                    names, to_string(*facts_.recommended)));
    return "auto";
  }
  return ctx_.prompter.ask(
      fmt::format("{} are installed: which one should serve the pool ({})?", names, names),
      [&](const std::string& answer) {
        return std::find(installed.begin(), installed.end(), answer) != installed.end()
                   ? std::string()
                   : fmt::format("Please answer {}.", names);
      },
      "choose it with --daemon (or POOLJOIN_DAEMON)");
}

std::string Join::choose_country() {
  if (!options_.country.empty()) return options_.country;
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

StepOutcome Join::do_install(Context& step) {
  InstallRequest request;
  const std::string daemon = choose_daemon();
  if (daemon != "auto") request.daemon = parse_daemon(daemon);
  request.lock_timeout_seconds = options_.lock_timeout;
  InstallPlan plan = value_or_throw(plan_install(facts_, ctx_.fs, request));
  spec_ = plan.spec;
  if (plan.already_installed) {
    return {"unchanged", fmt::format("{} is already installed", daemon_name()), to_json(plan)};
  }
  if (!dry_ && plan.removes.empty()) {
    std::string commands;
    for (const auto& command : plan.commands)
      commands += "  $ " + display(command) + "\n";
    confirm(fmt::format("Install {} with {}?", plan.spec.package, facts_.package_manager),
            commands);
  }
  InstallOptions install;
  install.daemon = daemon_name();
  install.lock_timeout = options_.lock_timeout;
  int rc = run_install_ntp(step, install);
  if (rc != 0) throw Stop{rc, "install-ntp failed"};
  installed_now_ = true;
  if (dry_) return {"planned", fmt::format("would install {}", plan.spec.package), {}};
  facts_ = detect(ctx_.fs, ctx_.query_runner);
  return {"done", fmt::format("installed {}", plan.spec.package), {}};
}

StepOutcome Join::do_resolve(Context& step) {
  if (!options_.refresh && options_.candidates.empty()) {
    auto saved = value_or_throw(load_selection(ctx_.fs));
    std::string wanted = options_.country;
    for (auto& c : wanted)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (saved && (wanted.empty() || saved->country == wanted) &&
        static_cast<int>(saved->servers.size()) >= kMinUpstreams) {
      selection_ = saved;
      return {"unchanged",
              fmt::format("the {} servers chosen at {} (--refresh chooses again)",
                          saved->servers.size(), saved->created),
              nlohmann::json::parse(selection_to_json(*saved))};
    }
  }
  ResolveOptions resolve;
  resolve.country = choose_country();
  resolve.servers = options_.servers;
  resolve.candidates = options_.candidates;
  resolve.dns_servers = options_.dns_servers;
  Selection chosen;
  int rc = run_resolve(step, resolve, &chosen);
  if (rc != 0) throw Stop{rc, "resolve failed"};
  selection_ = chosen;
  std::string zone = chosen.zone.empty() ? "the global zone" : chosen.zone;
  return {dry_ ? "planned" : "done",
          fmt::format("{} servers near {}", chosen.servers.size(), zone),
          {}};
}

StepOutcome Join::do_gen_conf(Context& step) {
  GenConfOptions gen;
  gen.daemon = daemon_name();
  gen.no_daemon_check = options_.no_daemon_check;
  if (dry_) gen.selection = selection_;  // resolve saved nothing
  if (!dry_ && ctx_.prompter.asks()) {
    // Ask with the diff in view, unless there is nothing to change.
    GlobalOptions json_options = preview_options_;
    json_options.json = true;
    Console preview_console(json_options);
    nlohmann::json preview;
    Context preview_ctx = context_for(preview_console, &preview, true);
    run_gen_conf(preview_ctx, gen);
    const std::string diff = preview.value("diff", nlohmann::json()).is_string()
                                 ? preview["diff"].get<std::string>()
                                 : "";
    const bool exists = preview.contains("diff") && !preview["diff"].is_null();
    if (exists && diff.empty()) {
      return {"unchanged", fmt::format("{} is already this config", spec_.config_path), preview};
    }
    confirm(fmt::format("Write {}?", spec_.config_path),
            exists ? diff : preview.value("content", ""));
  }
  const auto before = ctx_.fs.read(spec_.config_path);
  int rc = run_gen_conf(step, gen);
  if (rc != 0) throw Stop{rc, "gen-conf failed"};
  if (dry_) return {"planned", fmt::format("would write {}", spec_.config_path), {}};
  config_changed_ = ctx_.fs.read(spec_.config_path) != before;
  if (config_changed_) state_.restart_pending = true;
  return {config_changed_ ? "done" : "unchanged",
          fmt::format(
              "{} {}", spec_.config_path,
              config_changed_ ? "written (the old one kept as a backup)" : "already this config"),
          {}};
}

StepOutcome Join::do_restart(Context& step) {
  RestartOptions restart;
  restart.daemon = daemon_name();
  if (dry_ && installed_now_) {
    // Not installed yet in a dry run: the plan restart will have once it is.
    RestartRequest request;
    request.daemon = spec_.daemon;
    request.package_pending = true;
    RestartPlan plan = value_or_throw(plan_restart(facts_, ctx_.fs, request));
    for (const auto& note : plan.notes)
      step.console.note("note: " + note);
    std::string lines;
    for (const auto& command : plan.commands())
      lines += display(command) + "\n";
    step.console.print(lines);
    return {"planned", fmt::format("would restart {} once installed", spec_.service), {}};
  }
  if (!dry_) {
    bool pending = state_.restart_pending || config_changed_;
    bool answers = ctx_.fs.is_live() && query_loopback(kAnswerProbe).has_value();
    if (!pending && (answers || !ctx_.fs.is_live())) {
      return {"unchanged",
              fmt::format("{} runs its current config{}", daemon_name(),
                          ctx_.fs.is_live() ? " and answers on 127.0.0.1" : ""),
              {}};
    }
    if (ctx_.prompter.interactive()) {
      nlohmann::json ignored;
      Console preview_console = ctx_.console;
      Context preview_ctx = context_for(preview_console, &ignored, true);
      run_restart(preview_ctx, restart);
    }
    confirm(ctx_.fs.is_live()
                ? fmt::format("Restart {} now?", spec_.service)
                : fmt::format("Enable {} at boot in {}?", spec_.service, ctx_.fs.root().string()),
            "");
  }
  int rc = run_restart(step, restart);
  if (rc != 0) throw Stop{rc, fmt::format("{} did not come up on the new config", daemon_name())};
  if (dry_) return {"planned", fmt::format("would restart {}", spec_.service), {}};
  state_.restart_pending = false;
  return {"done",
          ctx_.fs.is_live() ? fmt::format("{} restarted and answering", spec_.service)
                            : fmt::format("{} enabled at boot in the image", spec_.service),
          {}};
}

StepOutcome Join::do_check(Context& step) {
  if (dry_) {
    step.console.print(fmt::format("pooljoin check --wait {}\n", options_.wait));
    return {"planned",
            fmt::format("would wait up to {} for synchronisation, then check every global address",
                        options_.wait),
            {}};
  }
  if (!ctx_.fs.is_live()) return {"skipped", "an image: nothing runs there to check", {}};
  CheckCliOptions check;
  check.wait = options_.wait;
  int rc = run_check(step, check);
  if (rc != 0) {
    throw Stop{rc, "check found failures: fix them and run `pooljoin join` again"};
  }
  return {"done", "the pool's monitors would score this server up", {}};
}

StepOutcome Join::do_web_redirect(Context& step) {
  bool has_web_server = has_program(ctx_.fs, "nginx") || has_program(ctx_.fs, "apache2") ||
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
  int rc = run_web_redirect(step, WebRedirectOptions{});
  if (rc != 0) throw Stop{rc, "web-redirect failed"};
  return {dry_ ? "planned" : "done",
          dry_ ? "would redirect HTTP to the pool's site" : "HTTP redirects to the pool's site",
          {}};
}

StepOutcome Join::do_submit(Context& step) {
  if (dry_) {
    step.console.print("pooljoin submit\n");
    return {"planned", "would check what the pool's site checks, then say what to enter there", {}};
  }
  if (!ctx_.fs.is_live()) return {"skipped", "an image: submit it once it runs", {}};
  SubmitOptions submit;
  submit.hostname = options_.hostname;
  submit.bandwidth = options_.bandwidth;
  submit.verify_url = options_.verify_url;
  // A server already in the pool has joined: only the addresses the pool does not know are
  // submitted (all of them are shown by `pooljoin status`).
  if (options_.verify_url.empty()) {
    std::vector<std::string> unknown;
    int known = 0;
    for (const auto& local : facts_.addresses) {
      auto score = fetch_server_score(ctx_.http, ctx_.options.api_base, local.address, 1);
      if (score && score->known) {
        ++known;
      } else {
        unknown.push_back(local.address.to_string());
      }
    }
    if (known > 0 && unknown.empty()) {
      return {"unchanged",
              "every address is in the pool already (`pooljoin status` shows the score)",
              {}};
    }
    if (known > 0) submit.addresses = unknown;
  }
  int rc = run_submit(step, submit);
  if (rc != 0) throw Stop{rc, "the site's pre-flight found failures"};
  return {"done",
          options_.verify_url.empty() ? "ready to add on the pool's site (instructions above)"
                                      : "ownership proven",
          {}};
}

int Join::run() {
  require_root(ctx_, "join");
  if (!dry_) {
    state_ = value_or_throw(load_join_state(ctx_.fs));
    if (!state_.stopped_at.empty()) {
      ctx_.console.note(fmt::format("resuming: the last run stopped at {}", state_.stopped_at));
    }
  }
  try {
    step("detect", [&](Context& c) { return do_detect(c); });
    step("install-ntp", [&](Context& c) { return do_install(c); });
    step("resolve", [&](Context& c) { return do_resolve(c); });
    step("gen-conf", [&](Context& c) { return do_gen_conf(c); });
    step("restart", [&](Context& c) { return do_restart(c); });
    step("check", [&](Context& c) { return do_check(c); });
    step("web-redirect", [&](Context& c) { return do_web_redirect(c); });
    step("submit", [&](Context& c) { return do_submit(c); });
  } catch (const Stop& stop) {
    report(stop.status());
    return stop.code;
  } catch (const Fatal& fatal) {
    report(fatal.error().code == ExitCode::interrupted ? "interrupted" : "failed");
    throw;
  }
  report(dry_failure_ ? "failed" : "ok");
  return dry_failure_.value_or(to_int(ExitCode::ok));
}

void Join::report(const std::string& status) {
  if (ctx_.console.json()) {
    ctx_.console.emit_json(
        {{"status", status},
         {"dry_run", dry_},
         {"stopped_at", dry_ ? nlohmann::json() : nlohmann::json(state_.stopped_at)},
         {"steps", steps_}});
    return;
  }
  std::string headline = dry_ ? fmt::format("join --dry-run: the plan{} (nothing was changed)",
                                            dry_failure_ ? ", with failures" : "")
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
        fmt::format("run `pooljoin join` again to resume from {}", state_.stopped_at));
  }
}

Join::Join(Context& ctx, const JoinOptions& options)
    : ctx_(ctx), options_(options), dry_(ctx.options.dry_run), preview_options_(ctx.options) {
  preview_options_.dry_run = true;
}

}  // namespace

Action add_join(CLI::App& sub) {
  auto options = std::make_shared<JoinOptions>();
  sub.add_option("--daemon", options->daemon,
                 "Which daemon: auto (keep an installed one, else the distribution's), ntpsec, ntp "
                 "or chrony")
      ->check(CLI::IsMember({"auto", "ntpsec", "ntp", "chrony"}));
  sub.add_option("--lock-timeout", options->lock_timeout,
                 "Seconds to wait for another package manager run to finish")
      ->check(CLI::Range(0, 3600));
  sub.add_option("--country", options->country,
                 "ISO 3166 country whose pool zone to use (default: from the system's time zone; "
                 "asked when it says nothing)")
      ->check(country_validator())
      ->type_name("CC");
  sub.add_option("--servers", options->servers, "How many upstream servers to select (4 to 7)")
      ->check(CLI::Range(kMinUpstreams, kMaxUpstreams));
  sub.add_option("--candidate", options->candidates,
                 "Also consider this upstream server; repeatable")
      ->check(host_validator())
      ->type_name("HOST");
  sub.add_option("--dns-server", options->dns_servers, "Ask this DNS server; repeatable")
      ->check(endpoint_validator())
      ->type_name("ADDR[:PORT]");
  sub.add_flag("--refresh", options->refresh,
               "Choose the upstream servers again even when a selection is saved");
  sub.add_flag("--no-daemon-check", options->no_daemon_check,
               "Write the config without having the daemon check it first (gen-conf)");
  sub.add_option("--wait", options->wait, "How long check waits for the daemon to synchronise")
      ->type_name("DURATION")
      ->check(duration_validator());
  sub.add_flag("--web-redirect", options->web_redirect,
               "Also redirect HTTP on this server to the pool's site");
  sub.add_option("--verify-url", options->verify_url,
                 "The pool's validation URL: prove ownership from each of the server's addresses")
      ->check(url_validator())
      ->type_name("URL");
  sub.add_option("--bandwidth", options->bandwidth,
                 "The server's bandwidth in Mbit/s, for the net speed")
      ->check(CLI::Range(1, 100000))
      ->type_name("MBIT");
  sub.add_option("--hostname", options->hostname,
                 "The server's host name, to enter on the pool's site")
      ->check(hostname_validator())
      ->type_name("NAME");
  return [options](Context& ctx) { return Join(ctx, *options).run(); };
}

}  // namespace pooljoin::cli
