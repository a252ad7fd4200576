#include "pooljoin/loopback_probe.hpp"

#include <array>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "pooljoin/unique_fd.hpp"

using namespace pooljoin;

namespace {

// A UDP responder on an ephemeral loopback port that answers one query with the datagrams
// `shape` makes of it. No Catch assertions in its thread: Catch2 v2 is not thread-safe.
class Responder {
 public:
  using Shape = std::function<std::vector<std::array<std::uint8_t, 48>>(
      const std::array<std::uint8_t, 48>& query)>;
  explicit Responder(Shape shape) : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, shape = std::move(shape)] {
      std::array<std::uint8_t, 48> query{};
      sockaddr_in from{};
      socklen_t from_len = sizeof from;
      if (::recvfrom(fd_.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&from),
                     &from_len) != 48) {
        return;
      }
      for (const auto& reply : shape(query)) {
        ::sendto(fd_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_len);
      }
    });
  }
  ~Responder() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  UniqueFd fd_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

std::array<std::uint8_t, 48> reply_to(const std::array<std::uint8_t, 48>& query, int leap,
                                      int stratum, const char* refid) {
  std::array<std::uint8_t, 48> reply{};
  reply[0] = static_cast<std::uint8_t>((leap << 6) | (4 << 3) | 4);
  reply[1] = static_cast<std::uint8_t>(stratum);
  for (int i = 0; i < 4 && refid[i]; ++i)
    reply[12 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(refid[i]);
  std::copy(query.begin() + 40, query.end(), reply.begin() + 24);  // origin = our transmit
  return reply;
}

}  // namespace

TEST_CASE("loopback probe: a reply echoing our timestamp is the answer", "[probe]") {
  Responder responder([](const auto& query) {
    // Only a version 4 client query (LI 0, mode 3) gets replies.
    if (query[0] != 0x23) return std::vector<std::array<std::uint8_t, 48>>{};
    auto forged = reply_to(query, 0, 2, "");
    forged[24] ^= 0xff;  // another query's origin: ignored
    auto client_mode = reply_to(query, 0, 2, "");
    client_mode[0] = 0x23;  // not a server reply: ignored
    return std::vector<std::array<std::uint8_t, 48>>{forged, client_mode,
                                                     reply_to(query, 3, 0, "INIT")};
  });
  auto answer = query_loopback(std::chrono::milliseconds(2000), responder.port());
  REQUIRE(answer);
  CHECK(answer->leap == 3);
  CHECK(answer->stratum == 0);
  CHECK(answer->refid == "INIT");
  CHECK_FALSE(answer->synchronised());
  CHECK(answer->describe() == "unsynchronised (stratum 0, refid INIT)");
}

TEST_CASE("loopback probe: synchronised, and silence", "[probe]") {
  {
    Responder responder([](const auto& query) {
      auto reply = reply_to(query, 0, 3, "");
      reply[12] = 192, reply[13] = 0, reply[14] = 2, reply[15] = 1;
      return std::vector{reply};
    });
    auto answer = query_loopback(std::chrono::milliseconds(2000), responder.port());
    REQUIRE(answer);
    CHECK(answer->describe() == "stratum 3, synchronised");
    CHECK(answer->refid == "192.0.2.1");
  }
  Responder silent([](const auto&) { return std::vector<std::array<std::uint8_t, 48>>{}; });
  auto start = std::chrono::steady_clock::now();
  auto none = query_loopback(std::chrono::milliseconds(300), silent.port());
  REQUIRE_FALSE(none);
  CHECK(none.error().message() ==
        "no NTP answer from 127.0.0.1:" + std::to_string(silent.port()) + " (no reply)");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}
