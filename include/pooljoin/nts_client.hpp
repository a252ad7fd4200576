// SPDX-License-Identifier: Apache-2.0
// NTS Key Establishment over the network (RFC 8915 section 4): a TCP connection, TLS 1.3 with
// ALPN "ntske/1" and the server's certificate verified for its name, the request, the answer
// judged (nts_ke.hpp), and the two AEAD keys exported from the TLS session. OpenSSL does the
// TLS: libcurl, which the pool's site goes through, cannot export keys; Debian's libcurl is built
// on the same OpenSSL, so nothing new is loaded on the machines pooljoin is for.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/nts_ke.hpp"

namespace pooljoin {

struct NtsKeTarget {
  std::string name;  // the certificate must be valid for it (a DNS name or an address)
  std::uint16_t port = kNtsKePort;
  std::optional<IpAddress> address;  // where to connect; the name's first address otherwise
};

struct NtsKeOptions {
  std::chrono::milliseconds timeout{5000};  // the whole exchange: connection, TLS, answer
  std::string ca_file;                      // trusted certificates; empty: the system's store
};

using NtsKey = std::array<std::uint8_t, kAesSivCmac256KeyLength>;

struct NtsKeSession {
  NtsKeAnswer answer;
  NtsKey client_to_server{};
  NtsKey server_to_client{};
  IpAddress address;        // the address the TLS session was with
  std::string tls_version;  // as OpenSSL names it ("TLSv1.3")
  std::string cipher;       // the TLS cipher suite
};

// The exchange with the server. Errors (ExitCode::unavailable, or interrupted) say what failed
// in terms an operator can act on: "connection refused", "certificate not valid for the name",
// "the server did not agree to NTS-KE (ALPN ntske/1)", the NTS-KE refusal's reason.
class NtsKeClient {
 public:
  virtual ~NtsKeClient() = default;
  virtual Result<NtsKeSession> establish(const NtsKeTarget& target,
                                         const NtsKeOptions& options) = 0;
};

// The real one: a non-blocking socket, OpenSSL 3, and poll with a deadline (SIGINT and SIGTERM
// end the wait).
class OpenSslNtsKe : public NtsKeClient {
 public:
  Result<NtsKeSession> establish(const NtsKeTarget& target, const NtsKeOptions& options) override;
};

}  // namespace pooljoin
