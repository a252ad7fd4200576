#include <thread>

#include "commands.hpp"
#include "findings.hpp"
#include "probe_options.hpp"
#include "steps.hpp"
#include "table.hpp"
#include "ticker.hpp"
#include <fmt/format.h>

#include "pooljoin/check.hpp"
#include "pooljoin/conf_lint.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/duration.hpp"
#include "pooljoin/interrupt.hpp"

namespace pooljoin::cli {
namespace {

// How often --wait asks the daemon: cheap (one loopback datagram or one chronyc run), and
// quick enough that the wait ends within a second or two of synchronisation.
constexpr std::chrono::milliseconds kWaitPoll{1000};
// Without a terminal, --wait prints a line when the state changes and at least this often.
constexpr std::chrono::seconds kWaitReportEvery{30};

std::string state_text(const DaemonReport& daemon) {
  if (daemon.name.empty()) return "no NTP daemon installed";
  if (!daemon.running) return fmt::format("{} not running", daemon.name);
  if (!daemon.state) return fmt::format("{} running, no state: {}", daemon.name, daemon.error);
  const DaemonState& s = *daemon.state;
  return fmt::format("{} {}: stratum {}, leap {}, refid {}, offset {:+.3f} ms", daemon.name,
                     s.synchronized() ? "synchronised" : "not synchronised", s.stratum,
                     static_cast<int>(s.leap), s.refid.empty() ? "-" : s.refid, s.offset_ms);
}

bool synchronized(const DaemonReport& daemon) {
  return daemon.state && daemon.state->synchronized();
}

std::string clock_text(std::chrono::milliseconds elapsed) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  return fmt::format("{}:{:02}", seconds / 60, seconds % 60);
}

// --wait: polls the daemon until it is synchronised or the time is up. A progress line on a
// terminal; plain lines on state changes (and every 30 s) otherwise.
DaemonReport wait_for_sync(Context& ctx, SystemFacts& facts, DaemonReport daemon,
                           std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::string last_line;
  auto last_report = start;
  bool tty = ctx.console.stderr_tty();
  while (!synchronized(daemon)) {
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::string state = state_text(daemon);
    if (tty) {
      ctx.console.progress(fmt::format("waiting for synchronisation: {} of {}; {}",
                                       clock_text(elapsed), clock_text(limit), state));
    } else if (state != last_line || Clock::now() - last_report >= kWaitReportEvery) {
      ctx.console.note(fmt::format("waiting for synchronisation ({} of {}): {}",
                                   clock_text(elapsed), clock_text(limit), state));
      last_report = Clock::now();
    }
    last_line = state;
    if (elapsed >= limit) break;
    // Sleep in short slices so that Ctrl-C ends the wait at once.
    auto until = std::min(Clock::now() + kWaitPoll, start + limit);
    while (Clock::now() < until) {
      throw_if_interrupted("check --wait");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw_if_interrupted("check --wait");
    facts.daemons_running = detect_running_daemons(ctx.fs, facts.daemons_installed);
    daemon = read_local_daemon(facts, ctx.query_runner);
  }
  ctx.console.end_progress();
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (synchronized(daemon)) {
    ctx.console.note(fmt::format("{} synchronised after {}", daemon.name, format_duration(waited)));
  } else {
    ctx.console.note(fmt::format("still not synchronised after {}: {}", format_duration(waited),
                                 state_text(daemon)));
  }
  return daemon;
}

nlohmann::json optional_number(bool present, double value) {
  return present ? nlohmann::json(value) : nlohmann::json();
}

double round_to(double value, double unit) {
  return std::round(value / unit) * unit;
}

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
        {"delay_ms", optional_number(valid, best.delay_s * 1000)},
        {"jitter_ms", optional_number(valid, a.ntp.jitter_s * 1000)},
        {"kod", best.kiss.empty() ? nlohmann::json() : nlohmann::json(best.kiss)},
        {"predicted_score", round_to(a.predicted, 0.01)},
        {"submittable", a.submittable},
    });
  }
  return {{"status", to_string(worst(findings))},
          {"daemon", daemon},
          {"addresses", addresses},
          {"findings", cli::to_json(findings)}};
}

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

