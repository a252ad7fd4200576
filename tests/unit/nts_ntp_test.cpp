// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/nts_ntp.hpp"

#include <vector>

#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

std::uint16_t read16(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::size_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8 & 0xff));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

void field(std::vector<std::uint8_t>& out, std::uint16_t type,
           const std::vector<std::uint8_t>& body) {
  put16(out, type);
  put16(out, 4 + body.size());
  out.insert(out.end(), body.begin(), body.end());
}

SivKey key(std::uint8_t fill) {
  SivKey k{};
  k.fill(fill);
  return k;
}

NtsUniqueId uid(std::uint8_t fill) {
  NtsUniqueId u{};
  u.fill(fill);
  return u;
}

// A server's reply as chrony and ntpsec build it: the header, the unique identifier, then the
// authenticator sealing `cookies` (as NTS Cookie fields) with `s2c`.
std::vector<std::uint8_t> reply(const SivKey& s2c, const NtsUniqueId& unique_id,
                                const std::vector<std::vector<std::uint8_t>>& cookies,
                                std::uint8_t stratum = 2, std::uint32_t refid = 0x7f000001) {
  NtpHeader header;
  header.mode = NtpMode::server;
  header.stratum = stratum;
  header.reference_id = refid;
  header.transmit = 1;
  const auto encoded = encode(header);
  std::vector<std::uint8_t> packet(encoded.begin(), encoded.end());
  field(packet, kEfUniqueIdentifier, {unique_id.begin(), unique_id.end()});
  std::vector<std::uint8_t> plaintext;
  for (const auto& c : cookies)
    field(plaintext, kEfNtsCookie, c);
  NtsNonce nonce{};
  nonce.fill(0x5a);
  const std::array<Bytes, 2> ad{Bytes(packet), Bytes(nonce)};
  auto sealed = siv_seal(s2c, ad, plaintext);
  REQUIRE(sealed);
  std::vector<std::uint8_t> body;
  put16(body, nonce.size());
  put16(body, sealed->size());
  body.insert(body.end(), nonce.begin(), nonce.end());
  body.insert(body.end(), sealed->begin(), sealed->end());
  body.resize((body.size() + 3) / 4 * 4, 0);
  field(packet, kEfNtsAuthenticator, body);
  return packet;
}

std::string why(const Result<NtsReply>& r) {
  REQUIRE_FALSE(r);
  return r.error().why;
}

}  // namespace

TEST_CASE(
    "an NTS request: header, unique identifier, cookie, placeholders, then the authenticator") {
  const std::vector<std::uint8_t> cookie(100, 0xc0);
  NtsNonce nonce{};
  nonce.fill(7);
  auto request = nts_request(key(1), cookie, uid(9), nonce, 0x1122334455667788ULL, 2);
  REQUIRE(request);
  const auto& p = *request;
  // 48 + UID (4 + 32) + cookie (4 + 100) + 2 placeholders (4 + 100 each) + authenticator (40).
  REQUIRE(p.size() == 48 + 36 + 104 + 2 * 104 + 40);
  CHECK(decode_ntp(p)->mode == NtpMode::client);
  CHECK(decode_ntp(p)->transmit == 0x1122334455667788ULL);
  CHECK(read16(p, 48) == kEfUniqueIdentifier);
  CHECK(read16(p, 50) == 36);
  CHECK(read16(p, 84) == kEfNtsCookie);
  CHECK(read16(p, 86) == 104);
  CHECK(std::vector<std::uint8_t>(p.begin() + 88, p.begin() + 188) == cookie);
  CHECK(read16(p, 188) == kEfNtsCookiePlaceholder);
  CHECK(std::all_of(p.begin() + 192, p.begin() + 292, [](auto b) { return b == 0; }));
  const std::size_t auth = p.size() - 40;
  CHECK(read16(p, auth) == kEfNtsAuthenticator);
  CHECK(read16(p, auth + 2) == 40);
  CHECK(read16(p, auth + 4) == 16);  // nonce
  CHECK(read16(p, auth + 6) == 16);  // the synthetic IV alone: nothing is encrypted
  // The IV authenticates everything before the authenticator, then the nonce.
  const std::vector<std::uint8_t> before(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(auth));
  const std::array<Bytes, 2> ad{Bytes(before), Bytes(nonce)};
  auto opened = siv_open(key(1), ad, Bytes(p).subspan(auth + 24, 16));
  REQUIRE(opened);
  CHECK(opened->empty());
  CHECK_FALSE(siv_open(key(2), ad, Bytes(p).subspan(auth + 24, 16)));
}

