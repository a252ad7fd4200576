// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/score_export.hpp"

#include <map>
#include <set>
#include <sstream>

#include "test_support.hpp"
#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1764280000));

ServerScore scored(const std::string& ip, const std::string& fixture) {
  auto document = parse_score_document(
      test::read_text(std::filesystem::path(POOLJOIN_FIXTURES) / "scores" / fixture));
  REQUIRE(document);
  ServerScore s;
  s.address = *IpAddress::parse(ip);
  s.known = true;
  s.document = std::move(*document);
  s.score = overall_score(s.document);
  return s;
}

ServerScore unknown(const std::string& ip) {
  ServerScore s;
  s.address = *IpAddress::parse(ip);
  return s;
}

std::pair<IpAddress, Result<ServerScore>> ok(ServerScore s) {
  IpAddress address = s.address;
  return {address, std::move(s)};
}

std::pair<IpAddress, Result<ServerScore>> failed(const std::string& ip, std::string why) {
  return {*IpAddress::parse(ip), fail(ExitCode::unavailable, "cannot get the pool's score of " + ip,
                                      std::move(why), "check --api-base")};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& line) {
  auto lines = lines_of(text);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// What the exposition format asks of the text's layout: each family once, HELP then TYPE then
// its samples, no sample outside its family, a line feed at the end.
void check_layout(const std::string& text) {
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  std::set<std::string> seen;
  std::string family;
  enum { want_help, want_type, in_samples } state = want_help;
  for (const auto& line : lines_of(text)) {
    INFO(line);
    if (line.rfind("# HELP ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      CHECK(seen.insert(name).second);
      CHECK(name.rfind("pooljoin_", 0) == 0);
      family = name;
      state = want_type;
    } else if (line.rfind("# TYPE ", 0) == 0) {
      CHECK(state == want_type);
      CHECK(line == "# TYPE " + family + " gauge");
      state = in_samples;
    } else {
      CHECK(state == in_samples);
      std::string name = line.substr(0, line.find_first_of("{ "));
      CHECK(name == family);
    }
  }
  CHECK(state == in_samples);
}

}  // namespace

TEST_CASE("label values escape backslash, double quote and line feed only", "[score_export]") {
  CHECK(prometheus_label_value("deham1-1a2b3c") == "deham1-1a2b3c");
  CHECK(prometheus_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(prometheus_label_value("tab\there 'quoted' ü") == "tab\there 'quoted' ü");
  CHECK(prometheus_label_value("") == "");
}

TEST_CASE("a healthy server's figures as Prometheus samples", "[score_export]") {
  ScoreLookups lookups;
  lookups.push_back(ok(scored("185.255.0.1", "healthy.json")));
  const std::string text = prometheus_text(lookups, kNow);
  check_layout(text);
  const std::string at = "address=\"185.255.0.1\"";
  CHECK(has_line(text, "pooljoin_status_up{" + at + "} 1"));
  CHECK(has_line(text, "pooljoin_known{" + at + "} 1"));
  CHECK(has_line(text, "pooljoin_score{" + at + "} 19.6"));
  CHECK(has_line(text, "pooljoin_in_dns{" + at + "} 1"));
  CHECK(has_line(text, "pooljoin_last_point_timestamp_seconds{" + at + "} 1764274200"));
  CHECK(has_line(text, "pooljoin_status_timestamp_seconds 1764280000"));
  CHECK(has_line(text,
                 "# HELP pooljoin_status_up Whether the pool's score API answered for the "
                 "address (1) or the lookup failed (0)."));
  // Each real monitor: its score, its newest offset (seconds), its status as a state set.
  CHECK(has_line(text, "pooljoin_monitor_score{" + at + ",monitor=\"deham1-1a2b3c\"} 20"));
  CHECK(has_line(text, "pooljoin_monitor_score{" + at + ",monitor=\"fihel1-0j1k2l\"} 17.5"));
  CHECK(has_line(text,
                 "pooljoin_monitor_offset_seconds{" + at + ",monitor=\"deham1-1a2b3c\"} 0.000412"));
  CHECK(has_line(
      text, "pooljoin_monitor_offset_seconds{" + at + ",monitor=\"fihel1-0j1k2l\"} -0.000304"));
  CHECK(has_line(
      text, "pooljoin_monitor_status{" + at + ",monitor=\"fihel1-0j1k2l\",status=\"testing\"} 1"));
  CHECK(has_line(
      text, "pooljoin_monitor_status{" + at + ",monitor=\"fihel1-0j1k2l\",status=\"active\"} 0"));
  int status_series = 0, current = 0;
  for (const auto& line : lines_of(text)) {
    if (line.rfind("pooljoin_monitor_status{", 0) != 0) continue;
    ++status_series;
    if (line.ends_with("} 1")) ++current;
  }
  CHECK(status_series == 4 * 6);  // four monitors, six statuses each
  CHECK(current == 4);
  // The computed scores are the overall score, not monitors.
  CHECK(text.find("recentmedian") == std::string::npos);
  CHECK(text.find("monitor=\"every\"") == std::string::npos);
}

TEST_CASE("a failed lookup gives only up 0, beside the others' figures", "[score_export]") {
  ScoreLookups lookups;
  lookups.push_back(failed("185.255.0.6", "the score document is not valid JSON"));
  lookups.push_back(ok(scored("185.255.0.16", "near-ten.json")));
  lookups.push_back(ok(unknown("185.255.0.4")));
  const std::string text = prometheus_text(lookups, kNow);
  check_layout(text);
  std::vector<std::string> failed_lines;
  for (const auto& line : lines_of(text))
    if (line.find("\"185.255.0.6\"") != std::string::npos) failed_lines.push_back(line);
  CHECK(failed_lines == std::vector<std::string>{"pooljoin_status_up{address=\"185.255.0.6\"} 0"});
  // Just below 10, raw: up, known, out of the DNS.
  CHECK(has_line(text, "pooljoin_score{address=\"185.255.0.16\"} 9.96"));
  CHECK(has_line(text, "pooljoin_in_dns{address=\"185.255.0.16\"} 0"));
  // Unknown to the pool: up (the site answered 404), not known, no score sample.
  CHECK(has_line(text, "pooljoin_status_up{address=\"185.255.0.4\"} 1"));
  CHECK(has_line(text, "pooljoin_known{address=\"185.255.0.4\"} 0"));
  CHECK(has_line(text, "pooljoin_in_dns{address=\"185.255.0.4\"} 0"));
  CHECK(text.find("pooljoin_score{address=\"185.255.0.4\"}") == std::string::npos);
}

TEST_CASE("every lookup failed: up 0 and the file's time, nothing else", "[score_export]") {
  ScoreLookups lookups;
  lookups.push_back(failed("2001:db8::1", "timed out"));
  CHECK(prometheus_text(lookups, kNow) ==
        "# HELP pooljoin_status_up Whether the pool's score API answered for the address (1) or "
        "the lookup failed (0).\n"
        "# TYPE pooljoin_status_up gauge\n"
        "pooljoin_status_up{address=\"2001:db8::1\"} 0\n"
        "# HELP pooljoin_status_timestamp_seconds When pooljoin status wrote this file (Unix "
        "seconds).\n"
        "# TYPE pooljoin_status_timestamp_seconds gauge\n"
        "pooljoin_status_timestamp_seconds 1764280000\n");
}

TEST_CASE("names from the site are escaped; an unknown status gets its own series",
          "[score_export]") {
  ServerScore s = scored("185.255.0.1", "healthy.json");
  for (auto& m : s.document.monitors) {
    if (m.name == "deham1-1a2b3c") {
      m.name = "evil\"} 1\npooljoin_score 99 \\";
      m.status = "retired";
    }
    if (m.name == "usewr2-4d5e6f") m.name.clear();
  }
  ScoreLookups lookups;
  lookups.push_back(ok(std::move(s)));
  const std::string text = prometheus_text(lookups, kNow);
  check_layout(text);
  const std::string evil = R"(monitor="evil\"} 1\npooljoin_score 99 \\")";
  CHECK(has_line(text, "pooljoin_monitor_score{address=\"185.255.0.1\"," + evil + "} 20"));
  CHECK(has_line(
      text, "pooljoin_monitor_status{address=\"185.255.0.1\"," + evil + ",status=\"retired\"} 1"));
  CHECK(has_line(
      text, "pooljoin_monitor_status{address=\"185.255.0.1\"," + evil + ",status=\"active\"} 0"));
  // A monitor without a name is labelled with its id.
  CHECK(has_line(text, "pooljoin_monitor_score{address=\"185.255.0.1\",monitor=\"102\"} 19.4"));
}

TEST_CASE("the plugin line: OK, WARNING and CRITICAL by the score", "[score_export][nagios]") {
  ScoreLookups healthy;
  healthy.push_back(ok(scored("185.255.0.1", "healthy.json")));
  PluginReport report = plugin_report(healthy, {});
  CHECK(report.state == PluginState::ok);
  CHECK(report.line ==
        "POOLJOIN OK - 185.255.0.1: score 19.6 | 'score_185.255.0.1'=19.6;;10:;-100;20");

  report = plugin_report(healthy, {15, 19.7});
  CHECK(report.state == PluginState::warning);
  CHECK(report.line ==
        "POOLJOIN WARNING - 185.255.0.1: score 19.6 (below 19.7) | "
        "'score_185.255.0.1'=19.6;19.7:;15:;-100;20");

  ScoreLookups near;
  near.push_back(ok(scored("185.255.0.16", "near-ten.json")));
  report = plugin_report(near, {});
  CHECK(report.state == PluginState::critical);
  // 9.96 is below 10: two decimals, never "10.0 (below 10)".
  CHECK(report.line ==
        "POOLJOIN CRITICAL - 185.255.0.16: score 9.96 (below 10) | "
        "'score_185.255.0.16'=9.96;;10:;-100;20");
  CHECK(plugin_report(near, {9.9, std::nullopt}).state == PluginState::ok);
  CHECK(plugin_report(near, {-5.5, 12}).line ==
        "POOLJOIN WARNING - 185.255.0.16: score 9.96 (below 12) | "
        "'score_185.255.0.16'=9.96;12:;-5.5:;-100;20");
}

TEST_CASE("the plugin line: no score is CRITICAL, a failed lookup UNKNOWN",
          "[score_export][nagios]") {
  ScoreLookups lookups;
  lookups.push_back(ok(unknown("185.255.0.4")));
  CHECK(plugin_report(lookups, {}).line ==
        "POOLJOIN CRITICAL - 185.255.0.4: not in the pool | 'score_185.255.0.4'=U;;10:;-100;20");

  ScoreLookups failures;
  failures.push_back(ok(scored("2a0a:e5c0::1", "healthy.json")));
  failures.push_back(
      failed("185.255.0.15", "http://x/ answered HTTP 403 Forbidden | body\nline 2"));
  PluginReport report = plugin_report(failures, {});
  CHECK(report.state == PluginState::unknown);
  // The problem first; what the site sent cannot start the perfdata or a second line.
  CHECK(report.line ==
        "POOLJOIN UNKNOWN - 185.255.0.15: no answer from the pool's site (http://x/ answered HTTP "
        "403 Forbidden / body\\nline 2), 2a0a:e5c0::1: score 19.6 | "
        "'score_2a0a:e5c0::1'=19.6;;10:;-100;20 'score_185.255.0.15'=U;;10:;-100;20");

  // A score out of the DNS outranks a lookup that failed.
  failures.push_back(ok(scored("185.255.0.16", "near-ten.json")));
  report = plugin_report(failures, {});
  CHECK(report.state == PluginState::critical);
  CHECK(report.line.rfind("POOLJOIN CRITICAL - 185.255.0.16: score 9.96 (below 10), "
                          "185.255.0.15: no answer",
                          0) == 0);
  CHECK(report.line.find('\n') == std::string::npos);
  CHECK(std::count(report.line.begin(), report.line.end(), '|') == 1);
}
