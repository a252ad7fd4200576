// SPDX-License-Identifier: Apache-2.0
// Probing NTP servers the way the pool's monitors do: N mode 3 samples per server, spaced by an
// interval, each with a timeout; every server at once, from one thread and one epoll loop, so
// 100 servers take about the time of one. Also one-shot queries (mode 6, mode 7) in the same loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/ntp_packet.hpp"

namespace pooljoin {

struct ProbeTarget {
  IpAddress address;
  std::uint16_t port = 123;
  std::string label;  // what the caller calls it (a hostname, "--server 1"); may be empty

  // "192.0.2.1:123", "[2001:db8::1]:123"
  std::string endpoint() const;
};

// The pool monitor's defaults (CheckHost in client/monitor/monitor.go of
// https://github.com/ntppool/monitor): 3 queries, 2 s apart, 3 s timeout each.
struct ProbeOptions {
  int samples = 3;
  // From the end of one sample (its reply or its timeout) to the sending of the next.
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds timeout{3000};
  // A target silent on its first query gets no more (resolve: a candidate that does not answer
  // is not worth the wait of its other samples). The monitors' check asks every time.
  bool give_up_if_first_silent = false;
};

struct ProbeReport {
  ProbeTarget target;
  // In the order sent: one per query (fewer than asked when a reply ended the check).
  std::vector<NtpSample> samples;
  // What decides the check, as the pool's monitor decides it: a reply of stratum 0, 16 or above
  // 10 ends the check and decides it; else the valid sample with the lowest delay; when none is
  // valid (the monitor: no response), the sample with the most telling fault.
  NtpSample best;
  int decided_by = -1;  // index of `best` in samples; -1 when nothing was sent
  // RMS of the valid samples' offsets from the best one's, over (valid - 1) (ntpd's peer
  // jitter); 0 with fewer than 2 valid samples.
  double jitter_s = 0;
  int valid = 0;            // valid samples
  int ignored_replies = 0;  // datagrams that came between queries, not replies to one of ours
  // Replies to a query of ours that came after its sample ended (its timeout, or another
  // datagram that came first and decided it).
  int late_replies = 0;

  NtpFault fault() const { return best.fault; }
  // Some reply came back (valid or not).
  bool reachable() const;
};

// A datagram to send once to a target, collecting what comes back until `complete` says the
// answer is whole (default: the first datagram) or the timeout passes.
struct QueryRequest {
  ProbeTarget target;
  std::vector<std::uint8_t> payload;
  std::chrono::milliseconds timeout{3000};
  std::function<bool(const std::vector<std::vector<std::uint8_t>>& replies)> complete = {};
};

struct QueryResult {
  std::vector<std::vector<std::uint8_t>> replies;  // in arrival order
  bool refused = false;                            // ICMP port unreachable
  std::string error;      // the request could not be sent (no route, ...); empty otherwise
  bool complete = false;  // `complete` was satisfied before the timeout

  bool answered() const { return !replies.empty(); }
};

struct ProbeBatch {
  std::vector<ProbeReport> probes;   // in the order of the targets
  std::vector<QueryResult> queries;  // in the order of the requests
};

// Runs every probe and query at once in one event loop; returns when all are done. Each target
// gets its own connected UDP socket (a random source port, and ICMP errors reported); a socket
// that cannot be opened or connected is reported in that target's samples, not as an error.
// Fails only when interrupted (ExitCode::interrupted) or when the event loop cannot be set up.
// What UdpNtp runs; everything else reaches the network through an NtpTransport.
Result<ProbeBatch> run_probes(const std::vector<ProbeTarget>& targets, const ProbeOptions& options,
                              const std::vector<QueryRequest>& queries = {});

// The seam for every datagram pooljoin sends to an NTP port (probes, mode 6 and mode 7 queries):
// UdpNtp sends them; tests answer them from a script.
class NtpTransport {
 public:
  virtual ~NtpTransport() = default;
  // As run_probes: the reports in the order of the targets, the results in that of the queries.
  virtual Result<ProbeBatch> exchange(const std::vector<ProbeTarget>& targets,
                                      const ProbeOptions& options,
                                      const std::vector<QueryRequest>& queries = {}) = 0;

  Result<std::vector<ProbeReport>> probe(const std::vector<ProbeTarget>& targets,
                                         const ProbeOptions& options = {});
  Result<std::vector<QueryResult>> query(const std::vector<QueryRequest>& requests);
};

class UdpNtp final : public NtpTransport {
 public:
  Result<ProbeBatch> exchange(const std::vector<ProbeTarget>& targets, const ProbeOptions& options,
                              const std::vector<QueryRequest>& queries = {}) override;
};

}  // namespace pooljoin
