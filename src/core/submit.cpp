// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/submit.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pooljoin/check.hpp"
#include "pooljoin/conf_lint.hpp"
#include "pooljoin/http.hpp"
#include "pooljoin/pool_api.hpp"

namespace pooljoin {
namespace {

constexpr const char* kContainers[] = {
    "openvz", "lxc", "lxc-libvirt", "systemd-nspawn", "docker",         "podman",
    "rkt",    "wsl", "proot",       "pouch",          "container-other"};

std::string address_list(const std::vector<IpAddress>& addresses) {
  std::string text;
  for (const auto& a : addresses)
    text += (text.empty() ? "" : ", ") + a.to_string();
  return text.empty() ? "nothing" : text;
}

struct Counts {
  int fail = 0, warn = 0;
  const Finding* first_fail = nullptr;
  const Finding* first_warn = nullptr;
};

Counts count(const std::vector<Finding>& findings) {
  Counts c;
  for (const auto& f : findings) {
    if (f.severity == Severity::fail) {
      if (!c.first_fail) c.first_fail = &f;
      ++c.fail;
    } else if (f.severity == Severity::warn) {
      if (!c.first_warn) c.first_warn = &f;
      ++c.warn;
    }
  }
  return c;
}

// A finding about another step's findings (lint, check): its worst result, summarised.
std::vector<Finding> summarise(const std::optional<std::vector<Finding>>& findings,
                               const std::string& id, const std::string& what,
                               const std::string& command) {
  if (!findings) {
    return {{id + ".not-checked", Severity::warn,
             fmt::format("not checked: {} (`{}` had nothing to look at)", what, command),
             fmt::format("run `{}` and look at it before adding the server", command)}};
  }
  Counts c = count(*findings);
  if (c.fail > 0) {
    return {{id, Severity::fail,
             fmt::format("`{}` reports {} failure{}, first: {}", command, c.fail,
                         c.fail == 1 ? "" : "s", c.first_fail->message),
             fmt::format("run `{}` and fix what it reports", command)}};
  }
  if (c.warn > 0) {
    return {{id, Severity::warn,
             fmt::format("`{}` reports {} warning{}, first: {}", command, c.warn,
                         c.warn == 1 ? "" : "s", c.first_warn->message),
             fmt::format("run `{}` to see them", command)}};
  }
  return {{id, Severity::ok, fmt::format("`{}` reports no problem", command)}};
}

}  // namespace

// --- Net speed -----------------------------------------------------------------------------------

std::string_view to_string(MachineKind kind) {
  switch (kind) {
    case MachineKind::container:
      return "container";
    case MachineKind::virtual_machine:
      return "virtual machine";
    case MachineKind::physical:
      return "physical machine";
  }
  return "?";
}

MachineKind machine_kind(std::string_view virtualization) {
  if (virtualization == "none") return MachineKind::physical;
  for (const char* container : kContainers)
    if (virtualization == container) return MachineKind::container;
  return MachineKind::virtual_machine;
}

int allowed_net_speed_at_most(double kbit) {
  int best = kNetSpeedsKbit[1];  // the lowest setting that still serves clients
  for (int value : kNetSpeedsKbit)
    if (value > 0 && value <= kbit) best = value;
  return best;
}

std::string net_speed_label(int kbit) {
  auto trimmed = [](double value, const char* unit) {
    std::string text = fmt::format("{:.1f}", value);
    if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0)
      text.resize(text.size() - 2);
    return text + " " + unit;
  };
  if (kbit == 0) return "0 (monitoring only)";
  if (kbit < 1000) return fmt::format("{} kbit", kbit);
  if (kbit < 1000000) return trimmed(kbit / 1000.0, "Mbit");
  return trimmed(kbit / 1000000.0, "Gbit");
}

