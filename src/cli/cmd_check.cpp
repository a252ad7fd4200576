// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "findings.hpp"
#include "join_driver.hpp"
#include "options.hpp"
#include "steps.hpp"
#include "table.hpp"
#include <fmt/format.h>

#include "pooljoin/check.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/duration.hpp"

namespace pooljoin::cli {
namespace {

// Without a terminal, a wait for synchronisation prints a line when the state changes and at
// least this often.
constexpr std::chrono::seconds kWaitReportEvery{30};

std::string clock_text(std::chrono::milliseconds elapsed) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  return fmt::format("{}:{:02}", seconds / 60, seconds % 60);
}

// The wait for synchronisation as the console shows it: a progress line on a terminal; plain
// lines on state changes (and every 30 s) otherwise.
class SyncProgress {
 public:
  explicit SyncProgress(const Console& console) : console_(console) {}
  void operator()(std::chrono::milliseconds elapsed, std::chrono::milliseconds limit,
                  const DaemonReport& daemon) {
    const std::string state =
        describe(daemon) + (daemon.upstreams ? "; " + reach_summary(*daemon.upstreams) : "");
    if (console_.stderr_tty()) {
      console_.progress(fmt::format("waiting for synchronisation: {} of {}; {}",
                                    clock_text(elapsed), clock_text(limit), state));
    } else if (state != last_ || elapsed - last_report_ >= kWaitReportEvery) {
      console_.note(fmt::format("waiting for synchronisation ({} of {}): {}", clock_text(elapsed),
                                clock_text(limit), state));
      last_report_ = elapsed;
    }
    last_ = state;
  }

