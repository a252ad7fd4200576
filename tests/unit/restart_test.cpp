// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/restart.hpp"

#include <fstream>
#include <functional>

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/fs.hpp"
#include "pooljoin/ntp_config.hpp"

using namespace pooljoin;
using Argv = std::vector<std::string>;

using test::image;

namespace {

const std::string kDebian12 =
    "/etc/os-release=ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n";

RestartRequest request_of(std::optional<Daemon> daemon, std::optional<InitSystem> init = {}) {
  RestartRequest r;
  r.daemon = daemon;
  r.init = init;
  return r;
}

Result<RestartPlan> plan_for(const test::TempDir& root, RestartRequest request = {}) {
  RootedFs fs(root.path());
  test::FakeRunner runner;
  return plan_restart(detect(fs, runner), fs, request);
}

// The plan's argv lines with the `chroot IMAGE` prefix checked and removed.
std::vector<Argv> lines(const RestartPlan& plan, const test::TempDir& root) {
  std::vector<Argv> out;
  for (const auto& command : plan.commands()) {
    REQUIRE(command.argv.size() > 2);
    CHECK(command.argv[0] == "chroot");
    CHECK(command.argv[1] == root.path().string());
    out.emplace_back(command.argv.begin() + 2, command.argv.end());
  }
  return out;
}

RestartPlan live_plan() {
  RestartPlan plan;
  plan.spec = {
      Daemon::ntpsec, "ntpsec", "/etc/ntpsec/ntp.conf", "ntpsec", "/var/lib/ntpsec/ntp.drift", ""};
  plan.init = InitSystem::sysvinit;
  plan.live = true;
  plan.stop_conflicting = {{{"service", "chrony", "stop"}}};
  plan.enable = {{{"update-rc.d", "ntpsec", "enable"}}};
  plan.restart = {{{"service", "ntpsec", "restart"}}};
  plan.answer_timeout = std::chrono::seconds(1);
  return plan;
}

// A daemon on loopback that answers (unsynchronised) only while the config under the fakes'
// root is `good`, and whose port is closed otherwise; each silent query costs nothing but the
// clock's pause between tries.
void answers_when(test::FakeEffects& fx, std::string good) {
  fx.ntp.answer = [&fx, good](const std::vector<ProbeTarget>& targets, const ProbeOptions&,
                              const std::vector<QueryRequest>&) -> Result<ProbeBatch> {
    ProbeBatch batch;
    for (const auto& target : targets) {
      ProbeReport report;
      report.target = target;
      NtpSample sample;
      if (fx.fs().read("/etc/ntpsec/ntp.conf") == good) {
        sample.fault = NtpFault::unsynchronized;
        sample.leap = Leap::unsynchronized;
        sample.stratum = 0;
        sample.refid = "INIT";
      } else {
        sample.fault = NtpFault::refused;
        fx.clock.advance(std::chrono::milliseconds(1));
      }
      report.samples = {sample};
      report.best = sample;
      batch.probes.push_back(report);
    }
    return batch;
  };
}

// Runs nothing; answers each command with the exit status `status_of` gives it.
void script(test::FakeEffects& fx, std::function<int(const Command&)> status_of) {
  fx.runner.answer = [status_of](const Command& command) {
    ProcessResult result;
    result.exit_code = status_of(command);
    if (result.exit_code != 0) result.err = "Job for ntpsec.service failed.\n";
    return result;
  };
}

}  // namespace

