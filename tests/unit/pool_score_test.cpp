// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/pool_score.hpp"

#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

NtpSample valid(double offset_s, int stratum = 2) {
  NtpSample s;
  s.fault = NtpFault::none;
  s.offset_s = offset_s;
  s.stratum = static_cast<std::uint8_t>(stratum);
  return s;
}

NtpSample faulty(NtpFault fault, std::string kiss = {}) {
  NtpSample s;
  s.fault = fault;
  s.kiss = std::move(kiss);
  return s;
}

}  // namespace

TEST_CASE("the monitor's step at every offset band edge", "[score]") {
  struct Row {
    double offset;
    double step;
  };
  const double tiny = 1e-6;
  const Row rows[] = {
      {0.0, 1.0},
      {0.025, 1.0},                                     // the edge belongs to the +1 band
      {0.025 + tiny, -6.667 * (0.025 + tiny) + 1.167},  // 0.99
      {0.05, -6.667 * 0.05 + 1.167},                    // 0.83
      {0.1, -6.667 * 0.1 + 1.167},                      // 0.5 (25..100 band includes 100 ms)
      {0.1 + tiny, -2.308 * (0.1 + tiny) + 0.731},      // 0.5
      {0.3, -2.308 * 0.3 + 0.731},                      // 0.04
      {0.75, -2.308 * 0.75 + 0.731},                    // -1.0
      {0.75 + tiny, -2.0},
      {3.0, -2.0},
      {3.0 + tiny, -4.0},
      {100.0, -4.0},
  };
  for (const auto& row : rows) {
    for (double sign : {1.0, -1.0}) {
      INFO("offset " << sign * row.offset);
      CHECK(score_step(valid(sign * row.offset)).step == Approx(row.step).margin(1e-9));
    }
  }
  CHECK(score_step(valid(0.1)).step == Approx(0.5).margin(0.001));
  CHECK(score_step(valid(0.75)).step == Approx(-1.0).margin(0.001));
  CHECK(score_step(valid(0.025 + tiny)).step == Approx(1.0).margin(0.001));
  // Only a clock more than 3 s off is capped.
  CHECK(score_step(valid(3.0 + tiny)).cap == -20);
  CHECK_FALSE(score_step(valid(3.0)).cap);
}

TEST_CASE("stratum 8 and above costs -4, unless the offset is worse", "[score]") {
  CHECK(score_step(valid(0.0, 7)).step == 1.0);
  CHECK(score_step(valid(0.0, 8)).step == -4.0);
  CHECK(score_step(valid(0.0, 15)).step == -4.0);
  CHECK_FALSE(score_step(valid(0.0, 8)).cap);
  CHECK(score_step(valid(5.0, 8)).cap == -20);  // offset > 3 s is tested first...
  // ...but after a stratum above 10, which the monitor treats with stratum 0 and 16: no cap.
  CHECK(score_step(valid(5.0, 11)).step == -4.0);
  CHECK_FALSE(score_step(valid(5.0, 11)).cap);
  CHECK(converged_score(score_step(valid(5.0, 12))) == -80);
}

TEST_CASE("faults: no response, kiss codes, other errors", "[score]") {
  CHECK(score_step(faulty(NtpFault::no_reply)).step == -5);
  CHECK(score_step(faulty(NtpFault::refused)).step == -5);
  CHECK(score_step(faulty(NtpFault::network_error)).step == -5);
  auto rate = score_step(faulty(NtpFault::kiss_of_death, "RATE"));
  CHECK(rate.step == -3.5);
  CHECK_FALSE(rate.cap);
  for (const char* code : {"DENY", "RSTR"}) {
    auto denied = score_step(faulty(NtpFault::kiss_of_death, code));
    CHECK(denied.step == -10);
    CHECK(denied.cap == -50);
  }
  // Stratum 0 with another code or none (current monitors: -4, no cap; the -2 capped at 5 was
  // monitors older than v3.8.5), stratum 16, above 16.
  auto zero = score_step(faulty(NtpFault::unsynchronized));
  CHECK(zero.step == -4);
  CHECK_FALSE(zero.cap);
  CHECK(score_step(faulty(NtpFault::kiss_of_death, "STEP")).step == -4);
  CHECK(score_step(faulty(NtpFault::unsynchronized, "INIT")).step == -4);
  CHECK(score_step(faulty(NtpFault::bad_stratum)).step == -4);
  // An invalid reply is no response.
  for (auto fault : {NtpFault::wrong_origin, NtpFault::wrong_mode, NtpFault::bad_timestamps,
                     NtpFault::truncated}) {
    INFO(to_string(fault));
    CHECK(score_step(faulty(fault)).step == -5);
    CHECK_THAT(score_step(faulty(fault)).reason, Catch::Contains("counted as no response"));
  }
}

TEST_CASE("scores move by 0.95 * previous + step, within the caps", "[score]") {
  ScoreStep plus{1, std::nullopt, ""};
  CHECK(next_score(0, plus) == 1);
  CHECK(next_score(10, plus) == Approx(10.5));
  CHECK(next_score(20, plus) == Approx(20));
  ScoreStep deny = score_step(faulty(NtpFault::kiss_of_death, "DENY"));
  CHECK(next_score(20, deny) == -50);  // 9 without the cap
  ScoreStep far = score_step(valid(4.0));
  CHECK(next_score(20, far) == -20);
}

TEST_CASE("a run of identical checks converges to step / 0.05, capped", "[score]") {
  CHECK(converged_score(score_step(valid(0.001))) == 20);
  CHECK(converged_score(score_step(valid(0.1))) == Approx(10.0).margin(0.01));
  CHECK(converged_score(score_step(valid(0.3))) == Approx(0.77).margin(0.01));
  CHECK(converged_score(score_step(faulty(NtpFault::no_reply))) == -100);
  CHECK(converged_score(score_step(faulty(NtpFault::kiss_of_death, "RATE"))) == -70);
  CHECK(converged_score(score_step(faulty(NtpFault::kiss_of_death, "DENY"))) == -200);
  CHECK(converged_score(score_step(faulty(NtpFault::unsynchronized))) == -80);
  // Simulating the recurrence gets to the same place.
  ScoreStep step = score_step(valid(0.05));
  double score = 0;
  for (int i = 0; i < 1000; ++i)
    score = next_score(score, step);
  CHECK(score == Approx(converged_score(step)));
}

TEST_CASE("a new server with good checks is served after 14 of them", "[score]") {
  ScoreStep plus{1, std::nullopt, ""};
  CHECK(checks_to_reach(0, plus, kPoolServingScore) == 14);  // 20 * (1 - 0.95^14) = 10.25
  CHECK(checks_to_reach(12, plus, kPoolServingScore) == 0);
  CHECK_FALSE(checks_to_reach(0, score_step(valid(0.3)), kPoolServingScore));
  CHECK_FALSE(checks_to_reach(0, score_step(faulty(NtpFault::no_reply)), kPoolServingScore));
}
