// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/ntp_config.hpp"

#include <cstdlib>
#include <fstream>

#include <unistd.h>

#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/conf_lint.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/process.hpp"
#include "pooljoin/resources.hpp"
#include "pooljoin/selection.hpp"

using namespace pooljoin;

namespace {

// A distribution of each family, as os-release describes it.
Distro distro(const char* id, const char* version, Family family) {
  return Distro{id, {}, version, id, family, {}};
}

// What `resolve` saves, as the integration tests write it to selection.json; hostnames given
// with --server are covered by the parse tests.
const std::vector<Upstream> kServers = {{"192.0.2.1", "de.pool.ntp.org"},
                                        {"192.0.2.2", "de.pool.ntp.org"},
                                        {"2001:db8::123", "ptbtime1.ptb.de"},
                                        {"198.51.100.7"},
                                        {"2001:db8::7"}};

ConfigRequest request_for(const DaemonSpec& spec) {
  ConfigRequest request;
  request.spec = spec;
  request.servers = kServers;
  request.leapfile = true;
  request.generated_at = "2026-11-26T02:26:40Z";
  request.origin =
      "the selection saved by `pooljoin resolve` at 2026-11-26T02:20:00Z from de.pool.ntp.org "
      "(/var/lib/pooljoin/selection.json)";
  return request;
}

}  // namespace

TEST_CASE("upstreams: addresses and hostnames only, nothing that could add a line",
          "[ntp-config]") {
  for (const char* good :
       {"192.0.2.1", "2001:db8::1", "ntp1.example.org", "ptbtime1.ptb.de.", "185.255.0.1"}) {
    INFO(good);
    auto parsed = parse_upstream(good);
    REQUIRE(parsed);
    CHECK(parsed->address == good);
  }
  // Canonical form for addresses, whatever form the daemon would also read.
  CHECK(parse_upstream("2001:DB8:0::1")->address == "2001:db8::1");
  CHECK(parse_upstream("0xb9ff0001")->address == "185.255.0.1");
  CHECK(parse_upstream("::ffff:185.255.0.1")->address == "185.255.0.1");
  // A name of hexadecimal letters is still a name.
  CHECK(parse_upstream("cafe.example")->address == "cafe.example");
  CHECK(parse_upstream("deadbeef")->address == "deadbeef");

  struct Bad {
    std::string text;
    const char* why;
  };
  const Bad bad[] = {
      {"1.2.3.4\nrestrict default", "white space or a line break"},
      {"1.2.3.4 iburst", "white space"},
      {"\"1.2.3.4\"", "neither an IP address nor a hostname"},
      {"'ntp.example.org'", "neither an IP address nor a hostname"},
      {"1.2.3.4;restrict", "neither"},
      {"1.2.3.4:123", "neither"},
      {"[2001:db8::1]", "neither"},
      {"-6", "neither"},
      {std::string(64, 'a') + ".example.org", "1 to 63 characters"},
      {std::string(250, 'a'), "neither"},
      {"", "empty"},
      {"127.127.1.0", "LOCAL clock"},
      {"127.127.20.0", "reference clock"},
      {"127.0.0.1", "loopback"},
      {"::1", "loopback"},
      {"0.0.0.0", "unspecified"},
      {"224.0.1.1", "multicast"},
      {"ff05::101", "multicast"},
      {"0.de.pool.ntp.org", "pool.ntp.org names"},
      {"POOL.NTP.ORG.", "pool.ntp.org names"},
      // What the daemon's resolver (getaddrinfo, inet_aton) reads as an address is judged as
      // that address (inet_aton(3)'s hexadecimal and short forms).
      {"0x7f7f0100", "the pool forbids (the daemon reads it as 127.127.1.0)"},
      {"127.127.1.0x0", "the pool forbids (the daemon reads it as 127.127.1.0)"},
      {"0x7f000001", "loopback address (the daemon reads it as 127.0.0.1)"},
      {"127.1", "loopback address (the daemon reads it as 127.0.0.1)"},
      {"017700000001", "loopback address (the daemon reads it as 127.0.0.1)"},
      {"::ffff:127.0.0.1", "loopback address (the daemon reads it as 127.0.0.1)"},
      {"::ffff:127.127.1.0", "the pool forbids (the daemon reads it as 127.127.1.0)"},
      {"::ffff:0.0.0.0", "unspecified address (the daemon reads it as 0.0.0.0)"},
      {"0.0.0.1", "this network"},
      {"0", "unspecified address (the daemon reads it as 0.0.0.0)"},
      {"255.255.255.255", "broadcast"},
      {"localhost", "loopback (RFC 6761)"},
      {"LOCALHOST.", "loopback (RFC 6761)"},
      {"ntp.localhost", "loopback (RFC 6761)"},
  };
  for (const auto& b : bad) {
    INFO(b.text);
    auto parsed = parse_upstream(b.text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == ExitCode::usage);
    CHECK_THAT(parsed.error().message(), Catch::Contains(b.why));
    // The refused value is shown without its control characters.
    CHECK(parsed.error().message().find('\n') == std::string::npos);
  }
}

