// SPDX-License-Identifier: Apache-2.0
// The subcommands, one file each: add_X(CLI::App&) declares the options of the subcommand and
// returns the action that runs it.
#pragma once

#include <string_view>
#include <vector>

#include "context.hpp"
#include <CLI/CLI.hpp>

namespace pooljoin::cli {

struct CommandSpec {
  const char* name;
  const char* description;
  Action (*add)(CLI::App& sub);
};

Action add_check(CLI::App& sub);
Action add_completion(CLI::App& sub);
Action add_detect(CLI::App& sub);
Action add_firewall(CLI::App& sub);
Action add_install_ntp(CLI::App& sub);
Action add_join(CLI::App& sub);
Action add_resolve(CLI::App& sub);
Action add_status(CLI::App& sub);
Action add_submit(CLI::App& sub);
Action add_gen_conf(CLI::App& sub);
Action add_restart(CLI::App& sub);
Action add_web_redirect(CLI::App& sub);

// Every subcommand, in the order of the guide (and of `pooljoin --help`).
const std::vector<CommandSpec>& command_table();

}  // namespace pooljoin::cli
