// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/check.hpp"

#include <algorithm>
#include <optional>

#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

AddressCheck address(const char* ip, NtpSample best, int samples = 3, int valid = 3) {
  AddressCheck a;
  a.ntp.target = {*IpAddress::parse(ip), 123, ""};
  a.ntp.best = best;
  for (int i = 0; i < samples; ++i) {
    NtpSample s = best;
    if (i >= valid) s.fault = NtpFault::no_reply;
    a.ntp.samples.push_back(s);
  }
  a.ntp.valid = best.valid() ? valid : 0;
  a.step = score_step(best);
  a.predicted = converged_score(a.step);
  a.submittable = best.valid() && submittable_stratum(best.stratum);
  return a;
}

NtpSample good(double offset_s = 0.0005, int stratum = 3) {
  NtpSample s;
  s.fault = NtpFault::none;
  s.offset_s = offset_s;
  s.delay_s = 0.02;
  s.stratum = static_cast<std::uint8_t>(stratum);
  s.refid = "192.0.2.1";
  return s;
}

NtpSample bad(NtpFault fault, std::string kiss = {}) {
  NtpSample s;
  s.fault = fault;
  s.kiss = std::move(kiss);
  return s;
}

DaemonReport synced_ntpsec() {
  DaemonState state;
  state.leap = Leap::none;
  state.stratum = 3;
  state.refid = "192.0.2.1";
  DaemonReport report{"ntpsec", true, true, state, {}, std::vector<UpstreamHealth>{}, {}};
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}) {
    UpstreamHealth u;
    u.address = ip;
    u.stratum = 2;
    u.reach = 0377;
    u.state = report.upstreams->empty() ? UpstreamState::selected : UpstreamState::candidate;
    u.offset_ms = 0.1;
    u.jitter_ms = 0.05;
    report.upstreams->push_back(u);
  }
  return report;
}

ProbeReport reference(const char* ip, double offset_s, double delay_s = 0.02) {
  ProbeReport r;
  r.target = {*IpAddress::parse(ip), 123, "upstream"};
  r.best = good(offset_s, 2);
  r.best.delay_s = delay_s;
  r.samples = {r.best};
  r.valid = 1;
  return r;
}

// A copy, so that it may be taken from the temporary diagnose() returns.
std::optional<Finding> find(const std::vector<Finding>& findings, std::string_view id) {
  auto it =
      std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.id == id; });
  return it == findings.end() ? std::nullopt : std::optional<Finding>(*it);
}

}  // namespace

TEST_CASE("a healthy server has only ok findings, and what it cannot see is said", "[check]") {
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  facts.addresses.push_back(address("193.0.0.1", good()));
  facts.addresses.back().mode6 = Exposure{};
  facts.addresses.back().monlist = Exposure{};
  auto findings = diagnose(facts);
  // Its own probes went over loopback: reachability from outside is a warning, never a pass.
  CHECK(worst(findings) == Severity::warn);
  int warnings = 0;
  for (const auto& f : findings)
    warnings += f.severity == Severity::warn;
  CHECK(warnings == 1);
  REQUIRE(find(findings, "reach.outside"));
  CHECK(find(findings, "reach.outside")->severity == Severity::warn);
  CHECK_THAT(find(findings, "reach.outside")->message, Catch::Contains("went over loopback"));
  CHECK(find(findings, "reach.outside")->fix ==
        "from another machine: `pooljoin check --server ADDRESS` (or `ntpdig ADDRESS`)");
  // Checking another server from here is the check from outside.
  facts.local = false;
  CHECK_FALSE(find(diagnose(facts), "reach.outside"));
  facts.local = true;
  REQUIRE(find(findings, "daemon.synchronized"));
  REQUIRE(find(findings, "address.ok"));
  CHECK(find(findings, "address.ok")->message.find("handed out after 14 checks") !=
        std::string::npos);
  CHECK(find(findings, "security.mode6")->severity == Severity::ok);
  CHECK(find(findings, "security.monlist")->severity == Severity::ok);
}

