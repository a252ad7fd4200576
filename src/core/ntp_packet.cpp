// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/ntp_packet.hpp"

#include <algorithm>
#include <cmath>

#include <time.h>

#include <fmt/format.h>

namespace pooljoin {
namespace {

// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
constexpr std::uint64_t kUnixToNtp = 2208988800ULL;
constexpr double kTwoTo32 = 4294967296.0;

std::uint32_t get32(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
         static_cast<std::uint32_t>(b[at + 2]) << 8 | static_cast<std::uint32_t>(b[at + 3]);
}

std::uint64_t get64(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint64_t>(get32(b, at)) << 32 | get32(b, at + 4);
}

void put32(std::uint8_t* out, std::uint32_t value) {
  out[0] = static_cast<std::uint8_t>(value >> 24);
  out[1] = static_cast<std::uint8_t>(value >> 16);
  out[2] = static_cast<std::uint8_t>(value >> 8);
  out[3] = static_cast<std::uint8_t>(value);
}

void put64(std::uint8_t* out, std::uint64_t value) {
  put32(out, static_cast<std::uint32_t>(value >> 32));
  put32(out + 4, static_cast<std::uint32_t>(value));
}

// The order of NtpFault from least to most telling.
constexpr NtpFault kFaultRank[] = {
    NtpFault::none,           NtpFault::no_reply,      NtpFault::network_error,
    NtpFault::refused,        NtpFault::truncated,     NtpFault::bad_timestamps,
    NtpFault::wrong_mode,     NtpFault::wrong_origin,  NtpFault::bad_stratum,
    NtpFault::unsynchronized, NtpFault::kiss_of_death,
};

std::size_t rank(NtpFault fault) {
  return static_cast<std::size_t>(std::find(std::begin(kFaultRank), std::end(kFaultRank), fault) -
                                  std::begin(kFaultRank));
}

}  // namespace

std::string_view to_string(Leap leap) {
  switch (leap) {
    case Leap::none:
      return "none";
    case Leap::add_second:
      return "add-second";
    case Leap::delete_second:
      return "delete-second";
    case Leap::unsynchronized:
      return "unsynchronized";
  }
  return "?";
}

std::array<std::uint8_t, kNtpHeaderSize> encode(const NtpHeader& h) {
  std::array<std::uint8_t, kNtpHeaderSize> out{};
  out[0] = static_cast<std::uint8_t>(static_cast<unsigned>(h.leap) << 6 | (h.version & 0x7u) << 3 |
                                     static_cast<unsigned>(h.mode));
  out[1] = h.stratum;
  out[2] = static_cast<std::uint8_t>(h.poll);
  out[3] = static_cast<std::uint8_t>(h.precision);
  put32(&out[4], h.root_delay);
  put32(&out[8], h.root_dispersion);
  put32(&out[12], h.reference_id);
  put64(&out[16], h.reference);
  put64(&out[24], h.origin);
  put64(&out[32], h.receive);
  put64(&out[40], h.transmit);
  return out;
}

std::optional<NtpHeader> decode_ntp(std::span<const std::uint8_t> b) {
  if (b.size() < kNtpHeaderSize) return std::nullopt;
  NtpHeader h;
  h.leap = static_cast<Leap>(b[0] >> 6);
  h.version = static_cast<std::uint8_t>((b[0] >> 3) & 0x7);
  h.mode = static_cast<NtpMode>(b[0] & 0x7);
  h.stratum = b[1];
  h.poll = static_cast<std::int8_t>(b[2]);
  h.precision = static_cast<std::int8_t>(b[3]);
  h.root_delay = get32(b, 4);
  h.root_dispersion = get32(b, 8);
  h.reference_id = get32(b, 12);
  h.reference = get64(b, 16);
  h.origin = get64(b, 24);
  h.receive = get64(b, 32);
  h.transmit = get64(b, 40);
  return h;
}

std::array<std::uint8_t, kNtpHeaderSize> client_request(NtpTimestamp cookie) {
  NtpHeader h;
  h.mode = NtpMode::client;
  h.transmit = cookie;
  return encode(h);
}

NtpTimestamp to_ntp(const timespec& t) {
  // Seconds wrap modulo 2^32 (the era is dropped); nanoseconds become a 32-bit fraction.
  auto seconds = static_cast<std::uint64_t>(static_cast<std::int64_t>(t.tv_sec)) + kUnixToNtp;
  auto fraction = (static_cast<std::uint64_t>(t.tv_nsec) << 32) / 1000000000ULL;
  return (seconds << 32) | (fraction & 0xffffffffULL);
}

NtpTimestamp to_ntp(std::chrono::system_clock::time_point time) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  timespec t{};
  t.tv_sec = static_cast<time_t>(ns / 1000000000);
  t.tv_nsec = static_cast<long>(ns % 1000000000);
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1000000000;
    t.tv_sec -= 1;
  }
  return to_ntp(t);
}

