// SPDX-License-Identifier: Apache-2.0
// The pool monitor's scoring (https://github.com/ntppool/monitor, its scorer): the step one check
// adds to a server's score, and where a run of identical checks takes the score (score = 0.95 *
// previous + step).
#pragma once

#include <optional>
#include <string>

#include "pooljoin/ntp_packet.hpp"

namespace pooljoin {

// The score a server must have for the pool to hand it out in DNS.
inline constexpr double kPoolServingScore = 10;
// The ceiling of the score: the fixed point of +1 steps (1 / (1 - 0.95)).
inline constexpr double kPoolMaxScore = 20;
inline constexpr double kPoolScoreDecay = 0.95;

struct ScoreStep {
  double step = 0;
  std::optional<double> cap;  // the score can be no higher than this after the check
  std::string reason;         // which band of the table, in words
};

// The step of a check whose best sample is `best` (a valid sample, or the fault of the check).
ScoreStep score_step(const NtpSample& best);

// min(0.95 * previous + step, cap, 20).
double next_score(double previous, const ScoreStep& step);
// The score a run of such checks converges to: min(step / 0.05, cap, 20).
double converged_score(const ScoreStep& step);
// How many such checks take a score from `start` to at least `target`; nullopt when never.
std::optional<int> checks_to_reach(double start, const ScoreStep& step, double target);

}  // namespace pooljoin
