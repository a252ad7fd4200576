// SPDX-License-Identifier: Apache-2.0
// gen-conf carries the operator's lines the pool's rules do not govern: the allowlists, and the
// plan of each daemon over a previous config holding statistics, keys, NTS, a reference clock,
// interfaces and lines the pool forbids (tests/golden/keep-*.conf).
#include "pooljoin/config_keep.hpp"

#include <cstdlib>
#include <fstream>

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/config_text.hpp"
#include "pooljoin/gen_conf.hpp"

using namespace pooljoin;

namespace {

std::vector<int> lines_of(const std::vector<KeptLine>& kept) {
  std::vector<int> lines;
  for (const auto& k : kept)
    lines.push_back(k.line);
  return lines;
}

std::string why_of(const std::vector<DroppedLine>& dropped, int line) {
  for (const auto& d : dropped)
    if (d.line == line) return d.why;
  return "(not dropped)";
}

SystemFacts facts_of(const RootedFs& fs) {
  test::FakeRunner runner;
  return detect(fs, runner);
}

const std::string kDebian12 =
    "/etc/os-release=ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n";
const std::string kDebian11 =
    "/etc/os-release=ID=debian\nVERSION_ID=\"11\"\nPRETTY_NAME=\"Debian 11\"\n";

const char* kNtpsecBefore =
    "# an operator's ntpsec config\n"
    "driftfile /var/lib/ntpsec/ntp.drift\n"
    "leapfile /etc/ntpsec/leap-seconds.list\n"
    "statsdir /var/log/ntpsec/\n"
    "statistics loopstats peerstats clockstats\n"
    "filegen loopstats file loopstats type day enable\n"
    "keys /etc/ntpsec/ntp.keys\n"
    "trustedkey 1\n"
    "refclock gpsd unit 0 prefer   # the GPS\n"
    "refclock local stratum 10\n"
    "nts key /etc/ntpsec/nts.key\n"
    "interface listen eth0\n"
    "tos orphan 5\n"
    "tos minclock 4 minsane 3\n"
    "pool 0.debian.pool.ntp.org iburst\n"
    "restrict default kod nomodify noquery limited\n"
    "includefile /etc/ntpsec/extra.conf\n"
    "logfile\t/var/log/ntpsec/ntp.log\n"
    "statsdir /var/log/\xc3\xb1\n"
    "logconfig =syncall\x01\n";

const char* kNtpBefore =
    "driftfile /var/lib/ntp/ntp.drift\n"
    "leapfile /usr/share/zoneinfo/leap-seconds.list\n"
    "server 127.127.20.0 mode 1 prefer\n"
    "fudge 127.127.20.0 refid GPS\n"
    "server 127.127.1.0\n"
    "fudge 127.127.1.0 stratum 10\n"
    "keys /etc/ntp.keys\n"
    "requestkey 1\n"
    "controlkey 1\n"
    "interface ignore all\n"
    "nic ignore wildcard\n"
    "server 192.0.2.9 iburst\n"
    "restrict -6 default ignore\n"
    "tos orphan 10\n"
    "enable mode7\n";

const char* kChronyBefore =
    "pool 2.debian.pool.ntp.org iburst\n"
    "keyfile /etc/chrony/chrony.keys\n"
    "driftfile /var/lib/chrony/chrony.drift\n"
    "log tracking measurements statistics\n"
    "logdir /var/log/chrony\n"
    "ntsserverkey /etc/chrony/nts.key\n"
    "ntsservercert /etc/chrony/nts.crt\n"
    "refclock PHC /dev/ptp0 poll 0 dpoll -2\n"
    "bindaddress 192.168.1.5\n"
    "hwtimestamp *\n"
    "local stratum 10\n"
    "allow 192.168.0.0/16\n"
    "confdir /etc/chrony/conf.d\n"
    "sourcedir /run/chrony-dhcp\n"
    "leapsectz right/UTC\n"
    "makestep 1 3\n"
    "maxupdateskew 100.0\n";

GenConfRequest request_for(Daemon daemon) {
  GenConfRequest request;
  request.daemon = daemon;
  for (const char* a : {"192.0.2.1", "192.0.2.65", "198.51.100.1", "203.0.113.1"})
    request.upstreams.push_back(*parse_upstream(a));
  request.generated_at = "2026-11-26T03:22:43Z";
  return request;
}

}  // namespace

