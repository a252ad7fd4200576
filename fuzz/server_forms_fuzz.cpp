// SPDX-License-Identifier: Apache-2.0
// libFuzzer: the numeric and host-name forms of an upstream server (--server, --upstream, a
// config's `server` word), as the daemons' resolver reads them (inet_aton(3)). What parse_upstream
// accepts is never loopback, unspecified, broadcast, 0/8 or the LOCAL clock's 127.127/16 once
// unmapped, carries no white space, control character or `#`, and agrees with inet_aton and
// inet_pton: a word they read as a loopback address is never accepted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <arpa/inet.h>

#include "pooljoin/net.hpp"
#include "pooljoin/ntp_config.hpp"

namespace {

using namespace pooljoin;

// Loopback, unspecified, broadcast, "this network" (0/8) or the LOCAL clock (127.127/16).
bool is_local_v4(std::uint32_t host_order) {
  const std::uint32_t first = host_order >> 24;
  return first == 127 || first == 0 || host_order == 0xffffffffu;
}

bool is_refused_address(const IpAddress& address) {
  const IpAddress ip = address.unmapped();
  const auto& b = ip.bytes();
  if (ip.is_v4()) {
    return is_local_v4((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                       (std::uint32_t{b[2]} << 8) | b[3]);
  }
  bool zero_to_15 = true;
  for (std::size_t i = 0; i < 15; ++i)
    zero_to_15 = zero_to_15 && b[i] == 0;
  return zero_to_15 && (b[15] == 0 || b[15] == 1);  // :: and ::1
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  const auto as_resolver = IpAddress::parse_as_resolver(text);
  if (as_resolver) {
    // What the resolver's reading prints back is read the same way.
    auto again = IpAddress::parse_as_resolver(as_resolver->to_string());
    if (!again || *again != *as_resolver) __builtin_trap();
  }

  const auto accepted = parse_upstream(text);
  if (!accepted) return 0;
  const std::string& word = accepted->address;
  for (char c : word) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '#') __builtin_trap();
  }
  if (word.empty()) __builtin_trap();
  // The word is judged as the address the daemon would read it as.
  if (auto ip = IpAddress::parse_as_resolver(word); ip && is_refused_address(*ip)) __builtin_trap();
  if (as_resolver && is_refused_address(*as_resolver)) __builtin_trap();
  // The C library's own readings, where they apply (both need a NUL-free string).
  if (text.find('\0') == std::string::npos) {
    in_addr v4{};
    if (::inet_aton(text.c_str(), &v4) != 0 && is_local_v4(ntohl(v4.s_addr))) __builtin_trap();
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
      std::array<std::uint8_t, 16> bytes{};
      for (std::size_t i = 0; i < 16; ++i)
        bytes[i] = v6.s6_addr[i];
      auto parsed = IpAddress::parse(text);
      if (parsed && is_refused_address(*parsed)) __builtin_trap();
      bool mapped = true;
      for (std::size_t i = 0; i < 10; ++i)
        mapped = mapped && bytes[i] == 0;
      mapped = mapped && bytes[10] == 0xff && bytes[11] == 0xff;
      if (mapped &&
          is_local_v4((std::uint32_t{bytes[12]} << 24) | (std::uint32_t{bytes[13]} << 16) |
                      (std::uint32_t{bytes[14]} << 8) | bytes[15]))
        __builtin_trap();
      bool loop = true;
      for (std::size_t i = 0; i < 15; ++i)
        loop = loop && bytes[i] == 0;
      if (loop && bytes[15] <= 1) __builtin_trap();
    }
  }
  return 0;
}
