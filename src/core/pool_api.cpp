// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/pool_api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/http.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

using nlohmann::json;

// Thrown inside the parser only, turned into an Error at its boundary.
struct ShapeError {
  std::string why;
};

std::string_view type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "something else";
  }
}

[[noreturn]] void wrong_type(const std::string& path, const json& value,
                             std::string_view expected) {
  throw ShapeError{fmt::format("{} is {}, expected {}", path, type_name(value), expected)};
}

// The member `key` of `object`, or nullptr when it is missing or null.
const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> number_or_null(const json& object, const char* key, const std::string& at) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number()) wrong_type(at + "." + key, *value, "a number");
  return value->get<double>();
}

double number(const json& object, const char* key, const std::string& at) {
  auto value = number_or_null(object, key, at);
  if (!value) throw ShapeError{fmt::format("{}.{} is missing", at, key)};
  return *value;
}

std::optional<std::int64_t> integer_or_null(const json& object, const char* key,
                                            const std::string& at) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  if (value->is_number_integer()) return value->get<std::int64_t>();
  // 1.7e9 written as a float is still a whole number of seconds; 2e45 is no int64 at all (and
  // casting it would be undefined).
  if (value->is_number_float()) {
    double d = value->get<double>();
    if (d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d)) return static_cast<std::int64_t>(d);
  }
  wrong_type(at + "." + key, *value, "an integer");
}

std::string string_or_empty(const json& object, const char* key, const std::string& at) {
  const json* value = member(object, key);
  if (!value) return {};
  if (!value->is_string()) wrong_type(at + "." + key, *value, "a string");
  return value->get<std::string>();
}

ScoreDocument parse_document(const json& root) {
  if (!root.is_object()) wrong_type("the document", root, "an object");
  ScoreDocument document;
  if (const json* history = member(root, "history")) {
    if (!history->is_array()) wrong_type("history", *history, "an array");
    for (std::size_t i = 0; i < history->size(); ++i) {
      const json& entry = (*history)[i];
      std::string at = fmt::format("history[{}]", i);
      if (!entry.is_object()) wrong_type(at, entry, "an object");
      ScorePoint point;
      auto ts = integer_or_null(entry, "ts", at);
      if (!ts) throw ShapeError{at + ".ts is missing"};
      point.ts = *ts;
      point.offset = number_or_null(entry, "offset", at);
      point.step = number_or_null(entry, "step", at).value_or(0.0);
      point.score = number(entry, "score", at);
      point.monitor_id = integer_or_null(entry, "monitor_id", at);
      if (point.monitor_id == 0) point.monitor_id.reset();  // how the API writes "none"
      point.rtt = number_or_null(entry, "rtt", at);
      document.history.push_back(point);
    }
  }
  if (const json* monitors = member(root, "monitors")) {
    if (!monitors->is_array()) wrong_type("monitors", *monitors, "an array");
    for (std::size_t i = 0; i < monitors->size(); ++i) {
      const json& entry = (*monitors)[i];
      std::string at = fmt::format("monitors[{}]", i);
      if (!entry.is_object()) wrong_type(at, entry, "an object");
      PoolMonitor monitor;
      auto id = integer_or_null(entry, "id", at);
      if (!id) throw ShapeError{at + ".id is missing"};
      monitor.id = *id;
      monitor.name = string_or_empty(entry, "name", at);
      monitor.type = string_or_empty(entry, "type", at);
      if (monitor.type.empty()) monitor.type = "monitor";
      monitor.ts = string_or_empty(entry, "ts", at);
      monitor.score = number_or_null(entry, "score", at);
      monitor.status = string_or_empty(entry, "status", at);
      monitor.avg_rtt = number_or_null(entry, "avg_rtt", at);
      document.monitors.push_back(std::move(monitor));
    }
  }
  if (const json* server = member(root, "server")) {
    if (!server->is_object()) wrong_type("server", *server, "an object");
    document.server_ip = string_or_empty(*server, "ip", "server");
  }
  std::stable_sort(document.history.begin(), document.history.end(),
                   [](const ScorePoint& a, const ScorePoint& b) { return a.ts < b.ts; });
  return document;
}

