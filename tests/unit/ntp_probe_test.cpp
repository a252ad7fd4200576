// SPDX-License-Identifier: Apache-2.0
// The prober against real sockets and the project's test responder on loopback (tag
// [responder]: registered with the integration label).
#include "pooljoin/ntp_probe.hpp"

#include <chrono>
#include <cstdint>
#include <ctime>
#include <set>
#include <sstream>

#include "responder.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/daemon_state.hpp"

using namespace pooljoin;
using namespace std::chrono_literals;

namespace {

ProbeOptions quick(int samples = 3) {
  ProbeOptions options;
  options.samples = samples;
  options.interval = 100ms;
  options.timeout = 400ms;
  return options;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("a +300 ms server is measured within 2 ms, over IPv4 and IPv6", "[responder]") {
  test::Responder responder({"127.0.0.1:0,offset=0.3", "[::1]:0,offset=0.3", "127.0.0.1:0"});
  auto reports = UdpNtp{}.probe(responder.targets(), quick());
  REQUIRE(reports);
  REQUIRE(reports->size() == 3);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& r = (*reports)[i];
    INFO(r.target.endpoint());
    CHECK(r.fault() == NtpFault::none);
    CHECK(r.valid == 3);
    CHECK(r.best.offset_s == Approx(0.3).margin(0.002));
    for (const auto& sample : r.samples)
      CHECK(sample.offset_s == Approx(0.3).margin(0.002));
    CHECK(r.best.delay_s < 0.002);
    CHECK(r.best.stratum == 2);
    CHECK(r.best.refid == "192.0.2.1");
    CHECK(r.reachable());
  }
  CHECK((*reports)[2].best.offset_s == Approx(0.0).margin(0.002));
  // Input order is kept.
  CHECK((*reports)[0].target.endpoint() == responder.endpoints()[0]);
  CHECK((*reports)[1].target.endpoint() == responder.endpoints()[1]);
  CHECK_FALSE((*reports)[1].target.address.is_v4());
}

TEST_CASE("every fault the responder can play is classified", "[responder]") {
  struct Row {
    const char* spec;
    NtpFault fault;
    const char* kiss;
    std::size_t queries;  // a reply of stratum 0, 16 or above 10 ends the check at once
  };
  const Row rows[] = {
      {"127.0.0.1:0,kod=RATE", NtpFault::kiss_of_death, "RATE", 1},
      {"127.0.0.1:0,kod=DENY", NtpFault::kiss_of_death, "DENY", 1},
      {"[::1]:0,kod=RSTR", NtpFault::kiss_of_death, "RSTR", 1},
      {"127.0.0.1:0,leap=3,stratum=0,kod=INIT", NtpFault::unsynchronized, "INIT", 1},
      {"127.0.0.1:0,leap=3", NtpFault::none, "", 3},  // the monitor checks no leap
      {"127.0.0.1:0,stratum=16", NtpFault::unsynchronized, "", 1},
      {"127.0.0.1:0,stratum=17", NtpFault::bad_stratum, "", 1},
      {"127.0.0.1:0,wrong-origin", NtpFault::wrong_origin, "", 3},
      {"127.0.0.1:0,wrong-mode", NtpFault::wrong_mode, "", 3},
      {"127.0.0.1:0,version=5", NtpFault::none, "", 3},  // nor the version
      {"127.0.0.1:0,truncated", NtpFault::truncated, "", 3},
      {"127.0.0.1:0,silent", NtpFault::no_reply, "", 3},
      {"127.0.0.1:0,oversized", NtpFault::none, "", 3},
      {"127.0.0.1:0,transmit0", NtpFault::bad_timestamps, "", 3},
      {"127.0.0.1:0,rec-after-xmt", NtpFault::bad_timestamps, "", 3},
      {"127.0.0.1:0,stale-first", NtpFault::wrong_origin, "", 3},
      {"127.0.0.1:0,kod=RATE,transmit0", NtpFault::bad_timestamps, "", 3},  // invalid, not a kiss
  };
  std::vector<std::string> specs;
  for (const auto& row : rows)
    specs.push_back(row.spec);
  test::Responder responder(specs);
  auto start = std::chrono::steady_clock::now();
  auto reports = UdpNtp{}.probe(responder.targets(), quick());
  double took = seconds_since(start);
  REQUIRE(reports);
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    const auto& r = (*reports)[i];
    INFO(rows[i].spec);
    CHECK(r.fault() == rows[i].fault);
    CHECK(r.best.kiss == rows[i].kiss);
    CHECK(r.samples.size() == rows[i].queries);
    bool silent = rows[i].fault == NtpFault::no_reply;
    CHECK(r.reachable() == !silent);
  }
  CHECK((*reports)[4].best.leap == Leap::unsynchronized);
  CHECK((*reports)[9].best.version == 5);
  // The first datagram decides, as it does for the monitor: the wrong-origin reply is the sample;
  // the real reply that follows a stale datagram comes after its sample ended: late, unused
  // (seen for the first two queries; the third's may come after the check has ended).
  CHECK((*reports)[7].ignored_replies == 0);
  CHECK((*reports)[15].late_replies >= 2);
  // All at once: the slowest server (3 timeouts + 2 intervals) sets the pace.
  CHECK(took < 3 * 0.4 + 2 * 0.1 + 0.5);
}

