// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/ntp_control.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "pooljoin/daemon_state.hpp"

using namespace pooljoin;

namespace {

// What ntpsec 1.2.2 answered to READVAR (association 0, all variables), synchronised in orphan
// mode at stratum 4; captured on this project's test machine.
const std::string kNtpsecVariables =
    "leap=0, stratum=4, precision=-24, rootdelay=0.000, rootdisp=0.000,\r\n"
    "refid=127.0.0.1, reftime=0x00000000.00000000, tc=0, peer=0,\r\n"
    "offset=0.000000, frequency=0.000000, sys_jitter=0.000000,\r\n"
    "clk_jitter=0.000060, clock=0xeeb22d9f.8f302f3c, processor=\"x86_64\",\r\n"
    "system=\"Linux/6.18.44-fc-v782\", version=\"ntpd ntpsec-1.2.2\",\r\n"
    "clk_wander=0.000000, mintc=0\r\n";

// One response fragment of `data` at `offset`, as ntpd sends it.
std::vector<std::uint8_t> fragment(std::uint16_t sequence, std::uint16_t offset,
                                   std::string_view data, bool more, bool error = false,
                                   std::uint8_t opcode = kControlReadVariables) {
  std::vector<std::uint8_t> out(kControlHeaderSize + data.size(), 0);
  out[0] = 0x16;
  out[1] = static_cast<std::uint8_t>(0x80 | (error ? 0x40 : 0) | (more ? 0x20 : 0) | opcode);
  out[2] = static_cast<std::uint8_t>(sequence >> 8);
  out[3] = static_cast<std::uint8_t>(sequence);
  out[4] = 0x06;
  out[5] = 0x15;
  out[8] = static_cast<std::uint8_t>(offset >> 8);
  out[9] = static_cast<std::uint8_t>(offset);
  out[10] = static_cast<std::uint8_t>(data.size() >> 8);
  out[11] = static_cast<std::uint8_t>(data.size());
  std::copy(data.begin(), data.end(), out.begin() + kControlHeaderSize);
  while (out.size() % 4)
    out.push_back(0);
  return out;
}

}  // namespace

TEST_CASE("a READVAR request is the 12-byte header ntpq sends", "[mode6]") {
  auto request = control_request(kControlReadVariables, 0x1234, 0);
  CHECK(request == std::vector<std::uint8_t>{0x16, 0x02, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0});
  // Named variables are the payload, padded to 4 bytes.
  auto named = control_request(kControlReadVariables, 1, 0, "leap,stratum");
  CHECK(named.size() == 24);
  CHECK(named[11] == 12);
  CHECK(std::string(named.begin() + 12, named.begin() + 24) == "leap,stratum");
}

TEST_CASE("a one-fragment response is complete at once", "[mode6]") {
  ControlResponse response(0x1234, kControlReadVariables);
  auto added = response.add(fragment(0x1234, 0, kNtpsecVariables, false));
  CHECK(added == ControlResponse::Added::complete);
  CHECK(response.complete());
  CHECK_FALSE(response.error());
  CHECK(response.data() == kNtpsecVariables);
}

TEST_CASE("fragments are reassembled by offset, in any order", "[mode6]") {
  const std::string data = kNtpsecVariables;
  const std::size_t a = 100, b = 220;
  auto first = fragment(9, 0, std::string_view(data).substr(0, a), true);
  auto second =
      fragment(9, static_cast<std::uint16_t>(a), std::string_view(data).substr(a, b - a), true);
  auto last = fragment(9, static_cast<std::uint16_t>(b), std::string_view(data).substr(b), false);

  ControlResponse in_order(9, kControlReadVariables);
  CHECK(in_order.add(first) == ControlResponse::Added::partial);
  CHECK(in_order.add(second) == ControlResponse::Added::partial);
  CHECK(in_order.add(last) == ControlResponse::Added::complete);
  CHECK(in_order.data() == data);

  ControlResponse reversed(9, kControlReadVariables);
  CHECK(reversed.add(last) == ControlResponse::Added::partial);
  CHECK(reversed.add(first) == ControlResponse::Added::partial);
  CHECK(reversed.add(first) == ControlResponse::Added::partial);  // a duplicate is harmless
  CHECK(reversed.add(second) == ControlResponse::Added::complete);
  CHECK(reversed.data() == data);
}

