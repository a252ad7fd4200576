// SPDX-License-Identifier: Apache-2.0
// `detect`: the facts later steps decide from. Everything is read under --root (os-release,
// binaries, /proc, /sys, /run markers), except the machine's addresses, which come from the
// kernel (getifaddrs).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pooljoin/address_lifetime.hpp"
#include "pooljoin/daemons.hpp"
#include "pooljoin/finding.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/os_release.hpp"

namespace pooljoin {

class RootedFs;
class ProcessRunner;

enum class InitSystem { systemd, openrc, sysvinit, runit, none };
std::string_view to_string(InitSystem init);

// Why the pool cannot use one of the machine's addresses.
enum class Exclusion {
  none,        // a global unicast address: the pool can use it
  not_global,  // address.scope() says where it is routed instead
  temporary,   // an IPv6 privacy address: it changes
  deprecated,  // an IPv6 address on its way out
  tentative,   // an IPv6 address not yet valid (duplicate address detection)
};

struct LocalAddress {
  IpAddress address;
  std::string interface;
  Exclusion excluded = Exclusion::none;
  // How long the kernel keeps it (netlink); nullopt when that could not be read.
  std::optional<AddressLifetime> lifetime = std::nullopt;

  // Why it is excluded, for people ("private (RFC 1918)", "temporary (privacy) address"); empty
  // when it is not.
  std::string reason() const;
  // A private or carrier-grade NAT address: the machine may sit behind NAT.
  bool behind_nat() const { return address.scope() == AddressScope::private_network; }
};

struct SystemFacts {
  Distro distro;
  std::string package_manager;  // "apt-get", "dnf", "yum", "pacman", "zypper", "apk"; "" if none
  InitSystem init = InitSystem::none;
  std::string virtualization;  // "none", "openvz", "lxc", "docker", "podman", "kvm", "xen", ...
  // Time daemons: "ntpsec", "ntp", "chrony", "openntpd", "systemd-timesyncd", "busybox-ntpd"
  // (Alpine's /usr/sbin/ntpd, a busybox applet: a client to stop, never set up).
  std::vector<std::string> daemons_installed;
  std::vector<std::string> daemons_running;
  // The daemon to set up: one already installed that pooljoin supports (the running one first),
  // else the distribution's default; nullopt on an unknown distribution.
  std::optional<Daemon> recommended;
  std::vector<LocalAddress> addresses;  // global unicast addresses: what the pool will see
  std::vector<LocalAddress> excluded;   // the machine's other addresses, with the reason

  bool has_installed(std::string_view daemon) const;
  // Only private addresses besides loopback: typical behind 1:1 NAT, as on most clouds.
  bool only_private_addresses() const;
  // An IPv4 route out: any IPv4 address but loopback (behind NAT, a private one does).
  bool can_reach_ipv4() const;
  bool has_running(std::string_view daemon) const;
  bool has_global(IpFamily family) const;
  // Every address of the machine: the global ones, then the others.
  std::vector<LocalAddress> all_addresses() const;
};

// The facts of the system under fs.root(). `runner` runs read-only queries only
// (systemd-detect-virt), and only on the live system.
SystemFacts detect(const RootedFs& fs, ProcessRunner& runner);

// The parts of detect(), for tests and for steps that need only one of them.
std::string detect_package_manager(const RootedFs& fs, Family family);
InitSystem detect_init_system(const RootedFs& fs);
std::string detect_virtualization(const RootedFs& fs, ProcessRunner& runner);
std::vector<std::string> detect_installed_daemons(const RootedFs& fs);
std::vector<std::string> detect_running_daemons(const RootedFs& fs,
                                                const std::vector<std::string>& installed);
// The machine's addresses from the kernel (getifaddrs, with each one's lifetime over netlink),
// split into usable (global) and excluded ones. IPv6 temporary, deprecated, tentative and
// duplicate addresses are excluded: they change.
void machine_addresses(std::vector<LocalAddress>& global, std::vector<LocalAddress>& excluded);

// The pool asks for an address that changes once a year or less. One warning (id `id`) for each
// of `addresses` that is dynamic (a DHCP lease or IPv6 autoconfiguration: the kernel keeps it for
// a limited time, or it was not set by hand); an address whose lifetime is unknown is not judged.
std::vector<Finding> diagnose_dynamic_addresses(const std::vector<LocalAddress>& addresses,
                                                const std::string& id);

// How long an address of `lifetime` stays valid, for people: "1h30m", "29 days", "forever".
std::string describe_lifetime(const AddressLifetime& lifetime);

// Whether `program` exists under one of the usual binary directories of the system.
bool has_program(const RootedFs& fs, std::string_view program);
// The system path of `program`: on the live system the directories of PATH first, then the usual
// binary directories (cron and init scripts run with short PATHs); in an image only the latter.
std::optional<std::string> find_program(const RootedFs& fs, std::string_view program);

}  // namespace pooljoin
