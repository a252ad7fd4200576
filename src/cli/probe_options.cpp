#include "probe_options.hpp"

#include <fmt/format.h>

#include "pooljoin/duration.hpp"
#include "pooljoin/error.hpp"

namespace pooljoin::cli {

CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return parse_duration(text) ? "" : "not a duration (e.g. 90s, 5m, 1m30s, 500ms): " + text;
      },
      "DURATION");
}

std::chrono::milliseconds duration_of(const std::string& text, const char* option) {
  auto value = parse_duration(text);
  if (!value) {
    throw Fatal(ExitCode::usage, fmt::format("{}: '{}' is not a duration", option, text), {},
                "write it like 90s, 5m, 1m30s or 500ms");
  }
  return *value;
}

void add_probe_options(CLI::App& sub, ProbeCliOptions& options) {
  sub.add_option("--samples", options.samples, "Queries per address (the monitors send 3)")
      ->check(CLI::Range(1, 20));
  sub.add_option("--interval", options.interval,
                 "Pause between the queries to one address (the monitors wait 2s)")
      ->type_name("DURATION")
      ->check(duration_validator());
  sub.add_option("--timeout", options.timeout,
                 "How long to wait for each reply (the monitors wait 3s)")
      ->type_name("DURATION")
      ->check(duration_validator());
}

ProbeOptions to_probe_options(const ProbeCliOptions& options) {
  ProbeOptions probe;
  probe.samples = options.samples;
  probe.interval = duration_of(options.interval, "--interval");
  probe.timeout = duration_of(options.timeout, "--timeout");
  return probe;
}

}  // namespace pooljoin::cli
