// SPDX-License-Identifier: Apache-2.0
// The NTP daemons pooljoin can set up, and how each distribution packages them: package name,
// config path, service name, drift and leap-second files, as the distributions' packaging has
// them: Debian's packages (https://sources.debian.org), Fedora's spec files
// (https://src.fedoraproject.org), Alpine's APKBUILDs
// (https://gitlab.alpinelinux.org/alpine/aports), openSUSE's (https://build.opensuse.org) and
// Arch's (https://gitlab.archlinux.org/archlinux/packaging).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/error.hpp"
#include "pooljoin/os_release.hpp"

namespace pooljoin {

enum class Daemon { ntpsec, ntp, chrony };

std::string_view to_string(Daemon daemon);
std::optional<Daemon> parse_daemon(std::string_view name);
// The ntpd family (ntpsec and classic ntp) share the config syntax and mode 6.
inline bool is_ntpd_family(Daemon daemon) {
  return daemon != Daemon::chrony;
}
// The daemon's program: "chronyd", or "ntpd" for the ntpd family.
inline std::string_view daemon_program_name(Daemon daemon) {
  return daemon == Daemon::chrony ? "chronyd" : "ntpd";
}

// How the Debian family hands DHCP-offered NTP servers to the ntpd family: the DHCP clients' hooks
// write `copy` (the config with its servers replaced by the offered ones), and the packaged start
// script runs ntpd on that copy whenever it exists, unless `ignore_variable` is "yes" in
// `settings` (Debian's ntpsec package: its README.Debian and start script,
// https://salsa.debian.org/debian/ntpsec). Debian 11's classic ntp has no such switch.
struct DhcpHook {
  std::string copy;             // "/run/ntpsec/ntp.conf.dhcp"
  std::string settings;         // the start script's settings: "/etc/default/ntpsec"
  std::string ignore_variable;  // "IGNORE_DHCP"; empty when the start script has none
};

struct DaemonSpec {
  Daemon daemon;
  std::string package;      // what the package manager installs
  std::string config_path;  // the config file the packaged service reads
  std::string service;      // systemd unit / init script / OpenRC service name
  std::string driftfile;
  std::string leapfile;  // ntpd: leap-seconds.list path; chrony: leapsectz zone; may be empty
  std::optional<DhcpHook> dhcp = std::nullopt;  // where DHCP can replace the config's servers
  // The distribution's own config when config_path is only an administrator's override that may
  // be absent (openSUSE Tumbleweed's chrony: /usr/etc/chrony.conf); empty elsewhere. The daemon
  // reads config_path when it exists, else this one; gen-conf writes config_path.
  std::string vendor_config = {};
};

// How the distribution packages `daemon`; nullopt when it does not ship it (or ships only a
// transitional package, like Debian 12's `ntp`, which installs ntpsec).
std::optional<DaemonSpec> daemon_spec(const Distro& distro, Daemon daemon);

// The daemon `install-ntp --daemon auto` picks on a fresh system: the distribution's ntpd-family
// package where it has one, chrony otherwise; nullopt for an unknown distribution.
std::optional<Daemon> default_daemon(const Distro& distro);

// Every daemon the distribution packages, default first.
std::vector<Daemon> packaged_daemons(const Distro& distro);

struct SystemFacts;

// The daemon a step works on and how this system packages it: `daemon` when given (--daemon),
// else the one detect recommends. The one place every step decides this. ExitCode::unsupported
// for an unknown distribution (with `manual_fix`, what the operator can do by hand instead), a
// distribution with no daemon known, or a daemon it does not package (naming those it does).
Result<DaemonSpec> resolve_daemon_spec(const SystemFacts& facts, std::optional<Daemon> daemon,
                                       std::string_view manual_fix);

}  // namespace pooljoin
