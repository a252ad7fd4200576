// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/check.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include <netdb.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/ntp_control.hpp"
#include "pooljoin/process.hpp"
#include "pooljoin/resolve.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// A predicted score this close to the ceiling is as good as it gets: the monitors' step is +1
// only within 25 ms, and 20 * (1 - 0.95^n) never quite reaches 20.
constexpr double kFullScore = 19.5;
// The daemon's own offset beyond which the monitors' measurement starts to cost score (the
// first band edge of the step function).
constexpr double kDaemonOffsetWarnMs = 25;
// How far the served time may be from the references' before it is a warning (it costs score
// from there) and a failure (from there the monitors' step falls fast: 0 at about 0.5 s).
constexpr double kClockWarnMs = 25;
constexpr double kClockFailMs = 100;
// How long the exposure probes wait for an answer that may never come: this many round trips of
// the slowest NTP reply, and at least kExposureMinWait (a daemon's mode 6 and 7 replies cost it
// more than a mode 3 one), at most the probes' timeout.
constexpr int kExposureRoundTrips = 4;
constexpr std::chrono::milliseconds kExposureMinWait{500};
// The pool asks for 4 to 7 upstream servers.
constexpr std::size_t kMinUsableUpstreams = 4;

std::string ms(double seconds) {
  return fmt::format("{:+.3f} ms", seconds * 1000);
}

// How findings name an address: the address alone on the NTP port, else address and port.
std::string where_of(const ProbeTarget& target) {
  return target.port == 123 ? target.address.to_string() : target.endpoint();
}

std::string score_text(double score) {
  return fmt::format("{:.1f}", score);
}

bool synchronized(const DaemonReport& daemon) {
  return daemon.state && daemon.state->synchronized();
}

bool is_chrony(const CheckFacts& facts) {
  return facts.daemon && facts.daemon->name == "chrony";
}

std::string restrict_fix(const CheckFacts& facts) {
  if (is_chrony(facts)) return "chrony.conf needs an `allow` line for the clients (`allow all`)";
  return "in ntp.conf, serve time to everyone but nothing else: `restrict default kod limited "
         "nomodify notrap nopeer noquery` and `restrict -6 default kod limited nomodify notrap "
         "nopeer noquery` (no `ignore` or `noserve` on them)";
}

std::string port_fix(const CheckFacts& facts, const AddressCheck& address) {
  const std::string open = facts.firewall && !facts.firewall_fix.empty()
                               ? fmt::format("`{}`", facts.firewall_fix)
                               : std::string("`pooljoin firewall`");
  return fmt::format(
      "let UDP port {} in ({} opens the host firewall; a cloud firewall is opened in the "
      "provider's console) and check that the daemon listens on it (`ss -ulpn 'sport = :{}'`)",
      address.ntp.target.port, open, address.ntp.target.port);
}

void diagnose_daemon(const CheckFacts& facts, std::vector<Finding>& out) {
  if (!facts.local || !facts.daemon) return;
  const DaemonReport& d = *facts.daemon;
  if (d.name.empty()) {
    out.push_back({"daemon.not-installed", Severity::fail, "no NTP daemon is installed",
                   "install one with `pooljoin install-ntp`"});
    return;
  }
  if (!d.running) {
    out.push_back({"daemon.not-running", Severity::fail,
                   fmt::format("{} is installed but not running", d.name),
                   fmt::format("start it (`pooljoin restart`, or `service {} start`)", d.name)});
    return;
  }
  if (!d.state) {
    std::string fix =
        d.name == "chrony" ? "run `chronyc tracking` as root to see why chronyd does not answer"
        : d.name == "ntpsec" || d.name == "ntp"
            ? "let the machine query its own daemon: `restrict 127.0.0.1` and `restrict -6 ::1` in "
              "ntp.conf (without noquery)"
            : "pooljoin reads the state of ntpsec, ntp and chrony only";
    out.push_back({"daemon.no-state", Severity::fail,
                   fmt::format("{} is running but did not report its state: {}", d.name, d.error),
                   fix});
    return;
  }
  const DaemonState& s = *d.state;
  std::string state =
      fmt::format("stratum {}, leap {}, refid {}, offset {:+.3f} ms", s.stratum,
                  static_cast<int>(s.leap), s.refid.empty() ? "-" : s.refid, s.offset_ms);
  if (!s.synchronized()) {
    out.push_back(
        {"daemon.unsynchronized", Severity::fail,
         fmt::format("{} is not synchronised ({})", d.name, state),
         fmt::format("give it time (`pooljoin check --wait 5m`); if it stays so, check that its "
                     "upstream servers answer (`{}`)",
                     d.name == "chrony" ? "chronyc sources" : "ntpq -p")});
    return;
  }
  out.push_back(
      {"daemon.synchronized", Severity::ok, fmt::format("{} is synchronised ({})", d.name, state)});
  if (std::abs(s.offset_ms) > kDaemonOffsetWarnMs) {
    out.push_back({"daemon.offset", Severity::warn,
                   fmt::format("{} is {:+.1f} ms off its upstream servers; the monitors score "
                               "offsets beyond 25 ms lower",
                               d.name, s.offset_ms),
                   "let it settle, and prefer upstream servers with a low, stable delay"});
  }
}

