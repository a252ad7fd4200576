// SPDX-License-Identifier: Apache-2.0
// The steps' plans and outcomes on the fake effects: resolve's survey (DNS and NTP answered from
// tables) and gen-conf's plan and apply on an image.
#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/gen_conf.hpp"
#include "pooljoin/resolve.hpp"

using namespace pooljoin;

namespace {

const std::string kDebian12 =
    "/etc/os-release=ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n";

SystemFacts facts_of(const RootedFs& fs) {
  test::FakeRunner runner;
  return detect(fs, runner);
}

NameAnswer v4(std::vector<std::string> addresses) {
  NameAnswer answer;
  answer.a.status = DnsStatus::ok;
  answer.aaaa.status = DnsStatus::nodata;
  for (const auto& a : addresses)
    answer.a.addresses.push_back(*IpAddress::parse(a));
  return answer;
}

// Every probed server answers at stratum 2, with the delay its third octet gives, in ms.
void answer_every_probe(test::FakeEffects& fx) {
  fx.ntp.answer = [](const std::vector<ProbeTarget>& targets, const ProbeOptions& options,
                     const std::vector<QueryRequest>&) -> Result<ProbeBatch> {
    ProbeBatch batch;
    for (const auto& target : targets) {
      ProbeReport report;
      report.target = target;
      NtpSample sample;
      sample.fault = NtpFault::none;
      sample.stratum = 2;
      sample.delay_s = 0.001 * target.address.bytes()[2];
      report.samples.assign(static_cast<std::size_t>(options.samples), sample);
      report.best = sample;
      report.valid = options.samples;
      batch.probes.push_back(report);
    }
    return batch;
  };
}

ResolveRequest german(int servers = 5) {
  ResolveRequest request;
  request.country = "de";
  request.servers = servers;
  request.sources.catalogue = false;
  return request;
}

}  // namespace

TEST_CASE("resolve: the survey looks up, measures and selects through the effects", "[steps]") {
  auto root = test::image({kDebian12});
  test::FakeEffects fx(root->path());
  fx.dns.table["0.de.pool.ntp.org"] = v4({"185.255.30.1", "185.255.31.1"});
  fx.dns.table["1.de.pool.ntp.org"] = v4({"185.255.20.1", "185.255.21.1"});
  fx.dns.table["2.de.pool.ntp.org"] = v4({"185.255.10.1"});
  fx.dns.table["0.europe.pool.ntp.org"] = v4({"185.255.40.1", "185.255.10.9"});
  answer_every_probe(fx);
  const auto facts = facts_of(fx.fs());
  auto plan = plan_resolve(facts, fx.fs(), german());
  REQUIRE(plan);
  CHECK(plan->zone_names() == "de.pool.ntp.org, europe.pool.ntp.org");
  // Each zone name twice (the pool's answers rotate), nothing looked up yet.
  CHECK(plan->candidates.names.size() == 16);
  CHECK(fx.dns.lookups == 0);

  std::vector<std::string> notes;
  StepEvents events;
  events.note = [&](const std::string& text) { notes.push_back(text); };
  auto survey = survey_resolve(*plan, fx.effects(), events);
  REQUIRE(survey);
  CHECK(fx.dns.lookups == 1);
  CHECK(fx.ntp.exchanges == 1);
  CHECK(survey->probed == 7);
  REQUIRE(survey->usable());
  // Nearest first, one per /24: 185.255.10.9 shares 185.255.10.1's network.
  std::vector<std::string> chosen;
  for (const auto& s : survey->selection.servers)
    chosen.push_back(s.address.to_string());
  CHECK(chosen == std::vector<std::string>{"185.255.10.1", "185.255.20.1", "185.255.21.1",
                                           "185.255.30.1", "185.255.31.1"});
  CHECK(survey->selection.country == "de");
  CHECK(survey->selection.created == "2026-11-26T03:22:43Z");  // the fake clock's time
  REQUIRE(notes.size() == 2);
  CHECK(notes[1] == "measuring 7 addresses over NTP (3 samples, 2 s apart)");

  // Nothing is saved until apply.
  CHECK_FALSE(std::filesystem::exists(root->path() / "var/lib/pooljoin/selection.json"));
  auto saved = apply_resolve(*survey, fx.effects());
  REQUIRE(saved);
  auto loaded = load_selection(fx.fs());
  REQUIRE(loaded);
  REQUIRE(*loaded);
  CHECK((*loaded)->servers == survey->selection.servers);
}

