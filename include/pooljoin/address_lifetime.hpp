// SPDX-License-Identifier: Apache-2.0
// How long the kernel keeps each of the machine's addresses, read over rtnetlink (RTM_GETADDR),
// which getifaddrs does not tell: a DHCP lease or an IPv6 autoconfigured (SLAAC) address has a
// finite lifetime and may change; one set by hand is permanent (`forever` in `ip addr`).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>

#include "pooljoin/net.hpp"

namespace pooljoin {

struct AddressLifetime {
  static constexpr std::uint32_t kForever = 0xFFFFFFFF;  // the kernel's INFINITY_LIFE_TIME
  std::uint32_t valid_s = kForever;      // seconds until the kernel drops it (`valid_lft`)
  std::uint32_t preferred_s = kForever;  // seconds it stays a preferred source (`preferred_lft`)
  bool permanent = true;  // IFA_F_PERMANENT: set by hand, not leased or autoconfigured

  // Leased or autoconfigured (`ip addr` says `dynamic`): it may change.
  bool dynamic() const { return !permanent || valid_s != kForever; }
  bool operator==(const AddressLifetime&) const = default;
};

using AddressLifetimes = std::map<IpAddress, AddressLifetime>;

// Where a dump stands after one datagram.
enum class DumpProgress { more, done, failed };

// Adds the addresses of the RTM_NEWADDR messages in `datagram` (one read of the kernel's answer to
// RTM_GETADDR with sequence number `sequence`) to `into`. An address met twice (on two
// interfaces) is dynamic when either is. Messages of another sequence and malformed attributes
// are skipped; a truncated message ends the dump as failed, as do NLMSG_ERROR and a dump the
// kernel interrupted (NLM_F_DUMP_INTR: the addresses changed during it).
DumpProgress parse_address_dump(std::span<const std::uint8_t> datagram, std::uint32_t sequence,
                                AddressLifetimes& into);

// At most this many bytes of answer are read; a machine with thousands of addresses stays well
// below it (about 80 bytes each).
inline constexpr std::size_t kMaxAddressDumpBytes = std::size_t{4} * 1024 * 1024;

// The lifetime of every address of the machine (its network namespace), from one dump; nullopt
// when netlink cannot be used (no AF_NETLINK in a sandbox, an error, no end within a second).
std::optional<AddressLifetimes> read_address_lifetimes();

}  // namespace pooljoin