TEST_CASE("the daemon's state: missing, stopped, silent, unsynchronised", "[check]") {
  CheckFacts facts;
  facts.daemon = DaemonReport{};
  CHECK(find(diagnose(facts), "daemon.not-installed")->severity == Severity::fail);
  facts.daemon = DaemonReport{"ntpsec", true, false, std::nullopt, {}, std::nullopt, {}};
  CHECK(find(diagnose(facts), "daemon.not-running")->fix.find("service ntpsec start") !=
        std::string::npos);
  facts.daemon = DaemonReport{"ntpsec", true, true, std::nullopt, "no answer", std::nullopt, {}};
  auto silent = find(diagnose(facts), "daemon.no-state");
  REQUIRE(silent);
  CHECK(silent->fix.find("restrict 127.0.0.1") != std::string::npos);
  facts.daemon = synced_ntpsec();
  facts.daemon->state->leap = Leap::unsynchronized;
  facts.daemon->state->stratum = 16;
  auto unsynced = find(diagnose(facts), "daemon.unsynchronized");
  REQUIRE(unsynced);
  CHECK(unsynced->severity == Severity::fail);
  CHECK(unsynced->fix.find("--wait") != std::string::npos);
  facts.daemon = synced_ntpsec();
  facts.daemon->state->offset_ms = 40;
  CHECK(find(diagnose(facts), "daemon.offset")->severity == Severity::warn);
  // No daemon section for --server.
  facts.local = false;
  CHECK_FALSE(find(diagnose(facts), "daemon.synchronized"));
}

TEST_CASE("each fault of an address is its own failure with a fix", "[check]") {
  struct Row {
    NtpSample best;
    const char* id;
  };
  const Row rows[] = {
      {bad(NtpFault::no_reply), "address.no-reply"},
      {bad(NtpFault::refused), "address.refused"},
      {bad(NtpFault::network_error), "address.network-error"},
      {bad(NtpFault::kiss_of_death, "RATE"), "address.kod-rate"},
      {bad(NtpFault::kiss_of_death, "DENY"), "address.kod-deny"},
      {bad(NtpFault::kiss_of_death, "RSTR"), "address.kod-deny"},
      {bad(NtpFault::kiss_of_death, "STEP"), "address.kod"},
      {bad(NtpFault::unsynchronized, "INIT"), "address.unsynchronized"},
      {bad(NtpFault::wrong_origin), "address.bad-reply"},
      {bad(NtpFault::truncated), "address.bad-reply"},
      {bad(NtpFault::wrong_mode), "address.bad-reply"},
      {good(0.3), "address.score"},
      {good(0.0, 6), "address.stratum"},
  };
  for (const auto& row : rows) {
    INFO(row.id);
    CheckFacts facts;
    facts.local = false;
    facts.addresses.push_back(address("193.0.0.1", row.best));
    auto findings = diagnose(facts);
    auto f = find(findings, row.id);
    REQUIRE(f);
    CHECK(f->severity == Severity::fail);
    CHECK_FALSE(f->fix.empty());
    CHECK(f->message.rfind("193.0.0.1: ", 0) == 0);
    CHECK(worst(findings) == Severity::fail);
  }
}

TEST_CASE("an offset that still gets served is a warning and so are lost replies", "[check]") {
  CheckFacts facts;
  facts.local = false;
  facts.addresses.push_back(address("193.0.0.1", good(0.05)));  // step 0.83: settles at 16.7
  auto findings = diagnose(facts);
  CHECK(find(findings, "address.score")->severity == Severity::warn);
  CHECK(find(findings, "address.score")->message.find("settles at 16.7") != std::string::npos);
  facts.addresses[0] = address("193.0.0.1", good(), 3, 2);
  findings = diagnose(facts);
  CHECK(find(findings, "address.lost-replies")->severity == Severity::warn);
  CHECK(worst(findings) == Severity::warn);
}

TEST_CASE("the submission rule is 0 < stratum < 6", "[check]") {
  CHECK_FALSE(submittable_stratum(0));
  CHECK(submittable_stratum(1));
  CHECK(submittable_stratum(5));
  CHECK_FALSE(submittable_stratum(6));
  CHECK_FALSE(submittable_stratum(16));
}

TEST_CASE("answered mode 6 and monlist probes fail with the line that fixes them", "[check]") {
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  facts.addresses.push_back(address("193.0.0.1", good()));
  facts.addresses.back().mode6 = Exposure{true, 12, 2, 600, false};
  facts.addresses.back().monlist = Exposure{true, 48, 1, 440, true};
  auto findings = diagnose(facts);
  auto mode6 = find(findings, "security.mode6");
  REQUIRE(mode6);
  CHECK(mode6->severity == Severity::fail);
  CHECK(mode6->fix.find("restrict default kod limited nomodify notrap nopeer noquery") !=
        std::string::npos);
  auto monlist = find(findings, "security.monlist");
  CHECK(monlist->severity == Severity::fail);
  CHECK(monlist->message.find("CVE-2013-5211") != std::string::npos);
  // A mode 7 error reply is no amplifier, but mode 7 should still be closed.
  facts.addresses.back().monlist = Exposure{true, 48, 1, 8, false};
  auto error_only = find(diagnose(facts), "security.monlist");
  REQUIRE(error_only);
  CHECK(error_only->severity == Severity::warn);
  CHECK(error_only->message.find("without monitor data (8 bytes)") != std::string::npos);
  CHECK(error_only->fix.find("noquery") != std::string::npos);
}

