// SPDX-License-Identifier: Apache-2.0
// libFuzzer: a daemon config as `gen-conf --lint` and `check` read it (the live file, whatever
// is in it), read as each daemon's; and an ntpd log as gen-conf's daemon check reads it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pooljoin/conf_lint.hpp"
#include "pooljoin/ntp_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pooljoin;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (Daemon daemon : {Daemon::ntpsec, Daemon::ntp, Daemon::chrony}) {
    for (const auto& lint : lint_config(text, daemon)) {
      if (lint.line < 0 || lint.line > lines) __builtin_trap();
      if (!lint.finding.id.starts_with("lint.")) __builtin_trap();
      if (lint.line > 0 && !lint.finding.message.starts_with("line " + std::to_string(lint.line)))
        __builtin_trap();
    }
    (void)lint_findings(text, daemon);
    (void)count_upstreams(text, daemon);
  }
  (void)guess_daemon(text);
  for (const auto& error : ntpd_config_errors(text))
    if (text.find(error) == std::string_view::npos) __builtin_trap();  // a line of the log
  return 0;
}
