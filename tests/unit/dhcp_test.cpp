// SPDX-License-Identifier: Apache-2.0
// DHCP-offered NTP servers: the settings file's switch read and set, the copy DHCP writes judged,
// and gen-conf's plan that turns it off beside the config (Debian's ntpsec; Debian 11's ntp).
#include "pooljoin/dhcp.hpp"

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/conf_lint.hpp"
#include "pooljoin/gen_conf.hpp"

using namespace pooljoin;

namespace {

const std::string kDebian12 =
    "/etc/os-release=ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n";
const std::string kDebian11 =
    "/etc/os-release=ID=debian\nVERSION_ID=\"11\"\nPRETTY_NAME=\"Debian 11\"\n";

// /etc/default/ntpsec as Debian 12's ntpsec 1.2.2 ships it.
const std::string kStockSettings =
    "NTPD_OPTS=\"-g -N\"\n"
    "\n"
    "# Set to \"yes\" to ignore DHCP servers returned by DHCP.\n"
    "IGNORE_DHCP=\"\"\n"
    "\n"
    "# If you use certbot to obtain a certificate for ntpd, provide its name here.\n"
    "NTPSEC_CERTBOT_CERT_NAME=\"\"\n";

// What dhclient's hook writes: the offered servers, then the config without its own.
const std::string kDhcpCopy =
    "# NTP server entries received from DHCP server\n"
    "server 192.0.2.53 iburst\n"
    "server 192.0.2.54 iburst\n"
    "\n"
    "driftfile /var/lib/ntpsec/ntp.drift\n"
    "restrict default kod limited nomodify noquery\n";

const std::string kPoolConfig =
    "server 192.0.2.1 iburst\nserver 192.0.2.65 iburst\nserver 198.51.100.1 iburst\n"
    "server 203.0.113.1 iburst\n";

SystemFacts facts_of(const RootedFs& fs) {
  test::FakeRunner runner;
  return detect(fs, runner);
}

Distro distro_of(std::string_view os_release) {
  return distro_from_os_release(parse_os_release(os_release));
}

DaemonSpec debian_ntpsec() {
  return *daemon_spec(distro_of("ID=debian\nVERSION_ID=\"12\"\n"), Daemon::ntpsec);
}

GenConfRequest four_servers() {
  GenConfRequest request;
  for (const char* a : {"192.0.2.1", "192.0.2.65", "198.51.100.1", "203.0.113.1"})
    request.upstreams.push_back({a});
  request.generated_at = "2026-12-02T18:00:00Z";
  return request;
}

const Finding* find(const std::vector<Finding>& findings, std::string_view id) {
  for (const auto& f : findings)
    if (f.id == id) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("dhcp: a shell settings file's last plain assignment counts", "[dhcp]") {
  struct Row {
    const char* text;
    std::optional<std::string> value;
  };
  const Row rows[] = {
      {"IGNORE_DHCP=\"yes\"\n", "yes"},
      {"IGNORE_DHCP=yes\n", "yes"},
      {"IGNORE_DHCP='yes'\n", "yes"},
      {"  export IGNORE_DHCP=yes # for the pool\n", "yes"},
      {"IGNORE_DHCP=\"\"\n", ""},
      {"IGNORE_DHCP=yes\nIGNORE_DHCP=\"\"\n", ""},
      {"IGNORE_DHCP=\"\"\nIGNORE_DHCP=\"yes\"", "yes"},
      {"# IGNORE_DHCP=yes\n", std::nullopt},
      {"IGNORE_DHCPX=yes\n", std::nullopt},
      {"NOT_IGNORE_DHCP=yes\n", std::nullopt},
      {"IGNORE_DHCP=\"yes\n", std::nullopt},  // an unclosed quote is not a line we understand
      {"", std::nullopt},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    CHECK(shell_assignment(row.text, "IGNORE_DHCP") == row.value);
  }
}

TEST_CASE("dhcp: setting the switch changes that variable's lines only", "[dhcp]") {
  const std::string set = with_shell_assignment(kStockSettings, "IGNORE_DHCP", "yes", "why");
  CHECK(set ==
        "NTPD_OPTS=\"-g -N\"\n"
        "\n"
        "# Set to \"yes\" to ignore DHCP servers returned by DHCP.\n"
        "IGNORE_DHCP=\"yes\"\n"
        "\n"
        "# If you use certbot to obtain a certificate for ntpd, provide its name here.\n"
        "NTPSEC_CERTBOT_CERT_NAME=\"\"\n");
  CHECK(shell_assignment(set, "IGNORE_DHCP") == "yes");
  // Every assignment is replaced, so that no later one undoes it.
  CHECK(with_shell_assignment("IGNORE_DHCP=no\nX=1\nexport IGNORE_DHCP=\"\"", "IGNORE_DHCP", "yes",
                              "why") == "IGNORE_DHCP=\"yes\"\nX=1\nIGNORE_DHCP=\"yes\"\n");
  // None: appended with its comment, after a blank line.
  CHECK(with_shell_assignment("NTPD_OPTS=\"-g\"\n", "IGNORE_DHCP", "yes", "why") ==
        "NTPD_OPTS=\"-g\"\n\n# why\nIGNORE_DHCP=\"yes\"\n");
  CHECK(with_shell_assignment("", "IGNORE_DHCP", "yes", "why") == "# why\nIGNORE_DHCP=\"yes\"\n");
}

TEST_CASE("dhcp: the copy a DHCP client wrote is judged as the start script would run it",
          "[dhcp]") {
  const DaemonSpec spec = debian_ntpsec();
  REQUIRE(spec.dhcp);
  CHECK(spec.dhcp->copy == "/run/ntpsec/ntp.conf.dhcp");

  SECTION("no copy: nothing to say, the config is read") {
    auto root = test::image({kDebian12, "/etc/default/ntpsec=" + kStockSettings});
    RootedFs fs(root->path());
    auto state = read_dhcp_state(fs, spec);
    REQUIRE(state);
    CHECK_FALSE(state->copy_in_force());
    CHECK(diagnose_dhcp(*state, spec, std::nullopt).empty());
    CHECK(effective_config(fs, spec, state, std::nullopt) == "/etc/ntpsec/ntp.conf");
  }
  SECTION("a copy and the stock settings: ntpd runs the copy at its next start") {
    auto root = test::image({kDebian12, "/etc/default/ntpsec=" + kStockSettings,
                             "/run/ntpsec/ntp.conf.dhcp=" + kDhcpCopy});
    RootedFs fs(root->path());
    auto state = read_dhcp_state(fs, spec);
    REQUIRE(state);
    CHECK(state->offered == std::vector<std::string>{"192.0.2.53", "192.0.2.54"});
    CHECK(state->setting == "");
    CHECK(state->copy_in_force());
    CHECK(effective_config(fs, spec, state, std::nullopt) == "/run/ntpsec/ntp.conf.dhcp");
    auto findings = diagnose_dhcp(*state, spec, std::nullopt);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "dhcp.copy-in-force");
    CHECK(findings[0].severity == Severity::fail);
    CHECK(findings[0].message ==
          "ntpd will run at its next start /run/ntpsec/ntp.conf.dhcp, the copy a DHCP client "
          "wrote: its servers (192.0.2.53, 192.0.2.54) replace the upstreams of "
          "/etc/ntpsec/ntp.conf");
    CHECK_THAT(findings[0].fix,
               Catch::StartsWith("set IGNORE_DHCP=\"yes\" in /etc/default/ntpsec"));
    // Running on it now: said so.
    auto running = diagnose_dhcp(*state, spec, std::string("/run/ntpsec/ntp.conf.dhcp"));
    CHECK_THAT(running[0].message, Catch::StartsWith("ntpd runs /run/ntpsec/ntp.conf.dhcp"));
  }
  SECTION("a copy and IGNORE_DHCP=yes: ok, unless the daemon still runs the copy") {
    auto root = test::image({kDebian12, "/etc/default/ntpsec=IGNORE_DHCP=yes\n",
                             "/run/ntpsec/ntp.conf.dhcp=" + kDhcpCopy});
    RootedFs fs(root->path());
    auto state = read_dhcp_state(fs, spec);
    REQUIRE(state);
    CHECK_FALSE(state->copy_in_force());
    auto findings = diagnose_dhcp(*state, spec, std::string("/etc/ntpsec/ntp.conf"));
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "dhcp.ignored");
    CHECK(findings[0].severity == Severity::ok);
    auto stale = diagnose_dhcp(*state, spec, std::string("/run/ntpsec/ntp.conf.dhcp"));
    REQUIRE(stale.size() == 1);
    CHECK(stale[0].id == "dhcp.not-restarted");
    CHECK(stale[0].severity == Severity::fail);
    CHECK(effective_config(fs, spec, state, std::string("/run/ntpsec/ntp.conf.dhcp")) ==
          "/run/ntpsec/ntp.conf.dhcp");
  }
  SECTION("Debian 11's classic ntp has no switch: the fix is by hand") {
    auto ntp = daemon_spec(distro_of("ID=debian\nVERSION_ID=\"11\"\n"), Daemon::ntp);
    REQUIRE(ntp);
    REQUIRE(ntp->dhcp);
    CHECK(ntp->dhcp->copy == "/run/ntp.conf.dhcp");
    auto root = test::image({kDebian11, "/etc/default/ntp=NTPD_OPTS='-g'\nIGNORE_DHCP=yes\n",
                             "/run/ntp.conf.dhcp=" + kDhcpCopy});
    RootedFs fs(root->path());
    auto state = read_dhcp_state(fs, *ntp);
    REQUIRE(state);
    CHECK(state->copy_in_force());  // the variable means nothing to its start script
    auto findings = diagnose_dhcp(*state, *ntp, std::nullopt);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].severity == Severity::fail);
    CHECK_THAT(findings[0].fix, Catch::Contains("has no switch to ignore it"));
    CHECK_THAT(findings[0].fix, Catch::Contains("delete /run/ntp.conf.dhcp"));
    CHECK_FALSE(plan_ignore_dhcp(fs, *ntp));
  }
  SECTION("distributions without the hook have no DHCP state") {
    auto fedora = daemon_spec(distro_of("ID=fedora\nVERSION_ID=41\n"), Daemon::ntpsec);
    REQUIRE(fedora);
    RootedFs fs("/");
    CHECK_FALSE(read_dhcp_state(fs, *fedora));
  }
}

