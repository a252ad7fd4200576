// SPDX-License-Identifier: Apache-2.0
// libFuzzer: the score document of /scores/IP/json, from the pool's site or any --api-base, and
// the charts `status` draws from it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "score_charts.hpp"

#include "pooljoin/pool_api.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pooljoin;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto document = parse_score_document(text);
  if (!document) {
    if (document.error().code != ExitCode::unavailable) __builtin_trap();
    return 0;
  }
  for (std::size_t i = 1; i < document->history.size(); ++i)
    if (document->history[i - 1].ts > document->history[i].ts) __builtin_trap();  // oldest first
  (void)overall_score(*document);
  (void)overall_history(*document);
  (void)monitor_history(*document);
  for (bool utf8 : {true, false}) {
    for (int width : {40, 200})
      (void)cli::score_charts(*document, utf8, width);
  }
  return 0;
}