TEST_CASE("foreign, overlapping and lying fragments are not reassembled", "[mode6]") {
  ControlResponse response(9, kControlReadVariables);
  // Another sequence, another opcode, a request (no R bit), NTP mode 4: ignored.
  CHECK(response.add(fragment(10, 0, "leap=0", false)) == ControlResponse::Added::ignored);
  CHECK(response.add(fragment(9, 0, "leap=0", false, false, 1)) == ControlResponse::Added::ignored);
  auto request = control_request(kControlReadVariables, 9, 0);
  CHECK(response.add(request) == ControlResponse::Added::ignored);
  std::vector<std::uint8_t> ntp(48, 0);
  ntp[0] = 0x24;
  CHECK(response.add(ntp) == ControlResponse::Added::ignored);
  CHECK(response.add(std::vector<std::uint8_t>(5, 0x16)) == ControlResponse::Added::ignored);
  CHECK_FALSE(response.complete());

  ControlResponse overlap(9, kControlReadVariables);
  CHECK(overlap.add(fragment(9, 0, "abcdefgh", true)) == ControlResponse::Added::partial);
  CHECK(overlap.add(fragment(9, 4, "efghijkl", false)) == ControlResponse::Added::malformed);
  CHECK(overlap.malformed());

  // A count larger than the datagram.
  auto lying = fragment(9, 0, "abcd", false);
  lying[11] = 200;
  ControlResponse liar(9, kControlReadVariables);
  CHECK(liar.add(lying) == ControlResponse::Added::malformed);

  // Two different ends.
  ControlResponse ends(9, kControlReadVariables);
  CHECK(ends.add(fragment(9, 8, "abcd", false)) == ControlResponse::Added::partial);
  CHECK(ends.add(fragment(9, 16, "abcd", false)) == ControlResponse::Added::malformed);
}

TEST_CASE("an error response ends the exchange with its code", "[mode6]") {
  ControlResponse response(3, kControlReadVariables);
  auto error = fragment(3, 0, "", false, true);
  error[4] = 0x08;  // status high byte: error code 8, not permitted
  error[5] = 0x00;
  CHECK(response.add(error) == ControlResponse::Added::complete);
  CHECK(response.error());
  CHECK(response.status() >> 8 == 8);
}

TEST_CASE("variable lists keep quoted commas and drop blanks", "[mode6]") {
  auto vars = parse_control_variables(kNtpsecVariables);
  REQUIRE(vars.size() == 19);
  CHECK(vars[0] == std::pair<std::string, std::string>{"leap", "0"});
  CHECK(find_variable(vars, "refid") == "127.0.0.1");
  CHECK(find_variable(vars, "version") == "ntpd ntpsec-1.2.2");
  CHECK(find_variable(vars, "system") == "Linux/6.18.44-fc-v782");
  CHECK(find_variable(vars, "mintc") == "0");
  CHECK_FALSE(find_variable(vars, "nosuch"));
  auto odd = parse_control_variables("a=\"x, y\", flag, b = 2 ,, c=");
  REQUIRE(odd.size() == 4);
  CHECK(odd[0].second == "x, y");
  CHECK(odd[1] == std::pair<std::string, std::string>{"flag", ""});
  CHECK(odd[2] == std::pair<std::string, std::string>{"b", "2"});
  CHECK(odd[3] == std::pair<std::string, std::string>{"c", ""});
  CHECK(parse_control_variables("").empty());
  CHECK(parse_control_variables("unterminated=\"abc").front().second == "abc");
}

