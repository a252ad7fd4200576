// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/leap_list.hpp"

#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "pooljoin/fs.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// "2026-06-28": the day a list expires (the `#@` times are midnight UTC).
std::string day_of(std::chrono::system_clock::time_point time) {
  return rfc3339_utc(time).substr(0, 10);
}

// The words of a config line without its comment (chrony: a line starting with one of #%;!;
// ntpd: from # on).
std::vector<std::string> words_of(std::string line, Daemon daemon) {
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  if (daemon == Daemon::chrony) {
    if (std::string_view("#%;!").find(line[first]) != std::string_view::npos) return {};
  } else if (auto hash = line.find('#'); hash != std::string::npos) {
    line.erase(hash);
  }
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;)
    words.push_back(word);
  return words;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> leap_list_expiry(std::string_view text) {
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#@", 0) != 0) continue;
    const auto start = line.find_first_not_of(" \t", 2);
    if (start == std::string::npos) return std::nullopt;
    const auto end = line.find_first_of(" \t\r", start);
    const std::string_view number = std::string_view(line).substr(start, end - start);
    std::int64_t ntp_seconds = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), ntp_seconds);
    if (ec != std::errc() || ptr != number.data() + number.size() || ntp_seconds < 0)
      return std::nullopt;
    return std::chrono::system_clock::time_point(
        std::chrono::seconds(ntp_seconds - kNtpToUnixSeconds));
  }
  return std::nullopt;
}

LeapList read_leap_list(const RootedFs& fs, std::string_view path,
                        std::chrono::system_clock::time_point now) {
  LeapList list;
  list.path = std::string(path);
  auto text = fs.read(path);
  if (!text) return list;  // missing
  list.expires = leap_list_expiry(*text);
  if (!list.expires)
    list.state = LeapListState::no_expiry;
  else
    list.state = *list.expires <= now ? LeapListState::expired : LeapListState::valid;
  return list;
}

std::optional<std::string> configured_leap_list(std::string_view config, Daemon daemon) {
  const std::string_view keyword = daemon == Daemon::chrony ? "leapseclist" : "leapfile";
  std::istringstream lines{std::string(config)};
  for (std::string line; std::getline(lines, line);) {
    auto words = words_of(line, daemon);
    if (words.size() >= 2 && lower(words[0]) == keyword) return words[1];
  }
  return std::nullopt;
}

std::string tzdata_command(std::string_view package_manager, TzdataAction action) {
  struct Commands {
    std::string_view manager, update, install, reinstall;
  };
  static constexpr Commands kCommands[] = {
      {"apt-get", "apt-get install --only-upgrade tzdata", "apt-get install tzdata",
       "apt-get install --reinstall tzdata"},
      {"dnf", "dnf upgrade tzdata", "dnf install tzdata", "dnf reinstall tzdata"},
      {"yum", "yum update tzdata", "yum install tzdata", "yum reinstall tzdata"},
      // openSUSE packages the time zone data as `timezone`.
      {"zypper", "zypper update timezone", "zypper install timezone",
       "zypper install --force timezone"},
      // Arch does not support partial upgrades: tzdata comes up to date with the whole system.
      {"pacman", "pacman -Syu", "pacman -Syu tzdata", "pacman -S tzdata"},
      {"apk", "apk upgrade tzdata", "apk add tzdata", "apk fix tzdata"},
  };
  for (const auto& c : kCommands) {
    if (c.manager != package_manager) continue;
    switch (action) {
      case TzdataAction::update:
        return std::string(c.update);
      case TzdataAction::install:
        return std::string(c.install);
      case TzdataAction::reinstall:
        return std::string(c.reinstall);
    }
  }
  return {};
}

Finding leap_list_finding(const LeapList& list, std::string_view daemon,
                          std::string_view package_manager) {
  auto with_command = [&](std::string what, TzdataAction action) {
    const std::string command = tzdata_command(package_manager, action);
    return command.empty() ? what : fmt::format("{} (`{}`)", what, command);
  };
  switch (list.state) {
    case LeapListState::valid:
      return {"leap.ok", Severity::ok,
              fmt::format("{}, the leap-second list {} reads, is valid until {}", list.path, daemon,
                          day_of(*list.expires))};
    case LeapListState::expired:
      return {"leap.expired", Severity::warn,
              fmt::format("{}, the leap-second list {} reads, expired on {}: a leap second "
                          "announced since is not in it, and {} logs that the list needs an update",
                          list.path, daemon, day_of(*list.expires), daemon),
              with_command("update the tzdata package", TzdataAction::update) +
                  ", then restart the daemon so that it reads the new list (`pooljoin restart`)"};
    case LeapListState::no_expiry:
      return {
          "leap.no-expiry", Severity::warn,
          fmt::format("{}, the leap-second list {} reads, has no expiry line (#@): it is cut "
                      "short or not a leap-seconds.list (chrony ignores such a list, ntpd "
                      "takes it as long expired)",
                      list.path, daemon),
          with_command("reinstall the tzdata package, which ships it", TzdataAction::reinstall)};
    case LeapListState::missing:
      break;
  }
  return {"leap.missing", Severity::warn,
          fmt::format("{} names {} as its leap-second list, but there is no such file", daemon,
                      list.path),
          with_command("install the tzdata package", TzdataAction::install) +
              ", or remove the line from the config"};
}

}  // namespace pooljoin