TEST_CASE("upstream count: 4 to 7, distinct, unless forced", "[ntp-config]") {
  std::vector<Upstream> four(kServers.begin(), kServers.begin() + 4);
  CHECK(check_upstream_count(four, false));
  std::vector<Upstream> three(kServers.begin(), kServers.begin() + 3);
  auto refused = check_upstream_count(three, false);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ExitCode::usage);
  CHECK(
      refused.error().message() ==
      "3 upstream servers (the pool asks for 4 to 7); give --upstream 4 to 7 times (or --force to "
      "write it anyway)");
  CHECK(check_upstream_count(three, true));
  auto eight = kServers;
  for (int i = 0; i < 3; ++i)
    eight.push_back({"203.0.113." + std::to_string(i + 1)});
  CHECK_FALSE(check_upstream_count(eight, false));
  CHECK(check_upstream_count(eight, true));
  CHECK_FALSE(check_upstream_count({}, true));
  auto twice = four;
  twice.push_back({"192.0.2.1"});
  auto duplicate = check_upstream_count(twice, true);
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error().what == "upstream 192.0.2.1 is given twice");
}

TEST_CASE("a saved selection pins addresses; its names become notes only when valid",
          "[ntp-config]") {
  Selection selection;
  selection.created = "2026-11-26T02:20:00Z";
  selection.zone = "de.pool.ntp.org";
  selection.servers = {{"DE.pool.ntp.org", *IpAddress::parse("192.0.2.1")},
                       {"bad name\nrestrict default", *IpAddress::parse("192.0.2.2")},
                       {"", *IpAddress::parse("2001:db8::1")}};
  auto servers = upstreams_from(selection);
  REQUIRE(servers);
  REQUIRE(servers->size() == 3);
  CHECK((*servers)[0] == Upstream{"192.0.2.1", "de.pool.ntp.org"});
  CHECK((*servers)[1] == Upstream{"192.0.2.2", ""});
  CHECK((*servers)[2] == Upstream{"2001:db8::1", ""});
  CHECK(selection_origin(selection) ==
        "the selection saved by `pooljoin resolve` at 2026-11-26T02:20:00Z from de.pool.ntp.org "
        "(/var/lib/pooljoin/selection.json)");
  selection.created = "2026-11-26T02:20:00Z\nrestrict default";
  selection.zone = "de.pool.ntp.org; rm -rf /";
  CHECK(selection_origin(selection) ==
        "the selection saved by `pooljoin resolve` (/var/lib/pooljoin/selection.json)");
}

// Found by fuzz/selection: an edited selection.json put ntpd's LOCAL clock into the config.
TEST_CASE("a saved selection's addresses pass the same rules as --server", "[ntp-config]") {
  const char* const refused[][2] = {
      {"127.127.1.0",
       "its server 127.127.1.0 is refused: 127.127.x.x addresses select ntpd's "
       "reference clock drivers, and 127.127.1.x is the LOCAL clock the pool "
       "forbids"},
      {"::1", "its server ::1 is refused: it is a loopback address"},
      {"224.0.1.1", "its server 224.0.1.1 is refused: it is a multicast address"},
      {"0.0.0.0", "its server 0.0.0.0 is refused: it is the unspecified address"},
  };
  for (const auto& [address, why] : refused) {
    INFO(address);
    Selection selection;
    selection.servers = {{"ok.example", *IpAddress::parse("192.0.2.1")},
                         {"", *IpAddress::parse(address)}};
    auto servers = upstreams_from(selection);
    REQUIRE_FALSE(servers);
    CHECK(servers.error().code == ExitCode::unavailable);
    CHECK(servers.error().what == "cannot use /var/lib/pooljoin/selection.json");
    CHECK(servers.error().why == why);
    CHECK(servers.error().fix ==
          "run `pooljoin resolve` again, or give the servers with --upstream");
  }
}

