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
