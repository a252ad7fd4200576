// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/resolve.hpp"

#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

CandidateAddress measured(const char* address, double delay, double offset = 0.0, int stratum = 2,
                          double jitter = 0.1) {
  CandidateAddress a{ip(address)};
  a.measurement = Measurement{delay, offset, jitter, stratum};
  return a;
}

Candidate pool(const char* zone_label, std::vector<CandidateAddress> addresses) {
  Candidate c;
  c.host = "0." + std::string(zone_label) + ".pool.ntp.org";
  c.source = CandidateSource::pool;
  c.zone = zone_label;
  c.addresses = std::move(addresses);
  return c;
}

Candidate named(const char* host, CandidateSource source, std::vector<CandidateAddress> addresses) {
  Candidate c;
  c.host = host;
  c.source = source;
  c.addresses = std::move(addresses);
  return c;
}

std::vector<std::string> addresses_of(const std::vector<SelectedServer>& selection) {
  std::vector<std::string> out;
  for (const auto& s : selection)
    out.push_back(s.address.to_string());
  return out;
}

NameAnswer answer(const char* name, std::vector<const char*> v4, std::vector<const char*> v6,
                  DnsStatus v4_status = DnsStatus::ok, DnsStatus v6_status = DnsStatus::ok) {
  NameAnswer a;
  a.name = name;
  a.a.status = v4.empty() && v4_status == DnsStatus::ok ? DnsStatus::nodata : v4_status;
  a.aaaa.status = v6.empty() && v6_status == DnsStatus::ok ? DnsStatus::nodata : v6_status;
  for (auto t : v4)
    a.a.addresses.push_back(ip(t));
  for (auto t : v6)
    a.aaaa.addresses.push_back(ip(t));
  return a;
}

}  // namespace

TEST_CASE(
    "candidates: the country's zones, then its continent's, the catalogue near it, the operator's",
    "[resolve]") {
  CandidatePlan plan =
      plan_candidates(zone_for_country("de"), {"ntp.example.net", "192.0.2.123"}, 2);
  CHECK(plan.zone_labels == std::vector<std::string>{"de", "europe"});
  REQUIRE(plan.candidates.size() > 10);
  CHECK(plan.candidates[0].host == "ntp.example.net");
  CHECK(plan.candidates[0].source == CandidateSource::user);
  CHECK(plan.candidates[1].host == "192.0.2.123");
  std::vector<std::string> catalogue_hosts;
  for (const auto& c : plan.candidates) {
    if (c.source == CandidateSource::catalogue) catalogue_hosts.push_back(c.host);
  }
  // German and other European servers and anycast services; not NIST, NICT or NTP.br.
  auto has = [&](const char* host) {
    return std::find(catalogue_hosts.begin(), catalogue_hosts.end(), host) != catalogue_hosts.end();
  };
  CHECK(has("ptbtime1.ptb.de"));
  CHECK(has("ntp.ripe.net"));
  CHECK(has("ts1.univie.ac.at"));
  CHECK(has("time.cloudflare.com"));
  CHECK_FALSE(has("time-a-g.nist.gov"));
  CHECK_FALSE(has("ntp.nict.jp"));
  // The address literal is not looked up; each pool name twice (rounds), names once otherwise.
  CHECK(std::count(plan.names.begin(), plan.names.end(), "192.0.2.123") == 0);
  CHECK(std::count(plan.names.begin(), plan.names.end(), "2.de.pool.ntp.org") == 2);
  CHECK(std::count(plan.names.begin(), plan.names.end(), "3.europe.pool.ntp.org") == 2);
  CHECK(std::count(plan.names.begin(), plan.names.end(), "ntp.example.net") == 1);

  CandidatePlan global = plan_candidates(ZoneChoice{}, {}, 1);
  CHECK(global.zone_labels == std::vector<std::string>{""});
  CHECK(std::count(global.names.begin(), global.names.end(), "0.pool.ntp.org") == 1);
  CHECK(std::count(global.names.begin(), global.names.end(), "time-a-g.nist.gov") == 1);
}

TEST_CASE("candidates: only the operator's when pool and catalogue are left out", "[resolve]") {
  CandidatePlan plan = plan_candidates(zone_for_country("de"), {"a.example", "b.example"}, 2,
                                       CandidateSources{false, false});
  CHECK(plan.candidates.size() == 2);
  CHECK(plan.names == std::vector<std::string>{"a.example", "b.example"});
}

