// SPDX-License-Identifier: Apache-2.0
// NTS Key Establishment (RFC 8915 section 4) as a client speaks it: the request pooljoin sends
// over TLS 1.3 (ALPN "ntske/1") and the judgement of the records the server answers with. The
// TLS session and the key export are the transport's (nts_tls); this is the message alone.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/error.hpp"

namespace pooljoin {

inline constexpr std::uint16_t kNtsKePort = 4460;  // RFC 8915 section 4 (IANA "ntske")
inline constexpr std::string_view kNtsKeAlpn = "ntske/1";
// The protocol the keys are for: NTPv4 (RFC 8915 section 7.7, "NTS Next Protocols").
inline constexpr std::uint16_t kNtsNextProtocolNtpv4 = 0;
// AEAD_AES_SIV_CMAC_256 (RFC 5297), the algorithm every NTS server must offer (section 5.1).
inline constexpr std::uint16_t kAeadAesSivCmac256 = 15;
inline constexpr std::size_t kAesSivCmac256KeyLength = 32;
// The TLS exporter label of RFC 8915 section 5.1 (no "/1": that was a draft's).
inline constexpr std::string_view kNtsExporterLabel = "EXPORTER-network-time-security";
// The most pooljoin reads of one answer: eight cookies of a few hundred bytes are far below it
// (chrony refuses messages above the same size).
inline constexpr std::size_t kNtsKeMaxMessage = 16384;
// A server sends eight cookies (RFC 8915 section 4.1.6); more are ignored.
inline constexpr std::size_t kNtsMaxCookies = 8;

// Record types (RFC 8915 section 7.6); the high bit of the type field is the critical bit.
enum class NtsKeRecord : std::uint16_t {
  end_of_message = 0,
  next_protocol = 1,
  error = 2,
  warning = 3,
  aead_algorithm = 4,
  new_cookie = 5,
  ntpv4_server = 6,
  ntpv4_port = 7,
};

// The client's request: NTPv4 next, AES-SIV-CMAC-256, End of Message (all critical).
std::vector<std::uint8_t> nts_ke_request();

// The length of the first complete message in `bytes` (up to and including its End of Message
// record), or nullopt while more must be read.
std::optional<std::size_t> nts_ke_message_length(std::span<const std::uint8_t> bytes);

struct NtsKeAnswer {
  std::vector<std::vector<std::uint8_t>> cookies;  // at most kNtsMaxCookies, none empty
  std::optional<std::string> server;               // where to send NTP, if not the KE host
  std::optional<std::uint16_t> port;               // the NTP port, if not 123
  std::vector<std::uint16_t> warnings;             // Warning records' codes (none defined yet)
};

// The server's message judged (one whole message, as nts_ke_message_length cut it): NTPv4 and
// AES-SIV-CMAC-256 agreed, one cookie or more. An Error record, an unrecognised critical
// record, a malformed or repeated one, or a missing part is an error saying which.
Result<NtsKeAnswer> parse_nts_ke_answer(std::span<const std::uint8_t> message);

// "bad request" for the Error record's codes of RFC 8915 section 7.8, "code N" for the others.
std::string nts_ke_error_name(std::uint16_t code);

// The exporter context for the client-to-server (false) or server-to-client (true) key: the
// protocol, the algorithm, and the direction (RFC 8915 section 5.1).
std::array<std::uint8_t, 5> nts_exporter_context(bool server_to_client);

}  // namespace pooljoin