NetSpeedAdvice recommend_net_speed(std::string_view virtualization,
                                   std::optional<double> bandwidth_mbit) {
  NetSpeedAdvice advice;
  advice.kind = machine_kind(virtualization);
  std::optional<double> bandwidth_kbit;
  if (bandwidth_mbit && *bandwidth_mbit > 0) bandwidth_kbit = *bandwidth_mbit * 1000.0;
  double target = 0;
  std::string why;
  if (advice.kind == MachineKind::container) {
    target = kContainerTargetKbit;
    why =
        fmt::format("a container ({}) supports few concurrent connections: the guide says about {}",
                    virtualization, net_speed_label(kContainerTargetKbit));
    if (bandwidth_kbit && *bandwidth_kbit < target) {
      target = *bandwidth_kbit;
      why += fmt::format(", and the bandwidth given is {:g} Mbit", *bandwidth_mbit);
    }
  } else if (bandwidth_kbit) {
    target = *bandwidth_kbit;
    why = fmt::format("a {} can take a high setting: the bandwidth given is {:g} Mbit",
                      to_string(advice.kind), *bandwidth_mbit);
  } else {
    target = kDefaultTargetKbit;
    why = fmt::format(
        "a {} can take a high setting, but no bandwidth was given (--bandwidth MBIT): a moderate "
        "start, to raise on the site once the server has proven stable",
        to_string(advice.kind));
  }
  advice.kbit = allowed_net_speed_at_most(target);
  if (advice.kbit != static_cast<int>(std::lround(target)))
    why += fmt::format("; the closest setting the site offers not above it is {}",
                       net_speed_label(advice.kbit));
  advice.reason = why;
  advice.expected_traffic_kbit = advice.kbit / kGuideSettingKbit * kGuideTrafficKbit;
  return advice;
}

// --- Pre-flight ----------------------------------------------------------------------------------

std::vector<Finding> diagnose_addresses(const PreflightFacts& facts) {
  std::vector<Finding> findings;
  if (facts.addresses.empty()) {
    bool private_only = std::any_of(facts.excluded.begin(), facts.excluded.end(),
                                    [](const LocalAddress& a) { return a.behind_nat(); });
    findings.push_back(
        {"submit.address.none", Severity::fail,
         private_only ? "no global address on this machine, only private ones (behind NAT?)"
                      : "no global address on this machine: the pool can only use public ones",
         "behind 1:1 NAT, name the public address (`pooljoin submit ADDRESS`) and forward UDP "
         "123 to this machine"});
    return findings;
  }
  for (const auto& a : facts.addresses) {
    const std::string ip = a.address.to_string();
    if (a.address.is_global_unicast()) {
      findings.push_back({"submit.address.global", Severity::ok,
                          fmt::format("{} is a global unicast address", ip)});
      for (const auto& own : facts.own) {
        if (own.address != a.address) continue;
        auto dynamic = diagnose_dynamic_addresses({own}, "submit.address.dynamic");
        findings.insert(findings.end(), dynamic.begin(), dynamic.end());
      }
    } else {
      findings.push_back(
          {"submit.address.not-global", Severity::fail,
           fmt::format("{} is not a global unicast address ({}): the site refuses it", ip,
                       a.address.non_global_reason()),
           "submit the server's public address"});
    }
  }
  return findings;
}

std::vector<Finding> diagnose_registration(const PreflightFacts& facts) {
  std::vector<Finding> findings;
  for (const auto& a : facts.addresses) {
    const std::string ip = a.address.to_string();
    std::string score = a.score ? fmt::format(", score {:.1f}", *a.score) : std::string();
    if (!a.registration || *a.registration == Registration::lookup_failed) {
      findings.push_back({"submit.registration.not-checked", Severity::warn,
                          fmt::format("not checked: whether {} is already in the pool ({})", ip,
                                      a.registration ? a.registration_error : "not looked up"),
                          fmt::format("look it up later with `pooljoin status {}`", ip)});
    } else if (*a.registration == Registration::registered) {
      if (facts.verifying) {
        findings.push_back(
            {"submit.registered", Severity::ok,
             fmt::format("{} is in the pool{}: its ownership can be proven", ip, score)});
      } else {
        // The score API keeps answering for a deleted server (up to 30 days), and the site
        // takes such an address again: known is not proof of a refusal.
        findings.push_back(
            {"submit.registered", Severity::warn,
             fmt::format("{} is known to the pool{}: the site refuses an address it has, unless "
                         "that server is deleted or scheduled for deletion",
                         ip, score),
             fmt::format("if it is on your account, there is nothing to add (`pooljoin status {}` "
                         "shows its score); if it was deleted, it can be added again",
                         ip)});
      }
    } else if (facts.verifying) {
      findings.push_back(
          {"submit.not-registered", Severity::warn, fmt::format("{} is not in the pool yet", ip),
           "add it on the site first: its validation URL proves only added servers"});
    } else {
      findings.push_back(
          {"submit.not-registered", Severity::ok, fmt::format("{} is not in the pool yet", ip)});
    }
  }
  return findings;
}