void diagnose_reply(const CheckFacts& facts, const AddressCheck& a, std::vector<Finding>& out) {
  const ProbeReport& r = a.ntp;
  const std::string where = where_of(r.target);
  const NtpSample& best = r.best;
  const int sent = static_cast<int>(r.samples.size());
  // A reply that ended the check after earlier ones (a kiss, stratum 0 or 16, above 10): the
  // monitor stops there too, and that reply decides however good the others were.
  const std::string ended =
      r.decided_by > 0 && r.decided_by + 1 == sent && ends_monitor_check(best)
          ? fmt::format(
                " (the reply to query {} of the check: it ends the check and decides it, "
                "as it does the monitors')",
                sent)
          : "";
  switch (r.fault()) {
    case NtpFault::none:
      break;
    case NtpFault::no_reply:
      out.push_back({"address.no-reply", Severity::fail,
                     fmt::format("{}: no reply on UDP {} ({} queries, none answered)", where,
                                 r.target.port, sent),
                     port_fix(facts, a)});
      return;
    case NtpFault::refused:
      out.push_back({"address.refused", Severity::fail,
                     fmt::format("{}: UDP {} is closed (port unreachable)", where, r.target.port),
                     port_fix(facts, a)});
      return;
    case NtpFault::network_error:
      out.push_back({"address.network-error", Severity::fail,
                     fmt::format("{}: cannot send to it ({})", where, best.detail),
                     "check the machine's routes for this address family"});
      return;
    case NtpFault::kiss_of_death:
      if (best.kiss == "RATE") {
        out.push_back(
            {"address.kod-rate", Severity::fail,
             fmt::format("{}: answers with kiss-o'-death RATE: the monitors' 3 queries 2 s apart "
                         "are rate-limited (score step -3.5 per check){}",
                         where, ended),
             is_chrony(facts)
                 ? "relax chrony's `ratelimit` (its defaults, interval 3 burst 8, are fine)"
                 : "keep ntpd's rate limits at their defaults: remove `discard` lines that raise "
                   "`average` or `minimum`"});
      } else if (best.kiss == "DENY" || best.kiss == "RSTR") {
        out.push_back({"address.kod-deny", Severity::fail,
                       fmt::format("{}: answers with kiss-o'-death {} ({}): the monitors score "
                                   "-10 per check and the server is dropped{}",
                                   where, best.kiss, describe_kiss(best.kiss), ended),
                       restrict_fix(facts)});
      } else {
        auto meaning = describe_kiss(best.kiss);
        out.push_back({"address.kod", Severity::fail,
                       fmt::format("{}: answers with kiss-o'-death {}{} (score step -4 per "
                                   "check){}",
                                   where, best.kiss.empty() ? "(no code)" : best.kiss,
                                   meaning.empty() ? "" : fmt::format(" ({})", meaning), ended),
                       "check the daemon's log"});
      }
      return;
    case NtpFault::unsynchronized:
      out.push_back({"address.unsynchronized", Severity::fail,
                     fmt::format("{}: answers but says it is not synchronised (leap {}, stratum "
                                 "{}{}): score step -4 per check{}",
                                 where, static_cast<int>(best.leap), best.stratum,
                                 best.kiss.empty() ? "" : ", kiss " + best.kiss, ended),
                     "wait until the daemon is synchronised (`pooljoin check --wait 5m`)"});
      return;
    default:
      out.push_back({"address.bad-reply", Severity::fail,
                     fmt::format("{}: {}{}: the monitors count an invalid reply as no response "
                                 "(score step -5 per check)",
                                 where, describe(r.fault()),
                                 best.detail.empty() ? "" : " (" + best.detail + ")"),
                     "something between this machine and the daemon rewrites NTP (a NAT or "
                     "firewall helper), or another program answers on the port"});
      return;
  }

  if (best.leap == Leap::unsynchronized) {
    out.push_back({"address.leap", Severity::warn,
                   fmt::format("{}: answers stratum {} with leap indicator 3 (not synchronised): "
                               "the monitors score it by its offset alone, but ntpd and chrony "
                               "clients will not use it",
                               where, best.stratum),
                   "wait until the daemon is synchronised (`pooljoin check --wait 5m`)"});
  }
  if (ends_monitor_check(best)) {
    out.push_back({"address.stratum", Severity::fail,
                   fmt::format("{}: stratum {}: the monitors stop their check at such a reply and "
                               "score -4 per check{}",
                               where, best.stratum, ended),
                   "synchronise from upstream servers of stratum 4 or lower (pooljoin resolve "
                   "picks them)"});
  } else if (!submittable_stratum(best.stratum)) {
    out.push_back({"address.stratum", Severity::fail,
                   fmt::format("{}: stratum {}: the pool accepts only servers of stratum 1 to {}",
                               where, best.stratum, kMaxSubmittableStratum),
                   "synchronise from upstream servers of stratum 4 or lower (pooljoin resolve "
                   "picks them)"});
  }
  const std::string offset =
      a.seen_offset_s ? fmt::format("offset {} as the monitors will see it", ms(*a.seen_offset_s))
                      : fmt::format("offset {}", ms(best.offset_s));
  std::string scored = fmt::format(
      "stratum {}, {} ({}): each monitor check adds {:+.2f} and the score settles at {}",
      best.stratum, offset, a.step.reason, a.step.step, score_text(a.predicted));
  if (a.predicted < kPoolServingScore) {
    out.push_back({"address.score", Severity::fail,
                   fmt::format("{}: {}, below the {} the pool needs to hand the server out", where,
                               scored, score_text(kPoolServingScore)),
                   "bring the clock within 25 ms of true time: check the daemon's upstreams "
                   "(`ntpq -p` / `chronyc sources`)"});
  } else if (a.predicted < kFullScore) {
    out.push_back({"address.score", Severity::warn, fmt::format("{}: {}", where, scored),
                   "an offset within 25 ms earns the full score"});
  } else {
    auto checks = checks_to_reach(0, a.step, kPoolServingScore);
    out.push_back(
        {"address.ok", Severity::ok,
         fmt::format(
             "{}: {}{}", where, scored,
             checks ? fmt::format(" (a new server is handed out after {} checks)", *checks) : "")});
  }
  if (r.valid < sent) {
    out.push_back(
        {"address.lost-replies", Severity::warn,
         fmt::format("{}: {} of {} queries got no valid reply", where, sent - r.valid, sent),
         "a lossy path or a busy server costs score when all of a check's queries fail"});
  }
}

