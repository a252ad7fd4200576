// SPDX-License-Identifier: Apache-2.0
// libFuzzer: what an NTS-KE server answers (RFC 8915 section 4), as pooljoin reads it from the
// TLS stream: the message cut at its End of Message record, then judged. An answer judged usable
// must hold what the judgement promises. The input is also judged as an NTS reply to an NTP
// request (section 5), with a fixed key and unique identifier.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pooljoin/nts_ke.hpp"
#include "pooljoin/nts_ntp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pooljoin;
  const std::span<const std::uint8_t> bytes(data, size);
  (void)parse_nts_ke_answer(bytes);
  SivKey key{};
  key.fill(0x42);
  NtsUniqueId unique_id{};
  if (size >= kNtpHeaderSize + 4 + unique_id.size())
    std::copy_n(data + kNtpHeaderSize + 4, unique_id.size(), unique_id.begin());
  (void)check_nts_reply(key, bytes, unique_id);
  auto length = nts_ke_message_length(bytes);
  if (!length) return 0;
  if (*length > size) __builtin_trap();
  auto answer = parse_nts_ke_answer(bytes.first(*length));
  if (!answer) return 0;
  if (answer->cookies.empty() || answer->cookies.size() > kNtsMaxCookies) __builtin_trap();
  for (const auto& cookie : answer->cookies)
    if (cookie.empty()) __builtin_trap();
  if (answer->port && *answer->port == 0) __builtin_trap();
  return 0;
}
