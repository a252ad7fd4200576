// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/pool_score.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace pooljoin {
namespace {

// The monitor's bands (the scorer of https://github.com/ntppool/monitor), in the order it tests
// them.
constexpr double kStepNoResponse = -5;        // no reply, or an invalid one: the heaviest routine
constexpr double kStepRate = -3.5;            // KoD RATE: the server throttles the monitor
constexpr double kStepDenied = -10;           // KoD DENY/RSTR: unload the server swiftly...
constexpr double kCapDenied = -50;            // ...and keep it far from serving
constexpr double kStepBadStratum = -4;        // stratum 0/16 without RATE/DENY/RSTR, above 10
constexpr double kOffsetWayOff = 3.0;         // s: a clock this wrong misleads clients...
constexpr double kStepWayOff = -4;            //
constexpr double kCapWayOff = -20;            // ...so it is kept out for a long time
constexpr int kStratumTooHigh = 8;            // stratum 8..10: too far from a reference clock
constexpr double kStepStratumTooHigh = -4;    //
constexpr double kOffsetFarOff = 0.75;        // s: beyond this a fixed penalty
constexpr double kStepFarOff = -2;            //
constexpr double kOffsetMarginal = 0.1;       // s: 100..750 ms falls linearly 0.5 -> -1
constexpr double kMarginalSlope = -2.308;     //
constexpr double kMarginalIntercept = 0.731;  //
constexpr double kOffsetGood = 0.025;         // s: 25..100 ms falls linearly 1 -> 0.5
constexpr double kGoodSlope = -6.667;         //
constexpr double kGoodIntercept = 1.167;      //
constexpr double kStepPerfect = 1;            // within 25 ms: full credit
constexpr double kFixedPointFactor = 20;      // 1 / (1 - 0.95)

}  // namespace

ScoreStep score_step(const NtpSample& best) {
  switch (best.fault) {
    case NtpFault::none:
      break;
    case NtpFault::no_reply:
    case NtpFault::refused:
    case NtpFault::network_error:
      return {kStepNoResponse, std::nullopt, "no response"};
    case NtpFault::truncated:
    case NtpFault::bad_timestamps:
    case NtpFault::wrong_mode:
    case NtpFault::wrong_origin:
      return {kStepNoResponse, std::nullopt,
              fmt::format("an invalid reply ({}), counted as no response", describe(best.fault))};
    case NtpFault::kiss_of_death:
      if (best.kiss == "RATE") return {kStepRate, std::nullopt, "kiss-o'-death RATE"};
      if (best.kiss == "DENY" || best.kiss == "RSTR")
        return {kStepDenied, kCapDenied, fmt::format("kiss-o'-death {}", best.kiss)};
      return {kStepBadStratum, std::nullopt, fmt::format("stratum 0, kiss code {}", best.kiss)};
    case NtpFault::unsynchronized:
      return {
          kStepBadStratum, std::nullopt,
          best.stratum == 0
              ? fmt::format("stratum 0{}", best.kiss.empty() ? std::string(" without a kiss code")
                                                             : ", kiss code " + best.kiss)
              : "stratum 16 (unsynchronised)"};
    case NtpFault::bad_stratum:
      return {kStepBadStratum, std::nullopt, fmt::format("stratum {}", best.stratum)};
  }
  // A valid reply; the monitor's bands in its order.
  if (best.stratum > kMonitorMaxStratum)
    return {kStepBadStratum, std::nullopt, fmt::format("stratum {} (above 10)", best.stratum)};
  double offset = std::abs(best.offset_s);
  if (offset > kOffsetWayOff) return {kStepWayOff, kCapWayOff, "offset above 3 s"};
  if (best.stratum >= kStratumTooHigh) return {kStepStratumTooHigh, std::nullopt, "stratum 8-10"};
  if (offset > kOffsetFarOff) return {kStepFarOff, std::nullopt, "offset above 750 ms"};
  if (offset > kOffsetMarginal)
    return {kMarginalSlope * offset + kMarginalIntercept, std::nullopt, "offset 100-750 ms"};
  if (offset > kOffsetGood)
    return {kGoodSlope * offset + kGoodIntercept, std::nullopt, "offset 25-100 ms"};
  return {kStepPerfect, std::nullopt, "offset within 25 ms"};
}

double next_score(double previous, const ScoreStep& step) {
  double score = kPoolScoreDecay * previous + step.step;
  if (step.cap) score = std::min(score, *step.cap);
  return std::min(score, kPoolMaxScore);
}

double converged_score(const ScoreStep& step) {
  // The fixed point of s = 0.95 s + step is step / 0.05 = 20 * step (exactly, unlike the
  // floating-point division).
  double score = step.step * kFixedPointFactor;
  if (step.cap) score = std::min(score, *step.cap);
  return std::min(score, kPoolMaxScore);
}

std::optional<int> checks_to_reach(double start, const ScoreStep& step, double target) {
  // Bounded: the score moves geometrically toward its limit, so a reachable target is reached
  // within a few hundred checks; 10000 is far beyond.
  double score = start;
  for (int checks = 0; checks <= 10000; ++checks) {
    if (score >= target) return checks;
    double next = next_score(score, step);
    if (next <= score && score < target) return std::nullopt;
    score = next;
  }
  return std::nullopt;
}

}  // namespace pooljoin