std::string upstream_fix(const CheckFacts& facts) {
  return fmt::format(
      "let UDP 123 out and back in for the daemon's own queries, or choose other upstreams "
      "(`pooljoin resolve --refresh`, then `pooljoin gen-conf` and `pooljoin restart`); `{}` "
      "shows them",
      is_chrony(facts) ? "chronyc sources" : "ntpq -p");
}

void diagnose_upstreams(const CheckFacts& facts, std::vector<Finding>& out) {
  if (!facts.local || !facts.daemon || !facts.daemon->state) return;
  const std::string& name = facts.daemon->name;
  if (!facts.daemon->upstreams) {
    out.push_back(
        {"upstreams.unknown", Severity::warn,
         fmt::format("cannot list {}'s upstreams: {}", name, facts.daemon->upstreams_error),
         upstream_fix(facts)});
    return;
  }
  const auto& upstreams = *facts.daemon->upstreams;
  std::vector<std::string> usable, unusable;
  for (const auto& u : upstreams) {
    (u.usable() ? usable : unusable)
        .push_back(fmt::format("{} ({}, reach {:o})", u.address, to_string(u.state), u.reach));
  }
  if (upstreams.empty()) {
    out.push_back({"upstreams.none", Severity::fail,
                   fmt::format("{} has no upstream servers: it serves its own clock, which "
                               "nothing corrects",
                               name),
                   "configure 4 to 7 upstreams: `pooljoin resolve`, `pooljoin gen-conf`, "
                   "`pooljoin restart`"});
    return;
  }
  if (usable.empty()) {
    out.push_back({"upstreams.unreachable", Severity::fail,
                   fmt::format("none of {}'s {} upstreams is usable: {}", name, upstreams.size(),
                               fmt::join(unusable, ", ")),
                   upstream_fix(facts)});
    return;
  }
  const std::string listed = fmt::format(
      "{}{}", fmt::join(usable, ", "),
      unusable.empty() ? "" : fmt::format("; not usable: {}", fmt::join(unusable, ", ")));
  if (usable.size() < kMinUsableUpstreams) {
    out.push_back(
        {"upstreams.few", Severity::warn,
         fmt::format("only {} of {}'s upstreams are usable (the pool asks for 4 to 7): {}",
                     usable.size(), name, listed),
         upstream_fix(facts)});
    return;
  }
  out.push_back({"upstreams", Severity::ok,
                 fmt::format("{} of {}'s upstreams are usable: {}", usable.size(), name, listed)});
}

void diagnose_clock(const CheckFacts& facts, std::vector<Finding>& out) {
  if (!facts.clock) return;
  const ClockEstimate& clock = *facts.clock;
  std::vector<std::string> counted, rejected;
  for (const auto& r : clock.references) {
    const std::string where = where_of(r.report.target);
    if (r.rejected.empty()) {
      counted.push_back(fmt::format("{} {}", where, ms(r.report.best.offset_s)));
    } else {
      rejected.push_back(fmt::format("{}: {}", where, r.rejected));
    }
  }
  const std::string from =
      clock.source == ReferenceSource::none
          ? std::string("no references")
          : fmt::format(
                "{} of {} references ({}){}", counted.size(), clock.references.size(),
                to_string(clock.source),
                rejected.empty() ? "" : fmt::format("; left out: {}", fmt::join(rejected, "; ")));
  // What the monitors will see of the time this machine serves: any valid own reply tells it.
  std::optional<double> seen;
  for (const auto& a : facts.addresses) {
    if (a.seen_offset_s) {
      seen = *a.seen_offset_s;
      break;
    }
  }
  if (!clock.reference_offset_ms) {
    out.push_back(
        {"clock.references", Severity::warn,
         clock.daemon_offset_ms
             ? fmt::format("the clock was measured against {}, fewer than {}: the offset the "
                           "monitors will see is {}'s own estimate, {}",
                           from, kMinReferences, clock.daemon, ms(-*clock.daemon_offset_ms / 1000))
             : fmt::format("the clock was measured against {}, fewer than {}: how far it is from "
                           "true time is not known",
                           from, kMinReferences),
         "name independent servers to measure it against: `pooljoin check --reference HOST` "
         "(three or more)"});
    return;
  }
  // Another server's offset is in its address findings; this one is about this machine.
  if (!seen || !facts.local) return;  // no valid own reply: the address findings say so
  const double off_ms = *seen * 1000;
  const std::string text = fmt::format(
      "the time this machine serves is {} from true time: the median of {} is {} from its "
      "clock. The monitors will see about that offset",
      ms(*seen), from, ms(*clock.reference_offset_ms / 1000));
  if (std::abs(off_ms) > kClockFailMs) {
    out.push_back({"clock.offset", Severity::fail, text,
                   fmt::format("the daemon does not correct this clock: check that it may set it "
                               "(CAP_SYS_TIME; in a container the host keeps the clock) and its "
                               "log; `{}` shows what it sees",
                               is_chrony(facts) ? "chronyc tracking" : "ntpq -p")});
  } else if (std::abs(off_ms) > kClockWarnMs) {
    out.push_back({"clock.offset", Severity::warn, text,
                   "let the daemon settle, and prefer upstreams with a low, stable delay"});
  } else {
    out.push_back({"clock.offset", Severity::ok, text});
  }
}

