// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/resolve.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/catalogue.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

void add_name(CandidatePlan& plan, const std::string& name) {
  if (std::find(plan.names.begin(), plan.names.end(), name) == plan.names.end())
    plan.names.push_back(name);
}

std::string family_error(const char* family, const FamilyAnswer& answer) {
  return fmt::format("{}: {}", family, to_string(answer.status));
}

// The failure of a name that gave no address at all, in the operator's terms.
std::string name_error(const NameAnswer& answer) {
  if (answer.a.status == answer.aaaa.status) return std::string(to_string(answer.a.status));
  return family_error("A", answer.a) + ", " + family_error("AAAA", answer.aaaa);
}

// Where an address stands when nothing else tells them apart: the operator's own first, then
// the catalogue's servers, then pool members of the country, of the continent, of the world.
int source_rank(const Candidate& c) {
  switch (c.source) {
    case CandidateSource::user:
      return 0;
    case CandidateSource::catalogue:
      return 1;
    case CandidateSource::pool:
      break;
  }
  if (c.zone.size() == 2) return 2;  // a country label
  return c.zone.empty() ? 4 : 3;
}

bool same_network(const IpAddress& a, const IpAddress& b) {
  if (a.family() != b.family()) return false;
  return a.in_prefix(b, a.is_v4() ? 24 : 48);
}

}  // namespace

std::string_view to_string(CandidateSource source) {
  switch (source) {
    case CandidateSource::user:
      return "user";
    case CandidateSource::catalogue:
      return "catalogue";
    case CandidateSource::pool:
      return "pool";
  }
  return "?";
}

CandidatePlan plan_candidates(const ZoneChoice& zone, const std::vector<std::string>& user_hosts,
                              int rounds, CandidateSources sources) {
  CandidatePlan plan;
  plan.zone = zone;
  if (!zone.country.empty()) plan.zone_labels.push_back(pool_label(zone.country));
  if (!zone.continent.empty()) plan.zone_labels.push_back(zone.continent);
  if (plan.zone_labels.empty()) plan.zone_labels.push_back("");  // the global zone

  for (const auto& host : user_hosts) {
    Candidate c;
    c.host = host;
    c.source = CandidateSource::user;
    if (!IpAddress::parse(host)) add_name(plan, host);
    plan.candidates.push_back(std::move(c));
  }
  for (const auto& server : catalogue()) {
    if (!sources.catalogue) break;
    bool global = zone.country.empty() && zone.continent.empty();  // then all of them
    bool near = global || server.country.empty()  // anycast services are near everyone
                || server.country == zone.country ||
                (!zone.continent.empty() && continent_of(server.country) == zone.continent);
    if (!near) continue;
    Candidate c;
    c.host = server.host;
    c.source = CandidateSource::catalogue;
    c.note = server.operator_name;
    add_name(plan, server.host);
    plan.candidates.push_back(std::move(c));
  }
  // The pool's DNS hands out a few members per answer; each of 0-3 is a different draw, and
  // repeating the queries draws again where the resolver does not cache.
  for (const auto& label : plan.zone_labels) {
    if (!sources.pool) break;
    for (const auto& name : pool_zone_names(label)) {
      Candidate c;
      c.host = name;
      c.source = CandidateSource::pool;
      c.zone = label;
      plan.candidates.push_back(std::move(c));
      for (int round = 0; round < std::max(rounds, 1); ++round)
        plan.names.push_back(name);
    }
  }
  return plan;
}

