// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/conf_lint.hpp"

#include "test_support.hpp"
#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

struct Expected {
  std::string id;
  int line;
  Severity severity;
  bool operator==(const Expected&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Expected& e) {
  return out << e.id << "@" << e.line << "/" << to_string(e.severity);
}

std::string fixture(const std::string& name) {
  return test::read_text(std::filesystem::path(POOLJOIN_FIXTURES) / "lint" / name);
}

std::vector<Expected> lint(const std::string& name, Daemon daemon) {
  std::vector<Expected> got;
  for (const auto& f : lint_config(fixture(name), daemon)) {
    got.push_back({f.finding.id, f.line, f.finding.severity});
    // Every finding names its line in the message and says what to do.
    if (f.line > 0) CHECK(f.finding.message.rfind("line " + std::to_string(f.line) + ": ", 0) == 0);
    CHECK_FALSE(f.finding.fix.empty());
  }
  return got;
}

}  // namespace

TEST_CASE("lint: the recommended configs pass clean", "[lint]") {
  CHECK(lint("recommended-ntpsec.conf", Daemon::ntpsec).empty());
  CHECK(lint("recommended-ntpsec.conf", Daemon::ntp).empty());
  CHECK(lint("recommended-chrony.conf", Daemon::chrony).empty());
  CHECK(count_upstreams(fixture("recommended-ntpsec.conf"), Daemon::ntpsec) == 4);
}

TEST_CASE("lint: one fixture per rule, with the line at fault", "[lint]") {
  using V = std::vector<Expected>;
  const auto fail = Severity::fail;
  const auto warn = Severity::warn;
  struct Row {
    const char* file;
    Daemon daemon;
    V expected;
  };
  const Row rows[] = {
      {"local-clock-driver.conf", Daemon::ntp, V{{"lint.local-clock", 9, fail}}},
      {"local-clock-refclock.conf", Daemon::ntpsec, V{{"lint.local-clock", 9, fail}}},
      {"chrony-local.conf", Daemon::chrony, V{{"lint.local-clock", 8, fail}}},
      {"pool-upstream.conf", Daemon::ntpsec,
       // The pool line also meets a nopeer default without `restrict source`.
       // and a `pool` line is no upstream server: 3 are left.
       V{{"lint.pool-upstream", 6, fail},
         {"lint.pool-upstream", 7, fail},
         {"lint.pool-nopeer", 7, warn},
         {"lint.upstream-count", 0, fail}}},
      {"too-few-upstreams.conf", Daemon::ntpsec, V{{"lint.upstream-count", 0, fail}}},
      {"too-many-upstreams.conf", Daemon::ntpsec, V{{"lint.upstream-count", 12, fail}}},
      // ntpsec's built-in default has noquery: without a restrict default line it serves
      // safely (lint_daemons_test), but nothing rate-limits the public: warnings.
      {"no-restrict-default.conf", Daemon::ntpsec,
       V{{"lint.no-ratelimit", 0, warn}, {"lint.restrict-default", 0, warn}}},
      // ntpsec merges a `restrict default` line into its built-in default, which has noquery:
      // mode 6 stays closed (as seen on ntpsec 1.2.2). Classic ntpd's default is open.
      {"restrict-default-without-noquery.conf", Daemon::ntpsec, V{}},
      {"restrict-default-without-noquery.conf", Daemon::ntp, V{{"lint.mode6-open", 10, fail}}},
      {"restrict-default-no-ipv6.conf", Daemon::ntpsec,
       V{{"lint.no-ratelimit", 0, warn}, {"lint.restrict-default", 0, warn}}},
      {"kod-without-limited.conf", Daemon::ntpsec, V{{"lint.kod-without-limited", 14, fail}}},
      // (three servers besides the pool, which does not count)
      {"pool-nopeer-without-restrict-source.conf", Daemon::ntp,
       V{{"lint.pool-nopeer", 8, fail}, {"lint.upstream-count", 0, fail}}},
      // ntpsec ignores nopeer: a warning there.
      {"pool-nopeer-without-restrict-source.conf", Daemon::ntpsec,
       V{{"lint.pool-nopeer", 8, warn}, {"lint.upstream-count", 0, fail}}},
      {"disable-monitor-with-limited.conf", Daemon::ntpsec, V{{"lint.monitor-disabled", 14, fail}}},
      {"enable-mode7.conf", Daemon::ntp, V{{"lint.mode7", 14, fail}}},
      {"includefile.conf", Daemon::ntpsec, V{{"lint.include", 14, warn}}},
      {"chrony-no-allow.conf", Daemon::chrony, V{{"lint.no-allow", 0, fail}}},
      {"chrony-no-ratelimit.conf", Daemon::chrony, V{{"lint.no-ratelimit", 0, warn}}},
      // Debian's stock `sourcedir /run/chrony-dhcp`: DHCP-offered servers join the upstreams.
      {"chrony-pool-sourcedir.conf", Daemon::chrony,
       V{{"lint.pool-upstream", 6, fail},
         {"lint.dhcp-sources", 8, warn},
         {"lint.upstream-count", 0, fail}}},
      // Debian 12's own ntpsec config: pool names, and notrap missing (ignored by ntpsec).
      {"debian-12-ntpsec-default.conf", Daemon::ntpsec,
       V{{"lint.pool-upstream", 34, fail},
         {"lint.pool-nopeer", 34, warn},
         {"lint.pool-upstream", 35, fail},
         {"lint.pool-upstream", 36, fail},
         {"lint.pool-upstream", 37, fail},
         {"lint.restrict-default", 47, warn},
         // Four `pool` lines are no upstream servers.
         {"lint.upstream-count", 0, fail}}},
  };
  for (const auto& row : rows) {
    INFO(row.file << " as " << to_string(row.daemon));
    CHECK(lint(row.file, row.daemon) == row.expected);
  }
}

