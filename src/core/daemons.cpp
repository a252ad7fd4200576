// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/daemons.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/detect.hpp"

namespace pooljoin {
namespace {

// Debian switched to ntpsec in 12 (bookworm): `ntp` there is a transitional package that
// installs ntpsec, and it is gone in 13. Ubuntu followed in 23.04; 22.04 ships both, and ntpsec
// is preferred as the maintained successor.
bool debian_has_classic_ntp(const Distro& d) {
  if (d.id == "debian") return !d.version_id.empty() && compare_versions(d.version_id, "12") < 0;
  if (d.id == "ubuntu") return compare_versions(d.version_id, "23.04") < 0;
  return false;
}

bool debian_prefers_ntpsec(const Distro& d) {
  if (d.id == "debian") return d.version_id.empty() || compare_versions(d.version_id, "12") >= 0;
  if (d.id == "ubuntu") return compare_versions(d.version_id, "22.04") >= 0;
  return true;  // derivatives: ntpsec is packaged across the whole current family
}

DaemonSpec chrony_rpm_style() {
  return {Daemon::chrony,          "chrony",   "/etc/chrony.conf", "chronyd",
          "/var/lib/chrony/drift", "right/UTC"};
}

// Fedora 41's own chrony.conf reads tzdata's leap-second list with `leapseclist`, which chrony
// has since 4.6 (chrony's NEWS, https://chrony-project.org/news.html; Fedora's chrony.conf in
// https://src.fedoraproject.org/rpms/chrony). Elsewhere leapseclist is not known to be supported by
// the packaged chrony (Debian 12 has 4.3, Leap 15.6 4.1, RHEL 9 4.5), and the right/UTC zone
// stays; Fedora's derivatives number their releases their own way and keep it too.
DaemonSpec fedora_chrony(const Distro& d) {
  DaemonSpec spec = chrony_rpm_style();
  if (d.id == "fedora" && (d.version_id.empty() || compare_versions(d.version_id, "41") >= 0))
    spec.leapfile = "/usr/share/zoneinfo/leap-seconds.list";
  return spec;
}

DaemonSpec chrony_debian_style(std::string service) {
  return {Daemon::chrony,
          "chrony",
          "/etc/chrony/chrony.conf",
          std::move(service),
          "/var/lib/chrony/chrony.drift",
          "right/UTC"};
}

DaemonSpec classic_ntp(std::string service) {
  return {Daemon::ntp,
          "ntp",
          "/etc/ntp.conf",
          std::move(service),
          "/var/lib/ntp/ntp.drift",
          "/usr/share/zoneinfo/leap-seconds.list"};
}

}  // namespace

std::string_view to_string(Daemon daemon) {
  switch (daemon) {
    case Daemon::ntpsec:
      return "ntpsec";
    case Daemon::ntp:
      return "ntp";
    case Daemon::chrony:
      return "chrony";
  }
  return "?";
}

std::optional<Daemon> parse_daemon(std::string_view name) {
  if (name == "ntpsec") return Daemon::ntpsec;
  if (name == "ntp") return Daemon::ntp;
  if (name == "chrony") return Daemon::chrony;
  return std::nullopt;
}

std::optional<DaemonSpec> daemon_spec(const Distro& distro, Daemon daemon) {
  switch (distro.family) {
    case Family::debian:
      // Verified on Debian 12 (ntpsec 1.2.2): config, service, drift and leap files.
      if (daemon == Daemon::ntpsec) {
        return DaemonSpec{
            Daemon::ntpsec,
            "ntpsec",
            "/etc/ntpsec/ntp.conf",
            "ntpsec",
            "/var/lib/ntpsec/ntp.drift",
            "/usr/share/zoneinfo/leap-seconds.list",
            DhcpHook{"/run/ntpsec/ntp.conf.dhcp", "/etc/default/ntpsec", "IGNORE_DHCP"}};
      }
      if (daemon == Daemon::ntp) {
        if (!debian_has_classic_ntp(distro)) return std::nullopt;
        // Debian 11's ntp 4.2.8p15: its start script (/usr/lib/ntp/ntp-systemd-wrapper) runs the
        // DHCP copy whenever it exists; /etc/default/ntp has no switch to ignore it.
        auto spec = classic_ntp("ntp");
        spec.dhcp = DhcpHook{"/run/ntp.conf.dhcp", "/etc/default/ntp", ""};
        return spec;
      }
      return chrony_debian_style("chrony");
    case Family::fedora:
      // Fedora packages ntpsec with the classic paths and an ntpd.service unit (its spec file).
      if (daemon == Daemon::ntpsec) {
        return DaemonSpec{Daemon::ntpsec,           "ntpsec",
                          "/etc/ntp.conf",          "ntpd",
                          "/var/lib/ntp/ntp.drift", "/usr/share/zoneinfo/leap-seconds.list"};
      }
      if (daemon == Daemon::chrony) return fedora_chrony(distro);
      return std::nullopt;
    case Family::rhel:
      // RHEL 8+ and its rebuilds, and Amazon Linux 2023, ship only chrony in the base OS.
      if (daemon == Daemon::chrony) return chrony_rpm_style();
      return std::nullopt;
    case Family::arch:
      if (daemon == Daemon::ntp) return classic_ntp("ntpd");
      if (daemon == Daemon::chrony) return chrony_rpm_style();
      return std::nullopt;
    case Family::suse:
      // SLE/openSUSE Leap 15 dropped ntpd for chrony, their default client.
      if (distro.id != "opensuse-tumbleweed") {
        if (daemon == Daemon::chrony) return chrony_rpm_style();
        return std::nullopt;
      }
      // Tumbleweed: chrony 4.9 ships its config as /usr/etc/chrony.conf, and /etc/chrony.conf is
      // the administrator's override; ntpsec is packaged too (its spec: /etc/ntp.conf,
      // ntpd.service; the drift directory of openSUSE's ntp user).
      if (daemon == Daemon::chrony) {
        auto spec = chrony_rpm_style();
        spec.vendor_config = "/usr/etc/chrony.conf";
        return spec;
      }
      if (daemon == Daemon::ntpsec) {
        return DaemonSpec{Daemon::ntpsec,
                          "ntpsec",
                          "/etc/ntp.conf",
                          "ntpd",
                          "/var/lib/ntp/drift/ntp.drift",
                          "/usr/share/zoneinfo/leap-seconds.list"};
      }
      return std::nullopt;
    case Family::alpine:
      // Alpine's default NTP server is chrony (setup-ntp), with Debian-style paths. ntpsec is in
      // the community repository (1.2.3 in 3.20): classic paths, OpenRC service `ntpsec`. Its
      // /usr/sbin/ntpd is busybox's applet until then, which detect tells apart.
      if (daemon == Daemon::chrony) return chrony_debian_style("chronyd");
      if (daemon == Daemon::ntpsec) {
        return DaemonSpec{Daemon::ntpsec,           "ntpsec",
                          "/etc/ntp.conf",          "ntpsec",
                          "/var/lib/ntp/ntp.drift", "/usr/share/zoneinfo/leap-seconds.list"};
      }
      return std::nullopt;
    case Family::unknown:
      break;
  }
  return std::nullopt;
}

std::optional<Daemon> default_daemon(const Distro& distro) {
  switch (distro.family) {
    case Family::debian:
      return debian_prefers_ntpsec(distro) ? Daemon::ntpsec : Daemon::ntp;
    case Family::fedora:
      return Daemon::ntpsec;
    case Family::arch:
      return Daemon::ntp;
    case Family::rhel:
    case Family::suse:
    case Family::alpine:
      return Daemon::chrony;
    case Family::unknown:
      break;
  }
  return std::nullopt;
}

std::vector<Daemon> packaged_daemons(const Distro& distro) {
  std::vector<Daemon> result;
  auto first = default_daemon(distro);
  if (!first) return result;
  result.push_back(*first);
  for (Daemon d : {Daemon::ntpsec, Daemon::ntp, Daemon::chrony}) {
    if (d != *first && daemon_spec(distro, d)) result.push_back(d);
  }
  return result;
}

Result<DaemonSpec> resolve_daemon_spec(const SystemFacts& facts, std::optional<Daemon> daemon,
                                       std::string_view manual_fix) {
  const Distro& distro = facts.distro;
  if (distro.family == Family::unknown) {
    return fail(ExitCode::unsupported, "unsupported distribution",
                distro.id.empty() ? unreadable_reason(distro) : "ID=" + distro.id,
                std::string(manual_fix));
  }
  if (!daemon) daemon = facts.recommended;
  if (!daemon) {
    return fail(ExitCode::unsupported, "no NTP daemon known for this distribution",
                "ID=" + distro.id, "choose one with --daemon ntpsec, ntp or chrony");
  }
  auto spec = daemon_spec(distro, *daemon);
  if (!spec) {
    std::vector<std::string_view> names;
    for (Daemon d : packaged_daemons(distro))
      names.push_back(to_string(d));
    return fail(ExitCode::unsupported,
                fmt::format("{} does not package {}", distro.pretty_name, to_string(*daemon)), {},
                fmt::format("use --daemon {}",
                            names.empty() ? "auto" : fmt::format("{}", fmt::join(names, " or "))));
  }
  return *spec;
}

}  // namespace pooljoin