TEST_CASE("keep: ntpd's allowlist", "[gen-conf][keep]") {
  const auto sorted = sort_previous_lines(kNtpsecBefore, Daemon::ntpsec);
  CHECK(lines_of(sorted.kept) == std::vector<int>{3, 4, 5, 6, 7, 8, 9, 11, 12, 18});
  CHECK(sorted.kept[0].leap);
  CHECK(sorted.kept[6].text == "refclock gpsd unit 0 prefer");      // comment stripped
  CHECK(sorted.kept[9].text == "logfile /var/log/ntpsec/ntp.log");  // tab made a space
  CHECK(why_of(sorted.dropped, 2) == kWhyOwn);
  CHECK(why_of(sorted.dropped, 10) == kWhyLocalClock);
  CHECK(why_of(sorted.dropped, 13) == kWhyOrphan);
  CHECK(why_of(sorted.dropped, 14) == kWhyNotListed);
  CHECK(why_of(sorted.dropped, 15) == kWhyUpstream);
  CHECK(why_of(sorted.dropped, 16) == kWhyAccess);
  CHECK(why_of(sorted.dropped, 17) == kWhyInclude);
  CHECK(why_of(sorted.dropped, 19) == kWhyUnsafe);
  CHECK(why_of(sorted.dropped, 20) == kWhyUnsafe);
  CHECK(sorted.dropped.back().text == "logconfig =syncall\\x01");

  const auto classic = sort_previous_lines(kNtpBefore, Daemon::ntp);
  CHECK(lines_of(classic.kept) == std::vector<int>{2, 3, 4, 7, 8, 9, 11});
  CHECK(why_of(classic.dropped, 5) == kWhyLocalClock);
  CHECK(why_of(classic.dropped, 6) == kWhyLocalClock);
  CHECK(why_of(classic.dropped, 10) == kWhyStopsServing);  // no listen line after it
  CHECK(why_of(classic.dropped, 12) == kWhyUpstream);
  CHECK(why_of(classic.dropped, 14) == kWhyOrphan);
  CHECK(why_of(classic.dropped, 15) == kWhyNotListed);
  // ntpsec has neither requestkey nor the 127.127 `server` form's LOCAL clock.
  CHECK(why_of(sort_previous_lines("requestkey 1\n", Daemon::ntpsec).dropped, 1) == kWhyNotListed);
  // `ignore all` followed by a `listen`: the listen decides for its interface.
  CHECK(sort_previous_lines("interface ignore all\ninterface listen 203.0.113.5\n", Daemon::ntp)
            .kept.size() == 2);
}

TEST_CASE("keep: chrony's allowlist", "[gen-conf][keep]") {
  const auto sorted = sort_previous_lines(kChronyBefore, Daemon::chrony);
  CHECK(lines_of(sorted.kept) == std::vector<int>{2, 4, 5, 6, 7, 8, 10, 15});
  CHECK(why_of(sorted.dropped, 1) == kWhyUpstream);
  CHECK(why_of(sorted.dropped, 9) == kWhyStopsServing);  // a private address only
  CHECK(why_of(sorted.dropped, 11) == kWhyLocalClock);
  CHECK(why_of(sorted.dropped, 12) == kWhyAccess);
  CHECK(why_of(sorted.dropped, 13) == kWhyInclude);
  CHECK(why_of(sorted.dropped, 14) == kWhyInclude);
  CHECK(why_of(sorted.dropped, 16) == kWhyOwn);
  CHECK(why_of(sorted.dropped, 17) == kWhyNotListed);
  CHECK(sort_previous_lines("bindaddress 0.0.0.0\nbindaddress 185.255.0.9\n", Daemon::chrony)
            .kept.size() == 2);
}

