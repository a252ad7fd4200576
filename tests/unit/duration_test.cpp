// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/duration.hpp"

#include <catch2/catch.hpp>

using namespace pooljoin;
using std::chrono::milliseconds;

TEST_CASE("durations as people type them", "[duration]") {
  CHECK(parse_duration("90") == milliseconds(90000));
  CHECK(parse_duration("90s") == milliseconds(90000));
  CHECK(parse_duration("5m") == milliseconds(300000));
  CHECK(parse_duration("5min") == milliseconds(300000));
  CHECK(parse_duration("1m30s") == milliseconds(90000));
  CHECK(parse_duration("1h") == milliseconds(3600000));
  CHECK(parse_duration("500ms") == milliseconds(500));
  CHECK(parse_duration("2.5s") == milliseconds(2500));
  CHECK(parse_duration("0") == milliseconds(0));
  for (const char* bad :
       {"", "s", "5 m", "-5s", "5x", "1.2.3s", "5mm", "m5", "200h", "5s ", "1h30", "1m30", "0s5"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("durations print in the syntax they are read in", "[duration]") {
  CHECK(format_duration(milliseconds(750)) == "750ms");
  CHECK(format_duration(milliseconds(2000)) == "2s");
  CHECK(format_duration(milliseconds(2500)) == "2.5s");
  CHECK(format_duration(milliseconds(300000)) == "5m");
  CHECK(format_duration(milliseconds(270000)) == "4m30s");
  CHECK(format_duration(milliseconds(5400000)) == "1h30m");
  CHECK(format_duration(milliseconds(86400000)) == "24h");
  for (int ms : {750, 2000, 2500, 300000, 270000, 5400000})
    CHECK(parse_duration(format_duration(milliseconds(ms))) == milliseconds(ms));
}
