// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/net.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace pooljoin {
namespace {

struct Range {
  const char* prefix;
  unsigned bits;
  const char* reason;
  AddressScope scope;
};

struct ParsedRange {
  IpAddress prefix;
  unsigned bits;
  std::string_view reason;
  AddressScope scope;
};

template <std::size_t N>
std::vector<ParsedRange> parse_ranges(const Range (&ranges)[N]) {
  std::vector<ParsedRange> parsed;
  for (const auto& r : ranges)
    parsed.push_back({*IpAddress::parse(r.prefix), r.bits, r.reason, r.scope});
  return parsed;
}

// Special-purpose ranges (IANA registries), with why pool servers cannot live there.
constexpr Range kSpecialV4[] = {
    {"0.0.0.0", 8, "\"this network\" (0.0.0.0/8)", AddressScope::special_purpose},
    {"10.0.0.0", 8, "private (RFC 1918)", AddressScope::private_network},
    {"100.64.0.0", 10, "carrier-grade NAT (RFC 6598)", AddressScope::private_network},
    {"127.0.0.0", 8, "loopback", AddressScope::loopback},
    {"169.254.0.0", 16, "link-local", AddressScope::link_local},
    {"172.16.0.0", 12, "private (RFC 1918)", AddressScope::private_network},
    {"192.0.0.0", 24, "IETF protocol assignments", AddressScope::special_purpose},
    {"192.0.2.0", 24, "documentation (TEST-NET-1)", AddressScope::special_purpose},
    {"192.88.99.0", 24, "6to4 relay anycast", AddressScope::special_purpose},
    {"192.168.0.0", 16, "private (RFC 1918)", AddressScope::private_network},
    {"198.18.0.0", 15, "benchmarking (RFC 2544)", AddressScope::special_purpose},
    {"198.51.100.0", 24, "documentation (TEST-NET-2)", AddressScope::special_purpose},
    {"203.0.113.0", 24, "documentation (TEST-NET-3)", AddressScope::special_purpose},
    {"224.0.0.0", 4, "multicast", AddressScope::multicast},
    {"240.0.0.0", 4, "reserved", AddressScope::special_purpose},
};

constexpr Range kSpecialV6[] = {
    {"2001::", 32, "Teredo", AddressScope::special_purpose},
    {"2001:2::", 48, "benchmarking", AddressScope::special_purpose},
    {"2001:10::", 28, "ORCHID", AddressScope::special_purpose},
    {"2001:20::", 28, "ORCHIDv2", AddressScope::special_purpose},
    {"2001:db8::", 32, "documentation", AddressScope::special_purpose},
    {"2002::", 16, "6to4", AddressScope::special_purpose},
    {"3fff::", 20, "documentation", AddressScope::special_purpose},
};

}  // namespace

std::string_view to_string(IpFamily family) {
  return family == IpFamily::v4 ? "ipv4" : "ipv6";
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  // inet_pton stops at a NUL: "::1\0junk" would pass with the junk kept by the caller.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string s(text);
  IpAddress address;
  if (::inet_pton(AF_INET, s.c_str(), address.bytes_.data()) == 1) {
    address.family_ = IpFamily::v4;
    return address;
  }
  if (::inet_pton(AF_INET6, s.c_str(), address.bytes_.data()) == 1) {
    address.family_ = IpFamily::v6;
    return address;
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::parse_as_resolver(std::string_view text) {
  if (auto literal = parse(text)) return literal;
  // inet_aton's forms use digits, hexadecimal letters, 'x' and dots only; it would also stop at
  // white space, which a config word never holds.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN ||
      text.find_first_not_of("0123456789abcdefABCDEFxX.") != std::string_view::npos) {
    return std::nullopt;
  }
  std::string s(text);
  in_addr in{};
  if (::inet_aton(s.c_str(), &in) == 0) return std::nullopt;
  IpAddress address;
  address.family_ = IpFamily::v4;
  std::memcpy(address.bytes_.data(), &in, 4);
  return address;
}

IpAddress IpAddress::unmapped() const {
  static const auto mapped = *parse("::ffff:0:0");
  if (family_ != IpFamily::v6 || !in_prefix(mapped, 96)) return *this;
  IpAddress v4;
  v4.family_ = IpFamily::v4;
  std::copy(bytes_.begin() + 12, bytes_.end(), v4.bytes_.begin());
  return v4;
}

IpAddress IpAddress::from_sockaddr(const sockaddr* sa) {
  IpAddress address;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    std::memcpy(address.bytes_.data(), &in->sin_addr, 4);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    address.family_ = IpFamily::v6;
    std::memcpy(address.bytes_.data(), &in6->sin6_addr, 16);
  }
  return address;
}

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress address;
  std::uint32_t net = htonl(host_order);
  std::memcpy(address.bytes_.data(), &net, 4);
  return address;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN];
  ::inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer);
  return buffer;
}

