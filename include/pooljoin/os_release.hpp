// SPDX-License-Identifier: Apache-2.0
// The distribution, read from os-release(5), and the family that decides packaging.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pooljoin {

class RootedFs;

enum class Family { unknown, debian, fedora, rhel, arch, suse, alpine };

std::string_view to_string(Family family);

struct Distro {
  std::string id;                    // "debian", "ubuntu", "rocky", ...
  std::vector<std::string> id_like;  // "rhel", "centos", "fedora", ...
  std::string version_id;            // "12", "22.04", "" on rolling releases
  std::string pretty_name;
  Family family = Family::unknown;
  // Why no os-release could be read: "no /etc/os-release", or the read's error when one is there
  // but is not a regular file or is too big (never taken for a missing file).
  std::string unreadable;
};

// Parses os-release syntax: KEY=value lines, values optionally quoted with shell quoting
// ("..." with \" \\ \$ \` escapes, or '...'); comments and malformed lines are skipped.
std::map<std::string, std::string> parse_os_release(std::string_view text);

Distro distro_from_os_release(const std::map<std::string, std::string>& fields);

// Why a distribution without an ID is unknown: Distro::unreadable, or "no /etc/os-release".
inline std::string unreadable_reason(const Distro& distro) {
  return distro.unreadable.empty() ? std::string("no /etc/os-release") : distro.unreadable;
}

// /etc/os-release, falling back to /usr/lib/os-release; an unknown Distro when neither exists.
Distro read_distro(const RootedFs& fs);

// Compares dotted version strings numerically ("22.04" < "24.04", "9" < "10"); an empty
// version (rolling release, testing) counts as newer than any number.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace pooljoin