TEST_CASE("upstreams: none of the machine's own addresses", "[ntp-config]") {
  const std::vector<LocalAddress> own = {
      {*IpAddress::parse("185.255.0.7"), "eth0"},
      {*IpAddress::parse("2a0a:e5c0::7"), "eth0"},
      {*IpAddress::parse("127.0.0.1"), "lo", Exclusion::not_global}};
  const std::vector<Upstream> others = {
      {"192.0.2.1"}, {"ntp.example.org"}, {"2a0a:e5c0::8"}, {"198.51.100.7"}};
  CHECK(check_not_own_address(others, own, false));
  CHECK(check_not_own_address(others, {}, true));
  // The address as the operator wrote it, in any spelling.
  auto given = check_not_own_address({{"192.0.2.1"}, {"2a0a:e5c0:0::7"}}, own, false);
  REQUIRE_FALSE(given);
  CHECK(given.error().code == ExitCode::usage);
  CHECK(given.error().what == "--upstream 2a0a:e5c0:0::7 is this machine's own address (on eth0)");
  CHECK(given.error().fix == "leave it out and give 4 to 7 other servers");
  // A saved selection (perhaps copied from another machine of a fleet) names the file.
  auto saved = check_not_own_address({{"185.255.0.7", "de.pool.ntp.org"}}, own, true);
  REQUIRE_FALSE(saved);
  CHECK(saved.error().code == ExitCode::unavailable);
  CHECK(saved.error().what == "cannot use /var/lib/pooljoin/selection.json");
  CHECK(saved.error().why ==
        "its server 185.255.0.7 is this machine's own address (on eth0): a "
        "server cannot be its own upstream");
}

TEST_CASE("chrony reads the leap-second list only where its chrony is known to (Fedora 41+)",
          "[ntp-config][leap]") {
  struct Row {
    Distro distro;
    const char* leapfile;
    const char* data;
  };
  const Row rows[] = {
      {distro("fedora", "41", Family::fedora), "/usr/share/zoneinfo/leap-seconds.list",
       "/usr/share/zoneinfo/leap-seconds.list"},
      {distro("fedora", "42", Family::fedora), "/usr/share/zoneinfo/leap-seconds.list",
       "/usr/share/zoneinfo/leap-seconds.list"},
      {distro("fedora", "", Family::fedora), "/usr/share/zoneinfo/leap-seconds.list",
       "/usr/share/zoneinfo/leap-seconds.list"},
      {distro("fedora", "40", Family::fedora), "right/UTC", "/usr/share/zoneinfo/right/UTC"},
      {Distro{"nobara", {"fedora"}, "41", "Nobara 41", Family::fedora, {}}, "right/UTC",
       "/usr/share/zoneinfo/right/UTC"},
      {distro("debian", "12", Family::debian), "right/UTC", "/usr/share/zoneinfo/right/UTC"},
      {distro("rocky", "9.4", Family::rhel), "right/UTC", "/usr/share/zoneinfo/right/UTC"},
  };
  for (const auto& row : rows) {
    INFO(row.distro.id << " " << row.distro.version_id);
    auto spec = daemon_spec(row.distro, Daemon::chrony);
    REQUIRE(spec);
    CHECK(spec->leapfile == row.leapfile);
    CHECK(leap_data_path(*spec) == row.data);
    CHECK(reads_leap_list(*spec) == (row.leapfile[0] == '/'));
  }
  CHECK(reads_leap_list(*daemon_spec(distro("debian", "12", Family::debian), Daemon::ntpsec)));
}

TEST_CASE("golden configs: every daemon of every distribution family", "[ntp-config][golden]") {
  struct Row {
    Distro distro;
    Daemon daemon;
    const char* golden;
  };
  const Row rows[] = {
      {distro("debian", "12", Family::debian), Daemon::ntpsec, "ntpsec-debian.conf"},
      {distro("fedora", "41", Family::fedora), Daemon::ntpsec, "ntpsec-fedora.conf"},
      {distro("debian", "11", Family::debian), Daemon::ntp, "ntp-debian.conf"},
      {distro("arch", "", Family::arch), Daemon::ntp, "ntp-arch.conf"},
      {distro("debian", "12", Family::debian), Daemon::chrony, "chrony-debian.conf"},
      {distro("fedora", "41", Family::fedora), Daemon::chrony, "chrony-fedora.conf"},
      {distro("rocky", "9.4", Family::rhel), Daemon::chrony, "chrony-rhel.conf"},
      {distro("arch", "", Family::arch), Daemon::chrony, "chrony-arch.conf"},
      {distro("opensuse-leap", "15.6", Family::suse), Daemon::chrony, "chrony-suse.conf"},
      {distro("alpine", "3.20", Family::alpine), Daemon::chrony, "chrony-alpine.conf"},
  };
  auto templates = templates_dir();
  REQUIRE(templates);
  for (const auto& row : rows) {
    INFO(row.golden);
    auto spec = daemon_spec(row.distro, row.daemon);
    REQUIRE(spec);
    auto text = render_config(*templates, request_for(*spec));
    REQUIRE(text);
    test::check_golden(row.golden, *text);
    // What pooljoin recommends passes its own lint with nothing to say.
    auto findings = lint_config(*text, row.daemon);
    for (const auto& f : findings)
      UNSCOPED_INFO(f.finding.message);
    CHECK(findings.empty());
    CHECK(count_upstreams(*text, row.daemon) == kServers.size());
    CHECK(text->rfind(kGeneratedMarker, 0) == 0);
    CHECK(text->find(spec->driftfile) != std::string::npos);
  }
}