std::vector<Finding> diagnose_ntp(const PreflightFacts& facts) {
  std::vector<Finding> findings;
  for (const auto& a : facts.addresses) {
    const std::string ip = a.address.to_string();
    if (!a.ntp) {
      findings.push_back(
          {"submit.ntp.not-checked", Severity::warn,
           fmt::format("not checked: {} answers NTP with 0 < stratum < {} (the site's condition "
                       "at the moment of adding)",
                       ip, kMaxSubmittableStratum + 1),
           fmt::format("query it from another machine, e.g. `ntpdig {}`", ip)});
    } else if (!a.ntp->answered) {
      findings.push_back(
          {"submit.ntp.no-answer", Severity::fail,
           fmt::format("{} does not answer NTP{}: the site refuses a server that does not", ip,
                       a.ntp->detail.empty() ? "" : " (" + a.ntp->detail + ")"),
           "start the daemon and open UDP 123 to the world; `pooljoin check` shows what is wrong"});
    } else if (!submittable_stratum(a.ntp->stratum)) {
      bool unsynchronised = a.ntp->stratum <= 0 || a.ntp->stratum >= 16;
      findings.push_back({"submit.ntp.stratum", Severity::fail,
                          fmt::format("{} answers at stratum {}; the site needs 0 < stratum < {}",
                                      ip, a.ntp->stratum, kMaxSubmittableStratum + 1),
                          unsynchronised
                              ? "wait until the daemon is synchronised (`pooljoin check --wait 5m`)"
                              : "choose upstream servers of a lower stratum (`pooljoin resolve`)"});
    } else {
      findings.push_back({"submit.ntp.ok", Severity::ok,
                          fmt::format("{} answers NTP at stratum {}", ip, a.ntp->stratum)});
    }
  }
  return findings;
}

std::vector<Finding> diagnose_lint(const PreflightFacts& facts) {
  return summarise(facts.lint, "submit.lint", "the live config passes the pool's rules",
                   "pooljoin gen-conf --lint");
}

std::vector<Finding> diagnose_check(const PreflightFacts& facts) {
  return summarise(facts.check, "submit.check", "the server passes the monitors' checks",
                   "pooljoin check");
}

std::vector<Finding> diagnose_outside(const PreflightFacts& facts) {
  std::vector<Finding> findings;
  for (const auto& a : facts.addresses) {
    const std::string ip = a.address.to_string();
    if (a.registration == Registration::registered && a.score) {
      findings.push_back(
          {"submit.outside.scored", Severity::ok,
           fmt::format("{}: the pool's monitors reach it already (score {:.1f})", ip, *a.score)});
      continue;
    }
    findings.push_back(
        {"submit.outside.not-checked", Severity::warn,
         fmt::format("not checked: that {} is reachable from outside on UDP 123 (a cloud "
                     "firewall, a security group or the path can block what this machine lets in)",
                     ip),
         fmt::format("from another machine: `pooljoin check --server {}`", ip)});
  }
  return findings;
}

