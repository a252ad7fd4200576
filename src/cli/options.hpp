// SPDX-License-Identifier: Apache-2.0
// Typed options: values are checked and converted when the command line (or a POOLJOIN_*
// variable) is parsed, so a step gets durations as std::chrono, choices as enums, addresses as
// addresses, and a bad value is a usage error naming the option before anything runs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace pooljoin::cli {

// Accepts what parse_duration reads (90s, 5m, 1m30s, 500ms, a bare number of seconds), from
// `min` to `max` inclusive.
CLI::Validator duration_validator(std::chrono::milliseconds min = std::chrono::milliseconds(0),
                                  std::chrono::milliseconds max = std::chrono::hours(24 * 7));

// --NAME DURATION into `target` (whose value is the default shown).
CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                          const std::string& description, std::chrono::milliseconds min,
                          std::chrono::milliseconds max);
// The same, optional: nullopt when not given.
CLI::Option* add_duration(CLI::App& app, const std::string& name,
                          std::optional<std::chrono::milliseconds>& target,
                          const std::string& description, std::chrono::milliseconds min,
                          std::chrono::milliseconds max);

// --NAME SECONDS (a whole number from `min` to `max`) into `target`.
CLI::Option* add_seconds(CLI::App& app, const std::string& name, std::chrono::seconds& target,
                         const std::string& description, int min, int max);

// --NAME CHOICE into `target`: one of `choices` by name; "auto" (when `with_auto`) leaves it
// nullopt. The choices are an IsMember check, which the completion scripts offer.
template <class E>
CLI::Option* add_choice(CLI::App& app, const std::string& name, std::optional<E>& target,
                        std::vector<std::pair<std::string, E>> choices,
                        const std::string& description) {
  std::vector<std::string> names{"auto"};
  for (const auto& choice : choices)
    names.push_back(choice.first);
  return app
      .add_option_function<std::string>(
          name,
          [&target, choices](const std::string& value) {
            target.reset();
            for (const auto& [text, e] : choices)
              if (text == value) target = e;
          },
          description)
      ->check(CLI::IsMember(names))
      ->default_str("auto");
}

// The same without "auto": `target` always holds one of the choices.
template <class E>
CLI::Option* add_choice(CLI::App& app, const std::string& name, E& target,
                        std::vector<std::pair<std::string, E>> choices,
                        const std::string& description) {
  std::vector<std::string> names;
  std::string shown;
  for (const auto& choice : choices) {
    names.push_back(choice.first);
    if (choice.second == target) shown = choice.first;
  }
  return app
      .add_option_function<std::string>(
          name,
          [&target, choices](const std::string& value) {
            for (const auto& [text, e] : choices)
              if (text == value) target = e;
          },
          description)
      ->check(CLI::IsMember(names))
      ->default_str(shown);
}

}  // namespace pooljoin::cli