TEST_CASE("resolve: the machine's own addresses are left out before anything is measured",
          "[steps]") {
  auto root = test::image({kDebian12});
  test::FakeEffects fx(root->path());
  fx.dns.table["0.de.pool.ntp.org"] = v4({"185.255.30.1", "185.255.0.7"});
  fx.dns.table["1.de.pool.ntp.org"] = v4({"185.255.20.1", "10.0.0.7"});
  fx.dns.table["2.de.pool.ntp.org"] = v4({"185.255.10.1"});
  fx.dns.table["3.de.pool.ntp.org"] = v4({"185.255.40.1"});
  answer_every_probe(fx);
  SystemFacts facts = facts_of(fx.fs());
  facts.addresses = {{*IpAddress::parse("185.255.0.7"), "eth0"}};
  facts.excluded = {{*IpAddress::parse("10.0.0.7"), "eth1", Exclusion::not_global}};
  auto plan = plan_resolve(facts, fx.fs(), german(4));
  REQUIRE(plan);
  auto survey = survey_resolve(*plan, fx.effects());
  REQUIRE(survey);
  for (const auto& probed : fx.ntp.probed) {
    CHECK(probed.address.to_string() != "185.255.0.7");
    CHECK(probed.address.to_string() != "10.0.0.7");
  }
  CHECK(survey->probed == 4);
  REQUIRE(survey->own.size() == 2);
  CHECK(survey->own[0].local.address.to_string() == "185.255.0.7");
  CHECK(survey->own[1].hosts == std::vector<std::string>{"1.de.pool.ntp.org"});
  REQUIRE(survey->notes.size() == 2);
  CHECK(survey->notes[0] ==
        "left out 185.255.0.7 (given by 0.de.pool.ntp.org): this machine's own address (on eth0); "
        "a server is never its own upstream");
  CHECK(survey->selection.servers.size() == 4);
  for (const auto& server : survey->selection.servers)
    CHECK(server.address.to_string() != "185.255.0.7");
}

TEST_CASE("resolve: silence over NTP fails a real run, and a dry run selects unmeasured",
          "[steps]") {
  auto root = test::image({kDebian12});
  test::FakeEffects fx(root->path());
  for (int i = 0; i < 4; ++i)
    fx.dns.table[std::to_string(i) + ".de.pool.ntp.org"] =
        v4({"185.255." + std::to_string(50 + i) + ".1"});
  const auto facts = facts_of(fx.fs());
  auto plan = plan_resolve(facts, fx.fs(), german(4));
  REQUIRE(plan);
  auto silent = survey_resolve(*plan, fx.effects());
  REQUIRE_FALSE(silent);
  CHECK(silent.error().code == ExitCode::unavailable);
  CHECK(silent.error().what == "none of the 4 candidate addresses answered over NTP");
  // The silent probes' timeouts passed on the fake clock only.
  CHECK(fx.clock.mono.time_since_epoch() == std::chrono::seconds(9));

  ResolveRequest dry = german(4);
  dry.unmeasured_if_silent = true;
  plan = plan_resolve(facts, fx.fs(), dry);
  REQUIRE(plan);
  auto unmeasured = survey_resolve(*plan, fx.effects());
  REQUIRE(unmeasured);
  CHECK_FALSE(unmeasured->measured);
  CHECK(unmeasured->selection.servers.size() == 4);
  REQUIRE_FALSE(unmeasured->warnings.empty());
  CHECK_THAT(unmeasured->warnings.back(), Catch::Contains("the dry run selects them unmeasured"));
}

