#include "pooljoin/loopback_probe.hpp"

#include <array>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "pooljoin/unique_fd.hpp"

namespace pooljoin {
namespace {

constexpr std::size_t kPacketSize = 48;
constexpr std::size_t kOriginOffset = 24, kTransmitOffset = 40;
constexpr int kClientMode = 3, kServerMode = 4, kVersion = 4;

std::string refid_text(const std::uint8_t* refid, int stratum) {
  if (stratum <= 1) {
    std::string text;
    for (int i = 0; i < 4 && refid[i] >= 0x20 && refid[i] < 0x7f; ++i)
      text += static_cast<char>(refid[i]);
    return text;
  }
  return fmt::format("{}.{}.{}.{}", refid[0], refid[1], refid[2], refid[3]);
}

}  // namespace

std::string LoopbackAnswer::describe() const {
  if (synchronised()) return fmt::format("stratum {}, synchronised", stratum);
  return fmt::format("unsynchronised (stratum {}, refid {})", stratum, refid.empty() ? "-" : refid);
}

Result<LoopbackAnswer> query_loopback(std::chrono::milliseconds timeout, std::uint16_t port) {
  using Clock = std::chrono::steady_clock;
  auto unavailable = [&](std::string why) {
    return fail(ExitCode::unavailable, fmt::format("no NTP answer from 127.0.0.1:{}", port),
                std::move(why));
  };
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return unavailable(errno_text(errno));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    return unavailable(errno_text(errno));
  }

  std::array<std::uint8_t, kPacketSize> query{};
  query[0] = static_cast<std::uint8_t>((kVersion << 3) | kClientMode);
  // An unpredictable transmit timestamp, which a genuine reply echoes as its origin.
  if (::getrandom(query.data() + kTransmitOffset, 8, 0) != 8) {
    return unavailable("getrandom failed: " + errno_text(errno));
  }
  const auto sent = Clock::now();
  if (::send(fd.get(), query.data(), query.size(), 0) < 0) return unavailable(errno_text(errno));

  const auto deadline = sent + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return unavailable("no reply");
    pollfd p{fd.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    std::array<std::uint8_t, 1024> reply{};
    ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
    if (n < 0) {
      // ECONNREFUSED: nothing listens on the port (an ICMP port unreachable came back).
      if (errno == EINTR) continue;
      return unavailable(errno_text(errno));
    }
    if (static_cast<std::size_t>(n) < kPacketSize) continue;
    if ((reply[0] & 0x7) != kServerMode) continue;
    if (std::memcmp(reply.data() + kOriginOffset, query.data() + kTransmitOffset, 8) != 0) {
      continue;
    }
    LoopbackAnswer answer;
    answer.leap = reply[0] >> 6;
    answer.stratum = reply[1];
    answer.refid = refid_text(reply.data() + 12, answer.stratum);
    answer.rtt = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent);
    return answer;
  }
}

}  // namespace pooljoin
