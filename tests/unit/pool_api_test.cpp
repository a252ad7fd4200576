// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/pool_api.hpp"

#include <map>

#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/http.hpp"

using namespace pooljoin;

namespace {

std::string fixture(const std::string& name) {
  return test::read_text(std::filesystem::path(POOLJOIN_FIXTURES) / "scores" / name);
}

ScoreDocument parsed(const std::string& json) {
  auto document = parse_score_document(json);
  INFO((document ? "" : document.error().message()));
  REQUIRE(document);
  return *document;
}

std::string parse_error(const std::string& json) {
  auto document = parse_score_document(json);
  REQUIRE_FALSE(document);
  CHECK(document.error().code == ExitCode::unavailable);
  return document.error().why;
}

// Answers from a table of URL -> response (or error); records what was asked.
class FakeHttp final : public HttpClient {
 public:
  std::map<std::string, Result<HttpResponse>> answers;
  std::vector<HttpRequest> asked;

  Result<HttpResponse> get(const HttpRequest& request) override {
    asked.push_back(request);
    auto it = answers.find(request.url);
    if (it == answers.end()) return fail(ExitCode::internal, "unexpected URL " + request.url);
    return it->second;
  }
};

HttpResponse response(long status, std::string body = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.effective_url = "https://www.ntppool.org/api/data/server/scores/x/json";
  return r;
}

const IpAddress kAddress = *IpAddress::parse("185.255.0.1");
const std::string kUrl = "https://www.ntppool.org/scores/185.255.0.1/json?monitor=*&limit=500";

}  // namespace

TEST_CASE("a healthy server's document parses with every figure", "[pool_api]") {
  ScoreDocument document = parsed(fixture("healthy.json"));
  CHECK(document.server_ip == "185.255.0.1");
  REQUIRE(document.monitors.size() == 6);
  CHECK(document.monitors[0] == PoolMonitor{24, "recentmedian", "score", "2025-11-27T20:00:00Z",
                                            19.6, "active", std::nullopt});
  CHECK(document.monitors[2] ==
        PoolMonitor{101, "deham1-1a2b3c", "monitor", "2025-11-27T20:00:00Z", 20.0, "active", 12.4});
  CHECK(document.monitors[5].status == "testing");
  CHECK_FALSE(document.monitors[5].avg_rtt);
  REQUIRE(document.history.size() == 72);
  // The API answers newest first; the document is oldest first.
  CHECK(std::is_sorted(document.history.begin(), document.history.end(),
                       [](const ScorePoint& a, const ScorePoint& b) { return a.ts < b.ts; }));
  CHECK(document.history.front().ts == 1764115260);
  CHECK(document.history.back().ts == 1764274200);
  // The probe sgsin1 missed: offset and rtt null, step -5.
  auto missed = std::find_if(document.history.begin(), document.history.end(),
                             [](const ScorePoint& p) { return p.step == -5; });
  REQUIRE(missed != document.history.end());
  CHECK(missed->monitor_id == 103);
  CHECK_FALSE(missed->offset);
  CHECK_FALSE(missed->rtt);

  auto score = overall_score(document);
  REQUIRE(score);
  CHECK(score->value == 19.6);
  CHECK(score->source == "recentmedian");
  CHECK(score->monitor_id == 24);
  auto overall = overall_history(document);
  CHECK(overall.size() == 12);
  CHECK(std::all_of(overall.begin(), overall.end(),
                    [](const ScorePoint& p) { return p.monitor_id == 24; }));
  CHECK(overall.back().score == 19.6);
  auto measured = monitor_history(document);
  CHECK(measured.size() == 48);  // 4 monitors x 12, without recentmedian and every
}

