// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <chrono>
#include <map>

#include "chart.hpp"
#include "commands.hpp"
#include "score_charts.hpp"
#include "table.hpp"
#include "validators.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/detect.hpp"
#include "pooljoin/duration.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/pool_api.hpp"
#include "pooljoin/score_export.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin::cli {
namespace {

// The monitors report every few minutes: refreshing faster only loads the pool's site.
constexpr std::chrono::milliseconds kMinWatch = std::chrono::seconds(5);
constexpr std::chrono::milliseconds kMaxWatch = std::chrono::hours(24);
constexpr std::chrono::milliseconds kDefaultWatch = std::chrono::seconds(60);
// A watch gives up after this many refreshes in a row where no address could be fetched.
constexpr int kMaxWatchFailures = 10;

struct StatusOptions {
  std::vector<std::string> addresses;
  bool watch = false;
  std::chrono::milliseconds interval = kDefaultWatch;
  int limit = 500;
  std::optional<double> min_score;   // exit 1 when an address scores below it
  std::string prometheus;            // write node_exporter's textfile here (a host path)
  bool nagios = false;               // one plugin line, plugin exit codes
  std::optional<double> warn_score;  // --nagios: WARNING below it
};

std::vector<IpAddress> addresses_to_show(const Context& ctx, const StatusOptions& options) {
  std::vector<IpAddress> addresses;
  for (const auto& text : options.addresses) {
    auto ip = IpAddress::parse(text);
    if (!ip) {
      throw Fatal(ExitCode::usage,
                  fmt::format("status: '{}' is not an IP address", printable(text, 40)), {},
                  "give IPv4 or IPv6 addresses, like 192.0.2.1 or 2001:db8::1");
    }
    if (!ip->is_global_unicast()) {
      ctx.console.warn(fmt::format("{} is not a global address ({}); the pool cannot have it",
                                   ip->to_string(), ip->non_global_reason()));
    }
    addresses.push_back(*ip);
  }
  if (!addresses.empty()) return addresses;

  std::vector<LocalAddress> global, excluded;
  machine_addresses(global, excluded);
  for (const auto& a : global)
    addresses.push_back(a.address);
  if (addresses.empty()) {
    bool private_only = std::any_of(excluded.begin(), excluded.end(),
                                    [](const LocalAddress& a) { return a.behind_nat(); });
    throw Fatal(ExitCode::usage, "no address to look up",
                private_only ? "this machine has only private addresses (behind NAT, the pool "
                               "sees the public one)"
                             : "this machine has no global address",
                "name the public address: pooljoin status ADDRESS");
  }
  return addresses;
}

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

nlohmann::json to_json(const ServerScore& s) {
  auto monitors = nlohmann::json::array();
  for (const auto& m : s.document.monitors) {
    monitors.push_back({{"id", m.id},
                        {"name", m.name},
                        {"type", m.type},
                        {"status", m.status},
                        {"score", optional_number(m.score)},
                        {"avg_rtt", optional_number(m.avg_rtt)},
                        {"ts", m.ts}});
  }
  auto history = nlohmann::json::array();
  for (const auto& p : s.document.history) {
    history.push_back(
        {{"ts", p.ts},
         {"offset", optional_number(p.offset)},
         {"step", p.step},
         {"score", p.score},
         {"monitor_id", p.monitor_id ? nlohmann::json(*p.monitor_id) : nlohmann::json()},
         {"rtt", optional_number(p.rtt)}});
  }
  return {{"address", s.address.to_string()},
          {"known", s.known},
          {"score", s.score ? nlohmann::json(s.score->value) : nlohmann::json()},
          {"score_source", s.score ? nlohmann::json(s.score->source) : nlohmann::json()},
          {"in_pool", s.in_pool()},
          {"page", s.page},
          {"monitors", std::move(monitors)},
          {"history", std::move(history)}};
}

int status_rank(std::string_view status) {
  constexpr std::string_view kOrder[] = {"active",  "testing", "candidate",
                                         "pending", "paused",  "deleted"};
  for (std::size_t i = 0; i < std::size(kOrder); ++i)
    if (kOrder[i] == status) return static_cast<int>(i);
  return static_cast<int>(std::size(kOrder));
}

std::string score_text(double score) {
  return fmt::format("{:.1f}", score);
}

std::string offset_ms_text(double offset_seconds) {
  return fmt::format("{:+.3f} ms", offset_seconds * 1000.0);
}

std::string headline(const ServerScore& s, const Console& console) {
  const std::string ip = s.address.to_string();
  if (!s.known) {
    return fmt::format(
        "{}: {} (the pool's site does not know this address); add it with the "
        "steps of `pooljoin submit`",
        ip, console.paint(Console::Style::warn, "not in the pool yet"));
  }
  if (!s.score) return fmt::format("{}: in the pool's records, no score yet", ip);
  double value = s.score->value;
  std::string score = console.paint(value >= kInPoolScore ? Console::Style::ok
                                    : value >= 0          ? Console::Style::warn
                                                          : Console::Style::fail,
                                    display_score(value));
  if (s.in_pool()) {
    return fmt::format(
        "{}: score {}, in the pool's DNS (score >= {:g}; unless its net speed is 0 or it is being "
        "deleted, which the score does not show)",
        ip, score, kInPoolScore);
  }
  return fmt::format("{}: score {}, not in the pool's DNS (it needs a score of {:g})", ip, score,
                     kInPoolScore);
}

std::string monitor_table(const ServerScore& s) {
  std::vector<const PoolMonitor*> monitors;
  for (const auto& m : s.document.monitors)
    if (m.type != "score") monitors.push_back(&m);
  if (monitors.empty()) {
    return s.document.history.empty() ? "no monitor has scored it yet\n"
                                      : "the site sent no per-monitor scores\n";
  }
  std::stable_sort(monitors.begin(), monitors.end(),
                   [](const PoolMonitor* a, const PoolMonitor* b) {
                     if (status_rank(a->status) != status_rank(b->status))
                       return status_rank(a->status) < status_rank(b->status);
                     if (a->score.value_or(-1000) != b->score.value_or(-1000))
                       return a->score.value_or(-1000) > b->score.value_or(-1000);
                     return a->name < b->name;
                   });
  // The newest point of each monitor (history is oldest first).
  std::map<std::int64_t, const ScorePoint*> newest;
  for (const auto& p : s.document.history)
    if (p.monitor_id) newest[*p.monitor_id] = &p;

  Table table({"monitor", "status", "score", "avg RTT", "last offset"});
  for (const PoolMonitor* m : monitors) {
    auto it = newest.find(m->id);
    std::string offset = "-";
    if (it != newest.end() && it->second->offset) offset = offset_ms_text(*it->second->offset);
    // Names and statuses come from the site: escaped before they reach the terminal.
    table.add({m->name.empty() ? fmt::format("#{}", m->id) : printable(m->name),
               printable(m->status), m->score ? score_text(*m->score) : "-",
               m->avg_rtt ? fmt::format("{:.1f} ms", *m->avg_rtt) : "-", offset});
  }
  return table.render();
}

std::string render(const ServerScore& s, const Console& console) {
  std::string out = headline(s, console) + '\n';
  if (!s.known) return out;
  out += fmt::format("page: {}\n", s.page);
  out += monitor_table(s);
  std::string chart_text =
      score_charts(s.document, console.stdout_tty() && locale_is_utf8(), terminal_width());
  if (!chart_text.empty()) out += '\n' + chart_text;
  return out;
}

using Fetched = ScoreLookups;

// Every address, in order; an interruption stops at once (Fatal), other errors are per address.
Fetched fetch_all(Context& ctx, const std::vector<IpAddress>& addresses, int limit) {
  Fetched fetched;
  for (const auto& address : addresses) {
    auto score = fetch_server_score(ctx.effects.http, ctx.options.api_base, address, limit);
    if (!score && score.error().code == ExitCode::interrupted) throw Fatal(score.error());
    fetched.emplace_back(address, std::move(score));
  }
  return fetched;
}

// Shows one round, after `prefix` (a screen clear); returns the number of addresses that failed.
int show(Context& ctx, const Fetched& fetched, const std::string& prefix = {}) {
  int failures = 0;
  if (ctx.console.json()) {
    auto list = nlohmann::json::array();
    for (const auto& [address, score] : fetched) {
      if (score) {
        list.push_back(to_json(*score));
      } else {
        ++failures;
        list.push_back({{"address", address.to_string()},
                        {"known", nullptr},
                        {"error", score.error().message()}});
      }
    }
    ctx.console.emit_json({{"addresses", std::move(list)}});
  } else {
    std::string out = prefix;
    for (const auto& [address, score] : fetched) {
      if (out.size() > prefix.size()) out += '\n';
      if (score) {
        out += render(*score, ctx.console);
      } else {
        ++failures;
        out +=
            fmt::format("{}: {}\n", address.to_string(),
                        ctx.console.paint(Console::Style::fail, "no answer from the pool's site"));
      }
    }
    ctx.console.print(out);
  }
  return failures;
}

// Reports every failure but the last, which is returned for main to report (and exit with).
std::optional<Error> report_failures(const Context& ctx, const Fetched& fetched) {
  std::optional<Error> last;
  for (const auto& [address, score] : fetched) {
    if (score) continue;
    if (last) ctx.console.error(*last);
    last = score.error();
  }
  return last;
}

// --nagios and --prometheus are for one run of a monitoring system, each with its own output.
void check_combinations(const Context& ctx, const StatusOptions& options) {
  if (options.nagios && (ctx.console.json() || options.watch || !options.prometheus.empty())) {
    throw Fatal(ExitCode::usage,
                fmt::format("status: --nagios cannot be combined with {}",
                            ctx.console.json() ? "--json"
                            : options.watch    ? "--watch"
                                               : "--prometheus"),
                "--nagios prints one plugin status line and exits with the plugin's codes",
                "leave out one of them");
  }
  if (!options.prometheus.empty() && options.watch) {
    throw Fatal(ExitCode::usage, "status: --prometheus cannot be combined with --watch",
                "--prometheus writes the file once per run",
                "run it from a timer or cron instead (docs/examples/)");
  }
  if (options.warn_score && *options.warn_score < options.min_score.value_or(kInPoolScore)) {
    throw Fatal(ExitCode::usage,
                fmt::format("status: --warn-score {:g} is below the critical --min-score {:g}",
                            *options.warn_score, options.min_score.value_or(kInPoolScore)),
                {}, "give a --warn-score at least as high as --min-score");
  }
}

// Replaces the operator's FILE (a path of this machine, never under --root) atomically: the
// textfile collector must never read half a file. No backup: it is rewritten every few minutes.
Result<WriteOutcome> write_prometheus(const Context& ctx, const std::string& file,
                                      const Fetched& fetched) {
  const RootedFs host("/", ctx.fs.policy());
  WriteOptions write;
  write.backup = false;
  write.create_parents = false;
  write.now = ctx.effects.clock.now();
  // The last safe point before the rename: after Ctrl-C the old file stays, no temp file.
  write.verify = [](const std::string&) -> Result<void> {
    if (interrupted()) return interruption("the write of the Prometheus file");
    return {};
  };
  return host.write_atomic(std::filesystem::absolute(file).lexically_normal().string(),
                           prometheus_text(fetched, ctx.effects.clock.now()), write);
}

int run_nagios(Context& ctx, const std::vector<IpAddress>& addresses,
               const StatusOptions& options) {
  Fetched fetched = fetch_all(ctx, addresses, options.limit);
  PluginThresholds thresholds;
  thresholds.critical = options.min_score.value_or(kInPoolScore);
  thresholds.warning = options.warn_score;
  const PluginReport report = plugin_report(fetched, thresholds);
  // Only the line: Icinga reads stderr into the output too, so the failures are in it, not
  // reported apart.
  ctx.console.print(report.line + '\n');
  return static_cast<int>(report.state);
}

int run_status(Context& ctx, const StatusOptions& options) {
  check_combinations(ctx, options);
  auto addresses = addresses_to_show(ctx, options);
  if (options.nagios) return run_nagios(ctx, addresses, options);
  if (!options.watch) {
    Fetched fetched = fetch_all(ctx, addresses, options.limit);
    show(ctx, fetched);
    if (!options.prometheus.empty()) {
      if (!options.prometheus.ends_with(".prom")) {
        ctx.console.warn(fmt::format(
            "{}: node_exporter's textfile collector reads only files whose names end in .prom",
            options.prometheus));
      }
      if (ctx.options.dry_run) {
        ctx.console.note(fmt::format("dry run: {} not written", options.prometheus));
      } else {
        // Written before the failures end the run: a failed lookup is what `up 0` is for.
        auto written = write_prometheus(ctx, options.prometheus, fetched);
        if (!written) {
          if (auto error = report_failures(ctx, fetched)) ctx.console.error(*error);
          throw Fatal(std::move(written.error()));
        }
        ctx.console.note(fmt::format("wrote {}", options.prometheus));
      }
    }
    if (auto error = report_failures(ctx, fetched)) throw Fatal(std::move(*error));
    if (options.min_score) {
      // For cron and monitoring: an address without a score (not in the pool, or not yet
      // scored) is below any minimum.
      int below = 0;
      for (const auto& [address, score] : fetched) {
        if (score->score && score->score->value >= *options.min_score) continue;
        ++below;
        ctx.console.warn(fmt::format(
            "{}: {} below the minimum of {:g}", address.to_string(),
            score->score ? "score " + display_score(score->score->value) : std::string("no score,"),
            *options.min_score));
      }
      if (below > 0) return to_int(ExitCode::check_failed);
    }
    return to_int(ExitCode::ok);
  }

  const std::chrono::milliseconds interval = options.interval;
  const bool clear = ctx.console.stdout_tty() && !ctx.console.json();
  int failed_rounds = 0;
  try {
    for (;;) {
      Fetched fetched = fetch_all(ctx, addresses, options.limit);
      int failures = show(ctx, fetched, clear ? "\033[H\033[2J" : "");
      if (auto error = report_failures(ctx, fetched)) ctx.console.error(*error);
      failed_rounds = failures == static_cast<int>(fetched.size()) ? failed_rounds + 1 : 0;
      if (failed_rounds >= kMaxWatchFailures) {
        throw Fatal(ExitCode::unavailable,
                    fmt::format("status --watch: {} refreshes in a row failed", failed_rounds), {},
                    "check the network and the pool's site, then start it again");
      }
      if (!ctx.console.json()) {
        ctx.console.note(ctx.console.paint_err(
            Console::Style::dim,
            fmt::format("refreshed at {}; next in {} (Ctrl-C stops)",
                        rfc3339_utc(ctx.effects.clock.now()), format_duration(interval))));
      }
      if (!ctx.effects.clock.sleep_for(interval, "status --watch")) break;
    }
  } catch (const Fatal& fatal) {
    if (fatal.error().code != ExitCode::interrupted) throw;
  }
  ctx.console.note("status --watch: stopped");
  return to_int(ExitCode::interrupted);
}

}  // namespace

