// The pool's rules for a member server's daemon config, checked over the config text: a pure
// function that `gen-conf --lint` and `check` both use. Includes are not followed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/daemons.hpp"
#include "pooljoin/finding.hpp"

namespace pooljoin {

class RootedFs;
struct SystemFacts;
struct Distro;

struct LintFinding {
  int line = 0;     // 1-based line of the directive at fault; 0 when about the file as a whole
  Finding finding;  // id "lint.*"; its message starts with "line N: " when line > 0
};

// Pool-rule violations in `text`, read as a config of `daemon` (ntpsec and ntp share a syntax;
// the rules for `nopeer` differ, since ntpsec ignores it). In file order; empty when clean.
//   lint.local-clock          LOCAL clock (127.127.1.x, `refclock local`, chrony `local`)
//   lint.pool-upstream        a *.pool.ntp.org name as upstream
//   lint.upstream-count       fewer than 4 or more than 7 upstreams
//   lint.restrict-default     no `restrict default` (IPv4 or IPv6) with kod limited nomodify
//                             noquery (fail), or without notrap nopeer (warn on ntpsec)
//   lint.kod-without-limited  `kod` does nothing without `limited`
//   lint.pool-nopeer          `pool` with a `nopeer` default and no `restrict source`
//   lint.monitor-disabled     `disable monitor` while a restrict line uses `limited`
//   lint.mode7                `enable mode7` opens ntpdc queries
//   lint.no-allow             chrony without `allow`: it serves nobody
//   lint.no-ratelimit         chrony without `ratelimit` (warn)
//   lint.include              an included file or directory that was not read (warn)
//   lint.dhcp-sources         chrony `sourcedir /run/chrony-dhcp`: DHCP-offered upstreams (warn)
std::vector<LintFinding> lint_config(std::string_view text, Daemon daemon);

// The same findings without their line numbers as fields (each message still names its line),
// for callers that collect Findings, like `check`.
std::vector<Finding> lint_findings(std::string_view text, Daemon daemon);

// The config `daemon` really reads and its lint findings, each message naming the file: the one
// the running daemon was started with, else the one its start script runs (the DHCP copy when it
// is in force, else the distribution's path), with the DHCP findings first (dhcp.hpp). A config
// that cannot be read is one failing finding. nullopt when the distribution does not package the
// daemon.
struct LiveConfigLint {
  Daemon daemon;
  std::string path;  // system path of the config read
  std::vector<Finding> findings;
};
std::optional<LiveConfigLint> lint_live_config(const RootedFs& fs, const Distro& distro,
                                               Daemon daemon);

// The daemon whose config counts on this system: the supported one running (it serves the
// time), else the installed one detect recommends; nullopt when there is neither.
std::optional<Daemon> configured_daemon(const SystemFacts& facts);

// The number of upstream servers the config names (server, peer and pool lines; reference
// clocks do not count).
std::size_t count_upstreams(std::string_view text, Daemon daemon);

// Which daemon family the text is written for, from directives only one of them has
// (chrony: allow, makestep, local, ...; ntpd: restrict, tos, fudge, ...). Daemon::ntpsec stands
// for the ntpd family; nullopt when the text does not tell.
std::optional<Daemon> guess_daemon(std::string_view text);

// The daemon a config text is read as: `given` (--daemon) when there is one; else chrony when
// the text is a chrony config; else this system's daemon when it is of the ntpd family (ntpsec
// and classic ntpd differ on nopeer), else ntpsec.
Daemon daemon_to_lint_as(std::string_view text, std::optional<Daemon> given,
                         const SystemFacts& facts);

}  // namespace pooljoin