TEST_CASE("resolve: offline, a dry run plans with the catalogue unmeasured; a real run does not",
          "[steps]") {
  auto root = test::image({kDebian12});
  test::FakeEffects fx(root->path());
  // No route: every lookup times out (the fake's answer to a name it has no table entry for).
  SystemFacts facts = facts_of(fx.fs());
  facts.addresses.clear();
  facts.excluded = {{*IpAddress::parse("127.0.0.1"), "lo", Exclusion::not_global}};
  ResolveRequest dry;
  dry.country = "de";
  dry.unmeasured_if_silent = true;
  auto plan = plan_resolve(facts, fx.fs(), dry);
  REQUIRE(plan);
  CHECK(plan->offline);
  CHECK_FALSE(plan->probe);
  auto survey = survey_resolve(*plan, fx.effects());
  REQUIRE(survey);
  CHECK(fx.ntp.exchanges == 0);  // nothing is sent where nothing can go
  CHECK_FALSE(survey->measured);
  REQUIRE(survey->usable());
  CHECK(survey->selection.servers.size() == static_cast<std::size_t>(kDefaultUpstreams));
  for (const auto& server : survey->selection.servers)
    CHECK(server.address.is_v4());
  std::string warnings;
  for (const auto& w : survey->warnings)
    warnings += w + "\n";
  CHECK_THAT(warnings, Catch::Contains("no route out") &&
                           Catch::Contains("the catalogue's IPv4 addresses, unmeasured"));

  // A real run is not planned offline: it probes and names the cause.
  ResolveRequest real = dry;
  real.unmeasured_if_silent = false;
  plan = plan_resolve(facts, fx.fs(), real);
  REQUIRE(plan);
  CHECK_FALSE(plan->offline);
  CHECK(plan->probe);
}

TEST_CASE("resolve: too few servers is not an error until the selection is used", "[steps]") {
  auto root = test::image({kDebian12});
  test::FakeEffects fx(root->path());
  fx.dns.table["0.de.pool.ntp.org"] = v4({"185.255.60.1", "185.255.61.1"});
  answer_every_probe(fx);
  auto plan = plan_resolve(facts_of(fx.fs()), fx.fs(), german());
  REQUIRE(plan);
  auto survey = survey_resolve(*plan, fx.effects());
  REQUIRE(survey);  // the table is still there to show
  CHECK(survey->selection.servers.size() == 2);
  auto usable = survey->usable();
  REQUIRE_FALSE(usable);
  CHECK(usable.error().what ==
        "only 2 usable upstream servers found; the pool asks for at least 4");
  REQUIRE_FALSE(apply_resolve(*survey, fx.effects()));
  CHECK_FALSE(std::filesystem::exists(root->path() / "var/lib/pooljoin/selection.json"));
  // A country that is not one is refused before anything is looked up.
  ResolveRequest bad = german();
  bad.country = "xx";
  auto refused = plan_resolve(facts_of(fx.fs()), fx.fs(), bad);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ExitCode::usage);
  CHECK(fx.dns.lookups == 1);
}

