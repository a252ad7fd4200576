// SPDX-License-Identifier: Apache-2.0
// AEAD_AES_SIV_CMAC_256 (RFC 5297), the AEAD every NTS server offers (RFC 8915 section 5.1):
// S2V over AES-CMAC, then AES-CTR, built on OpenSSL's CMAC and CTR. Not OpenSSL's own
// "AES-128-SIV": before OpenSSL 3.5 it cannot seal an empty plaintext, and every NTS request
// seals one (openssl/openssl issue 26580). The unit tests hold this to RFC 5297's vectors and to
// OpenSSL's AES-128-SIV wherever that one works.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "pooljoin/error.hpp"

namespace pooljoin {

inline constexpr std::size_t kSivKeyLength = 32;  // the MAC half, then the CTR half
inline constexpr std::size_t kSivTagLength = 16;

using SivKey = std::array<std::uint8_t, kSivKeyLength>;
using Bytes = std::span<const std::uint8_t>;

// The synthetic IV (16 bytes) followed by the ciphertext (as long as the plaintext). Each
// element of `associated` is one S2V component, in order (for NTS: the packet up to the
// authenticator, then the nonce). Fails only when OpenSSL does (ExitCode::internal).
Result<std::vector<std::uint8_t>> siv_seal(const SivKey& key, std::span<const Bytes> associated,
                                           Bytes plaintext);

// The plaintext of `sealed` (IV, then ciphertext), or an error (ExitCode::unavailable) when it
// is shorter than an IV or does not authenticate with `key` and `associated`.
Result<std::vector<std::uint8_t>> siv_open(const SivKey& key, std::span<const Bytes> associated,
                                           Bytes sealed);

}  // namespace pooljoin
