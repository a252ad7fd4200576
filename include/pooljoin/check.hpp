// SPDX-License-Identifier: Apache-2.0
// `check`: what the pool's monitors will see of this machine (or of other servers). Facts are
// collected first (the local daemon's state, NTP probes, mode 6/7 exposure probes); pure
// diagnosers then turn them into findings.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pooljoin/conf_lint.hpp"
#include "pooljoin/daemon_state.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/effects.hpp"
#include "pooljoin/finding.hpp"
#include "pooljoin/firewall.hpp"
#include "pooljoin/leap_list.hpp"
#include "pooljoin/ntp_probe.hpp"
#include "pooljoin/pool_rules.hpp"
#include "pooljoin/pool_score.hpp"
#include "pooljoin/upstream_health.hpp"

namespace pooljoin {

class NtpTransport;
class ProcessRunner;

struct DaemonReport {
  std::string name;  // "ntpsec", "ntp", "chrony"; empty when no supported daemon is installed
  bool installed = false;
  bool running = false;
  std::optional<DaemonState> state;  // nullopt when it did not report
  std::string error;                 // why it did not
  // Its upstreams as it sees them (with its state); nullopt when it could not list them.
  std::optional<std::vector<UpstreamHealth>> upstreams;
  std::string upstreams_error;
};

// The local daemon (the running one that answers, among those detect saw running), its state
// and its upstreams: mode 6 queries on loopback, or two chronyc runs.
DaemonReport read_local_daemon(const SystemFacts& facts, ProcessRunner& runner, NtpTransport& ntp,
                               const DaemonQueryOptions& options = {});

// Whether a global address answers a query that a pool server must leave unanswered.
struct Exposure {
  bool answered = false;
  std::size_t request_bytes = 0;
  std::size_t reply_datagrams = 0;
  std::size_t reply_bytes = 0;
  // mode 7: the reply carried monitor entries (a real amplifier), not just an error code.
  bool with_data = false;
};

// This machine's clock against independent references. The monitors compare the time this
// machine serves with their own; a probe from this machine to itself compares it with the same
// clock, so it is about 0 by construction. The references tell how far that clock is.
enum class ReferenceSource {
  none,       // nothing to measure against
  option,     // --reference
  daemon,     // the local daemon's own usable upstreams
  selection,  // the servers `resolve` saved
};
std::string_view to_string(ReferenceSource source);

struct ClockReference {
  ProbeReport report;    // offset: the reference minus this machine's clock
  std::string rejected;  // why it is not counted (no valid reply, a falseticker); "" if counted
};

// At least this many references must answer and agree for their median to stand.
inline constexpr std::size_t kMinReferences = 3;

struct ClockEstimate {
  ReferenceSource source = ReferenceSource::none;
  std::vector<ClockReference> references;
  // The median offset of the counted references; nullopt with fewer than kMinReferences.
  std::optional<double> reference_offset_ms;
  // The daemon's own estimate of how far its clock is (ntpq's offset: true minus served time);
  // what is used without enough references.
  std::optional<double> daemon_offset_ms;
  std::string daemon;  // whose estimate that is ("ntpsec")

