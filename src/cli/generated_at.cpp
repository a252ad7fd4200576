// SPDX-License-Identifier: Apache-2.0
#include "generated_at.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string_view>

#include <fmt/format.h>

#include "pooljoin/error.hpp"
#include "pooljoin/selection.hpp"

namespace pooljoin::cli {
namespace {

// 9999-12-31T23:59:59Z: an RFC 3339 date has four digits of year.
constexpr long long kLastEpochSecond = 253'402'300'799;

}  // namespace

std::string generated_at(std::chrono::system_clock::time_point now) {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (!epoch || !*epoch) return rfc3339_utc(now);
  std::string_view text(epoch);
  if (text.size() > 12 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw Fatal(ExitCode::usage, "SOURCE_DATE_EPOCH is not a number of seconds", std::string(text),
                "unset it, or set it to seconds since 1970 (e.g. `date +%s`)");
  }
  const long long seconds = std::stoll(epoch);
  if (seconds > kLastEpochSecond) {
    throw Fatal(
        ExitCode::usage, "SOURCE_DATE_EPOCH is beyond the year 9999", std::string(text),
        fmt::format("unset it, or set it to seconds since 1970 up to {}", kLastEpochSecond));
  }
  // Not through a time_point: its nanoseconds end in the year 2262.
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace pooljoin::cli
