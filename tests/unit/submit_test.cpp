// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/submit.hpp"

#include "fakes.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/http.hpp"

using namespace pooljoin;

namespace {

IpAddress ip(const char* text) {
  auto address = IpAddress::parse(text);
  REQUIRE(address);
  return *address;
}

std::vector<std::string> ids(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings)
    out.push_back(std::string(to_string(f.severity)) + " " + f.id);
  return out;
}

AddressFacts address_facts(const char* text, std::optional<Registration> registration,
                           std::optional<NtpAnswer> ntp = std::nullopt) {
  AddressFacts a;
  a.address = ip(text);
  a.registration = registration;
  a.ntp = ntp;
  return a;
}

// Answers every request with the response made by `answer` for its source address.
class FakeHttp final : public HttpClient {
 public:
  std::function<Result<HttpResponse>(const HttpRequest&)> answer;
  std::vector<HttpRequest> asked;
  Result<HttpResponse> get(const HttpRequest& request) override {
    asked.push_back(request);
    return answer(request);
  }
};

}  // namespace

TEST_CASE("net speed: the machine kind from detect's virtualisation", "[submit][netspeed]") {
  CHECK(machine_kind("none") == MachineKind::physical);
  for (const char* v : {"openvz", "lxc", "docker", "podman", "systemd-nspawn", "wsl"})
    CHECK(machine_kind(v) == MachineKind::container);
  for (const char* v :
       {"kvm", "xen", "vmware", "amazon", "google", "microsoft", "oracle", "", "something-new"})
    CHECK(machine_kind(v) == MachineKind::virtual_machine);
}

TEST_CASE("net speed: always one of the values the site allows", "[submit][netspeed]") {
  CHECK(allowed_net_speed_at_most(10000) == 6000);
  CHECK(allowed_net_speed_at_most(12000) == 12000);
  CHECK(allowed_net_speed_at_most(100000) == 100000);
  CHECK(allowed_net_speed_at_most(999999) == 500000);
  CHECK(allowed_net_speed_at_most(1000000) == 1000000);
  CHECK(allowed_net_speed_at_most(1e9) == 3000000);
  CHECK(allowed_net_speed_at_most(100) == 512);  // the lowest setting that serves at all
  CHECK(net_speed_label(512) == "512 kbit");
  CHECK(net_speed_label(1500) == "1.5 Mbit");
  CHECK(net_speed_label(6000) == "6 Mbit");
  CHECK(net_speed_label(100000) == "100 Mbit");
  CHECK(net_speed_label(1000000) == "1 Gbit");
  CHECK(net_speed_label(1500000) == "1.5 Gbit");
  CHECK(net_speed_label(0) == "0 (monitoring only)");
}

TEST_CASE("net speed: recommended from the machine and the bandwidth", "[submit][netspeed]") {
  struct Row {
    const char* virtualization;
    std::optional<double> bandwidth_mbit;
    int kbit;
    MachineKind kind;
  };
  const Row rows[] = {
      // OpenVZ and other containers: about 10 Mbit (the guide), rounded down to 6 Mbit.
      {"openvz", std::nullopt, 6000, MachineKind::container},
      {"openvz", 1000, 6000, MachineKind::container},
      {"lxc", 100, 6000, MachineKind::container},
      {"docker", 2, 1500, MachineKind::container},  // a slower line lowers it further
      // Virtual and physical machines: the bandwidth given, else a moderate 100 Mbit.
      {"kvm", std::nullopt, 100000, MachineKind::virtual_machine},
      {"kvm", 1000, 1000000, MachineKind::virtual_machine},
      {"xen", 300, 250000, MachineKind::virtual_machine},
      {"none", std::nullopt, 100000, MachineKind::physical},
      {"none", 10000, 3000000, MachineKind::physical},
      {"none", 1, 512, MachineKind::physical},
      {"", 50, 50000, MachineKind::virtual_machine},
  };
  for (const auto& row : rows) {
    INFO(row.virtualization << " " << row.bandwidth_mbit.value_or(-1));
    auto advice = recommend_net_speed(row.virtualization, row.bandwidth_mbit);
    CHECK(advice.kbit == row.kbit);
    CHECK(advice.kind == row.kind);
    CHECK(std::find(kNetSpeedsKbit.begin(), kNetSpeedsKbit.end(), advice.kbit) !=
          kNetSpeedsKbit.end());
    CHECK_FALSE(advice.reason.empty());
  }
  // The guide's figure, scaled: 1000 Mbit served about 40 kbit/s each way.
  CHECK(recommend_net_speed("none", 1000).expected_traffic_kbit == Approx(40));
  CHECK(recommend_net_speed("kvm", std::nullopt).expected_traffic_kbit == Approx(4));
  auto openvz = recommend_net_speed("openvz", std::nullopt);
  CHECK(openvz.reason ==
        "a container (openvz) supports few concurrent connections: the guide says about 10 Mbit; "
        "the closest setting the site offers not above it is 6 Mbit");
}