DnsOutcome apply_answers(CandidatePlan& plan, const std::vector<NameAnswer>& answers) {
  DnsOutcome outcome = DnsOutcome::unreachable;
  for (const auto& answer : answers) {
    if (!answer.addresses().empty()) {
      outcome = DnsOutcome::resolved;
      break;
    }
    if (answer.server_answered()) outcome = DnsOutcome::nothing_resolved;
  }
  if (answers.empty()) outcome = DnsOutcome::resolved;  // nothing needed looking up
  const char* fallback = outcome == DnsOutcome::unreachable
                             ? "DNS unreachable: last known addresses"
                             : "no name resolved: last known addresses";

  for (auto& c : plan.candidates) {
    if (auto literal = IpAddress::parse(c.host)) {
      c.addresses.push_back({*literal});
      continue;
    }
    std::vector<IpAddress> found;
    const NameAnswer* last = nullptr;
    for (std::size_t i = 0; i < answers.size() && i < plan.names.size(); ++i) {
      if (plan.names[i] != c.host) continue;
      last = &answers[i];
      for (const auto& address : answers[i].addresses()) {
        if (std::find(found.begin(), found.end(), address) == found.end()) found.push_back(address);
      }
    }
    if (last) {
      c.a_status = last->a.status;
      c.aaaa_status = last->aaaa.status;
    }
    if (!found.empty()) {
      for (const auto& address : found)
        c.addresses.push_back({address});
    } else if (outcome != DnsOutcome::resolved && c.source == CandidateSource::catalogue) {
      for (const auto& server : catalogue()) {
        if (server.host != c.host) continue;
        for (const auto& address : server.addresses)
          c.addresses.push_back({address, false});
      }
      c.error = fallback;
    } else if (last) {
      c.error = name_error(*last);
    }
  }
  // The same address found under several names is one server: it stays a candidate where it
  // ranks first (the operator's, then the catalogue's, then the nearest zone).
  std::map<IpAddress, const std::string*> first_seen;
  for (auto& c : plan.candidates) {
    for (auto& a : c.addresses) {
      auto [it, inserted] = first_seen.emplace(a.address, &c.host);
      if (!inserted && a.error.empty()) a.error = "same server as " + *it->second;
    }
  }
  return outcome;
}

std::string own_address_error(const LocalAddress& local) {
  return local.interface.empty()
             ? std::string("this machine's own address")
             : fmt::format("this machine's own address (on {})", local.interface);
}

std::vector<OwnAddress> drop_own_addresses(std::vector<Candidate>& candidates,
                                           const std::vector<LocalAddress>& own) {
  std::vector<OwnAddress> found;
  for (auto& c : candidates) {
    for (auto& a : c.addresses) {
      auto local = std::find_if(own.begin(), own.end(),
                                [&](const LocalAddress& l) { return l.address == a.address; });
      if (local == own.end()) continue;
      a.error = own_address_error(*local);
      auto met = std::find_if(found.begin(), found.end(),
                              [&](const OwnAddress& o) { return o.local.address == a.address; });
      if (met == found.end()) met = found.insert(found.end(), OwnAddress{*local, {}});
      if (std::find(met->hosts.begin(), met->hosts.end(), c.host) == met->hosts.end())
        met->hosts.push_back(c.host);
    }
  }
  return found;
}

bool operator_local(const Candidate& candidate, const CandidateAddress& address) {
  return candidate.source == CandidateSource::user && address.address.is_local_network();
}

std::vector<IpAddress> addresses_to_probe(const std::vector<Candidate>& candidates) {
  std::vector<IpAddress> addresses;
  for (const auto& c : candidates) {
    for (const auto& a : c.addresses) {
      if (!a.error.empty()) continue;  // a duplicate of another candidate's, or ruled out
      if (!a.address.is_global_unicast() && !operator_local(c, a)) continue;
      if (std::find(addresses.begin(), addresses.end(), a.address) == addresses.end()) {
        addresses.push_back(a.address);
      }
    }
  }
  return addresses;
}

void apply_measurements(std::vector<Candidate>& candidates,
                        const std::vector<ProbeReport>& reports) {
  std::map<IpAddress, const ProbeReport*> by_address;
  for (const auto& report : reports)
    by_address[report.target.address] = &report;
  for (auto& c : candidates) {
    for (auto& a : c.addresses) {
      auto it = by_address.find(a.address);
      if (it == by_address.end()) continue;
      const ProbeReport& report = *it->second;
      if (report.best.valid() && report.best.leap == Leap::unsynchronized) {
        if (a.error.empty()) a.error = "says it is not synchronised (leap 3)";
        continue;
      }
      if (report.best.valid()) {
        const NtpSample& best = report.best;
        a.measurement = Measurement{best.delay_s * 1000, best.offset_s * 1000,
                                    report.jitter_s * 1000, best.stratum};
        continue;
      }
      if (!a.error.empty()) continue;  // already ruled out for another reason
      const NtpSample& best = report.best;
      a.error = best.fault == NtpFault::kiss_of_death ? fmt::format("kiss-o'-death {}", best.kiss)
                                                      : std::string(describe(best.fault));
      if (!best.detail.empty()) a.error += fmt::format(" ({})", best.detail);
    }
  }
}

