// SPDX-License-Identifier: Apache-2.0
// The pool's own rules for a member server, as the pool's join pages and its manage site state
// them (https://www.ntppool.org/en/join.html, abh/ntppool's Server.pm), in one place.
#pragma once

namespace pooljoin {

// The manage site adds a server only when it answers with 0 < stratum < 6.
inline constexpr int kMaxSubmittableStratum = 5;

// Whether the manage site would accept a server answering at `stratum`.
constexpr bool submittable_stratum(int stratum) {
  return stratum > 0 && stratum <= kMaxSubmittableStratum;
}

}  // namespace pooljoin