TEST_CASE("pre-flight: the site's rules as findings", "[submit][preflight]") {
  PreflightFacts facts;
  facts.addresses.push_back(
      address_facts("185.255.0.10", Registration::not_registered, NtpAnswer{true, 2, ""}));
  facts.addresses.push_back(
      address_facts("10.1.2.3", Registration::not_registered, NtpAnswer{true, 16, ""}));
  facts.addresses.push_back(
      address_facts("2a0a:e5c0::10", Registration::registered, NtpAnswer{false, 0, "timed out"}));
  facts.addresses.back().score = 19.6;
  facts.lint = std::vector<Finding>{};
  facts.check = std::vector<Finding>{{"daemon.unsynchronized", Severity::fail, "not synced", ""}};

  CHECK(ids(preflight(facts)) == std::vector<std::string>{
                                     "ok submit.address.global",
                                     "fail submit.address.not-global",
                                     "ok submit.address.global",
                                     "ok submit.not-registered",
                                     "ok submit.not-registered",
                                     "warn submit.registered",
                                     "ok submit.ntp.ok",
                                     "fail submit.ntp.stratum",
                                     "fail submit.ntp.no-answer",
                                     "warn submit.outside.not-checked",
                                     "warn submit.outside.not-checked",
                                     "ok submit.outside.scored",
                                     "ok submit.lint",
                                     "fail submit.check",
                                 });
  auto findings = preflight(facts);
  CHECK(findings[1].message ==
        "10.1.2.3 is not a global unicast address (private (RFC 1918)): the site refuses it");
  CHECK(
      findings[5].message ==
      "2a0a:e5c0::10 is known to the pool, score 19.6: the site refuses an address it has, unless "
      "that server is deleted or scheduled for deletion");
  CHECK(findings[7].message == "10.1.2.3 answers at stratum 16; the site needs 0 < stratum < 6");
  CHECK(findings[8].message ==
        "2a0a:e5c0::10 does not answer NTP (timed out): the site refuses a server that does not");
  // Reachable from outside: never passed by this machine's own look, only by the pool's score.
  CHECK(findings[9].message ==
        "not checked: that 185.255.0.10 is reachable from outside on UDP 123 (a cloud firewall, a "
        "security group or the path can block what this machine lets in)");
  CHECK(findings[9].fix == "from another machine: `pooljoin check --server 185.255.0.10`");
  CHECK(findings[11].message == "2a0a:e5c0::10: the pool's monitors reach it already (score 19.6)");
  CHECK(findings[13].message == "`pooljoin check` reports 1 failure, first: not synced");

  // A live config that breaks the site's rules fails the pre-flight; the first failure is
  // named, not the warning before it.
  facts.lint = std::vector<Finding>{{"lint.x", Severity::warn, "odd line", ""},
                                    {"lint.restrict", Severity::fail, "no restrict default", ""}};
  findings = preflight(facts);
  REQUIRE(findings.size() == 14);
  CHECK(ids({findings[12]}) == std::vector<std::string>{"fail submit.lint"});
  CHECK(findings[12].message ==
        "`pooljoin gen-conf --lint` reports 1 failure, first: no restrict default");
  CHECK(findings[12].fix == "run `pooljoin gen-conf --lint` and fix what it reports");
}

