// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/selection.hpp"

#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/finding.hpp"
#include "pooljoin/fs.hpp"

using namespace pooljoin;

TEST_CASE("a saved selection reads back the same", "[selection]") {
  test::TempDir root;
  RootedFs fs(root.path());
  auto none = load_selection(fs);
  REQUIRE(none);
  CHECK_FALSE(*none);

  Selection selection;
  selection.created = "2026-11-26T03:22:43Z";
  selection.country = "de";
  selection.zone = "de.pool.ntp.org";
  selection.servers = {{"ptbtime1.ptb.de", *IpAddress::parse("192.53.103.108")},
                       {"2.de.pool.ntp.org", *IpAddress::parse("2001:638:a000:1123:123::1")}};
  REQUIRE(save_selection(fs, selection));
  auto loaded = load_selection(fs);
  REQUIRE(loaded);
  REQUIRE(*loaded);
  CHECK(**loaded == selection);
  CHECK(test::read_text(root.path() / "var/lib/pooljoin/selection.json")
            .find("\"family\": \"ipv6\"") != std::string::npos);
}

TEST_CASE("a damaged selection is an error that says what to do", "[selection]") {
  for (const char* text :
       {"", "[]", "{\"version\":2,\"servers\":[]}", "{\"version\":1}",
        "{\"version\":1,\"servers\":[{\"address\":\"1.2.3.4\\nrestrict default\"}]}"}) {
    INFO(text);
    auto parsed = selection_from_json(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().fix.find("pooljoin resolve") != std::string::npos);
  }
}

TEST_CASE("a selection's bad address is quoted escaped and short", "[selection][hostile]") {
  auto parsed = selection_from_json(
      R"({"version":1,"servers":[{"address":"1.2.3.4\n\u001b]0;owned\u0007 restrict default and a long tail"}]})");
  REQUIRE_FALSE(parsed);
  const std::string why = parsed.error().why;
  CHECK(why.find('\n') == std::string::npos);
  CHECK(why.find('\x1b') == std::string::npos);
  CHECK(why.find("1.2.3.4\\n\\x1b]0;owned\\x07") != std::string::npos);
  CHECK(why.find("long tail") == std::string::npos);
}

// Found by fuzz/selection: a member of another type threw out of selection_from_json.
TEST_CASE("a selection member of the wrong type is named, never a crash", "[selection]") {
  const char* const rows[][2] = {
      {R"({"version":"1","servers":[]})", "unknown version"},
      {R"({"version":1.5,"servers":[]})", "unknown version"},
      {R"({"version":1,"created":[],"servers":[]})", "\"created\" is not a string"},
      {R"({"version":1,"zone":5,"servers":[]})", "\"zone\" is not a string"},
      {R"({"version":1,"country":{},"servers":[]})", "\"country\" is not a string"},
      {R"({"version":1,"servers":[{"address":"192.0.2.1","host":true}]})",
       "\"host\" is not a string"},
  };
  for (const auto& [text, why] : rows) {
    INFO(text);
    auto parsed = selection_from_json(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == ExitCode::unavailable);
    CHECK(parsed.error().what == "cannot use /var/lib/pooljoin/selection.json");
    CHECK(parsed.error().why == why);
  }
  auto nulls = selection_from_json(R"({"version":1,"created":null,"servers":[]})");
  REQUIRE(nulls);
  CHECK(nulls->created.empty());
}

TEST_CASE("the worst finding decides", "[finding]") {
  CHECK(worst({}) == Severity::ok);
  CHECK(worst({{"a", Severity::ok, "x"}, {"b", Severity::warn, "y"}}) == Severity::warn);
  CHECK(worst({{"a", Severity::fail, "x"}, {"b", Severity::warn, "y"}}) == Severity::fail);
}

TEST_CASE("RFC 3339 times are UTC with a Z", "[selection]") {
  CHECK(rfc3339_utc(std::chrono::system_clock::time_point(std::chrono::seconds(1795660000))) ==
        "2026-11-26T02:26:40Z");
}

#include "pooljoin/join_state.hpp"

TEST_CASE("join's state reads back the same, and a damaged one says what to do", "[join]") {
  test::TempDir root;
  RootedFs fs(root.path());
  auto empty = load_join_state(fs);
  REQUIRE(empty);
  CHECK(*empty == JoinState{});
  JoinState state;
  state.updated = "2026-11-26T06:00:00Z";
  state.restart_pending = true;
  state.stopped_at = "restart";
  state.steps["gen-conf"] = {"done", "2026-11-26T05:59:00Z", "/etc/ntpsec/ntp.conf written"};
  state.steps["restart"] = {"interrupted", "2026-11-26T06:00:00Z", ""};
  REQUIRE(save_join_state(fs, state));
  auto loaded = load_join_state(fs);
  REQUIRE(loaded);
  CHECK(*loaded == state);
  // A version that is not the integer 1 (a string threw, exit 70; 1.5 was read as 1).
  for (const char* text :
       {"", "{}", "{\"version\":1,\"steps\":[1]}", "[1]", "{\"version\":\"1\"}",
        "{\"version\":1.5}", "{\"version\":1.0}", "{\"version\":[1]}", "{\"version\":null}",
        "{\"version\":true}", "{\"version\":-1}", "{\"version\":18446744073709551617}"}) {
    INFO(text);
    auto parsed = join_state_from_json(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == ExitCode::unavailable);
    CHECK(parsed.error().fix.find("pooljoin join") != std::string::npos);
  }
}
