// SPDX-License-Identifier: Apache-2.0
// `submit`: the pool site's own rules checked before adding a server (pure diagnosers over
// collected facts), what to enter on the site, the net speed to choose, and the ownership proof
// made from the server's own addresses. The rules are the pool's join pages
// (https://www.ntppool.org/en/join.html) and its manage site's checks when a server is added
// (Server.pm in https://github.com/abh/ntppool); the score API is https://www.ntppool.org/scores/.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/detect.hpp"
#include "pooljoin/effects.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/finding.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/pool_rules.hpp"

namespace pooljoin {

class HttpClient;

// --- Net speed -----------------------------------------------------------------------------------

// The settings the site offers, in kbit/s, lowest first; 0 is "monitoring only".
inline constexpr std::array<int, 15> kNetSpeedsKbit = {0,      512,     1500,    3000,    6000,
                                                       12000,  25000,   50000,   100000,  250000,
                                                       500000, 1000000, 1500000, 2000000, 3000000};
// The guide: OpenVZ containers support few concurrent connections, so about 10 Mbit. Every
// container shares its host's connection tracking, so the same holds for LXC, Docker and the rest.
inline constexpr int kContainerTargetKbit = 10000;
// Without --bandwidth, a virtual or physical machine starts here: high enough to serve, low
// enough for any server line; the setting can be raised on the site at any time.
inline constexpr int kDefaultTargetKbit = 100000;
// New servers start at 10 Mbit, and an unverified server cannot be set higher ("Please verify
// your server before increasing the netspeed"): ownership is proven first.
inline constexpr int kUnverifiedNetSpeedKbit = 10000;
// The guide's traffic figure: a server set to 1000 Mbit served about 40 kbit/s each way.
inline constexpr double kGuideSettingKbit = 1000000, kGuideTrafficKbit = 40;

enum class MachineKind { container, virtual_machine, physical };
std::string_view to_string(MachineKind kind);

// How detect's `virtualization` counts for the net speed; an unknown value counts as a VM.
MachineKind machine_kind(std::string_view virtualization);

// The largest setting the site allows that is not above `kbit` (512 at least).
int allowed_net_speed_at_most(double kbit);

// "512 kbit", "1.5 Mbit", "100 Mbit", "1 Gbit".
std::string net_speed_label(int kbit);

struct NetSpeedAdvice {
  int kbit = 0;  // one of kNetSpeedsKbit
  MachineKind kind = MachineKind::virtual_machine;
  std::string reason;                // why this value, in one sentence
  double expected_traffic_kbit = 0;  // each way, scaled from the guide's figure

