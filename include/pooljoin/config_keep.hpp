// SPDX-License-Identifier: Apache-2.0
// What gen-conf carries over from the config it replaces: the operator's lines that the pool's
// rules do not govern (statistics, keys, NTS, reference clocks, interfaces, logs), chosen by an
// allowlist per daemon family. Every other line is named as dropped, with the reason.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/daemons.hpp"

namespace pooljoin {

// The comment that opens the kept section of a rendered config (templates/*.conf.mustache). In
// a file gen-conf wrote, only the lines below it are the operator's.
inline constexpr std::string_view kKeptHeading =
    "# Kept from the previous config (pooljoin gen-conf --fresh drops them):";

struct KeptLine {
  int line = 0;       // 1-based, in the previous config
  std::string text;   // the directive without its comment, trimmed, tabs made spaces
  bool leap = false;  // a leap-second line (leapfile, leapsectz, leapseclist): it replaces the
                      // one gen-conf would write
  bool operator==(const KeptLine&) const = default;
};

struct DroppedLine {
  int line = 0;      // 1-based, in the previous config
  std::string text;  // the directive as written, made printable
  std::string why;   // one of the kWhy* reasons below, or a lint finding's message
  bool operator==(const DroppedLine&) const = default;
};

struct PreviousLines {
  std::vector<KeptLine> kept;
  std::vector<DroppedLine> dropped;
};

// Why a line is not carried.
inline constexpr const char* kWhyUpstream =
    "gen-conf writes the upstream servers itself (4 to 7, pinned by address)";
inline constexpr const char* kWhyAccess = "gen-conf writes the access lines the pool asks for";
inline constexpr const char* kWhyLocalClock = "the LOCAL clock, which the pool forbids";
inline constexpr const char* kWhyOrphan =
    "orphan mode: a pool server must not serve its own clock when its upstreams are gone";
inline constexpr const char* kWhyInclude =
    "an included file or directory: pooljoin cannot check what it would add (servers, access, "
    "a local clock); copy the lines you need into the config";
inline constexpr const char* kWhyUnsafe = "a control character or a non-ASCII byte";
inline constexpr const char* kWhyStopsServing =
    "it could keep the daemon from answering on the public addresses";
inline constexpr const char* kWhyOwn = "gen-conf writes its own";
inline constexpr const char* kWhyNotListed = "not on the list of lines gen-conf keeps";
inline constexpr const char* kWhyFresh = "--fresh";

// Sorts the directives of `current`, read as a config of `daemon`, into kept and dropped (file
// order). A file gen-conf wrote (it starts with kGeneratedMarker) contributes only the lines of
// its kept section: the rest is gen-conf's own and is rendered afresh.
//   ntpd, ntpsec: statistics filegen statsdir logfile logconfig keys trustedkey controlkey,
//     requestkey (ntp), nts (ntpsec), refclock other than `local` (ntpsec), `server` and
//     `fudge` of a reference clock 127.127.T.U other than LOCAL (T != 1), interface and nic
//     (`ignore`/`drop` of all, ipv4 or ipv6 only when a `listen` line follows), leapfile.
//   chrony: log logdir logchange dumpdir keyfile ntsserverkey ntsservercert ntsport ntsdumpdir
//     ntscachedir ntsntpserver ntsprocesses ntsrotate ntpsigndsocket refclock hwtimestamp,
//     bindaddress (0.0.0.0, :: or a global address), leapsectz leapseclist.
PreviousLines sort_previous_lines(std::string_view current, Daemon daemon);

// One note per reason: "not carried from FILE: lines 3, 5 (why)", the reasons in the order met.
std::vector<std::string> dropped_notes(const std::vector<DroppedLine>& dropped,
                                       std::string_view shown);

}  // namespace pooljoin
