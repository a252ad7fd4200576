// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/nts_ntp.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

namespace pooljoin {
namespace {

constexpr std::size_t kFieldHeader = 4;

std::size_t padded(std::size_t n) {
  return (n + 3) / 4 * 4;
}

std::uint16_t read16(std::span<const std::uint8_t> bytes, std::size_t at) {
  return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::size_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8 & 0xff));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

// An extension field: type, length (with its header), the body, zeros to a multiple of 4.
void put_field(std::vector<std::uint8_t>& out, std::uint16_t type,
               std::span<const std::uint8_t> body) {
  put16(out, type);
  put16(out, kFieldHeader + padded(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  out.resize(out.size() + padded(body.size()) - body.size(), 0);
}

struct Field {
  std::uint16_t type;
  std::size_t start;  // of its header, in the datagram
  std::span<const std::uint8_t> body;
};

// The extension fields after the header; nullopt when one is malformed.
std::optional<std::vector<Field>> fields_of(std::span<const std::uint8_t> bytes, std::size_t from) {
  std::vector<Field> fields;
  std::size_t at = from;
  while (at < bytes.size()) {
    if (bytes.size() - at < kFieldHeader) return std::nullopt;
    const std::uint16_t type = read16(bytes, at);
    const std::size_t length = read16(bytes, at + 2);
    if (length < kFieldHeader || length % 4 != 0 || length > bytes.size() - at) return std::nullopt;
    fields.push_back({type, at, bytes.subspan(at + kFieldHeader, length - kFieldHeader)});
    at += length;
  }
  return fields;
}

tl::unexpected<Error> not_nts(std::string why) {
  return fail(ExitCode::unavailable, "the NTS reply is not usable", std::move(why));
}

}  // namespace

Result<std::vector<std::uint8_t>> nts_request(const SivKey& c2s,
                                              std::span<const std::uint8_t> cookie,
                                              const NtsUniqueId& unique_id, const NtsNonce& nonce,
                                              NtpTimestamp transmit, std::size_t placeholders) {
  const auto header = client_request(transmit);
  std::vector<std::uint8_t> packet(header.begin(), header.end());
  put_field(packet, kEfUniqueIdentifier, unique_id);
  put_field(packet, kEfNtsCookie, cookie);
  const std::vector<std::uint8_t> zeros(cookie.size(), 0);
  for (std::size_t i = 0; i < placeholders; ++i)
    put_field(packet, kEfNtsCookiePlaceholder, zeros);
  // The authenticator: what came before is associated data, then the nonce; nothing encrypted.
  const std::array<Bytes, 2> associated{Bytes(packet), Bytes(nonce)};
  auto sealed = siv_seal(c2s, associated, {});
  if (!sealed) return tl::unexpected(sealed.error());
  std::vector<std::uint8_t> body;
  put16(body, nonce.size());
  put16(body, sealed->size());
  body.insert(body.end(), nonce.begin(), nonce.end());
  body.insert(body.end(), sealed->begin(), sealed->end());
  put_field(packet, kEfNtsAuthenticator, body);
  return packet;
}

Result<NtsReply> check_nts_reply(const SivKey& s2c, std::span<const std::uint8_t> reply,
                                 const NtsUniqueId& unique_id) {
  auto header = decode_ntp(reply);
  if (!header) return not_nts("it is shorter than an NTP header");
  auto fields = fields_of(reply, kNtpHeaderSize);
  if (!fields) return not_nts("its extension fields are malformed");
  const auto uid = std::find_if(fields->begin(), fields->end(),
                                [](const Field& f) { return f.type == kEfUniqueIdentifier; });
  if (uid == fields->end())
    return not_nts("it has no unique identifier: the server did not answer as NTS");
  if (!std::equal(uid->body.begin(), uid->body.end(), unique_id.begin(), unique_id.end()))
    return not_nts("its unique identifier is not the request's");
  NtsReply result;
  if (header->stratum == 0 && header->reference_id == kKissNtsNak) {
    result.nak = true;
    return result;
  }
  const Field& last = fields->back();
  if (last.type != kEfNtsAuthenticator) {
    const bool anywhere = std::any_of(fields->begin(), fields->end(),
                                      [](const Field& f) { return f.type == kEfNtsAuthenticator; });
    return not_nts(anywhere ? "its authenticator is not its last field"
                            : "it has no authenticator");
  }
  const auto body = last.body;
  if (body.size() < 4) return not_nts("its authenticator is malformed");
  const std::size_t nonce_length = read16(body, 0);
  const std::size_t sealed_length = read16(body, 2);
  if (nonce_length == 0 || sealed_length < kSivTagLength ||
      4 + padded(nonce_length) + padded(sealed_length) > body.size())
    return not_nts("its authenticator is malformed");
  const auto nonce = body.subspan(4, nonce_length);
  const auto sealed = body.subspan(4 + padded(nonce_length), sealed_length);
  const std::array<Bytes, 2> associated{reply.first(last.start), nonce};
  auto plaintext = siv_open(s2c, associated, sealed);
  if (!plaintext) return not_nts("its authenticator does not verify with the session's key");
  auto inner = fields_of(*plaintext, 0);
  if (!inner) return not_nts("its encrypted fields are malformed");
  for (const Field& f : *inner)
    if (f.type == kEfNtsCookie && !f.body.empty())
      result.cookies.emplace_back(f.body.begin(), f.body.end());
  return result;
}

}  // namespace pooljoin
