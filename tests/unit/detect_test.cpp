// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/detect.hpp"

#include <cstring>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/fs.hpp"
#include "pooljoin/process.hpp"

using namespace pooljoin;
using Strings = std::vector<std::string>;

namespace {

// Netlink messages as the kernel sends them in answer to RTM_GETADDR, built field by field.
class Dump {
 public:
  // One RTM_NEWADDR; `attributes` are (type, bytes) pairs.
  Dump& address(std::uint32_t sequence, unsigned char family, unsigned char flags,
                std::vector<std::pair<unsigned short, std::vector<std::uint8_t>>> attributes,
                unsigned short message_flags = NLM_F_MULTI) {
    std::vector<std::uint8_t> payload(NLMSG_ALIGN(sizeof(ifaddrmsg)));
    ifaddrmsg message{};
    message.ifa_family = family;
    message.ifa_flags = flags;
    std::memcpy(payload.data(), &message, sizeof message);
    for (const auto& [type, data] : attributes) {
      rtattr attribute{};
      attribute.rta_type = type;
      attribute.rta_len = static_cast<unsigned short>(RTA_LENGTH(data.size()));
      const std::size_t at = payload.size();
      payload.resize(at + RTA_SPACE(data.size()));
      std::memcpy(payload.data() + at, &attribute, sizeof attribute);
      std::memcpy(payload.data() + at + RTA_LENGTH(0), data.data(), data.size());
    }
    return message_of(RTM_NEWADDR, sequence, message_flags, payload);
  }
  Dump& done(std::uint32_t sequence) {
    return message_of(NLMSG_DONE, sequence, NLM_F_MULTI, {0, 0, 0, 0});
  }
  Dump& error(std::uint32_t sequence) {
    return message_of(NLMSG_ERROR, sequence, 0, std::vector<std::uint8_t>(20));
  }
  std::vector<std::uint8_t> bytes;

 private:
  Dump& message_of(unsigned short type, std::uint32_t sequence, unsigned short flags,
                   const std::vector<std::uint8_t>& payload) {
    nlmsghdr header{};
    header.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(payload.size()));
    header.nlmsg_type = type;
    header.nlmsg_flags = flags;
    header.nlmsg_seq = sequence;
    const std::size_t at = bytes.size();
    bytes.resize(at + NLMSG_SPACE(payload.size()));
    std::memcpy(bytes.data() + at, &header, sizeof header);
    std::memcpy(bytes.data() + at + NLMSG_HDRLEN, payload.data(), payload.size());
    return *this;
  }
};

std::vector<std::uint8_t> bytes_of(const char* address) {
  auto ip = *IpAddress::parse(address);
  const std::size_t size = ip.is_v4() ? 4 : 16;
  return {ip.bytes().begin(), ip.bytes().begin() + static_cast<long>(size)};
}

std::vector<std::uint8_t> cache_info(std::uint32_t preferred, std::uint32_t valid) {
  ifa_cacheinfo info{};
  info.ifa_prefered = preferred;
  info.ifa_valid = valid;
  std::vector<std::uint8_t> data(sizeof info);
  std::memcpy(data.data(), &info, sizeof info);
  return data;
}

std::vector<std::uint8_t> flags_of(std::uint32_t flags) {
  std::vector<std::uint8_t> data(4);
  std::memcpy(data.data(), &flags, 4);
  return data;
}

LocalAddress with_lifetime(const char* address, std::uint32_t valid, bool permanent,
                           const char* interface = "eth0") {
  LocalAddress local{*IpAddress::parse(address), interface};
  local.lifetime = AddressLifetime{valid, valid, permanent};
  return local;
}

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
  root.write("proc/1/environ", std::string("HOME=/\0container=lxc-libvirt\0TERM=xterm\0", 40));
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

TEST_CASE("detect: the live machine's loopback is permanent, as netlink tells", "[detect]") {
  auto lifetimes = read_address_lifetimes();
  REQUIRE(lifetimes);
  auto loopback = lifetimes->find(*IpAddress::parse("127.0.0.1"));
  REQUIRE(loopback != lifetimes->end());
  CHECK(loopback->second == AddressLifetime{});
  CHECK_FALSE(loopback->second.dynamic());
  std::vector<LocalAddress> global, excluded;
  machine_addresses(global, excluded);
  for (const auto& a : excluded) {
    if (a.address.to_string() == "127.0.0.1") CHECK(a.lifetime == AddressLifetime{});
  }
}