  std::size_t counted() const;
  // The offset the monitors will see of a reply whose offset from this machine's clock is
  // `self_offset_s` (served minus local): self minus the references' median, or else minus the
  // daemon's estimate; nullopt when neither is known.
  std::optional<double> seen_offset_s(double self_offset_s) const;
};

// Counts the references that gave a valid reply and are no falsetickers (resolve's rule), and
// takes their median. Pure.
ClockEstimate estimate_clock(ReferenceSource source, std::vector<ProbeReport> references,
                             std::optional<double> daemon_offset_ms = std::nullopt,
                             std::string daemon = {});

struct AddressCheck {
  ProbeReport ntp;
  // The offset the monitors will see (the clock estimate applied to ntp.best); nullopt when
  // there is no estimate or no valid reply. The step and the prediction are made with it.
  std::optional<double> seen_offset_s;
  ScoreStep step;                   // what one monitor check would add
  double predicted = 0;             // the score a run of such checks converges to
  bool submittable = false;         // reachable, valid, 0 < stratum < 6: the manage site accepts it
  std::optional<Exposure> mode6;    // nullopt: not probed
  std::optional<Exposure> monlist;  // nullopt: not probed
};

struct CheckFacts {
  bool local = true;                   // this machine's addresses; false for --server
  std::optional<DaemonReport> daemon;  // only for this machine
  std::optional<ClockEstimate> clock;  // nullopt: not estimated (--server without --reference)
  std::vector<AddressCheck> addresses;
  // This machine's global addresses, with how long the kernel keeps each (the pool asks for
  // static ones); empty for --server, whose lifetimes cannot be seen from here.
  std::vector<LocalAddress> local_addresses;
  // This machine has private addresses but no global one (typical behind 1:1 NAT).
  bool only_private_addresses = false;
  // The config of this machine's daemon, checked by the pool's rules; nullopt for --server or
  // when no supported daemon is there.
  std::optional<LiveConfigLint> lint;
  // How long the check waited for the daemon to synchronise; nullopt when it did not wait.
  std::optional<std::chrono::milliseconds> waited;
  std::string wait_stopped;  // why the wait ended before the daemon synchronised or time ran out
  // The leap-second list the live config names (ntpd's leapfile, chrony's leapseclist), judged
  // at the time of the check; nullopt for --server, or when the config names none.
  std::optional<LeapList> leap_list;
  std::string package_manager;  // detect's: the fix of a stale leap-second list names its command
  // This machine's host firewall, judged for UDP 123 from outside; nullopt for --server.
  std::optional<FirewallVerdict> firewall;
  std::string firewall_fix;  // what opens it ("pooljoin firewall", or the front-end's command)
};

struct CheckOptions {
  ProbeOptions probe;
  bool exposure = true;  // the mode 6 / mode 7 probes
  // Probed in the same round as the targets (they cost no extra time), no exposure probes.
  std::vector<ProbeTarget> references;
};

struct CheckedTargets {
  std::vector<AddressCheck> addresses;
  std::vector<ProbeReport> references;
};

// Probes each target as the monitors do, then sends each the mode 6 READVAR and mode 7 monlist
// probes. The exposure probes go after the NTP samples, never among them: an ntpd with
// `limited` counts every packet of a client, and extra ones would earn the samples a RATE kiss
// the monitors never get.
Result<CheckedTargets> check_addresses(NtpTransport& ntp, const std::vector<ProbeTarget>& targets,
                                       const CheckOptions& options);
// What this machine's clock is measured against: `hosts` (--reference, HOST[:PORT]) when given;
// else the daemon's usable upstreams (servers, not refclocks) when there are kMinReferences;
// else the servers resolve saved; else the usable upstreams there are. ExitCode::usage for a
// malformed host, ExitCode::unavailable for a name that does not resolve.
struct References {
  ReferenceSource source = ReferenceSource::none;
  std::vector<ProbeTarget> targets;
};
Result<References> choose_references(const std::vector<std::string>& hosts,
                                     const DaemonReport* daemon, const RootedFs& fs);

// The step and the prediction of each address, from what the monitors will see with `clock`.
void apply_clock(std::vector<AddressCheck>& addresses, const ClockEstimate& clock);
// facts.clock from the references' reports (probed with the addresses) and the daemon's own
// estimate, then applied to facts.addresses.
void measure_clock(CheckFacts& facts, const References& references,
                   std::vector<ProbeReport> reports);

// The targets of `--server` values: "host", "host:port", "[v6]:port" (port 123 by default). A
// hostname stands for each of its addresses (as the pool treats every address as a server);
// ExitCode::usage for a malformed value, ExitCode::unavailable when a name does not resolve.
Result<std::vector<ProbeTarget>> server_targets(const std::vector<std::string>& servers);

// Every diagnoser over the facts, in order: daemon, upstreams, clock, leap-second list,
// addresses (their replies, then their lifetimes), host firewall, exposure, and what a check
// from this machine cannot see.
std::vector<Finding> diagnose(const CheckFacts& facts);

// What `check` reports: diagnose(facts), then the findings of the config's lint.
std::vector<Finding> check_findings(const CheckFacts& facts);

// One line on the local daemon: "ntpsec synchronised: stratum 2, leap 0, refid 192.0.2.1,
// offset +0.120 ms", "ntpsec not running", "no NTP daemon installed".
std::string describe(const DaemonReport& daemon);

// How often a wait for synchronisation asks the daemon: cheap (one loopback datagram or one
// chronyc run), and quick enough that the wait ends within a second or two of it.
inline constexpr std::chrono::milliseconds kSyncPoll{1000};

struct CheckRequest {
  std::vector<std::string> servers;  // HOST[:PORT] of other machines, instead of this one
  // First wait up to this long for this machine's daemon to synchronise.
  std::optional<std::chrono::milliseconds> wait;
  ProbeOptions probe;
  // HOST[:PORT] to measure this machine's clock against, instead of the daemon's upstreams.
  std::vector<std::string> references;
};

struct CheckEvents {
  StepEvents step;  // the waits for the probes
  // During a wait for synchronisation: after each look at the daemon.
  std::function<void(std::chrono::milliseconds elapsed, std::chrono::milliseconds limit,
                     const DaemonReport& daemon)>
      syncing;
};

// Collects what `check` judges: this machine's daemon (after the wait, when one is asked for),
// its addresses probed as the monitors probe, and its config's lint; or the given servers.
// ExitCode::usage for an image (nothing runs there to check) or --wait with --server;
// ExitCode::interrupted on Ctrl-C.
Result<CheckFacts> gather_check(const SystemFacts& system, const CheckRequest& request,
                                Effects& effects, const CheckEvents& events = {});

}  // namespace pooljoin