TEST_CASE("no global address: say how to check from outside", "[check]") {
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  facts.only_private_addresses = true;
  auto none = find(diagnose(facts), "address.none");
  REQUIRE(none);
  CHECK(none->severity == Severity::warn);
  CHECK(none->message.find("1:1 NAT") != std::string::npos);
  CHECK(none->fix.find("--server") != std::string::npos);
}

TEST_CASE("server values become targets and bad ones are usage errors", "[check]") {
  auto targets = server_targets({"192.0.2.1", "192.0.2.2:1123", "[2001:db8::1]:4123", "::1"});
  REQUIRE(targets);
  REQUIRE(targets->size() == 4);
  CHECK((*targets)[0].endpoint() == "192.0.2.1:123");
  CHECK((*targets)[1].endpoint() == "192.0.2.2:1123");
  CHECK((*targets)[2].endpoint() == "[2001:db8::1]:4123");
  CHECK((*targets)[3].endpoint() == "[::1]:123");
  auto localhost = server_targets({"localhost:999"});
  REQUIRE(localhost);
  REQUIRE_FALSE(localhost->empty());
  CHECK(localhost->front().port == 999);
  auto bad_value = server_targets({"host:99999"});
  REQUIRE_FALSE(bad_value);
  CHECK(bad_value.error().code == ExitCode::usage);
  CHECK(bad_value.error().message().find("--server") != std::string::npos);
}

TEST_CASE("the host firewall's judgement is a finding of its own, with the front-end's fix",
          "[check][firewall]") {
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  facts.addresses.push_back(address("193.0.0.1", good()));
  FirewallVerdict verdict;
  Judgement closed;
  closed.reach = Reach::closed;
  closed.deciding = RuleRef{FirewallTool::firewalld, "inet firewalld", "filter_IN_public",
                            "filter_INPUT", "reject with icmpx admin-prohibited"};
  verdict.addresses.push_back({LocalAddress{*IpAddress::parse("193.0.0.1"), "eth0"}, closed});
  facts.firewall = verdict;
  facts.firewall_fix = "firewall-cmd --zone=public --add-service=ntp";
  auto findings = diagnose(facts);
  auto f = find(findings, "firewall.closed");
  REQUIRE(f);
  CHECK(f->severity == Severity::fail);
  CHECK(f->message ==
        "193.0.0.1: the host firewall drops UDP 123 from outside: table inet firewalld, chain "
        "filter_IN_public: reject with icmpx admin-prohibited (the probe above went over loopback, "
        "which it lets through)");
  CHECK(f->fix == "open it: `firewall-cmd --zone=public --add-service=ntp`");
  // Never a raw iptables line in the advice for a closed port.
  auto silent = address("193.0.0.1", good());
  silent.ntp.best.fault = NtpFault::no_reply;
  facts.addresses = {silent};
  auto no_reply = find(diagnose(facts), "address.no-reply");
  REQUIRE(no_reply);
  CHECK_THAT(no_reply->fix, Catch::Contains("`firewall-cmd --zone=public --add-service=ntp`"));
  CHECK_THAT(no_reply->fix, !Catch::Contains("iptables"));
  // Unknown is a warning naming what could not be judged.
  verdict.addresses.front().judgement = Judgement{Reach::unknown, {}, "a mark"};
  facts.firewall = verdict;
  auto unknown = find(diagnose(facts), "firewall.unknown");
  REQUIRE(unknown);
  CHECK(unknown->severity == Severity::warn);
  CHECK_THAT(unknown->message, Catch::EndsWith("a mark"));
}

