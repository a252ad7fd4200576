// SPDX-License-Identifier: Apache-2.0
// NTP mode 6 (control messages, what `ntpq` speaks) and mode 7 (ntpdc's private requests):
// building READVAR and MON_GETLIST requests, reassembling fragmented mode 6 responses, and
// parsing the "name=value, ..." variable lists they carry.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pooljoin {

inline constexpr std::size_t kControlHeaderSize = 12;
inline constexpr std::uint8_t kControlReadStatus = 1;     // READSTAT opcode: the association list
inline constexpr std::uint8_t kControlReadVariables = 2;  // READVAR opcode
// The largest response pooljoin reassembles: ntpd's whole system variable list is < 2 KiB.
inline constexpr std::size_t kControlMaxResponse = std::size_t{64} * 1024;

// A mode 6 request (version 2, as ntpq sends it for compatibility with classic ntpd).
// `association` 0 means the system variables; an empty `payload` asks for all variables.
std::vector<std::uint8_t> control_request(std::uint8_t opcode, std::uint16_t sequence,
                                          std::uint16_t association, std::string_view payload = {});

// An unpredictable, non-zero sequence number for a request (getrandom).
std::uint16_t random_control_sequence();

struct ControlHeader {
  std::uint8_t version = 0;
  std::uint8_t mode = 0;
  bool response = false;  // R
  bool error = false;     // E
  bool more = false;      // M: more fragments follow
  std::uint8_t opcode = 0;
  std::uint16_t sequence = 0;
  std::uint16_t status = 0;
  std::uint16_t association = 0;
  std::uint16_t offset = 0;
  std::uint16_t count = 0;
};
// nullopt when shorter than the 12-byte header.
std::optional<ControlHeader> decode_control(std::span<const std::uint8_t> datagram);

// Reassembles the fragments of one mode 6 response by offset. Datagrams that are not a
// response to (sequence, opcode) are ignored; overlapping, oversized or inconsistent fragments
// make the response malformed.
class ControlResponse {
 public:
  ControlResponse(std::uint16_t sequence, std::uint8_t opcode)
      : sequence_(sequence), opcode_(opcode) {}

  enum class Added { ignored, partial, complete, malformed };
  Added add(std::span<const std::uint8_t> datagram);

  bool complete() const { return complete_; }
  bool malformed() const { return malformed_; }
  // The error bit of the response (the status carries the code: 1 unspecified, 2 bad
  // authentication, 3 bad format, 4 unknown opcode, 5 unknown association, 6 unknown variable,
  // 7 bad value, 8 not permitted).
  bool error() const { return error_; }
  std::uint16_t status() const { return status_; }
  // The reassembled data; meaningful once complete().
  std::string data() const;

 private:
  std::uint16_t sequence_;
  std::uint8_t opcode_;
  std::map<std::uint16_t, std::string> fragments_;  // by offset
  std::optional<std::size_t> end_;                  // total length, known from the last fragment
  bool complete_ = false, malformed_ = false, error_ = false;
  std::uint16_t status_ = 0;
};

// Parses "name=value, name2="quoted, value", flag" into an ordered list; a value in double
// quotes keeps its commas and loses its quotes; names and values are trimmed of blanks, CR, LF.
std::vector<std::pair<std::string, std::string>> parse_control_variables(std::string_view text);
// The value of `name` in a parsed list; nullopt when absent.
std::optional<std::string> find_variable(
    const std::vector<std::pair<std::string, std::string>>& variables, std::string_view name);

// The classic "monlist" request: mode 7, implementation XNTPD (3), request MON_GETLIST_1 (42),
// padded to 48 bytes as ntpdc sends it. ntpsec and chrony never answer it; classic ntpd before
// 4.2.7p26 answers with up to 600 addresses (CVE-2013-5211) unless `noquery` is set.
std::array<std::uint8_t, 48> monlist_request();

struct PrivateReply {
  bool response = false;
  std::uint8_t request_code = 0;
  std::uint8_t error = 0;   // 0 ok, 1 incompatible implementation, 2 unimplemented request, ...
  std::uint16_t items = 0;  // entries carried: the amplification
};
// The header of a mode 7 reply; nullopt when shorter than 8 bytes or not mode 7.
std::optional<PrivateReply> decode_private(std::span<const std::uint8_t> datagram);

}  // namespace pooljoin
