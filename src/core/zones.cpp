// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/zones.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "pooljoin/fs.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace embedded {
extern const std::string_view country_continents;
}

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

const std::unordered_map<std::string, std::string>& continent_table() {
  static const auto table = [] {
    std::unordered_map<std::string, std::string> map;
    std::istringstream in{std::string(embedded::country_continents)};
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      auto tab = line.find('\t');
      if (tab == std::string::npos) continue;
      map[lower(line.substr(0, tab))] = line.substr(tab + 1);
    }
    return map;
  }();
  return table;
}

// The time zone name of the system, or "" when it cannot be told.
std::string system_timezone(const RootedFs& fs, std::string& source) {
  if (auto text = fs.read("/etc/timezone", kSmallReadCap)) {
    std::string name = text->substr(0, text->find('\n'));
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
      name.pop_back();
    if (!name.empty()) {
      source = "/etc/timezone";
      return name;
    }
  }
  if (auto target = fs.read_link("/etc/localtime")) {
    auto at = target->find("zoneinfo/");
    if (at != std::string::npos) {
      source = "the /etc/localtime link";
      std::string name = target->substr(at + 9);
      // posix/ and right/ are variants of the same zones.
      for (const char* prefix : {"posix/", "right/"}) {
        if (name.rfind(prefix, 0) == 0) name = name.substr(std::string_view(prefix).size());
      }
      return name;
    }
  }
  return {};
}

// The country of `timezone` in a zone.tab-style file (codes, coordinates, TZ), first code.
std::string country_in_tab(const RootedFs& fs, const char* path, const std::string& timezone) {
  auto text = fs.read(path);
  if (!text) return {};
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string codes, coordinates, tz;
    std::getline(fields, codes, '\t');
    std::getline(fields, coordinates, '\t');
    std::getline(fields, tz, '\t');
    if (tz == timezone) return lower(codes.substr(0, codes.find(',')));
  }
  return {};
}

std::string continent_of_region(std::string_view timezone) {
  auto slash = timezone.find('/');
  if (slash == std::string_view::npos) return {};
  auto region = timezone.substr(0, slash);
  if (region == "Europe") return "europe";
  if (region == "Africa") return "africa";
  if (region == "Asia") return "asia";
  if (region == "Australia" || region == "Pacific") return "oceania";
  return {};  // America, Atlantic, Indian and Etc span several continents
}

// tzdata's list of ISO 3166 codes: the target system's, else (for an image without tzdata) the
// host's; nullopt when neither has one.
std::optional<std::string> iso3166_table(const RootedFs& fs) {
  constexpr const char* kPath = "/usr/share/zoneinfo/iso3166.tab";
  if (auto text = fs.read(kPath)) return text;
  if (!fs.is_live()) return RootedFs("/").read(kPath);
  return std::nullopt;
}

}  // namespace

std::string continent_of(std::string_view country) {
  auto it = continent_table().find(lower(country));
  return it == continent_table().end() ? std::string() : it->second;
}

std::string pool_label(std::string_view country) {
  std::string code = lower(country);
  return code == "gb" ? "uk" : code;
}

std::vector<std::string> pool_zone_names(std::string_view label) {
  std::vector<std::string> names;
  names.reserve(4);
  for (int i = 0; i < 4; ++i) {
    names.push_back(label.empty() ? fmt::format("{}.pool.ntp.org", i)
                                  : fmt::format("{}.{}.pool.ntp.org", i, label));
  }
  return names;
}

ZoneChoice zone_for_country(std::string_view country) {
  ZoneChoice choice;
  choice.country = lower(country);
  choice.continent = continent_of(country);
  choice.reason = fmt::format("--country {}", choice.country);
  return choice;
}