std::vector<Finding> preflight(const PreflightFacts& facts) {
  constexpr PreflightDiagnoser kDiagnosers[] = {diagnose_addresses, diagnose_registration,
                                                diagnose_ntp,       diagnose_outside,
                                                diagnose_lint,      diagnose_check};
  std::vector<Finding> findings;
  for (auto diagnose : kDiagnosers) {
    auto more = diagnose(facts);
    findings.insert(findings.end(), more.begin(), more.end());
  }
  return findings;
}

// --- What to do on the site ----------------------------------------------------------------------

SubmitInstructions plan_submission(const std::vector<IpAddress>& addresses,
                                   const std::optional<HostnameFacts>& hostname,
                                   NetSpeedAdvice net_speed) {
  SubmitInstructions plan;
  plan.page = kManageServersUrl;
  plan.hostname = hostname;
  plan.net_speed = std::move(net_speed);
  std::set<IpAddress> ours(addresses.begin(), addresses.end());
  if (hostname) {
    std::set<IpAddress> theirs(hostname->addresses.begin(), hostname->addresses.end());
    if (!hostname->error.empty()) {
      plan.hostname_note = fmt::format("{} does not resolve ({}): enter the addresses",
                                       hostname->name, hostname->error);
    } else if (!ours.empty() && theirs == ours) {
      plan.use_hostname = true;
      plan.hostname_note = fmt::format(
          "{} resolves to exactly this machine's addresses: one entry adds each of them as its "
          "own server",
          hostname->name);
    } else {
      plan.hostname_note = fmt::format(
          "{} resolves to {}, not exactly this machine's addresses ({}): enter the addresses, "
          "since the site would add every address of the name",
          hostname->name, address_list(hostname->addresses), address_list(addresses));
    }
  }
  for (IpFamily family : {IpFamily::v4, IpFamily::v6}) {
    FamilyStep step;
    step.family = family;
    for (const auto& a : addresses)
      if (a.family() == family) step.addresses.push_back(a);
    if (step.addresses.empty()) continue;
    if (plan.use_hostname) {
      step.enter.push_back(hostname->name);
    } else {
      for (const auto& a : step.addresses)
        step.enter.push_back(a.to_string());
    }
    plan.families.push_back(std::move(step));
  }
  return plan;
}

Result<std::vector<IpAddress>> resolve_with_getaddrinfo(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;  // one entry per address instead of one per socket type
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    return fail(ExitCode::unavailable, fmt::format("cannot resolve {}", name),
                rc == EAI_SYSTEM ? errno_text(errno) : ::gai_strerror(rc));
  }
  std::set<IpAddress> unique;
  for (addrinfo* ai = list; ai; ai = ai->ai_next)
    if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
      unique.insert(IpAddress::from_sockaddr(ai->ai_addr));
  ::freeaddrinfo(list);
  return std::vector<IpAddress>(unique.begin(), unique.end());
}

std::optional<std::string> machine_fqdn() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || !name[0]) return std::nullopt;
  std::string host = name;
  if (host.find('.') != std::string::npos) return host;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &list) != 0) return std::nullopt;
  std::optional<std::string> fqdn;
  if (list && list->ai_canonname &&
      std::string_view(list->ai_canonname).find('.') != std::string_view::npos)
    fqdn = list->ai_canonname;
  ::freeaddrinfo(list);
  return fqdn;
}

// --- Ownership proof -----------------------------------------------------------------------------

Result<std::vector<Verification>> verify_ownership(HttpClient& http, const std::string& url,
                                                   const std::vector<IpAddress>& sources) {
  std::vector<Verification> results;
  for (const auto& source : sources) {
    Verification v;
    v.address = source;
    auto response = http.get({url, {}, source});
    if (!response) {
      if (response.error().code == ExitCode::interrupted) return tl::unexpected(response.error());
      v.message = response.error().message();
      results.push_back(std::move(v));
      continue;
    }
    v.status = response->status;
    v.local_address = response->local_address;
    v.url = url;
    v.body = response->body.substr(0, response->body.find('\n'));
    while (!v.body.empty() && (v.body.back() == '\r' || v.body.back() == ' '))
      v.body.pop_back();
    if (v.body.size() > 200) v.body.resize(200);
    if (parse_http_url(v.body)) v.confirm_url = v.body;
    auto local = IpAddress::parse(v.local_address);
    bool from_source = v.local_address.empty() || (local && *local == source);
    v.ok = v.status >= 200 && v.status < 300 && from_source;
    if (!from_source) {
      v.message =
          fmt::format("the connection came from {}, not {}", v.local_address, source.to_string());
    } else {
      v.message = "HTTP " + http_status_text(v.status);
    }
    results.push_back(std::move(v));
  }
  return results;
}