Action add_status(CLI::App& sub) {
  auto options = std::make_shared<StatusOptions>();
  sub.add_option("address", options->addresses,
                 "Addresses to look up (default: this machine's global addresses)")
      ->type_name("ADDRESS");
  CLI::Option* watch =
      sub.add_option_function<std::string>(
             "--watch",
             [options](const std::string& value) {
               if (!value.empty()) options->interval = *parse_duration(value);
             },
             "Refresh every INTERVAL (30s, 5m, or seconds; default 60s) until interrupted")
          ->expected(0, 1)
          ->option_text("[INTERVAL] (Env:POOLJOIN_WATCH)")
          ->check(CLI::Validator(
              [](std::string& value) -> std::string {
                if (value.empty()) return {};
                auto interval = parse_duration(value);
                if (!interval) {
                  return fmt::format(
                      "'{}' is not an interval (60, 30s, 5m, 1h); give addresses before --watch",
                      value);
                }
                if (*interval < kMinWatch || *interval > kMaxWatch) {
                  return fmt::format("the interval must be from {} to {}",
                                     format_duration(kMinWatch), format_duration(kMaxWatch));
                }
                return {};
              },
              "", ""));
  CLI::Option* min_score =
      sub.add_option_function<double>(
             "--min-score", [options](double value) { options->min_score = value; },
             "Exit 1 when an address scores below SCORE (or has none): for cron and monitoring; "
             "with --nagios, CRITICAL below it (default 10)")
          ->type_name("SCORE")
          ->check(CLI::Range(-100.0, 20.0));
  min_score->excludes(watch);
  sub.add_option("--limit", options->limit,
                 "How many score points to fetch per address (all monitors together)")
      ->check(CLI::Range(1, kMaxScoreLimit));
  sub.add_option("--prometheus", options->prometheus,
                 "Also write the scores to FILE in node_exporter's textfile format (atomically)")
      ->type_name("FILE")
      ->check(output_file_validator(
          "give a file, like /var/lib/prometheus/node-exporter/pooljoin.prom", false));
  CLI::Option* nagios =
      sub.add_flag("--nagios", options->nagios,
                   "Print one Nagios/Icinga plugin line and exit 0 OK, 1 WARNING, 2 CRITICAL "
                   "(below --min-score, default 10) or 3 UNKNOWN");
  sub.add_option_function<double>(
         "--warn-score", [options](double value) { options->warn_score = value; },
         "With --nagios: WARNING below SCORE (at least --min-score)")
      ->type_name("SCORE")
      ->check(CLI::Range(-100.0, 20.0))
      ->needs(nagios);
  return [options, watch](Context& ctx) {
    options->watch = watch->count() > 0;
    return run_status(ctx, *options);
  };
}

}  // namespace pooljoin::cli
