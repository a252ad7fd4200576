// SPDX-License-Identifier: Apache-2.0
// The pool's public score API (https://www.ntppool.org/scores/IP/json, served by
// https://github.com/ntppool/data-api): the score document of a server, parsed tolerantly, and what
// `status` and `submit` conclude from it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"

namespace pooljoin {

class HttpClient;

inline constexpr const char* kDefaultApiBase = "https://www.ntppool.org";
// Where an operator adds a server; the pool has no API for it (adding is done on
// https://manage.ntppool.org).
inline constexpr const char* kManageServersUrl = "https://manage.ntppool.org/manage/servers";
// The pool hands a server out in DNS from this overall score up (the pool site's own code,
// https://github.com/abh/ntppool).
inline constexpr double kInPoolScore = 10.0;
// The monitors' steady-state ceiling: 0.95 * 20 + 1 = 20.
inline constexpr double kMaxScore = 20.0;
// The API's own bounds for `limit` (it silently caps larger values).
inline constexpr int kMaxScoreLimit = 10000;

// One probe of one monitor, or one point of a computed score ("recentmedian").
struct ScorePoint {
  std::int64_t ts = 0;                     // Unix seconds
  std::optional<double> offset;            // seconds; null when the probe got no answer
  double step = 0;                         // what this probe added to the score
  double score = 0;                        // the score after it
  std::optional<std::int64_t> monitor_id;  // null in documents of the old API
  std::optional<double> rtt;               // milliseconds; null when unknown
  bool operator==(const ScorePoint&) const = default;
};

struct PoolMonitor {
  std::int64_t id = 0;
  std::string name;
  std::string type;  // "monitor", or "score" for the computed scores (recentmedian, every)
  std::string ts;    // RFC 3339 time of its latest score
  std::optional<double> score;
  std::string status;             // active, testing, candidate, pending, paused, deleted
  std::optional<double> avg_rtt;  // milliseconds
  bool operator==(const PoolMonitor&) const = default;
};

struct ScoreDocument {
  std::vector<ScorePoint> history;    // sorted oldest first, whatever order the API used
  std::vector<PoolMonitor> monitors;  // empty when the API sent null
  std::string server_ip;              // as the API spelled it; may be empty
};

// Parses the JSON of /scores/IP/json. Nulls and missing optional fields are tolerated (offset,
// rtt, monitor_id, avg_rtt, step, monitors, server); a document that is not JSON, or a field of
// the wrong type, is an error naming the field ("history[3].score is a string, expected a
// number"), with ExitCode::unavailable.
Result<ScoreDocument> parse_score_document(std::string_view json);

// The overall score the pool uses (the "recentmedian" monitor of
// https://github.com/ntppool/monitor), and where it came from:
//   1. the "recentmedian" score monitor's newest history point, raw (the monitors list rounds
//      its score to 0.1: used only when the history has no point of it);
//   2. else the active monitors' recent scores: the lower middle one; with fewer than 3, the
//      one whose latest score is oldest;
//   3. else the lower middle of each monitor's newest score in the history;
//   nullopt when the document has no score at all.
struct OverallScore {
  double value = 0;
  std::string source;  // "recentmedian", "the lower middle of N active monitors", ...
  std::optional<std::int64_t> monitor_id;  // the score monitor it came from, if any
};
std::optional<OverallScore> overall_score(const ScoreDocument& document);

// The points of the overall score over time, oldest first: those of the score monitor when the
// document names one, else those without a monitor id.
std::vector<ScorePoint> overall_history(const ScoreDocument& document);

// The points of the real monitors (not the computed scores), oldest first.
std::vector<ScorePoint> monitor_history(const ScoreDocument& document);

struct ServerScore {
  IpAddress address;
  bool known = false;  // false: the pool does not know the address (HTTP 404)
  ScoreDocument document;
  std::optional<OverallScore> score;
  std::string url;   // what was asked
  std::string page;  // the address's page on the pool's site, for people

  // In the pool's DNS rotation, as far as the score decides it: the raw score >= kInPoolScore
  // (9.96 is not in). A net speed of 0 or a deletion keeps it out even so; the API says neither.
  bool in_pool() const { return score && score->value >= kInPoolScore; }
};

// The score as people read it: one decimal, or two where one decimal would round it across one
// of `thresholds` (the site decides by the raw score: 9.96 is not 10.0).
std::string display_score(double score, std::initializer_list<double> thresholds = {kInPoolScore});

// "<base>/scores/<address>/json?monitor=*&limit=<limit>". `api_base` is a URL parse_http_url
// accepted with allow_query = false, without a trailing '/'.
std::string scores_url(std::string_view api_base, const IpAddress& address, int limit);
// "<base>/scores/<address>": the page people open.
std::string score_page_url(std::string_view api_base, const IpAddress& address);

// Fetches and parses the score document of `address` (every monitor, `limit` points). A 404 is
// a successful answer with known = false. Other statuses, transport failures and malformed
// documents are ExitCode::unavailable errors that say which and what to do.
Result<ServerScore> fetch_server_score(HttpClient& http, std::string_view api_base,
                                       const IpAddress& address, int limit);

}  // namespace pooljoin
