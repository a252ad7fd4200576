// SPDX-License-Identifier: Apache-2.0
// Which pool zones are "nearby": the country from --country or the system's time zone, its
// continent, and the zone names to query (0-3.<zone>.pool.ntp.org; only 2.* has AAAA records).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pooljoin {

class RootedFs;

struct ZoneChoice {
  std::string country;    // lower-case ISO 3166 code, "" when unknown
  std::string continent;  // "europe", "north-america", ... ; "" when unknown
  std::string timezone;   // the system's time zone name, "" when unknown
  std::string reason;     // how it was decided, for the operator
};

// The country for the system's time zone: /etc/timezone, else the /etc/localtime link, mapped
// through tzdata's zone.tab and then zone1970.tab (under the root). The continent comes from the
// country, or from the time zone's region when the country is unknown.
ZoneChoice infer_zone(const RootedFs& fs);

// The choice for an explicit --country code (already validated).
ZoneChoice zone_for_country(std::string_view country);

// Whether `code` (any case) is an ISO 3166 country code: tzdata's iso3166.tab under the root,
// else the host's, else pooljoin's built-in list.
bool is_country_code(const RootedFs& fs, std::string_view code);

// What the operator typed for a country, made a code: an ISO 3166 code ("de", any case), the
// pool's own zone name ("uk" for GB), or a country's name as tzdata's iso3166.tab gives it
// ("Germany", "Britain", "Britain (UK)"), in any case, plus a few everyday names that table
// words otherwise ("United Kingdom", "USA", "South Korea"). `code` is "" when nothing matched;
// `hint` then says what was close, or what is accepted.
struct CountryMatch {
  std::string code;  // lower-case ISO 3166 code
  std::string hint;
};
CountryMatch match_country(const RootedFs& fs, std::string_view text);

// The pool continent zone of a country ("de" -> "europe"); "" when none.
std::string continent_of(std::string_view country);

// The pool's label for a country: the ISO code, except the United Kingdom, which is "uk".
std::string pool_label(std::string_view country);

// The DNS names to query for a zone label ("de", "europe", or "" for the global zone):
// 0-3.<label>.pool.ntp.org. The 2.* name is the only one with AAAA records.
std::vector<std::string> pool_zone_names(std::string_view label);

}  // namespace pooljoin
