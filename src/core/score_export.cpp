// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/score_export.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// The statuses the site gives monitors (the monitor objects of
// https://www.ntppool.org/scores/IP/json): each has its 0/1 series.
constexpr std::string_view kMonitorStatuses[] = {"active",  "testing", "candidate",
                                                 "pending", "paused",  "deleted"};

// The score's bounds, for the perfdata's min and max: the lowest --min-score takes, and the
// monitors' ceiling.
constexpr double kLowestScore = -100;

struct Sample {
  std::string labels;  // `name="value",...` without the braces; empty for none
  std::string value;
};

struct Family {
  std::string name;
  std::string help;
  std::vector<Sample> samples;
};

std::string label(std::string_view name, std::string_view value) {
  return fmt::format("{}=\"{}\"", name, prometheus_label_value(value));
}

// A float as the format takes it (Go's ParseFloat): the shortest text that reads back the same.
std::string number(double value) {
  return fmt::format("{}", value);
}

std::string monitor_name(const PoolMonitor& monitor) {
  return monitor.name.empty() ? std::to_string(monitor.id) : monitor.name;
}

// The real monitors of a document (not the computed scores), in the site's order.
std::vector<const PoolMonitor*> real_monitors(const ScoreDocument& document) {
  std::vector<const PoolMonitor*> monitors;
  for (const auto& m : document.monitors)
    if (m.type != "score") monitors.push_back(&m);
  return monitors;
}

void render_family(std::string& out, const Family& family) {
  if (family.samples.empty()) return;
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", family.name, family.help, family.name);
  for (const auto& sample : family.samples) {
    if (sample.labels.empty()) {
      out += fmt::format("{} {}\n", family.name, sample.value);
    } else {
      out += fmt::format("{}{{{}}} {}\n", family.name, sample.labels, sample.value);
    }
  }
}

// Text from the site or from an error, as it may stand in a plugin's line: printable, one line,
// no '|' (which starts the perfdata), at most `limit` characters.
std::string plugin_safe(std::string_view text, std::size_t limit = 120) {
  std::string safe = printable(text, limit);
  std::replace(safe.begin(), safe.end(), '|', '/');
  return safe;
}

// CRITICAL before UNKNOWN before WARNING before OK: a problem known beats a problem unknown.
int severity(PluginState state) {
  switch (state) {
    case PluginState::critical:
      return 3;
    case PluginState::unknown:
      return 2;
    case PluginState::warning:
      return 1;
    case PluginState::ok:
      break;
  }
  return 0;
}

std::string_view state_name(PluginState state) {
  switch (state) {
    case PluginState::ok:
      return "OK";
    case PluginState::warning:
      return "WARNING";
    case PluginState::critical:
      return "CRITICAL";
    case PluginState::unknown:
      break;
  }
  return "UNKNOWN";
}

}  // namespace

