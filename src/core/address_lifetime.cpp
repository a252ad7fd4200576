// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/address_lifetime.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "pooljoin/unique_fd.hpp"

namespace pooljoin {
namespace {

// One read of a dump: the kernel fills at most about 8 KiB per datagram (NLMSG_GOODSIZE).
constexpr std::size_t kReadBuffer = std::size_t{32} * 1024;
// A dump answers within microseconds; a second per read and for the whole is generous.
constexpr auto kDumpTimeout = std::chrono::seconds(1);

template <typename T>
std::optional<T> read_struct(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < sizeof(T)) return std::nullopt;
  T value;
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}

std::optional<IpAddress> address_of(unsigned char family, std::span<const std::uint8_t> data) {
  sockaddr_storage storage{};
  if (family == AF_INET && data.size() == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, data.data(), 4);
  } else if (family == AF_INET6 && data.size() == 16) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, data.data(), 16);
  } else {
    return std::nullopt;
  }
  return IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

// One RTM_NEWADDR message's payload: an ifaddrmsg, then its attributes.
void add_address(std::span<const std::uint8_t> payload, AddressLifetimes& into) {
  auto message = read_struct<ifaddrmsg>(payload);
  if (!message) return;
  std::optional<IpAddress> local, address;
  AddressLifetime lifetime;
  std::uint32_t flags = message->ifa_flags;
  std::size_t offset = NLMSG_ALIGN(sizeof(ifaddrmsg));
  while (offset + sizeof(rtattr) <= payload.size()) {
    auto attribute = read_struct<rtattr>(payload.subspan(offset));
    if (attribute->rta_len < sizeof(rtattr) || attribute->rta_len > payload.size() - offset) break;
    auto data = payload.subspan(offset + RTA_LENGTH(0), attribute->rta_len - RTA_LENGTH(0));
    switch (attribute->rta_type) {
      case IFA_LOCAL:
        local = address_of(message->ifa_family, data);
        break;
      case IFA_ADDRESS:
        address = address_of(message->ifa_family, data);
        break;
      case IFA_CACHEINFO:
        if (auto info = read_struct<ifa_cacheinfo>(data)) {
          lifetime.valid_s = info->ifa_valid;
          lifetime.preferred_s = info->ifa_prefered;
        }
        break;
      case IFA_FLAGS:
        if (auto wide = read_struct<std::uint32_t>(data)) flags = *wide;
        break;
      default:
        break;
    }
    offset += RTA_ALIGN(attribute->rta_len);
  }
  lifetime.permanent = (flags & IFA_F_PERMANENT) != 0;
  // As getifaddrs does: the local address when there is one (a point-to-point link's
  // IFA_ADDRESS is the peer's).
  const std::optional<IpAddress>& key = local ? local : address;
  if (!key) return;
  auto [it, inserted] = into.emplace(*key, lifetime);
  if (!inserted && !it->second.dynamic()) it->second = lifetime;
}

std::optional<AddressLifetimes> dump_once() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return std::nullopt;
  timeval timeout{std::chrono::duration_cast<std::chrono::seconds>(kDumpTimeout).count(), 0};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0)
    return std::nullopt;

  struct {
    nlmsghdr header;
    ifaddrmsg body;
  } request{};
  const auto sequence = static_cast<std::uint32_t>(
      std::chrono::steady_clock::now().time_since_epoch().count() & 0x7FFFFFFF);
  request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  request.header.nlmsg_type = RTM_GETADDR;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.header.nlmsg_seq = sequence;
  request.body.ifa_family = AF_UNSPEC;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &request, request.header.nlmsg_len, 0,
               reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0)
    return std::nullopt;

  AddressLifetimes lifetimes;
  std::vector<std::uint8_t> buffer(kReadBuffer);
  std::size_t total = 0;
  const auto deadline = std::chrono::steady_clock::now() + kDumpTimeout;
  while (total < kMaxAddressDumpBytes && std::chrono::steady_clock::now() < deadline) {
    sockaddr_nl from{};
    socklen_t from_length = sizeof from;
    const ssize_t n = ::recvfrom(fd.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;  // a timeout included
    }
    if (static_cast<std::size_t>(n) > buffer.size()) return std::nullopt;  // truncated
    if (from.nl_pid != 0) continue;                                        // not the kernel
    total += static_cast<std::size_t>(n);
    switch (parse_address_dump({buffer.data(), static_cast<std::size_t>(n)}, sequence, lifetimes)) {
      case DumpProgress::done:
        return lifetimes;
      case DumpProgress::failed:
        return std::nullopt;
      case DumpProgress::more:
        break;
    }
  }
  return std::nullopt;
}

}  // namespace

DumpProgress parse_address_dump(std::span<const std::uint8_t> datagram, std::uint32_t sequence,
                                AddressLifetimes& into) {
  std::size_t offset = 0;
  while (offset + sizeof(nlmsghdr) <= datagram.size()) {
    const auto header = *read_struct<nlmsghdr>(datagram.subspan(offset));
    if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > datagram.size() - offset)
      return DumpProgress::failed;
    const auto message = datagram.subspan(offset, header.nlmsg_len);
    offset += std::min<std::size_t>(NLMSG_ALIGN(header.nlmsg_len), datagram.size() - offset);
    if (header.nlmsg_seq != sequence) continue;
    if ((header.nlmsg_flags & NLM_F_DUMP_INTR) != 0) return DumpProgress::failed;
    if (header.nlmsg_type == NLMSG_DONE) return DumpProgress::done;
    if (header.nlmsg_type == NLMSG_ERROR) return DumpProgress::failed;
    if (header.nlmsg_type == RTM_NEWADDR) add_address(message.subspan(NLMSG_HDRLEN), into);
  }
  return DumpProgress::more;
}

std::optional<AddressLifetimes> read_address_lifetimes() {
  // A dump the kernel interrupted (an address came or went meanwhile) is asked for again, once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (auto lifetimes = dump_once()) return lifetimes;
  }
  return std::nullopt;
}

}  // namespace pooljoin