TEST_CASE("the clock: the monitors see the served time against true time, not against itself",
          "[check][clock]") {
  // ntpd that cannot set the clock (no CAP_SYS_TIME) serves the system clock: its own probe
  // says 0, three references say the clock is 500 ms behind.
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  facts.addresses.push_back(address("193.0.0.1", good(0.0002)));
  REQUIRE(facts.addresses.back().predicted > 19.5);
  facts.clock = estimate_clock(
      ReferenceSource::daemon,
      {reference("192.0.2.1", 0.5), reference("192.0.2.2", 0.501), reference("192.0.2.3", 0.499)},
      0.0, "ntpsec");
  REQUIRE(facts.clock->reference_offset_ms);
  CHECK(*facts.clock->reference_offset_ms == Approx(500));
  apply_clock(facts.addresses, *facts.clock);
  const AddressCheck& a = facts.addresses.back();
  REQUIRE(a.seen_offset_s);
  CHECK(*a.seen_offset_s == Approx(-0.4998));
  CHECK(a.step.reason == "offset 100-750 ms");
  CHECK(a.predicted < kPoolServingScore);
  auto findings = diagnose(facts);
  REQUIRE(find(findings, "clock.offset"));
  CHECK(find(findings, "clock.offset")->severity == Severity::fail);
  CHECK_THAT(find(findings, "clock.offset")->message,
             Catch::Contains("-499.800 ms from true time") &&
                 Catch::Contains("3 of 3 references (the daemon's upstreams)"));
  CHECK(find(findings, "address.score")->severity == Severity::fail);
  CHECK_THAT(find(findings, "address.score")->message,
             Catch::Contains("-499.800 ms as the monitors will see it"));

  // chronyd -x keeps the system clock but serves its corrected time: its own probe says
  // +500 ms, and so do the references: the monitors see it right.
  facts.addresses = {address("193.0.0.1", good(0.5001))};
  apply_clock(facts.addresses, *facts.clock);
  CHECK(*facts.addresses.back().seen_offset_s == Approx(0.0001));
  CHECK(facts.addresses.back().predicted > 19.5);
  CHECK(find(diagnose(facts), "clock.offset")->severity == Severity::ok);

  // 40 ms: costs score, a warning.
  facts.addresses = {address("193.0.0.1", good(0.540))};
  apply_clock(facts.addresses, *facts.clock);
  CHECK(find(diagnose(facts), "clock.offset")->severity == Severity::warn);
}

TEST_CASE(
    "the clock: a falseticker among the references is left out; too few fall back to the "
    "daemon's own estimate, said so",
    "[check][clock]") {
  auto clock = estimate_clock(ReferenceSource::option,
                              {reference("192.0.2.1", 0.010), reference("192.0.2.2", 0.011),
                               reference("192.0.2.3", 0.009), reference("192.0.2.4", 2.0)});
  REQUIRE(clock.reference_offset_ms);
  CHECK(*clock.reference_offset_ms == Approx(10));
  CHECK(clock.counted() == 3);
  CHECK_THAT(clock.references[3].rejected, Catch::StartsWith("falseticker: +1989.5 ms"));

  ProbeReport silent;
  silent.target = {*IpAddress::parse("192.0.2.9"), 123, ""};
  silent.best = bad(NtpFault::no_reply);
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  facts.addresses.push_back(address("193.0.0.1", good(0.0001)));
  facts.clock = estimate_clock(ReferenceSource::selection,
                               {reference("192.0.2.1", 0.2), reference("192.0.2.2", 0.2), silent},
                               -150.0, "ntpsec");
  CHECK_FALSE(facts.clock->reference_offset_ms);
  CHECK_THAT(facts.clock->references[2].rejected, Catch::StartsWith("no valid reply"));
  apply_clock(facts.addresses, *facts.clock);
  // ntpq's offset -150 ms: true time is 150 ms behind the served time.
  CHECK(*facts.addresses.back().seen_offset_s == Approx(0.150));
  auto findings = diagnose(facts);
  REQUIRE(find(findings, "clock.references"));
  CHECK(find(findings, "clock.references")->severity == Severity::warn);
  CHECK_THAT(find(findings, "clock.references")->message,
             Catch::Contains("2 of 3 references (the servers resolve chose)") &&
                 Catch::Contains("ntpsec's own estimate, +150.000 ms"));
  CHECK_FALSE(find(findings, "clock.offset"));

  // Nothing at all to go by: said, and the prediction stays the machine's own.
  facts.addresses = {address("193.0.0.1", good(0.0001))};
  facts.clock = estimate_clock(ReferenceSource::none, {});
  apply_clock(facts.addresses, *facts.clock);
  CHECK_FALSE(facts.addresses.back().seen_offset_s);
  CHECK_THAT(find(diagnose(facts), "clock.references")->message, Catch::Contains("is not known"));
}

