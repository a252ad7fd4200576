// SPDX-License-Identifier: Apache-2.0
// A UDP proxy that adds a fixed round-trip time: each datagram from a client is forwarded to
// the upstream after half of it, each reply returned after the other half. Stands in for
// network latency, since kernel traffic shaping (tc netem) is not available on these machines.
//
//   udp_delay_proxy --listen ADDR:PORT --upstream ADDR:PORT --rtt MS
//
// Prints "ready" once bound; exits on SIGTERM or SIGINT.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pooljoin/net.hpp"
#include "pooljoin/unique_fd.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using pooljoin::UniqueFd;

volatile sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) {
  g_stop = 1;
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  bool operator<(const Address& other) const {
    if (length != other.length) return length < other.length;
    return std::memcmp(&storage, &other.storage, length) < 0;
  }
};

struct Pending {
  Clock::time_point due;
  int fd;      // the socket to send from
  Address to;  // empty for a connected socket
  std::string data;
  bool operator>(const Pending& other) const { return due > other.due; }
};

Address resolve(const char* text) {
  auto endpoint = pooljoin::parse_endpoint(text, 0);
  auto ip = endpoint ? pooljoin::IpAddress::parse(endpoint->host) : std::nullopt;
  if (!ip || endpoint->port == 0) {
    std::fprintf(stderr, "udp_delay_proxy: \"%s\" is not ADDRESS:PORT\n", text);
    std::exit(2);
  }
  Address a;
  a.length = ip->to_sockaddr(endpoint->port, &a.storage);
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const char* listen_text = nullptr;
  const char* upstream_text = nullptr;
  long rtt_ms = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--listen")
      listen_text = argv[i + 1];
    else if (flag == "--upstream")
      upstream_text = argv[i + 1];
    else if (flag == "--rtt")
      rtt_ms = std::strtol(argv[i + 1], nullptr, 10);
  }
  if (!listen_text || !upstream_text || rtt_ms < 0) {
    std::fprintf(stderr,
                 "usage: udp_delay_proxy --listen ADDR:PORT --upstream ADDR:PORT --rtt MS\n");
    return 2;
  }
  const auto half = std::chrono::microseconds(rtt_ms * 500);
  Address listen_address = resolve(listen_text);
  Address upstream = resolve(upstream_text);

  UniqueFd listener(
      ::socket(listen_address.storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&listen_address.storage),
                          listen_address.length) != 0) {
    std::perror("udp_delay_proxy: bind");
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  std::printf("ready\n");
  std::fflush(stdout);

  std::map<Address, UniqueFd> upstream_of;  // one connected upstream socket per client
  std::map<int, Address> client_of;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue;
  char buffer[65536];

  while (!g_stop) {
    std::vector<pollfd> fds{{listener.get(), POLLIN, 0}};
    for (const auto& [fd, client] : client_of)
      fds.push_back({fd, POLLIN, 0});
    int timeout = -1;
    if (!queue.empty()) {
      auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(queue.top().due - Clock::now())
              .count();
      timeout = static_cast<int>(std::max<long long>(wait, 0));
    }
    ::poll(fds.data(), fds.size(), timeout);

    for (const auto& p : fds) {
      if (!(p.revents & POLLIN)) continue;
      for (;;) {
        Address from;
        from.length = sizeof from.storage;
        ssize_t n = ::recvfrom(p.fd, buffer, sizeof buffer, 0,
                               reinterpret_cast<sockaddr*>(&from.storage), &from.length);
        if (n < 0) break;
        if (p.fd == listener.get()) {
          auto it = upstream_of.find(from);
          if (it == upstream_of.end()) {
            UniqueFd fd(
                ::socket(upstream.storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&upstream.storage),
                                 upstream.length) != 0) {
              std::perror("udp_delay_proxy: connect to the upstream");
              return 1;
            }
            client_of[fd.get()] = from;
            it = upstream_of.emplace(from, std::move(fd)).first;
          }
          queue.push({Clock::now() + half,
                      it->second.get(),
                      {},
                      std::string(buffer, static_cast<std::size_t>(n))});
        } else {
          queue.push({Clock::now() + half, listener.get(), client_of[p.fd],
                      std::string(buffer, static_cast<std::size_t>(n))});
        }
      }
    }
    while (!queue.empty() && queue.top().due <= Clock::now()) {
      const Pending& next = queue.top();
      if (next.to.length) {
        ::sendto(next.fd, next.data.data(), next.data.size(), 0,
                 reinterpret_cast<const sockaddr*>(&next.to.storage), next.to.length);
      } else {
        ::send(next.fd, next.data.data(), next.data.size(), 0);
      }
      queue.pop();
    }
  }
  return 0;
}
