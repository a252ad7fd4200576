// SPDX-License-Identifier: Apache-2.0
// DHCP-offered NTP servers. On the Debian family the DHCP clients' hooks (dhclient,
// NetworkManager, systemd-networkd) write a copy of the ntpd config in which the offered servers
// replace the config's own, and the packaged start script runs ntpd on that copy whenever it
// exists, unless the settings file turns it off (ntpsec: IGNORE_DHCP="yes" in
// /etc/default/ntpsec; Debian 11's classic ntp has no switch). A pool server must keep its own
// upstreams: gen-conf turns the copy off, and check and --lint read the config the daemon really
// runs. chrony has the same in `sourcedir /run/chrony-dhcp`, which the linter reports.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/daemons.hpp"
#include "pooljoin/finding.hpp"

namespace pooljoin {

class RootedFs;

// The value a shell settings file gives `variable`: its last plain assignment (`VAR=value`,
// `VAR="value"`, `VAR='value'`, `export VAR=...`), unquoted; nullopt when it assigns none.
std::optional<std::string> shell_assignment(std::string_view text, std::string_view variable);

// `text` with `variable` set to `value` (double-quoted): every plain assignment of it replaced in
// place, or, when there is none, one appended with a comment. Every other line is kept as it is.
std::string with_shell_assignment(std::string_view text, std::string_view variable,
                                  std::string_view value, std::string_view comment);

// What DHCP does to the daemon's config on this system.
struct DhcpState {
  DhcpHook hook;
  bool copy_exists = false;            // a DHCP client wrote hook.copy
  std::vector<std::string> offered;    // the servers the copy names (server and peer lines)
  std::optional<std::string> setting;  // hook.ignore_variable's value; nullopt when unset
  // The start script runs the config itself, whatever DHCP writes.
  bool ignored() const { return !hook.ignore_variable.empty() && setting == "yes"; }
  // The config the start script runs ntpd on next: the copy or the config itself.
  bool copy_in_force() const { return copy_exists && !ignored(); }
};

// nullopt when the distribution's packaging of spec.daemon has no DHCP hook.
std::optional<DhcpState> read_dhcp_state(const RootedFs& fs, const DaemonSpec& spec);

// A change to the daemon's start settings, planned beside its config by gen-conf and applied with
// it (atomically, with a backup); restart makes it take effect.
struct SettingsEdit {
  std::string path;                    // system path
  std::optional<std::string> current;  // nullopt: the file is created
  std::string text;
  std::string why;  // for people: what the edit does and why
  bool changes() const { return current != text; }
};

// The edit that makes the start script ignore the DHCP copy: nullopt when the packaging has no
// such switch, when it is already "yes", or when the daemon is not installed yet (its package
// then brings the settings file, and gen-conf after the install sets it).
std::optional<SettingsEdit> plan_ignore_dhcp(const RootedFs& fs, const DaemonSpec& spec);

// The config file the running daemon was started with (`-c FILE`, `--configfile FILE`, or the
// packaged path when it names none), read from /proc on the live system only; nullopt when the
// daemon does not run in this network namespace, or in an image.
std::optional<std::string> running_config(const RootedFs& fs, const DaemonSpec& spec);

// Whether DHCP replaces, or will replace at the next start, the config's upstreams:
//   dhcp.copy-in-force     the daemon runs (or will run) the copy DHCP wrote (fail)
//   dhcp.not-restarted     it is turned off, but the running daemon still runs the copy (fail)
//   dhcp.ignored           a copy exists and the start script ignores it (ok)
// No finding when there is no copy. `running` is running_config().
std::vector<Finding> diagnose_dhcp(const DhcpState& state, const DaemonSpec& spec,
                                   const std::optional<std::string>& running);

// The config the daemon reads: the one it runs, else the one its start script would run (the
// DHCP copy in force, else config_path, else the vendor config when config_path is an absent
// override).
std::string effective_config(const RootedFs& fs, const DaemonSpec& spec,
                             const std::optional<DhcpState>& dhcp,
                             const std::optional<std::string>& running);

}  // namespace pooljoin
