// SPDX-License-Identifier: Apache-2.0
// libFuzzer: an NTP reply from anyone on the network. The input is our cookie (8 bytes), T1
// (8 bytes), T4 (8 bytes), then the datagram.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "pooljoin/ntp_packet.hpp"
#include "pooljoin/pool_score.hpp"

namespace {

std::uint64_t take64(const std::uint8_t*& data, std::size_t& size) {
  std::uint64_t value = 0;
  std::size_t n = size < 8 ? size : 8;
  std::memcpy(&value, data, n);
  data += n;
  size -= n;
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pooljoin;
  NtpTimestamp cookie = take64(data, size);
  NtpTimestamp t1 = take64(data, size);
  NtpTimestamp t4 = take64(data, size);
  std::span<const std::uint8_t> datagram(data, size);

  if (auto header = decode_ntp(datagram)) {
    auto encoded = encode(*header);
    if (std::memcmp(encoded.data(), data, kNtpHeaderSize) != 0) __builtin_trap();  // round trip
    (void)reference_id_text(header->stratum, header->reference_id);
    // The reply as if it echoed our cookie, so that the checks past the origin are reached.
    NtpHeader echoed = *header;
    echoed.origin = cookie;
    auto again = encode(echoed);
    NtpSample sample = evaluate_reply(again, cookie, t1, t4);
    if (sample.fault == NtpFault::wrong_origin) __builtin_trap();
    if (sample.valid() && sample.delay_s < 0) __builtin_trap();
    ScoreStep step = score_step(sample);
    double score = converged_score(step);
    if (score > kPoolMaxScore) __builtin_trap();
  }
  NtpSample sample = evaluate_reply(datagram, cookie, t1, t4);
  (void)describe(sample.fault);
  (void)describe_kiss(sample.kiss);
  (void)next_score(0, score_step(sample));
  return 0;
}
