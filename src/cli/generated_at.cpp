#include "generated_at.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>

#include "pooljoin/error.hpp"
#include "pooljoin/selection.hpp"

namespace pooljoin::cli {

std::string generated_at(std::chrono::system_clock::time_point now) {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (!epoch || !*epoch) return rfc3339_utc(now);
  std::string_view text(epoch);
  if (text.size() > 12 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw Fatal(ExitCode::usage, "SOURCE_DATE_EPOCH is not a number of seconds", std::string(text),
                "unset it, or set it to seconds since 1970 (e.g. `date +%s`)");
  }
  return rfc3339_utc(
      std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(epoch))));
}

}  // namespace pooljoin::cli
