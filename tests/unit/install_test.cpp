// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/install.hpp"

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/detect.hpp"
#include "pooljoin/fs.hpp"

using namespace pooljoin;
using Argv = std::vector<std::string>;

namespace {

struct Planned {
  SystemFacts facts;
  Result<InstallPlan> plan;
};

Planned plan_for(const std::string& image, std::optional<Daemon> daemon = std::nullopt) {
  RootedFs fs(test::fixture_image(image));
  test::FakeRunner runner;
  SystemFacts facts = detect(fs, runner);
  InstallRequest request;
  request.daemon = daemon;
  return {facts, plan_install(facts, fs, request)};
}

// The argv lines of the plan with the `chroot IMAGE` prefix checked and removed.
std::vector<Argv> argv_lines(const InstallPlan& plan, const std::string& image) {
  std::vector<Argv> lines;
  for (const auto& command : plan.commands) {
    REQUIRE(command.argv.size() > 2);
    CHECK(command.argv[0] == "chroot");
    CHECK(command.argv[1] == test::fixture_image(image).string());
    lines.emplace_back(command.argv.begin() + 2, command.argv.end());
  }
  return lines;
}

const Argv kAptUpdate = {"env", "DEBIAN_FRONTEND=noninteractive", "apt-get",
                         "-o",  "DPkg::Lock::Timeout=120",        "update"};
Argv apt_install(const char* package) {
  return {"env",
          "DEBIAN_FRONTEND=noninteractive",
          "apt-get",
          "-o",
          "DPkg::Lock::Timeout=120",
          "install",
          "-y",
          package};
}

}  // namespace

TEST_CASE("install-ntp plans the distribution's daemon, package and commands",
          "[install][fixtures]") {
  struct Row {
    const char* image;
    const char* daemon;
    const char* package;
    const char* config;
    const char* service;
    std::vector<Argv> commands;
  };
  const Row rows[] = {
      {"debian-11", "ntp", "ntp", "/etc/ntp.conf", "ntp", {kAptUpdate, apt_install("ntp")}},
      {"debian-12",
       "ntpsec",
       "ntpsec",
       "/etc/ntpsec/ntp.conf",
       "ntpsec",
       {kAptUpdate, apt_install("ntpsec")}},
      {"debian-13",
       "ntpsec",
       "ntpsec",
       "/etc/ntpsec/ntp.conf",
       "ntpsec",
       {kAptUpdate, apt_install("ntpsec")}},
      {"ubuntu-22.04",
       "ntpsec",
       "ntpsec",
       "/etc/ntpsec/ntp.conf",
       "ntpsec",
       {kAptUpdate, apt_install("ntpsec")}},
      {"ubuntu-24.04",
       "ntpsec",
       "ntpsec",
       "/etc/ntpsec/ntp.conf",
       "ntpsec",
       {kAptUpdate, apt_install("ntpsec")}},
      {"fedora-41",
       "ntpsec",
       "ntpsec",
       "/etc/ntp.conf",
       "ntpd",
       {{"dnf", "install", "-y", "ntpsec"}}},
      {"rocky-9",
       "chrony",
       "chrony",
       "/etc/chrony.conf",
       "chronyd",
       {{"dnf", "install", "-y", "chrony"}}},
      {"almalinux-9",
       "chrony",
       "chrony",
       "/etc/chrony.conf",
       "chronyd",
       {{"dnf", "install", "-y", "chrony"}}},
      {"arch",
       "ntp",
       "ntp",
       "/etc/ntp.conf",
       "ntpd",
       {{"pacman", "-S", "--needed", "--noconfirm", "ntp"}}},
      {"opensuse-leap-15.6",
       "chrony",
       "chrony",
       "/etc/chrony.conf",
       "chronyd",
       {{"env", "ZYPP_LOCK_TIMEOUT=120", "zypper", "--non-interactive", "install", "chrony"}}},
      {"opensuse-tumbleweed",
       "chrony",
       "chrony",
       "/etc/chrony.conf",
       "chronyd",
       {{"env", "ZYPP_LOCK_TIMEOUT=120", "zypper", "--non-interactive", "install", "chrony"}}},
      {"alpine-3.20",
       "chrony",
       "chrony",
       "/etc/chrony/chrony.conf",
       "chronyd",
       {{"apk", "update"}, {"apk", "add", "chrony"}}},
      {"centos-7-yum",
       "chrony",
       "chrony",
       "/etc/chrony.conf",
       "chronyd",
       {{"yum", "install", "-y", "chrony"}}},
      {"amazonlinux-2023",
       "chrony",
       "chrony",
       "/etc/chrony.conf",
       "chronyd",
       {{"dnf", "install", "-y", "chrony"}}},
  };
  for (const auto& row : rows) {
    INFO(row.image);
    auto [facts, plan] = plan_for(row.image);
    REQUIRE(plan);
    CHECK(to_string(plan->spec.daemon) == row.daemon);
    CHECK(plan->spec.package == row.package);
    CHECK(plan->spec.config_path == row.config);
    CHECK(plan->spec.service == row.service);
    CHECK_FALSE(plan->already_installed);
    CHECK(plan->removes.empty());
    CHECK(argv_lines(*plan, row.image) == row.commands);
  }
}

