// SPDX-License-Identifier: Apache-2.0
#include "options.hpp"

#include <fmt/format.h>

#include "pooljoin/duration.hpp"

namespace pooljoin::cli {

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

CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                          const std::string& description, std::chrono::milliseconds min,
                          std::chrono::milliseconds max) {
  const std::string shown = format_duration(target);
  return app
      .add_option_function<std::string>(
          name, [&target](const std::string& text) { target = *parse_duration(text); }, description)
      ->type_name("DURATION")
      ->check(duration_validator(min, max).description(""))
      ->default_str(shown);
}

CLI::Option* add_duration(CLI::App& app, const std::string& name,
                          std::optional<std::chrono::milliseconds>& target,
                          const std::string& description, std::chrono::milliseconds min,
                          std::chrono::milliseconds max) {
  CLI::Option* option =
      app.add_option_function<std::string>(
             name, [&target](const std::string& text) { target = *parse_duration(text); },
             description)
          ->type_name("DURATION")
          ->check(duration_validator(min, max).description(""));
  if (target) option->default_str(format_duration(*target));
  return option;
}

CLI::Option* add_seconds(CLI::App& app, const std::string& name, std::chrono::seconds& target,
                         const std::string& description, int min, int max) {
  const std::string shown = std::to_string(target.count());
  return app
      .add_option_function<int>(
          name, [&target](int seconds) { target = std::chrono::seconds(seconds); }, description)
      ->type_name("SECONDS")
      ->check(CLI::Range(min, max).description(""))
      ->default_str(shown);
}

}  // namespace pooljoin::cli
