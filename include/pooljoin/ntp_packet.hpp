// SPDX-License-Identifier: Apache-2.0
// The NTP packet of RFC 5905 as a client sees it: the 48-byte header, 32.32 timestamps with
// era-safe arithmetic, and the judgement of one reply (origin, mode, kiss-o'-death, sync state).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct timespec;

namespace pooljoin {

// Seconds since 1900-01-01 in 32.32 fixed point, of an unknown era: only differences between
// two timestamps mean something, taken as signed 64-bit values (ntp_difference), which is right
// across the 2036-02-07 rollover while the two clocks are within 68 years of each other.
using NtpTimestamp = std::uint64_t;

inline constexpr std::size_t kNtpHeaderSize = 48;
inline constexpr std::uint8_t kNtpVersion = 4;
// Stratum 16 means unsynchronised (RFC 5905 figure 11).
inline constexpr std::uint8_t kStratumUnsynchronized = 16;

enum class Leap : std::uint8_t { none = 0, add_second = 1, delete_second = 2, unsynchronized = 3 };
std::string_view to_string(Leap leap);  // "none", "add-second", "delete-second", "unsynchronized"

enum class NtpMode : std::uint8_t {
  reserved = 0,
  symmetric_active = 1,
  symmetric_passive = 2,
  client = 3,
  server = 4,
  broadcast = 5,
  control = 6,
  private_use = 7,
};

struct NtpHeader {
  Leap leap = Leap::none;
  std::uint8_t version = kNtpVersion;
  NtpMode mode = NtpMode::client;
  std::uint8_t stratum = 0;
  std::int8_t poll = 0;               // log2 seconds
  std::int8_t precision = 0;          // log2 seconds
  std::uint32_t root_delay = 0;       // 16.16 seconds
  std::uint32_t root_dispersion = 0;  // 16.16 seconds
  std::uint32_t reference_id = 0;     // as on the wire, big-endian bytes read as a number
  NtpTimestamp reference = 0;
  NtpTimestamp origin = 0;    // T1 as the client sent it
  NtpTimestamp receive = 0;   // T2, server clock
  NtpTimestamp transmit = 0;  // T3, server clock

  bool operator==(const NtpHeader&) const = default;
};

std::array<std::uint8_t, kNtpHeaderSize> encode(const NtpHeader& header);
// The header of a datagram; nullopt when it is shorter than 48 bytes. Anything after the
// header (extension fields, a MAC) is ignored.
std::optional<NtpHeader> decode_ntp(std::span<const std::uint8_t> datagram);

// A mode 3 request carrying `cookie` as its transmit timestamp, all else zero (RFC 5905 allows
// a client to leave every other field zero; so does the pool's monitor).
std::array<std::uint8_t, kNtpHeaderSize> client_request(NtpTimestamp cookie);

NtpTimestamp to_ntp(const timespec& unix_time);
NtpTimestamp to_ntp(std::chrono::system_clock::time_point time);
NtpTimestamp ntp_now();  // CLOCK_REALTIME

// `later - earlier` as signed 32.32 seconds (two's complement: era-safe).
inline std::int64_t ntp_difference(NtpTimestamp later, NtpTimestamp earlier) {
  return static_cast<std::int64_t>(later - earlier);
}
double fixed_to_seconds(std::int64_t fixed_32_32);
double short_to_seconds(std::uint32_t fixed_16_16);

// The reference id as people read it: the ASCII code at stratum 0 and 1 ("GPS", "RATE"),
// otherwise an IPv4 address in dotted form (for an IPv6 upstream, the first 4 bytes of a hash).
std::string reference_id_text(std::uint8_t stratum, std::uint32_t reference_id);

struct NtpOffsetDelay {
  double offset_s;  // server clock minus local clock
  double delay_s;   // round trip minus the server's processing time; never negative
};
// RFC 5905: offset = ((T2 - T1) + (T3 - T4)) / 2, delay = (T4 - T1) - (T3 - T2).
NtpOffsetDelay offset_and_delay(NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3, NtpTimestamp t4);

// What is wrong with a sample, worst-first when several samples disagree (see worse()).
enum class NtpFault {
  none,
  no_reply,        // nothing arrived before the timeout
  refused,         // ICMP port unreachable: nothing listens, or a firewall rejects
  network_error,   // the request could not be sent (no route, no address of that family)
  truncated,       // shorter than a 48-byte header
  bad_timestamps,  // transmit timestamp 0, or receive later than transmit
  wrong_mode,      // not a server (mode 4) reply
  wrong_origin,    // does not echo our transmit timestamp: spoofed or stale
  bad_stratum,     // stratum 17..255
  unsynchronized,  // stratum 16, or stratum 0 with INIT or no kiss code
  kiss_of_death,   // stratum 0 with a kiss code (RATE, DENY, RSTR, ...)
};
// "none", "no-reply", "refused", ... (stable: used in JSON and by scripts).
std::string_view to_string(NtpFault fault);
// A phrase for people: "no reply", "kiss-o'-death", "does not echo our transmit timestamp".
std::string_view describe(NtpFault fault);
// Whether `a` says more about a server than `b` (a kiss beats a timeout, a timeout beats none).
bool worse(NtpFault a, NtpFault b);

// What a kiss code means (RFC 5905 section 7.4); empty for an unknown code.
std::string_view describe_kiss(std::string_view code);

struct NtpSample {
  NtpFault fault = NtpFault::no_reply;
  std::string kiss;    // the kiss code of a stratum 0 reply ("RATE", "INIT"); empty otherwise
  std::string detail;  // more about a network error ("Network is unreachable")
  double offset_s = 0;
  double delay_s = 0;
  Leap leap = Leap::none;
  std::uint8_t version = 0;
  std::uint8_t stratum = 0;
  std::int8_t poll = 0;
  std::int8_t precision = 0;
  double root_delay_s = 0;
  double root_dispersion_s = 0;
  std::string refid;

  bool valid() const { return fault == NtpFault::none; }
  // A reply of any kind came back (valid or not): the port is open.
  bool replied() const;
};

// The pool monitor ends its check at a reply of stratum 0 or 16, or above this: that reply
// decides the check, however good the earlier ones were.
inline constexpr std::uint8_t kMonitorMaxStratum = 10;
bool ends_monitor_check(const NtpSample& sample);

// Judges one datagram that arrived at local time `t4` for a request whose transmit field was
// `cookie` and which left at local time `t1`. The checks are the pool monitor's, in its order:
// length, mode, transmit 0, origin, receive after transmit (each an invalid reply); then
// kiss-o'-death and stratum. Neither version nor leap makes a reply invalid (the monitor checks
// neither): a leap 3 reply of stratum 1..15 is valid, its leap recorded.
NtpSample evaluate_reply(std::span<const std::uint8_t> datagram, NtpTimestamp cookie,
                         NtpTimestamp t1, NtpTimestamp t4);

}  // namespace pooljoin