TEST_CASE("gen-conf: the plan is the text, the file it replaces and the diff", "[steps]") {
  auto root = test::image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen",
                           "/etc/ntpsec/ntp.conf=pool 0.debian.pool.ntp.org iburst\n"});
  test::FakeEffects fx(root->path());
  const auto facts = facts_of(fx.fs());
  Selection chosen;
  chosen.created = "2026-11-26T03:00:00Z";
  chosen.zone = "de.pool.ntp.org";
  for (const char* a : {"192.0.2.1", "192.0.2.65", "198.51.100.1", "203.0.113.1"})
    chosen.servers.push_back({"0.de.pool.ntp.org", *IpAddress::parse(a)});
  GenConfRequest request;
  request.selection = chosen;
  request.selection_saved = false;
  request.generated_at = "2026-11-26T03:22:43Z";
  auto plan = plan_gen_conf(facts, fx.fs(), request);
  REQUIRE(plan);
  CHECK(plan->spec.daemon == Daemon::ntpsec);
  CHECK(plan->path == "/etc/ntpsec/ntp.conf");
  CHECK(plan->shown == (root->path() / "etc/ntpsec/ntp.conf").string());
  CHECK_THAT(plan->origin, Catch::EndsWith("(not saved: a dry run)"));
  CHECK(plan->current == "pool 0.debian.pool.ntp.org iburst\n");
  CHECK_THAT(plan->diff, Catch::Contains("-pool 0.debian.pool.ntp.org iburst"));
  CHECK_THAT(plan->diff, Catch::Contains("+server 203.0.113.1 iburst"));
  CHECK(plan->changes());
  // The leap-second file is not in the image: said, and left out. ntpsec is installed without
  // its settings file: created with IGNORE_DHCP="yes" (dhcp_test).
  // The stock file's pool line is not carried, and said.
  REQUIRE(plan->notes.size() == 3);
  CHECK_THAT(plan->notes[0], Catch::Contains("no leap-second line"));
  CHECK_THAT(plan->notes[1], Catch::Contains("ntp.conf (its backup keeps it): line 1 (gen-conf "
                                             "writes the upstream servers itself"));
  CHECK_THAT(plan->notes[2], Catch::Contains("IGNORE_DHCP=\"yes\""));
  CHECK(plan->kept.empty());
  REQUIRE(plan->dropped.size() == 1);
  CHECK(plan->dropped[0].text == "pool 0.debian.pool.ntp.org iburst");
  // Planning wrote nothing and ran nothing.
  CHECK(test::read_text(root->path() / "etc/ntpsec/ntp.conf") ==
        "pool 0.debian.pool.ntp.org iburst\n");
  CHECK(fx.runner.recorded().empty());

  // Applied without the daemon's check: written, the stock file kept as the backup.
  auto outcome = apply_gen_conf(*plan, fx.effects(), false);
  REQUIRE(outcome);
  CHECK(outcome->changed);
  CHECK(outcome->backup == "/etc/ntpsec/ntp.conf.pooljoin-20261126T032243Z.bak");
  CHECK(test::read_text(fx.fs().host(outcome->backup)) == "pool 0.debian.pool.ntp.org iburst\n");
  CHECK(test::read_text(root->path() / "etc/ntpsec/ntp.conf") == plan->text);

  // The same config an hour later: the plan keeps the file as it is, and apply changes nothing.
  request.generated_at = "2026-11-26T04:22:43Z";
  auto again = plan_gen_conf(facts, fx.fs(), request);
  REQUIRE(again);
  CHECK_FALSE(again->changes());
  CHECK(again->diff.empty());
  auto unchanged = apply_gen_conf(*again, fx.effects(), false);
  REQUIRE(unchanged);
  CHECK_FALSE(unchanged->changed);
}

TEST_CASE("gen-conf: the daemon must be there to check the file, and the checker sees it",
          "[steps]") {
  auto root = test::image({kDebian12});
  test::FakeEffects fx(root->path());
  GenConfRequest request;
  for (const char* a : {"192.0.2.1", "192.0.2.65", "198.51.100.1", "203.0.113.1"})
    request.upstreams.push_back({a});
  request.daemon = Daemon::ntpsec;
  auto plan = plan_gen_conf(facts_of(fx.fs()), fx.fs(), request);
  REQUIRE(plan);
  CHECK_FALSE(plan->current);
  auto missing = apply_gen_conf(*plan, fx.effects(), true);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ExitCode::unavailable);
  CHECK(missing.error().what == "ntpsec is not installed, so it cannot check the new config");
  CHECK_FALSE(std::filesystem::exists(root->path() / "etc/ntpsec/ntp.conf"));
  // Too few servers, or a pool name, never reach a plan.
  request.upstreams.pop_back();
  auto three = plan_gen_conf(facts_of(fx.fs()), fx.fs(), request);
  REQUIRE_FALSE(three);
  CHECK(three.error().code == ExitCode::usage);
  request.force = true;
  auto forced = plan_gen_conf(facts_of(fx.fs()), fx.fs(), request);
  REQUIRE(forced);
  REQUIRE(forced->warnings.size() == 1);
  CHECK(forced->warnings[0] == "3 upstream servers, outside the pool's 4 to 7 (--force)");
}

