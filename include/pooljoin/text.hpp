// SPDX-License-Identifier: Apache-2.0
// One home for the small text and number helpers the components share (as ccache's
// util/string.hpp): nothing here knows the domain. Lists are joined with fmt::join.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pooljoin {

// ASCII lower case; other bytes are kept as they are.
std::string lower(std::string_view text);

// The median of `values`: the middle one, or the mean of the two middle ones for an even count.
// 0 for an empty list.
double median(std::vector<double> values);

// The whole of `text` as a number; nullopt for anything else (blanks included).
std::optional<double> parse_double(std::string_view text);
std::optional<int> parse_int(std::string_view text, int base = 10);

// `line` cut at each `separator` (no quoting): "a,,b" is {"a", "", "b"}.
std::vector<std::string_view> split_fields(std::string_view line, char separator = ',');

// `text` as it may reach a terminal: C0 controls, DEL, C1 controls and bytes that are not
// UTF-8 written as \n, \r, \t or \xNN, and a backslash as \\; other UTF-8 is kept. With a
// `limit`, the result stops once it holds that many characters (an escape or a character is
// never cut), then says "...".
std::string printable(std::string_view text,
                      std::size_t limit = std::numeric_limits<std::size_t>::max());

}  // namespace pooljoin
