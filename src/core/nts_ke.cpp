// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/nts_ke.hpp"

#include <fmt/format.h>

#include "pooljoin/net.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

constexpr std::uint16_t kCritical = 0x8000;
constexpr std::size_t kRecordHeader = 4;

std::uint16_t read16(std::span<const std::uint8_t> bytes, std::size_t at) {
  return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

void put_record(std::vector<std::uint8_t>& out, NtsKeRecord type, bool critical,
                std::span<const std::uint16_t> body) {
  put16(out,
        static_cast<std::uint16_t>(static_cast<std::uint16_t>(type) | (critical ? kCritical : 0)));
  put16(out, static_cast<std::uint16_t>(body.size() * 2));
  for (auto value : body)
    put16(out, value);
}

std::string record_name(std::uint16_t type) {
  switch (static_cast<NtsKeRecord>(type)) {
    case NtsKeRecord::end_of_message:
      return "End of Message";
    case NtsKeRecord::next_protocol:
      return "NTS Next Protocol Negotiation";
    case NtsKeRecord::error:
      return "Error";
    case NtsKeRecord::warning:
      return "Warning";
    case NtsKeRecord::aead_algorithm:
      return "AEAD Algorithm Negotiation";
    case NtsKeRecord::new_cookie:
      return "New Cookie for NTPv4";
    case NtsKeRecord::ntpv4_server:
      return "NTPv4 Server Negotiation";
    case NtsKeRecord::ntpv4_port:
      return "NTPv4 Port Negotiation";
  }
  return fmt::format("type {}", type);
}

tl::unexpected<Error> refused(std::string why) {
  return fail(ExitCode::unavailable, "the NTS-KE server's answer is not usable", std::move(why));
}

}  // namespace

std::vector<std::uint8_t> nts_ke_request() {
  std::vector<std::uint8_t> out;
  const std::array<std::uint16_t, 1> protocol{kNtsNextProtocolNtpv4};
  const std::array<std::uint16_t, 1> aead{kAeadAesSivCmac256};
  put_record(out, NtsKeRecord::next_protocol, true, protocol);
  put_record(out, NtsKeRecord::aead_algorithm, true, aead);
  put_record(out, NtsKeRecord::end_of_message, true, {});
  return out;
}

std::optional<std::size_t> nts_ke_message_length(std::span<const std::uint8_t> bytes) {
  std::size_t at = 0;
  while (bytes.size() - at >= kRecordHeader) {
    const auto type = static_cast<std::uint16_t>(read16(bytes, at) & ~kCritical);
    const std::size_t end = at + kRecordHeader + read16(bytes, at + 2);
    if (end > bytes.size()) return std::nullopt;
    if (type == static_cast<std::uint16_t>(NtsKeRecord::end_of_message)) return end;
    at = end;
  }
  return std::nullopt;
}

std::string nts_ke_error_name(std::uint16_t code) {
  switch (code) {
    case 0:
      return "unrecognized critical record";
    case 1:
      return "bad request";
    case 2:
      return "internal server error";
    default:
      return fmt::format("code {}", code);
  }
}