// --- The step ------------------------------------------------------------------------------------

namespace {

// One address's answer in the terms of the site's rule (0 < stratum < 6).
NtpAnswer ntp_answer(const AddressCheck& check) {
  NtpAnswer answer;
  const ProbeReport& report = check.ntp;
  // An unsynchronised server answers too (stratum 0 or 16): what the site sees is the stratum.
  answer.answered = report.reachable();
  answer.stratum = report.best.stratum;
  if (report.valid == 0) {
    answer.detail = report.best.fault == NtpFault::kiss_of_death
                        ? fmt::format("kiss-o'-death {}", report.best.kiss)
                        : std::string(describe(report.best.fault));
  }
  return answer;
}

std::optional<HostnameFacts> hostname_facts(const std::string& given, const HostResolver& resolve) {
  std::optional<std::string> name =
      given.empty() ? machine_fqdn() : std::optional<std::string>(given);
  if (!name) return std::nullopt;
  HostnameFacts facts;
  facts.name = *name;
  auto resolved = resolve(*name);
  if (resolved) {
    facts.addresses = std::move(*resolved);
  } else {
    facts.error = resolved.error().why.empty() ? resolved.error().what : resolved.error().why;
  }
  return facts;
}

}  // namespace

std::string verify_url_for(const SubmitRequest& request, IpFamily family) {
  const std::string& own = family == IpFamily::v4 ? request.verify_url4 : request.verify_url6;
  if (!own.empty()) return own;
  auto url = parse_http_url(request.verify_url);
  if (!url) return {};
  auto literal = IpAddress::parse(url->host);
  return !literal || literal->family() == family ? request.verify_url : std::string();
}

