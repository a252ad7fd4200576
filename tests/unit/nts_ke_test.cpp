// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/nts_ke.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

// An answer built record by record, as a server would send it.
class Answer {
 public:
  Answer& record(std::uint16_t type, std::vector<std::uint8_t> body, bool critical = false) {
    type = static_cast<std::uint16_t>(type | (critical ? 0x8000 : 0));
    bytes_.push_back(static_cast<std::uint8_t>(type >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(type & 0xff));
    bytes_.push_back(static_cast<std::uint8_t>(body.size() >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(body.size() & 0xff));
    bytes_.insert(bytes_.end(), body.begin(), body.end());
    return *this;
  }
  Answer& u16(std::uint16_t type, std::vector<std::uint16_t> values, bool critical = true) {
    std::vector<std::uint8_t> body;
    for (auto v : values) {
      body.push_back(static_cast<std::uint8_t>(v >> 8));
      body.push_back(static_cast<std::uint8_t>(v & 0xff));
    }
    return record(type, body, critical);
  }
  Answer& text(std::uint16_t type, const std::string& value) {
    return record(type, std::vector<std::uint8_t>(value.begin(), value.end()));
  }
  Answer& cookie(std::uint8_t fill, std::size_t size = 100) {
    return record(5, std::vector<std::uint8_t>(size, fill));
  }
  Answer& end() { return record(0, {}, true); }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

// What chrony and ntpsec answer: NTPv4, AES-SIV-CMAC-256, eight cookies.
Answer usual() {
  Answer a;
  a.u16(1, {0}).u16(4, {15});
  for (std::uint8_t i = 0; i < 8; ++i)
    a.cookie(i);
  return a;
}

std::string why_refused(const Answer& answer) {
  auto parsed = parse_nts_ke_answer(answer.bytes());
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().what == "the NTS-KE server's answer is not usable");
  CHECK(parsed.error().code == ExitCode::unavailable);
  return parsed.error().why;
}

}  // namespace

TEST_CASE("the request asks for NTPv4 and AES-SIV-CMAC-256, every record critical") {
  // RFC 8915 section 4: NTS Next Protocol Negotiation (1) for NTPv4 (0), AEAD Algorithm
  // Negotiation (4) for AEAD_AES_SIV_CMAC_256 (15), End of Message (0).
  CHECK(nts_ke_request() == std::vector<std::uint8_t>{0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80,
                                                      0x04, 0x00, 0x02, 0x00, 0x0f, 0x80, 0x00,
                                                      0x00, 0x00});
}

TEST_CASE("a message is complete with its End of Message record, and not before") {
  auto answer = usual().end().bytes();
  CHECK(nts_ke_message_length(answer) == answer.size());
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{4}, std::size_t{10},
                          answer.size() - 4, answer.size() - 1})
    CHECK_FALSE(nts_ke_message_length(std::span(answer).first(cut)));
  // What follows the message is not part of it.
  auto longer = answer;
  longer.insert(longer.end(), {0x80, 0x01, 0x00, 0x02});
  CHECK(nts_ke_message_length(longer) == answer.size());
}

TEST_CASE("the usual answer gives its cookies, and the NTP server and port when named") {
  auto parsed = parse_nts_ke_answer(usual().end().bytes());
  REQUIRE(parsed);
  REQUIRE(parsed->cookies.size() == 8);
  CHECK(parsed->cookies[3] == std::vector<std::uint8_t>(100, 3));
  CHECK_FALSE(parsed->server);
  CHECK_FALSE(parsed->port);

  auto named = usual().text(6, "ntp1.example.net").u16(7, {10123}, false).end();
  parsed = parse_nts_ke_answer(named.bytes());
  REQUIRE(parsed);
  CHECK(parsed->server == "ntp1.example.net");
  CHECK(parsed->port == 10123);
  parsed = parse_nts_ke_answer(usual().text(6, "2001:db8::123").end().bytes());
  REQUIRE(parsed);
  CHECK(parsed->server == "2001:db8::123");
}

TEST_CASE("records pooljoin does not know are ignored unless critical; warnings are kept") {
  auto parsed = parse_nts_ke_answer(usual().record(1024, {1, 2, 3}).u16(3, {7}).end().bytes());
  REQUIRE(parsed);
  CHECK(parsed->warnings == std::vector<std::uint16_t>{7});
  CHECK(why_refused(usual().record(1024, {1, 2, 3}, true).end()) ==
        "it has a critical record of a type pooljoin does not know (1024)");
}