 private:
  const Console& console_;
  std::string last_;
  std::chrono::milliseconds last_report_{0};
};

nlohmann::json optional_number(bool present, double value) {
  return present ? nlohmann::json(value) : nlohmann::json();
}

double round_to(double value, double unit) {
  return std::round(value / unit) * unit;
}

nlohmann::json upstreams_json(const std::vector<UpstreamHealth>& upstreams) {
  auto out = nlohmann::json::array();
  for (const auto& u : upstreams) {
    out.push_back({{"address", u.address},
                   {"port", u.port},
                   {"refclock", u.refclock},
                   {"stratum", u.stratum},
                   {"reach", fmt::format("{:o}", u.reach)},
                   {"state", to_string(u.state)},
                   {"usable", u.usable()},
                   {"offset_ms", u.offset_ms ? nlohmann::json(*u.offset_ms) : nlohmann::json()},
                   {"jitter_ms", u.jitter_ms ? nlohmann::json(*u.jitter_ms) : nlohmann::json()}});
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const CheckFacts& facts, const std::vector<Finding>& findings) {
  nlohmann::json daemon;  // null for --server
  if (facts.daemon) {
    const DaemonReport& d = *facts.daemon;
    const DaemonState* s = d.state ? &*d.state : nullptr;
    daemon = {
        {"name", d.name.empty() ? nlohmann::json() : nlohmann::json(d.name)},
        {"running", d.running},
        {"synchronized", s != nullptr && s->synchronized()},
        {"stratum", s ? nlohmann::json(s->stratum) : nlohmann::json()},
        {"leap", s ? nlohmann::json(static_cast<int>(s->leap)) : nlohmann::json()},
        {"refid", s ? nlohmann::json(s->refid) : nlohmann::json()},
        {"offset_ms", s ? nlohmann::json(s->offset_ms) : nlohmann::json()},
        {"upstreams", d.upstreams ? upstreams_json(*d.upstreams) : nlohmann::json()},
    };
  }
  auto addresses = nlohmann::json::array();
  for (const auto& a : facts.addresses) {
    const NtpSample& best = a.ntp.best;
    bool header =
        best.replied() && best.fault != NtpFault::truncated && best.fault != NtpFault::wrong_origin;
    bool valid = best.valid();
    addresses.push_back({
        {"address", a.ntp.target.address.to_string()},
        {"family", to_string(a.ntp.target.address.family())},
        {"reachable", a.ntp.reachable()},
        {"stratum", header ? nlohmann::json(best.stratum) : nlohmann::json()},
        {"leap", header ? nlohmann::json(static_cast<int>(best.leap)) : nlohmann::json()},
        {"refid", header ? nlohmann::json(best.refid) : nlohmann::json()},
        {"offset_ms", optional_number(valid, best.offset_s * 1000)},
        {"seen_offset_ms",
         optional_number(a.seen_offset_s.has_value(), a.seen_offset_s.value_or(0) * 1000)},
        {"delay_ms", optional_number(valid, best.delay_s * 1000)},
        {"jitter_ms", optional_number(valid, a.ntp.jitter_s * 1000)},
        {"kod", best.kiss.empty() ? nlohmann::json() : nlohmann::json(best.kiss)},
        {"queries", a.ntp.samples.size()},
        {"decided_by",
         a.ntp.decided_by < 0 ? nlohmann::json() : nlohmann::json(a.ntp.decided_by + 1)},
        {"score_step", round_to(a.step.step, 0.001)},
        {"score_reason", a.step.reason},
        {"predicted_score", round_to(a.predicted, 0.01)},
        {"submittable", a.submittable},
    });
  }
  nlohmann::json clock;  // null when not estimated
  if (facts.clock) {
    const ClockEstimate& c = *facts.clock;
    auto references = nlohmann::json::array();
    for (const auto& r : c.references) {
      const bool valid = r.report.best.valid();
      references.push_back(
          {{"address", r.report.target.address.to_string()},
           {"port", r.report.target.port},
           {"offset_ms", optional_number(valid, r.report.best.offset_s * 1000)},
           {"delay_ms", optional_number(valid, r.report.best.delay_s * 1000)},
           {"counted", r.rejected.empty()},
           {"rejected", r.rejected.empty() ? nlohmann::json() : nlohmann::json(r.rejected)}});
    }
    clock = {{"source", to_string(c.source)},
             {"references", references},
             {"reference_offset_ms",
              c.reference_offset_ms ? nlohmann::json(*c.reference_offset_ms) : nlohmann::json()},
             {"daemon_offset_ms",
              c.daemon_offset_ms ? nlohmann::json(*c.daemon_offset_ms) : nlohmann::json()}};
  }
  return {{"status", to_string(worst(findings))},
          {"daemon", daemon},
          {"clock", clock},
          {"addresses", addresses},
          {"findings", cli::to_json(findings)}};
}

namespace {

std::string reply_text(const ProbeReport& report, const Console& console) {
  const NtpSample& best = report.best;
  switch (best.fault) {
    case NtpFault::none:
      return console.paint(Console::Style::ok, "ok");
    case NtpFault::kiss_of_death:
      return console.paint(Console::Style::fail,
                           "KoD " + (best.kiss.empty() ? std::string("(none)") : best.kiss));
    default:
      return console.paint(Console::Style::fail, std::string(to_string(best.fault)));
  }
}

std::string verdict_line(const std::vector<Finding>& findings, const Console& console) {
  int failures = 0, warnings = 0;
  for (const auto& finding : findings) {
    failures += finding.severity == Severity::fail;
    warnings += finding.severity == Severity::warn;
  }
  if (failures == 0 && warnings == 0)
    return console.paint(Console::Style::ok, "check passed") + "\n";
  return fmt::format("check: {} failed, {} warning{}\n", failures, warnings,
                     warnings == 1 ? "" : "s");
}

}  // namespace

std::string render(const CheckFacts& facts, const std::vector<Finding>& findings,
                   const Console& console) {
  std::string out;
  if (facts.daemon) out += fmt::format("daemon  {}\n\n", describe(*facts.daemon));
  if (facts.daemon && facts.daemon->upstreams && !facts.daemon->upstreams->empty()) {
    Table table({"upstream", "state", "stratum", "reach", "offset", "jitter"});
    for (const auto& u : *facts.daemon->upstreams) {
      table.add({u.port == 123 ? u.address : fmt::format("{} port {}", u.address, u.port),
                 console.paint(u.usable() ? Console::Style::ok : Console::Style::fail,
                               std::string(to_string(u.state))),
                 std::to_string(u.stratum), fmt::format("{:o}", u.reach),
                 u.offset_ms ? fmt::format("{:+.3f} ms", *u.offset_ms) : "-",
                 u.jitter_ms ? fmt::format("{:.3f} ms", *u.jitter_ms) : "-"});
    }
    out += table.render() + "\n";
  }
  if (!facts.addresses.empty()) {
    Table table({"address", "reply", "queries", "stratum", "offset", "delay", "jitter", "leap",
                 "refid", "score", "submit"});
    for (const auto& a : facts.addresses) {
      const NtpSample& best = a.ntp.best;
      bool valid = best.valid();
      bool header = best.replied() && best.fault != NtpFault::truncated &&
                    best.fault != NtpFault::wrong_origin;
      std::string label =
          a.ntp.target.port == 123 ? a.ntp.target.address.to_string() : a.ntp.target.endpoint();
      // How many queries the check sent, and which one's reply decided it ("3 (#2)").
      std::string queries = std::to_string(a.ntp.samples.size());
      if (a.ntp.decided_by >= 0) queries += fmt::format(" (#{})", a.ntp.decided_by + 1);
      table.add(
          {label, reply_text(a.ntp, console), queries, header ? std::to_string(best.stratum) : "-",
           valid ? fmt::format("{:+.3f} ms", a.seen_offset_s.value_or(best.offset_s) * 1000) : "-",
           valid ? fmt::format("{:.3f} ms", best.delay_s * 1000) : "-",
           valid ? fmt::format("{:.3f} ms", a.ntp.jitter_s * 1000) : "-",
           header ? std::to_string(static_cast<int>(best.leap)) : "-",
           header && !best.refid.empty() ? best.refid : "-", fmt::format("{:.1f}", a.predicted),
           a.submittable ? "yes" : "no"});
    }
    out += table.render() + "\n";
  }
  out += render_findings(findings, console);
  return out + verdict_line(findings, console);
}

// After a wait: how it ended, on stderr.
void note_wait(const CheckFacts& facts, const Console& console) {
  console.end_progress();
  if (!facts.waited || !facts.daemon) return;
  const DaemonReport& daemon = *facts.daemon;
  if (daemon.state && daemon.state->synchronized()) {
    console.note(
        fmt::format("{} synchronised after {}", daemon.name, format_duration(*facts.waited)));
  } else if (!facts.wait_stopped.empty()) {
    console.note(fmt::format("stopped waiting after {}: {}", format_duration(*facts.waited),
                             facts.wait_stopped));
  } else {
    console.note(fmt::format("still not synchronised after {}: {}", format_duration(*facts.waited),
                             describe(daemon)));
  }
}

CheckFacts gather_check_facts(Context& ctx, const SystemFacts& system,
                              const CheckRequest& request) {
  ConsoleEvents step(ctx.console);
  CheckEvents events;
  events.step = step.events();
  SyncProgress progress(ctx.console);
  events.syncing = [&progress](std::chrono::milliseconds elapsed, std::chrono::milliseconds limit,
                               const DaemonReport& daemon) { progress(elapsed, limit, daemon); };
  auto facts = gather_check(system, request, ctx.effects, events);
  ctx.console.end_progress();
  return value_or_throw(std::move(facts));
}

namespace {

// The subcommand's options: the step's --wait, the probe options, and --server.
struct CheckCommand {
  CheckWaitOptions wait;
  ProbeOptions probe;
  std::vector<std::string> servers;
};

int run_check(Context& ctx, const CheckCommand& command) {
  CheckRequest request;
  request.servers = command.servers;
  request.wait = command.wait.wait;
  request.references = command.wait.references;
  request.probe = command.probe;
  SystemFacts system;
  if (request.servers.empty()) {
    system = detect(ctx.fs, ctx.effects.runner);
    show_facts(ctx, system);
  }
  ctx.console.detail(fmt::format("probing: {} samples {} apart, {} timeout", request.probe.samples,
                                 format_duration(request.probe.interval),
                                 format_duration(request.probe.timeout)));
  const CheckFacts facts = gather_check_facts(ctx, system, request);
  note_wait(facts, ctx.console);
  const std::vector<Finding> findings = check_findings(facts);
  if (ctx.console.json()) {
    ctx.console.emit_json(to_json(facts, findings));
  } else {
    ctx.console.print(ctx.console.quiet() ? verdict_line(findings, ctx.console)
                                          : render(facts, findings, ctx.console));
  }
  return to_int(worst(findings) == Severity::fail ? ExitCode::check_failed : ExitCode::ok);
}

}  // namespace

Action add_check(CLI::App& sub) {
  auto command = std::make_shared<CheckCommand>();
  add_check_options(sub, command->wait);
  sub.add_option("--server", command->servers,
                 "Check this server (HOST, HOST:PORT, [IPv6]:PORT) instead of this machine; "
                 "repeatable")
      ->type_name("ADDR");
  add_probe_options(sub, command->probe);
  return [command](Context& ctx) { return run_check(ctx, *command); };
}

// check in join: after the wait for synchronisation; a failure stops the run.
StepOutcome join_check(JoinRun& j) {
  const std::string wait = format_duration(*j.options.check.wait);
  if (j.dry) {
    j.driver.show(fmt::format("pooljoin check --wait {}\n", wait));
    return {"planned",
            fmt::format("would wait up to {} for synchronisation, then check every global address",
                        wait),
            {}};
  }
  if (!j.ctx.fs.is_live()) return {"skipped", "an image: nothing runs there to check", {}};
  const CheckFacts facts = gather_check_facts(
      j.ctx, j.facts,
      {{}, j.options.check.wait, j.options.resolve.probe, j.options.check.references});
  note_wait(facts, j.ctx.console);
  const std::vector<Finding> findings = check_findings(facts);
  const nlohmann::json doc = to_json(facts, findings);
  j.driver.keep(doc);
  j.driver.show(render(facts, findings, j.ctx.console));
  if (worst(findings) == Severity::fail) {
    throw Stop{to_int(ExitCode::check_failed),
               "check found failures: fix them and run `pooljoin join` again"};
  }
  return {"done", "the pool's monitors would score this server up", doc};
}

}  // namespace pooljoin::cli