TEST_CASE("restart in an image: enable at boot, disable the others, start nothing",
          "[restart][fixtures]") {
  SECTION("systemd: chrony stays, timesyncd goes") {
    RootedFs fs(test::fixture_image("ubuntu-24.04-chrony-timesyncd"));
    test::FakeRunner runner;
    auto plan = plan_restart(detect(fs, runner), fs, {});
    REQUIRE(plan);
    CHECK_FALSE(plan->live);
    CHECK(plan->init == InitSystem::systemd);
    CHECK(plan->conflicting == std::vector<std::string>{"systemd-timesyncd"});
    std::vector<Argv> expected = {{"systemctl", "disable", "systemd-timesyncd"},
                                  {"systemctl", "enable", "chrony"}};
    std::vector<Argv> got;
    for (const auto& c : plan->commands())
      got.emplace_back(c.argv.begin() + 2, c.argv.end());
    CHECK(got == expected);
    CHECK(plan->restart ==
          std::vector<Command>{{{"chroot", fs.root().string(), "systemctl", "restart", "chrony"}}});
    CHECK_THAT(plan->notes.back(), Catch::Contains("is an image, where nothing runs"));
  }
  SECTION("sysvinit with update-rc.d; chrony is disabled") {
    auto root = image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/usr/sbin/chronyd",
                       "/etc/init.d/ntpsec", "/etc/init.d/chrony", "/usr/sbin/update-rc.d",
                       "/usr/sbin/service"});
    auto plan = plan_for(*root, request_of(Daemon::ntpsec));
    REQUIRE(plan);
    CHECK(plan->init == InitSystem::sysvinit);
    CHECK(lines(*plan, *root) == std::vector<Argv>{{"update-rc.d", "chrony", "disable"},
                                                   {"update-rc.d", "ntpsec", "defaults"},
                                                   {"update-rc.d", "ntpsec", "enable"}});
    std::vector<Argv> restart;
    for (const auto& c : plan->restart)
      restart.emplace_back(c.argv.begin() + 2, c.argv.end());
    CHECK(restart == std::vector<Argv>{{"service", "ntpsec", "restart"}});
  }
  SECTION("sysvinit with chkconfig and no `service`: the init script itself restarts") {
    auto root = image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/usr/sbin/chronyd",
                       "/etc/init.d/ntpsec", "/etc/init.d/chrony", "/usr/sbin/chkconfig"});
    auto plan = plan_for(*root, request_of(Daemon::ntpsec));
    REQUIRE(plan);
    CHECK(plan->init == InitSystem::sysvinit);
    CHECK(lines(*plan, *root) ==
          std::vector<Argv>{{"chkconfig", "chrony", "off"}, {"chkconfig", "ntpsec", "on"}});
    std::vector<Argv> restart;
    for (const auto& c : plan->restart)
      restart.emplace_back(c.argv.begin() + 2, c.argv.end());
    CHECK(restart == std::vector<Argv>{{"/etc/init.d/ntpsec", "restart"}});
  }
  SECTION("sysvinit with neither update-rc.d nor chkconfig: a note, and the script restarts") {
    auto root = image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/etc/init.d/ntpsec"});
    auto plan = plan_for(*root, request_of(Daemon::ntpsec, InitSystem::sysvinit));
    REQUIRE(plan);
    CHECK(lines(*plan, *root).empty());
    CHECK(plan->restart.front().argv.back() == "restart");
    CHECK(plan->restart.front().argv.at(2) == "/etc/init.d/ntpsec");
    bool noted = false;
    for (const auto& note : plan->notes)
      noted = noted || note.find("neither update-rc.d nor chkconfig found") != std::string::npos;
    CHECK(noted);
  }
  SECTION("an image with systemd installed boots systemd, whatever /etc/init.d holds") {
    auto root = image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/etc/init.d/ntpsec",
                       "/usr/lib/systemd/systemd"});
    auto plan = plan_for(*root);
    REQUIRE(plan);
    CHECK(plan->init == InitSystem::systemd);
    CHECK(lines(*plan, *root) == std::vector<Argv>{{"systemctl", "enable", "ntpsec"}});
  }
  SECTION("OpenRC") {
    auto root = image({"/etc/os-release=ID=alpine\nVERSION_ID=3.20.3\n", "/usr/sbin/chronyd",
                       "/run/openrc/softlevel", "/etc/init.d/chronyd"});
    auto plan = plan_for(*root);
    REQUIRE(plan);
    CHECK(plan->init == InitSystem::openrc);
    CHECK(lines(*plan, *root) == std::vector<Argv>{{"rc-update", "add", "chronyd", "default"}});
    CHECK(plan->restart.front().argv.back() == "restart");
  }
  SECTION("OpenRC on Alpine: busybox's ntpd is not classic ntp, and its service goes") {
    auto root =
        image({"/etc/os-release=ID=alpine\nVERSION_ID=3.20.3\n", "/usr/sbin/chronyd",
               "/bin/busybox", "/run/openrc/softlevel", "/etc/init.d/chronyd", "/etc/init.d/ntpd"});
    std::filesystem::create_symlink("/bin/busybox", root->path() / "usr/sbin/ntpd");
    test::FakeRunner runner;
    const SystemFacts facts = detect(RootedFs(root->path()), runner);
    CHECK(facts.daemons_installed == std::vector<std::string>{"busybox-ntpd", "chrony"});
    CHECK(facts.recommended == Daemon::chrony);
    auto plan = plan_for(*root);
    REQUIRE(plan);
    CHECK(plan->conflicting == std::vector<std::string>{"ntpd"});
    CHECK(lines(*plan, *root) == std::vector<Argv>{{"rc-update", "del", "ntpd", "default"},
                                                   {"rc-update", "add", "chronyd", "default"}});
  }
  SECTION("runit: the service directory is linked where runsvdir looks") {
    auto root = image({"/etc/os-release=ID=arch\n", "/usr/bin/ntpd", "/run/runit/.keep",
                       "/etc/sv/ntpd/run", "/var/service/.keep"});
    auto plan = plan_for(*root);
    REQUIRE(plan);
    CHECK(plan->init == InitSystem::runit);
    CHECK(lines(*plan, *root) ==
          std::vector<Argv>{{"ln", "-s", "/etc/sv/ntpd", "/var/service/ntpd"}});
    std::vector<Argv> restart;
    for (const auto& c : plan->restart)
      restart.emplace_back(c.argv.begin() + 2, c.argv.end());
    CHECK(restart == std::vector<Argv>{{"sv", "restart", "/var/service/ntpd"}});
  }
  SECTION("--init overrides what was detected") {
    auto root = image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/etc/init.d/ntpsec"});
    auto plan = plan_for(*root, request_of(std::nullopt, InitSystem::openrc));
    REQUIRE(plan);
    CHECK(lines(*plan, *root) == std::vector<Argv>{{"rc-update", "add", "ntpsec", "default"}});
  }
}