TEST_CASE("detect: lifetimes from a netlink address dump", "[detect][lifetime]") {
  constexpr std::uint32_t kSeq = 4242;
  AddressLifetimes lifetimes;
  Dump dump;
  // A DHCP lease: no IFA_F_PERMANENT, an hour left.
  dump.address(kSeq, AF_INET, 0,
               {{IFA_ADDRESS, bytes_of("203.0.113.5")},
                {IFA_LOCAL, bytes_of("203.0.113.5")},
                {IFA_CACHEINFO, cache_info(3000, 3600)}});
  // Set by hand: permanent, forever, the flags in IFA_FLAGS as well.
  dump.address(kSeq, AF_INET6, IFA_F_PERMANENT,
               {{IFA_ADDRESS, bytes_of("2001:db8::1")},
                {IFA_CACHEINFO, cache_info(AddressLifetime::kForever, AddressLifetime::kForever)},
                {IFA_FLAGS, flags_of(IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE)}});
  // A point-to-point link: IFA_LOCAL is ours, IFA_ADDRESS the peer's.
  dump.address(kSeq, AF_INET, IFA_F_PERMANENT,
               {{IFA_ADDRESS, bytes_of("198.51.100.2")},
                {IFA_LOCAL, bytes_of("198.51.100.1")},
                {IFA_CACHEINFO, cache_info(AddressLifetime::kForever, AddressLifetime::kForever)}});
  // SLAAC: autoconfigured, 30 days valid, 7 preferred.
  dump.address(
      kSeq, AF_INET6, 0,
      {{IFA_ADDRESS, bytes_of("2001:db8:1::5")}, {IFA_CACHEINFO, cache_info(604800, 2592000)}});
  // Another request's answer, and an attribute cut short: skipped.
  dump.address(kSeq + 1, AF_INET, 0, {{IFA_LOCAL, bytes_of("192.0.2.99")}});
  dump.address(kSeq, AF_INET, 0, {{IFA_LOCAL, {192, 0}}});
  REQUIRE(parse_address_dump(dump.bytes, kSeq, lifetimes) == DumpProgress::more);
  REQUIRE(lifetimes.size() == 4);
  CHECK(lifetimes[*IpAddress::parse("203.0.113.5")] == AddressLifetime{3600, 3000, false});
  CHECK(lifetimes[*IpAddress::parse("2001:db8::1")] == AddressLifetime{});
  CHECK(lifetimes.count(*IpAddress::parse("198.51.100.1")) == 1);
  CHECK(lifetimes.count(*IpAddress::parse("198.51.100.2")) == 0);
  CHECK(lifetimes[*IpAddress::parse("2001:db8:1::5")].dynamic());
  CHECK(lifetimes.count(*IpAddress::parse("192.0.2.99")) == 0);

  // The same address on another interface, leased there: dynamic; a permanent one after a
  // leased one does not hide it.
  Dump twice;
  twice.address(kSeq, AF_INET6, 0,
                {{IFA_ADDRESS, bytes_of("2001:db8::1")}, {IFA_CACHEINFO, cache_info(10, 20)}});
  twice.address(kSeq, AF_INET, IFA_F_PERMANENT, {{IFA_LOCAL, bytes_of("203.0.113.5")}});
  REQUIRE(parse_address_dump(twice.bytes, kSeq, lifetimes) == DumpProgress::more);
  CHECK(lifetimes[*IpAddress::parse("2001:db8::1")] == AddressLifetime{20, 10, false});
  CHECK(lifetimes[*IpAddress::parse("203.0.113.5")] == AddressLifetime{3600, 3000, false});

  // The end of the dump, and the ways it fails.
  CHECK(parse_address_dump(Dump().done(kSeq).bytes, kSeq, lifetimes) == DumpProgress::done);
  CHECK(parse_address_dump(Dump().done(kSeq + 1).bytes, kSeq, lifetimes) == DumpProgress::more);
  CHECK(parse_address_dump(Dump().error(kSeq).bytes, kSeq, lifetimes) == DumpProgress::failed);
  Dump interrupted;
  interrupted.address(kSeq, AF_INET, 0, {{IFA_LOCAL, bytes_of("192.0.2.1")}},
                      NLM_F_MULTI | NLM_F_DUMP_INTR);
  CHECK(parse_address_dump(interrupted.bytes, kSeq, lifetimes) == DumpProgress::failed);
  auto cut = Dump().done(kSeq).bytes;
  cut.resize(cut.size() - 2);
  CHECK(parse_address_dump(cut, kSeq, lifetimes) == DumpProgress::failed);
  CHECK(parse_address_dump({}, kSeq, lifetimes) == DumpProgress::more);
}

TEST_CASE("detect: a dynamic address is a warning, a static or unknown one is not",
          "[detect][lifetime]") {
  LocalAddress unknown{*IpAddress::parse("185.255.0.4"), "eth0"};
  const std::vector<LocalAddress> addresses = {
      with_lifetime("185.255.0.5", 3600, false),
      with_lifetime("185.255.0.6", AddressLifetime::kForever, true),
      unknown,
      with_lifetime("2a0a:e5c0::5", 2592000, false, "eth1"),
      with_lifetime("2a0a:e5c0::6", AddressLifetime::kForever, false, "eth1"),
  };
  auto findings = diagnose_dynamic_addresses(addresses, "detect.address.dynamic");
  REQUIRE(findings.size() == 3);
  for (const auto& f : findings) {
    CHECK(f.id == "detect.address.dynamic");
    CHECK(f.severity == Severity::warn);
    CHECK_THAT(f.fix, Catch::StartsWith("configure it statically, or make sure the lease is a "
                                        "reservation that never changes"));
  }
  CHECK(findings[0].message ==
        "185.255.0.5 on eth0 is dynamic, a DHCP lease or IPv6 autoconfiguration (the kernel "
        "drops it in 1h unless it is renewed): the pool asks for an address that changes once a "
        "year or less");
  CHECK_THAT(findings[1].message, Catch::Contains("2a0a:e5c0::5 on eth1 is dynamic") &&
                                      Catch::Contains("the kernel drops it in 30 days unless"));
  CHECK_THAT(findings[2].message,
             Catch::Contains("(not set by hand, though without an end to its lifetime)"));
  CHECK(describe_lifetime(AddressLifetime{5400, 5400, false}) == "1h30m");
  CHECK(describe_lifetime(AddressLifetime{}) == "forever");
  CHECK(diagnose_dynamic_addresses({unknown, addresses[1]}, "x").empty());
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
