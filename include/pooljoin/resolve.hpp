// SPDX-License-Identifier: Apache-2.0
// `resolve`: candidate upstream servers (pool zones near the machine, the built-in catalogue,
// the operator's own), their addresses from DNS, and a diverse selection of 4 to 7 of them.
// The steps are pure functions over data, so tests drive them without a network.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pooljoin/detect.hpp"
#include "pooljoin/dns.hpp"
#include "pooljoin/effects.hpp"
#include "pooljoin/ntp_probe.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/zones.hpp"

namespace pooljoin {

enum class CandidateSource { user, catalogue, pool };
std::string_view to_string(CandidateSource source);

struct Measurement {
  double delay_ms = 0;
  double offset_ms = 0;
  double jitter_ms = 0;
  int stratum = 0;
};

struct CandidateAddress {
  IpAddress address;
  bool fresh = true;                         // false: the catalogue's last known address
  std::optional<Measurement> measurement{};  // absent when not probed, or no usable reply
  std::string error{};                       // why it cannot be used; "" when it can
  bool selected = false;
};

struct Candidate {
  std::string host;  // the name queried (a pool zone, a catalogue host, the operator's entry)
  CandidateSource source = CandidateSource::pool;
  std::string zone;   // pool candidates: the zone label ("de", "europe", "" for global)
  std::string note;   // catalogue: the operator
  std::string error;  // the name's DNS failure: "NXDOMAIN", "A: timeout, AAAA: no data", ...
  std::optional<DnsStatus> a_status{}, aaaa_status{};  // each family's outcome, when looked up
  std::vector<CandidateAddress> addresses;
};

struct CandidatePlan {
  ZoneChoice zone;
  std::vector<std::string> zone_labels;  // pool zones queried, nearest first
  std::vector<Candidate> candidates;     // user, then catalogue, then pool; addresses empty
  std::vector<std::string> names;        // every DNS name to look up, without duplicates
};

// Which kinds of candidates to gather (the operator's own hosts are always taken).
struct CandidateSources {
  bool pool = true;
  bool catalogue = true;
};

// What to look up: the pool zones for the choice (country and its continent; continent alone;
// else the global zone), the catalogue's servers near it (same country, same continent, and
// anycast services), and the operator's hosts (names or address literals).
CandidatePlan plan_candidates(const ZoneChoice& zone, const std::vector<std::string>& user_hosts,
                              int rounds, CandidateSources sources = {});

enum class DnsOutcome {
  resolved,         // at least one name gave addresses
  unreachable,      // no DNS server answered at all
  nothing_resolved  // servers answered, but no name gave an address (a filtering resolver)
};

// Fills the candidates' addresses from the DNS answers (`answers` in the order of plan.names).
// When DNS gave no address for any name, falls back to the catalogue's last known addresses
// (marked not fresh).
DnsOutcome apply_answers(CandidatePlan& plan, const std::vector<NameAnswer>& answers);

// One of the machine's own addresses among the candidates' (once the machine has joined, its
// own pool zone hands its address out): a server is never its own upstream.
struct OwnAddress {
  LocalAddress local;              // the address, its interface, and why detect excludes it
  std::vector<std::string> hosts;  // the candidates that gave it, each once
};

// Rules out every candidate address that is one of `own` (all the machine's addresses, global
// or not, as detect lists them), whatever ruled it out before, and returns those met, each once,
// in the order met.
std::vector<OwnAddress> drop_own_addresses(std::vector<Candidate>& candidates,
                                           const std::vector<LocalAddress>& own);

// Why a candidate that is the machine's own address is left out: "this machine's own address
// (on eth0)".
std::string own_address_error(const LocalAddress& local);

// Whether `address` of `candidate` is an upstream on the operator's local network: a private
// address (RFC 1918, CGNAT, ULA) of a server the operator gave (--candidate, --candidates-file).
// The pool's and the catalogue's private addresses are never used.
bool operator_local(const Candidate& candidate, const CandidateAddress& address);

// The addresses worth measuring: each address once, leaving out those already ruled out, and
// those not global unicast unless operator_local.
std::vector<IpAddress> addresses_to_probe(const std::vector<Candidate>& candidates);

// Gives each candidate address its measurement from the probe report of that address (the best
// valid sample, and the jitter), or the reason it has none: "no reply", "kiss-o'-death RATE",
// "unsynchronised", ... `reports` may come in any order; an address without a report is left as
// it was.
void apply_measurements(std::vector<Candidate>& candidates,
                        const std::vector<ProbeReport>& reports);

// The pool member's view of its upstreams' quality.
struct SelectionPolicy {
  int count = kDefaultUpstreams;
  int max_stratum = 3;  // upstreams at stratum <= 3 keep the member at stratum <= 4 (pool: 3 or 4)
  bool have_ipv4 = true;   // the machine can reach IPv4 (any non-loopback IPv4 address)
  bool have_ipv6 = false;  // the machine has a global IPv6 address: prefer IPv6 upstreams
  bool measured = true;    // the candidates were probed: unmeasured addresses are rejected
};

// A reply whose offset is further than this from the median of the others, beyond half its
// own delay (the most network asymmetry can explain), comes from a falseticker.
inline constexpr double kFalsetickerMarginMs = 50.0;
// That rule: a reply at `offset_ms` with round trip `delay_ms`, against the median of all.
bool is_falseticker(double offset_ms, double delay_ms, double median_ms);
// With fewer replies than this there is no majority to tell a falseticker from.
inline constexpr std::size_t kFalsetickerQuorum = 3;

// Marks each address selected or rejected (with the reason) and returns the selection, best
// first: at most one address per /24 (IPv4) or /48 (IPv6) and per named host, IPv6 preferred
// when the machine has it, at least one IPv4 when it has IPv4.
std::vector<SelectedServer> select_upstreams(std::vector<Candidate>& candidates,
                                             const SelectionPolicy& policy);

// --- The step: plan, survey, apply ------------------------------------------------------------

// Each pool zone name is asked this many times: more draws from the pool's rotating answers.
inline constexpr int kPoolRounds = 2;

struct ResolveRequest {
  std::string country;                // ISO 3166 code; "" = from the system's time zone
  int servers = kDefaultUpstreams;    // how many to select
  std::vector<std::string> hosts;     // the operator's own candidates: names or addresses
  std::vector<Endpoint> dns_servers;  // empty: the system's resolv.conf (under --root)
  std::chrono::milliseconds dns_timeout{2000};
  int max_stratum = 3;
  bool probe = true;  // measure the candidates over NTP (false: select them unmeasured)
  ProbeOptions probe_options;
  CandidateSources sources;
  // When not one candidate answers over NTP: select them unmeasured (a dry run, which must show
  // a plan offline) instead of failing.
  bool unmeasured_if_silent = false;
};

// What to look up and how to choose.
struct ResolvePlan {
  CandidatePlan candidates;                 // the zones and candidates, their addresses still empty
  std::vector<LocalAddress> own_addresses;  // the machine's: never candidates
  DnsOptions dns;
  SelectionPolicy policy;
  bool probe = true;
  ProbeOptions probe_options;
  bool unmeasured_if_silent = false;
  // A dry run on a machine with no route out at all (no IPv4 address but loopback, no global
  // IPv6): nothing is probed, and the plan takes the catalogue's IPv4 addresses unmeasured.
  bool offline = false;

