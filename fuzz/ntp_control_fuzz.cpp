// SPDX-License-Identifier: Apache-2.0
// libFuzzer: what a daemon (or anyone) answers to mode 6 and mode 7 queries, and what chronyc
// prints. The input is a sequence number (2 bytes), then datagrams, each preceded by its
// length (2 bytes, big-endian); the whole input is also parsed as text.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "pooljoin/daemon_state.hpp"
#include "pooljoin/ntp_control.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pooljoin;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_control_variables(text);
  (void)daemon_state_from_variables(text);
  (void)daemon_state_from_chronyc(text);
  (void)decode_private(std::span<const std::uint8_t>(data, size));
  if (size < 2) return 0;

  auto sequence = static_cast<std::uint16_t>(data[0] << 8 | data[1]);
  ControlResponse response(sequence, kControlReadVariables);
  std::size_t at = 2;
  while (at + 2 <= size) {
    std::size_t length = static_cast<std::size_t>(data[at] << 8 | data[at + 1]);
    at += 2;
    if (length > size - at) length = size - at;
    auto added = response.add(std::span<const std::uint8_t>(data + at, length));
    at += length;
    if (added == ControlResponse::Added::complete && !response.error()) {
      std::string whole = response.data();
      if (whole.size() > kControlMaxResponse) __builtin_trap();
      (void)daemon_state_from_variables(whole);
    }
  }
  return 0;
}
