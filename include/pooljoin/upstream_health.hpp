// SPDX-License-Identifier: Apache-2.0
// The local daemon's upstreams as it sees them (what `ntpq -p` and `chronyc sources` show): each
// one's reach, how the daemon's selection treats it, its offset and jitter. ntpd/ntpsec through
// mode 6 (READSTAT for the association list, READVAR for each peer), chrony through
// `chronyc -c -n sources`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/daemon_state.hpp"
#include "pooljoin/daemons.hpp"
#include "pooljoin/error.hpp"

namespace pooljoin {

class NtpTransport;
class ProcessRunner;

// How the daemon's source selection treats an upstream, in ntpq's and chronyc's words.
enum class UpstreamState {
  selected,     // the one the clock follows (ntpq '*' or 'o', chronyc '*')
  candidate,    // survived selection and is combined ('+', '#')
  outlier,      // answers, but left out of the combination ('-', '.', chronyc '~')
  falseticker,  // disagrees with the others ('x')
  unreachable,  // no answer among the last 8 polls (reach 0)
  rejected,     // answers but cannot be used (stratum 16, a loop, too far: ntpq ' ')
};
std::string_view to_string(UpstreamState state);

// The reach register when each of the last 8 polls was answered.
inline constexpr int kReachFull = 0377;

struct UpstreamHealth {
  std::string address;  // the address the daemon polls (a refclock: its name)
  std::uint16_t port = 123;
  int stratum = 16;
  int reach = 0;  // the 8-bit register of the last 8 polls (shown in octal)
  UpstreamState state = UpstreamState::unreachable;
  std::optional<double> offset_ms;  // server minus local, as ntpq shows it
  std::optional<double> jitter_ms;
  bool refclock = false;  // a reference clock, not a server on the network

  // Answers and agrees with the others: what the pool's "4 to 7 upstreams" counts.
  bool usable() const;
  // Has only begun to answer (not all of the last 8 polls) and is rejected though it claims a
  // usable stratum: the daemon's selection has not judged it yet.
  bool settling() const;
};

// The upstreams of the ntpd (ntpsec, classic ntp) on the daemon's loopback, in association order;
// ntpsec's pool pseudo-associations (which only spawn servers) are left out.
// ExitCode::unavailable when it does not answer or answers with an error.
Result<std::vector<UpstreamHealth>> read_ntpd_upstreams(NtpTransport& ntp,
                                                        const DaemonQueryOptions& options = {});
// chronyd's sources through chronyc. ExitCode::unavailable when chronyc fails.
Result<std::vector<UpstreamHealth>> read_chrony_upstreams(ProcessRunner& runner,
                                                          const DaemonQueryOptions& options = {});
Result<std::vector<UpstreamHealth>> read_upstreams(Daemon daemon, ProcessRunner& runner,
                                                   NtpTransport& ntp,
                                                   const DaemonQueryOptions& options = {});

// The parsers behind them, for tests: one peer's status word and READVAR list; chronyc's CSV.
// nullopt for a pool pseudo-association or a list without an address.
std::optional<UpstreamHealth> upstream_from_peer(std::uint16_t status, std::string_view variables);
Result<std::vector<UpstreamHealth>> upstreams_from_chronyc(std::string_view csv);

// "3 of 4 reached (377 377 17 0)": the reach of each, for a wait's progress line.
std::string reach_summary(const std::vector<UpstreamHealth>& upstreams);

}  // namespace pooljoin
