// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/ntp_packet.hpp"

#include <vector>

#include <time.h>

#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

constexpr NtpTimestamp kHalf = 0x80000000ULL;  // 0.5 s
constexpr NtpTimestamp kQuarter = 0x40000000ULL;

NtpTimestamp seconds(std::uint32_t whole, NtpTimestamp fraction = 0) {
  return static_cast<NtpTimestamp>(whole) << 32 | fraction;
}

std::vector<std::uint8_t> bytes(std::initializer_list<int> list) {
  std::vector<std::uint8_t> out;
  for (int b : list)
    out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

// A server reply to `cookie` with the given header fields and timestamps.
std::vector<std::uint8_t> reply(NtpTimestamp cookie, NtpTimestamp t2, NtpTimestamp t3,
                                std::uint8_t stratum = 2, Leap leap = Leap::none,
                                NtpMode mode = NtpMode::server, std::uint32_t refid = 0xc0000201) {
  NtpHeader h;
  h.leap = leap;
  h.mode = mode;
  h.stratum = stratum;
  h.reference_id = refid;
  h.origin = cookie;
  h.receive = t2;
  h.transmit = t3;
  auto encoded = encode(h);
  return {encoded.begin(), encoded.end()};
}

}  // namespace

TEST_CASE("a known server reply decodes field by field", "[ntp]") {
  // LI 0, VN 4, mode 4; stratum 2; poll 6; precision -20; root delay 0x0123/65536 s; root
  // dispersion 0x0456/65536 s; refid 192.0.2.1; four timestamps.
  auto packet = bytes({0x24, 0x02, 0x06, 0xec, 0x00, 0x00, 0x01, 0x23, 0x00, 0x00, 0x04, 0x56,
                       0xc0, 0x00, 0x02, 0x01, 0xee, 0xb2, 0x2b, 0x34, 0x66, 0xbd, 0x0e, 0x12,
                       0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xee, 0xb2, 0x2b, 0x35,
                       0x00, 0x00, 0x00, 0x01, 0xee, 0xb2, 0x2b, 0x35, 0x80, 0x00, 0x00, 0x00});
  auto h = decode_ntp(packet);
  REQUIRE(h);
  CHECK(h->leap == Leap::none);
  CHECK(h->version == 4);
  CHECK(h->mode == NtpMode::server);
  CHECK(h->stratum == 2);
  CHECK(h->poll == 6);
  CHECK(h->precision == -20);
  CHECK(h->root_delay == 0x123);
  CHECK(short_to_seconds(h->root_delay) == Approx(0x123 / 65536.0));
  CHECK(h->root_dispersion == 0x456);
  CHECK(reference_id_text(h->stratum, h->reference_id) == "192.0.2.1");
  CHECK(h->reference == 0xeeb22b3466bd0e12ULL);
  CHECK(h->origin == 0x1122334455667788ULL);
  CHECK(h->receive == 0xeeb22b3500000001ULL);
  CHECK(h->transmit == 0xeeb22b3580000000ULL);
  // And back, byte for byte.
  auto again = encode(*h);
  CHECK(std::vector<std::uint8_t>(again.begin(), again.end()) == packet);
}

TEST_CASE("headers round-trip through encode and decode", "[ntp]") {
  NtpHeader h;
  h.leap = Leap::unsynchronized;
  h.version = 3;
  h.mode = NtpMode::control;
  h.stratum = 255;
  h.poll = -7;
  h.precision = -128;
  h.root_delay = 0xffffffff;
  h.root_dispersion = 1;
  h.reference_id = 0x52415445;  // "RATE"
  h.reference = 1;
  h.origin = ~0ULL;
  h.receive = 0x8000000000000000ULL;
  h.transmit = 0x7fffffffffffffffULL;
  auto encoded = encode(h);
  auto decoded = decode_ntp(encoded);
  REQUIRE(decoded);
  CHECK(*decoded == h);
}

TEST_CASE("a datagram shorter than 48 bytes has no header but longer ones keep theirs", "[ntp]") {
  std::vector<std::uint8_t> short_one(47, 0x24);
  CHECK_FALSE(decode_ntp(short_one));
  CHECK_FALSE(decode_ntp({}));
  auto request = client_request(42);
  std::vector<std::uint8_t> with_extension(request.begin(), request.end());
  with_extension.resize(48 + 1000, 0xab);  // extension fields / MAC after the header
  auto h = decode_ntp(with_extension);
  REQUIRE(h);
  CHECK(h->transmit == 42);
}

TEST_CASE("a client request is mode 3, version 4, our cookie and nothing else", "[ntp]") {
  auto request = client_request(0x0123456789abcdefULL);
  CHECK(request[0] == 0x23);
  for (std::size_t i = 1; i < 40; ++i)
    CHECK(request[i] == 0);
  CHECK(decode_ntp(request)->transmit == 0x0123456789abcdefULL);
}