ZoneChoice infer_zone(const RootedFs& fs) {
  ZoneChoice choice;
  std::string source;
  choice.timezone = system_timezone(fs, source);
  if (choice.timezone.empty()) {
    choice.reason = "the system's time zone is not set (no /etc/timezone or /etc/localtime link)";
    return choice;
  }
  // zone.tab has one line per country (Europe/Amsterdam -> NL); zone1970.tab merges zones that
  // agree since 1970 (Amsterdam into Brussels), so it is only the second choice.
  for (const char* tab : {"/usr/share/zoneinfo/zone.tab", "/usr/share/zoneinfo/zone1970.tab"}) {
    choice.country = country_in_tab(fs, tab, choice.timezone);
    if (!choice.country.empty()) break;
  }
  if (!choice.country.empty()) {
    choice.continent = continent_of(choice.country);
    choice.reason = fmt::format("time zone {} (from {}) is in {}", choice.timezone, source,
                                upper(choice.country));
    return choice;
  }
  choice.continent = continent_of_region(choice.timezone);
  choice.reason = choice.continent.empty()
                      ? fmt::format("time zone {} (from {}) names no country or continent",
                                    choice.timezone, source)
                      : fmt::format("time zone {} (from {}) names no country; its region is {}",
                                    choice.timezone, source, choice.continent);
  return choice;
}

bool is_country_code(const RootedFs& fs, std::string_view code) {
  if (code.size() != 2 || !std::isalpha(static_cast<unsigned char>(code[0])) ||
      !std::isalpha(static_cast<unsigned char>(code[1]))) {
    return false;
  }
  auto table = iso3166_table(fs);
  if (!table) return continent_table().count(lower(code)) > 0;
  std::string prefix = upper(code) + "\t";
  std::istringstream in(*table);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

namespace {

// Everyday names that tzdata's iso3166.tab words otherwise (it says "Britain (UK)", "United
// States", "Korea (South)"), and the pool's zone name for GB.
const std::vector<std::pair<std::string_view, std::string_view>>& country_aliases() {
  static const std::vector<std::pair<std::string_view, std::string_view>> aliases = {
      {"uk", "gb"},
      {"united kingdom", "gb"},
      {"great britain", "gb"},
      {"usa", "us"},
      {"united states of america", "us"},
      {"south korea", "kr"},
      {"north korea", "kp"},
      {"czechia", "cz"},
      {"russian federation", "ru"},
  };
  return aliases;
}

std::string trimmed_lower(std::string_view text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(" \t");
  return lower(text.substr(first, last - first + 1));
}

}  // namespace

CountryMatch match_country(const RootedFs& fs, std::string_view text) {
  CountryMatch match;
  const std::string wanted = trimmed_lower(text);
  if (wanted.size() == 2 && is_country_code(fs, wanted)) {
    match.code = wanted;
    return match;
  }
  for (const auto& [alias, code] : country_aliases()) {
    if (wanted == alias) {
      match.code = std::string(code);
      return match;
    }
  }
  // tzdata's names: "Germany", "Britain (UK)" (also as "Britain").
  // "Korea" is the bare name of two entries: a bare name counts only when it is one country's.
  std::vector<std::string> close, bare_codes;
  if (auto table = iso3166_table(fs); table && !wanted.empty()) {
    std::istringstream in(*table);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      auto tab = line.find('\t');
      if (tab != 2) continue;
      std::string code = lower(line.substr(0, 2));
      std::string name = line.substr(3);
      std::string name_lower = lower(name);
      if (wanted == name_lower) {
        match.code = code;
        return match;
      }
      if (wanted == name_lower.substr(0, name_lower.find(" ("))) bare_codes.push_back(code);
      if (close.size() < 3 && name_lower.find(wanted) != std::string::npos)
        close.push_back(fmt::format("{} ({})", name, code));
    }
  }
  if (bare_codes.size() == 1) {
    match.code = bare_codes.front();
    return match;
  }
  if (!close.empty()) {
    std::string list;
    for (const auto& c : close)
      list += list.empty() ? c : ", " + c;
    match.hint = fmt::format("did you mean {}?", list);
  } else {
    match.hint =
        "give a two-letter ISO 3166 code (de, us, br), the pool's zone name (uk), or "
        "the country's name (Germany)";
  }
  return match;
}

}  // namespace pooljoin