TEST_CASE("ntpd's system variables become the daemon's state", "[mode6]") {
  auto state = daemon_state_from_variables(kNtpsecVariables);
  REQUIRE(state);
  CHECK(state->synchronized());
  CHECK(state->leap == Leap::none);
  CHECK(state->stratum == 4);
  CHECK(state->refid == "127.0.0.1");
  CHECK(state->offset_ms == 0);

  auto unsynced = daemon_state_from_variables(
      "leap=3, stratum=16, refid=INIT, offset=-1.25, sys_jitter=0.5, rootdelay=12.5, "
      "rootdisp=7.75");
  REQUIRE(unsynced);
  CHECK_FALSE(unsynced->synchronized());
  CHECK(unsynced->leap == Leap::unsynchronized);
  CHECK(unsynced->refid == "INIT");
  CHECK(unsynced->offset_ms == -1.25);
  CHECK(unsynced->jitter_ms == 0.5);
  CHECK(unsynced->root_delay_ms == 12.5);
  CHECK(unsynced->root_dispersion_ms == 7.75);
  // ntpq's two-bit display of the leap indicator is read too.
  CHECK(daemon_state_from_variables("leap=11, stratum=16")->leap == Leap::unsynchronized);
  CHECK(daemon_state_from_variables("leap=01, stratum=2")->leap == Leap::add_second);
  auto broken = daemon_state_from_variables("stratum=4");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code == ExitCode::unavailable);
  CHECK_FALSE(daemon_state_from_variables("leap=7, stratum=4"));
}

TEST_CASE("chronyc's tracking CSV becomes the daemon's state", "[chrony]") {
  // chronyd 4.3 with `local stratum 3`, as `chronyc -c -n tracking` printed it here.
  auto local = daemon_state_from_chronyc(
      "7F7F0101,,3,1795665081.083057020,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,"
      "0.000000000,0.000000000,0.0,Normal\n");
  REQUIRE(local);
  CHECK(local->synchronized());
  CHECK(local->stratum == 3);
  CHECK(local->refid == "127.127.1.1");
  auto remote = daemon_state_from_chronyc(
      "C0000201,192.0.2.1,2,1795665081.083057020,0.000012000,-0.000250000,0.000100000,-1.234,"
      "0.001,0.010,0.012500000,0.000750000,64.2,Normal");
  REQUIRE(remote);
  CHECK(remote->refid == "192.0.2.1");
  CHECK(remote->offset_ms == Approx(0.25));  // chrony's -0.25 ms (local behind) is ntpd's +0.25
  CHECK(remote->jitter_ms == Approx(0.1));
  CHECK(remote->root_delay_ms == Approx(12.5));
  CHECK(remote->root_dispersion_ms == Approx(0.75));
  auto unsynced = daemon_state_from_chronyc(
      "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,0.000000000,"
      "0.000000000,0.0,Not synchronised");
  REQUIRE(unsynced);
  CHECK_FALSE(unsynced->synchronized());
  CHECK_FALSE(daemon_state_from_chronyc("506 Cannot talk to daemon"));
  CHECK_FALSE(daemon_state_from_chronyc("a,b,c,d,e,f,g,h,i,j,k,l,m,Normal"));
}

TEST_CASE("the monlist request and mode 7 replies", "[mode7]") {
  auto request = monlist_request();
  CHECK(request[0] == 0x17);
  CHECK(request[2] == 3);
  CHECK(request[3] == 42);
  std::vector<std::uint8_t> reply = {0x97, 0x00, 0x03, 0x2a, 0x00, 0x06, 0x00, 0x48};
  auto decoded = decode_private(reply);
  REQUIRE(decoded);
  CHECK(decoded->response);
  CHECK(decoded->request_code == 42);
  CHECK(decoded->error == 0);
  CHECK(decoded->items == 6);
  std::vector<std::uint8_t> refused = {0x97, 0x00, 0x03, 0x2a, 0x40, 0x00, 0x00, 0x00};
  CHECK(decode_private(refused)->error == 4);
  CHECK_FALSE(decode_private(std::vector<std::uint8_t>{0x97, 0, 3}));
  CHECK_FALSE(decode_private(std::vector<std::uint8_t>(48, 0x24)));
}
