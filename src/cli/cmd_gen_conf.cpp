// SPDX-License-Identifier: Apache-2.0
#include <chrono>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>

#include <unistd.h>

#include "commands.hpp"
#include "findings.hpp"
#include "generated_at.hpp"
#include "join_driver.hpp"
#include "steps.hpp"
#include "validators.hpp"
#include <fmt/format.h>

#include "pooljoin/conf_lint.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/dhcp.hpp"
#include "pooljoin/dns.hpp"
#include "pooljoin/gen_conf.hpp"
#include "pooljoin/interrupt.hpp"

namespace pooljoin::cli {
namespace {

// One try per upstream name: the lint waits for the DNS at most this long per name.
constexpr std::chrono::milliseconds kLintDnsTimeout{1500};
// A config read from standard input for --lint: the largest real ones are a few kilobytes.
constexpr std::size_t kMaxLintInput = 1 << 20;

// The subcommand's own options, beside the step's: where the config goes, or a lint instead.
struct GenConfCommand {
  GenConfOptions step;
  std::string output;
  std::string lint_file;
  CLI::Option* lint = nullptr;  // given, with or without a file
};

nlohmann::json to_json(const LintFinding& f) {
  auto json = cli::to_json(f.finding);
  json["file"] = f.file;
  json["line"] = f.line;
  return json;
}

int run_lint(Context& ctx, const GenConfCommand& command) {
  const SystemFacts facts = detect(ctx.fs, ctx.effects.runner);
  std::string text, shown;
  Daemon daemon;
  std::vector<LintFinding> findings;
  // Included files come from the system linted: under --root for its live config, the host's
  // for a FILE. The machine's addresses apply only to the live config of the live system (a
  // FILE may be meant for another machine).
  const RootedFs host("/");
  const RootedFsReader live_reader(ctx.fs), host_reader(host);
  LintContext context;
  if (command.lint_file.empty()) {
    DaemonSpec spec = value_or_throw(resolve_daemon_spec(
        facts, command.step.daemon,
        "give the file to check and its daemon: `pooljoin gen-conf --lint FILE --daemon D`"));
    // What the daemon really reads: the config it runs, or the DHCP copy its start script runs.
    const auto dhcp = read_dhcp_state(ctx.fs, spec);
    const auto running = running_config(ctx.fs, spec);
    const std::string path = effective_config(ctx.fs, spec, dhcp, running);
    auto content = ctx.fs.read_file(path);
    if (!content) {
      throw Fatal(ExitCode::unavailable, fmt::format("cannot lint {}", path), content.error().why,
                  "give the file to check: `pooljoin gen-conf --lint FILE` (and --daemon)");
    }
    text = std::move(*content);
    shown = ctx.fs.host(path).string();
    daemon = spec.daemon;
    context.reader = &live_reader;
    context.path = path;
    if (ctx.fs.is_live()) context.addresses = facts.all_addresses();
    if (dhcp) {
      for (auto& finding : diagnose_dhcp(*dhcp, spec, running))
        if (finding.severity != Severity::ok) findings.push_back({"", 0, std::move(finding)});
    }
  } else {
    if (command.lint_file == "-") {
      text =
          value_or_throw(read_until_end(STDIN_FILENO, kMaxLintInput, "the read of standard input"));
      shown = "standard input";
    } else {
      shown = std::filesystem::absolute(command.lint_file).string();
      text = value_or_throw(host.read_file(shown));
      context.path = shown;
    }
    context.reader = &host_reader;
    daemon = daemon_to_lint_as(text, command.step.daemon, facts);
  }

  // An upstream name that the DNS says does not exist (NXDOMAIN, or no address of either
  // family) is reported; a timeout, SERVFAIL or REFUSED is given the benefit of the doubt.
  // Each name is asked once; its addresses are judged as gen-conf judges an upstream.
  using Resolved = std::optional<std::vector<IpAddress>>;
  auto known = std::make_shared<std::map<std::string, Resolved>>();
  context.resolve = [&ctx, known](const std::string& name) -> Resolved {
    if (auto it = known->find(name); it != known->end()) return it->second;
    DnsOptions options;
    options.timeout = kLintDnsTimeout;
    options.tries = 1;
    auto result = ctx.effects.dns.lookup(options, {name});
    Resolved resolved = std::vector<IpAddress>();
    if (result && !result->answers.empty()) {
      const auto& answer = result->answers.front();
      const bool gone =
          answer.a.status == DnsStatus::nxdomain || answer.aaaa.status == DnsStatus::nxdomain ||
          (answer.a.status == DnsStatus::nodata && answer.aaaa.status == DnsStatus::nodata);
      resolved = answer.addresses();
      if (gone && resolved->empty()) resolved = std::nullopt;
    }
    (*known)[name] = resolved;
    return resolved;
  };
  for (auto& finding : lint_config(text, daemon, context))
    findings.push_back(std::move(finding));
  const std::size_t upstreams = count_upstreams(text, daemon, context);
  std::vector<Finding> plain;
  plain.reserve(findings.size());
  for (const auto& f : findings)
    plain.push_back(f.finding);
  const Severity verdict = worst(plain);
  if (ctx.console.json()) {
    auto list = nlohmann::json::array();
    for (const auto& f : findings)
      list.push_back(to_json(f));
    ctx.console.emit_json({{"file", shown},
                           {"daemon", to_string(daemon)},
                           {"upstreams", upstreams},
                           {"verdict", to_string(verdict)},
                           {"findings", list}});
  } else {
    std::string out = fmt::format("{} (read as a {} config): {} upstream server{}\n", shown,
                                  to_string(daemon), upstreams, upstreams == 1 ? "" : "s");
    if (findings.empty()) {
      out += ctx.console.paint(Console::Style::ok, "ok") + "    follows the pool's rules\n";
    } else {
      out += render_findings(plain, ctx.console);
    }
    ctx.console.print(out);
  }
  return to_int(verdict == Severity::fail ? ExitCode::check_failed : ExitCode::ok);
}

}  // namespace

nlohmann::json to_json(const GenConfPlan& plan, const Context& ctx) {
  auto servers = nlohmann::json::array();
  for (const auto& s : plan.upstreams)
    servers.push_back({{"address", s.address}, {"note", s.note}});
  nlohmann::json doc = {{"daemon", to_string(plan.spec.daemon)},
                        {"config_path", plan.spec.config_path},
                        {"target", plan.shown},
                        {"generated_at", plan.generated_at},
                        {"origin", plan.origin},
                        {"servers", servers},
                        {"content", plan.text}};
  if (plan.target != ConfigTarget::standard_output) {
    doc["diff"] = plan.current ? nlohmann::json(plan.diff) : nlohmann::json(nullptr);
    auto kept = nlohmann::json::array();
    for (const auto& k : plan.kept)
      kept.push_back({{"line", k.line}, {"text", k.text}});
    auto dropped = nlohmann::json::array();
    for (const auto& d : plan.dropped)
      dropped.push_back({{"line", d.line}, {"text", d.text}, {"why", d.why}});
    doc["kept"] = kept;
    doc["dropped"] = dropped;
  }
  if (plan.settings) {
    doc["settings"] = {{"path", ctx.fs.host(plan.settings->path).string()},
                       {"why", plan.settings->why},
                       {"content", plan.settings->text},
                       {"diff", plan.settings_diff}};
  }
  return doc;
}

void add_outcome(nlohmann::json& doc, const GenConfOutcome& outcome, const Context& ctx) {
  doc["changed"] = outcome.changed;
  doc["backup"] = outcome.backup.empty() ? nlohmann::json(nullptr)
                                         : nlohmann::json(ctx.fs.host(outcome.backup).string());
  doc["daemon_check"] =
      outcome.daemon_check.empty() ? nlohmann::json(nullptr) : nlohmann::json(outcome.daemon_check);
  if (doc.contains("settings")) {
    doc["settings"]["changed"] = outcome.settings_changed;
    doc["settings"]["backup"] = outcome.settings_backup.empty()
                                    ? nlohmann::json(nullptr)
                                    : nlohmann::json(ctx.fs.host(outcome.settings_backup).string());
  }
}

std::string render(const GenConfPlan& plan, const GenConfOutcome& outcome, const Context& ctx) {
  std::string out;
  if (!outcome.changed) {
    out = fmt::format("{} already has this content; nothing written\n", plan.shown);
  } else {
    out = fmt::format("wrote {} ({}, {} upstream servers)\n", plan.shown,
                      to_string(plan.spec.daemon), plan.upstreams.size());
    if (!outcome.backup.empty() && !ctx.console.quiet())
      out += fmt::format("previous file kept as {}\n", ctx.fs.host(outcome.backup).string());
    if (!outcome.daemon_check.empty() && !ctx.console.quiet())
      out += fmt::format("checked: {}\n", outcome.daemon_check);
  }
  if (outcome.settings_changed) {
    out += fmt::format("wrote {} ({})\n", ctx.fs.host(plan.settings->path).string(),
                       plan.settings->why);
    if (!outcome.settings_backup.empty() && !ctx.console.quiet()) {
      out +=
          fmt::format("previous file kept as {}\n", ctx.fs.host(outcome.settings_backup).string());
    }
  }
  return out;
}

// The plan as a dry run shows it: the config, and the diff against the file it replaces; then the
// start settings edit.
std::string render_plan(const GenConfPlan& plan, const Context& ctx) {
  if (ctx.console.quiet()) {
    std::string out =
        fmt::format("would write {} ({} upstream servers)\n", plan.shown, plan.upstreams.size());
    if (plan.settings) {
      out += fmt::format("would write {}\n", ctx.fs.host(plan.settings->path).string());
    }
    return out;
  }
  return plan.text + plan.diff + plan.settings_diff;
}

void note_current(const GenConfPlan& plan, const Context& ctx) {
  if (plan.target == ConfigTarget::standard_output) return;
  if (!plan.current) {
    ctx.console.note(fmt::format("{} does not exist yet", plan.shown));
  } else if (plan.diff.empty()) {
    ctx.console.note(fmt::format("{} is already this file", plan.shown));
  }
}

GenConfOutcome apply_shown(Context& ctx, const GenConfPlan& plan, bool daemon_check) {
  if (plan.target == ConfigTarget::daemon_config && !daemon_check) {
    ctx.console.warn(
        fmt::format("not checked by {} (--no-daemon-check)", to_string(plan.spec.daemon)));
  }
  ConsoleEvents events(ctx.console);
  return value_or_throw(apply_gen_conf(plan, ctx.effects, daemon_check, events.events()));
}

int run_gen_conf(Context& ctx, const GenConfCommand& command) {
  if (command.lint && command.lint->count() > 0) return run_lint(ctx, command);
  GenConfRequest request;
  request.daemon = command.step.daemon;
  request.upstreams = command.step.upstreams;
  request.force = command.step.force;
  request.fresh = command.step.fresh;
  if (command.output == "-") {
    request.target = ConfigTarget::standard_output;
  } else if (!command.output.empty()) {
    request.target = ConfigTarget::file;
    request.output = std::filesystem::absolute(command.output).string();
  } else {
    // Writing the live config is the change that needs root; a dry run or an export does not.
    begin_change(ctx, "gen-conf");
  }
  request.generated_at = generated_at(ctx.effects.clock.now());
  request.now = ctx.effects.clock.now();

  const SystemFacts facts = detect(ctx.fs, ctx.effects.runner);
  show_facts(ctx, facts);
  const GenConfPlan plan = value_or_throw(plan_gen_conf(facts, ctx.fs, request));
  print_notes(ctx.console, plan.notes, plan.warnings);
  nlohmann::json doc = to_json(plan, ctx);

  if (plan.target == ConfigTarget::standard_output) {
    if (ctx.console.json()) {
      ctx.console.emit_json(doc);
    } else {
      ctx.console.print(plan.text);
    }
    return to_int(ExitCode::ok);
  }
  if (ctx.options.dry_run) {
    note_current(plan, ctx);
    if (ctx.console.json()) {
      ctx.console.emit_json(doc);
    } else {
      ctx.console.print(render_plan(plan, ctx));
    }
    return to_int(ExitCode::ok);
  }

  const GenConfOutcome outcome = apply_shown(ctx, plan, !command.step.no_daemon_check);
  if (ctx.console.json()) {
    add_outcome(doc, outcome, ctx);
    ctx.console.emit_json(doc);
    return to_int(ExitCode::ok);
  }
  ctx.console.print(render(plan, outcome, ctx));
  if (plan.target == ConfigTarget::daemon_config && (outcome.changed || outcome.settings_changed)) {
    ctx.console.note(fmt::format("next: `pooljoin restart` runs {} on it", plan.spec.service));
  }
  return to_int(ExitCode::ok);
}

Action add_gen_conf(CLI::App& sub) {
  auto command = std::make_shared<GenConfCommand>();
  add_gen_conf_options(sub, command->step);
  add_daemon_option(sub, command->step.daemon,
                    "Whose config: auto (the detected daemon), ntpsec, ntp or chrony");
  sub.add_option("--output", command->output,
                 "Write the config to FILE (as is, not checked by the daemon), or to stdout "
                 "with -, instead of the daemon's config file")
      ->type_name("FILE|-")
      ->check(output_file_validator("give a file, or - for standard output", true));
  command->lint = sub.add_option("--lint", command->lint_file,
                                 "Check FILE (default: the daemon's live config; - for stdin) "
                                 "against the pool's rules instead of writing; exit 1 on a "
                                 "violation")
                      ->expected(0, 1)
                      ->type_name("[FILE]")
                      ->check(CLI::Validator(
                          [](std::string& value) -> std::string {
                            if (value.empty() || value == "-") return {};
                            std::error_code ec;
                            if (!std::filesystem::exists(value, ec))
                              return value + " does not exist";
                            if (!std::filesystem::is_regular_file(value, ec))
                              return value + " is not a file";
                            return {};
                          },
                          ""));
  return [command](Context& ctx) { return run_gen_conf(ctx, *command); };
}

// gen-conf in join: the config from the selection handed on; whether it changed goes to
// restart.
StepOutcome join_gen_conf(JoinRun& j) {
  GenConfRequest request;
  request.daemon = j.spec.daemon;
  request.upstreams = j.options.gen_conf.upstreams;
  request.selection = j.selection;
  request.selection_saved = !j.dry;
  request.force = j.options.gen_conf.force;
  request.fresh = j.options.gen_conf.fresh;
  request.generated_at = generated_at(j.ctx.effects.clock.now());
  request.now = j.ctx.effects.clock.now();
  const GenConfPlan plan = value_or_throw(plan_gen_conf(j.facts, j.ctx.fs, request));
  nlohmann::json doc = to_json(plan, j.ctx);
  j.driver.keep(doc);
  print_notes(j.ctx.console, plan.notes, plan.warnings);
  if (!plan.changes()) return {"unchanged", j.spec.config_path + " is already this config", doc};
  if (j.dry) {
    note_current(plan, j.ctx);
    j.driver.show(render_plan(plan, j.ctx));
    return {"planned", "would write " + j.spec.config_path, doc};
  }
  const std::string what = plan.config_changes() ? j.spec.config_path : plan.settings->path;
  j.driver.confirm(fmt::format("Write {}?", what),
                   (plan.current ? plan.diff : plan.text) + plan.settings_diff);
  const GenConfOutcome outcome = apply_shown(j.ctx, plan, !j.options.gen_conf.no_daemon_check);
  add_outcome(doc, outcome, j.ctx);
  j.driver.show(render(plan, outcome, j.ctx));
  j.config_changed = outcome.changed || outcome.settings_changed;
  if (j.config_changed) j.driver.state().restart_pending = true;
  std::string summary;
  if (outcome.changed) {
    summary = fmt::format(
        "{} written ({})", j.spec.config_path,
        outcome.backup.empty() ? "there was none before" : "the old one kept as " + outcome.backup);
  } else {
    summary = j.spec.config_path + " is already this config";
  }
  if (outcome.settings_changed) summary += fmt::format("; {} written", plan.settings->path);
  return {"done", summary, doc};
}

}  // namespace pooljoin::cli