TEST_CASE("the old API's shape: monitors, offsets, rtt and monitor ids null", "[pool_api]") {
  ScoreDocument document = parsed(fixture("nulls.json"));
  CHECK(document.monitors.empty());
  REQUIRE(document.history.size() == 3);
  CHECK(document.history[0].ts == 1764262800);
  CHECK_FALSE(document.history[0].rtt);  // missing altogether
  CHECK_FALSE(document.history[2].offset);
  CHECK(document.history[1].offset == 0.0123);
  // No score monitor, no monitors: the newest point (all share no monitor) is the score.
  auto score = overall_score(document);
  REQUIRE(score);
  CHECK(score->value == -4.2);
  CHECK(score->source == "history");
  CHECK(overall_history(document).size() == 3);
  CHECK(monitor_history(document).empty());
}

TEST_CASE("the overall score: recentmedian's newest point, raw, else the active monitors'",
          "[pool_api]") {
  auto doc = [](const std::string& monitors, const std::string& history = "[]") {
    return parsed(R"({"history":)" + history + R"(,"monitors":)" + monitors + "}");
  };
  // The site lists recentmedian rounded to 0.1; its newest point is the raw score. 9.96 is
  // not in the pool's DNS, though it shows as 10.0.
  auto document =
      doc(R"([{"id":21,"name":"every","type":"score","score":12},
      {"id":24,"name":"recentmedian","type":"score","score":10.0}])",
          R"([{"ts":100,"score":9.2,"monitor_id":24},{"ts":200,"score":9.96,"monitor_id":24},
                          {"ts":150,"score":12.0,"monitor_id":21}])");
  auto score = overall_score(document);
  REQUIRE(score);
  CHECK(score->value == 9.96);
  CHECK(score->source == "recentmedian");
  ServerScore server;
  server.known = true;
  server.score = score;
  CHECK_FALSE(server.in_pool());
  // Without a point of it: as listed, and said to be rounded.
  score = overall_score(doc(R"([{"id":24,"name":"recentmedian","type":"score","score":15.5}])"));
  REQUIRE(score);
  CHECK(score->value == 15.5);
  CHECK_THAT(score->source, Catch::Contains("rounded to 0.1"));
  // "every" is not the overall score; the active monitors are (the testing one left out): the
  // lower middle of 10, 14, 19, 20 is 14.
  const std::string active = R"([{"id":21,"name":"every","type":"score","score":12},
      {"id":1,"name":"a","type":"monitor","score":20,"status":"active"},
      {"id":2,"name":"b","type":"monitor","score":10,"status":"active"},
      {"id":3,"name":"c","type":"monitor","score":-30,"status":"testing"},
      {"id":4,"name":"d","type":"monitor","score":14,"status":"active"},
      {"id":5,"name":"e","type":"monitor","score":19,"status":"active"}])";
  score = overall_score(doc(active));
  REQUIRE(score);
  CHECK(score->value == 14);
  CHECK(score->source == "the lower middle of 4 active monitors");
  // Their newest points, raw, over the rounded list: b's 10.04 instead of 10.
  score = overall_score(doc(active, R"([{"ts":5,"score":13.96,"monitor_id":4},
      {"ts":6,"score":10.04,"monitor_id":2}])"));
  CHECK(score->value == 13.96);
  // Fewer than 3 active: the one whose latest score is oldest.
  score = overall_score(
      doc(R"([{"id":1,"name":"a","type":"monitor","score":20,"status":"active"},
      {"id":2,"name":"b","type":"monitor","score":4,"status":"active"}])",
          R"([{"ts":300,"score":20,"monitor_id":1},{"ts":100,"score":4,"monitor_id":2}])"));
  REQUIRE(score);
  CHECK(score->value == 4);
  CHECK_FALSE(overall_score(doc("[]")));
  CHECK_FALSE(overall_score(parsed(R"({"history":null,"monitors":null})")));
}

TEST_CASE("without monitors, the lower middle of each monitor's newest point", "[pool_api]") {
  auto document = parsed(R"({"history":[
      {"ts":10,"score":1,"monitor_id":7},{"ts":20,"score":3,"monitor_id":7},
      {"ts":15,"score":8,"monitor_id":8},{"ts":16,"score":-2,"monitor_id":9},
      {"ts":17,"score":5,"monitor_id":10}]})");
  auto score = overall_score(document);
  REQUIRE(score);
  CHECK(score->value == 3);  // newest of 7, 8, 9, 10: 3, 8, -2, 5; the lower middle
  CHECK(monitor_history(document).size() == 5);
}