TEST_CASE("a check follows the monitor: a bad reply ends it and decides, else the lowest delay",
          "[responder]") {
  test::TempDir dir;
  const std::string log = (dir.path() / "queries").string();
  struct Row {
    const char* spec;
    std::size_t queries;  // sent, and received by the responder
    int decided_by;
    NtpFault fault;
  };
  const Row rows[] = {
      // Good once, then a RATE kiss: the kiss decides (the pool scores -3.5, not +1).
      {"127.0.0.1:0,script=-;kod=RATE", 2, 1, NtpFault::kiss_of_death},
      {"127.0.0.1:0,script=-;stratum=16", 2, 1, NtpFault::unsynchronized},
      {"127.0.0.1:0,script=-;-;stratum=11", 3, 2, NtpFault::none},
      {"127.0.0.1:0,script=stratum=0+refid=", 1, 0, NtpFault::unsynchronized},  // no kiss code
      // The lowest round trip decides among valid replies.
      {"127.0.0.1:0,script=delay=150;delay=10;delay=80", 3, 1, NtpFault::none},
      // An invalid reply first, then good ones: the good ones decide (the last one held 20 ms,
      // so that the lowest delay is the second's, not a coin toss between two equal ones).
      {"127.0.0.1:0,script=transmit0;-;delay=20", 3, 1, NtpFault::none},
  };
  std::vector<std::string> specs;
  for (const auto& row : rows)
    specs.push_back(row.spec);
  test::Responder responder(specs, log);
  auto reports = UdpNtp{}.probe(responder.targets(), quick());
  REQUIRE(reports);
  std::string received = test::read_text(log);
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    const auto& r = (*reports)[i];
    INFO(rows[i].spec);
    CHECK(r.samples.size() == rows[i].queries);
    CHECK(r.decided_by == rows[i].decided_by);
    CHECK(r.fault() == rows[i].fault);
    std::size_t seen = 0;
    for (auto at = received.find(responder.endpoints()[i] + " mode=3"); at != std::string::npos;
         at = received.find(responder.endpoints()[i] + " mode=3", at + 1))
      ++seen;
    CHECK(seen == rows[i].queries);
  }
  CHECK((*reports)[2].best.stratum == 11);
  CHECK((*reports)[4].best.delay_s == Approx(0.010).margin(0.005));
}

TEST_CASE("delay, jitter, lost replies and late replies", "[responder]") {
  test::Responder responder({"127.0.0.1:0,delay=60", "127.0.0.1:0,offset-step=0.01",
                             "127.0.0.1:0,drop=1", "127.0.0.1:0,delay=500"});
  auto reports = UdpNtp{}.probe(responder.targets(), quick());
  REQUIRE(reports);
  const auto& delayed = (*reports)[0];
  CHECK(delayed.best.delay_s == Approx(0.060).margin(0.005));
  CHECK(delayed.best.offset_s == Approx(0.0).margin(0.002));
  // Offsets 0, 10 and 20 ms: jitter = sqrt((0 + 0.01^2 + 0.02^2) / 2) around the best sample
  // (all delays are alike; whichever is best, the spread is the same order).
  const auto& stepping = (*reports)[1];
  CHECK(stepping.valid == 3);
  CHECK(stepping.samples[0].offset_s == Approx(0.0).margin(0.002));
  CHECK(stepping.samples[1].offset_s == Approx(0.01).margin(0.002));
  CHECK(stepping.samples[2].offset_s == Approx(0.02).margin(0.002));
  double expected_jitter = 0;
  for (const auto& s : stepping.samples)
    expected_jitter +=
        (s.offset_s - stepping.best.offset_s) * (s.offset_s - stepping.best.offset_s);
  expected_jitter = std::sqrt(expected_jitter / 2);
  CHECK(stepping.jitter_s == Approx(expected_jitter).margin(1e-9));
  CHECK(stepping.jitter_s > 0.007);
  // The first query is dropped: 2 valid samples, still a valid best.
  const auto& lossy = (*reports)[2];
  CHECK(lossy.fault() == NtpFault::none);
  CHECK(lossy.valid == 2);
  CHECK(lossy.samples[0].fault == NtpFault::no_reply);
  // Replies that come after their sample's timeout are late, not spoofed.
  const auto& slow = (*reports)[3];
  CHECK(slow.fault() == NtpFault::no_reply);
  CHECK(slow.late_replies >= 1);
  CHECK(slow.ignored_replies == 0);
}