TEST_CASE("answers fill the candidates; duplicates across names are one server", "[resolve]") {
  CandidatePlan plan = plan_candidates(zone_for_country("br"), {"dup.example"}, 1);
  std::vector<NameAnswer> answers;
  for (const auto& name : plan.names) {
    if (name == "dup.example")
      answers.push_back(answer(name.c_str(), {"200.160.7.186"}, {}));
    else if (name == "0.br.pool.ntp.org")
      answers.push_back(answer(name.c_str(), {"200.1.1.1", "200.160.7.186"}, {}));
    else if (name == "2.br.pool.ntp.org")
      answers.push_back(answer(name.c_str(), {"200.2.2.2"}, {"2801:80::1"}));
    else
      answers.push_back(answer(name.c_str(), {}, {}, DnsStatus::nxdomain, DnsStatus::nxdomain));
  }
  REQUIRE(apply_answers(plan, answers) == DnsOutcome::resolved);
  auto find = [&](const char* host) -> const Candidate& {
    for (const auto& c : plan.candidates) {
      if (c.host == host) return c;
    }
    FAIL("no candidate " << host);
    throw 0;
  };
  CHECK(find("dup.example").addresses.size() == 1);
  // 200.160.7.186 stays a candidate with the operator's own entry, which ranks first.
  REQUIRE(find("0.br.pool.ntp.org").addresses.size() == 2);
  CHECK(find("0.br.pool.ntp.org").addresses[0].error.empty());
  CHECK(find("0.br.pool.ntp.org").addresses[1].error == "same server as dup.example");
  CHECK(find("2.br.pool.ntp.org").addresses.size() == 2);
  CHECK(find("1.br.pool.ntp.org").error == "NXDOMAIN");
  CHECK(find("a.st1.ntp.br").addresses.empty());
  CHECK(find("a.st1.ntp.br").error == "NXDOMAIN");
}

TEST_CASE("the machine's own addresses, global or not, are never candidates", "[resolve]") {
  const std::vector<LocalAddress> own = {
      {ip("185.255.0.1"), "eth0"},
      {ip("2a0a:e5c0::1"), "eth0"},
      {ip("10.1.2.3"), "eth1", Exclusion::not_global},
      {ip("127.0.0.1"), "lo", Exclusion::not_global},
      {ip("2a0a:e5c0::99"), "eth0", Exclusion::temporary},
  };
  // Once joined, the machine's own zone hands its address out; the operator's list (shared by a
  // fleet) may name it too, and a name may give it again after another one did.
  std::vector<Candidate> candidates = {
      named("fleet.example", CandidateSource::user,
            {measured("185.255.0.1", 1), measured("185.3.1.1", 3)}),
      pool("de", {measured("185.1.1.1", 10), measured("185.255.0.1", 1),
                  measured("2a0a:e5c0::1", 1), measured("10.1.2.3", 1)}),
      pool("europe",
           {measured("127.0.0.1", 1), measured("2a0a:e5c0::99", 1), measured("185.2.1.1", 12)}),
  };
  candidates[1].addresses[1].error = "same server as fleet.example";
  auto dropped = drop_own_addresses(candidates, own);
  REQUIRE(dropped.size() == 5);
  CHECK(dropped[0].local.address == ip("185.255.0.1"));
  CHECK(dropped[0].hosts == std::vector<std::string>{"fleet.example", "0.de.pool.ntp.org"});
  CHECK(dropped[1].local.address == ip("2a0a:e5c0::1"));
  CHECK(dropped[2].local.interface == "eth1");
  CHECK(dropped[3].hosts == std::vector<std::string>{"0.europe.pool.ntp.org"});
  CHECK(dropped[4].local.excluded == Exclusion::temporary);
  // Whatever ruled an address out before, the reason shown is that it is the machine's own.
  CHECK(candidates[0].addresses[0].error == "this machine's own address (on eth0)");
  CHECK(candidates[1].addresses[1].error == "this machine's own address (on eth0)");
  CHECK(candidates[1].addresses[3].error == "this machine's own address (on eth1)");
  CHECK(candidates[2].addresses[0].error == "this machine's own address (on lo)");
  CHECK(candidates[0].addresses[1].error.empty());
  // Not measured, not selected.
  std::vector<std::string> probed;
  for (const auto& address : addresses_to_probe(candidates))
    probed.push_back(address.to_string());
  CHECK(probed == std::vector<std::string>{"185.3.1.1", "185.1.1.1", "185.2.1.1"});
  SelectionPolicy policy;
  policy.have_ipv6 = true;
  CHECK(addresses_of(select_upstreams(candidates, policy)) ==
        std::vector<std::string>{"185.3.1.1", "185.1.1.1", "185.2.1.1"});
  CHECK(candidates[0].addresses[0].error == "this machine's own address (on eth0)");
  // No address of the machine among them: nothing changes.
  CHECK(drop_own_addresses(candidates, {{ip("192.0.2.77"), "eth0"}}).empty());
  CHECK(own_address_error({ip("192.0.2.77"), ""}) == "this machine's own address");
}

