// SPDX-License-Identifier: Apache-2.0
#include "chart.hpp"

#include <cstdlib>

#include <catch2/catch.hpp>

using namespace pooljoin::cli;
using Lines = std::vector<std::string>;

TEST_CASE("bars: a held level, the mark where nothing is drawn, ASCII", "[chart]") {
  ChartSpec spec;
  spec.style = ChartStyle::bars;
  spec.width = 14;  // 2 label columns + the axis + 11 plot columns
  spec.height = 4;
  spec.utf8 = false;
  spec.min = 0;
  spec.max = 20;
  spec.mark = 10;
  spec.hold = true;
  // 1764115200 is 2025-11-26 00:00 UTC.
  Lines lines =
      render_chart({{1764115200 + 200, 20}, {1764115200, 0}, {1764115200 + 100, 10}}, spec);
  CHECK(lines == Lines{
                     "20+          #", "10+----------#", "  |     ######",
                     " 0+.....######",  // a value at the bottom of the scale still shows
                     "  +-----------",
                     "   11-26 00:03 UTC",  // no room for both times
                 });
}

TEST_CASE("bars: eighth blocks in UTF-8, and gaps without hold", "[chart]") {
  ChartSpec spec;
  spec.width = 13;
  spec.height = 2;
  spec.utf8 = true;
  spec.min = 0;
  spec.max = 20;
  Lines lines = render_chart({{0, 5}, {90, 15}}, spec);
  // 5 of 20 over 2 rows = 4 eighths; 15 of 20 = 12 eighths: a full cell and a half one.
  CHECK(lines == Lines{
                     "20┤         ▄",
                     " 0┤▄        █",
                     "  └──────────",
                     "   01-01 00:01 UTC",
                 });
}

TEST_CASE("dots: every point, around a zero line, ASCII", "[chart]") {
  ChartSpec spec;
  spec.style = ChartStyle::dots;
  spec.width = 13;
  spec.height = 3;
  spec.utf8 = false;
  spec.min = -1;
  spec.max = 1;
  spec.mark = 0;
  Lines lines = render_chart({{0, -1}, {45, 0}, {90, 1}, {90, -3}}, spec);
  CHECK(lines == Lines{
                     " 1+         *",
                     " 0+----*-----",
                     "-1+*        *",  // -3 is off the scale: drawn at its edge
                     "  +----------",
                     "   01-01 00:01 UTC",
                 });
}

TEST_CASE("dots: braille, two columns and four rows of dots per character", "[chart]") {
  ChartSpec spec;
  spec.style = ChartStyle::dots;
  spec.width = 12;  // 1 label column + the axis + 10 cells = 20 slots of dots
  spec.height = 2;  // 8 rows of dots
  spec.utf8 = true;
  spec.min = 0;
  spec.max = 3;
  Lines lines = render_chart({{0, 3}, {0, 0}, {19, 1}}, spec);
  REQUIRE(lines.size() == 4);
  // t=0: the left column of cell 0, top dot (0x01) and bottom dot (0x40).
  // t=19: the right column of cell 9; 1 of 3 is dot row 2 of 0-7 (the second of the lower cell).
  CHECK(lines[0] == "3┤⠁");
  CHECK(lines[1] == "0┤⡀        ⠐");
}

TEST_CASE("wide charts show the first and last time, in UTC", "[chart]") {
  ChartSpec spec;
  spec.width = 60;
  spec.utf8 = false;
  Lines lines = render_chart({{1764115200, 20}, {1764115200 + 86400 + 3600, 18}}, spec);
  REQUIRE(lines.size() == 7);
  CHECK(lines.back() == "   11-26 00:00" + std::string(31, ' ') + "11-27 01:00 UTC");
  CHECK(render_chart({}, spec).empty());
}

TEST_CASE("nice scale ceilings", "[chart]") {
  CHECK(nice_ceiling(3.45) == 5);
  CHECK(nice_ceiling(0.7) == 1);
  CHECK(nice_ceiling(12.3) == 20);
  CHECK(nice_ceiling(1) == 1);
  CHECK(nice_ceiling(50) == 50);
  CHECK(nice_ceiling(51) == 100);
  CHECK(nice_ceiling(0.012) == Approx(0.02));
  CHECK(nice_ceiling(0) == 1);
}