TEST_CASE("more than eight cookies: the first eight are kept") {
  auto answer = usual();
  answer.cookie(42).cookie(43);
  auto parsed = parse_nts_ke_answer(answer.end().bytes());
  REQUIRE(parsed);
  CHECK(parsed->cookies.size() == kNtsMaxCookies);
  CHECK(parsed->cookies.back() == std::vector<std::uint8_t>(100, 7));
}

TEST_CASE("an Error record is the server's refusal, named") {
  CHECK(why_refused(Answer().u16(2, {1}).end()) == "the server refused the request: bad request");
  CHECK(why_refused(Answer().u16(2, {0}).end()) ==
        "the server refused the request: unrecognized critical record");
  CHECK(why_refused(Answer().u16(2, {2}).end()) ==
        "the server refused the request: internal server error");
  CHECK(why_refused(Answer().u16(2, {99}).end()) == "the server refused the request: code 99");
  CHECK(why_refused(Answer().record(2, {1}, true).end()) == "it has a malformed Error record");
}

TEST_CASE("what the server did not agree to is said") {
  CHECK(why_refused(Answer().u16(4, {15}).cookie(1).end()) ==
        "it has no NTS Next Protocol Negotiation record");
  CHECK(why_refused(Answer().u16(1, {}).u16(4, {15}).cookie(1).end()) ==
        "the server does not offer NTS for NTPv4");
  CHECK(why_refused(Answer().u16(1, {0}).cookie(1).end()) ==
        "it has no AEAD Algorithm Negotiation record");
  CHECK(why_refused(Answer().u16(1, {0}).u16(4, {}).cookie(1).end()) ==
        "the server offers none of the AEAD algorithms asked for (AES-SIV-CMAC-256)");
  CHECK(why_refused(Answer().u16(1, {0}).u16(4, {30}).cookie(1).end()) ==
        "the server chose AEAD algorithm 30, not AES-SIV-CMAC-256 (15)");
  CHECK(why_refused(Answer().u16(1, {0}).u16(4, {15}).end()) == "it has no cookie");
}

TEST_CASE("malformed answers are refused with the record named") {
  CHECK(why_refused(usual()) == "it ends before its End of Message record");
  CHECK(why_refused(Answer().u16(1, {0}).u16(1, {0}).u16(4, {15}).cookie(1).end()) ==
        "it has two NTS Next Protocol Negotiation records");
  CHECK(why_refused(Answer().u16(1, {0, 1}).u16(4, {15}).cookie(1).end()) ==
        "it offers more than one next protocol");
  CHECK(why_refused(Answer().u16(1, {0}).u16(4, {15}).u16(4, {15}).cookie(1).end()) ==
        "it has two AEAD Algorithm Negotiation records");
  CHECK(why_refused(Answer().u16(1, {0}).u16(4, {15, 16}).cookie(1).end()) ==
        "it offers more than one AEAD algorithm");
  CHECK(why_refused(Answer().record(1, {0, 0, 0}, true).end()) ==
        "its NTS Next Protocol Negotiation record has an odd length (3 bytes)");
  CHECK(why_refused(usual().record(5, {}).end()) == "it has an empty cookie");
  CHECK(why_refused(usual().text(6, "ntp.example.net\nserver evil").end()) ==
        "its NTPv4 server \"ntp.example.net\\nserver evil\" is neither a hostname nor an address");
  CHECK(why_refused(usual().text(6, "a.example").text(6, "b.example").end()) ==
        "it has two NTPv4 Server Negotiation records");
  CHECK(why_refused(usual().u16(7, {0}).end()) ==
        "it has a malformed NTPv4 Port Negotiation record");
  CHECK(why_refused(usual().record(7, {1}).end()) ==
        "it has a malformed NTPv4 Port Negotiation record");
  CHECK(why_refused(usual().u16(7, {123}).u16(7, {123}).end()) ==
        "it has two NTPv4 Port Negotiation records");
  // A record whose length runs past the message.
  auto parsed = parse_nts_ke_answer(std::vector<std::uint8_t>{0x00, 0x05, 0x00, 0x09, 0x01});
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().why == "its New Cookie for NTPv4 record is cut short");
  // Bytes after the End of Message record.
  auto trailing = usual().end().bytes();
  trailing.push_back(0);
  CHECK(parse_nts_ke_answer(trailing).error().why == "it goes on after its End of Message record");
}

TEST_CASE("the exporter contexts name NTPv4, AES-SIV-CMAC-256 and the direction") {
  CHECK(nts_exporter_context(false) == std::array<std::uint8_t, 5>{0, 0, 0, 15, 0});
  CHECK(nts_exporter_context(true) == std::array<std::uint8_t, 5>{0, 0, 0, 15, 1});
}