TEST_CASE("pre-flight: a dynamic address of this machine is a warning", "[submit][preflight]") {
  PreflightFacts facts;
  for (const char* ip : {"185.255.0.10", "185.255.0.11", "185.254.0.20"})
    facts.addresses.push_back(
        address_facts(ip, Registration::not_registered, NtpAnswer{true, 2, ""}));
  // 185.255.0.10 is leased; 185.255.0.11 is set by hand; the third is the public address
  // of a 1:1 NAT (185.254.0.20), not on this machine: its lifetime is not known here.
  LocalAddress leased{*IpAddress::parse("185.255.0.10"), "eth0"};
  leased.lifetime = AddressLifetime{86400, 43200, false};
  LocalAddress fixed{*IpAddress::parse("185.255.0.11"), "eth0"};
  fixed.lifetime = AddressLifetime{};
  facts.own = {leased, fixed};
  auto findings = diagnose_addresses(facts);
  CHECK(ids(findings) ==
        std::vector<std::string>{"ok submit.address.global", "warn submit.address.dynamic",
                                 "ok submit.address.global", "ok submit.address.global"});
  CHECK(findings[1].message ==
        "185.255.0.10 on eth0 is dynamic, a DHCP lease or IPv6 autoconfiguration (the kernel "
        "drops it in 24h unless it is renewed): the pool asks for an address that changes once a "
        "year or less");
}

TEST_CASE("pre-flight: the stratum rule at its edges", "[submit][preflight]") {
  for (int stratum : {0, 1, 5, 6, 15, 16}) {
    PreflightFacts facts;
    facts.addresses.push_back(
        address_facts("185.255.0.10", Registration::not_registered, NtpAnswer{true, stratum, ""}));
    auto findings = diagnose_ntp(facts);
    REQUIRE(findings.size() == 1);
    INFO("stratum " << stratum);
    CHECK((findings[0].severity == Severity::ok) == (stratum >= 1 && stratum <= 5));
  }
}

TEST_CASE("pre-flight: what was not collected is reported as not checked", "[submit][preflight]") {
  PreflightFacts facts;
  facts.addresses.push_back(address_facts("185.255.0.10", std::nullopt));
  facts.addresses.push_back(address_facts("185.255.0.11", Registration::lookup_failed));
  facts.addresses.back().registration_error = "cannot connect to www.ntppool.org";
  auto findings = preflight(facts);
  CHECK(ids(findings) == std::vector<std::string>{
                             "ok submit.address.global",
                             "ok submit.address.global",
                             "warn submit.registration.not-checked",
                             "warn submit.registration.not-checked",
                             "warn submit.ntp.not-checked",
                             "warn submit.ntp.not-checked",
                             "warn submit.outside.not-checked",
                             "warn submit.outside.not-checked",
                             "warn submit.lint.not-checked",
                             "warn submit.check.not-checked",
                         });
  CHECK(findings[3].message ==
        "not checked: whether 185.255.0.11 is already in the pool (cannot connect to "
        "www.ntppool.org)");
  CHECK(findings[4].message.rfind("not checked: 185.255.0.10 answers NTP with 0 < stratum < 6",
                                  0) == 0);
  CHECK(worst(findings) == Severity::warn);  // never "ok" for what nobody checked
}

TEST_CASE("pre-flight: no address, and lint warnings", "[submit][preflight]") {
  PreflightFacts facts;
  facts.excluded.push_back({ip("10.0.0.5"), "eth0", Exclusion::not_global});
  facts.lint = std::vector<Finding>{{"lint.x", Severity::warn, "odd line", ""}};
  auto findings = preflight(facts);
  CHECK(ids(findings) == std::vector<std::string>{"fail submit.address.none", "warn submit.lint",
                                                  "warn submit.check.not-checked"});
  CHECK(findings[0].message ==
        "no global address on this machine, only private ones (behind NAT?)");
}

TEST_CASE("pre-flight when proving ownership: registered is expected", "[submit][preflight]") {
  PreflightFacts facts;
  facts.verifying = true;
  facts.addresses.push_back(address_facts("185.255.0.10", Registration::registered));
  facts.addresses.push_back(address_facts("185.255.0.11", Registration::not_registered));
  CHECK(ids(diagnose_registration(facts)) ==
        std::vector<std::string>{"ok submit.registered", "warn submit.not-registered"});
}

