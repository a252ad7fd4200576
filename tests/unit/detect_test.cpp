#include "pooljoin/detect.hpp"

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/fs.hpp"
#include "pooljoin/process.hpp"

using namespace pooljoin;
using Strings = std::vector<std::string>;

namespace {

SystemFacts detect_image(const std::string& image) {
  test::FakeRunner runner;  // detect must not run anything on an image
  SystemFacts facts = detect(RootedFs(test::fixture_image(image)), runner);
  CHECK(runner.recorded().empty());
  return facts;
}

}  // namespace

TEST_CASE("detect: package manager, init, virtualisation, daemons of each image",
          "[detect][fixtures]") {
  struct Row {
    const char* image;
    const char* package_manager;
    InitSystem init;
    const char* virtualization;
    Strings installed;
    Strings running;
    const char* recommended;  // "" for none
  };
  const Row rows[] = {
      {"debian-11", "apt-get", InitSystem::none, "none", {}, {}, "ntp"},
      {"debian-12", "apt-get", InitSystem::none, "none", {}, {}, "ntpsec"},
      {"debian-13", "apt-get", InitSystem::none, "none", {}, {}, "ntpsec"},
      {"ubuntu-22.04", "apt-get", InitSystem::none, "none", {}, {}, "ntpsec"},
      {"ubuntu-24.04", "apt-get", InitSystem::none, "none", {}, {}, "ntpsec"},
      {"fedora-41", "dnf", InitSystem::none, "none", {}, {}, "ntpsec"},
      {"rocky-9", "dnf", InitSystem::none, "none", {}, {}, "chrony"},
      {"almalinux-9", "dnf", InitSystem::none, "none", {}, {}, "chrony"},
      {"arch", "pacman", InitSystem::none, "none", {}, {}, "ntp"},
      {"opensuse-leap-15.6", "zypper", InitSystem::none, "none", {}, {}, "chrony"},
      {"opensuse-tumbleweed", "zypper", InitSystem::none, "none", {}, {}, "chrony"},
      // /usr/sbin/ntpd is busybox's applet: not classic ntp, and chrony is set up.
      {"alpine-3.20", "apk", InitSystem::none, "none", {"busybox-ntpd"}, {}, "chrony"},
      {"amazonlinux-2023", "dnf", InitSystem::none, "none", {}, {}, "chrony"},
      {"ubuntu-24.04-chrony-timesyncd",
       "apt-get",
       InitSystem::systemd,
       "kvm",
       {"chrony", "systemd-timesyncd"},
       {"chrony", "systemd-timesyncd"},
       "chrony"},
      {"debian-12-ntpsec-openvz",
       "apt-get",
       InitSystem::systemd,
       "openvz",
       {"ntpsec"},
       {"ntpsec"},
       "ntpsec"},
      {"fedora-41-chrony-lxc", "dnf", InitSystem::systemd, "lxc", {"chrony"}, {"chrony"}, "chrony"},
      {"alpine-3.20-openrc-podman",
       "apk",
       InitSystem::openrc,
       "podman",
       {"busybox-ntpd"},
       {"busybox-ntpd"},
       "chrony"},
      {"arch-ntp-runit-xen", "pacman", InitSystem::runit, "xen", {"ntp"}, {}, "ntp"},
      {"debian-11-openntpd-sysvinit",
       "apt-get",
       InitSystem::sysvinit,
       "none",
       {"openntpd"},
       {"openntpd"},
       "ntp"},
      {"debian-12-docker", "apt-get", InitSystem::none, "docker", {}, {}, "ntpsec"},
      {"centos-7-yum", "yum", InitSystem::none, "none", {}, {}, "chrony"},
      {"rocky-9-no-package-manager", "", InitSystem::none, "none", {}, {}, "chrony"},
      {"unknown-distro", "", InitSystem::none, "none", {}, {}, ""},
      {"no-os-release", "apt-get", InitSystem::none, "none", {}, {}, ""},
  };
  for (const auto& row : rows) {
    INFO(row.image);
    SystemFacts facts = detect_image(row.image);
    CHECK(facts.package_manager == row.package_manager);
    CHECK(facts.init == row.init);
    CHECK(facts.virtualization == row.virtualization);
    CHECK(facts.daemons_installed == row.installed);
    CHECK(facts.daemons_running == row.running);
    CHECK((facts.recommended ? std::string(to_string(*facts.recommended)) : "") == row.recommended);
  }
}

TEST_CASE("detect: virtualisation from DMI, cpuinfo and container markers", "[detect]") {
  test::TempDir root;
  test::FakeRunner runner;
  RootedFs fs(root.path());
  CHECK(detect_virtualization(fs, runner) == "none");
  root.write("sys/class/dmi/id/sys_vendor", "VMware, Inc.\n");
  CHECK(detect_virtualization(fs, runner) == "vmware");
  root.write("sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n");
  root.write("sys/class/dmi/id/product_name", "Virtual Machine\n");
  CHECK(detect_virtualization(fs, runner) == "microsoft");
  root.write("proc/1/environ", std::string("HOME=/\0container=lxc-libvirt\0TERM=xterm\0", 41));
  CHECK(detect_virtualization(fs, runner) == "lxc");
  // The host of OpenVZ containers has /proc/bc; it is not itself a container.
  test::TempDir host;
  host.write("proc/vz/veinfo", "");
  host.write("proc/bc/0/resources", "");
  host.write("proc/cpuinfo", "flags\t\t: fpu vme de pse\n");
  CHECK(detect_virtualization(RootedFs(host.path()), runner) == "none");
  // A hypervisor flag with nothing else: named generically (no process is run on an image).
  host.write("proc/cpuinfo", "flags\t\t: fpu vme de pse hypervisor lahf_lm\n");
  CHECK(detect_virtualization(RootedFs(host.path()), runner) == "vm-other");
  CHECK(runner.recorded().empty());
}

TEST_CASE("detect: the live machine's addresses are split by usability", "[detect]") {
  std::vector<LocalAddress> global, excluded;
  machine_addresses(global, excluded);
  for (const auto& a : global)
    CHECK(a.address.is_global_unicast());
  for (const auto& a : excluded)
    CHECK_FALSE(a.reason().empty());
  // Every machine has a loopback interface, and loopback is never usable.
  bool has_loopback = false;
  for (const auto& a : excluded)
    has_loopback |= a.address.to_string() == "127.0.0.1";
  CHECK(has_loopback);
}

TEST_CASE("detect: a running daemon that is not installed is not recommended", "[detect]") {
  test::TempDir root;
  root.write("etc/os-release", "ID=debian\nVERSION_ID=12\n");
  root.write("usr/sbin/ntpd", "");
  root.write("usr/sbin/ntpleapfetch", "");
  root.write("proc/10/comm", "chronyd\n");  // e.g. run from a scratch directory
  test::FakeRunner runner;
  SystemFacts facts = detect(RootedFs(root.path()), runner);
  CHECK(facts.daemons_installed == std::vector<std::string>{"ntpsec"});
  CHECK(facts.daemons_running == std::vector<std::string>{"chrony"});
  CHECK(facts.recommended == Daemon::ntpsec);
}