std::string render(const CheckFacts& facts, const std::vector<Finding>& findings,
                   const Console& console) {
  std::string out;
  if (facts.daemon) out += fmt::format("daemon  {}\n\n", state_text(*facts.daemon));
  if (!facts.addresses.empty()) {
    Table table({"address", "reply", "stratum", "offset", "delay", "jitter", "leap", "refid",
                 "score", "submit"});
    for (const auto& a : facts.addresses) {
      const NtpSample& best = a.ntp.best;
      bool valid = best.valid();
      bool header = best.replied() && best.fault != NtpFault::truncated &&
                    best.fault != NtpFault::wrong_origin;
      std::string label =
          a.ntp.target.port == 123 ? a.ntp.target.address.to_string() : a.ntp.target.endpoint();
      table.add({label, reply_text(a.ntp, console), header ? std::to_string(best.stratum) : "-",
                 valid ? fmt::format("{:+.3f} ms", best.offset_s * 1000) : "-",
                 valid ? fmt::format("{:.3f} ms", best.delay_s * 1000) : "-",
                 valid ? fmt::format("{:.3f} ms", a.ntp.jitter_s * 1000) : "-",
                 header ? std::to_string(static_cast<int>(best.leap)) : "-",
                 header && !best.refid.empty() ? best.refid : "-",
                 fmt::format("{:.1f}", a.predicted), a.submittable ? "yes" : "no"});
    }
    out += table.render() + "\n";
  }
  out += render_findings(findings, console);
  int failures = 0, warnings = 0;
  for (const auto& finding : findings) {
    failures += finding.severity == Severity::fail;
    warnings += finding.severity == Severity::warn;
  }
  if (failures == 0 && warnings == 0) {
    out += console.paint(Console::Style::ok, "check passed") + "\n";
  } else {
    out += fmt::format("check: {} failed, {} warning{}\n", failures, warnings,
                       warnings == 1 ? "" : "s");
  }
  return out;
}

}  // namespace

int run_check(Context& ctx, const CheckCliOptions& options) {
  if (!ctx.fs.is_live()) {
    throw Fatal(ExitCode::usage, "check probes the running system, not an image",
                fmt::format("--root {} was given", ctx.fs.root().string()),
                "run it without --root");
  }
  CheckOptions check;
  check.probe = to_probe_options(options.probe);

  CheckFacts facts;
  std::vector<ProbeTarget> targets;
  std::optional<LiveConfigLint> lint;  // this machine's config, checked by gen-conf's rules
  if (!options.servers.empty()) {
    if (!options.wait.empty()) {
      throw Fatal(ExitCode::usage, "--wait waits for this machine's daemon",
                  "it cannot be combined with --server", "drop one of them");
    }
    facts.local = false;
    targets = value_or_throw(server_targets(options.servers));
  } else {
    SystemFacts system = detect(ctx.fs, ctx.query_runner);
    DaemonReport daemon = read_local_daemon(system, ctx.query_runner);
    // Nothing to wait for when no daemon is installed at all.
    if (!options.wait.empty() && !synchronized(daemon) && !daemon.name.empty()) {
      daemon = wait_for_sync(ctx, system, std::move(daemon), duration_of(options.wait, "--wait"));
    }
    facts.daemon = std::move(daemon);
    for (const auto& local : system.addresses)
      targets.push_back({local.address, 123, local.interface});
    facts.only_private_addresses = system.addresses.empty() && !system.excluded.empty();
    if (auto configured = configured_daemon(system))
      lint = lint_live_config(ctx.fs, system.distro, *configured);
  }

  if (!targets.empty()) {
    ctx.console.detail(fmt::format("probing {} address{}: {} samples {} apart, {} timeout",
                                   targets.size(), targets.size() == 1 ? "" : "es",
                                   check.probe.samples, format_duration(check.probe.interval),
                                   format_duration(check.probe.timeout)));
    Ticker ticker(ctx.console, fmt::format("probing {} address{} as the pool's monitors do",
                                           targets.size(), targets.size() == 1 ? "" : "es"));
    facts.addresses = value_or_throw(check_addresses(targets, check));
  }
  std::vector<Finding> findings = diagnose(facts);
  if (lint) findings.insert(findings.end(), lint->findings.begin(), lint->findings.end());

  if (ctx.console.json()) {
    ctx.console.emit_json(to_json(facts, findings));
  } else {
    ctx.console.print(render(facts, findings, ctx.console));
  }
  return to_int(worst(findings) == Severity::fail ? ExitCode::check_failed : ExitCode::ok);
}

Action add_check(CLI::App& sub) {
  auto options = std::make_shared<CheckCliOptions>();
  sub.add_option("--wait", options->wait,
                 "First wait up to DURATION (e.g. 5m) for the daemon to synchronise")
      ->type_name("DURATION")
      ->check(duration_validator());
  sub.add_option("--server", options->servers,
                 "Check this server (HOST, HOST:PORT, [IPv6]:PORT) instead of this machine; "
                 "repeatable")
      ->type_name("ADDR");
  add_probe_options(sub, options->probe);
  return [options](Context& ctx) { return run_check(ctx, *options); };
}

}  // namespace pooljoin::cli
