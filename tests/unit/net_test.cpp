// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/net.hpp"

#include <catch2/catch.hpp>

using namespace pooljoin;

TEST_CASE("only global unicast addresses can be pool servers", "[net]") {
  struct Row {
    const char* address;
    bool global;
  };
  const Row rows[] = {
      {"8.8.8.8", true},
      {"193.99.144.85", true},
      {"10.1.2.3", false},
      {"172.16.0.1", false},
      {"172.32.0.1", true},
      {"192.168.1.1", false},
      {"100.64.0.1", false},
      {"100.128.0.1", true},
      {"127.0.0.1", false},
      {"169.254.1.1", false},
      {"192.0.2.10", false},
      {"198.51.100.1", false},
      {"203.0.113.7", false},
      {"198.18.0.1", false},
      {"224.0.0.1", false},
      {"255.255.255.255", false},
      {"0.0.0.0", false},
      {"2001:4ca0:0:103::81bb:fe20", true},
      {"2a01:4f8::1", true},
      {"::1", false},
      {"fe80::1", false},
      {"fd00::2", false},
      {"ff02::1", false},
      {"2001:db8::1", false},
      {"2002:c000:0204::1", false},
      {"2001::1", false},
      {"::ffff:8.8.8.8", false},
      {"3fff::1", false},
      {"4000::1", false},
  };
  for (const auto& row : rows) {
    INFO(row.address);
    auto ip = IpAddress::parse(row.address);
    REQUIRE(ip);
    CHECK(ip->is_global_unicast() == row.global);
    CHECK(ip->non_global_reason().empty() == row.global);
  }
  CHECK(IpAddress::parse("10.0.0.1")->non_global_reason() == "private (RFC 1918)");
  CHECK(IpAddress::parse("fd12::1")->non_global_reason() == "unique local (ULA)");
}

TEST_CASE("address literals parse and print canonically", "[net]") {
  CHECK(IpAddress::parse("2001:0DB8:0000::0001")->to_string() == "2001:db8::1");
  CHECK(IpAddress::parse("1.2.3.4")->is_v4());
  CHECK_FALSE(IpAddress::parse("1.2.3"));
  CHECK_FALSE(IpAddress::parse("[::1]"));
  CHECK_FALSE(IpAddress::parse("1.2.3.4:123"));
  CHECK_FALSE(IpAddress::parse(""));
  CHECK_FALSE(IpAddress::parse("fe80::1%eth0"));
  // Found by fuzz/cli_values: inet_pton stopped at the NUL and the rest went into a config.
  using namespace std::string_view_literals;
  CHECK_FALSE(IpAddress::parse("2001:db8::1\0\nx"sv));
  CHECK_FALSE(IpAddress::parse("192.0.2.1\0"sv));
  CHECK(IpAddress::parse("192.0.2.1")->in_prefix(*IpAddress::parse("192.0.2.0"), 24));
  CHECK_FALSE(IpAddress::parse("192.0.3.1")->in_prefix(*IpAddress::parse("192.0.2.0"), 24));
  CHECK(IpAddress::parse("2001:db8:1:2::5")->in_prefix(*IpAddress::parse("2001:db8:1::"), 48));
}

TEST_CASE("endpoints: host, host:port, [v6]:port", "[net]") {
  auto check = [](const char* text, const char* host, int port) {
    INFO(text);
    auto ep = parse_endpoint(text, 123);
    REQUIRE(ep);
    CHECK(ep->host == host);
    CHECK(ep->port == port);
  };
  check("ntp.example.org", "ntp.example.org", 123);
  check("ntp.example.org:1123", "ntp.example.org", 1123);
  check("192.0.2.1", "192.0.2.1", 123);
  check("192.0.2.1:10123", "192.0.2.1", 10123);
  check("2001:db8::1", "2001:db8::1", 123);
  check("[2001:db8::1]", "2001:db8::1", 123);
  check("[2001:db8::1]:4123", "2001:db8::1", 4123);
  for (const char* bad : {"", ":123", "host:0", "host:65536", "host:12x", "[1.2.3.4]:123",
                          "[2001:db8::1", "[2001:db8::1]x", "bad host", "a..b", "-a.example"}) {
    INFO(bad);
    CHECK_FALSE(parse_endpoint(bad, 123));
  }
}

TEST_CASE("hostnames are letters, digits and hyphens in labels", "[net]") {
  CHECK(is_valid_hostname("ntp1.example.org"));
  CHECK(is_valid_hostname("ptbtime1.ptb.de."));
  CHECK(is_valid_hostname("0.de.pool.ntp.org"));
  CHECK_FALSE(is_valid_hostname("1.2.3.4.5"));
  CHECK_FALSE(is_valid_hostname("ntp.example.org\nrestrict default"));
  CHECK_FALSE(is_valid_hostname("ntp example.org"));
  CHECK_FALSE(is_valid_hostname("\"ntp.example.org\""));
  CHECK_FALSE(is_valid_hostname("under_score.example"));
  CHECK_FALSE(is_valid_hostname(std::string(64, 'a') + ".example"));
  CHECK(is_valid_hostname(std::string(63, 'a') + ".example"));
  CHECK_FALSE(is_valid_hostname(
      std::string(250, 'a').insert(60, ".").insert(120, ".").insert(180, ".") + ".de"));
}
