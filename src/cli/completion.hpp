// SPDX-License-Identifier: Apache-2.0
// Shell completion for bash, zsh and fish, generated from the command line's own definition
// (the CLI11 model main builds), so that the scripts cannot drift from the options they complete.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pooljoin::cli {

// What the value of an option (or an operand) is, as far as completion is concerned.
enum class ValueKind {
  none,       // a flag: no value
  text,       // free text (an address, a number, a URL): nothing to offer
  file,       // a file name (the type name says FILE)
  directory,  // a directory name (the type name says DIR)
  choice,     // one of `choices` (a CLI::IsMember check)
};

struct CompletionOption {
  std::vector<std::string> short_names;  // "y" for -y
  std::vector<std::string> long_names;   // "yes" for --yes
  std::string description;
  ValueKind value = ValueKind::none;
  bool value_optional = false;  // `--lint [FILE]`: the value may be left out
  bool repeatable = false;      // may be given more than once (lists, counted flags)
  std::string value_name;       // DIR, FILE, SECONDS, ... (empty for a flag)
  std::vector<std::string> choices;

  // "--yes", else "-y": how the scripts name the option.
  std::string main_name() const;
  std::vector<std::string> all_names() const;  // "-y", "--yes"
};

struct CompletionOperand {
  std::string value_name;
  ValueKind value = ValueKind::text;
  bool repeatable = false;
  std::vector<std::string> choices;
};

struct CompletionCommand {
  std::string name;
  std::string description;
  std::vector<CompletionOption> options;  // its own, without the global ones
  std::vector<CompletionOperand> operands;
};

struct CompletionModel {
  std::string program;
  std::vector<CompletionOption> global_options;  // valid before and after the subcommand
  std::vector<CompletionCommand> commands;
};

// The model of `app` (the root: its options are the global ones) and of every subcommand.
// Choices come from CLI::IsMember checks, file and directory values from type names containing
// FILE or DIR.
CompletionModel completion_model(CLI::App& app);

std::string bash_completion(const CompletionModel& model);
std::string zsh_completion(const CompletionModel& model);
std::string fish_completion(const CompletionModel& model);

}  // namespace pooljoin::cli