  // Above what an unverified server may have: settable only once ownership is proven.
  bool needs_verification() const { return kbit > kUnverifiedNetSpeedKbit; }
};

// Containers: about 10 Mbit (or the bandwidth when lower). Virtual and physical machines: the
// operator's bandwidth (`bandwidth_mbit`), else kDefaultTargetKbit. Always rounded down to a value
// the site allows, never up: the pool sends traffic in proportion to the net speed, so a setting
// above what the server has would send it more than it can take.
NetSpeedAdvice recommend_net_speed(std::string_view virtualization,
                                   std::optional<double> bandwidth_mbit);

// --- Pre-flight ----------------------------------------------------------------------------------

// One NTP query's answer, as the NTP prober (ntp_probe.hpp) reports it.
struct NtpAnswer {
  bool answered = false;
  int stratum = 0;
  std::string detail;  // the reason when not answered ("timed out", "KoD RATE")
};

enum class Registration { not_registered, registered, lookup_failed };

struct AddressFacts {
  IpAddress address;
  std::optional<Registration> registration;  // nullopt: not looked up
  std::string registration_error;            // why, when lookup_failed
  std::optional<double> score;               // the pool's score, when registered
  std::optional<NtpAnswer> ntp;              // nullopt: not checked
};

// What the pre-flight decides from. An input that is nullopt was not collected and its rule is
// reported as "not checked" (a warning): never as passed.
struct PreflightFacts {
  std::vector<AddressFacts> addresses;
  std::vector<LocalAddress> excluded;  // the machine's other addresses, for the NAT hint
  // The machine's global addresses, with their lifetimes: a submitted one that is dynamic is a
  // warning (an address behind NAT is not among them, and is not judged).
  std::vector<LocalAddress> own;
  bool verifying = false;  // proving ownership: the addresses are expected to be registered
  std::optional<std::vector<Finding>> lint;   // `gen-conf --lint` of the live config
  std::optional<std::vector<Finding>> check;  // `check` of this machine
};

using PreflightDiagnoser = std::vector<Finding> (*)(const PreflightFacts&);

std::vector<Finding> diagnose_addresses(const PreflightFacts& facts);     // global unicast, static
std::vector<Finding> diagnose_registration(const PreflightFacts& facts);  // not yet registered
std::vector<Finding> diagnose_ntp(const PreflightFacts& facts);           // 0 < stratum < 6
std::vector<Finding> diagnose_outside(const PreflightFacts& facts);       // reachable from outside
std::vector<Finding> diagnose_lint(const PreflightFacts& facts);          // gen-conf --lint
std::vector<Finding> diagnose_check(const PreflightFacts& facts);         // check

// Every diagnoser above, in this order.
std::vector<Finding> preflight(const PreflightFacts& facts);

// --- What to do on the site ----------------------------------------------------------------------

struct HostnameFacts {
  std::string name;
  std::vector<IpAddress> addresses;  // what it resolves to
  std::string error;                 // why it could not be resolved; empty when it was
};

struct FamilyStep {
  IpFamily family = IpFamily::v4;
  std::vector<IpAddress> addresses;  // this machine's, of this family
  std::vector<std::string> enter;    // what to type into "Add server", one entry each
};

struct SubmitInstructions {
  std::string page;  // the add-server page of the manage site
  std::optional<HostnameFacts> hostname;
  bool use_hostname = false;         // the hostname resolves to exactly the machine's addresses
  std::string hostname_note;         // why the hostname is or is not used
  std::vector<FamilyStep> families;  // IPv4 first; only families with addresses
  NetSpeedAdvice net_speed;
};

// Enter the hostname when it resolves to exactly `addresses` (the site adds each address of a
// name as its own server, so one that resolves to anything else would add a wrong server);
// otherwise each address.
SubmitInstructions plan_submission(const std::vector<IpAddress>& addresses,
                                   const std::optional<HostnameFacts>& hostname,
                                   NetSpeedAdvice net_speed);

// Resolves a name to its IPv4 and IPv6 addresses with getaddrinfo. The seam for the c-ares
// resolver of `resolve`. ExitCode::unavailable with gai_strerror's reason.
using HostResolver = std::function<Result<std::vector<IpAddress>>(const std::string& name)>;
Result<std::vector<IpAddress>> resolve_with_getaddrinfo(const std::string& name);

// The machine's fully qualified name: gethostname(), or its canonical name from getaddrinfo when
// that has no dot; nullopt when no name with a dot is found.
std::optional<std::string> machine_fqdn();

// --- Ownership proof -----------------------------------------------------------------------------

struct Verification {
  IpAddress address;          // the source it was sent from
  std::string url;            // the validation URL of its family; "" when there is none
  bool attempted = true;      // false: its family has no URL, so it is not proven
  bool ok = false;            // a 2xx answer over a connection from `address`
  long status = 0;            // 0 when no HTTP answer came
  std::string local_address;  // the source address the connection really used
  std::string message;        // "HTTP 200 OK", or what went wrong
  std::string body;           // the start of the site's answer
  // The answer's URL, which the operator opens on the site (logged in) to confirm; "" when the
  // answer is not one.
  std::string confirm_url;
};

// One GET of `url` from each address in turn (bound to it, over its family, never through a
// proxy). Fails only when interrupted; every other failure is that address's result.
Result<std::vector<Verification>> verify_ownership(HttpClient& http, const std::string& url,
                                                   const std::vector<IpAddress>& sources);

// --- The step ------------------------------------------------------------------------------------

struct SubmitRequest {
  std::vector<IpAddress> addresses;  // the server's public addresses; empty: the machine's own
  std::string hostname;              // "" = the machine's fully qualified name
  std::optional<double> bandwidth_mbit;
  // The site's validation URLs, one per family: each is requested from that family's addresses.
  // `verify_url` serves the families without their own: the family of an address literal, or
  // both for a name.
  std::string verify_url, verify_url4, verify_url6;
  std::string api_base;  // the pool's site, for its score API
  ProbeOptions probe;
  // Leave out the addresses the pool already knows (join: a server that has joined is done).
  bool only_unregistered = false;
};

struct SubmitOutcome;

struct SubmitPlan {
  std::vector<IpAddress> addresses;   // what is submitted (and proven)
  std::vector<IpAddress> registered;  // left out by only_unregistered: the pool knows them
  PreflightFacts facts;
  std::vector<Finding> findings;  // preflight(facts)
  SubmitInstructions instructions;
  std::string verify_url4, verify_url6;  // "" for a family not proven

  bool proving() const { return !verify_url4.empty() || !verify_url6.empty(); }
  const std::string& verify_url(IpFamily family) const {
    return family == IpFamily::v4 ? verify_url4 : verify_url6;
  }

  bool preflight_failed() const { return worst(findings) == Severity::fail; }
  // Every address is in the pool already (only_unregistered): nothing to submit.
  bool nothing_to_submit() const { return addresses.empty() && !registered.empty(); }
  // Why the step fails ("" when it does not): the ownership proof failed (or there was no
  // address to prove it from), or the pre-flight found failures.
  std::string failure(const std::optional<SubmitOutcome>& outcome) const;
};

// The validation URL that proves `family`'s addresses: its own (--verify-url4/6), else the
// generic one when its host is a name or an address of that family; "" when there is none.
std::string verify_url_for(const SubmitRequest& request, IpFamily family);

// Collects what the site will check (each address's registration in the score API, its NTP
// answer as the monitors see it, the machine's check and config lint) and decides what to enter
// on the site. Reads only; HTTP, NTP and the config through `effects`, the hostname through
// `resolve`. ExitCode::interrupted on Ctrl-C; a failed lookup is a finding, not an error.
Result<SubmitPlan> plan_submit(const SystemFacts& system, const SubmitRequest& request,
                               Effects& effects, const StepEvents& events = {},
                               const HostResolver& resolve = resolve_with_getaddrinfo);

struct SubmitOutcome {
  bool proving = false;                    // a verify URL was given
  std::vector<Verification> verification;  // one per address
  // Ownership was to be proven and some address that had a URL could not prove it (or there was
  // no address to prove it from). An address whose family has no URL is not proven, not failed.
  bool failed() const;
  // The families left without a proof for want of their URL.
  std::vector<IpFamily> not_proven() const;
};

// Proves ownership: one request to its family's verify URL from each of the plan's addresses
// (nothing when it has none). ExitCode::interrupted on Ctrl-C.
Result<SubmitOutcome> apply_submit(const SubmitPlan& plan, Effects& effects);

}  // namespace pooljoin
