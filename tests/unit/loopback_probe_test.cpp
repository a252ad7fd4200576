// SPDX-License-Identifier: Apache-2.0
// query_loopback, restart's "does the daemon answer?", over real sockets to the project's
// test responder on 127.0.0.1.
#include "pooljoin/loopback_probe.hpp"

#include <chrono>

#include "responder.hpp"
#include <catch2/catch.hpp>

using namespace pooljoin;
using namespace std::chrono_literals;

namespace {

std::uint16_t port_of(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

}  // namespace

TEST_CASE("loopback probe: an unsynchronised daemon still answers", "[responder]") {
  UdpNtp ntp;
  test::Responder responder({"127.0.0.1:0,leap=3,stratum=16"});
  auto answer = query_loopback(ntp, 2000ms, port_of(responder.endpoints().at(0)));
  REQUIRE(answer);
  CHECK(answer->leap == 3);
  CHECK_FALSE(answer->synchronised());
  CHECK(answer->describe().rfind("unsynchronised (stratum ", 0) == 0);
}

TEST_CASE("loopback probe: synchronised, and silence", "[responder]") {
  UdpNtp ntp;
  test::Responder responder({"127.0.0.1:0,stratum=3", "127.0.0.1:0,silent"});
  auto answer = query_loopback(ntp, 2000ms, port_of(responder.endpoints().at(0)));
  REQUIRE(answer);
  CHECK(answer->stratum == 3);
  CHECK(answer->describe() == "stratum 3, synchronised");
  auto start = std::chrono::steady_clock::now();
  auto none = query_loopback(ntp, 300ms, port_of(responder.endpoints().at(1)));
  REQUIRE_FALSE(none);
  CHECK(none.error().code == ExitCode::unavailable);
  CHECK(none.error().what ==
        "no NTP answer from 127.0.0.1:" + std::to_string(port_of(responder.endpoints().at(1))));
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}