NtpTimestamp ntp_now() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return to_ntp(t);
}

double fixed_to_seconds(std::int64_t fixed) {
  return static_cast<double>(fixed) / kTwoTo32;
}

double short_to_seconds(std::uint32_t fixed) {
  return static_cast<double>(fixed) / 65536.0;
}

std::string reference_id_text(std::uint8_t stratum, std::uint32_t id) {
  std::uint8_t bytes[4] = {static_cast<std::uint8_t>(id >> 24), static_cast<std::uint8_t>(id >> 16),
                           static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)};
  if (stratum <= 1) {
    std::string text;
    for (auto c : bytes) {
      if (c == 0) break;
      if (c < 0x20 || c > 0x7e) return fmt::format("0x{:08x}", id);
      text += static_cast<char>(c);
    }
    return text;
  }
  return fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
}

NtpOffsetDelay offset_and_delay(NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3,
                                NtpTimestamp t4) {
  // Each difference is taken in 64-bit two's complement first, then converted: the sum of two
  // differences could overflow 64 bits, their conversions cannot.
  double d21 = fixed_to_seconds(ntp_difference(t2, t1));
  double d34 = fixed_to_seconds(ntp_difference(t3, t4));
  double d41 = fixed_to_seconds(ntp_difference(t4, t1));
  double d32 = fixed_to_seconds(ntp_difference(t3, t2));
  return {(d21 + d34) / 2, std::max(0.0, d41 - d32)};
}

std::string_view to_string(NtpFault fault) {
  switch (fault) {
    case NtpFault::none:
      return "none";
    case NtpFault::no_reply:
      return "no-reply";
    case NtpFault::refused:
      return "refused";
    case NtpFault::network_error:
      return "network-error";
    case NtpFault::truncated:
      return "truncated";
    case NtpFault::bad_timestamps:
      return "bad-timestamps";
    case NtpFault::wrong_mode:
      return "wrong-mode";
    case NtpFault::wrong_origin:
      return "wrong-origin";
    case NtpFault::bad_stratum:
      return "bad-stratum";
    case NtpFault::unsynchronized:
      return "unsynchronized";
    case NtpFault::kiss_of_death:
      return "kiss-of-death";
  }
  return "?";
}

std::string_view describe(NtpFault fault) {
  switch (fault) {
    case NtpFault::none:
      return "valid reply";
    case NtpFault::no_reply:
      return "no reply";
    case NtpFault::refused:
      return "port unreachable (nothing listens, or a firewall rejects)";
    case NtpFault::network_error:
      return "the request could not be sent";
    case NtpFault::truncated:
      return "reply shorter than an NTP header";
    case NtpFault::bad_timestamps:
      return "reply with impossible timestamps";
    case NtpFault::wrong_mode:
      return "reply that is not a server (mode 4) reply";
    case NtpFault::wrong_origin:
      return "reply that does not echo our transmit timestamp (spoofed or stale)";
    case NtpFault::bad_stratum:
      return "reply with an invalid stratum";
    case NtpFault::unsynchronized:
      return "the server says it is not synchronised";
    case NtpFault::kiss_of_death:
      return "kiss-o'-death";
  }
  return "?";
}

bool worse(NtpFault a, NtpFault b) {
  return rank(a) > rank(b);
}