TEST_CASE("install-ntp keeps a supported daemon that is already installed", "[install][fixtures]") {
  auto [facts, plan] = plan_for("debian-12-ntpsec-openvz");
  REQUIRE(plan);
  CHECK(plan->already_installed);
  CHECK(plan->commands.empty());
  CHECK(plan->spec.daemon == Daemon::ntpsec);

  auto [facts2, chrony] = plan_for("fedora-41-chrony-lxc");
  REQUIRE(chrony);
  CHECK(chrony->already_installed);
  CHECK(chrony->spec.config_path == "/etc/chrony.conf");
}

TEST_CASE("install-ntp: replacing a daemon on Debian is reported, timesyncd is stopped",
          "[install][fixtures]") {
  auto [facts, plan] = plan_for("ubuntu-24.04-chrony-timesyncd", Daemon::ntpsec);
  REQUIRE(plan);
  CHECK(plan->removes == std::vector<std::string>{"chrony"});
  const std::string image = "ubuntu-24.04-chrony-timesyncd";
  CHECK(argv_lines(*plan, image) == std::vector<Argv>{{"systemctl", "stop", "systemd-timesyncd"},
                                                      {"systemctl", "disable", "systemd-timesyncd"},
                                                      kAptUpdate,
                                                      apt_install("ntpsec")});
}

TEST_CASE("install-ntp: OpenNTPD on Debian 11 is replaced by classic ntp", "[install][fixtures]") {
  auto [facts, plan] = plan_for("debian-11-openntpd-sysvinit");
  REQUIRE(plan);
  CHECK(plan->spec.daemon == Daemon::ntp);
  CHECK(plan->removes == std::vector<std::string>{"openntpd"});
}

TEST_CASE("install-ntp refuses what cannot be done, with the exit code", "[install][fixtures]") {
  auto unknown = plan_for("unknown-distro").plan;
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == ExitCode::unsupported);
  CHECK(unknown.error().message().find("ID=plan9") != std::string::npos);
  CHECK(unknown.error().fix.find("apt-get install ntpsec") != std::string::npos);

  auto missing = plan_for("rocky-9-no-package-manager").plan;
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ExitCode::unsupported);
  CHECK(missing.error().what.find("no package manager") != std::string::npos);

  auto no_ntpsec = plan_for("rocky-9", Daemon::ntpsec).plan;
  REQUIRE_FALSE(no_ntpsec);
  CHECK(no_ntpsec.error().code == ExitCode::unsupported);
  CHECK(no_ntpsec.error().fix == "use --daemon chrony");

  // Debian 12's `ntp` is only a transitional package that installs ntpsec.
  auto classic = plan_for("debian-12", Daemon::ntp).plan;
  REQUIRE_FALSE(classic);
  CHECK(classic.error().fix == "use --daemon ntpsec or chrony");

  auto no_release = plan_for("no-os-release").plan;
  REQUIRE_FALSE(no_release);
  CHECK(no_release.error().code == ExitCode::unsupported);
}

TEST_CASE("install-ntp: pacman's lock file stops the plan before anything runs", "[install]") {
  test::TempDir root;
  root.write("etc/os-release", "ID=arch\nPRETTY_NAME=\"Arch Linux\"\n");
  root.write("usr/bin/pacman", "");
  root.write("var/lib/pacman/db.lck", "");
  RootedFs fs(root.path());
  test::FakeRunner runner;
  auto plan = plan_install(detect(fs, runner), fs, {});
  REQUIRE_FALSE(plan);
  CHECK(plan.error().code == ExitCode::unavailable);
}

namespace {

ProcessResult exited(int status, std::string err = {}) {
  ProcessResult result;
  result.exit_code = status;
  result.err = std::move(err);
  return result;
}

InstallPlan ntpsec_plan(std::vector<Command> commands) {
  InstallPlan plan;
  plan.spec = {Daemon::ntpsec, "ntpsec", "/etc/ntpsec/ntp.conf", "ntpsec", "", ""};
  plan.commands = std::move(commands);
  return plan;
}

}  // namespace

