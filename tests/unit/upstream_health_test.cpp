// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/upstream_health.hpp"

#include <catch2/catch.hpp>

using namespace pooljoin;

TEST_CASE("ntpd's peers: the selection code of the status word, reach in octal", "[upstreams]") {
  // As ntpsec 1.2.2 answered (`ntpq -c as`: b61a sys.peer, b414 candidate, 8011 reject).
  auto peer = upstream_from_peer(
      0xb61a,
      "srcadr=198.51.100.13, srcport=123, stratum=2, reach=003, offset=499.998802, "
      "jitter=1.1, refid=192.0.2.1");
  REQUIRE(peer);
  CHECK(peer->address == "198.51.100.13");
  CHECK(peer->state == UpstreamState::selected);
  CHECK(peer->reach == 3);
  CHECK(peer->stratum == 2);
  CHECK(*peer->offset_ms == Approx(499.998802));
  CHECK(peer->usable());
  CHECK(upstream_from_peer(0xb414, "srcadr=198.51.100.11, reach=377, offset=1, jitter=1")->state ==
        UpstreamState::candidate);
  // What ntpd really sends: the register in hex.
  CHECK(upstream_from_peer(0xb414, "srcadr=198.51.100.11, reach=0xff")->reach == 0377);
  CHECK(upstream_from_peer(0xb414, "srcadr=198.51.100.11, reach=0x3")->reach == 3);
  CHECK(upstream_from_peer(0x9314, "srcadr=198.51.100.11, reach=377")->state ==
        UpstreamState::outlier);
  auto falseticker = upstream_from_peer(0x9114, "srcadr=198.51.100.11, reach=377");
  CHECK(falseticker->state == UpstreamState::falseticker);
  CHECK_FALSE(falseticker->usable());
  // Never answered: unreachable whatever the selection code, and no offset to show.
  auto silent =
      upstream_from_peer(0x8011,
                         "srcadr=198.51.100.14, srcport=123, stratum=16, reach=000, offset=0.0, "
                         "jitter=0.000122, refid=STEP");
  CHECK(silent->state == UpstreamState::unreachable);
  CHECK_FALSE(silent->offset_ms);
  CHECK_FALSE(silent->usable());
  // Answers but cannot be used (stratum 16, a loop): rejected.
  CHECK(upstream_from_peer(0x9014, "srcadr=198.51.100.11, reach=377")->state ==
        UpstreamState::rejected);
  // Just after the daemon synchronised: answered once, not judged yet (ntpq ' ').
  CHECK(upstream_from_peer(0x9014, "srcadr=198.51.100.11, stratum=2, reach=0x1")->settling());
  CHECK_FALSE(
      upstream_from_peer(0x9014, "srcadr=198.51.100.11, stratum=2, reach=0xff")->settling());
  // ntpd judges a peer only after its iburst: 7 of 8 answered is still settling.
  CHECK(upstream_from_peer(0x9014, "srcadr=198.51.100.11, stratum=2, reach=0x7f")->settling());
  CHECK_FALSE(
      upstream_from_peer(0x9014, "srcadr=198.51.100.11, stratum=16, reach=0x1")->settling());
  CHECK_FALSE(upstream_from_peer(0xb414, "srcadr=198.51.100.11, stratum=2, reach=0x1")->settling());
  // ntpsec's pool association only spawns servers: not an upstream.
  CHECK_FALSE(upstream_from_peer(0x8811, "srcadr=0.0.0.0, reach=000, refid=POOL"));
  CHECK_FALSE(upstream_from_peer(0x8811, "srcadr=192.0.2.80, reach=000, refid=POOL"));
  CHECK_FALSE(upstream_from_peer(0x8811, "stratum=16"));
  CHECK(upstream_from_peer(0x9614, "srcadr=127.127.28.0, reach=377")->refclock);
  CHECK(upstream_from_peer(0x9614, "srcadr=SHM(0), reach=377")->refclock);
}

TEST_CASE("chronyc -c -n sources: states, reach and the offset turned to ntpq's sign",
          "[upstreams]") {
  // As chronyc 4.3 printed it for three answering servers and one silent.
  auto upstreams = upstreams_from_chronyc(
      "^,*,198.51.100.11,2,-2,377,0,0.000001308,0.000001344,0.002509239\n"
      "^,-,198.51.100.12,2,-2,377,0,0.000001647,0.000001647,0.002509850\n"
      "^,x,198.51.100.13,2,-2,17,0,-0.250000000,0.000001633,0.002509655\n"
      "^,?,198.51.100.14,0,0,0,4294967295,0.000000000,0.000000000,0.000000000\n"
      "#,+,PPS,0,4,377,5,0.000000100,0.000000100,0.000001000\n");
  REQUIRE(upstreams);
  REQUIRE(upstreams->size() == 5);
  const auto& u = *upstreams;
  CHECK(u[0].state == UpstreamState::selected);
  CHECK(u[0].reach == 0377);
  CHECK(*u[0].offset_ms == Approx(-0.001308));
  CHECK(u[1].state == UpstreamState::outlier);
  CHECK(u[1].usable());
  CHECK(u[2].state == UpstreamState::falseticker);
  CHECK(u[2].reach == 017);
  CHECK(*u[2].offset_ms == Approx(250));
  CHECK(u[3].state == UpstreamState::unreachable);
  CHECK_FALSE(u[3].offset_ms);
  CHECK(u[4].refclock);
  CHECK(reach_summary(u) == "4 of 5 upstreams reached (reach 377 377 17 0 377)");
  auto broken = upstreams_from_chronyc("^,*,198.51.100.11,2\n");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code == ExitCode::unavailable);
}
