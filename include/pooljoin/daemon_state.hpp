// SPDX-License-Identifier: Apache-2.0
// The local NTP daemon's own view of its synchronisation: ntpd/ntpsec through a mode 6 READVAR
// on loopback, chrony through `chronyc -c tracking`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/daemons.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/ntp_packet.hpp"

namespace pooljoin {

class NtpTransport;
class ProcessRunner;

struct DaemonState {
  Leap leap = Leap::unsynchronized;
  int stratum = kStratumUnsynchronized;
  std::string refid;
  double offset_ms = 0;  // server time minus local time, as ntpq shows it
  double jitter_ms = 0;  // ntpd's sys_jitter; chrony's RMS offset
  double root_delay_ms = 0;
  double root_dispersion_ms = 0;

  // leap != 3 and stratum < 16: the daemon serves time it believes.
  bool synchronized() const;
};

struct DaemonQueryOptions {
  IpAddress address = IpAddress::v4(0x7f000001);  // 127.0.0.1: the daemon's own loopback
  std::uint16_t port = 123;
  std::chrono::milliseconds timeout{2000};
  std::string chronyc = "chronyc";  // looked up in PATH
};

// The system variables of the ntpd on `options.address`. ExitCode::unavailable when it does not
// answer (not running, or `restrict 127.0.0.1` missing) or answers with an error.
Result<DaemonState> read_ntpd_state(NtpTransport& ntp, const DaemonQueryOptions& options = {});
// chronyd's tracking report through chronyc. ExitCode::unavailable when chronyc cannot be run
// or chronyd does not answer it.
Result<DaemonState> read_chrony_state(ProcessRunner& runner,
                                      const DaemonQueryOptions& options = {});
Result<DaemonState> read_daemon_state(Daemon daemon, ProcessRunner& runner, NtpTransport& ntp,
                                      const DaemonQueryOptions& options = {});

// One mode 6 request to the ntpd on `options.address`: its opcode, association and payload.
struct ControlQuery {
  std::uint8_t opcode = 0;
  std::uint16_t association = 0;
  std::string payload;
};
// Sends every query at once; each answer is the reassembled data, or why there is none
// (ExitCode::unavailable: no answer, refused, malformed, incomplete, a mode 6 error).
Result<std::vector<Result<std::string>>> read_control(NtpTransport& ntp,
                                                      const std::vector<ControlQuery>& queries,
                                                      const DaemonQueryOptions& options = {});

// The parsers behind them, for tests: a READVAR variable list, and chronyc's CSV line.
Result<DaemonState> daemon_state_from_variables(std::string_view variables);
Result<DaemonState> daemon_state_from_chronyc(std::string_view csv);

}  // namespace pooljoin