TEST_CASE("the best sample is the lowest-delay one, not the smallest offset", "[responder]") {
  // Delays 120, 70, 20 ms while the offset grows 0, 50, 100 ms: the last sample has the lowest
  // delay and the largest offset; the first has the smallest offset and the highest delay.
  test::Responder responder({"127.0.0.1:0,delay=120,delay-step=-50,offset-step=0.05"});
  auto reports = UdpNtp{}.probe(responder.targets(), quick());
  REQUIRE(reports);
  const auto& r = reports->front();
  REQUIRE(r.valid == 3);
  CHECK(r.samples[0].delay_s == Approx(0.120).margin(0.005));
  CHECK(r.samples[1].delay_s == Approx(0.070).margin(0.005));
  CHECK(r.samples[2].delay_s == Approx(0.020).margin(0.005));
  CHECK(r.samples[0].offset_s == Approx(0.0).margin(0.002));
  CHECK(r.samples[2].offset_s == Approx(0.1).margin(0.002));
  CHECK(r.best.delay_s == Approx(0.020).margin(0.005));
  CHECK(r.best.offset_s == Approx(0.1).margin(0.002));
}

TEST_CASE("each query carries an unpredictable transmit timestamp", "[responder]") {
  test::TempDir dir;
  auto log = (dir.path() / "requests.log").string();
  test::Responder responder({"127.0.0.1:0"}, log);
  auto now_ntp_seconds = static_cast<std::int64_t>(std::time(nullptr)) + 2208988800LL;
  auto reports = UdpNtp{}.probe(responder.targets(), quick());
  REQUIRE(reports);
  REQUIRE(reports->front().valid == 3);
  std::vector<std::uint64_t> sent;
  std::istringstream lines(test::read_text(log));
  std::string endpoint, mode, transmit;
  while (lines >> endpoint >> mode >> transmit) {
    CHECK(mode == "mode=3");
    REQUIRE(transmit.rfind("transmit=0x", 0) == 0);
    sent.push_back(std::stoull(transmit.substr(11), nullptr, 16));
  }
  REQUIRE(sent.size() == 3);
  CHECK(std::set<std::uint64_t>(sent.begin(), sent.end()).size() == 3);
  for (auto cookie : sent) {
    INFO(std::hex << cookie);
    CHECK(cookie != 0);
    // A clock reading would carry this era's seconds in its high word; a random one does so
    // with a chance of about 1 in 2^32 / 172800.
    auto high = static_cast<std::int64_t>(cookie >> 32);
    CHECK(std::llabs(high - (now_ntp_seconds & 0xffffffffLL)) > 86400);
  }
  // Three clock readings 100 ms apart share their high word (give or take 1) and differ in the
  // fraction only; random cookies differ across the whole word.
  for (std::size_t i = 1; i < sent.size(); ++i) {
    auto a = static_cast<std::int64_t>(sent[i - 1] >> 32);
    auto b = static_cast<std::int64_t>(sent[i] >> 32);
    CHECK(std::llabs(a - b) > 2);
  }
}

TEST_CASE("a closed port is refused at once", "[responder]") {
  // Bind a port, note it, release it: nothing listens there any more.
  std::uint16_t port = 0;
  {
    test::Responder responder({"127.0.0.1:0"});
    port = responder.target(0).port;
  }
  auto start = std::chrono::steady_clock::now();
  auto reports = UdpNtp{}.probe({{*IpAddress::parse("127.0.0.1"), port, ""}}, quick(1));
  REQUIRE(reports);
  CHECK(reports->front().fault() == NtpFault::refused);
  CHECK_FALSE(reports->front().reachable());
  CHECK(seconds_since(start) < 0.3);
}

TEST_CASE("100 servers cost about the wall time of one", "[responder]") {
  std::vector<std::string> specs(100, "127.0.0.1:0,delay=20");
  test::Responder responder(specs);
  auto targets = responder.targets();
  ProbeOptions options = quick();
  options.interval = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto one = UdpNtp{}.probe({targets.front()}, options);
  double t1 = seconds_since(start);
  start = std::chrono::steady_clock::now();
  auto all = UdpNtp{}.probe(targets, options);
  double t100 = seconds_since(start);
  REQUIRE(one);
  REQUIRE(all);
  int valid = 0;
  for (const auto& r : *all) {
    valid += r.valid;
    CHECK(r.best.delay_s == Approx(0.020).margin(0.005));
  }
  CHECK(valid == 300);
  WARN("probe wall time: 1 server " << t1 << " s, 100 servers " << t100 << " s");
  CHECK(t100 < t1 + 0.25);
}

TEST_CASE("queries collect fragmented mode 6 answers and ntpd state is read from them",
          "[responder]") {
  UdpNtp udp;
  test::Responder responder({"127.0.0.1:0,mode6,stratum=3,leap=0,offset=0.0015", "127.0.0.1:0"});
  DaemonQueryOptions options;
  options.address = responder.target(0).address;
  options.port = responder.target(0).port;
  options.timeout = 500ms;
  auto state = read_ntpd_state(udp, options);
  REQUIRE(state);
  CHECK(state->stratum == 3);
  CHECK(state->leap == Leap::none);
  CHECK(state->offset_ms == Approx(1.5));
  CHECK(state->refid == "192.0.2.1");
  options.port = responder.target(1).port;  // answers NTP, not mode 6
  auto silent = read_ntpd_state(udp, options);
  REQUIRE_FALSE(silent);
  CHECK(silent.error().code == ExitCode::unavailable);
  CHECK(silent.error().message().find("no answer to a mode 6 query") != std::string::npos);
}