TEST_CASE("apply_install stops at the first failing command and shows its output", "[install]") {
  test::TempDir root;
  test::FakeEffects fx(root.path());
  fx.runner.answer = [](const Command& c) {
    return c.argv[1] == "second" ? exited(100, "E: Unable to locate package nope\n") : exited(0);
  };
  InstallPlan plan = ntpsec_plan({{{"step", "first"}}, {{"step", "second"}}, {{"step", "never"}}});
  std::vector<std::string> told;
  StepEvents events;
  events.command = [&](const Command& c) { told.push_back(c.argv[1]); };
  auto result = apply_install(plan, fx.effects(), events);
  REQUIRE_FALSE(result);
  CHECK(told == std::vector<std::string>{"first", "second"});
  CHECK(fx.runner.recorded().size() == 2);
  CHECK(result.error().code == ExitCode::unavailable);
  CHECK(result.error().why == "exit status 100");
  CHECK(result.error().details == "E: Unable to locate package nope");
}

TEST_CASE("apply_install retries while the package manager is locked, then gives up", "[install]") {
  test::TempDir root;
  test::FakeEffects fx(root.path());
  fx.runner.answer = [](const Command&) {
    return exited(100, "E: Could not get lock /var/lib/apt/lists/lock\n");
  };
  InstallPlan plan = ntpsec_plan({{{"apt-get", "update"}}});
  plan.lock_timeout = std::chrono::seconds(7);
  int told = 0;
  StepEvents events;
  events.command = [&](const Command&) { ++told; };
  auto result = apply_install(plan, fx.effects(), events);
  REQUIRE_FALSE(result);
  CHECK(told == 1);  // told once; retried silently
  CHECK(result.error().what == "the package manager is locked by another process");
  // Tried at 0, 2, 4 and 6 s: one more wait would end past the 7 s.
  CHECK(fx.runner.recorded().size() == 4);
  CHECK(fx.clock.slept == std::chrono::seconds(6));
}

TEST_CASE("apply_install: once the lock is free the install goes on, and the program must be there",
          "[install]") {
  test::TempDir root;
  test::FakeEffects fx(root.path());
  int tries = 0;
  fx.runner.answer = [&](const Command&) {
    return ++tries == 1 ? exited(100, "E: Could not get lock /var/lib/dpkg/lock-frontend\n")
                        : exited(0);
  };
  InstallPlan plan = ntpsec_plan({{{"apt-get", "install", "-y", "ntpsec"}}});
  auto missing = apply_install(plan, fx.effects());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().what == "ntpsec was not installed");
  CHECK(fx.clock.slept == std::chrono::seconds(2));
  // The package manager really installed it this time.
  root.write("usr/sbin/ntpd", "");
  root.write("usr/sbin/ntpkeygen", "");
  tries = 0;
  auto installed = apply_install(plan, fx.effects());
  REQUIRE(installed);
  CHECK(installed->installed == std::vector<std::string>{"ntpsec"});
}

TEST_CASE("install-ntp: what Alpine and openSUSE package besides chrony", "[install]") {
  auto spec_of = [](const char* image, Daemon daemon) {
    return daemon_spec(read_distro(RootedFs(test::fixture_image(image))), daemon);
  };
  // Alpine's community ntpsec: classic paths, OpenRC service ntpsec.
  auto alpine = spec_of("alpine-3.20", Daemon::ntpsec);
  REQUIRE(alpine);
  CHECK(alpine->config_path == "/etc/ntp.conf");
  CHECK(alpine->service == "ntpsec");
  CHECK(alpine->driftfile == "/var/lib/ntp/ntp.drift");
  CHECK_FALSE(spec_of("alpine-3.20", Daemon::ntp));
  // Tumbleweed: ntpsec with ntpd.service; chrony's /etc/chrony.conf overrides /usr/etc's.
  auto tumbleweed = spec_of("opensuse-tumbleweed", Daemon::ntpsec);
  REQUIRE(tumbleweed);
  CHECK(tumbleweed->config_path == "/etc/ntp.conf");
  CHECK(tumbleweed->service == "ntpd");
  auto chrony = spec_of("opensuse-tumbleweed", Daemon::chrony);
  REQUIRE(chrony);
  CHECK(chrony->config_path == "/etc/chrony.conf");
  CHECK(chrony->vendor_config == "/usr/etc/chrony.conf");
  // Leap 15.6 is unchanged: chrony only, its config in /etc.
  CHECK_FALSE(spec_of("opensuse-leap-15.6", Daemon::ntpsec));
  CHECK(spec_of("opensuse-leap-15.6", Daemon::chrony)->vendor_config.empty());
}
