// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/ntp_control.hpp"

#include <sys/random.h>

namespace pooljoin {
namespace {

constexpr std::uint8_t kControlVersion = 2;
constexpr std::uint8_t kModeControl = 6;
constexpr std::uint8_t kModePrivate = 7;

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && blank(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && blank(text.back()))
    text.remove_suffix(1);
  return text;
}

}  // namespace

std::uint16_t random_control_sequence() {
  std::uint16_t value = 0;
  if (::getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) value = 1;
  return value == 0 ? 1 : value;
}

std::vector<std::uint8_t> control_request(std::uint8_t opcode, std::uint16_t sequence,
                                          std::uint16_t association, std::string_view payload) {
  std::vector<std::uint8_t> out;
  out.push_back(static_cast<std::uint8_t>(kControlVersion << 3 | kModeControl));
  out.push_back(static_cast<std::uint8_t>(opcode & 0x1f));
  put16(out, sequence);
  put16(out, 0);  // status
  put16(out, association);
  put16(out, 0);  // offset
  put16(out, static_cast<std::uint16_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  while (out.size() % 4 != 0)
    out.push_back(0);
  return out;
}

std::optional<ControlHeader> decode_control(std::span<const std::uint8_t> b) {
  if (b.size() < kControlHeaderSize) return std::nullopt;
  ControlHeader h;
  h.version = static_cast<std::uint8_t>((b[0] >> 3) & 0x7);
  h.mode = static_cast<std::uint8_t>(b[0] & 0x7);
  h.response = (b[1] & 0x80) != 0;
  h.error = (b[1] & 0x40) != 0;
  h.more = (b[1] & 0x20) != 0;
  h.opcode = static_cast<std::uint8_t>(b[1] & 0x1f);
  h.sequence = get16(b, 2);
  h.status = get16(b, 4);
  h.association = get16(b, 6);
  h.offset = get16(b, 8);
  h.count = get16(b, 10);
  return h;
}

ControlResponse::Added ControlResponse::add(std::span<const std::uint8_t> datagram) {
  if (complete_) return Added::complete;
  if (malformed_) return Added::malformed;
  auto h = decode_control(datagram);
  if (!h || h->mode != kModeControl || !h->response || h->sequence != sequence_ ||
      h->opcode != opcode_) {
    return Added::ignored;
  }
  auto malformed = [this] {
    malformed_ = true;
    return Added::malformed;
  };
  std::size_t begin = h->offset;
  std::size_t end = begin + h->count;
  if (h->count > datagram.size() - kControlHeaderSize || end > kControlMaxResponse) {
    return malformed();
  }
  if (h->error) {
    // An error response carries no data; it ends the exchange.
    error_ = true;
    status_ = h->status;
    complete_ = true;
    return Added::complete;
  }
  if (!h->more) {
    if (end_ && *end_ != end) return malformed();
    end_ = end;
  }
  if (end_ && end > *end_) return malformed();
  // Overlap with a neighbour is a protocol error; a repeated identical fragment is harmless.
  auto next = fragments_.lower_bound(h->offset);
  if (next != fragments_.end() && next->first == h->offset) {
    if (next->second.size() != h->count) return malformed();
    return Added::partial;
  }
  if (next != fragments_.end() && next->first < end) return malformed();
  if (next != fragments_.begin()) {
    auto previous = std::prev(next);
    if (previous->first + previous->second.size() > begin) return malformed();
  }
  if (fragments_.size() >= kControlMaxResponse / kControlHeaderSize) return malformed();
  const auto* data = reinterpret_cast<const char*>(datagram.data() + kControlHeaderSize);
  fragments_.emplace(h->offset, std::string(data, h->count));
  status_ = h->status;

  if (!end_) return Added::partial;
  std::size_t covered = 0;
  for (const auto& [offset, bytes] : fragments_) {
    if (offset != covered) return Added::partial;
    covered += bytes.size();
  }
  if (covered != *end_) return Added::partial;
  complete_ = true;
  return Added::complete;
}

std::string ControlResponse::data() const {
  std::string all;
  for (const auto& [offset, bytes] : fragments_)
    all += bytes;
  return all;
}

std::vector<std::pair<std::string, std::string>> parse_control_variables(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> variables;
  std::size_t i = 0;
  while (i < text.size()) {
    // name: up to '=' or ','
    std::size_t name_start = i;
    while (i < text.size() && text[i] != '=' && text[i] != ',')
      ++i;
    std::string name(trim(text.substr(name_start, i - name_start)));
    std::string value;
    if (i < text.size() && text[i] == '=') {
      ++i;
      while (i < text.size() && blank(text[i]))
        ++i;
      if (i < text.size() && text[i] == '"') {
        ++i;
        std::size_t value_start = i;
        while (i < text.size() && text[i] != '"')
          ++i;
        value = std::string(text.substr(value_start, i - value_start));
        if (i < text.size()) ++i;  // closing quote
        while (i < text.size() && text[i] != ',')
          ++i;
      } else {
        std::size_t value_start = i;
        while (i < text.size() && text[i] != ',')
          ++i;
        value = std::string(trim(text.substr(value_start, i - value_start)));
      }
    }
    if (i < text.size()) ++i;  // the comma
    if (!name.empty()) variables.emplace_back(std::move(name), std::move(value));
  }
  return variables;
}

std::optional<std::string> find_variable(
    const std::vector<std::pair<std::string, std::string>>& variables, std::string_view name) {
  for (const auto& [key, value] : variables) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::array<std::uint8_t, 48> monlist_request() {
  std::array<std::uint8_t, 48> request{};
  request[0] = static_cast<std::uint8_t>(kControlVersion << 3 | kModePrivate);  // 0x17
  request[1] = 0;   // not authenticated, sequence 0
  request[2] = 3;   // implementation: IMPL_XNTPD
  request[3] = 42;  // MON_GETLIST_1
  return request;
}

std::optional<PrivateReply> decode_private(std::span<const std::uint8_t> b) {
  if (b.size() < 8 || (b[0] & 0x7) != kModePrivate) return std::nullopt;
  PrivateReply reply;
  reply.response = (b[0] & 0x80) != 0;
  reply.request_code = b[3];
  reply.error = static_cast<std::uint8_t>(b[4] >> 4);
  reply.items = static_cast<std::uint16_t>((b[4] & 0x0f) << 8 | b[5]);
  return reply;
}

}  // namespace pooljoin