std::string_view describe_kiss(std::string_view code) {
  struct Kiss {
    std::string_view code, meaning;
  };
  static constexpr Kiss kCodes[] = {
      {"ACST", "the association belongs to a unicast server"},
      {"AUTH", "server authentication failed"},
      {"AUTO", "autokey sequence failed"},
      {"BCST", "the association belongs to a broadcast server"},
      {"CRYP", "cryptographic authentication or identification failed"},
      {"DENY", "access denied by remote server"},
      {"DROP", "lost peer in symmetric mode"},
      {"RSTR", "access denied due to local policy"},
      {"INIT", "the association has not yet synchronized for the first time"},
      {"MCST", "the association belongs to a dynamically discovered server"},
      {"NKEY", "no key found"},
      {"NTSN", "network time security (NTS) negative-acknowledgment"},
      {"RATE", "rate exceeded: the server has temporarily denied access"},
      {"RMOT", "alteration of association from a remote host running ntpdc"},
      {"STEP", "a step change in system time has occurred"},
  };
  for (const auto& kiss : kCodes) {
    if (kiss.code == code) return kiss.meaning;
  }
  return {};
}

bool NtpSample::replied() const {
  return fault != NtpFault::no_reply && fault != NtpFault::refused &&
         fault != NtpFault::network_error;
}

NtpSample evaluate_reply(std::span<const std::uint8_t> datagram, NtpTimestamp cookie,
                         NtpTimestamp t1, NtpTimestamp t4) {
  NtpSample sample;
  auto header = decode_ntp(datagram);
  if (!header) {
    sample.fault = NtpFault::truncated;
    sample.detail = fmt::format("{} bytes", datagram.size());
    return sample;
  }
  const NtpHeader& h = *header;
  sample.leap = h.leap;
  sample.version = h.version;
  sample.stratum = h.stratum;
  sample.poll = h.poll;
  sample.precision = h.precision;
  sample.root_delay_s = short_to_seconds(h.root_delay);
  sample.root_dispersion_s = short_to_seconds(h.root_dispersion);
  sample.refid = reference_id_text(h.stratum, h.reference_id);

  // The pool monitor's order (beevik/ntp): mode, transmit 0, origin, receive after transmit
  // (unsigned); each an invalid reply, which the monitor counts as no response. Neither the
  // version nor the leap indicator is checked.
  if (h.mode != NtpMode::server) {
    sample.fault = NtpFault::wrong_mode;
    sample.detail = fmt::format("mode {}", static_cast<unsigned>(h.mode));
    return sample;
  }
  if (h.transmit == 0) {
    sample.fault = NtpFault::bad_timestamps;
    sample.detail = "transmit timestamp 0";
    return sample;
  }
  if (h.origin != cookie) {
    sample.fault = NtpFault::wrong_origin;
    return sample;
  }
  if (h.receive > h.transmit) {
    sample.fault = NtpFault::bad_timestamps;
    sample.detail = "receive later than transmit";
    return sample;
  }
  if (h.stratum == 0) {
    // Kiss-o'-death: the timestamps are meaningless; the code is what counts. ntpsec answers
    // INIT (with leap 3) until it first synchronises: that is an unsynchronised server.
    sample.kiss = sample.refid;
    sample.fault = sample.kiss == "INIT" || sample.kiss.empty() ? NtpFault::unsynchronized
                                                                : NtpFault::kiss_of_death;
    return sample;
  }
  auto measured = offset_and_delay(t1, h.receive, h.transmit, t4);
  sample.offset_s = measured.offset_s;
  sample.delay_s = measured.delay_s;
  if (h.stratum > kStratumUnsynchronized) {
    sample.fault = NtpFault::bad_stratum;
  } else if (h.stratum == kStratumUnsynchronized) {
    sample.fault = NtpFault::unsynchronized;
  } else {
    sample.fault = NtpFault::none;  // leap 3 too: the monitor scores it by its offset
  }
  return sample;
}

bool ends_monitor_check(const NtpSample& sample) {
  switch (sample.fault) {
    case NtpFault::kiss_of_death:
    case NtpFault::unsynchronized:
    case NtpFault::bad_stratum:
      return true;
    case NtpFault::none:
      return sample.stratum > kMonitorMaxStratum;
    default:
      return false;
  }
}

}  // namespace pooljoin