TEST_CASE("with no DNS server answering, the catalogue's last known addresses are used",
          "[resolve]") {
  CandidatePlan plan = plan_candidates(zone_for_country("de"), {}, 1);
  std::vector<NameAnswer> answers;
  for (const auto& name : plan.names) {
    answers.push_back(answer(name.c_str(), {}, {}, DnsStatus::timeout, DnsStatus::timeout));
  }
  CHECK(apply_answers(plan, answers) == DnsOutcome::unreachable);
  bool found = false;
  for (const auto& c : plan.candidates) {
    if (c.host != "ntp1.lrz.de") continue;
    found = true;
    REQUIRE(c.addresses.size() == 2);
    CHECK_FALSE(c.addresses[0].fresh);
    CHECK(c.error == "DNS unreachable: last known addresses");
  }
  CHECK(found);
  for (const auto& c : plan.candidates) {
    if (c.source == CandidateSource::pool) CHECK(c.addresses.empty());
  }
}

TEST_CASE("a resolver that answers NXDOMAIN for everything also gets the fallback", "[resolve]") {
  CandidatePlan plan = plan_candidates(zone_for_country("us"), {}, 1);
  std::vector<NameAnswer> answers;
  for (const auto& name : plan.names) {
    answers.push_back(answer(name.c_str(), {}, {}, DnsStatus::nxdomain, DnsStatus::nxdomain));
  }
  CHECK(apply_answers(plan, answers) == DnsOutcome::nothing_resolved);
  for (const auto& c : plan.candidates) {
    if (c.source == CandidateSource::catalogue) {
      CHECK_FALSE(c.addresses.empty());
      CHECK(c.error == "no name resolved: last known addresses");
    }
  }
}

TEST_CASE("selection: lowest delay first, one per /24 and /48, one per named host", "[resolve]") {
  std::vector<Candidate> candidates = {
      named("a.example", CandidateSource::catalogue,
            {measured("203.1.1.1", 9), measured("2a01:1::1", 9)}),
      pool("de", {measured("203.1.1.2", 5), measured("198.200.1.1", 20), measured("185.3.3.3", 7)}),
      pool("de",
           {measured("2a01:1:0:5::1", 6), measured("2a02:2::1", 30), measured("2a03:3::1", 15)}),
  };
  SelectionPolicy policy;
  policy.count = 4;
  policy.have_ipv6 = false;  // no IPv6 here: but measured IPv6 replies still count
  auto selection = select_upstreams(candidates, policy);
  // 203.1.1.2 (5 ms) beats 203.1.1.1 in the same /24; 2a01:1::1 and 2a01:1:0:5::1 share a /48.
  CHECK(addresses_of(selection) ==
        std::vector<std::string>{"203.1.1.2", "2a01:1:0:5::1", "185.3.3.3", "2a03:3::1"});
  CHECK(candidates[0].addresses[0].selected == false);
}

TEST_CASE("selection: equal delays are ranked by stratum, then by jitter", "[resolve]") {
  // measured(address, delay, offset, stratum, jitter), listed worst first.
  std::vector<Candidate> candidates = {
      pool("de", {measured("185.1.1.1", 10, 0, 2, 0.1), measured("185.4.1.1", 10, 0, 2, 0.05),
                  measured("185.2.1.1", 10, 0, 1, 0.5), measured("185.3.1.1", 10, 0, 1, 0.2)})};
  SelectionPolicy policy;
  policy.count = 4;
  policy.have_ipv6 = false;
  // Stratum first (185.4.1.1's lower jitter does not beat a lower stratum), then jitter.
  CHECK(addresses_of(select_upstreams(candidates, policy)) ==
        std::vector<std::string>{"185.3.1.1", "185.2.1.1", "185.4.1.1", "185.1.1.1"});
}