TEST_CASE("lint: messages say what is wrong and how to fix it", "[lint]") {
  // Classic ntpd answers mode 6 to the world without noquery.
  auto findings = lint_config(fixture("restrict-default-without-noquery.conf"), Daemon::ntp);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].finding.severity == Severity::fail);
  CHECK(findings[0].finding.message ==
        "line 10: `restrict default kod limited nomodify notrap nopeer` covers IPv4 without "
        "noquery: anyone there may send mode 6 (ntpq) and mode 7 (ntpdc, monlist) queries, an "
        "amplifier for DDoS attacks");
  CHECK(findings[0].finding.fix ==
        "use `restrict default kod limited nomodify notrap nopeer noquery`");

  findings = lint_config(fixture("too-few-upstreams.conf"), Daemon::ntpsec);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].finding.message == "3 upstream servers; the pool asks for at least 4");

  findings = lint_config(fixture("no-restrict-default.conf"), Daemon::ntp);
  REQUIRE(findings.size() == 3);
  CHECK(findings[0].finding.message ==
        "no `restrict` line covers IPv4 and IPv6 (ntpd's default lacks noquery): anyone there "
        "may send mode 6 (ntpq) and mode 7 (ntpdc, monlist) queries, an amplifier for DDoS "
        "attacks");
  CHECK(findings[2].finding.message ==
        "no `restrict default` line covers IPv4 and IPv6: the public's clients lack nomodify "
        "notrap nopeer");
  CHECK(findings[2].finding.fix ==
        "add `restrict default kod limited nomodify notrap nopeer noquery` and `restrict -6 "
        "default kod limited nomodify notrap nopeer noquery`");

  // lint_findings is the same list for `check`, the lines kept in the messages.
  auto plain = lint_findings(fixture("debian-12-ntpsec-default.conf"), Daemon::ntpsec);
  REQUIRE(plain.size() == 7);
  CHECK(plain[0].message.rfind("line 34: `pool 0.debian.pool.ntp.org iburst`", 0) == 0);
  CHECK(worst(plain) == Severity::fail);
}

TEST_CASE("lint: comments, case and odd text", "[lint]") {
  // A directive in a comment does not count; keywords are case-insensitive.
  const char* text =
      "# server 0.pool.ntp.org\n"
      "SERVER 192.0.2.1 iburst\r\n"
      "server 192.0.2.2 iburst # pool 0.pool.ntp.org\n"
      "server -6 2001:db8::3\n"
      "server 198.51.100.4\n"
      "Restrict default kod limited nomodify notrap nopeer noquery\n";
  CHECK(lint_config(text, Daemon::ntpsec).empty());
  CHECK(count_upstreams(text, Daemon::ntpsec) == 4);
  // An empty file: no upstreams, no restrictions.
  auto empty = lint_config("", Daemon::ntpsec);
  REQUIRE(empty.size() == 3);
  CHECK(empty[0].finding.id == "lint.no-ratelimit");
  CHECK(empty[1].finding.id == "lint.restrict-default");
  CHECK(empty[2].finding.id == "lint.upstream-count");
  // chrony's comment characters start a comment only at the start of a line.
  CHECK(lint_config("; local stratum 10\n% x\nallow\nratelimit\nserver 192.0.2.1\nserver "
                    "192.0.2.2\nserver 192.0.2.3\nserver 192.0.2.4\n",
                    Daemon::chrony)
            .empty());
}

TEST_CASE("lint: which daemon a config is written for", "[lint]") {
  CHECK(guess_daemon(fixture("recommended-chrony.conf")) == Daemon::chrony);
  CHECK(guess_daemon(fixture("recommended-ntpsec.conf")) == Daemon::ntpsec);
  CHECK(guess_daemon(fixture("debian-12-ntpsec-default.conf")) == Daemon::ntpsec);
  CHECK(guess_daemon("server 192.0.2.1\n") == std::nullopt);
}
