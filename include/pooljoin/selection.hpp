// SPDX-License-Identifier: Apache-2.0
// The upstream servers chosen by `resolve`, saved for `gen-conf` in
// /var/lib/pooljoin/selection.json (under --root).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"

namespace pooljoin {

class RootedFs;

inline constexpr const char* kStateDir = "/var/lib/pooljoin";

// The pool's rule: no fewer than 4 and no more than 7 upstream servers
// (https://www.ntppool.org/join/configuration.html).
inline constexpr int kMinUpstreams = 4;
inline constexpr int kMaxUpstreams = 7;
inline constexpr int kDefaultUpstreams = 5;
inline constexpr const char* kSelectionPath = "/var/lib/pooljoin/selection.json";

struct SelectedServer {
  std::string host;   // the name it was found under (a pool zone, a catalogue host, user input)
  IpAddress address;  // what goes into the config: pinned by address, never by pool name
  bool operator==(const SelectedServer&) const = default;
};

struct Selection {
  std::string created;  // RFC 3339 UTC time of the resolve run
  std::string country;  // ISO 3166 code used, or "" when a continent or global zone was used
  std::string zone;     // e.g. "de.pool.ntp.org", "europe.pool.ntp.org", "pool.ntp.org"
  std::vector<SelectedServer> servers;
  bool operator==(const Selection&) const = default;
};

std::string selection_to_json(const Selection& selection);
// Parses what selection_to_json wrote; ExitCode::unavailable with the reason when malformed.
Result<Selection> selection_from_json(std::string_view text);

// The saved selection; nullopt when there is none; an error when it exists but is unreadable.
Result<std::optional<Selection>> load_selection(const RootedFs& fs);
Result<void> save_selection(const RootedFs& fs, const Selection& selection);

// "2026-11-26T03:22:43Z"
std::string rfc3339_utc(std::chrono::system_clock::time_point time);

}  // namespace pooljoin