Result<SubmitPlan> plan_submit(const SystemFacts& system, const SubmitRequest& request,
                               Effects& effects, const StepEvents& events,
                               const HostResolver& resolve) {
  SubmitPlan plan;
  plan.verify_url4 = verify_url_for(request, IpFamily::v4);
  plan.verify_url6 = verify_url_for(request, IpFamily::v6);
  std::vector<IpAddress> addresses = request.addresses;
  if (addresses.empty()) {
    for (const auto& a : system.addresses)
      addresses.push_back(a.address);
  }
  PreflightFacts& facts = plan.facts;
  facts.excluded = system.excluded;
  facts.own = system.addresses;
  facts.verifying = plan.proving();
  events.on_waiting("checking what the pool's site will check");
  for (const auto& address : addresses) {
    AddressFacts a;
    a.address = address;
    auto score = fetch_server_score(effects.http, request.api_base, address, 1);
    if (!score) {
      if (score.error().code == ExitCode::interrupted) {
        events.on_waiting("");
        return tl::unexpected(std::move(score.error()));
      }
      a.registration = Registration::lookup_failed;
      a.registration_error = score.error().message();
    } else {
      a.registration = score->known ? Registration::registered : Registration::not_registered;
      if (score->score) a.score = score->score->value;
    }
    if (request.only_unregistered && a.registration == Registration::registered) {
      plan.registered.push_back(address);
      continue;
    }
    plan.addresses.push_back(address);
    facts.addresses.push_back(std::move(a));
  }
  if (plan.nothing_to_submit()) {
    events.on_waiting("");
    return plan;
  }

  // The machine as the monitors (and the site's own test when a server is added) will see it.
  CheckFacts check;
  check.daemon = read_local_daemon(system, effects.runner, effects.ntp);
  check.only_private_addresses = system.only_private_addresses();
  std::vector<ProbeTarget> targets;
  for (const auto& address : plan.addresses)
    targets.push_back({address, 123, {}});
  CheckOptions options;
  options.probe = request.probe;
  // The clock as the monitors will measure it: against the daemon's upstreams (or the saved
  // selection), probed in the same round.
  auto references = choose_references({}, &*check.daemon, effects.fs);
  if (!references) return tl::unexpected(std::move(references.error()));
  options.references = references->targets;
  auto checked = check_addresses(effects.ntp, targets, options);
  events.on_waiting("");
  if (!checked) return tl::unexpected(std::move(checked.error()));
  check.addresses = std::move(checked->addresses);
  measure_clock(check, *references, std::move(checked->references));
  for (std::size_t i = 0; i < facts.addresses.size(); ++i)
    facts.addresses[i].ntp = ntp_answer(check.addresses[i]);
  const FirewallFacts firewall = gather_firewall(system, effects);
  const FirewallPlan opening = plan_firewall(firewall, effects.fs, {});
  check.firewall = opening.before;
  check.firewall_fix = opening.fix();
  facts.check = diagnose(check);
  // Reachability from outside has a rule of its own here, which the pool's score can settle.
  std::erase_if(*facts.check, [](const Finding& f) { return f.id == "reach.outside"; });
  if (auto daemon = configured_daemon(system)) {
    if (auto live = lint_live_config(
            effects.fs, system.distro, *daemon,
            effects.fs.is_live() ? std::optional(system.all_addresses()) : std::nullopt))
      facts.lint = live->findings;
  }
  plan.findings = preflight(facts);

  std::vector<IpAddress> global;
  for (const auto& a : plan.addresses)
    if (a.is_global_unicast()) global.push_back(a);
  plan.instructions =
      plan_submission(global, hostname_facts(request.hostname, resolve),
                      recommend_net_speed(system.virtualization, request.bandwidth_mbit));
  return plan;
}

bool SubmitOutcome::failed() const {
  const bool any_attempted = std::any_of(verification.begin(), verification.end(),
                                         [](const Verification& v) { return v.attempted; });
  return proving && (!any_attempted ||
                     std::any_of(verification.begin(), verification.end(),
                                 [](const Verification& v) { return v.attempted && !v.ok; }));
}

std::vector<IpFamily> SubmitOutcome::not_proven() const {
  std::vector<IpFamily> families;
  for (const auto& v : verification) {
    const IpFamily family = v.address.family();
    if (!v.attempted && std::find(families.begin(), families.end(), family) == families.end())
      families.push_back(family);
  }
  return families;
}

std::string SubmitPlan::failure(const std::optional<SubmitOutcome>& outcome) const {
  if ((outcome && outcome->failed()) || (proving() && addresses.empty()))
    return "the ownership proof failed";
  if (preflight_failed()) return "the site's pre-flight found failures";
  return {};
}

Result<SubmitOutcome> apply_submit(const SubmitPlan& plan, Effects& effects) {
  SubmitOutcome outcome;
  outcome.proving = plan.proving();
  if (!outcome.proving) return outcome;
  for (const auto& address : plan.addresses) {
    const std::string& url = plan.verify_url(address.family());
    if (url.empty()) {
      Verification v;
      v.address = address;
      v.attempted = false;
      v.message = fmt::format(
          "not proven: no validation URL for {} (the site names one per "
          "family: --verify-url{} URL)",
          address.is_v4() ? "IPv4" : "IPv6", address.is_v4() ? "4" : "6");
      outcome.verification.push_back(std::move(v));
      continue;
    }
    auto verified = verify_ownership(effects.http, url, {address});
    if (!verified) return tl::unexpected(std::move(verified.error()));
    outcome.verification.push_back(std::move(verified->front()));
  }
  return outcome;
}

}  // namespace pooljoin