TEST_CASE("upstream health: none, none reachable, fewer than 4 usable, enough", "[check]") {
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  CHECK(find(diagnose(facts), "upstreams")->severity == Severity::ok);
  auto& upstreams = *facts.daemon->upstreams;
  upstreams[3].state = UpstreamState::falseticker;
  auto few = find(diagnose(facts), "upstreams.few");
  REQUIRE(few);
  CHECK(few->severity == Severity::warn);
  CHECK_THAT(few->message, Catch::Contains("only 3 of ntpsec's upstreams are usable") &&
                               Catch::Contains("not usable: 192.0.2.4 (falseticker, reach 377)"));
  for (auto& u : upstreams) {
    u.reach = 0;
    u.state = UpstreamState::unreachable;
  }
  auto none = find(diagnose(facts), "upstreams.unreachable");
  REQUIRE(none);
  CHECK(none->severity == Severity::fail);
  CHECK_THAT(none->message, Catch::Contains("none of ntpsec's 4 upstreams is usable"));
  upstreams.clear();
  CHECK(find(diagnose(facts), "upstreams.none")->severity == Severity::fail);
  facts.daemon->upstreams.reset();
  facts.daemon->upstreams_error = "no answer";
  CHECK(find(diagnose(facts), "upstreams.unknown")->severity == Severity::warn);
}

TEST_CASE("a dynamic address of this machine is a warning; another server's is not judged",
          "[check]") {
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  facts.addresses = {address("185.255.0.5", good()), address("185.255.0.6", good())};
  LocalAddress leased{*IpAddress::parse("185.255.0.5"), "eth0"};
  leased.lifetime = AddressLifetime{3600, 3600, false};
  LocalAddress fixed{*IpAddress::parse("185.255.0.6"), "eth0"};
  fixed.lifetime = AddressLifetime{};
  facts.local_addresses = {leased, fixed};
  auto findings = diagnose(facts);
  auto dynamic = find(findings, "address.dynamic");
  REQUIRE(dynamic);
  CHECK(dynamic->severity == Severity::warn);
  CHECK_THAT(dynamic->message, Catch::StartsWith("185.255.0.5 on eth0 is dynamic"));
  CHECK(std::count_if(findings.begin(), findings.end(),
                      [](const Finding& f) { return f.id == "address.dynamic"; }) == 1);
  // After the addresses' own findings, before the firewall's.
  auto at = [&](std::string_view id) {
    return std::find_if(findings.begin(), findings.end(),
                        [&](const Finding& f) { return f.id == id; }) -
           findings.begin();
  };
  CHECK(at("address.ok") < at("address.dynamic"));
  // --server: another machine, whose lifetimes cannot be seen from here.
  facts.local = false;
  CHECK_FALSE(find(diagnose(facts), "address.dynamic"));
}

TEST_CASE("the leap-second list the live config names: stale is a warning with the fix",
          "[check][leap]") {
  CheckFacts facts;
  facts.daemon = synced_ntpsec();
  facts.lint = LiveConfigLint{Daemon::ntpsec, "/etc/ntpsec/ntp.conf", {}};
  facts.package_manager = "apt-get";
  facts.leap_list =
      LeapList{"/usr/share/zoneinfo/leap-seconds.list", LeapListState::expired,
               std::chrono::system_clock::time_point(std::chrono::seconds(1782604800))};
  auto expired = find(diagnose(facts), "leap.expired");
  REQUIRE(expired);
  CHECK(expired->severity == Severity::warn);
  CHECK(expired->message ==
        "/usr/share/zoneinfo/leap-seconds.list, the leap-second list ntpsec reads, expired on "
        "2026-06-28: a leap second announced since is not in it, and ntpsec logs that the list "
        "needs an update");
  CHECK_THAT(expired->fix, Catch::Contains("`apt-get install --only-upgrade tzdata`"));
  facts.leap_list->state = LeapListState::valid;
  auto ok = find(diagnose(facts), "leap.ok");
  REQUIRE(ok);
  CHECK(ok->severity == Severity::ok);
  // No list named (chrony's leapsectz, or no line), or another machine: nothing said.
  facts.leap_list.reset();
  for (const auto& f : diagnose(facts))
    CHECK(f.id.rfind("leap.", 0) != 0);
  facts.leap_list = LeapList{"/x", LeapListState::missing, std::nullopt};
  facts.local = false;
  for (const auto& f : diagnose(facts))
    CHECK(f.id.rfind("leap.", 0) != 0);
}