TEST_CASE("dhcp: the linter of the live config reads the copy in force", "[dhcp]") {
  auto root = test::image(
      {kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/etc/ntpsec/ntp.conf=" + kPoolConfig,
       "/etc/default/ntpsec=" + kStockSettings, "/run/ntpsec/ntp.conf.dhcp=" + kDhcpCopy});
  RootedFs fs(root->path());
  auto live = lint_live_config(fs, facts_of(fs).distro, Daemon::ntpsec);
  REQUIRE(live);
  CHECK(live->path == "/run/ntpsec/ntp.conf.dhcp");
  REQUIRE(find(live->findings, "dhcp.copy-in-force"));
  CHECK(find(live->findings, "dhcp.copy-in-force")->severity == Severity::fail);
  // The copy's own lines are linted: two servers are too few.
  REQUIRE(find(live->findings, "lint.upstream-count"));
  CHECK_THAT(find(live->findings, "lint.upstream-count")->message,
             Catch::StartsWith("/run/ntpsec/ntp.conf.dhcp: "));
}

TEST_CASE("dhcp: gen-conf turns the copy off beside the config, atomically", "[dhcp][steps]") {
  auto root = test::image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen",
                           "/etc/ntpsec/ntp.conf=pool 0.debian.pool.ntp.org iburst\n",
                           "/etc/default/ntpsec=" + kStockSettings,
                           "/run/ntpsec/ntp.conf.dhcp=" + kDhcpCopy});
  test::FakeEffects fx(root->path());
  const auto facts = facts_of(fx.fs());
  auto plan = plan_gen_conf(facts, fx.fs(), four_servers());
  REQUIRE(plan);
  REQUIRE(plan->settings);
  CHECK(plan->settings->path == "/etc/default/ntpsec");
  CHECK(plan->settings->current == kStockSettings);
  CHECK_THAT(plan->settings_diff, Catch::Contains("-IGNORE_DHCP=\"\"\n+IGNORE_DHCP=\"yes\""));
  CHECK(plan->changes());

  SECTION("applied: both files, each with its backup") {
    auto outcome = apply_gen_conf(*plan, fx.effects(), false);
    REQUIRE(outcome);
    CHECK(outcome->changed);
    CHECK(outcome->settings_changed);
    CHECK(outcome->settings_backup == "/etc/default/ntpsec.pooljoin-20261126T032243Z.bak");
    CHECK(test::read_text(fx.fs().host(outcome->settings_backup)) == kStockSettings);
    const std::string settings = test::read_text(root->path() / "etc/default/ntpsec");
    CHECK(shell_assignment(settings, "IGNORE_DHCP") == "yes");
    CHECK_THAT(settings, Catch::Contains("NTPD_OPTS=\"-g -N\"\n"));
    // Done: the next plan has nothing more to set.
    auto again = plan_gen_conf(facts, fx.fs(), four_servers());
    REQUIRE(again);
    CHECK_FALSE(again->settings);
    CHECK_FALSE(again->changes());
  }
  SECTION("the settings cannot be written: the config is put back as it was") {
    std::filesystem::remove(root->path() / "etc/default/ntpsec");
    std::filesystem::create_directories(root->path() / "etc/default/ntpsec/blocked");
    auto outcome = apply_gen_conf(*plan, fx.effects(), false);
    REQUIRE_FALSE(outcome);
    CHECK(test::read_text(root->path() / "etc/ntpsec/ntp.conf") ==
          "pool 0.debian.pool.ntp.org iburst\n");
  }
}