bool is_score_monitor(const PoolMonitor& monitor) {
  return monitor.type == "score";
}

// Monitor ids of the computed scores; a point without a monitor id (or id 0, which is how the
// API writes a missing one) belongs to no monitor.
std::set<std::int64_t> score_monitor_ids(const ScoreDocument& document) {
  std::set<std::int64_t> ids;
  for (const auto& monitor : document.monitors)
    if (is_score_monitor(monitor)) ids.insert(monitor.id);
  return ids;
}

bool has_monitor(const ScorePoint& point) {
  return point.monitor_id && *point.monitor_id != 0;
}

std::string body_excerpt(const std::string& body) {
  std::string text = body.substr(0, 300);
  std::replace_if(
      text.begin(), text.end(),
      [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\n'; }, ' ');
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

}  // namespace

Result<ScoreDocument> parse_score_document(std::string_view text) {
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return fail(ExitCode::unavailable, "the score document is not valid JSON",
                fmt::format("parse error at byte {}", e.byte));
  } catch (const json::out_of_range&) {
    // A number like 1e400 is well-formed JSON that no double holds (found by fuzz/score_json).
    return fail(ExitCode::unavailable, "the score document is not valid JSON",
                "a number beyond the range of a double");
  }
  try {
    return parse_document(root);
  } catch (const ShapeError& e) {
    return fail(ExitCode::unavailable, "the score document has an unexpected shape", e.why);
  } catch (const json::exception& e) {
    return fail(ExitCode::unavailable, "the score document has an unexpected shape", e.what());
  }
}

namespace {

// The newest history point of monitor `id`; nullptr when it has none (history is oldest first).
const ScorePoint* newest_point(const ScoreDocument& document, std::int64_t id) {
  const ScorePoint* newest = nullptr;
  for (const auto& point : document.history)
    if (point.monitor_id == id && (!newest || point.ts >= newest->ts)) newest = &point;
  return newest;
}

// The lower of the two middle values (the value itself for an odd count), as the pool takes it.
double lower_middle(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

}  // namespace

std::optional<OverallScore> overall_score(const ScoreDocument& document) {
  // 1. The recentmedian score monitor's newest point, raw (the monitors list rounds to 0.1).
  for (const auto& monitor : document.monitors) {
    if (!is_score_monitor(monitor) || monitor.name.rfind("recentmedian", 0) != 0) continue;
    if (const ScorePoint* point = newest_point(document, monitor.id))
      return OverallScore{point->score, monitor.name, monitor.id};
    if (monitor.score) {
      return OverallScore{*monitor.score, monitor.name + " (as listed, rounded to 0.1)",
                          monitor.id};
    }
  }

  // 2. The active monitors' recent scores: the lower middle one; with fewer than 3, the one whose
  // latest score is oldest.
  struct Recent {
    double score;
    std::int64_t ts;  // of its newest point; 0 when only listed
    const std::string* listed_ts;
  };
  std::vector<Recent> active;
  for (const auto& monitor : document.monitors) {
    if (is_score_monitor(monitor) || monitor.status != "active") continue;
    const ScorePoint* point = newest_point(document, monitor.id);
    if (point)
      active.push_back({point->score, point->ts, &monitor.ts});
    else if (monitor.score)
      active.push_back({*monitor.score, 0, &monitor.ts});
  }
  if (active.size() >= 3) {
    std::vector<double> scores;
    scores.reserve(active.size());
    for (const auto& a : active)
      scores.push_back(a.score);
    return OverallScore{lower_middle(scores),
                        fmt::format("the lower middle of {} active monitors", active.size()),
                        std::nullopt};
  }
  if (!active.empty()) {
    auto oldest =
        std::min_element(active.begin(), active.end(), [](const Recent& a, const Recent& b) {
          if (a.ts != b.ts) return a.ts < b.ts;
          return *a.listed_ts < *b.listed_ts;  // RFC 3339 in UTC sorts as text
        });
    return OverallScore{
        oldest->score,
        fmt::format("the active monitor with the oldest latest score (of {})", active.size()),
        std::nullopt};
  }

  // 3. Newest point per monitor (points without one form their own group).
  std::map<std::int64_t, double> newest;
  for (const auto& point : document.history)
    newest[has_monitor(point) ? *point.monitor_id : 0] = point.score;
  if (newest.empty()) return std::nullopt;
  std::vector<double> scores;
  scores.reserve(newest.size());
  for (const auto& [id, score] : newest)
    scores.push_back(score);
  return OverallScore{lower_middle(scores), "history", std::nullopt};
}

std::vector<ScorePoint> overall_history(const ScoreDocument& document) {
  std::vector<ScorePoint> points;
  auto overall = overall_score(document);
  for (const auto& point : document.history) {
    bool wanted = overall && overall->monitor_id ? point.monitor_id == overall->monitor_id
                                                 : !has_monitor(point);
    if (wanted) points.push_back(point);
  }
  return points;
}

std::vector<ScorePoint> monitor_history(const ScoreDocument& document) {
  auto computed = score_monitor_ids(document);
  std::vector<ScorePoint> points;
  for (const auto& point : document.history)
    if (has_monitor(point) && !computed.count(*point.monitor_id)) points.push_back(point);
  return points;
}

std::string scores_url(std::string_view api_base, const IpAddress& address, int limit) {
  return fmt::format("{}/scores/{}/json?monitor=*&limit={}", api_base, address.to_string(), limit);
}

std::string score_page_url(std::string_view api_base, const IpAddress& address) {
  return fmt::format("{}/scores/{}", api_base, address.to_string());
}

std::string display_score(double score, std::initializer_list<double> thresholds) {
  std::string text = fmt::format("{:.1f}", score);
  double shown = score;
  std::from_chars(text.data(), text.data() + text.size(), shown);  // not stod: no locale
  for (double threshold : thresholds)
    if ((score < threshold) != (shown < threshold)) return fmt::format("{:.2f}", score);
  return text;
}

Result<ServerScore> fetch_server_score(HttpClient& http, std::string_view api_base,
                                       const IpAddress& address, int limit) {
  ServerScore result;
  result.address = address;
  result.url = scores_url(api_base, address, std::clamp(limit, 1, kMaxScoreLimit));
  result.page = score_page_url(api_base, address);
  auto response = http.get({result.url, {"Accept: application/json"}, std::nullopt});
  if (!response) {
    Error error = std::move(response.error());
    if (error.code != ExitCode::interrupted)
      error.what =
          fmt::format("cannot get the pool's score of {}: {}", address.to_string(), error.what);
    return tl::unexpected(std::move(error));
  }
  if (response->status == 404) return result;  // known = false: not in the pool (yet)
  if (response->status == 429) {
    return fail(ExitCode::unavailable,
                fmt::format("the pool's site is rate-limiting requests for the score of {}",
                            address.to_string()),
                response->retry_after
                    ? fmt::format("HTTP 429; it asks to wait {} s", response->retry_after->count())
                    : std::string("HTTP 429"),
                "try again later, and avoid short --watch intervals");
  }
  if (response->status != 200) {
    return fail(
        ExitCode::unavailable,
        fmt::format("cannot get the pool's score of {}", address.to_string()),
        fmt::format("{} answered HTTP {}{}", response->effective_url,
                    http_status_text(response->status),
                    response->attempts > 1 ? fmt::format(" after {} attempts", response->attempts)
                                           : std::string()),
        response->status >= 500 ? "the site has a problem; try again later" : "check --api-base",
        body_excerpt(response->body));
  }
  auto document = parse_score_document(response->body);
  if (!document) {
    Error error = std::move(document.error());
    error.why = error.what + ": " + error.why;
    error.what =
        fmt::format("the pool's site sent a malformed score document for {}", address.to_string());
    error.fix = fmt::format("try again later; if it persists, check {}", response->effective_url);
    error.details = body_excerpt(response->body);
    return tl::unexpected(std::move(error));
  }
  result.known = true;
  result.document = std::move(*document);
  result.score = overall_score(result.document);
  return result;
}

}  // namespace pooljoin
