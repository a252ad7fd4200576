#include "probe_options.hpp"

#include <fmt/format.h>

#include "pooljoin/duration.hpp"
#include "pooljoin/error.hpp"

namespace pooljoin::cli {
namespace {

// Below 10 ms only this machine itself could answer: every real server would look silent.
constexpr std::chrono::milliseconds kMinProbeTimeout{10};
// A reply later than a minute is no reply, and a pause of more than a minute between queries
// makes a probe nobody waits for (the monitors wait 3 s and pause 2 s).
constexpr std::chrono::milliseconds kMaxProbeWait{60'000};

}  // namespace

CLI::Validator duration_validator(std::chrono::milliseconds min, std::chrono::milliseconds max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        auto value = parse_duration(text);
        if (!value) return "not a duration (e.g. 90s, 5m, 1m30s, 500ms): " + text;
        if (*value < min || *value > max) {
          return fmt::format("{} is outside {} to {}", text, format_duration(min),
                             format_duration(max));
        }
        return "";
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
                 "Pause between the queries to one address (the monitors wait 2s; at most 1m)")
      ->type_name("DURATION")
      ->check(duration_validator(std::chrono::milliseconds(0), kMaxProbeWait));
  sub.add_option("--timeout", options.timeout,
                 "How long to wait for each reply (the monitors wait 3s; 10ms to 1m)")
      ->type_name("DURATION")
      ->check(duration_validator(kMinProbeTimeout, kMaxProbeWait));
}

ProbeOptions to_probe_options(const ProbeCliOptions& options) {
  ProbeOptions probe;
  probe.samples = options.samples;
  probe.interval = duration_of(options.interval, "--interval");
  probe.timeout = duration_of(options.timeout, "--timeout");
  return probe;
}

}  // namespace pooljoin::cli