TEST_CASE("no leap-second line when the distribution's file is missing", "[ntp-config]") {
  auto templates = templates_dir();
  REQUIRE(templates);
  for (Daemon daemon : {Daemon::ntpsec, Daemon::chrony}) {
    auto request = request_for(*daemon_spec(distro("debian", "12", Family::debian), daemon));
    request.leapfile = false;
    auto text = render_config(*templates, request);
    REQUIRE(text);
    CHECK(text->find("leap") == std::string::npos);
    // And no gap where it would have been.
    CHECK(text->find("\n\n\n") == std::string::npos);
  }
  CHECK(leap_data_path(*daemon_spec(distro("rocky", "9", Family::rhel), Daemon::chrony)) ==
        "/usr/share/zoneinfo/right/UTC");
  CHECK(leap_data_path(*daemon_spec(distro("debian", "12", Family::debian), Daemon::ntpsec)) ==
        "/usr/share/zoneinfo/leap-seconds.list");
}

TEST_CASE("a value with a line break never reaches the file", "[ntp-config]") {
  auto templates = templates_dir();
  REQUIRE(templates);
  auto request = request_for(*daemon_spec(distro("debian", "12", Family::debian), Daemon::ntpsec));
  // Bypassing parse_upstream: the renderer refuses it all the same.
  request.servers[0].address = "192.0.2.1\nrestrict default";
  auto text = render_config(*templates, request);
  REQUIRE_FALSE(text);
  CHECK(text.error().code == ExitCode::internal);
  request = request_for(*daemon_spec(distro("debian", "12", Family::debian), Daemon::ntpsec));
  request.origin = "x\nrestrict default";
  CHECK_FALSE(render_config(*templates, request));
}

TEST_CASE("ntpd's log: config errors, not its notes", "[ntp-config]") {
  const char* log =
      "2026-11-26T03:44:58 ntpd[1]: INIT: ntpd ntpsec-1.2.2: Starting\n"
      "2026-11-26T03:44:58 ntpd[1]: CONFIG: readconfig: parsing file: bad.conf\n"
      "2026-11-26T03:44:58 ntpd[1]: CONFIG: line 3 column 0 syntax error\n"
      "2026-11-26T03:44:58 ntpd[1]: CONFIG: restrict nopeer ignored\n"
      "2026-11-26T03:44:58 ntpd[1]: CONFIG: restrict notrap ignored\n"
      "2026-11-26T03:44:58 ntpd[1]: CONFIG: minpoll: provided value (99) is too large [0-17])\n"
      "2026-11-26T03:44:58 ntpd[1]: ERR: key 5 not found for server 185.255.0.2\n"
      "2026-11-26T03:44:58 ntpd[1]: IO: Listen and drop on 0 v6wildcard [::]:123\n"
      "2026-11-26T03:45:01 ntpd[1]: ERR: ntpd exiting on signal 15 (Terminated)\n";
  auto errors = ntpd_config_errors(log);
  REQUIRE(errors.size() == 3);
  CHECK_THAT(errors[0], Catch::EndsWith("line 3 column 0 syntax error"));
  CHECK_THAT(errors[1], Catch::Contains("minpoll"));
  CHECK_THAT(errors[2], Catch::Contains("key 5 not found"));
  // Classic ntpd words it without the CONFIG: tag.
  CHECK(ntpd_config_errors("ntpd[2]: syntax error in /etc/ntp.conf line 4, column 7\n").size() ==
        1);
}