TEST_CASE("what to enter: the hostname only when it resolves to exactly our addresses",
          "[submit][instructions]") {
  const std::vector<IpAddress> ours = {ip("185.255.0.10"), ip("2a0a:e5c0::10"), ip("185.255.0.11")};
  auto advice = recommend_net_speed("kvm", std::nullopt);

  auto plan = plan_submission(
      ours,
      HostnameFacts{
          "ntp1.example.org", {ip("2a0a:e5c0::10"), ip("185.255.0.11"), ip("185.255.0.10")}, ""},
      advice);
  CHECK(plan.page == "https://manage.ntppool.org/manage/servers");
  CHECK(plan.use_hostname);
  REQUIRE(plan.families.size() == 2);
  CHECK(plan.families[0].family == IpFamily::v4);
  CHECK(plan.families[0].addresses ==
        std::vector<IpAddress>{ip("185.255.0.10"), ip("185.255.0.11")});
  CHECK(plan.families[0].enter == std::vector<std::string>{"ntp1.example.org"});
  CHECK(plan.families[1].enter == std::vector<std::string>{"ntp1.example.org"});
  CHECK(plan.net_speed.kbit == 100000);

  // The name has an address that is not ours: it would add a wrong server.
  plan = plan_submission(
      ours,
      HostnameFacts{"ntp1.example.org",
                    {ip("185.255.0.10"), ip("185.255.0.11"), ip("2a0a:e5c0::10"), ip("192.0.2.99")},
                    ""},
      advice);
  CHECK_FALSE(plan.use_hostname);
  CHECK(plan.families[0].enter == std::vector<std::string>{"185.255.0.10", "185.255.0.11"});
  CHECK(plan.families[1].enter == std::vector<std::string>{"2a0a:e5c0::10"});
  CHECK(plan.hostname_note ==
        "ntp1.example.org resolves to 185.255.0.10, 185.255.0.11, 2a0a:e5c0::10, 192.0.2.99, not "
        "exactly this machine's addresses (185.255.0.10, 2a0a:e5c0::10, 185.255.0.11): enter the "
        "addresses, since the site would add every address of the name");

  // The name lacks one of ours: it would leave it out.
  plan = plan_submission(ours, HostnameFacts{"ntp1.example.org", {ip("185.255.0.10")}, ""}, advice);
  CHECK_FALSE(plan.use_hostname);

  plan = plan_submission(ours, HostnameFacts{"ntp1.example.org", {}, "Name or service not known"},
                         advice);
  CHECK_FALSE(plan.use_hostname);
  CHECK(plan.hostname_note ==
        "ntp1.example.org does not resolve (Name or service not known): enter the addresses");

  plan = plan_submission({ip("185.255.0.10")}, std::nullopt, advice);
  CHECK_FALSE(plan.use_hostname);
  REQUIRE(plan.families.size() == 1);
  CHECK(plan.families[0].enter == std::vector<std::string>{"185.255.0.10"});

  plan = plan_submission({}, HostnameFacts{"ntp1.example.org", {}, ""}, advice);
  CHECK_FALSE(plan.use_hostname);
  CHECK(plan.families.empty());
}

TEST_CASE("getaddrinfo resolves literals and localhost", "[submit]") {
  auto literal = resolve_with_getaddrinfo("185.255.0.10");
  REQUIRE(literal);
  CHECK(*literal == std::vector<IpAddress>{ip("185.255.0.10")});
  auto bad = resolve_with_getaddrinfo("no-such-host.invalid");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ExitCode::unavailable);
}

TEST_CASE("ownership proof: one request per address, bound to it", "[submit][verify]") {
  FakeHttp http;
  http.answer = [](const HttpRequest& request) -> Result<HttpResponse> {
    const std::string source = request.source->to_string();
    if (source == "185.255.0.11")
      return fail(ExitCode::unavailable, "cannot send from 185.255.0.11");
    HttpResponse r;
    r.status = source == "2a0a:e5c0::11" ? 403 : 200;
    r.local_address = source == "2a0a:e5c0::12" ? "2a0a:e5c0::99" : source;
    r.body = "verified\nsecond line";
    return r;
  };
  auto results = verify_ownership(http, "https://manage.ntppool.org/v/abc",
                                  {ip("185.255.0.10"), ip("185.255.0.11"), ip("2a0a:e5c0::10"),
                                   ip("2a0a:e5c0::11"), ip("2a0a:e5c0::12")});
  REQUIRE(results);
  REQUIRE(results->size() == 5);
  REQUIRE(http.asked.size() == 5);
  CHECK(http.asked[2].url == "https://manage.ntppool.org/v/abc");
  CHECK(http.asked[2].source == ip("2a0a:e5c0::10"));
  const auto& r = *results;
  CHECK(r[0].ok);
  CHECK(r[0].message == "HTTP 200 OK");
  CHECK(r[0].body == "verified");
  CHECK_FALSE(r[1].ok);
  CHECK(r[1].status == 0);
  CHECK(r[1].message == "cannot send from 185.255.0.11");
  CHECK(r[2].ok);
  CHECK_FALSE(r[3].ok);
  CHECK(r[3].message == "HTTP 403 Forbidden");
  CHECK_FALSE(r[4].ok);  // a 200, but not from the address it had to come from
  CHECK(r[4].message == "the connection came from 2a0a:e5c0::99, not 2a0a:e5c0::12");

  http.answer = [](const HttpRequest&) -> Result<HttpResponse> {
    return fail(ExitCode::interrupted, "interrupted");
  };
  auto stopped = verify_ownership(http, "https://x.org/", {ip("185.255.0.10")});
  REQUIRE_FALSE(stopped);
  CHECK(stopped.error().code == ExitCode::interrupted);
}