TEST_CASE("restart: a masked unit is named with its fix before anything runs", "[restart]") {
  auto root =
      image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/usr/lib/systemd/systemd"});
  std::filesystem::create_directories(root->path() / "etc/systemd/system");
  std::filesystem::create_symlink("/dev/null", root->path() / "etc/systemd/system/ntpsec.service");
  auto plan = plan_for(*root);
  REQUIRE_FALSE(plan);
  CHECK(plan.error().code == ExitCode::unavailable);
  CHECK(plan.error().what == "ntpsec.service is masked");
  CHECK_THAT(plan.error().fix, Catch::Contains("`systemctl unmask ntpsec`"));
  // Unmasked: planned as usual.
  std::filesystem::remove(root->path() / "etc/systemd/system/ntpsec.service");
  CHECK(plan_for(*root));
}

TEST_CASE("restart refuses what it cannot do, with the exit code", "[restart]") {
  auto no_daemon = image({kDebian12, "/etc/init.d/ntpsec"});
  auto plan = plan_for(*no_daemon);
  REQUIRE_FALSE(plan);
  CHECK(plan.error().code == ExitCode::unavailable);
  CHECK(plan.error().message().rfind("ntpsec is not installed", 0) == 0);

  auto no_init = image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen"});
  plan = plan_for(*no_init);
  REQUIRE_FALSE(plan);
  CHECK(plan.error().code == ExitCode::unsupported);
  CHECK(plan.error().what == "no init system found");

  auto no_script = image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/etc/init.d/cron"});
  plan = plan_for(*no_script);
  REQUIRE_FALSE(plan);
  CHECK(plan.error().what == "no init script /etc/init.d/ntpsec");

  RootedFs unknown(test::fixture_image("unknown-distro"));
  test::FakeRunner runner;
  auto refused = plan_restart(detect(unknown, runner), unknown, {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ExitCode::unsupported);
}

TEST_CASE("restart planned before the package is installed assumes what the package brings",
          "[restart]") {
  // join's dry run on a fresh system: neither ntpd nor its init script exist yet.
  auto fresh = image({kDebian12, "/etc/init.d/cron", "/usr/sbin/update-rc.d"});
  RestartRequest request = request_of(Daemon::ntpsec);
  REQUIRE_FALSE(plan_for(*fresh, request));
  request.package_pending = true;
  auto plan = plan_for(*fresh, request);
  REQUIRE(plan);
  CHECK(plan->init == InitSystem::sysvinit);
  CHECK(lines(*plan, *fresh) == std::vector<Argv>{{"update-rc.d", "ntpsec", "defaults"},
                                                  {"update-rc.d", "ntpsec", "enable"}});
}

TEST_CASE("the newest backup, by the time and number in its name", "[restart]") {
  auto root = image({"/etc/ntpsec/ntp.conf", "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z.bak",
                     "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z-1.bak",
                     "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z-12.bak",
                     "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z-2.bak",
                     "/etc/ntpsec/ntp.conf.pooljoin-20251126T235959Z.bak",
                     "/etc/ntpsec/ntp.conf.pooljoin-failed-20271126T000000Z",
                     "/etc/ntpsec/other.conf.pooljoin-20281126T000000Z.bak",
                     "/etc/ntpsec/ntp.conf.pooljoin-2028.bak"});
  RootedFs fs(root->path());
  CHECK(newest_backup(fs, "/etc/ntpsec/ntp.conf") ==
        "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z-12.bak");
  CHECK(newest_backup(fs, "/etc/chrony.conf") == std::nullopt);
}

TEST_CASE("apply_restart: the daemon answers, nothing else happens", "[restart]") {
  const std::string good = std::string(kGeneratedMarker) + " ...\nserver 192.0.2.1 iburst\n";
  auto root = image({"/etc/ntpsec/ntp.conf=" + good});
  test::FakeEffects fx(root->path());
  answers_when(fx, good);
  std::vector<std::string> told;
  StepEvents events;
  events.command = [&](const Command& c) { told.push_back(display(c)); };
  auto outcome = apply_restart(live_plan(), fx.effects(), events);
  REQUIRE(outcome);
  CHECK(outcome->ok());
  REQUIRE(outcome->first.answer);
  CHECK(outcome->first.answer->describe() == "unsynchronised (stratum 0, refid INIT)");
  CHECK(told == std::vector<std::string>{"service chrony stop", "update-rc.d ntpsec enable",
                                         "service ntpsec restart"});
  CHECK_FALSE(outcome->after_rollback);
  CHECK(fx.ntp.exchanges == 1);
}

TEST_CASE("apply_restart: no answer brings the previous config back", "[restart]") {
  const std::string good = std::string(kGeneratedMarker) + " earlier\nserver 192.0.2.1 iburst\n";
  const std::string broken =
      std::string(kGeneratedMarker) + " later\nserver 192.0.2.1 iburst\ninterface ignore all\n";
  auto root = image({"/etc/ntpsec/ntp.conf=" + broken,
                     "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z.bak=" + good,
                     "/etc/ntpsec/ntp.conf.pooljoin-20251126T022640Z.bak=much older"});
  test::FakeEffects fx(root->path());
  answers_when(fx, good);
  const RootedFs& fs = fx.fs();
  auto outcome = apply_restart(live_plan(), fx.effects());
  REQUIRE(outcome);
  CHECK_FALSE(outcome->ok());
  CHECK(outcome->first.failure ==
        "ntpsec did not answer on 127.0.0.1:123 within 1 s (port unreachable (nothing listens, or "
        "a firewall rejects))");
  // The second it was given passed on the clock: a query, a 250 ms pause, and again.
  CHECK(outcome->first.waited >= std::chrono::seconds(1));
  CHECK(fx.clock.slept >= std::chrono::milliseconds(750));
  CHECK(outcome->restored_from == "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z.bak");
  CHECK(test::read_text(root->path() / "etc/ntpsec/ntp.conf") == good);
  CHECK(outcome->failed_config == "/etc/ntpsec/ntp.conf.pooljoin-failed-20261126T032244Z");
  CHECK(test::read_text(fs.host(outcome->failed_config)) == broken);
  REQUIRE(outcome->after_rollback);
  CHECK(outcome->after_rollback->ok());
  // The daemon was restarted twice: on the new config, then on the restored one.
  const auto& ran = fx.runner.recorded();
  CHECK(std::count(ran.begin(), ran.end(), Command{{"service", "ntpsec", "restart"}}) == 2);
}

TEST_CASE("apply_restart: a failing restart command, and no rollback without a backup",
          "[restart]") {
  const std::string mine = std::string(kGeneratedMarker) + "\n";
  auto root = image({"/etc/ntpsec/ntp.conf=" + mine});
  test::FakeEffects fx(root->path());
  answers_when(fx, "never");
  script(fx, [](const Command& c) { return c.argv[1] == "ntpsec" ? 1 : 0; });
  auto plan = live_plan();
  auto outcome = apply_restart(plan, fx.effects());
  REQUIRE(outcome);
  CHECK(outcome->first.failure ==
        "`service ntpsec restart` failed (exit status 1): Job for ntpsec.service failed.");
  CHECK_FALSE(outcome->after_rollback);
  CHECK(outcome->no_rollback_reason ==
        "there is no backup of an earlier config beside /etc/ntpsec/ntp.conf");
  // Enabling failed too: a warning, not the end.
  REQUIRE(outcome->warnings.size() == 1);
  CHECK_THAT(outcome->warnings[0], Catch::StartsWith("`update-rc.d ntpsec enable` failed"));

  // A config pooljoin did not write is never replaced by one of its backups.
  auto theirs = image({"/etc/ntpsec/ntp.conf=# hand-written\n",
                       "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z.bak=old"});
  test::FakeEffects their(theirs->path());
  answers_when(their, "never");
  outcome = apply_restart(plan, their.effects());
  REQUIRE(outcome);
  CHECK_FALSE(outcome->after_rollback);
  CHECK(outcome->no_rollback_reason ==
        "/etc/ntpsec/ntp.conf was not written by `pooljoin gen-conf`, so pooljoin leaves it alone");
  CHECK(test::read_text(theirs->path() / "etc/ntpsec/ntp.conf") == "# hand-written\n");
}

TEST_CASE("apply_restart: a systemd unit that has failed ends the wait at once, with its journal",
          "[restart]") {
  const std::string good = std::string(kGeneratedMarker) + " earlier\nserver 192.0.2.1 iburst\n";
  const std::string broken = std::string(kGeneratedMarker) + " later\nnts enable\n";
  auto root = image({"/etc/ntpsec/ntp.conf=" + broken,
                     "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z.bak=" + good});
  test::FakeEffects fx(root->path());
  answers_when(fx, good);
  // The unit is "failed" while the broken config is in place, "active" once the good one is back.
  fx.runner.answer = [&fx, good](const Command& command) {
    ProcessResult result;
    if (command.argv[0] == "systemctl" && command.argv[1] == "is-active") {
      bool up = fx.fs().read("/etc/ntpsec/ntp.conf") == good;
      result.out = up ? "active\n" : "failed\n";
      result.exit_code = up ? 0 : 3;
    } else if (command.argv[0] == "journalctl") {
      result.out =
          "ntpd[81]: NTSs: certificate file /etc/ntpsec/cert.pem: No such file\n"
          "ntpd[81]: NTSs: exiting\n";
    }
    return result;
  };
  auto plan = live_plan();
  plan.init = InitSystem::systemd;
  plan.answer_timeout = std::chrono::seconds(20);
  plan.restart = {{{"systemctl", "restart", "ntpsec"}}};
  plan.unit_state = Command{{"systemctl", "is-active", "ntpsec"}};
  plan.unit_log = Command{{"journalctl", "--unit", "ntpsec"}};
  auto outcome = apply_restart(plan, fx.effects());
  REQUIRE(outcome);
  CHECK_FALSE(outcome->ok());
  CHECK(outcome->first.failure ==
        "ntpsec.service is failed after the restart (`systemctl is-active ntpsec`): "
        "ntpd[81]: NTSs: certificate file /etc/ntpsec/cert.pem: No such file\n"
        "ntpd[81]: NTSs: exiting");
  // One query, then the unit's state: not the 20 s the answer was given.
  CHECK(outcome->first.waited < std::chrono::seconds(1));
  CHECK(fx.clock.slept == std::chrono::milliseconds(0));
  CHECK(outcome->restored_from == "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z.bak");
  REQUIRE(outcome->after_rollback);
  CHECK(outcome->after_rollback->ok());

  // A journal that has nothing yet: where to look instead.
  std::ofstream(root->path() / "etc/ntpsec/ntp.conf", std::ios::trunc) << broken;
  plan.unit_log.reset();
  outcome = apply_restart(plan, fx.effects());
  REQUIRE(outcome);
  CHECK(outcome->first.failure ==
        "ntpsec.service is failed after the restart (`systemctl is-active ntpsec`); see "
        "`journalctl -u ntpsec`");
}

TEST_CASE("restart on systemd watches the unit while it waits; an image has nothing to watch",
          "[restart]") {
  auto root =
      image({kDebian12, "/usr/sbin/ntpd", "/usr/sbin/ntpkeygen", "/usr/lib/systemd/systemd"});
  auto plan = plan_for(*root);
  REQUIRE(plan);
  CHECK(plan->init == InitSystem::systemd);
  // Not live (a --root image): nothing is started, so nothing is watched.
  CHECK_FALSE(plan->unit_state);
  CHECK_FALSE(plan->unit_log);
}