// A stale leap-second list: the daemon stops taking leap seconds from it.
void diagnose_leap_list(const CheckFacts& facts, std::vector<Finding>& out) {
  if (!facts.local || !facts.leap_list) return;
  const std::string daemon =
      facts.lint ? std::string(to_string(facts.lint->daemon)) : std::string("the daemon");
  out.push_back(leap_list_finding(*facts.leap_list, daemon, facts.package_manager));
}

void diagnose_addresses(const CheckFacts& facts, std::vector<Finding>& out) {
  if (facts.addresses.empty()) {
    if (facts.local) {
      out.push_back(
          {"address.none", Severity::warn,
           facts.only_private_addresses
               ? "this machine has no global address: behind 1:1 NAT the pool sees the public "
                 "address, which pooljoin cannot probe from here"
               : "this machine has no global address: the pool can only use public ones",
           "check the public address from another machine: `pooljoin check --server "
           "PUBLIC_ADDRESS`"});
    }
    return;
  }
  for (const auto& address : facts.addresses)
    diagnose_reply(facts, address, out);
}

// A dynamic address of this machine (a DHCP lease, SLAAC) may change under the pool.
void diagnose_lifetimes(const CheckFacts& facts, std::vector<Finding>& out) {
  if (!facts.local) return;
  auto found = diagnose_dynamic_addresses(facts.local_addresses, "address.dynamic");
  out.insert(out.end(), found.begin(), found.end());
}

void diagnose_firewall(const CheckFacts& facts, std::vector<Finding>& out) {
  if (!facts.firewall) return;
  for (const auto& a : facts.firewall->addresses) {
    const std::string where = a.address.address.to_string();
    const Judgement& j = a.judgement;
    switch (j.reach) {
      case Reach::open:
        out.push_back({"firewall.open", Severity::ok,
                       fmt::format("{}: the host firewall lets UDP 123 in from outside (judged "
                                   "from its rules)",
                                   where)});
        break;
      case Reach::closed:
        out.push_back(
            {"firewall.closed", Severity::fail,
             fmt::format("{}: the host firewall drops UDP 123 from outside: {} (the probe above "
                         "went over loopback, which it lets through)",
                         where, j.describe()),
             fmt::format("open it: `{}`",
                         facts.firewall_fix.empty() ? "pooljoin firewall" : facts.firewall_fix)});
        break;
      case Reach::unknown:
        out.push_back({"firewall.unknown", Severity::warn,
                       fmt::format("{}: not judged whether the host firewall lets UDP 123 in: {}{}",
                                   where, j.deciding ? j.describe() + ": " : std::string(), j.why),
                       "`pooljoin firewall` shows the rules it read; check from outside too"});
        break;
      case Reach::no_address:
        break;
    }
  }
}

// What a check from this machine cannot see, said, never passed.
void diagnose_outside(const CheckFacts& facts, std::vector<Finding>& out) {
  if (!facts.local || facts.addresses.empty()) return;
  std::vector<std::string> addresses;
  for (const auto& a : facts.addresses)
    addresses.push_back(a.ntp.target.address.to_string());
  out.push_back(
      {"reach.outside", Severity::warn,
       fmt::format("not checked: whether the internet reaches {} on UDP 123. These probes went "
                   "over loopback (this machine to itself): they show the daemon's answer, not "
                   "what a cloud firewall, a security group or the path does to the monitors' "
                   "queries",
                   fmt::join(addresses, ", ")),
       "from another machine: `pooljoin check --server ADDRESS` (or `ntpdig ADDRESS`)"});
}