bool is_falseticker(double offset_ms, double delay_ms, double median_ms) {
  return std::fabs(offset_ms - median_ms) > kFalsetickerMarginMs + delay_ms / 2;
}

std::vector<SelectedServer> select_upstreams(std::vector<Candidate>& candidates,
                                             const SelectionPolicy& policy) {
  struct Entry {
    Candidate* candidate;
    CandidateAddress* address;
    int rank;
  };
  // 1. What can be used at all.
  std::vector<double> offsets;
  for (auto& c : candidates) {
    for (auto& a : c.addresses) {
      if (!a.error.empty()) continue;
      if (a.address.is_v4() && !policy.have_ipv4)
        a.error = "no IPv4 on this machine";
      else if (!a.address.is_v4() && !policy.have_ipv6 && !policy.measured)
        a.error = "no global IPv6 on this machine";
      else if (!a.address.is_global_unicast() && !operator_local(c, a))
        a.error = fmt::format("{} address", a.address.non_global_reason());
      else if (policy.measured && !a.measurement)
        a.error = "not measured";
      else if (a.measurement && a.measurement->stratum > policy.max_stratum) {
        a.error = fmt::format("stratum {} (at most {} keeps this server at stratum {})",
                              a.measurement->stratum, policy.max_stratum, policy.max_stratum + 1);
      }
      if (a.error.empty() && a.measurement) offsets.push_back(a.measurement->offset_ms);
    }
  }
  // 2. Falsetickers: far from what the others agree on.
  if (offsets.size() >= kFalsetickerQuorum) {
    double middle = median(offsets);
    for (auto& c : candidates) {
      for (auto& a : c.addresses) {
        if (!a.error.empty() || !a.measurement) continue;
        if (is_falseticker(a.measurement->offset_ms, a.measurement->delay_ms, middle)) {
          a.error = fmt::format("falseticker: {:+.1f} ms from the median of the others",
                                a.measurement->offset_ms - middle);
        }
      }
    }
  }
  // 3. Rank: measured by delay, then stratum, then jitter; unmeasured by source.
  std::vector<Entry> usable;
  for (auto& c : candidates) {
    for (auto& a : c.addresses) {
      if (a.error.empty()) usable.push_back({&c, &a, source_rank(c)});
    }
  }
  bool prefer_v6 = policy.have_ipv6;
  std::stable_sort(usable.begin(), usable.end(), [&](const Entry& x, const Entry& y) {
    bool xv6 = !x.address->address.is_v4(), yv6 = !y.address->address.is_v4();
    if (prefer_v6 && xv6 != yv6) return xv6;
    const auto& mx = x.address->measurement;
    const auto& my = y.address->measurement;
    if (mx && my) {
      if (mx->delay_ms != my->delay_ms) return mx->delay_ms < my->delay_ms;
      if (mx->stratum != my->stratum) return mx->stratum < my->stratum;
      return mx->jitter_ms < my->jitter_ms;
    }
    return x.rank < y.rank;
  });

  // 4. Pick with diversity.
  std::vector<Entry> picked;
  auto diverse = [&](const Entry& e) {
    for (const auto& p : picked) {
      if (same_network(p.address->address, e.address->address)) return false;
      if (e.candidate->source != CandidateSource::pool && p.candidate == e.candidate) return false;
    }
    return true;
  };
  for (const auto& e : usable) {
    if (static_cast<int>(picked.size()) == policy.count) break;
    if (diverse(e)) picked.push_back(e);
  }
  // Keep one IPv4 upstream when the machine has IPv4: IPv6 trouble must not leave it without time.
  bool has_v4 = std::any_of(picked.begin(), picked.end(),
                            [](const Entry& e) { return e.address->address.is_v4(); });
  if (policy.have_ipv4 && !has_v4 && !picked.empty()) {
    for (const auto& e : usable) {
      if (!e.address->address.is_v4()) continue;
      Entry last = picked.back();
      picked.pop_back();
      if (diverse(e)) {
        picked.push_back(e);
        break;
      }
      picked.push_back(last);
    }
  }

  std::vector<SelectedServer> selection;
  for (auto& e : picked) {
    e.address->selected = true;
    selection.push_back({e.candidate->host, e.address->address});
  }
  return selection;
}

