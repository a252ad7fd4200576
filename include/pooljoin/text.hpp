// One home for the small text and number helpers the components share (as ccache's
// util/string.hpp): nothing here knows the domain. Lists are joined with fmt::join.
#pragma once

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

}  // namespace pooljoin
