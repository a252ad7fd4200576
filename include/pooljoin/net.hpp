// SPDX-License-Identifier: Apache-2.0
// IP addresses as values: parsing, printing, and the classification the pool applies (only
// global unicast addresses can be pool servers). Also "host:port" endpoint parsing.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;
struct sockaddr_storage;

namespace pooljoin {

enum class IpFamily { v4, v6 };
std::string_view to_string(IpFamily family);  // "ipv4" / "ipv6"

// Where an address is routed, as far as the pool is concerned: only global unicast addresses
// can be pool servers (and reach them).
enum class AddressScope {
  global,
  loopback,
  link_local,
  private_network,  // RFC 1918 and carrier-grade NAT: behind NAT, the world sees another address
  unique_local,     // IPv6 ULA
  multicast,
  special_purpose,  // documentation, benchmarking, reserved, 6to4, Teredo, IPv4-mapped, ...
};

class IpAddress {
 public:
  // Parses a literal IPv4 or IPv6 address (no brackets, no port, no zone); nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text);
  // A host word as the daemons' resolver reads it (getaddrinfo, then inet_aton): a literal
  // (parse), or IPv4 in inet_aton's other forms: one to four parts, each decimal, octal (a
  // leading 0) or hexadecimal (0x): "0x7f7f0100" and "127.127.1.0x0" are 127.127.1.0,
  // "127.1" is 127.0.0.1. nullopt for anything else (a name).
  static std::optional<IpAddress> parse_as_resolver(std::string_view text);
  static IpAddress from_sockaddr(const sockaddr* sa);
  static IpAddress v4(std::uint32_t host_order);

  IpFamily family() const { return family_; }
  bool is_v4() const { return family_ == IpFamily::v4; }
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }  // v4 in the first 4
  std::string to_string() const;

  // Globally routable unicast: not loopback, link-local, private (RFC 1918), CGNAT, ULA,
  // documentation, benchmarking, multicast, reserved, IPv4-mapped, Teredo or 6to4.
  bool is_global_unicast() const;
  AddressScope scope() const;
  // Why the address is not global unicast ("private (RFC 1918)", ...); empty when it is.
  std::string_view non_global_reason() const;
  // A private network's (RFC 1918, carrier-grade NAT, IPv6 ULA): the operator's own network.
  bool is_local_network() const {
    const auto s = scope();
    return s == AddressScope::private_network || s == AddressScope::unique_local;
  }

  // The IPv4 address an IPv4-mapped one (::ffff:a.b.c.d) carries; the address itself otherwise.
  IpAddress unmapped() const;

  // Whether the first `bits` bits equal those of `prefix` (same family).
  bool in_prefix(const IpAddress& prefix, unsigned bits) const;

  // Fills `out` with this address and `port`; returns the length of the sockaddr.
  unsigned to_sockaddr(std::uint16_t port, sockaddr_storage* out) const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  struct Classified {
    AddressScope scope;
    std::string_view reason;
  };
  Classified classify() const;

  IpFamily family_ = IpFamily::v4;
  std::array<std::uint8_t, 16> bytes_{};
};

struct Endpoint {
  std::string host;  // a hostname or an address literal, without brackets
  std::uint16_t port = 0;
};

// Parses "host", "host:port", "1.2.3.4:123", "[2001:db8::1]:123" and a bare IPv6 literal.
// A missing port becomes `default_port`; nullopt when the text is not of these forms.
std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port);

// Whether `name` is a syntactically valid DNS hostname: labels of letters, digits and hyphens,
// 1-63 characters, not starting or ending with a hyphen, 253 characters at most in all.
bool is_valid_hostname(std::string_view name);

}  // namespace pooljoin