std::string ResolvePlan::zone_names() const {
  std::vector<std::string> names;
  for (const auto& label : candidates.zone_labels)
    names.push_back(label.empty() ? std::string("pool.ntp.org") : label + ".pool.ntp.org");
  return fmt::format("{}", fmt::join(names, ", "));
}

Result<ResolvePlan> plan_resolve(const SystemFacts& facts, const RootedFs& fs,
                                 const ResolveRequest& request) {
  ZoneChoice zone;
  if (request.country.empty()) {
    zone = infer_zone(fs);
  } else if (auto country = match_country(fs, request.country); !country.code.empty()) {
    zone = zone_for_country(country.code);
  } else {
    return fail(ExitCode::usage,
                fmt::format("--country: \"{}\" is no country pooljoin knows",
                            printable(request.country, 40)),
                {}, country.hint);
  }
  ResolvePlan plan;
  plan.candidates = plan_candidates(zone, request.hosts, kPoolRounds, request.sources);
  plan.own_addresses = facts.all_addresses();
  plan.dns.servers = request.dns_servers;
  plan.dns.resolv_conf = fs.host("/etc/resolv.conf").string();
  plan.dns.timeout = request.dns_timeout;
  plan.policy.count = request.servers;
  plan.policy.max_stratum = request.max_stratum;
  plan.policy.have_ipv6 = facts.has_global(IpFamily::v6);
  plan.policy.have_ipv4 = facts.can_reach_ipv4();
  plan.policy.measured = request.probe;
  plan.probe = request.probe;
  plan.probe_options = request.probe_options;
  plan.probe_options.give_up_if_first_silent = true;
  plan.unmeasured_if_silent = request.unmeasured_if_silent;
  // Offline, a dry run still shows the plan: with the catalogue's IPv4 addresses (what most
  // machines will have once connected), unmeasured, and it says so. A real run goes on and
  // fails at the probe, naming the cause.
  if (request.unmeasured_if_silent && !plan.policy.have_ipv4 && !plan.policy.have_ipv6) {
    plan.offline = true;
    plan.probe = false;
    plan.policy.have_ipv4 = true;
  }
  return plan;
}