TEST_CASE("the real daemons check a candidate file", "[ntp-config][daemon]") {
  POOLJOIN_NEEDS_ROOT("ntpd checks a config in a network namespace of its own");
  // scripts/setup --test installs both.
  REQUIRE(in_path("unshare"));
  REQUIRE(std::filesystem::exists("/usr/sbin/ntpd"));
  test::TempDir root;
  RootedFs live("/");
  SpawnRunner runner;
  auto templates = templates_dir();
  REQUIRE(templates);
  auto spec = *daemon_spec(distro("debian", "12", Family::debian), Daemon::ntpsec);
  auto good = root.write("good.conf", *render_config(*templates, request_for(spec)));
  auto checked = check_with_daemon(live, runner, Daemon::ntpsec, "/usr/sbin/ntpd", good.string());
  INFO((checked ? *checked : checked.error().message() + "\n" + checked.error().details));
  REQUIRE(checked);
  CHECK_THAT(*checked, Catch::Contains("without a config error"));
  // Its pid and log files are gone.
  CHECK_FALSE(std::filesystem::exists(good.string() + ".log"));

  auto bad = root.write("bad.conf", test::read_text(good) + "servr 192.0.2.9 iburst\n");
  auto rejected = check_with_daemon(live, runner, Daemon::ntpsec, "/usr/sbin/ntpd", bad.string());
  REQUIRE_FALSE(rejected);
  CHECK(rejected.error().code == ExitCode::check_failed);
  CHECK_THAT(rejected.error().details, Catch::Contains("syntax error"));

  const char* chronyd = "/var/cache/pooljoin-test/chrony/usr/sbin/chronyd";
  REQUIRE(std::filesystem::exists(chronyd));  // unpacked by scripts/setup --test
  auto chrony = *daemon_spec(distro("debian", "12", Family::debian), Daemon::chrony);
  auto chrony_good = root.write("chrony.conf", *render_config(*templates, request_for(chrony)));
  CHECK(check_with_daemon(live, runner, Daemon::chrony, chronyd, chrony_good.string()));
  auto chrony_bad =
      root.write("chrony-bad.conf", test::read_text(chrony_good) + "servr 192.0.2.9\n");
  auto chrony_rejected =
      check_with_daemon(live, runner, Daemon::chrony, chronyd, chrony_bad.string());
  REQUIRE_FALSE(chrony_rejected);
  CHECK_THAT(chrony_rejected.error().details, Catch::Contains("Invalid directive at line"));
}

TEST_CASE("a config differing only in its header's time counts as the same", "[gen-conf]") {
  const std::string a =
      "# Written by pooljoin gen-conf at 2026-11-26T03:00:00Z: ntpsec\nserver 192.0.2.1 iburst\n";
  const std::string b =
      "# Written by pooljoin gen-conf at 2026-11-27T09:30:00Z: ntpsec\nserver 192.0.2.1 iburst\n";
  const std::string c =
      "# Written by pooljoin gen-conf at 2026-11-27T09:30:00Z: ntpsec\nserver 192.0.2.2 iburst\n";
  CHECK(same_apart_from_generation_time(a, b));
  CHECK_FALSE(same_apart_from_generation_time(a, c));
  // A file pooljoin did not write is never "the same".
  CHECK_FALSE(same_apart_from_generation_time("# mine\nserver 192.0.2.1 iburst\n", b));
}

TEST_CASE("an operator's server on the local network is an upstream, said in its comment",
          "[ntp-config]") {
  auto parsed = parse_upstream("192.168.1.10");
  REQUIRE(parsed);
  CHECK(parsed->local_network);
  CHECK_FALSE(parse_upstream("185.1.1.1")->local_network);
  CHECK_FALSE(parse_upstream("127.127.20.0"));
  Selection saved;
  saved.servers.push_back({"gps.lan", *IpAddress::parse("192.168.1.10")});
  saved.servers.push_back({"fd00::10", *IpAddress::parse("fd00::10")});
  auto servers = upstreams_from(saved);
  REQUIRE(servers);
  CHECK((*servers)[0] == Upstream{"192.168.1.10", "gps.lan", true});
  CHECK((*servers)[1].local_network);
  auto templates = templates_dir();
  REQUIRE(templates);
  for (Daemon daemon : {Daemon::ntpsec, Daemon::chrony}) {
    auto request = request_for(*daemon_spec(distro("debian", "12", Family::debian), daemon));
    request.servers[4] = (*servers)[0];
    auto text = render_config(*templates, request);
    REQUIRE(text);
    CHECK_THAT(*text, Catch::Contains(daemon == Daemon::chrony
                                          ? "# 192.168.1.10: resolved from gps.lan, local network"
                                          : "server 192.168.1.10 iburst  # resolved from gps.lan, "
                                            "local network"));
  }
}
