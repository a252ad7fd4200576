// SPDX-License-Identifier: Apache-2.0
// Whether the local NTP daemon answers: one NTPv4 client query (mode 3) to 127.0.0.1:123 through
// the NTP engine, for `restart` to confirm the daemon came up.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "pooljoin/error.hpp"

namespace pooljoin {

class NtpTransport;

struct LoopbackAnswer {
  int leap = 0;       // 0 none, 1/2 leap second announced, 3 unsynchronised
  int stratum = 0;    // 0 kiss-o'-death or unspecified, 16 unsynchronised
  std::string refid;  // ASCII for stratum 0/1 ("INIT", "RATE"), dotted quad above
  std::chrono::milliseconds rtt{0};

  // Synchronised: the daemon serves time clients can use.
  bool synchronised() const { return leap != 3 && stratum > 0 && stratum < 16; }
  // "stratum 3, synchronised" / "unsynchronised (stratum 16, refid INIT)".
  std::string describe() const;
};

// One sample of the NTP engine to 127.0.0.1:`port`, waiting up to `timeout`. Any reply of the
// daemon counts, synchronised or not; ExitCode::unavailable when none arrives in time.
Result<LoopbackAnswer> query_loopback(NtpTransport& ntp, std::chrono::milliseconds timeout,
                                      std::uint16_t port = 123);

}  // namespace pooljoin
