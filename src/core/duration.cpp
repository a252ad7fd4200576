// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/duration.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace pooljoin {
namespace {

// Nothing pooljoin waits for takes longer; a typo like "5000h" is refused rather than obeyed.
constexpr std::chrono::milliseconds kLongest = std::chrono::hours(24 * 7);

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  bool first = true;
  while (!text.empty()) {
    std::size_t digits = 0;
    while (digits < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    double number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
    if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
    text.remove_prefix(digits);
    std::size_t letters = 0;
    while (letters < text.size() && std::isalpha(static_cast<unsigned char>(text[letters])))
      ++letters;
    std::string_view unit = text.substr(0, letters);
    text.remove_prefix(letters);
    // A bare number is a whole value of seconds: "5 m" and "1.5.2" are refused, and so is
    // "1h30", which someone may have meant as 1h30m.
    if (unit.empty() && (!text.empty() || !first)) return std::nullopt;
    first = false;
    double scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s" || unit.empty())
      scale = 1000;
    else if (unit == "m" || unit == "min")
      scale = 60 * 1000;
    else if (unit == "h")
      scale = 3600 * 1000;
    else
      return std::nullopt;
    total_ms += number * scale;
    if (total_ms > static_cast<double>(kLongest.count())) return std::nullopt;
  }
  return std::chrono::milliseconds(std::llround(total_ms));
}

std::string format_duration(std::chrono::milliseconds duration) {
  auto ms = duration.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60000) {
    return ms % 1000 == 0 ? fmt::format("{}s", ms / 1000)
                          : fmt::format("{:.1f}s", static_cast<double>(ms) / 1000);
  }
  auto seconds = ms / 1000;
  if (seconds < 3600) {
    return seconds % 60 == 0 ? fmt::format("{}m", seconds / 60)
                             : fmt::format("{}m{}s", seconds / 60, seconds % 60);
  }
  return seconds % 3600 / 60 == 0 ? fmt::format("{}h", seconds / 3600)
                                  : fmt::format("{}h{}m", seconds / 3600, seconds % 3600 / 60);
}

}  // namespace pooljoin
