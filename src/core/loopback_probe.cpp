// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/loopback_probe.hpp"

#include <fmt/format.h>

#include "pooljoin/ntp_probe.hpp"

namespace pooljoin {
std::string LoopbackAnswer::describe() const {
  if (synchronised()) return fmt::format("stratum {}, synchronised", stratum);
  return fmt::format("unsynchronised (stratum {}, refid {})", stratum, refid.empty() ? "-" : refid);
}

Result<LoopbackAnswer> query_loopback(NtpTransport& ntp, std::chrono::milliseconds timeout,
                                      std::uint16_t port) {
  ProbeOptions options;
  options.samples = 1;
  options.timeout = timeout;
  auto reports =
      ntp.probe({ProbeTarget{*IpAddress::parse("127.0.0.1"), port, "loopback"}}, options);
  if (!reports) return tl::unexpected(reports.error());
  const ProbeReport& report = reports->front();
  if (!report.reachable()) {
    return fail(ExitCode::unavailable, fmt::format("no NTP answer from 127.0.0.1:{}", port),
                std::string(describe(report.fault())));
  }
  // Any answer counts: an unsynchronised daemon still answers (leap 3, stratum 0, INIT).
  const NtpSample& sample = report.best;
  LoopbackAnswer answer;
  answer.leap = static_cast<int>(sample.leap);
  answer.stratum = sample.stratum;
  answer.refid = sample.refid;
  answer.rtt = std::chrono::milliseconds(static_cast<long>(sample.delay_s * 1000));
  return answer;
}

}  // namespace pooljoin