bool IpAddress::in_prefix(const IpAddress& prefix, unsigned bits) const {
  if (family_ != prefix.family_) return false;
  unsigned full = bits / 8, rest = bits % 8;
  if (std::memcmp(bytes_.data(), prefix.bytes_.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes_[full] & mask) == (prefix.bytes_[full] & mask);
}

IpAddress::Classified IpAddress::classify() const {
  static const auto special_v4 = parse_ranges(kSpecialV4);
  static const auto special_v6 = parse_ranges(kSpecialV6);
  static const auto loopback = *parse("::1");
  static const auto mapped = *parse("::ffff:0:0");
  if (is_v4()) {
    for (const auto& range : special_v4) {
      if (in_prefix(range.prefix, range.bits)) return {range.scope, range.reason};
    }
    return {AddressScope::global, {}};
  }
  // Only 2000::/3 is global unicast; inside it, a few special ranges are not.
  if ((bytes_[0] & 0xe0) != 0x20) {
    if (*this == loopback) return {AddressScope::loopback, "loopback"};
    if ((bytes_[0] & 0xfe) == 0xfc) return {AddressScope::unique_local, "unique local (ULA)"};
    if (bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80)
      return {AddressScope::link_local, "link-local"};
    if (bytes_[0] == 0xff) return {AddressScope::multicast, "multicast"};
    if (in_prefix(mapped, 96)) return {AddressScope::special_purpose, "IPv4-mapped"};
    return {AddressScope::special_purpose, "not in the global unicast range 2000::/3"};
  }
  for (const auto& range : special_v6) {
    if (in_prefix(range.prefix, range.bits)) return {range.scope, range.reason};
  }
  return {AddressScope::global, {}};
}

AddressScope IpAddress::scope() const {
  return classify().scope;
}

std::string_view IpAddress::non_global_reason() const {
  return classify().reason;
}

bool IpAddress::is_global_unicast() const {
  return scope() == AddressScope::global;
}

unsigned IpAddress::to_sockaddr(std::uint16_t port, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof *out);
  if (is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, bytes_.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::memcpy(&in6->sin6_addr, bytes_.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  auto parse_port = [](std::string_view digits) -> std::optional<std::uint16_t> {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
  };
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto host = text.substr(1, close - 1);
    auto ip = IpAddress::parse(host);
    if (!ip || ip->is_v4()) return std::nullopt;
    auto rest = text.substr(close + 1);
    if (rest.empty()) return Endpoint{std::string(host), default_port};
    if (rest.front() != ':') return std::nullopt;
    auto port = parse_port(rest.substr(1));
    if (!port) return std::nullopt;
    return Endpoint{std::string(host), *port};
  }
  if (auto ip = IpAddress::parse(text)) return Endpoint{ip->to_string(), default_port};
  auto colon = text.rfind(':');
  std::string_view host = text.substr(0, colon);
  std::optional<std::uint16_t> port = default_port;
  if (colon != std::string_view::npos) {
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
    port = parse_port(text.substr(colon + 1));
    if (!port) return std::nullopt;
  }
  if (!IpAddress::parse(host) && !is_valid_hostname(host)) return std::nullopt;
  return Endpoint{std::string(host), *port};
}

bool is_valid_hostname(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // fully qualified form
  if (name.empty() || name.size() > 253) return false;
  std::size_t label_start = 0;
  bool label_all_digits = true;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      std::size_t length = i - label_start;
      if (length == 0 || length > 63) return false;
      if (name[label_start] == '-' || name[i - 1] == '-') return false;
      // A numeric top-level label would make "1.2.3.4.5" a "hostname" (RFC 3696, section 2).
      if (i == name.size() && label_all_digits) return false;
      label_start = i + 1;
      label_all_digits = true;
      continue;
    }
    if (name[i] < '0' || name[i] > '9') label_all_digits = false;
    char c = name[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace pooljoin