TEST_CASE("the real API's omissions: offset and rtt left out, monitor_id 0", "[pool_api]") {
  auto document = parsed(R"({"history":[{"ts":5,"step":1,"score":1.5,"monitor_id":0}],
      "monitors":[],"server":{"ip":"185.255.0.1"}})");
  REQUIRE(document.history.size() == 1);
  CHECK_FALSE(document.history[0].offset);
  CHECK_FALSE(document.history[0].rtt);
  CHECK_FALSE(document.history[0].monitor_id);  // 0 is how the API writes none
}

TEST_CASE("missing optional fields are tolerated, required ones are named", "[pool_api]") {
  auto document = parsed(R"({"history":[{"ts":5,"score":1.5}]})");
  REQUIRE(document.history.size() == 1);
  CHECK(document.history[0].step == 0);
  CHECK_FALSE(document.history[0].monitor_id);
  CHECK(parsed("{}").history.empty());
  CHECK(parsed(R"({"history":[{"ts":1.764e9,"score":1}]})").history[0].ts == 1764000000);
  // Unknown fields are ignored.
  CHECK(parsed(R"({"history":[],"monitors":[{"id":1,"color":"red"}],"extra":[1,2]})")
            .monitors[0]
            .type == "monitor");

  CHECK(parse_error(R"({"history":[{"score":1}]})") == "history[0].ts is missing");
  CHECK(parse_error(R"({"history":[{"ts":1}]})") == "history[0].score is missing");
  CHECK(parse_error(R"({"history":[{"ts":1,"score":null}]})") == "history[0].score is missing");
  CHECK(parse_error(R"({"monitors":[{"name":"x"}]})") == "monitors[0].id is missing");
}

TEST_CASE("wrong types are errors naming the field, never a crash", "[pool_api]") {
  struct Row {
    const char* json;
    const char* why;
  };
  const Row rows[] = {
      {R"([])", "the document is an array, expected an object"},
      {R"("text")", "the document is a string, expected an object"},
      {R"({"history":{}})", "history is an object, expected an array"},
      {R"({"history":[1]})", "history[0] is a number, expected an object"},
      {R"({"history":[{"ts":"now","score":1}]})", "history[0].ts is a string, expected an integer"},
      {R"({"history":[{"ts":1.5,"score":1}]})", "history[0].ts is a number, expected an integer"},
      // Found by fuzz/score_json (regressions/score_json/float-beyond-int64): undefined behaviour
      // casting it, caught by UBSan.
      {R"({"history":[{"ts":2.22222e45,"score":1}]})",
       "history[0].ts is a number, expected an integer"},
      {R"({"history":[{"ts":1,"score":1,"monitor_id":-1e19}]})",
       "history[0].monitor_id is a number, expected an integer"},
      {R"({"history":[{"ts":1,"score":"high"}]})",
       "history[0].score is a string, expected a number"},
      {R"({"history":[{"ts":1,"score":1,"offset":"0.1"}]})",
       "history[0].offset is a string, expected a number"},
      {R"({"history":[{"ts":1,"score":1,"rtt":true}]})",
       "history[0].rtt is a boolean, expected a number"},
      {R"({"history":[{"ts":1,"score":1,"monitor_id":[]}]})",
       "history[0].monitor_id is an array, expected an integer"},
      {R"({"monitors":"none"})", "monitors is a string, expected an array"},
      {R"({"monitors":[{"id":1,"name":5}]})", "monitors[0].name is a number, expected a string"},
      {R"({"monitors":[{"id":1,"score":{}}]})",
       "monitors[0].score is an object, expected a number"},
      {R"({"server":"1.2.3.4"})", "server is a string, expected an object"},
  };
  for (const auto& row : rows) {
    INFO(row.json);
    CHECK(parse_error(row.json) == row.why);
  }
  CHECK(parse_error(fixture("malformed.json")) == "parse error at byte 65");
  CHECK(parse_error("") == "parse error at byte 1");
  CHECK(parse_error("<html>") == "parse error at byte 1");
  CHECK(parse_error(R"({"history":[{"ts":177e242600,"score":1}]})") ==
        "a number beyond the range of a double");
}