Result<ResolveSurvey> survey_resolve(const ResolvePlan& plan, Effects& effects,
                                     const StepEvents& events) {
  ResolveSurvey survey;
  survey.candidates = plan.candidates;
  survey.wanted = plan.policy.count;
  events.on_waiting(fmt::format("resolving {} names", plan.candidates.names.size()));
  auto looked_up = effects.dns.lookup(plan.dns, plan.candidates.names);
  events.on_waiting("");
  if (!looked_up) return tl::unexpected(std::move(looked_up.error()));
  survey.dns_servers = looked_up->servers;
  survey.dns = apply_answers(survey.candidates, looked_up->answers);
  survey.own = drop_own_addresses(survey.candidates.candidates, plan.own_addresses);
  for (const auto& own : survey.own) {
    survey.notes.push_back(fmt::format(
        "left out {} (given by {}): {}; a server is never its own "
        "upstream",
        own.local.address.to_string(), fmt::join(own.hosts, ", "), own_address_error(own.local)));
  }
  const std::string servers = fmt::format("{}", fmt::join(survey.dns_servers, ", "));
  events.on_note(
      fmt::format("resolved {} names through {}", plan.candidates.names.size(), servers));
  if (survey.dns == DnsOutcome::unreachable) {
    survey.warnings.push_back(fmt::format(
        "no DNS server answered ({}): using the catalogue's last known addresses", servers));
  } else if (survey.dns == DnsOutcome::nothing_resolved) {
    survey.warnings.push_back(
        fmt::format("DNS ({}) resolved none of the {} names, not even the pool's zones: using the "
                    "catalogue's last known addresses",
                    servers, plan.candidates.names.size()));
  }

  SelectionPolicy policy = plan.policy;
  policy.measured = plan.probe;
  if (plan.offline) {
    survey.warnings.push_back(
        "this machine has no route out (no IPv4 address but loopback, no global IPv6): the dry "
        "run plans with the catalogue's IPv4 addresses, unmeasured; a real run needs the network");
  }
  if (plan.probe) {
    std::vector<ProbeTarget> targets;
    for (const auto& address : addresses_to_probe(survey.candidates.candidates))
      targets.push_back({address, 123, {}});
    survey.probed = targets.size();
    events.on_note(fmt::format("measuring {} addresses over NTP ({} samples, {:g} s apart)",
                               targets.size(), plan.probe_options.samples,
                               static_cast<double>(plan.probe_options.interval.count()) / 1000));
    events.on_waiting(fmt::format("measuring {} addresses", targets.size()));
    auto reports = effects.ntp.probe(targets, plan.probe_options);
    events.on_waiting("");
    if (!reports) return tl::unexpected(std::move(reports.error()));
    bool any = std::any_of(reports->begin(), reports->end(),
                           [](const ProbeReport& r) { return r.valid > 0; });
    if (any || targets.empty()) apply_measurements(survey.candidates.candidates, *reports);
    if (!any && !targets.empty()) {
      if (!plan.unmeasured_if_silent) {
        return fail(
            ExitCode::unavailable,
            fmt::format("none of the {} candidate addresses answered over NTP", targets.size()),
            "is outgoing UDP port 123 blocked?",
            "open it, or give servers you know with --candidate, or select unmeasured with "
            "--no-probe");
      }
      survey.warnings.push_back(
          fmt::format("none of the {} candidate addresses answered over NTP (outgoing UDP 123 "
                      "blocked, or no network): the dry run selects them unmeasured",
                      targets.size()));
      policy.measured = false;
    }
  }
  survey.measured = policy.measured;
  const auto selected = select_upstreams(survey.candidates.candidates, policy);
  if (std::ssize(selected) >= kMinUpstreams && std::ssize(selected) < policy.count) {
    survey.warnings.push_back(fmt::format("only {} of the {} servers asked for are usable",
                                          selected.size(), policy.count));
  }
  Selection& selection = survey.selection;
  selection.created = rfc3339_utc(effects.clock.now());
  selection.country = survey.candidates.zone.country;
  const std::string& nearest = survey.candidates.zone_labels.front();
  selection.zone = nearest.empty() ? "pool.ntp.org" : nearest + ".pool.ntp.org";
  selection.servers = selected;
  return survey;
}

Result<void> ResolveSurvey::usable() const {
  const auto count = selection.servers.size();
  if (std::ssize(selection.servers) >= kMinUpstreams) return {};
  return fail(ExitCode::unavailable,
              fmt::format("only {} usable upstream server{} found; the pool asks for at least {}",
                          count, count == 1 ? "" : "s", kMinUpstreams),
              dns == DnsOutcome::resolved ? "" : "DNS is unreachable",
              "add servers you trust with --candidate HOST, or try another --country; nothing "
              "was saved");
}

Result<ResolveOutcome> apply_resolve(const ResolveSurvey& survey, Effects& effects) {
  if (auto usable = survey.usable(); !usable) return tl::unexpected(std::move(usable.error()));
  if (auto saved = save_selection(effects.fs, survey.selection); !saved) {
    return tl::unexpected(std::move(saved.error()));
  }
  return ResolveOutcome{kSelectionPath};
}

bool selection_fits(const Selection& saved, std::string_view country, std::optional<int> count) {
  const auto servers = std::ssize(saved.servers);
  return (country.empty() || saved.country == lower(country)) && servers >= kMinUpstreams &&
         (!count || servers == *count);
}

}  // namespace pooljoin
