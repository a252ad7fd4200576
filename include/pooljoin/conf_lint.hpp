// SPDX-License-Identifier: Apache-2.0
// The pool's rules for a member server's daemon config, checked over the config as the daemon
// reads it (its included files too): a pure function of its inputs that `gen-conf --lint`,
// `check` and `submit` use.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/finding.hpp"

namespace pooljoin {

class RootedFs;
struct Distro;

struct LintFinding {
  std::string file;  // the included file at fault (system path); empty for the top file
  int line = 0;      // 1-based line of the directive at fault; 0 when about the config as a whole
  // id "lint.*". Its message starts with "line N: " for a line of the top file, with
  // "FILE:N: " for a line of an included file.
  Finding finding;
};

// Where the linter reads included files from: the system's files under --root (RootedFs), the
// host's for `gen-conf --lint FILE`, a map in tests. Paths are absolute system paths.
class ConfigReader {
 public:
  virtual ~ConfigReader() = default;
  // The file's content; nullopt when it does not exist or cannot be read.
  virtual std::optional<std::string> read(const std::string& path) const = 0;
  // Whether anything exists at the path (a file that exists but cannot be read is not one the
  // daemon skips).
  virtual bool exists(const std::string& path) const = 0;
  // The names of the entries of a directory, sorted; nullopt when it is not a directory.
  virtual std::optional<std::vector<std::string>> list(const std::string& dir) const = 0;
};

// A ConfigReader over a RootedFs (which must outlive it).
class RootedFsReader : public ConfigReader {
 public:
  explicit RootedFsReader(const RootedFs& fs) : fs_(fs) {}
  std::optional<std::string> read(const std::string& path) const override;
  bool exists(const std::string& path) const override;
  std::optional<std::vector<std::string>> list(const std::string& dir) const override;

 private:
  const RootedFs& fs_;
};

// What the lint knows besides the text. The defaults lint the text alone: includes are not
// read (a `lint.include` warning each), listening and own addresses are judged only as far as
// the text allows, names are not resolved.
struct LintContext {
  const ConfigReader* reader = nullptr;  // reads included files; nullptr: they are not read
  std::string path;                      // system path of the config; "" when it has none (stdin)
  // The machine's addresses (global and others, as SystemFacts::all_addresses()); nullopt when
  // unknown (another system's image, a file from elsewhere).
  std::optional<std::vector<LocalAddress>> addresses;
  // An upstream's host name looked up (called for names only, never for addresses): nullopt
  // when it does not exist, else the addresses the DNS gave (none when it did not answer: the
  // benefit of the doubt). Empty: names are not looked up.
  std::function<std::optional<std::vector<IpAddress>>(const std::string& host)> resolve;
};

// Pool-rule violations in `text`, read as a config of `daemon` (ntpsec and ntp share a syntax;
// they differ on nopeer, mode 7 and the built-in default restriction). In reading order (a
// file's included lines where it includes them), then the findings about the config as a
// whole; empty when clean. The ids, with their severities (README, `gen-conf --lint`):
//   lint.include              an included file or directory that was not read, a cycle, too deep
//                             (fail when the daemon would not start or the file exists but could
//                             not be read and nothing else fails; warn when the daemon skips it
//                             too)
//   lint.local-clock          LOCAL clock (127.127.1.x, `refclock local`, chrony `local`) (fail)
//   lint.pool-upstream        a *.pool.ntp.org name as upstream (fail)
//   lint.upstream-count       fewer than 4 or more than 7 sources (fail; warn with a refclock)
//   lint.upstream-duplicate   the same upstream twice (warn; counted once)
//   lint.upstream-noselect    `noselect` upstream (warn; not counted)
//   lint.upstream-invalid     loopback, unspecified, broadcast, multicast or localhost, read as the
//                             resolver reads it: "0x7f000001" (fail; not counted)
//   lint.upstream-own-address the machine's own address as upstream (fail; not counted)
//   lint.upstream-unresolvable a name that does not resolve (warn; not counted)
//   lint.upstream-invalid      also a name that resolves to what gen-conf refuses as an upstream
//                              (loopback, LOCAL clock, unspecified, broadcast) (fail)
//   lint.no-service           the public (IPv4 or IPv6) cannot get the time: ignore, noserve,
//                             chrony deny or no allow covering it (fail)
//   lint.mode6-open           ntpd answers mode 6 (and classic ntpd mode 7) queries from the
//                             public: noquery absent or removed by `unrestrict` (fail)
//   lint.no-ratelimit         ntpd: the public's restriction lacks limited or kod (fail);
//                             chrony: no `ratelimit` (warn)
//   lint.restrict-default     ntpd: no `restrict default` line for a family, or the public's
//                             restriction lacks nomodify (fail), notrap or nopeer (fail on
//                             classic ntpd, warn on ntpsec, which ignores them)
//   lint.kod-without-limited  a restrict line with `kod` but not `limited` (fail)
//   lint.pool-nopeer          `pool` with a `nopeer` default and no `restrict source` (fail on
//                             classic ntpd, warn on ntpsec)
//   lint.monitor-disabled     `disable monitor` while a restrict line uses `limited` (fail)
//   lint.mode7                `enable mode7` opens ntpdc queries (fail)
//   lint.no-allow             chrony without `allow`: it serves nobody (fail)
//   lint.listen               the daemon does not listen on the machine's global addresses:
//                             ntpd `interface`/`nic`, chrony `bindaddress`, `binddevice`,
//                             `port 0` (fail)
//   lint.dhcp-sources         chrony `sourcedir /run/chrony-dhcp`: DHCP-offered upstreams (warn)
std::vector<LintFinding> lint_config(std::string_view text, Daemon daemon,
                                     const LintContext& context = {});

// The same findings without their places as fields (each message still names its line and
// file), for callers that collect Findings, like `check`.
std::vector<Finding> lint_findings(std::string_view text, Daemon daemon,
                                   const LintContext& context = {});

// The config `daemon` really reads and its lint findings, each message naming the file: the one
// the running daemon was started with, else the one its start script runs (the DHCP copy when it
// is in force, else the distribution's path), with the DHCP findings first (dhcp.hpp). Included
// files are read from `fs`; `addresses` are the machine's (pass them only for the live system).
// A config that cannot be read is one failing finding. nullopt when the distribution does not
// package the daemon.
struct LiveConfigLint {
  Daemon daemon;
  std::string path;  // system path of the config read
  std::vector<Finding> findings;
};
std::optional<LiveConfigLint> lint_live_config(
    const RootedFs& fs, const Distro& distro, Daemon daemon,
    std::optional<std::vector<LocalAddress>> addresses = std::nullopt);

// The daemon whose config counts on this system: the supported one running (it serves the
// time), else the installed one detect recommends; nullopt when there is neither.
std::optional<Daemon> configured_daemon(const SystemFacts& facts);

// The number of time sources the lint counts (lint.upstream-count): `server` and `peer` lines,
// each address once, without noselect ones, the machine's own addresses or names that do not
// resolve, plus reference clocks other than LOCAL; `pool` lines are not servers.
std::size_t count_upstreams(std::string_view text, Daemon daemon, const LintContext& context = {});

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