TEST_CASE("UTF-8 from the locale variables, the first one set deciding", "[chart]") {
  auto keep = [](const char* name) {
    const char* value = std::getenv(name);
    return std::pair<std::string, bool>(value ? value : "", value != nullptr);
  };
  auto all = keep("LC_ALL"), ctype = keep("LC_CTYPE"), lang = keep("LANG");
  ::unsetenv("LC_ALL");
  ::unsetenv("LC_CTYPE");
  ::setenv("LANG", "C.UTF-8", 1);
  CHECK(locale_is_utf8());
  ::setenv("LANG", "de_DE.utf8", 1);
  CHECK(locale_is_utf8());
  ::setenv("LC_CTYPE", "POSIX", 1);
  CHECK_FALSE(locale_is_utf8());
  ::setenv("LC_ALL", "en_US.UTF-8", 1);
  CHECK(locale_is_utf8());
  ::unsetenv("LC_ALL");
  ::unsetenv("LC_CTYPE");
  ::unsetenv("LANG");
  CHECK_FALSE(locale_is_utf8());
  for (auto [name, saved] : {std::pair{"LC_ALL", all}, {"LC_CTYPE", ctype}, {"LANG", lang}}) {
    if (saved.second) ::setenv(name, saved.first.c_str(), 1);
  }
}

#include <cmath>
#include <limits>

#include "generated_at.hpp"
#include "score_charts.hpp"
#include <fmt/format.h>

#include "pooljoin/error.hpp"
#include "pooljoin/pool_api.hpp"

TEST_CASE("score charts of extreme timestamps and values: no overflow, no stray row",
          "[chart][hostile]") {
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  // Each: the two points' timestamps, and their offsets (s) and scores, crossed (as JSON text).
  const std::vector<std::array<std::string, 4>> documents = {
      {std::to_string(kMin), std::to_string(kMax), "1e300", "-1e300"},
      {std::to_string(kMax), std::to_string(kMin), "-1e300", "1e300"},
      {"0", std::to_string(kMax), "1e300", "0"},
      {std::to_string(kMin), "0", "0", "-1e300"},
  };
  for (const auto& [t0, t1, a, b] : documents) {
    const std::string json =
        fmt::format(R"({{"history":[{{"ts":{0},"offset":{2},"score":{3},"monitor_id":7}},)"
                    R"({{"ts":{1},"offset":{3},"score":{2},"monitor_id":7}}],)"
                    R"("monitors":[{{"id":7,"name":"m","type":"monitor","status":"active"}}]}})",
                    t0, t1, a, b);
    INFO(json);
    auto document = pooljoin::parse_score_document(json);
    REQUIRE(document);
    for (bool utf8 : {false, true}) {
      const std::string text = score_charts(*document, utf8, 60);
      CHECK(text.find("nan") == std::string::npos);
      // Every span here is beyond 100 years: a wrapped one said "1 min" or "-106751991167300 days".
      CHECK(text.find(" days)") != std::string::npos);
      CHECK(text.find("over -") == std::string::npos);
      CHECK(text.find(" min)") == std::string::npos);
    }
  }
  // Offsets that are infinite in ms (1.7e308 s) are left off: one point, or no chart.
  for (const char* offset : {"1.7e308", "-1.7e308"}) {
    auto document = pooljoin::parse_score_document(
        fmt::format(R"({{"history":[{{"ts":{},"offset":{},"score":1,"monitor_id":7}},)"
                    R"({{"ts":{},"offset":0.001,"score":1,"monitor_id":7}}],)"
                    R"("monitors":[{{"id":7,"name":"m","type":"monitor","status":"active"}}]}})",
                    kMin, offset, kMax));
    REQUIRE(document);
    const std::string text = score_charts(*document, true, 60);
    CHECK(text.find("(1 point)") != std::string::npos);
  }
}

TEST_CASE("SOURCE_DATE_EPOCH up to the end of the year 9999, not beyond", "[generated_at]") {
  const char* saved = std::getenv("SOURCE_DATE_EPOCH");
  const std::string old = saved ? saved : "";
  ::setenv("SOURCE_DATE_EPOCH", "253402300799", 1);
  CHECK(generated_at({}) == "9999-12-31T23:59:59Z");
  for (const char* beyond : {"253402300800", "999999999999"}) {
    INFO(beyond);
    ::setenv("SOURCE_DATE_EPOCH", beyond, 1);
    try {
      generated_at({});
      FAIL("accepted");
    } catch (const pooljoin::Fatal& fatal) {
      CHECK(fatal.error().code == pooljoin::ExitCode::usage);
      CHECK(fatal.error().what.find("SOURCE_DATE_EPOCH") != std::string::npos);
    }
  }
  if (saved) {
    ::setenv("SOURCE_DATE_EPOCH", old.c_str(), 1);
  } else {
    ::unsetenv("SOURCE_DATE_EPOCH");
  }
}