TEST_CASE("gen-conf: the machine's own address is refused as an upstream on the live system",
          "[steps]") {
  SystemFacts facts;
  facts.distro = Distro{"debian", {}, "12", "Debian 12", Family::debian, {}};
  facts.recommended = Daemon::ntpsec;
  facts.addresses = {{*IpAddress::parse("185.255.0.7"), "eth0"}};
  facts.excluded = {{*IpAddress::parse("10.0.0.7"), "eth1", Exclusion::not_global}};
  GenConfRequest request;
  request.target = ConfigTarget::standard_output;
  for (const char* a : {"192.0.2.1", "192.0.2.65", "198.51.100.1", "10.0.0.7"})
    request.upstreams.push_back({a});
  // Refused before any file is read: the live system's root is never touched.
  const RootedFs live("/");
  auto refused = plan_gen_conf(facts, live, request);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ExitCode::usage);
  CHECK(refused.error().what == "--upstream 10.0.0.7 is this machine's own address (on eth1)");
  CHECK(refused.error().why ==
        "a server cannot be its own upstream: it would follow its own clock");
  // In an image, detect's addresses are those of the machine running pooljoin: not checked.
  auto root = test::image({kDebian12});
  auto image = plan_gen_conf(facts, RootedFs(root->path()), request);
  REQUIRE(image);
  CHECK_THAT(image->text, Catch::Contains("server 10.0.0.7 iburst"));
}

TEST_CASE("gen-conf: a stale leap-second list the new config names is a warning with the fix",
          "[steps][leap]") {
  const std::string fixtures = std::string(POOLJOIN_FIXTURES) + "/leap/";
  auto plan_with = [&](const char* os_release, Daemon daemon, const std::string& list) {
    auto root = test::image(
        {os_release, "/usr/bin/apt-get", "/usr/bin/dnf", "/usr/share/zoneinfo/right/UTC",
         "/usr/share/zoneinfo/leap-seconds.list=" + test::read_text(fixtures + list)});
    test::FakeEffects fx(root->path());
    GenConfRequest request;
    request.daemon = daemon;
    request.target = ConfigTarget::standard_output;
    for (const char* a : {"192.0.2.1", "192.0.2.65", "198.51.100.1", "203.0.113.1"})
      request.upstreams.push_back({a});
    request.now = fx.clock.now();  // 2026-11-26
    auto plan = plan_gen_conf(facts_of(fx.fs()), fx.fs(), request);
    REQUIRE(plan);
    return *plan;
  };
  const char* debian = "/etc/os-release=ID=debian\nVERSION_ID=\"12\"\n";
  const char* fedora = "/etc/os-release=ID=fedora\nVERSION_ID=41\n";
  auto expired = plan_with(debian, Daemon::ntpsec, "expired.list");
  CHECK_THAT(expired.text, Catch::Contains("leapfile /usr/share/zoneinfo/leap-seconds.list"));
  REQUIRE(expired.warnings.size() == 1);
  CHECK(expired.warnings[0] ==
        "/usr/share/zoneinfo/leap-seconds.list, the leap-second list ntpsec reads, expired on "
        "2017-06-28: a leap second announced since is not in it, and ntpsec logs that the list "
        "needs an update; update the tzdata package (`apt-get install --only-upgrade tzdata`), "
        "then restart the daemon so that it reads the new list (`pooljoin restart`)");
  CHECK(plan_with(debian, Daemon::ntpsec, "valid.list").warnings.empty());
  auto no_expiry = plan_with(debian, Daemon::ntpsec, "no-expiry.list");
  REQUIRE(no_expiry.warnings.size() == 1);
  CHECK_THAT(no_expiry.warnings[0], Catch::Contains("has no expiry line (#@)"));
  // Fedora 41's chrony reads the list (leapseclist): judged the same way.
  auto fedora_chrony = plan_with(fedora, Daemon::chrony, "expired.list");
  CHECK_THAT(fedora_chrony.text,
             Catch::Contains("\nleapseclist /usr/share/zoneinfo/leap-seconds.list\n"));
  REQUIRE(fedora_chrony.warnings.size() == 1);
  CHECK_THAT(fedora_chrony.warnings[0], Catch::Contains("the leap-second list chrony reads") &&
                                            Catch::Contains("`dnf upgrade tzdata`"));
  // Debian 12's chrony (4.3) reads the right/UTC zone, which has no expiry: nothing to judge.
  auto debian_chrony = plan_with(debian, Daemon::chrony, "expired.list");
  CHECK_THAT(debian_chrony.text, Catch::Contains("\nleapsectz right/UTC\n"));
  CHECK(debian_chrony.warnings.empty());
}
