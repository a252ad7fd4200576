// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/leap_list.hpp"

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/fs.hpp"

using namespace pooljoin;

namespace {

// The fixtures of tests/fixtures/leap (make.py), as a root whose files are "/valid.list", ...
const RootedFs kFixtures(std::filesystem::path(POOLJOIN_FIXTURES) / "leap");

std::chrono::system_clock::time_point utc(std::int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

}  // namespace

TEST_CASE("leap-second list: the expiry is the #@ line, in NTP seconds since 1900", "[leap]") {
  // 2026-06-28T00:00:00Z, as tzdata 2025b's list says.
  CHECK(leap_list_expiry("#$\t 3945196800\n#@\t3991593600\n2272060800\t10\t# 1 Jan 1972\n") ==
        utc(1782604800));
  CHECK(leap_list_expiry("#@ 3991593600\r\n") == utc(1782604800));
  CHECK(leap_list_expiry("#@\t3991593600\t# a comment\n") == utc(1782604800));
  CHECK_FALSE(leap_list_expiry("# a list without its expiry\n2272060800\t10\n"));
  CHECK_FALSE(leap_list_expiry("#@\n"));
  CHECK_FALSE(leap_list_expiry("#@\tsoon\n"));
  CHECK_FALSE(leap_list_expiry("#@\t-5\n"));
  CHECK_FALSE(leap_list_expiry(""));
  // Only at the start of a line.
  CHECK_FALSE(leap_list_expiry(" #@ 3991593600\n"));
}

TEST_CASE("leap-second list: valid, expired, without expiry, missing", "[leap]") {
  test::FakeClock clock;  // 2026-11-26
  auto valid = read_leap_list(kFixtures, "/valid.list", clock.now());
  CHECK(valid.state == LeapListState::valid);
  CHECK(valid.expires == utc(2082672000));  // 2035-12-31
  auto expired = read_leap_list(kFixtures, "/expired.list", clock.now());
  CHECK(expired.state == LeapListState::expired);
  CHECK(expired.expires == utc(1498608000));  // 2017-06-28
  CHECK(expired.path == "/expired.list");
  auto no_expiry = read_leap_list(kFixtures, "/no-expiry.list", clock.now());
  CHECK(no_expiry.state == LeapListState::no_expiry);
  CHECK_FALSE(no_expiry.expires);
  auto missing = read_leap_list(kFixtures, "/leap-seconds.list", clock.now());
  CHECK(missing.state == LeapListState::missing);
  // The clock decides: the valid one expires at its #@ time, not a second later.
  CHECK(read_leap_list(kFixtures, "/valid.list", utc(2082671999)).state == LeapListState::valid);
  CHECK(read_leap_list(kFixtures, "/valid.list", utc(2082672000)).state == LeapListState::expired);
  CHECK(read_leap_list(kFixtures, "/expired.list", utc(1498607999)).state == LeapListState::valid);
}

TEST_CASE("leap-second list: the one a config names", "[leap]") {
  const std::string ntp_conf =
      "driftfile /var/lib/ntpsec/ntp.drift\n"
      "# leapfile /old/leap-seconds.list\n"
      "LEAPFILE /usr/share/zoneinfo/leap-seconds.list  # tzdata's\n"
      "server 192.0.2.1 iburst\n";
  CHECK(configured_leap_list(ntp_conf, Daemon::ntpsec) == "/usr/share/zoneinfo/leap-seconds.list");
  CHECK(configured_leap_list(ntp_conf, Daemon::ntp) == "/usr/share/zoneinfo/leap-seconds.list");
  CHECK_FALSE(configured_leap_list("driftfile /x\nleapfile\n", Daemon::ntpsec));
  const std::string chrony_conf =
      "! leapseclist /commented/out\n"
      "driftfile /var/lib/chrony/drift\n"
      "leapseclist /usr/share/zoneinfo/leap-seconds.list\n";
  CHECK(configured_leap_list(chrony_conf, Daemon::chrony) ==
        "/usr/share/zoneinfo/leap-seconds.list");
  // A time zone has no expiry; an ntpd directive means nothing to chrony.
  CHECK_FALSE(configured_leap_list("leapsectz right/UTC\n", Daemon::chrony));
  CHECK_FALSE(configured_leap_list("leapfile /x\n", Daemon::chrony));
}

TEST_CASE("leap-second list: the finding and its fix, per package manager", "[leap]") {
  test::FakeClock clock;
  auto expired = read_leap_list(kFixtures, "/expired.list", clock.now());
  auto finding = leap_list_finding(expired, "ntpsec", "apt-get");
  CHECK(finding.id == "leap.expired");
  CHECK(finding.severity == Severity::warn);
  CHECK(finding.message ==
        "/expired.list, the leap-second list ntpsec reads, expired on 2017-06-28: a leap second "
        "announced since is not in it, and ntpsec logs that the list needs an update");
  CHECK(finding.fix ==
        "update the tzdata package (`apt-get install --only-upgrade tzdata`), then restart the "
        "daemon so that it reads the new list (`pooljoin restart`)");
  CHECK(leap_list_finding(expired, "chrony", "zypper").fix ==
        "update the tzdata package (`zypper update timezone`), then restart the daemon so that "
        "it reads the new list (`pooljoin restart`)");
  CHECK_THAT(leap_list_finding(expired, "ntp", "").fix,
             Catch::StartsWith("update the tzdata package, then restart"));

  auto valid =
      leap_list_finding(read_leap_list(kFixtures, "/valid.list", clock.now()), "ntpsec", "apt-get");
  CHECK(valid.id == "leap.ok");
  CHECK(valid.severity == Severity::ok);
  CHECK(valid.message ==
        "/valid.list, the leap-second list ntpsec reads, is valid until 2035-12-31");

  auto no_expiry =
      leap_list_finding(read_leap_list(kFixtures, "/no-expiry.list", clock.now()), "ntpsec", "dnf");
  CHECK(no_expiry.id == "leap.no-expiry");
  CHECK(no_expiry.severity == Severity::warn);
  CHECK(no_expiry.fix == "reinstall the tzdata package, which ships it (`dnf reinstall tzdata`)");

  auto missing =
      leap_list_finding(read_leap_list(kFixtures, "/gone.list", clock.now()), "ntpsec", "apk");
  CHECK(missing.id == "leap.missing");
  CHECK(missing.message ==
        "ntpsec names /gone.list as its leap-second list, but there is no such "
        "file");
  CHECK(missing.fix ==
        "install the tzdata package (`apk add tzdata`), or remove the line from the "
        "config");

  CHECK(tzdata_command("pacman", TzdataAction::update) == "pacman -Syu");
  CHECK(tzdata_command("yum", TzdataAction::reinstall) == "yum reinstall tzdata");
  CHECK(tzdata_command("emerge", TzdataAction::update).empty());
}