TEST_CASE("Unix time converts to NTP time, wrapping at 2036-02-07T06:28:16Z", "[ntp]") {
  CHECK(to_ntp(timespec{0, 0}) == seconds(2208988800U));
  CHECK(to_ntp(timespec{1, 500000000}) == seconds(2208988801U, kHalf));
  // One half second before the end of era 0, and the first instant of era 1.
  CHECK(to_ntp(timespec{2085978495, 500000000}) == seconds(0xffffffffU, kHalf));
  CHECK(to_ntp(timespec{2085978496, 0}) == 0);
  CHECK(to_ntp(timespec{2085978496, 250000000}) == seconds(0, kQuarter));
}

TEST_CASE("offset and delay match hand-computed values", "[ntp]") {
  // Client sends at 1000.0; 10 ms path each way; server clock +300 ms; server holds it 2 ms.
  // T2 = 1000.010 + 0.300, T3 = T2 + 0.002, T4 = 1000.022 (client clock).
  auto at = [](double s) { return static_cast<NtpTimestamp>(s * 4294967296.0); };
  auto m = offset_and_delay(at(1000.0), at(1000.310), at(1000.312), at(1000.022));
  CHECK(m.offset_s == Approx(0.300).margin(1e-9));
  CHECK(m.delay_s == Approx(0.020).margin(1e-9));
  // A server behind by 2 s.
  m = offset_and_delay(at(5000.0), at(4998.05), at(4998.05), at(5000.1));
  CHECK(m.offset_s == Approx(-2.0).margin(1e-9));
  CHECK(m.delay_s == Approx(0.1).margin(1e-9));
  // Timestamps that would give a negative delay give 0.
  m = offset_and_delay(at(10.0), at(10.0), at(10.5), at(10.1));
  CHECK(m.delay_s == 0);
}

TEST_CASE("offset and delay are right across the 2036 rollover, from both sides", "[ntp]") {
  // T1 half a second before the rollover (era 0), everything else after it (era 1): +0.25 s
  // offset, 0.5 s each way, 0.25 s in the server.
  NtpTimestamp t1 = seconds(0xffffffffU, kHalf);
  NtpTimestamp t2 = seconds(0, kQuarter);
  NtpTimestamp t3 = seconds(0, kHalf);
  NtpTimestamp t4 = seconds(0, 0xc0000000ULL);
  auto m = offset_and_delay(t1, t2, t3, t4);
  CHECK(m.offset_s == Approx(0.25).margin(1e-9));
  CHECK(m.delay_s == Approx(1.0).margin(1e-9));
  // The server still in era 0 while the client has passed into era 1: -1000 s.
  t1 = seconds(100);
  t2 = seconds(0xffffffffU - 899);
  t3 = t2;
  t4 = seconds(100, kHalf);
  m = offset_and_delay(t1, t2, t3, t4);
  CHECK(m.offset_s == Approx(-1000.25).margin(1e-9));
  CHECK(m.delay_s == Approx(0.5).margin(1e-9));
  CHECK(ntp_difference(seconds(0, 1), seconds(0xffffffffU, 0xffffffffULL)) == 2);
  CHECK(ntp_difference(seconds(0xffffffffU, 0xffffffffULL), seconds(0, 1)) == -2);
}

TEST_CASE("a valid reply is measured", "[ntp]") {
  NtpTimestamp cookie = 0x1234;
  NtpTimestamp t1 = seconds(3000000000U);
  auto packet = reply(cookie, seconds(3000000000U, kQuarter), seconds(3000000000U, kHalf));
  auto s = evaluate_reply(packet, cookie, t1, seconds(3000000000U, 0xc0000000ULL));
  CHECK(s.fault == NtpFault::none);
  CHECK(s.valid());
  CHECK(s.replied());
  CHECK(s.offset_s == Approx(0.0).margin(1e-9));
  CHECK(s.delay_s == Approx(0.5).margin(1e-9));
  CHECK(s.stratum == 2);
  CHECK(s.refid == "192.0.2.1");
  CHECK(s.kiss.empty());
}

TEST_CASE("a reply that does not echo our transmit timestamp is rejected", "[ntp]") {
  auto packet = reply(0x1111, seconds(10), seconds(10));
  auto s = evaluate_reply(packet, 0x2222, seconds(10), seconds(10));
  CHECK(s.fault == NtpFault::wrong_origin);
  CHECK_FALSE(s.valid());
  // Even a kiss-o'-death must echo it: an unauthenticated RATE would let anyone silence us.
  packet = reply(0x1111, 0x1111, 0x1111, 0, Leap::unsynchronized, NtpMode::server, 0x52415445);
  CHECK(evaluate_reply(packet, 0x2222, 0, 0).fault == NtpFault::wrong_origin);
}