TEST_CASE("selection: a named host counts once even with addresses in different networks",
          "[resolve]") {
  std::vector<Candidate> candidates = {
      named("two.example", CandidateSource::user,
            {measured("185.7.1.1", 5), measured("185.8.1.1", 6)}),
      pool("de", {measured("185.20.1.1", 20), measured("185.21.1.1", 21)}),
      pool("europe", {measured("185.22.1.1", 22), measured("185.23.1.1", 23)}),
  };
  SelectionPolicy policy;
  policy.count = 4;
  policy.have_ipv6 = false;
  // 185.8.1.1 (6 ms) is faster than every pool address but is two.example's second address;
  // a pool zone's name is many servers, so its addresses each count.
  CHECK(addresses_of(select_upstreams(candidates, policy)) ==
        std::vector<std::string>{"185.7.1.1", "185.20.1.1", "185.21.1.1", "185.22.1.1"});
  CHECK(candidates[0].addresses[0].selected);
  CHECK_FALSE(candidates[0].addresses[1].selected);
}

TEST_CASE("selection prefers IPv6 when the machine has it, and keeps one IPv4", "[resolve]") {
  std::vector<Candidate> candidates = {
      pool("de", {measured("185.1.1.1", 2), measured("185.2.2.2", 3)}),
      pool("de", {measured("2a01:1::1", 10), measured("2a02:2::1", 11), measured("2a03:3::1", 12),
                  measured("2a04:4::1", 13), measured("2a05:5::1", 14)}),
  };
  SelectionPolicy policy;
  policy.have_ipv6 = true;
  auto selection = select_upstreams(candidates, policy);
  CHECK(addresses_of(selection) ==
        std::vector<std::string>{"2a01:1::1", "2a02:2::1", "2a03:3::1", "2a04:4::1", "185.1.1.1"});

  // A machine without IPv4 takes none.
  for (auto& c : candidates) {
    for (auto& a : c.addresses)
      a.selected = false, a.error.clear();
  }
  policy.have_ipv4 = false;
  policy.count = 4;
  CHECK(addresses_of(select_upstreams(candidates, policy)) ==
        std::vector<std::string>{"2a01:1::1", "2a02:2::1", "2a03:3::1", "2a04:4::1"});
  CHECK(candidates[0].addresses[0].error == "no IPv4 on this machine");
}

TEST_CASE("selection rejects high strata, falsetickers, unmeasured and special addresses",
          "[resolve]") {
  std::vector<Candidate> candidates = {
      pool("de", {measured("185.1.1.1", 10, 0.5), measured("185.2.1.1", 10, -0.3),
                  measured("185.3.1.1", 10, 0.1), measured("185.4.1.1", 10, 400.0),
                  measured("185.5.1.1", 1, 0.0, 4), CandidateAddress{ip("185.6.1.1")},
                  measured("10.0.0.1", 1), measured("2001:db8::1", 1)})};
  auto selection = select_upstreams(candidates, SelectionPolicy{});
  CHECK(addresses_of(selection) == std::vector<std::string>{"185.1.1.1", "185.2.1.1", "185.3.1.1"});
  const auto& a = candidates[0].addresses;
  CHECK(a[3].error == "falseticker: +399.7 ms from the median of the others");
  CHECK(a[4].error == "stratum 4 (at most 3 keeps this server at stratum 4)");
  CHECK(a[5].error == "not measured");
  CHECK(a[6].error == "private (RFC 1918) address");
  CHECK(a[7].error == "documentation address");
}

