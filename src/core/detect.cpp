// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/detect.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pooljoin/duration.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/process.hpp"

namespace pooljoin {
namespace {

constexpr const char* kBinaryDirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin"};

// IFA_F_* flags of /proc/net/if_inet6 that make an IPv6 address unfit for the pool.
constexpr unsigned kIfaTemporary = 0x01, kIfaDadFailed = 0x08, kIfaDeprecated = 0x20,
                   kIfaTentative = 0x40;

std::string first_line(std::optional<std::string> text) {
  if (!text) return {};
  auto nl = text->find('\n');
  std::string line = text->substr(0, nl);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r'))
    line.pop_back();
  return line;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Flags of each IPv6 address from /proc/net/if_inet6 ("<32 hex> <ifindex> <plen> <scope>
// <flags> <name>"), keyed by the address.
std::map<IpAddress, unsigned> ipv6_flags() {
  std::map<IpAddress, unsigned> flags;
  std::istringstream in(read_host_file("/proc/net/if_inet6").value_or(""));
  std::string hex, index, plen, scope, flag_text, name;
  while (in >> hex >> index >> plen >> scope >> flag_text >> name) {
    if (hex.size() != 32) continue;
    std::string text;
    for (std::size_t i = 0; i < 32; i += 4) {
      if (i) text += ':';
      text.append(hex, i, 4);
    }
    if (auto ip = IpAddress::parse(text))
      flags[*ip] = static_cast<unsigned>(std::stoul(flag_text, nullptr, 16));
  }
  return flags;
}

std::string virtualization_from_dmi(const RootedFs& fs) {
  std::string vendor = first_line(fs.read("/sys/class/dmi/id/sys_vendor"));
  std::string product = first_line(fs.read("/sys/class/dmi/id/product_name"));
  std::string bios = first_line(fs.read("/sys/class/dmi/id/bios_vendor"));
  std::string all = vendor + "|" + product + "|" + bios;
  if (contains(all, "QEMU") || contains(all, "KVM")) return "kvm";
  if (contains(all, "Amazon EC2")) return "amazon";
  if (contains(all, "Google")) return "google";
  if (contains(all, "VMware")) return "vmware";
  if (contains(all, "innotek") || contains(all, "VirtualBox")) return "oracle";
  if (contains(all, "Xen")) return "xen";
  if (contains(all, "Microsoft Corporation") && contains(product, "Virtual Machine"))
    return "microsoft";
  if (contains(all, "Parallels")) return "parallels";
  if (contains(all, "Bochs")) return "bochs";
  return {};
}

}  // namespace

std::string_view to_string(InitSystem init) {
  switch (init) {
    case InitSystem::systemd:
      return "systemd";
    case InitSystem::openrc:
      return "openrc";
    case InitSystem::sysvinit:
      return "sysvinit";
    case InitSystem::runit:
      return "runit";
    case InitSystem::none:
      break;
  }
  return "none";
}

bool SystemFacts::has_installed(std::string_view daemon) const {
  return std::find(daemons_installed.begin(), daemons_installed.end(), daemon) !=
         daemons_installed.end();
}

bool SystemFacts::has_running(std::string_view daemon) const {
  return std::find(daemons_running.begin(), daemons_running.end(), daemon) != daemons_running.end();
}

bool SystemFacts::has_global(IpFamily family) const {
  return std::any_of(addresses.begin(), addresses.end(),
                     [&](const LocalAddress& a) { return a.address.family() == family; });
}

std::vector<LocalAddress> SystemFacts::all_addresses() const {
  std::vector<LocalAddress> all = addresses;
  all.insert(all.end(), excluded.begin(), excluded.end());
  return all;
}

bool SystemFacts::only_private_addresses() const {
  return addresses.empty() && std::any_of(excluded.begin(), excluded.end(),
                                          [](const LocalAddress& a) { return a.behind_nat(); });
}

bool SystemFacts::can_reach_ipv4() const {
  return has_global(IpFamily::v4) ||
         std::any_of(excluded.begin(), excluded.end(), [](const LocalAddress& a) {
           return a.address.is_v4() && a.address.scope() != AddressScope::loopback;
         });
}

// Whether the first `program` in the usual binary directories is a link to busybox.
static bool is_busybox_applet(const RootedFs& fs, std::string_view program) {
  for (const char* dir : kBinaryDirs) {
    const std::string path = std::string(dir) + "/" + std::string(program);
    if (!fs.exists(path)) continue;
    auto target = fs.read_link(path);
    return target && std::filesystem::path(*target).filename() == "busybox";
  }
  return false;
}

bool has_program(const RootedFs& fs, std::string_view program) {
  return std::any_of(std::begin(kBinaryDirs), std::end(kBinaryDirs), [&](const char* dir) {
    return fs.exists(std::string(dir) + "/" + std::string(program));
  });
}

std::optional<std::string> find_program(const RootedFs& fs, std::string_view program) {
  std::vector<std::string> dirs;
  if (fs.is_live()) {
    const char* path = std::getenv("PATH");
    std::istringstream entries(path ? path : "");
    for (std::string dir; std::getline(entries, dir, ':');) {
      if (!dir.empty() && dir.front() == '/') dirs.push_back(dir);
    }
  }
  dirs.insert(dirs.end(), std::begin(kBinaryDirs), std::end(kBinaryDirs));
  for (const auto& dir : dirs) {
    std::string candidate = dir + "/" + std::string(program);
    if (::access(fs.host(candidate).c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string detect_package_manager(const RootedFs& fs, Family family) {
  std::vector<std::string_view> candidates;
  switch (family) {
    case Family::debian:
      candidates = {"apt-get"};
      break;
    case Family::fedora:
      candidates = {"dnf"};
      break;
    case Family::rhel:
      candidates = {"dnf", "yum"};
      break;
    case Family::arch:
      candidates = {"pacman"};
      break;
    case Family::suse:
      candidates = {"zypper"};
      break;
    case Family::alpine:
      candidates = {"apk"};
      break;
    case Family::unknown:
      candidates = {"apt-get", "dnf", "yum", "pacman", "zypper", "apk"};
      break;
  }
  for (auto program : candidates) {
    if (has_program(fs, program)) return std::string(program);
  }
  return {};
}

InitSystem detect_init_system(const RootedFs& fs) {
  // The markers each init system creates at boot: systemd only when /run/systemd/system exists
  // (sd_booted(3)); a systemd binary merely installed does not count.
  if (fs.is_directory("/run/systemd/system")) return InitSystem::systemd;
  if (fs.exists("/run/openrc/softlevel") || fs.is_directory("/run/openrc"))
    return InitSystem::openrc;
  std::string pid1 = first_line(fs.read("/proc/1/comm"));
  if (fs.is_directory("/run/runit") || pid1 == "runit" || pid1 == "runit-init")
    return InitSystem::runit;
  if (pid1 == "openrc-init") return InitSystem::openrc;
  if (fs.is_directory("/etc/init.d") && !fs.list("/etc/init.d").empty())
    return InitSystem::sysvinit;
  return InitSystem::none;
}

std::string detect_virtualization(const RootedFs& fs, ProcessRunner& runner) {
  // OpenVZ/Virtuozzo containers have /proc/vz (or user_beancounters) but not the host's /proc/bc.
  if ((fs.exists("/proc/vz") || fs.exists("/proc/user_beancounters")) && !fs.exists("/proc/bc")) {
    return "openvz";
  }
  if (fs.exists("/run/.containerenv")) return "podman";
  if (fs.exists("/.dockerenv")) return "docker";
  std::string container = first_line(fs.read("/run/systemd/container"));
  if (container.empty()) {
    if (auto environ = fs.read("/proc/1/environ")) {
      std::istringstream vars(*environ);
      for (std::string var; std::getline(vars, var, '\0');) {
        if (var.rfind("container=", 0) == 0) container = var.substr(10);
      }
    }
  }
  if (!container.empty()) return container == "lxc-libvirt" ? "lxc" : container;
  if (auto dmi = virtualization_from_dmi(fs); !dmi.empty()) return dmi;
  if (fs.exists("/proc/xen")) return "xen";
  auto cpuinfo = fs.read("/proc/cpuinfo", 16 * kReadCap);  // 4 KiB a CPU
  if (cpuinfo && contains(*cpuinfo, " hypervisor")) {
    // A hypervisor the files do not name: systemd-detect-virt reads CPUID and knows more.
    if (fs.is_live() && in_path("systemd-detect-virt")) {
      auto result = runner.run({{"systemd-detect-virt", "--vm"}}, {std::chrono::seconds(5)});
      if (result && result->ok()) {
        std::string name = first_line(result->out);
        if (!name.empty() && name != "none") return name;
      }
    }
    return "vm-other";
  }
  return "none";
}

std::vector<std::string> detect_installed_daemons(const RootedFs& fs) {
  std::vector<std::string> installed;
  // ntpsec, classic ntp and OpenNTPD all install an `ntpd`; their other programs tell them apart.
  // Every Alpine has one too: busybox's applet, a link to busybox, which is not classic ntp.
  if (has_program(fs, "ntpd")) {
    if (is_busybox_applet(fs, "ntpd")) {
      installed.push_back("busybox-ntpd");
    } else if (has_program(fs, "ntpleapfetch") || has_program(fs, "ntpkeygen")) {
      installed.push_back("ntpsec");
    } else if (has_program(fs, "ntpctl")) {
      installed.push_back("openntpd");
    } else {
      installed.push_back("ntp");
    }
  }
  if (has_program(fs, "chronyd")) installed.push_back("chrony");
  for (const char* path :
       {"/lib/systemd/systemd-timesyncd", "/usr/lib/systemd/systemd-timesyncd"}) {
    if (fs.exists(path)) {
      installed.push_back("systemd-timesyncd");
      break;
    }
  }
  return installed;
}

std::vector<std::string> detect_running_daemons(const RootedFs& fs,
                                                const std::vector<std::string>& installed) {
  std::vector<std::string> running;
  auto add = [&](const std::string& name) {
    if (std::find(running.begin(), running.end(), name) == running.end()) running.push_back(name);
  };
  // The ntpd process belongs to whichever ntpd-providing package is installed.
  std::string ntpd_owner = "ntp";
  for (const auto& name : installed) {
    if (name == "ntpsec" || name == "ntp" || name == "openntpd" || name == "busybox-ntpd")
      ntpd_owner = name;
  }
  // A daemon in another network namespace (a container, a test) does not serve this one's
  // addresses: on the live system only processes in our own namespace count.
  std::optional<std::string> own_netns =
      fs.is_live() ? fs.read_link("/proc/self/ns/net") : std::nullopt;
  for (const auto& entry : fs.list("/proc")) {
    if (entry.empty() || !std::all_of(entry.begin(), entry.end(), ::isdigit)) continue;
    std::string comm = first_line(fs.read("/proc/" + entry + "/comm"));
    std::string daemon;
    if (comm == "ntpd")
      daemon = ntpd_owner;
    else if (comm == "chronyd")
      daemon = "chrony";
    else if (comm == "systemd-timesyn")
      daemon = "systemd-timesyncd";  // comm is 15 characters
    else if (comm == "openntpd")
      daemon = "openntpd";
    else
      continue;
    // Only for the few that match: a readlink per process costs more than the whole scan.
    if (own_netns) {
      auto netns = fs.read_link("/proc/" + entry + "/ns/net");
      if (netns && *netns != *own_netns) continue;
    }
    add(daemon);
  }
  return running;
}

std::string LocalAddress::reason() const {
  switch (excluded) {
    case Exclusion::none:
      return {};
    case Exclusion::not_global:
      return std::string(address.non_global_reason());
    case Exclusion::temporary:
      return "temporary (privacy) address";
    case Exclusion::deprecated:
      return "deprecated address";
    case Exclusion::tentative:
      return "not yet valid (duplicate address detection)";
  }
  return {};
}

void machine_addresses(std::vector<LocalAddress>& global, std::vector<LocalAddress>& excluded) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return;
  auto flags = ipv6_flags();
  const auto lifetimes = read_address_lifetimes();
  for (ifaddrs* it = list; it; it = it->ifa_next) {
    if (!it->ifa_addr ||
        (it->ifa_addr->sa_family != AF_INET && it->ifa_addr->sa_family != AF_INET6)) {
      continue;
    }
    LocalAddress local{IpAddress::from_sockaddr(it->ifa_addr), it->ifa_name};
    if (lifetimes) {
      auto found = lifetimes->find(local.address);
      if (found != lifetimes->end()) local.lifetime = found->second;
    }
    if (!local.address.is_global_unicast()) {
      local.excluded = Exclusion::not_global;
    } else if (!local.address.is_v4()) {
      unsigned f = flags.count(local.address) ? flags[local.address] : 0;
      if (f & kIfaTemporary)
        local.excluded = Exclusion::temporary;
      else if (f & kIfaDeprecated)
        local.excluded = Exclusion::deprecated;
      else if (f & (kIfaTentative | kIfaDadFailed))
        local.excluded = Exclusion::tentative;
    }
    auto& into = local.excluded == Exclusion::none ? global : excluded;
    bool seen = std::any_of(into.begin(), into.end(),
                            [&](const LocalAddress& a) { return a.address == local.address; });
    if (!seen) into.push_back(std::move(local));
  }
  ::freeifaddrs(list);
  auto order = [](const LocalAddress& a, const LocalAddress& b) { return a.address < b.address; };
  std::sort(global.begin(), global.end(), order);
  std::sort(excluded.begin(), excluded.end(), order);
}

std::string describe_lifetime(const AddressLifetime& lifetime) {
  if (lifetime.valid_s == AddressLifetime::kForever) return "forever";
  constexpr std::uint32_t kDay = 24 * 3600;
  if (lifetime.valid_s >= 2 * kDay) return fmt::format("{} days", lifetime.valid_s / kDay);
  return format_duration(std::chrono::seconds(lifetime.valid_s));
}

std::vector<Finding> diagnose_dynamic_addresses(const std::vector<LocalAddress>& addresses,
                                                const std::string& id) {
  std::vector<Finding> findings;
  for (const auto& a : addresses) {
    if (!a.lifetime || !a.lifetime->dynamic()) continue;
    const std::string how =
        a.lifetime->valid_s == AddressLifetime::kForever
            ? std::string("not set by hand, though without an end to its lifetime")
            : fmt::format("the kernel drops it in {} unless it is renewed",
                          describe_lifetime(*a.lifetime));
    findings.push_back(
        {id, Severity::warn,
         fmt::format("{} on {} is dynamic, a DHCP lease or IPv6 autoconfiguration ({}): the "
                     "pool asks for an address that changes once a year or less",
                     a.address.to_string(), a.interface, how),
         "configure it statically, or make sure the lease is a reservation that never changes "
         "(many providers hand out a fixed address by DHCP: ask yours); if it changes, the pool "
         "keeps sending clients to the old one"});
  }
  return findings;
}

SystemFacts detect(const RootedFs& fs, ProcessRunner& runner) {
  SystemFacts facts;
  facts.distro = read_distro(fs);
  facts.package_manager = detect_package_manager(fs, facts.distro.family);
  facts.init = detect_init_system(fs);
  facts.virtualization = detect_virtualization(fs, runner);
  facts.daemons_installed = detect_installed_daemons(fs);
  facts.daemons_running = detect_running_daemons(fs, facts.daemons_installed);

  // Keep a supported daemon that is installed (the running one first) rather than replace it.
  for (bool want_running : {true, false}) {
    for (const auto& name : facts.daemons_installed) {
      auto daemon = parse_daemon(name);
      if (daemon && !facts.recommended && (!want_running || facts.has_running(name)))
        facts.recommended = daemon;
    }
  }
  if (!facts.recommended) facts.recommended = default_daemon(facts.distro);
  machine_addresses(facts.addresses, facts.excluded);
  return facts;
}

}  // namespace pooljoin
