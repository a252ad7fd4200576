// SPDX-License-Identifier: Apache-2.0
// The leap-second list (the NIST/IERS leap-seconds.list that tzdata ships) that ntpd reads with
// `leapfile` and chrony 4.6 and later with `leapseclist`. Its `#@` line is the time after which it
// must not be trusted: once it has passed, a leap second announced since is not in it, and both
// daemons log that it has expired (ntpsec: "expired less than N days ago"; chrony: "needs
// update"). The fix is a tzdata update.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pooljoin/daemons.hpp"
#include "pooljoin/finding.hpp"

namespace pooljoin {

class RootedFs;

// Where tzdata puts the list on every distribution pooljoin knows.
inline constexpr std::string_view kLeapSecondsList = "/usr/share/zoneinfo/leap-seconds.list";

// Seconds from the NTP epoch (1900) to the Unix epoch (1970): the `#@` line counts from 1900.
inline constexpr std::int64_t kNtpToUnixSeconds = 2208988800;

// The expiry the text's `#@` line gives; nullopt when it has no such line or it is not a number.
std::optional<std::chrono::system_clock::time_point> leap_list_expiry(std::string_view text);

enum class LeapListState {
  valid,      // its expiry is still to come
  expired,    // its expiry has passed
  no_expiry,  // it has no `#@` line (truncated, or not a leap-seconds.list)
  missing,    // there is no such file
};

struct LeapList {
  std::string path;  // system path
  LeapListState state = LeapListState::missing;
  std::optional<std::chrono::system_clock::time_point> expires;
};

// The file at `path` under the root, judged at `now` (the effects' clock).
LeapList read_leap_list(const RootedFs& fs, std::string_view path,
                        std::chrono::system_clock::time_point now);

// The leap-second list a daemon's config text names: `leapfile PATH` for the ntpd family,
// `leapseclist PATH` for chrony; nullopt when it names none (chrony's `leapsectz` reads a time
// zone, which has no expiry).
std::optional<std::string> configured_leap_list(std::string_view config, Daemon daemon);

enum class TzdataAction { update, install, reinstall };
// The command that updates, installs or reinstalls tzdata (openSUSE: timezone) with
// `package_manager` as detect names it; "" for an unknown one.
std::string tzdata_command(std::string_view package_manager, TzdataAction action);

// The finding on a list `daemon` reads: leap.ok, or the warnings leap.expired, leap.no-expiry,
// leap.missing, each with the tzdata command of `package_manager` as the fix.
Finding leap_list_finding(const LeapList& list, std::string_view daemon,
                          std::string_view package_manager);

}  // namespace pooljoin