TEST_CASE("keep: in a file gen-conf wrote, only its kept section is the operator's",
          "[gen-conf][keep]") {
  const std::string written = std::string(kGeneratedMarker) +
                              " at 2026-11-26T03:22:43Z\n"
                              "leapfile /usr/share/zoneinfo/leap-seconds.list\n"
                              "server 192.0.2.1 iburst\n\n" +
                              std::string(kKeptHeading) + "\nstatsdir /var/log/ntpsec/\n";
  const auto sorted = sort_previous_lines(written, Daemon::ntpsec);
  CHECK(lines_of(sorted.kept) == std::vector<int>{6});
  CHECK(sorted.dropped.empty());
  CHECK(sort_previous_lines(std::string(kGeneratedMarker) + "\nstatsdir /x\n", Daemon::ntpsec)
            .kept.empty());
}

TEST_CASE(
    "keep: each daemon's plan carries the operator's lines, and a second run changes "
    "nothing",
    "[gen-conf][keep][golden]") {
  struct Row {
    std::string os;
    Daemon daemon;
    std::string path;
    const char* before;
    const char* golden;
    std::size_t kept;
  };
  const Row rows[] = {
      {kDebian12, Daemon::ntpsec, "/etc/ntpsec/ntp.conf", kNtpsecBefore, "keep-ntpsec.conf", 10},
      // Its `nic ignore wildcard` would leave ntpd serving loopback only (lint.listen): dropped.
      {kDebian11, Daemon::ntp, "/etc/ntp.conf", kNtpBefore, "keep-ntp.conf", 5},
      {kDebian12, Daemon::chrony, "/etc/chrony/chrony.conf", kChronyBefore, "keep-chrony.conf", 7},
  };
  for (const auto& row : rows) {
    INFO(row.golden);
    auto root = test::image({row.os, "/usr/share/zoneinfo/leap-seconds.list",
                             "/usr/share/zoneinfo/right/UTC", row.path + "=" + row.before});
    test::FakeEffects fx(root->path());
    const auto facts = facts_of(fx.fs());
    GenConfRequest request = request_for(row.daemon);
    auto plan = plan_gen_conf(facts, fx.fs(), request);
    REQUIRE(plan);
    test::check_golden(row.golden, plan->text);
    CHECK(plan->kept.size() == row.kept);
    CHECK_THAT(plan->text, Catch::Contains(std::string(kKeptHeading)));
    CHECK_THAT(plan->diff, Catch::Contains("+" + std::string(kKeptHeading)));
    // Nothing disappears silently: every dropped line is in a note, by number.
    bool named = false;
    for (const auto& note : plan->notes)
      named = named || note.find("not carried from") != std::string::npos;
    CHECK(named);
    CHECK(plan->kept.size() + plan->dropped.size() == directives(row.before, row.daemon).size());
    if (row.daemon == Daemon::ntp) {
      auto wildcard =
          std::find_if(plan->dropped.begin(), plan->dropped.end(),
                       [](const DroppedLine& d) { return d.text == "nic ignore wildcard"; });
      REQUIRE(wildcard != plan->dropped.end());
      CHECK_THAT(wildcard->why, Catch::Contains("lint.listen"));
    }

    auto outcome = apply_gen_conf(*plan, fx.effects(), false);
    REQUIRE(outcome);
    CHECK(outcome->changed);
    request.generated_at = "2026-11-26T04:22:43Z";
    auto again = plan_gen_conf(facts, fx.fs(), request);
    REQUIRE(again);
    CHECK_FALSE(again->config_changes());
    // The second run reads the kept section back: the same lines, nothing more dropped.
    REQUIRE(again->kept.size() == plan->kept.size());
    for (std::size_t i = 0; i < plan->kept.size(); ++i)
      CHECK(again->kept[i].text == plan->kept[i].text);
    CHECK(again->dropped.empty());

    // --fresh: none kept, each named as dropped for that reason.
    request.fresh = true;
    auto fresh = plan_gen_conf(facts, fx.fs(), request);
    REQUIRE(fresh);
    CHECK(fresh->kept.empty());
    CHECK(fresh->text.find(std::string(kKeptHeading)) == std::string::npos);
    CHECK(std::count_if(fresh->dropped.begin(), fresh->dropped.end(), [](const DroppedLine& d) {
            return d.why == std::string(kWhyFresh);
          }) == std::ssize(plan->kept));
  }
}
