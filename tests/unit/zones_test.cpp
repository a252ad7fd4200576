// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/zones.hpp"

#include <filesystem>

#include <unistd.h>

#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/catalogue.hpp"
#include "pooljoin/fs.hpp"

using namespace pooljoin;
namespace fs = std::filesystem;

namespace {

// Gives the root the host's real tzdata tables (zone.tab, zone1970.tab, iso3166.tab).
void add_tzdata(const test::TempDir& root) {
  fs::create_directories(root.path() / "usr/share/zoneinfo");
  for (const char* table : {"zone.tab", "zone1970.tab", "iso3166.tab"}) {
    fs::copy_file(fs::path("/usr/share/zoneinfo") / table,
                  root.path() / "usr/share/zoneinfo" / table);
  }
}

}  // namespace

TEST_CASE("the country comes from the time zone", "[zones]") {
  struct Row {
    const char* timezone;
    const char* country;
    const char* continent;
  };
  const Row rows[] = {
      {"Europe/Berlin", "de", "europe"},
      {"Europe/Amsterdam", "nl", "europe"},
      {"America/Sao_Paulo", "br", "south-america"},
      {"America/New_York", "us", "north-america"},
      {"Asia/Tokyo", "jp", "asia"},
      {"Australia/Sydney", "au", "oceania"},
      {"Africa/Johannesburg", "za", "africa"},
      {"Europe/London", "gb", "europe"},
  };
  for (const auto& row : rows) {
    INFO(row.timezone);
    test::TempDir root;
    add_tzdata(root);
    root.write("etc/timezone", std::string(row.timezone) + "\n");
    ZoneChoice choice = infer_zone(RootedFs(root.path()));
    CHECK(choice.country == row.country);
    CHECK(choice.continent == row.continent);
    CHECK(choice.timezone == row.timezone);
    CHECK(choice.reason.find("/etc/timezone") != std::string::npos);
  }
}

TEST_CASE("the /etc/localtime link counts when /etc/timezone is absent", "[zones]") {
  test::TempDir root;
  add_tzdata(root);
  fs::create_directories(root.path() / "etc");
  fs::create_symlink("/usr/share/zoneinfo/right/Europe/Vienna", root.path() / "etc/localtime");
  ZoneChoice choice = infer_zone(RootedFs(root.path()));
  CHECK(choice.country == "at");
  CHECK(choice.timezone == "Europe/Vienna");
  CHECK(choice.reason == "time zone Europe/Vienna (from the /etc/localtime link) is in AT");
}

TEST_CASE("a zone without a country falls back to its continent, then to nothing", "[zones]") {
  test::TempDir root;
  add_tzdata(root);
  root.write("etc/timezone", "Etc/UTC\n");
  ZoneChoice utc = infer_zone(RootedFs(root.path()));
  CHECK(utc.country.empty());
  CHECK(utc.continent.empty());
  CHECK(utc.reason == "time zone Etc/UTC (from /etc/timezone) names no country or continent");

  root.write("etc/timezone", "Europe/Nowhere\n");
  ZoneChoice europe = infer_zone(RootedFs(root.path()));
  CHECK(europe.country.empty());
  CHECK(europe.continent == "europe");

  test::TempDir empty;
  CHECK(infer_zone(RootedFs(empty.path())).reason.find("not set") != std::string::npos);
}

TEST_CASE("country codes are checked against tzdata's ISO 3166 list", "[zones]") {
  test::TempDir root;
  add_tzdata(root);
  RootedFs fs(root.path());
  for (const char* good : {"de", "DE", "us", "gb", "br"})
    CHECK(is_country_code(fs, good));
  for (const char* bad : {"xx", "deu", "d", "", "d1", "uk"})
    CHECK_FALSE(is_country_code(fs, bad));
  // An image without tzdata: the host's list decides.
  test::TempDir bare;
  CHECK(is_country_code(RootedFs(bare.path()), "fr"));
  CHECK_FALSE(is_country_code(RootedFs(bare.path()), "zz"));
}

TEST_CASE("pool zone names and labels", "[zones]") {
  CHECK(pool_zone_names("de") == std::vector<std::string>{"0.de.pool.ntp.org", "1.de.pool.ntp.org",
                                                          "2.de.pool.ntp.org",
                                                          "3.de.pool.ntp.org"});
  CHECK(pool_zone_names("")[2] == "2.pool.ntp.org");
  CHECK(pool_label("GB") == "uk");
  CHECK(pool_label("De") == "de");
  CHECK(continent_of("DE") == "europe");
  CHECK(continent_of("aq").empty());
  CHECK(continent_of("zz").empty());
}

TEST_CASE("the built-in catalogue parses and holds the guide's IPv6 servers", "[catalogue]") {
  const auto& servers = catalogue();
  REQUIRE(servers.size() >= 10);
  std::vector<std::string> all;
  for (const auto& s : servers) {
    CHECK(is_valid_hostname(s.host));
    CHECK_FALSE(s.addresses.empty());
    CHECK((s.country.empty() || continent_of(s.country) != ""));
    for (const auto& a : s.addresses) {
      CHECK(a.is_global_unicast());
      all.push_back(a.to_string());
    }
  }
  for (const char* guide :
       {"2001:4ca0:0:103::81bb:fe20", "2001:638:a000:1123:123::1", "2001:62a:4:311::123"}) {
    CHECK(std::find(all.begin(), all.end(), guide) != all.end());
  }
}

TEST_CASE("a country is a code, the pool's zone name or a name", "[zones]") {
  test::TempDir root;
  add_tzdata(root);
  RootedFs fs(root.path());
  struct Row {
    const char* text;
    const char* code;
  };
  for (const Row& row :
       {Row{"de", "de"}, Row{"DE", "de"}, Row{" fr ", "fr"}, Row{"uk", "gb"}, Row{"UK", "gb"},
        Row{"gb", "gb"}, Row{"Germany", "de"}, Row{"germany", "de"}, Row{"Britain", "gb"},
        Row{"Britain (UK)", "gb"}, Row{"United Kingdom", "gb"}, Row{"united states", "us"},
        Row{"USA", "us"}, Row{"South Korea", "kr"}, Row{"Korea (South)", "kr"},
        Row{"Czech Republic", "cz"}}) {
    INFO(row.text);
    auto match = match_country(fs, row.text);
    CHECK(match.code == row.code);
    CHECK(match.hint.empty());
  }
}

TEST_CASE("a country that matches nothing gets a hint", "[zones]") {
  test::TempDir root;
  add_tzdata(root);
  RootedFs fs(root.path());
  auto close = match_country(fs, "Germ");
  CHECK(close.code.empty());
  CHECK(close.hint == "did you mean Germany (de)?");
  auto korea = match_country(fs, "korea");
  CHECK(korea.code.empty());
  CHECK_THAT(korea.hint,
             Catch::Contains("Korea (North) (kp)") && Catch::Contains("Korea (South) (kr)"));
  for (const char* nothing : {"zz", "Atlantis", "", "   ", "d e"}) {
    INFO(nothing);
    auto match = match_country(fs, nothing);
    CHECK(match.code.empty());
    CHECK_THAT(match.hint, Catch::StartsWith("give a two-letter ISO 3166 code"));
  }
}