void diagnose_exposure(const CheckFacts& facts, std::vector<Finding>& out) {
  for (const auto& a : facts.addresses) {
    const std::string where = where_of(a.ntp.target);
    if (a.mode6) {
      if (a.mode6->answered) {
        out.push_back(
            {"security.mode6", Severity::fail,
             fmt::format("{}: answers mode 6 (ntpq) queries from the network: a {}-byte query got "
                         "{} bytes back in {} datagram(s), which leaks the daemon's state and "
                         "amplifies attacks",
                         where, a.mode6->request_bytes, a.mode6->reply_bytes,
                         a.mode6->reply_datagrams),
             is_chrony(facts)
                 ? "chrony never answers mode 6: find the other program on UDP 123 (`ss -ulpn`)"
                 : "close mode 6 to the world in ntp.conf: `restrict default kod limited "
                   "nomodify notrap nopeer noquery` and `restrict -6 default kod limited nomodify "
                   "notrap nopeer noquery`, and no `unrestrict ... noquery` line (ntpsec has "
                   "noquery built in until one removes it)"});
      } else {
        out.push_back({"security.mode6", Severity::ok,
                       fmt::format("{}: mode 6 (ntpq) queries go unanswered", where)});
      }
    }
    if (a.monlist) {
      std::string fix =
          "add `noquery` to the default restrict lines of ntp.conf (`restrict "
          "default kod limited nomodify notrap nopeer noquery`), or move to ntpsec, "
          "which has no mode 7";
      if (a.monlist->answered && a.monlist->with_data) {
        out.push_back({"security.monlist", Severity::fail,
                       fmt::format("{}: answers monlist (mode 7 MON_GETLIST): a {}-byte request "
                                   "got {} bytes back, a DDoS amplifier (CVE-2013-5211)",
                                   where, a.monlist->request_bytes, a.monlist->reply_bytes),
                       fix});
      } else if (a.monlist->answered) {
        out.push_back({"security.monlist", Severity::warn,
                       fmt::format("{}: answers mode 7 (ntpdc) requests, though without monitor "
                                   "data ({} bytes)",
                                   where, a.monlist->reply_bytes),
                       fix});
      } else {
        out.push_back({"security.monlist", Severity::ok,
                       fmt::format("{}: monlist (mode 7) requests go unanswered", where)});
      }
    }
  }
}

// The wait for the exposure probes, from the round trips the NTP probes measured.
std::chrono::milliseconds exposure_wait(const std::vector<AddressCheck>& checks,
                                        std::chrono::milliseconds timeout) {
  double slowest_s = -1;
  for (const auto& c : checks) {
    for (const auto& sample : c.ntp.samples)
      if (sample.replied() && sample.delay_s >= 0) slowest_s = std::max(slowest_s, sample.delay_s);
  }
  if (slowest_s < 0) return timeout;  // nothing answered: no round trip to go by
  const auto bound = std::chrono::milliseconds(
      static_cast<long>(std::ceil(slowest_s * 1000 * kExposureRoundTrips)));
  return std::min(timeout, std::max(kExposureMinWait, bound));
}

// Whether the datagrams so far are a whole mode 7 answer: the last one without the "more" bit.
bool mode7_complete(const std::vector<std::vector<std::uint8_t>>& replies) {
  const auto& last = replies.back();
  return !last.empty() && (last[0] & 0x07) == 7 && (last[0] & 0x80) != 0 && (last[0] & 0x40) == 0;
}

Exposure exposure_of(const QueryRequest& request, const QueryResult& result, bool mode7) {
  // Only replies in the mode asked count: whatever else a port sends back is not this exposure.
  Exposure e;
  e.request_bytes = request.payload.size();
  for (const auto& reply : result.replies) {
    if (mode7) {
      auto header = decode_private(reply);
      if (!header || !header->response) continue;
      if (header->error == 0 && header->items > 0) e.with_data = true;
    } else {
      auto header = decode_control(reply);
      if (!header || header->mode != 6 || !header->response) continue;
    }
    e.answered = true;
    ++e.reply_datagrams;
    e.reply_bytes += reply.size();
  }
  return e;
}

}  // namespace

DaemonReport read_local_daemon(const SystemFacts& facts, ProcessRunner& runner, NtpTransport& ntp,
                               const DaemonQueryOptions& options) {
  DaemonReport report;
  for (const auto& name : facts.daemons_installed) {
    if (parse_daemon(name)) {
      report.name = name;
      report.installed = true;
      break;
    }
  }
  std::vector<std::string> running;
  for (const auto& name : facts.daemons_running) {
    if (parse_daemon(name)) running.push_back(name);
  }
  if (running.empty()) {
    // An unsupported daemon (openntpd, timesyncd) may run: name it rather than say "none".
    for (const auto& name : facts.daemons_running) {
      if (name == "openntpd") {
        report.name = name;
        report.running = true;
        report.error = "pooljoin cannot read openntpd's state";
      }
    }
    return report;
  }
  std::optional<DaemonReport> first;
  for (const auto& name : running) {
    DaemonReport candidate{name, true, true, std::nullopt, {}, std::nullopt, {}};
    auto state = read_daemon_state(*parse_daemon(name), runner, ntp, options);
    if (state) {
      candidate.state = std::move(*state);
      auto upstreams = read_upstreams(*parse_daemon(name), runner, ntp, options);
      if (upstreams) {
        candidate.upstreams = std::move(*upstreams);
      } else {
        candidate.upstreams_error = upstreams.error().message();
      }
      return candidate;
    }
    candidate.error = state.error().message();
    if (!first) first = std::move(candidate);
  }
  return *first;
}