TEST_CASE(
    "ownership proof: one validation URL per family, the answer's URL to confirm, a family "
    "without one not proven",
    "[submit][verify]") {
  SubmitRequest request;
  request.verify_url = "https://manage.ntppool.org/v/any";
  CHECK(verify_url_for(request, IpFamily::v4) == "https://manage.ntppool.org/v/any");
  CHECK(verify_url_for(request, IpFamily::v6) == "https://manage.ntppool.org/v/any");
  request.verify_url = "https://192.0.2.80/v/abc";  // an IPv4 literal: IPv4 only
  CHECK(verify_url_for(request, IpFamily::v4) == "https://192.0.2.80/v/abc");
  CHECK(verify_url_for(request, IpFamily::v6).empty());
  request.verify_url6 = "https://[2001:db8::80]/v/abc";
  CHECK(verify_url_for(request, IpFamily::v6) == "https://[2001:db8::80]/v/abc");
  request.verify_url4 = "https://v4.example/v/own";
  CHECK(verify_url_for(request, IpFamily::v4) == "https://v4.example/v/own");

  test::FakeEffects fx;
  HttpResponse confirm;
  confirm.status = 200;
  confirm.body = "https://manage.ntppool.org/manage/verify/confirm/xyz\n";
  fx.http.table["https://v4.example/v/own"] = confirm;
  SubmitPlan plan;
  plan.addresses = {ip("185.255.0.10"), ip("2a0a:e5c0::10")};
  plan.verify_url4 = "https://v4.example/v/own";
  auto outcome = apply_submit(plan, fx.effects());
  REQUIRE(outcome);
  REQUIRE(outcome->verification.size() == 2);
  REQUIRE(fx.http.requests.size() == 1);  // nothing is sent without a URL of the family
  CHECK(fx.http.requests[0].url == "https://v4.example/v/own");
  CHECK(fx.http.requests[0].source == ip("185.255.0.10"));
  const auto& v4 = outcome->verification[0];
  CHECK(v4.ok);
  CHECK(v4.url == "https://v4.example/v/own");
  CHECK(v4.confirm_url == "https://manage.ntppool.org/manage/verify/confirm/xyz");
  const auto& v6 = outcome->verification[1];
  CHECK_FALSE(v6.attempted);
  CHECK_THAT(v6.message,
             Catch::Contains("no validation URL for IPv6") && Catch::Contains("--verify-url6 URL"));
  // Not proven is not failed: the IPv4 proof stands, and what is missing is named.
  CHECK_FALSE(outcome->failed());
  CHECK(outcome->not_proven() == std::vector<IpFamily>{IpFamily::v6});
  CHECK(plan.failure(*outcome).empty());
  // A failed request of a family that has a URL fails the step.
  fx.http.table.clear();  // 404
  auto refused = apply_submit(plan, fx.effects());
  CHECK(refused->failed());
  CHECK(plan.failure(*refused) == "the ownership proof failed");
}

TEST_CASE("net speed: above the 10 Mbit an unverified server may have, it is set after the proof",
          "[submit]") {
  auto container = recommend_net_speed("lxc", std::nullopt);
  CHECK(container.kbit <= kUnverifiedNetSpeedKbit);
  CHECK_FALSE(container.needs_verification());
  auto vm = recommend_net_speed("kvm", std::nullopt);
  CHECK(vm.kbit == 100000);
  CHECK(vm.needs_verification());
}
