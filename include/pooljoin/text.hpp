// One home for the small text and number helpers the components share (as ccache's
// util/string.hpp): nothing here knows the domain. Lists are joined with fmt::join.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pooljoin {

// ASCII lower case; other bytes are kept as they are.
std::string lower(std::string_view text);

// The median of `values`: the middle one, or the mean of the two middle ones for an even count.
// 0 for an empty list.
double median(std::vector<double> values);

}  // namespace pooljoin
