// The options that say how NTP servers are probed, shared by `check` and `resolve` so both
// take --samples, --interval and --timeout the same way; and the DURATION option type.
#pragma once

#include <chrono>
#include <string>

#include <CLI/CLI.hpp>

#include "pooljoin/ntp_probe.hpp"

namespace pooljoin::cli {

struct ProbeCliOptions {
  int samples = 3;
  std::string interval = "2s";
  std::string timeout = "3s";
};

// Accepts what parse_duration reads (90s, 5m, 1m30s, 500ms), from `min` to `max` inclusive.
CLI::Validator duration_validator(std::chrono::milliseconds min = std::chrono::milliseconds(0),
                                  std::chrono::milliseconds max = std::chrono::hours(24 * 7));

// The duration in `text`; Fatal(usage) naming `option` when it is not one.
std::chrono::milliseconds duration_of(const std::string& text, const char* option);

// --samples, --interval, --timeout, with the pool monitor's values as defaults.
void add_probe_options(CLI::App& sub, ProbeCliOptions& options);

ProbeOptions to_probe_options(const ProbeCliOptions& options);

}  // namespace pooljoin::cli