TEST_CASE("kiss-o'-death codes are reported by name", "[ntp]") {
  struct Row {
    const char* code;
    NtpFault fault;
  };
  for (Row row : {Row{"RATE", NtpFault::kiss_of_death}, Row{"DENY", NtpFault::kiss_of_death},
                  Row{"RSTR", NtpFault::kiss_of_death}, Row{"STEP", NtpFault::kiss_of_death},
                  Row{"INIT", NtpFault::unsynchronized}}) {
    INFO(row.code);
    std::uint32_t refid = static_cast<std::uint32_t>(row.code[0]) << 24 |
                          static_cast<std::uint32_t>(row.code[1]) << 16 |
                          static_cast<std::uint32_t>(row.code[2]) << 8 |
                          static_cast<std::uint32_t>(row.code[3]);
    // As ntpd sends one: our transmit timestamp in origin, receive and transmit.
    auto packet = reply(7, 7, 7, 0, Leap::unsynchronized, NtpMode::server, refid);
    auto s = evaluate_reply(packet, 7, seconds(1), seconds(1));
    CHECK(s.fault == row.fault);
    CHECK(s.kiss == row.code);
    CHECK_FALSE(describe_kiss(row.code).empty());
  }
  // Stratum 0 without a code: not a kiss the pool knows; unsynchronised (score step -4).
  auto s = evaluate_reply(reply(7, 7, 7, 0, Leap::none, NtpMode::server, 0), 7, 0, 0);
  CHECK(s.fault == NtpFault::unsynchronized);
  CHECK(s.kiss.empty());
  // A kiss whose transmit timestamp is 0 is an invalid reply first (the monitor: no response).
  s = evaluate_reply(reply(7, 0, 0, 0, Leap::unsynchronized, NtpMode::server, 0x52415445), 7, 0, 0);
  CHECK(s.fault == NtpFault::bad_timestamps);
  CHECK(describe_kiss("XXXX").empty());
}

TEST_CASE("unsynchronised servers are reported as such", "[ntp]") {
  // LI 3 at a normal stratum: valid for the monitor (it checks no leap), the leap recorded.
  auto s = evaluate_reply(reply(7, seconds(5), seconds(5), 3, Leap::unsynchronized), 7, seconds(5),
                          seconds(5));
  CHECK(s.fault == NtpFault::none);
  CHECK(s.leap == Leap::unsynchronized);
  // Stratum 16, and ntpsec's own form: LI 3, stratum 0, INIT.
  s = evaluate_reply(reply(7, seconds(5), seconds(5), 16), 7, seconds(5), seconds(5));
  CHECK(s.fault == NtpFault::unsynchronized);
  s = evaluate_reply(reply(7, 7, 7, 0, Leap::unsynchronized, NtpMode::server, 0x494e4954), 7, 0, 0);
  CHECK(s.fault == NtpFault::unsynchronized);
  CHECK(s.kiss == "INIT");
  s = evaluate_reply(reply(7, seconds(5), seconds(5), 17), 7, seconds(5), seconds(5));
  CHECK(s.fault == NtpFault::bad_stratum);
}

TEST_CASE("mode and timestamps are checked, the version is not (as by the monitor)", "[ntp]") {
  auto s = evaluate_reply(reply(7, seconds(5), seconds(5), 2, Leap::none, NtpMode::client), 7,
                          seconds(5), seconds(5));
  CHECK(s.fault == NtpFault::wrong_mode);
  auto packet = reply(7, seconds(5), seconds(5));
  packet[0] = static_cast<std::uint8_t>(0 << 6 | 5 << 3 | 4);                        // version 5
  CHECK(evaluate_reply(packet, 7, seconds(5), seconds(5)).fault == NtpFault::none);  // unchecked
  packet[0] = static_cast<std::uint8_t>(0 << 6 | 3 << 3 | 4);  // version 3 is fine
  CHECK(evaluate_reply(packet, 7, seconds(5), seconds(5)).fault == NtpFault::none);
  CHECK(evaluate_reply(reply(7, seconds(5), 0), 7, seconds(5), seconds(5)).fault ==
        NtpFault::bad_timestamps);
  CHECK(evaluate_reply(reply(7, seconds(6), seconds(5)), 7, seconds(5), seconds(6)).fault ==
        NtpFault::bad_timestamps);
  std::vector<std::uint8_t> truncated(40, 0);
  auto t = evaluate_reply(truncated, 7, 0, 0);
  CHECK(t.fault == NtpFault::truncated);
  CHECK(t.detail == "40 bytes");
}

TEST_CASE("reference ids read as people read them", "[ntp]") {
  CHECK(reference_id_text(1, 0x47505300) == "GPS");
  CHECK(reference_id_text(0, 0x52415445) == "RATE");
  CHECK(reference_id_text(1, 0x01020304) == "0x01020304");
  CHECK(reference_id_text(3, 0x7f000001) == "127.0.0.1");
}

TEST_CASE("faults rank from least to most telling", "[ntp]") {
  CHECK(worse(NtpFault::kiss_of_death, NtpFault::no_reply));
  CHECK(worse(NtpFault::wrong_origin, NtpFault::no_reply));
  CHECK(worse(NtpFault::no_reply, NtpFault::none));
  CHECK_FALSE(worse(NtpFault::no_reply, NtpFault::kiss_of_death));
  CHECK(to_string(NtpFault::kiss_of_death) == "kiss-of-death");
  CHECK(to_string(NtpFault::wrong_origin) == "wrong-origin");
}
