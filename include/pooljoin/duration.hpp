// SPDX-License-Identifier: Apache-2.0
// Durations as people type them on a command line: "90s", "5m", "1h30m", "500ms", "2.5s", "300".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pooljoin {

// A sum of number+unit parts (units ms, s, m, h), or a bare number of seconds alone; nullopt for
// anything else ("1h30" included), for a negative value, or beyond a week.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "4m30s", "2.5s", "750ms": in the syntax parse_duration reads.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace pooljoin