TEST_CASE("fetching a score: the URL, 404 as unknown, errors as exit 69", "[pool_api]") {
  CHECK(scores_url("https://www.ntppool.org", *IpAddress::parse("2a0a:e5c0::1"), 100) ==
        "https://www.ntppool.org/scores/2a0a:e5c0::1/json?monitor=*&limit=100");

  FakeHttp http;
  http.answers.emplace(kUrl, response(200, fixture("healthy.json")));
  auto score = fetch_server_score(http, "https://www.ntppool.org", kAddress, 500);
  REQUIRE(score);
  CHECK(score->known);
  CHECK(score->in_pool());
  CHECK(score->score->value == 19.6);
  REQUIRE(http.asked.size() == 1);
  CHECK(http.asked[0].headers == std::vector<std::string>{"Accept: application/json"});
  CHECK_FALSE(http.asked[0].source);

  http.answers.insert_or_assign(kUrl, response(404, "server not found"));
  score = fetch_server_score(http, "https://www.ntppool.org", kAddress, 500);
  REQUIRE(score);
  CHECK_FALSE(score->known);
  CHECK_FALSE(score->in_pool());
  CHECK_FALSE(score->score);

  http.answers.insert_or_assign(kUrl, response(500, "internal error\n"));
  score = fetch_server_score(http, "https://www.ntppool.org", kAddress, 500);
  REQUIRE_FALSE(score);
  CHECK(score.error().code == ExitCode::unavailable);
  CHECK(score.error().why.find("HTTP 500 Internal Server Error") != std::string::npos);
  CHECK(score.error().details == "internal error");

  auto limited = response(429);
  limited.retry_after = std::chrono::seconds(3600);
  http.answers.insert_or_assign(kUrl, limited);
  score = fetch_server_score(http, "https://www.ntppool.org", kAddress, 500);
  REQUIRE_FALSE(score);
  CHECK(score.error().why == "HTTP 429; it asks to wait 3600 s");

  http.answers.insert_or_assign(kUrl, response(200, fixture("malformed.json")));
  score = fetch_server_score(http, "https://www.ntppool.org", kAddress, 500);
  REQUIRE_FALSE(score);
  CHECK(score.error().what == "the pool's site sent a malformed score document for 185.255.0.1");
  CHECK(score.error().why == "the score document is not valid JSON: parse error at byte 65");

  http.answers.insert_or_assign(
      kUrl, Result<HttpResponse>(fail(ExitCode::unavailable, "cannot resolve www.ntppool.org")));
  score = fetch_server_score(http, "https://www.ntppool.org", kAddress, 500);
  REQUIRE_FALSE(score);
  CHECK(score.error().what ==
        "cannot get the pool's score of 185.255.0.1: cannot resolve www.ntppool.org");

  http.answers.insert_or_assign(kUrl,
                                Result<HttpResponse>(fail(ExitCode::interrupted, "interrupted")));
  score = fetch_server_score(http, "https://www.ntppool.org", kAddress, 500);
  REQUIRE_FALSE(score);
  CHECK(score.error().code == ExitCode::interrupted);
}

TEST_CASE("a score of 10 or more puts a server in the pool's DNS", "[pool_api]") {
  ServerScore s;
  s.known = true;
  s.score = OverallScore{9.99, "recentmedian", 24};
  CHECK_FALSE(s.in_pool());
  s.score->value = kInPoolScore;
  CHECK(s.in_pool());
}