TEST_CASE("an NTS reply gives the cookies sealed in it") {
  const std::vector<std::vector<std::uint8_t>> cookies{std::vector<std::uint8_t>(100, 1),
                                                       std::vector<std::uint8_t>(100, 2)};
  auto checked = check_nts_reply(key(3), reply(key(3), uid(4), cookies), uid(4));
  REQUIRE(checked);
  CHECK_FALSE(checked->nak);
  CHECK(checked->cookies == cookies);
}

TEST_CASE("an NTS reply that is not the request's, or not genuine, is refused") {
  const std::vector<std::vector<std::uint8_t>> cookies{std::vector<std::uint8_t>(100, 1)};
  CHECK(why(check_nts_reply(key(3), reply(key(3), uid(5), cookies), uid(4))) ==
        "its unique identifier is not the request's");
  CHECK(why(check_nts_reply(key(8), reply(key(3), uid(4), cookies), uid(4))) ==
        "its authenticator does not verify with the session's key");
  // Each byte of the header and the unique identifier is authenticated.
  const auto good = reply(key(3), uid(4), cookies);
  for (std::size_t i = 0; i < 48; ++i) {
    auto changed = good;
    changed[i] ^= 0x10;
    CHECK(why(check_nts_reply(key(3), changed, uid(4))) ==
          "its authenticator does not verify with the session's key");
  }
  // A plain NTP reply, and one cut short.
  const auto plain = encode(NtpHeader{});
  CHECK(
      why(check_nts_reply(key(3), std::vector<std::uint8_t>(plain.begin(), plain.end()), uid(4))) ==
      "it has no unique identifier: the server did not answer as NTS");
  CHECK(why(check_nts_reply(key(3), std::vector<std::uint8_t>(good.begin(), good.begin() + 40),
                            uid(4))) == "it is shorter than an NTP header");
  CHECK(why(check_nts_reply(key(3), std::vector<std::uint8_t>(good.begin(), good.end() - 4),
                            uid(4))) == "its extension fields are malformed");
  // Something after the authenticator: nothing after it would be authenticated.
  auto trailing = good;
  field(trailing, 0x2005, {0, 0, 0, 0});
  CHECK(why(check_nts_reply(key(3), trailing, uid(4))) ==
        "its authenticator is not its last field");
  // The unique identifier alone.
  auto bare = std::vector<std::uint8_t>(good.begin(), good.begin() + 48 + 36);
  CHECK(why(check_nts_reply(key(3), bare, uid(4))) == "it has no authenticator");
}

TEST_CASE("an NTS NAK (stratum 0, NTSN) with our unique identifier is recognised, not trusted") {
  NtpHeader header;
  header.mode = NtpMode::server;
  header.stratum = 0;
  header.reference_id = kKissNtsNak;
  const auto encoded = encode(header);
  std::vector<std::uint8_t> nak(encoded.begin(), encoded.end());
  const auto id = uid(4);
  field(nak, kEfUniqueIdentifier, {id.begin(), id.end()});
  auto checked = check_nts_reply(key(3), nak, uid(4));
  REQUIRE(checked);
  CHECK(checked->nak);
  CHECK(checked->cookies.empty());
  // Someone else's NAK is not ours.
  CHECK(why(check_nts_reply(key(3), nak, uid(6))) == "its unique identifier is not the request's");
}