std::string prometheus_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string prometheus_text(const ScoreLookups& lookups,
                            std::chrono::system_clock::time_point now) {
  Family up{"pooljoin_status_up",
            "Whether the pool's score API answered for the address (1) or the lookup failed (0).",
            {}};
  Family known{
      "pooljoin_known", "Whether the pool knows the address (0: the score API answered 404).", {}};
  Family score{
      "pooljoin_score", "The overall score the pool's DNS decides by (raw, from -100 to 20).", {}};
  Family in_dns{"pooljoin_in_dns",
                fmt::format("Whether the score puts the address in the pool's DNS (score >= {:g}).",
                            kInPoolScore),
                {}};
  Family newest{"pooljoin_last_point_timestamp_seconds",
                "Time of the newest point of the address's score history (Unix seconds).",
                {}};
  Family monitor_score{"pooljoin_monitor_score", "Each monitor's score of the address.", {}};
  Family monitor_status{"pooljoin_monitor_status",
                        "The monitor's status for the address: 1 for the current one, 0 for "
                        "the others.",
                        {}};
  Family monitor_offset{"pooljoin_monitor_offset_seconds",
                        "The offset the monitor measured at its newest point (seconds).",
                        {}};
  Family generated{"pooljoin_status_timestamp_seconds",
                   "When pooljoin status wrote this file (Unix seconds).",
                   {}};

  for (const auto& [address, lookup] : lookups) {
    const std::string at = label("address", address.to_string());
    up.samples.push_back({at, lookup ? "1" : "0"});
    if (!lookup) continue;
    const ServerScore& s = *lookup;
    known.samples.push_back({at, s.known ? "1" : "0"});
    if (s.score) score.samples.push_back({at, number(s.score->value)});
    in_dns.samples.push_back({at, s.in_pool() ? "1" : "0"});
    if (!s.document.history.empty()) {
      auto latest =
          std::max_element(s.document.history.begin(), s.document.history.end(),
                           [](const ScorePoint& a, const ScorePoint& b) { return a.ts < b.ts; });
      newest.samples.push_back({at, std::to_string(latest->ts)});
    }
    // The newest point of each monitor (history is oldest first).
    std::map<std::int64_t, const ScorePoint*> last;
    for (const auto& p : s.document.history)
      if (p.monitor_id) last[*p.monitor_id] = &p;
    for (const PoolMonitor* m : real_monitors(s.document)) {
      const std::string labels = at + "," + label("monitor", monitor_name(*m));
      if (m->score) monitor_score.samples.push_back({labels, number(*m->score)});
      bool listed = false;
      for (std::string_view status : kMonitorStatuses) {
        listed = listed || status == m->status;
        monitor_status.samples.push_back(
            {labels + "," + label("status", status), status == m->status ? "1" : "0"});
      }
      if (!listed) {
        monitor_status.samples.push_back({labels + "," + label("status", m->status), "1"});
      }
      auto it = last.find(m->id);
      if (it != last.end() && it->second->offset) {
        monitor_offset.samples.push_back({labels, number(*it->second->offset)});
      }
    }
  }
  generated.samples.push_back(
      {"", std::to_string(
               std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count())});

  std::string out;
  for (const Family* family : {&up, &known, &score, &in_dns, &newest, &monitor_score,
                               &monitor_status, &monitor_offset, &generated}) {
    render_family(out, *family);
  }
  return out;
}

PluginReport plugin_report(const ScoreLookups& lookups, const PluginThresholds& thresholds) {
  struct Item {
    PluginState state;
    std::string text;
  };
  std::vector<Item> items;
  std::string perfdata;
  const std::string warn = thresholds.warning ? fmt::format("{:g}:", *thresholds.warning) : "";
  const std::string crit = fmt::format("{:g}:", thresholds.critical);

  for (const auto& [address, lookup] : lookups) {
    const std::string ip = address.to_string();
    std::string value = "U";
    if (!lookup) {
      const Error& e = lookup.error();
      items.push_back(
          {PluginState::unknown, fmt::format("{}: no answer from the pool's site ({})", ip,
                                             plugin_safe(e.why.empty() ? e.what : e.why))});
    } else if (!lookup->known) {
      items.push_back({PluginState::critical, fmt::format("{}: not in the pool", ip)});
    } else if (!lookup->score) {
      items.push_back({PluginState::critical, fmt::format("{}: no score yet", ip)});
    } else {
      const double v = lookup->score->value;
      value = number(v);
      // Never rounded across the pool's 10 or a threshold of the check.
      const double warning = thresholds.warning.value_or(thresholds.critical);
      std::string text = fmt::format(
          "{}: score {}", ip, display_score(v, {kInPoolScore, thresholds.critical, warning}));
      if (v < thresholds.critical) {
        items.push_back(
            {PluginState::critical, fmt::format("{} (below {:g})", text, thresholds.critical)});
      } else if (thresholds.warning && v < *thresholds.warning) {
        items.push_back(
            {PluginState::warning, fmt::format("{} (below {:g})", text, *thresholds.warning)});
      } else {
        items.push_back({PluginState::ok, std::move(text)});
      }
    }
    if (!perfdata.empty()) perfdata += ' ';
    perfdata += fmt::format("'score_{}'={};{};{};{:g};{:g}", ip, value, warn, crit, kLowestScore,
                            kMaxScore);
  }

  PluginReport report;
  report.state = PluginState::ok;
  for (const auto& item : items)
    if (severity(item.state) > severity(report.state)) report.state = item.state;
  if (items.empty()) report.state = PluginState::unknown;
  // The problems first: a monitoring system's view may show only the start of the line.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return severity(a.state) > severity(b.state);
  });
  std::string summary;
  for (const auto& item : items) {
    if (!summary.empty()) summary += ", ";
    summary += item.text;
  }
  if (summary.empty()) summary = "no address to look up";
  report.line = fmt::format("POOLJOIN {} - {} | {}", state_name(report.state), summary, perfdata);
  if (perfdata.empty()) report.line.resize(report.line.size() - 3);
  return report;
}

}  // namespace pooljoin