  // "de.pool.ntp.org, europe.pool.ntp.org"
  std::string zone_names() const;
};

// Decides from the facts (the machine's addresses, its time zone under the root) and the request
// alone; nothing is looked up. ExitCode::usage for a country code that is not one.
Result<ResolvePlan> plan_resolve(const SystemFacts& facts, const RootedFs& fs,
                                 const ResolveRequest& request);

// The candidates looked up, measured and judged, and the selection they give.
struct ResolveSurvey {
  CandidatePlan candidates;              // each address with its measurement and verdict
  std::vector<std::string> dns_servers;  // the servers asked
  DnsOutcome dns = DnsOutcome::resolved;
  std::size_t probed = 0;       // addresses measured over NTP
  bool measured = true;         // false: selected without measurements (--no-probe, or silence)
  std::vector<OwnAddress> own;  // the machine's own addresses the candidates gave, left out
  std::vector<std::string> notes;
  std::vector<std::string> warnings;
  int wanted = kDefaultUpstreams;
  Selection selection;

  // ExitCode::unavailable when fewer than kMinUpstreams servers could be selected.
  Result<void> usable() const;
};

// Looks the candidates up (effects.dns), measures them (effects.ntp) and selects. Reads only.
// ExitCode::unavailable when nothing answers over NTP (unless unmeasured_if_silent),
// ExitCode::interrupted on Ctrl-C. Too few usable servers is not an error here: see usable().
Result<ResolveSurvey> survey_resolve(const ResolvePlan& plan, Effects& effects,
                                     const StepEvents& events = {});

struct ResolveOutcome {
  std::string saved;  // the system path of the saved selection
};

// Saves the survey's selection for gen-conf (after usable()).
Result<ResolveOutcome> apply_resolve(const ResolveSurvey& survey, Effects& effects);

// Whether a saved selection still answers what is asked, so that it is kept rather than measured
// again: the country asked (when one is), at least kMinUpstreams servers, and the number asked
// (when one is).
bool selection_fits(const Selection& saved, std::string_view country, std::optional<int> count);

}  // namespace pooljoin
