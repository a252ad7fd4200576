// SPDX-License-Identifier: Apache-2.0
// NTS for NTPv4 (RFC 8915 section 5): a client request authenticated with the keys and a
// cookie from NTS-KE, and the judgement of the server's reply (its authenticator opened with the
// server-to-client key, the unique identifier echoed, new cookies taken out of the encrypted
// part, an NTS NAK recognised).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "pooljoin/aes_siv.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/ntp_packet.hpp"

namespace pooljoin {

// Extension field types (RFC 8915 section 7.5).
inline constexpr std::uint16_t kEfUniqueIdentifier = 0x0104;
inline constexpr std::uint16_t kEfNtsCookie = 0x0204;
inline constexpr std::uint16_t kEfNtsCookiePlaceholder = 0x0304;
inline constexpr std::uint16_t kEfNtsAuthenticator = 0x0404;
inline constexpr std::size_t kNtsUniqueIdLength = 32;
inline constexpr std::size_t kNtsNonceLength = 16;
// The kiss code of a reply that refuses the cookie (RFC 8915 section 5.7): "NTSN".
inline constexpr std::uint32_t kKissNtsNak = 0x4e54534e;

using NtsUniqueId = std::array<std::uint8_t, kNtsUniqueIdLength>;
using NtsNonce = std::array<std::uint8_t, kNtsNonceLength>;

// A mode 3 request with `transmit` as its transmit timestamp, the unique identifier, the cookie,
// `placeholders` cookie placeholders (to be sent that many more cookies), and the authenticator
// over all of it (an empty plaintext, `nonce`), sealed with the client-to-server key.
Result<std::vector<std::uint8_t>> nts_request(const SivKey& c2s,
                                              std::span<const std::uint8_t> cookie,
                                              const NtsUniqueId& unique_id, const NtsNonce& nonce,
                                              NtpTimestamp transmit, std::size_t placeholders = 0);

struct NtsReply {
  bool nak = false;  // the server refused the cookie: NTS-KE again (not authenticated)
  std::vector<std::vector<std::uint8_t>> cookies;  // the new cookies it sent, encrypted
};

// A reply judged as NTS: the unique identifier must be ours, and, unless it is an NTS NAK, the
// authenticator the last field and genuine under the server-to-client key. Errors say what was
// wrong (ExitCode::unavailable). The NTP header is judged apart (evaluate_reply).
Result<NtsReply> check_nts_reply(const SivKey& s2c, std::span<const std::uint8_t> reply,
                                 const NtsUniqueId& unique_id);

}  // namespace pooljoin