TEST_CASE("unmeasured selection ranks the operator's, then the catalogue, then the nearest zone",
          "[resolve]") {
  std::vector<Candidate> candidates = {
      named("mine.example", CandidateSource::user, {CandidateAddress{ip("185.9.9.9")}}),
      named("ptb.example", CandidateSource::catalogue, {CandidateAddress{ip("192.53.103.108")}}),
      pool("europe", {CandidateAddress{ip("185.20.0.1")}}),
      pool("de", {CandidateAddress{ip("185.10.0.1")}, CandidateAddress{ip("2a01:10::1")}}),
  };
  SelectionPolicy policy;
  policy.measured = false;
  policy.count = 4;
  CHECK(addresses_of(select_upstreams(candidates, policy)) ==
        std::vector<std::string>{"185.9.9.9", "192.53.103.108", "185.10.0.1", "185.20.0.1"});
  CHECK(candidates[3].addresses[1].error == "no global IPv6 on this machine");
}

TEST_CASE("probe reports become measurements or reasons", "[resolve]") {
  std::vector<Candidate> candidates = {
      pool("de", {CandidateAddress{ip("185.1.1.1")}, CandidateAddress{ip("185.2.2.2")},
                  CandidateAddress{ip("185.3.3.3")}, CandidateAddress{ip("10.0.0.1")}})};
  CHECK(addresses_to_probe(candidates) ==
        std::vector<IpAddress>{ip("185.1.1.1"), ip("185.2.2.2"), ip("185.3.3.3")});
  ProbeReport good;
  good.target.address = ip("185.1.1.1");
  good.valid = 3;
  good.best.fault = NtpFault::none;
  good.best.delay_s = 0.012;
  good.best.offset_s = -0.0005;
  good.best.stratum = 2;
  good.jitter_s = 0.0002;
  ProbeReport kiss;
  kiss.target.address = ip("185.2.2.2");
  kiss.best.fault = NtpFault::kiss_of_death;
  kiss.best.kiss = "DENY";
  ProbeReport silent;
  silent.target.address = ip("185.3.3.3");
  silent.best.fault = NtpFault::no_reply;
  apply_measurements(candidates, {silent, kiss, good});
  const auto& a = candidates[0].addresses;
  REQUIRE(a[0].measurement);
  CHECK(a[0].measurement->delay_ms == Approx(12.0));
  CHECK(a[0].measurement->offset_ms == Approx(-0.5));
  CHECK(a[0].measurement->jitter_ms == Approx(0.2));
  CHECK(a[0].measurement->stratum == 2);
  CHECK(a[1].error == "kiss-o'-death DENY");
  CHECK(a[2].error == "no reply");
  CHECK_FALSE(a[3].measurement);
}

TEST_CASE(
    "an operator's server on the local network is probed and selected; the pool's and the "
    "catalogue's private addresses are not",
    "[resolve]") {
  std::vector<Candidate> candidates = {
      named("192.168.1.10", CandidateSource::user, {measured("192.168.1.10", 0.3)}),
      named("gps.lan", CandidateSource::user, {measured("fd00::10", 0.4)}),
      named("127.0.0.2", CandidateSource::user, {measured("127.0.0.2", 0.1)}),
      named("ptb.example", CandidateSource::catalogue, {measured("10.1.1.1", 0.2)}),
      pool("de", {measured("185.1.1.1", 10), measured("172.16.0.1", 0.2), measured("185.2.1.1", 11),
                  measured("185.3.1.1", 12)})};
  CHECK(operator_local(candidates[0], candidates[0].addresses[0]));
  CHECK(operator_local(candidates[1], candidates[1].addresses[0]));
  CHECK_FALSE(operator_local(candidates[2], candidates[2].addresses[0]));  // loopback
  CHECK_FALSE(operator_local(candidates[3], candidates[3].addresses[0]));
  CHECK_FALSE(operator_local(candidates[4], candidates[4].addresses[1]));
  CHECK(addresses_to_probe(candidates) == std::vector<IpAddress>{ip("192.168.1.10"), ip("fd00::10"),
                                                                 ip("185.1.1.1"), ip("185.2.1.1"),
                                                                 ip("185.3.1.1")});
  SelectionPolicy policy;
  policy.have_ipv6 = true;
  policy.count = 5;
  auto selection = select_upstreams(candidates, policy);
  CHECK(addresses_of(selection) == std::vector<std::string>{"fd00::10", "192.168.1.10", "185.1.1.1",
                                                            "185.2.1.1", "185.3.1.1"});
  CHECK(candidates[2].addresses[0].error == "loopback address");
  CHECK(candidates[3].addresses[0].error == "private (RFC 1918) address");
  CHECK(candidates[4].addresses[1].error == "private (RFC 1918) address");
}
