// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/os_release.hpp"

#include <algorithm>
#include <charconv>

#include "pooljoin/fs.hpp"

namespace pooljoin {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The value of a right-hand side in shell quoting; nullopt when it is malformed.
std::optional<std::string> unquote(std::string_view raw) {
  std::string value;
  std::size_t i = 0;
  while (i < raw.size()) {
    char c = raw[i];
    if (c == '"') {
      ++i;
      while (i < raw.size() && raw[i] != '"') {
        if (raw[i] == '\\' && i + 1 < raw.size() &&
            std::string_view("\"\\$`").find(raw[i + 1]) != std::string_view::npos)
          ++i;
        value += raw[i++];
      }
      if (i >= raw.size()) return std::nullopt;  // unterminated
      ++i;
    } else if (c == '\'') {
      auto end = raw.find('\'', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      value.append(raw.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (c == '\\' && i + 1 < raw.size()) {
      value += raw[i + 1];
      i += 2;
    } else if (c == ' ' || c == '\t') {
      return std::nullopt;  // unquoted whitespace is not valid os-release syntax
    } else {
      value += raw[i++];
    }
  }
  return value;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ')
      ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ')
      ++i;
    if (i > start) words.emplace_back(s.substr(start, i - start));
  }
  return words;
}

Family family_of(std::string_view id) {
  static const std::pair<std::string_view, Family> kFamilies[] = {
      {"debian", Family::debian},
      {"ubuntu", Family::debian},
      {"raspbian", Family::debian},
      {"linuxmint", Family::debian},
      {"pop", Family::debian},
      {"fedora", Family::fedora},
      {"rhel", Family::rhel},
      {"centos", Family::rhel},
      {"rocky", Family::rhel},
      {"almalinux", Family::rhel},
      {"ol", Family::rhel},
      {"amzn", Family::rhel},
      {"arch", Family::arch},
      {"manjaro", Family::arch},
      {"endeavouros", Family::arch},
      {"suse", Family::suse},
      {"opensuse", Family::suse},
      {"opensuse-leap", Family::suse},
      {"opensuse-tumbleweed", Family::suse},
      {"sles", Family::suse},
      {"sled", Family::suse},
      {"alpine", Family::alpine},
  };
  for (const auto& [name, family] : kFamilies) {
    if (id == name) return family;
  }
  return Family::unknown;
}

}  // namespace

std::string_view to_string(Family family) {
  switch (family) {
    case Family::debian:
      return "debian";
    case Family::fedora:
      return "fedora";
    case Family::rhel:
      return "rhel";
    case Family::arch:
      return "arch";
    case Family::suse:
      return "suse";
    case Family::alpine:
      return "alpine";
    case Family::unknown:
      break;
  }
  return "unknown";
}

std::map<std::string, std::string> parse_os_release(std::string_view text) {
  std::map<std::string, std::string> fields;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view key = line.substr(0, eq);
    if (!std::all_of(key.begin(), key.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        })) {
      continue;
    }
    if (auto value = unquote(line.substr(eq + 1))) fields[std::string(key)] = std::move(*value);
  }
  return fields;
}

Distro distro_from_os_release(const std::map<std::string, std::string>& fields) {
  auto get = [&](const char* key) {
    auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
  };
  Distro distro;
  distro.id = get("ID");
  distro.id_like = split_words(get("ID_LIKE"));
  distro.version_id = get("VERSION_ID");
  distro.pretty_name = get("PRETTY_NAME");
  if (distro.pretty_name.empty()) distro.pretty_name = get("NAME");
  // The distribution's own id decides first; ID_LIKE lists the closest relative first.
  distro.family = family_of(distro.id);
  for (const auto& like : distro.id_like) {
    if (distro.family != Family::unknown) break;
    distro.family = family_of(like);
  }
  return distro;
}

Distro read_distro(const RootedFs& fs) {
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    if (!fs.exists(path)) continue;
    auto text = fs.read_file(path, kSmallReadCap);
    if (!text) {
      Distro unreadable;
      unreadable.unreadable = text.error().message();
      return unreadable;
    }
    return distro_from_os_release(parse_os_release(*text));
  }
  Distro none;
  none.unreadable = "no /etc/os-release";
  return none;
}

int compare_versions(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? 1 : -1);
  while (!a.empty() || !b.empty()) {
    auto next = [](std::string_view& s) {
      unsigned long value = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
      s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
      auto dot = s.find('.');
      s.remove_prefix(dot == std::string_view::npos ? s.size() : dot + 1);
      return value;
    };
    unsigned long x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace pooljoin
