// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"

namespace pooljoin::cli {

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> table = {
      {"detect",
       "Show what pooljoin sees: distribution, package manager, init system, "
       "virtualisation, NTP daemons, global addresses",
       add_detect},
      {"install-ntp", "Install the NTP daemon with the distribution's package manager",
       add_install_ntp},
      {"resolve", "Pick nearby upstream servers and resolve their A/AAAA records", add_resolve},
      {"gen-conf", "Render ntpd.conf (or chrony.conf) the way the pool asks", add_gen_conf},
      {"restart", "Restart the NTP daemon through the init system in use", add_restart},
      {"firewall", "Let UDP 123 in through the host firewall in force, persistently", add_firewall},
      {"check", "Probe UDP 123 and the daemon's sync state as the pool's monitors will", add_check},
      {"status", "Show the pool's score of this server", add_status},
      {"submit", "Pre-flight checks and what to enter on the pool's site", add_submit},
      {"web-redirect", "Optional: redirect HTTP on this server to the pool's site",
       add_web_redirect},
      {"join", "All of the steps, in order: the whole guide as one wizard", add_join},
      {"completion", "Print the completion script for bash, zsh or fish", add_completion},
  };
  return table;
}

}  // namespace pooljoin::cli
