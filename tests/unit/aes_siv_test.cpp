// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/aes_siv.hpp"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <openssl/evp.h>

using namespace pooljoin;

namespace {

std::vector<std::uint8_t> hex(const std::string& text) {
  std::vector<std::uint8_t> out;
  std::string digits;
  for (char c : text)
    if (c != ' ') digits += c;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

SivKey key_of(const std::string& text) {
  auto bytes = hex(text);
  REQUIRE(bytes.size() == kSivKeyLength);
  SivKey key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

struct CipherFree {
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// OpenSSL's own AES-128-SIV (a non-empty plaintext only: see aes_siv.hpp): IV, then ciphertext.
std::vector<std::uint8_t> openssl_siv(const SivKey& key,
                                      const std::vector<std::vector<std::uint8_t>>& ad,
                                      const std::vector<std::uint8_t>& plaintext) {
  std::unique_ptr<EVP_CIPHER, CipherFree> cipher(EVP_CIPHER_fetch(nullptr, "AES-128-SIV", nullptr));
  REQUIRE(cipher);
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  REQUIRE(EVP_EncryptInit_ex2(ctx.get(), cipher.get(), key.data(), nullptr, nullptr) == 1);
  int length = 0;
  for (const auto& component : ad)
    REQUIRE(EVP_EncryptUpdate(ctx.get(), nullptr, &length, component.data(),
                              static_cast<int>(component.size())) == 1);
  std::vector<std::uint8_t> out(16 + plaintext.size());
  REQUIRE(EVP_EncryptUpdate(ctx.get(), out.data() + 16, &length, plaintext.data(),
                            static_cast<int>(plaintext.size())) == 1);
  int tail = 0;
  REQUIRE(EVP_EncryptFinal_ex(ctx.get(), out.data() + 16 + length, &tail) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, out.data()) == 1);
  return out;
}

std::vector<Bytes> spans(const std::vector<std::vector<std::uint8_t>>& parts) {
  return {parts.begin(), parts.end()};
}

}  // namespace

TEST_CASE("AES-SIV gives RFC 5297's vectors, and opens them") {
  SECTION("A.1, deterministic: one associated component") {
    const auto key =
        key_of("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff");
    const std::vector<std::vector<std::uint8_t>> ad{
        hex("10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627")};
    const auto plaintext = hex("11223344 55667788 99aabbcc ddee");
    const auto sealed = siv_seal(key, spans(ad), plaintext);
    REQUIRE(sealed);
    CHECK(*sealed == hex("85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c"));
    CHECK(*sealed == openssl_siv(key, ad, plaintext));
    CHECK(siv_open(key, spans(ad), *sealed) == plaintext);
  }
  SECTION("A.2, nonce-based: two associated components and the nonce") {
    const auto key =
        key_of("7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f");
    const std::vector<std::vector<std::uint8_t>> ad{
        hex("00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 "
            "33221100"),
        hex("10203040 50607080 90a0"), hex("09f91102 9d74e35b d84156c5 635688c0")};
    const auto plaintext = hex(
        "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 "
        "5349562d 414553");
    const auto sealed = siv_seal(key, spans(ad), plaintext);
    REQUIRE(sealed);
    CHECK(std::vector<std::uint8_t>(sealed->begin(), sealed->begin() + 16) ==
          hex("7bdb6e3b 432667eb 06f4d14b ff2fbd0f"));
    CHECK(*sealed == openssl_siv(key, ad, plaintext));
    CHECK(siv_open(key, spans(ad), *sealed) == plaintext);
  }
}

TEST_CASE("AES-SIV seals an empty plaintext, as every NTS request does") {
  // key[i] = 7i + 1, the packet up to the authenticator (68 bytes), a 16-byte nonce: the IV
  // OpenSSL 4.0's AES-128-SIV gives (3.0 cannot seal an empty plaintext).
  SivKey key{};
  for (std::size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<std::uint8_t>(i * 7 + 1);
  std::vector<std::vector<std::uint8_t>> ad(2);
  for (int i = 0; i < 68; ++i)
    ad[0].push_back(static_cast<std::uint8_t>(i));
  for (int i = 0xa0; i <= 0xaf; ++i)
    ad[1].push_back(static_cast<std::uint8_t>(i));
  const auto sealed = siv_seal(key, spans(ad), {});
  REQUIRE(sealed);
  CHECK(*sealed == hex("03546910 e0b0f670 6bb562fa fd78c388"));
  const auto opened = siv_open(key, spans(ad), *sealed);
  REQUIRE(opened);
  CHECK(opened->empty());
}

TEST_CASE("AES-SIV agrees with OpenSSL's AES-128-SIV on 500 random messages") {
  std::mt19937 random(20261203);
  auto bytes = [&](std::size_t n) {
    std::vector<std::uint8_t> out(n);
    for (auto& b : out)
      b = static_cast<std::uint8_t>(random() & 0xff);
    return out;
  };
  for (int round = 0; round < 500; ++round) {
    SivKey key{};
    auto k = bytes(32);
    std::copy(k.begin(), k.end(), key.begin());
    std::vector<std::vector<std::uint8_t>> ad;
    for (std::size_t i = 0, n = random() % 4; i < n; ++i)
      ad.push_back(bytes(1 + random() % 80));
    const auto plaintext = bytes(1 + random() % 100);  // lengths below, at and above a block
    const auto sealed = siv_seal(key, spans(ad), plaintext);
    REQUIRE(sealed);
    REQUIRE(*sealed == openssl_siv(key, ad, plaintext));
    REQUIRE(siv_open(key, spans(ad), *sealed) == plaintext);
  }
}

TEST_CASE("AES-SIV refuses what was changed, a wrong key, and a message shorter than its IV") {
  SivKey key{};
  key[0] = 1;
  const std::vector<std::vector<std::uint8_t>> ad{{1, 2, 3}, {4, 5, 6}};
  const std::vector<std::uint8_t> plaintext{'c', 'o', 'o', 'k', 'i', 'e'};
  const auto sealed = siv_seal(key, spans(ad), plaintext);
  REQUIRE(sealed);
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    auto changed = *sealed;
    changed[i] ^= 0x01;
    const auto opened = siv_open(key, spans(ad), changed);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().why == "it does not authenticate (another key, or changed on the way)");
  }
  auto other_ad = ad;
  other_ad[1][0] ^= 0x80;
  CHECK_FALSE(siv_open(key, spans(other_ad), *sealed));
  // The components' order and split are authenticated too.
  const std::vector<std::vector<std::uint8_t>> joined{{1, 2, 3, 4, 5, 6}};
  CHECK_FALSE(siv_open(key, spans(joined), *sealed));
  SivKey other = key;
  other[31] ^= 1;
  CHECK_FALSE(siv_open(other, spans(ad), *sealed));
  const auto short_one = siv_open(key, spans(ad), Bytes(sealed->data(), 15));
  REQUIRE_FALSE(short_one);
  CHECK(short_one.error().why == "it is shorter than its 16-byte synthetic IV");
}