Result<NtsKeAnswer> parse_nts_ke_answer(std::span<const std::uint8_t> message) {
  NtsKeAnswer answer;
  std::optional<std::uint16_t> protocol;
  std::optional<std::uint16_t> aead;
  bool protocol_seen = false;
  bool aead_seen = false;
  bool ended = false;
  std::size_t at = 0;
  while (!ended) {
    if (message.size() - at < kRecordHeader)
      return refused("it ends before its End of Message record");
    const std::uint16_t head = read16(message, at);
    const bool critical = (head & kCritical) != 0;
    const auto type = static_cast<std::uint16_t>(head & ~kCritical);
    const std::size_t length = read16(message, at + 2);
    if (message.size() - at - kRecordHeader < length)
      return refused(fmt::format("its {} record is cut short", record_name(type)));
    const auto body = message.subspan(at + kRecordHeader, length);
    at += kRecordHeader + length;
    // A record whose body is a list of 16-bit values.
    auto values = [&]() -> Result<std::vector<std::uint16_t>> {
      if (body.size() % 2 != 0)
        return refused(fmt::format("its {} record has an odd length ({} bytes)", record_name(type),
                                   body.size()));
      std::vector<std::uint16_t> list;
      for (std::size_t i = 0; i < body.size(); i += 2)
        list.push_back(read16(body, i));
      return list;
    };
    switch (static_cast<NtsKeRecord>(type)) {
      case NtsKeRecord::end_of_message:
        ended = true;
        break;
      case NtsKeRecord::next_protocol: {
        if (protocol_seen) return refused("it has two NTS Next Protocol Negotiation records");
        protocol_seen = true;
        auto list = values();
        if (!list) return tl::unexpected(list.error());
        if (list->size() > 1) return refused("it offers more than one next protocol");
        if (!list->empty()) protocol = list->front();
        break;
      }
      case NtsKeRecord::error: {
        auto list = values();
        if (!list || list->size() != 1) return refused("it has a malformed Error record");
        return refused(
            fmt::format("the server refused the request: {}", nts_ke_error_name(list->front())));
      }
      case NtsKeRecord::warning: {
        auto list = values();
        if (!list || list->size() != 1) return refused("it has a malformed Warning record");
        answer.warnings.push_back(list->front());
        break;
      }
      case NtsKeRecord::aead_algorithm: {
        if (aead_seen) return refused("it has two AEAD Algorithm Negotiation records");
        aead_seen = true;
        auto list = values();
        if (!list) return tl::unexpected(list.error());
        if (list->size() > 1) return refused("it offers more than one AEAD algorithm");
        if (!list->empty()) aead = list->front();
        break;
      }
      case NtsKeRecord::new_cookie:
        if (body.empty()) return refused("it has an empty cookie");
        if (answer.cookies.size() < kNtsMaxCookies)
          answer.cookies.emplace_back(body.begin(), body.end());
        break;
      case NtsKeRecord::ntpv4_server: {
        if (answer.server) return refused("it has two NTPv4 Server Negotiation records");
        const std::string_view name(reinterpret_cast<const char*>(body.data()), body.size());
        if (!is_valid_hostname(name) && !IpAddress::parse(name))
          return refused(fmt::format("its NTPv4 server \"{}\" is neither a hostname nor an address",
                                     printable(name, 64)));
        answer.server = std::string(name);
        break;
      }
      case NtsKeRecord::ntpv4_port: {
        if (answer.port) return refused("it has two NTPv4 Port Negotiation records");
        auto list = values();
        if (!list || list->size() != 1 || list->front() == 0)
          return refused("it has a malformed NTPv4 Port Negotiation record");
        answer.port = list->front();
        break;
      }
      default:
        // RFC 8915 section 4: an unrecognised record is ignored unless it is critical.
        if (critical)
          return refused(
              fmt::format("it has a critical record of a type pooljoin does not know ({})", type));
        break;
    }
  }
  if (at != message.size()) return refused("it goes on after its End of Message record");
  if (!protocol_seen) return refused("it has no NTS Next Protocol Negotiation record");
  if (protocol != kNtsNextProtocolNtpv4) return refused("the server does not offer NTS for NTPv4");
  if (!aead_seen) return refused("it has no AEAD Algorithm Negotiation record");
  if (aead != kAeadAesSivCmac256)
    return refused(
        aead ? fmt::format("the server chose AEAD algorithm {}, not AES-SIV-CMAC-256 (15)", *aead)
             : "the server offers none of the AEAD algorithms asked for (AES-SIV-CMAC-256)");
  if (answer.cookies.empty()) return refused("it has no cookie");
  return answer;
}

std::array<std::uint8_t, 5> nts_exporter_context(bool server_to_client) {
  return {static_cast<std::uint8_t>(kNtsNextProtocolNtpv4 >> 8),
          static_cast<std::uint8_t>(kNtsNextProtocolNtpv4 & 0xff),
          static_cast<std::uint8_t>(kAeadAesSivCmac256 >> 8),
          static_cast<std::uint8_t>(kAeadAesSivCmac256 & 0xff),
          static_cast<std::uint8_t>(server_to_client ? 1 : 0)};
}

}  // namespace pooljoin
