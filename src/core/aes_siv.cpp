// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/aes_siv.hpp"

#include <algorithm>
#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace pooljoin {
namespace {

using Block = std::array<std::uint8_t, 16>;

struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

tl::unexpected<Error> openssl_failed(const char* what) {
  return fail(ExitCode::internal, "AES-SIV failed", what,
              "OpenSSL 3 with AES-CMAC and AES-CTR is needed");
}

// AES-CMAC with the MAC half of the key (RFC 4493), over the concatenation of `parts`.
class Cmac {
 public:
  Result<void> init(std::span<const std::uint8_t, 16> key) {
    mac_.reset(EVP_MAC_fetch(nullptr, "CMAC", nullptr));
    if (!mac_) return openssl_failed("no CMAC in OpenSSL");
    key_.assign(key.begin(), key.end());
    return {};
  }
  Result<Block> operator()(std::initializer_list<Bytes> parts) const {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac_.get()));
    std::array<char, 12> cipher{"AES-128-CBC"};
    const std::array<OSSL_PARAM, 2> params{
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher.data(), 0),
        OSSL_PARAM_construct_end()};
    if (!ctx || EVP_MAC_init(ctx.get(), key_.data(), key_.size(), params.data()) != 1)
      return openssl_failed("CMAC would not start");
    for (Bytes part : parts)
      if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1)
        return openssl_failed("CMAC update");
    Block out{};
    std::size_t length = 0;
    if (EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1 || length != out.size())
      return openssl_failed("CMAC final");
    return out;
  }

 private:
  std::unique_ptr<EVP_MAC, MacFree> mac_;
  std::vector<std::uint8_t> key_;
};

// Doubling in GF(2^128) (RFC 5297 section 2.3).
Block dbl(const Block& in) {
  Block out{};
  for (std::size_t i = 0; i < 16; ++i)
    out[i] = static_cast<std::uint8_t>(in[i] << 1 | (i + 1 < 16 ? in[i + 1] >> 7 : 0));
  if ((in[0] & 0x80) != 0) out[15] ^= 0x87;
  return out;
}

void xor_into(Block& into, const Block& other) {
  for (std::size_t i = 0; i < 16; ++i)
    into[i] ^= other[i];
}

// S2V (RFC 5297 section 2.4) over the associated components, then the plaintext.
Result<Block> s2v(const Cmac& cmac, std::span<const Bytes> associated, Bytes plaintext) {
  const Block zero{};
  auto d = cmac({zero});
  if (!d) return d;
  for (Bytes component : associated) {
    auto mac = cmac({component});
    if (!mac) return mac;
    *d = dbl(*d);
    xor_into(*d, *mac);
  }
  if (plaintext.size() >= 16) {
    // T = plaintext xorend D: D into the last 16 bytes.
    std::vector<std::uint8_t> t(plaintext.begin(), plaintext.end());
    for (std::size_t i = 0; i < 16; ++i)
      t[t.size() - 16 + i] ^= (*d)[i];
    return cmac({Bytes(t)});
  }
  Block t = dbl(*d);
  Block padded{};  // the plaintext, then 0x80, then zeros
  std::copy(plaintext.begin(), plaintext.end(), padded.begin());
  padded[plaintext.size()] = 0x80;
  xor_into(t, padded);
  return cmac({Bytes(t)});
}

// AES-CTR with the CTR half of the key from Q = V with bits 63 and 31 cleared (section 2.5).
Result<std::vector<std::uint8_t>> ctr(std::span<const std::uint8_t, 16> key, const Block& v,
                                      Bytes in) {
  Block q = v;
  q[8] &= 0x7f;
  q[12] &= 0x7f;
  std::vector<std::uint8_t> out(in.size());
  if (in.empty()) return out;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  int tail = 0;
  if (!ctx ||
      EVP_EncryptInit_ex2(ctx.get(), EVP_aes_128_ctr(), key.data(), q.data(), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &length, in.data(), static_cast<int>(in.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + length, &tail) != 1 ||
      static_cast<std::size_t>(length) + static_cast<std::size_t>(tail) != in.size())
    return openssl_failed("AES-CTR");
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> siv_seal(const SivKey& key, std::span<const Bytes> associated,
                                           Bytes plaintext) {
  Cmac cmac;
  if (auto ready = cmac.init(std::span(key).first<16>()); !ready)
    return tl::unexpected(ready.error());
  auto v = s2v(cmac, associated, plaintext);
  if (!v) return tl::unexpected(v.error());
  auto ciphertext = ctr(std::span(key).last<16>(), *v, plaintext);
  if (!ciphertext) return ciphertext;
  std::vector<std::uint8_t> out(v->begin(), v->end());
  out.insert(out.end(), ciphertext->begin(), ciphertext->end());
  return out;
}

Result<std::vector<std::uint8_t>> siv_open(const SivKey& key, std::span<const Bytes> associated,
                                           Bytes sealed) {
  if (sealed.size() < kSivTagLength)
    return fail(ExitCode::unavailable, "cannot open an AES-SIV message",
                "it is shorter than its 16-byte synthetic IV");
  Block v{};
  std::copy_n(sealed.begin(), kSivTagLength, v.begin());
  auto plaintext = ctr(std::span(key).last<16>(), v, sealed.subspan(kSivTagLength));
  if (!plaintext) return plaintext;
  Cmac cmac;
  if (auto ready = cmac.init(std::span(key).first<16>()); !ready)
    return tl::unexpected(ready.error());
  auto expected = s2v(cmac, associated, *plaintext);
  if (!expected) return tl::unexpected(expected.error());
  if (CRYPTO_memcmp(expected->data(), v.data(), v.size()) != 0)
    return fail(ExitCode::unavailable, "cannot open an AES-SIV message",
                "it does not authenticate (another key, or changed on the way)");
  return plaintext;
}

}  // namespace pooljoin