TEST_CASE("dhcp: without the daemon installed the switch waits for its package", "[dhcp]") {
  auto root = test::image({kDebian12});
  test::FakeEffects fx(root->path());
  auto request = four_servers();
  request.daemon = Daemon::ntpsec;
  auto plan = plan_gen_conf(facts_of(fx.fs()), fx.fs(), request);
  REQUIRE(plan);
  CHECK_FALSE(plan->settings);
  CHECK_THAT(plan->notes.back(),
             Catch::Equals("gen-conf sets IGNORE_DHCP=\"yes\" in /etc/default/ntpsec once ntpsec "
                           "is installed, so that DHCP cannot replace the upstreams"));
  // Installed but its settings file gone: created, or the start script would use the copy.
  auto installed = test::image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen"});
  RootedFs fs(installed->path());
  auto edit = plan_ignore_dhcp(fs, *daemon_spec(facts_of(fs).distro, Daemon::ntpsec));
  REQUIRE(edit);
  CHECK_FALSE(edit->current);
  CHECK(shell_assignment(edit->text, "IGNORE_DHCP") == "yes");
}

TEST_CASE("dhcp: openSUSE Tumbleweed's chronyd reads /usr/etc/chrony.conf until /etc overrides it",
          "[dhcp]") {
  const std::string os = "/etc/os-release=ID=\"opensuse-tumbleweed\"\nVERSION_ID=\"20241120\"\n";
  auto root = test::image(
      {os, "/usr/sbin/chronyd", "/usr/etc/chrony.conf=pool 2.opensuse.pool.ntp.org iburst\n"});
  RootedFs fs(root->path());
  auto live = lint_live_config(fs, facts_of(fs).distro, Daemon::chrony);
  REQUIRE(live);
  CHECK(live->path == "/usr/etc/chrony.conf");
  REQUIRE(find(live->findings, "lint.pool-upstream"));
  // gen-conf writes the override, and says what it is.
  auto request = four_servers();
  request.daemon = Daemon::chrony;
  test::FakeEffects fx(root->path());
  auto plan = plan_gen_conf(facts_of(fs), fs, request);
  REQUIRE(plan);
  CHECK(plan->path == "/etc/chrony.conf");
  CHECK_FALSE(plan->current);
  CHECK_THAT(plan->notes.back(),
             Catch::StartsWith("/etc/chrony.conf is the administrator's override of "
                               "/usr/etc/chrony.conf"));
  REQUIRE(apply_gen_conf(*plan, fx.effects(), false));
  CHECK(lint_live_config(fs, facts_of(fs).distro, Daemon::chrony)->path == "/etc/chrony.conf");
  CHECK(test::read_text(root->path() / "usr/etc/chrony.conf") ==
        "pool 2.opensuse.pool.ntp.org iburst\n");
}