Result<std::vector<ProbeTarget>> server_targets(const std::vector<std::string>& servers) {
  std::vector<ProbeTarget> targets;
  for (const auto& text : servers) {
    auto endpoint = parse_endpoint(text, 123);
    if (!endpoint) {
      return fail(ExitCode::usage, fmt::format("--server: '{}' is not a server", text), {},
                  "give HOST, HOST:PORT, ADDRESS:PORT or [IPv6]:PORT");
    }
    if (auto address = IpAddress::parse(endpoint->host)) {
      targets.push_back({*address, endpoint->port, text});
      continue;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(endpoint->host.c_str(), nullptr, &hints, &found);
    if (rc != 0) {
      return fail(ExitCode::unavailable, fmt::format("cannot resolve {}", endpoint->host),
                  ::gai_strerror(rc), "check the name, or give an address");
    }
    std::vector<IpAddress> addresses;
    for (addrinfo* it = found; it; it = it->ai_next) {
      if (it->ai_family != AF_INET && it->ai_family != AF_INET6) continue;
      auto address = IpAddress::from_sockaddr(it->ai_addr);
      if (std::find(addresses.begin(), addresses.end(), address) == addresses.end())
        addresses.push_back(address);
    }
    ::freeaddrinfo(found);
    for (const auto& address : addresses)
      targets.push_back({address, endpoint->port, endpoint->host});
  }
  return targets;
}

std::string_view to_string(ReferenceSource source) {
  switch (source) {
    case ReferenceSource::none:
      return "none";
    case ReferenceSource::option:
      return "--reference";
    case ReferenceSource::daemon:
      return "the daemon's upstreams";
    case ReferenceSource::selection:
      return "the servers resolve chose";
  }
  return "none";
}

std::size_t ClockEstimate::counted() const {
  return static_cast<std::size_t>(std::count_if(references.begin(), references.end(),
                                                [](const auto& r) { return r.rejected.empty(); }));
}

std::optional<double> ClockEstimate::seen_offset_s(double self_offset_s) const {
  if (reference_offset_ms) return self_offset_s - *reference_offset_ms / 1000;
  if (daemon_offset_ms) return -*daemon_offset_ms / 1000;
  return std::nullopt;
}

ClockEstimate estimate_clock(ReferenceSource source, std::vector<ProbeReport> references,
                             std::optional<double> daemon_offset_ms, std::string daemon) {
  ClockEstimate clock;
  clock.source = source;
  clock.daemon_offset_ms = daemon_offset_ms;
  clock.daemon = std::move(daemon);
  std::vector<double> offsets;
  for (auto& report : references) {
    ClockReference reference{std::move(report), {}};
    const NtpSample& best = reference.report.best;
    if (reference.report.fault() != NtpFault::none) {
      reference.rejected = fmt::format("no valid reply ({})", describe(reference.report.fault()));
    } else if (best.leap == Leap::unsynchronized) {
      reference.rejected = "not synchronised (leap 3)";
    } else {
      offsets.push_back(best.offset_s * 1000);
    }
    clock.references.push_back(std::move(reference));
  }
  if (offsets.size() >= kFalsetickerQuorum) {
    const double middle = median(offsets);
    for (auto& r : clock.references) {
      if (!r.rejected.empty()) continue;
      const double offset_ms = r.report.best.offset_s * 1000;
      if (is_falseticker(offset_ms, r.report.best.delay_s * 1000, middle)) {
        r.rejected = fmt::format("falseticker: {:+.1f} ms from the median of the others",
                                 offset_ms - middle);
      }
    }
  }
  std::vector<double> counted;
  for (const auto& r : clock.references)
    if (r.rejected.empty()) counted.push_back(r.report.best.offset_s * 1000);
  if (counted.size() >= kMinReferences) clock.reference_offset_ms = median(counted);
  return clock;
}

void apply_clock(std::vector<AddressCheck>& addresses, const ClockEstimate& clock) {
  for (auto& a : addresses) {
    if (a.ntp.fault() != NtpFault::none) continue;
    a.seen_offset_s = clock.seen_offset_s(a.ntp.best.offset_s);
    if (!a.seen_offset_s) continue;
    NtpSample seen = a.ntp.best;
    seen.offset_s = *a.seen_offset_s;
    a.step = score_step(seen);
    a.predicted = converged_score(a.step);
  }
}

Result<CheckedTargets> check_addresses(NtpTransport& ntp, const std::vector<ProbeTarget>& targets,
                                       const CheckOptions& options) {
  std::vector<ProbeTarget> all = targets;
  all.insert(all.end(), options.references.begin(), options.references.end());
  auto reports = ntp.probe(all, options.probe);
  if (!reports) return tl::unexpected(std::move(reports.error()));
  CheckedTargets checked;
  checked.references.assign(
      std::make_move_iterator(reports->begin() + static_cast<long>(targets.size())),
      std::make_move_iterator(reports->end()));
  reports->resize(targets.size());
  std::vector<AddressCheck>& checks = checked.addresses;
  for (auto& report : *reports) {
    AddressCheck check;
    check.step = score_step(report.best);
    check.predicted = converged_score(check.step);
    check.submittable =
        report.fault() == NtpFault::none && submittable_stratum(report.best.stratum);
    check.ntp = std::move(report);
    checks.push_back(std::move(check));
  }
  if (!options.exposure || targets.empty()) return checked;

  // Every datagram until the answer is whole (the size of what comes back is the point), or
  // a wait bounded by the round trips measured: a closed server never answers.
  const auto wait = exposure_wait(checks, options.probe.timeout);
  std::vector<QueryRequest> requests;
  for (const auto& target : targets) {
    const std::uint16_t sequence = random_control_sequence();
    auto response = std::make_shared<ControlResponse>(sequence, kControlReadVariables);
    requests.push_back({target, control_request(kControlReadVariables, sequence, 0), wait,
                        [response](const std::vector<std::vector<std::uint8_t>>& replies) {
                          const auto added = response->add(replies.back());
                          return response->complete() || added == ControlResponse::Added::malformed;
                        }});
    auto monlist = monlist_request();
    requests.push_back(
        {target, std::vector<std::uint8_t>(monlist.begin(), monlist.end()), wait, mode7_complete});
  }
  auto results = ntp.query(requests);
  if (!results) return tl::unexpected(std::move(results.error()));
  for (std::size_t i = 0; i < checks.size(); ++i) {
    checks[i].mode6 = exposure_of(requests[2 * i], (*results)[2 * i], false);
    checks[i].monlist = exposure_of(requests[2 * i + 1], (*results)[2 * i + 1], true);
  }
  return checked;
}

std::vector<Finding> diagnose(const CheckFacts& facts) {
  using Diagnoser = void (*)(const CheckFacts&, std::vector<Finding>&);
  static constexpr Diagnoser kDiagnosers[] = {
      diagnose_daemon,    diagnose_upstreams, diagnose_clock,
      diagnose_leap_list, diagnose_addresses, diagnose_lifetimes,
      diagnose_firewall,  diagnose_exposure,  diagnose_outside};
  std::vector<Finding> findings;
  for (Diagnoser diagnoser : kDiagnosers)
    diagnoser(facts, findings);
  return findings;
}

std::vector<Finding> check_findings(const CheckFacts& facts) {
  std::vector<Finding> findings = diagnose(facts);
  if (facts.lint)
    findings.insert(findings.end(), facts.lint->findings.begin(), facts.lint->findings.end());
  return findings;
}

std::string describe(const DaemonReport& daemon) {
  if (daemon.name.empty()) return "no NTP daemon installed";
  if (!daemon.running) return fmt::format("{} not running", daemon.name);
  if (!daemon.state) return fmt::format("{} running, no state: {}", daemon.name, daemon.error);
  const DaemonState& s = *daemon.state;
  return fmt::format("{} {}: stratum {}, leap {}, refid {}, offset {:+.3f} ms", daemon.name,
                     s.synchronized() ? "synchronised" : "not synchronised", s.stratum,
                     static_cast<int>(s.leap), s.refid.empty() ? "-" : s.refid, s.offset_ms);
}

namespace {

// After the daemon synchronises, how long the wait goes on for the daemon to judge the upstreams
// that had only begun to answer (ntpd reports them rejected until its selection has seen them,
// after their iburst): long enough for that, short enough that one that stays so costs little.
constexpr std::chrono::milliseconds kSettleWait{60000};
// How long the daemon may list no upstream before the wait gives up on it: names in its config
// (a `pool` or `server NAME` line) appear only once DNS has answered.
constexpr std::chrono::milliseconds kNoUpstreamGrace{30000};

// No upstream that has only begun to answer is still waiting for the daemon's selection.
bool settled(const DaemonReport& daemon) {
  if (!daemon.upstreams) return true;
  return std::none_of(daemon.upstreams->begin(), daemon.upstreams->end(),
                      [](const UpstreamHealth& u) { return u.settling(); });
}

// Why a wait for synchronisation cannot end well, whatever time it is given; "" while it can.
// `looked_again`: the running daemons were detected again since the wait began (the facts it
// began with may predate the daemon's start).
std::string hopeless(const DaemonReport& daemon, bool looked_again,
                     std::chrono::milliseconds elapsed) {
  if (!daemon.running && looked_again)
    return fmt::format("{} is not running (see its log: `journalctl -u {}`)", daemon.name,
                       daemon.name);
  if (daemon.upstreams && daemon.upstreams->empty() && elapsed >= kNoUpstreamGrace)
    return fmt::format("{} has no upstream servers to synchronise from", daemon.name);
  return {};
}

// The leap-second list the live config names, read under the root at the effects' time.
std::optional<LeapList> live_leap_list(const std::optional<LiveConfigLint>& live,
                                       Effects& effects) {
  if (!live) return std::nullopt;
  auto text = effects.fs.read(live->path);
  if (!text) return std::nullopt;
  auto path = configured_leap_list(*text, live->daemon);
  if (!path) return std::nullopt;
  return read_leap_list(effects.fs, *path, effects.clock.now());
}

}  // namespace

Result<References> choose_references(const std::vector<std::string>& hosts,
                                     const DaemonReport* daemon, const RootedFs& fs) {
  if (!hosts.empty()) {
    auto targets = server_targets(hosts);
    if (!targets) return tl::unexpected(std::move(targets.error()));
    return References{ReferenceSource::option, std::move(*targets)};
  }
  if (!daemon) return References{};
  std::vector<ProbeTarget> upstreams;
  if (daemon->upstreams) {
    for (const auto& u : *daemon->upstreams) {
      auto address = IpAddress::parse(u.address);
      if (u.usable() && !u.refclock && address) upstreams.push_back({*address, u.port, "upstream"});
    }
  }
  if (upstreams.size() >= kMinReferences) return References{ReferenceSource::daemon, upstreams};
  auto saved = load_selection(fs);
  if (saved && *saved && !(*saved)->servers.empty()) {
    std::vector<ProbeTarget> servers;
    for (const auto& server : (*saved)->servers)
      servers.push_back({server.address, 123, server.host});
    return References{ReferenceSource::selection, std::move(servers)};
  }
  if (!upstreams.empty()) return References{ReferenceSource::daemon, upstreams};
  return References{};
}

void measure_clock(CheckFacts& facts, const References& references,
                   std::vector<ProbeReport> reports) {
  const DaemonState* state = facts.daemon && facts.daemon->state ? &*facts.daemon->state : nullptr;
  facts.clock = estimate_clock(references.source, std::move(reports),
                               state ? std::optional<double>(state->offset_ms) : std::nullopt,
                               facts.daemon ? facts.daemon->name : std::string());
  apply_clock(facts.addresses, *facts.clock);
}

Result<CheckFacts> gather_check(const SystemFacts& system, const CheckRequest& request,
                                Effects& effects, const CheckEvents& events) {
  if (!effects.fs.is_live()) {
    return fail(ExitCode::usage, "check probes the running system, not an image",
                fmt::format("--root {} was given", effects.fs.root().string()),
                "run it without --root");
  }
  CheckOptions options;
  options.probe = request.probe;
  CheckFacts facts;
  std::vector<ProbeTarget> targets;
  if (!request.servers.empty()) {
    if (request.wait) {
      return fail(ExitCode::usage, "--wait waits for this machine's daemon",
                  "it cannot be combined with --server", "drop one of them");
    }
    facts.local = false;
    auto servers = server_targets(request.servers);
    if (!servers) return tl::unexpected(std::move(servers.error()));
    targets = std::move(*servers);
  } else {
    SystemFacts now = system;
    DaemonReport daemon = read_local_daemon(now, effects.runner, effects.ntp);
    // Nothing to wait for when no daemon is installed at all.
    if (request.wait && !(synchronized(daemon) && settled(daemon)) && !daemon.name.empty()) {
      Clock& clock = effects.clock;
      const auto start = clock.steady();
      const auto limit = *request.wait;
      auto elapsed = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady() - start);
      };
      std::optional<std::chrono::milliseconds> synchronised_at;
      bool looked_again = false;
      while (true) {
        if (synchronized(daemon)) {
          if (!synchronised_at) synchronised_at = elapsed();
          if (settled(daemon) || elapsed() - *synchronised_at >= kSettleWait) break;
        }
        if (events.syncing) events.syncing(elapsed(), limit, daemon);
        facts.wait_stopped = hopeless(daemon, looked_again, elapsed());
        if (!facts.wait_stopped.empty() || elapsed() >= limit) break;
        auto slept =
            clock.sleep_for(std::min(kSyncPoll, limit - elapsed()), "the wait for synchronisation");
        if (!slept) return tl::unexpected(std::move(slept.error()));
        now.daemons_running = detect_running_daemons(effects.fs, now.daemons_installed);
        looked_again = true;
        daemon = read_local_daemon(now, effects.runner, effects.ntp);
      }
      facts.waited = elapsed();
    }
    facts.daemon = std::move(daemon);
    for (const auto& local : system.addresses)
      targets.push_back({local.address, 123, local.interface});
    facts.local_addresses = system.addresses;
    facts.only_private_addresses = system.only_private_addresses();
    if (auto configured = configured_daemon(system)) {
      facts.lint = lint_live_config(
          effects.fs, system.distro, *configured,
          effects.fs.is_live() ? std::optional(system.all_addresses()) : std::nullopt);
    }
    facts.leap_list = live_leap_list(facts.lint, effects);
    facts.package_manager = system.package_manager;
    const FirewallFacts firewall = gather_firewall(system, effects);
    const FirewallPlan opening = plan_firewall(firewall, effects.fs, {});
    facts.firewall = opening.before;
    facts.firewall_fix = opening.fix();
  }
  auto references =
      choose_references(request.references, facts.daemon ? &*facts.daemon : nullptr, effects.fs);
  if (!references) return tl::unexpected(std::move(references.error()));
  options.references = references->targets;
  if (!targets.empty()) {
    events.step.on_waiting(fmt::format(
        "probing {} address{} as the pool's monitors do{}", targets.size(),
        targets.size() == 1 ? "" : "es",
        options.references.empty()
            ? ""
            : fmt::format(", and {} references for the clock", options.references.size())));
    auto checked = check_addresses(effects.ntp, targets, options);
    events.step.on_waiting("");
    if (!checked) return tl::unexpected(std::move(checked.error()));
    facts.addresses = std::move(checked->addresses);
    if (facts.local || references->source != ReferenceSource::none)
      measure_clock(facts, *references, std::move(checked->references));
  }
  return facts;
}

}  // namespace pooljoin
