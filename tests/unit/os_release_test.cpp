// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/os_release.hpp"

#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/fs.hpp"

using namespace pooljoin;

TEST_CASE("os-release values follow shell quoting", "[os-release]") {
  auto fields = parse_os_release(
      "# comment\n"
      "ID=debian\n"
      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
      "NAME='Single Quoted'\n"
      "ESCAPED=\"say \\\"hi\\\" \\$HOME \\\\ \\`x\\`\"\n"
      "  INDENTED=yes  \n"
      "EMPTY=\n"
      "bad key=1\n"
      "UNTERMINATED=\"oops\n"
      "UNQUOTED_SPACE=a b\n"
      "=novalue\n");
  CHECK(fields.at("ID") == "debian");
  CHECK(fields.at("PRETTY_NAME") == "Debian GNU/Linux 12 (bookworm)");
  CHECK(fields.at("NAME") == "Single Quoted");
  CHECK(fields.at("ESCAPED") == "say \"hi\" $HOME \\ `x`");
  CHECK(fields.at("INDENTED") == "yes");
  CHECK(fields.at("EMPTY").empty());
  CHECK(fields.count("bad key") == 0);
  CHECK(fields.count("UNTERMINATED") == 0);
  CHECK(fields.count("UNQUOTED_SPACE") == 0);
  CHECK(fields.size() == 6);
}

TEST_CASE("the distribution's own ID decides the family before ID_LIKE", "[os-release]") {
  auto family = [](const char* text) {
    return distro_from_os_release(parse_os_release(text)).family;
  };
  CHECK(family("ID=rocky\nID_LIKE=\"rhel centos fedora\"\n") == Family::rhel);
  CHECK(family("ID=amzn\nID_LIKE=\"fedora\"\n") == Family::rhel);
  CHECK(family("ID=neon\nID_LIKE=\"ubuntu debian\"\n") == Family::debian);
  CHECK(family("ID=garuda\nID_LIKE=arch\n") == Family::arch);
  CHECK(family("ID=plan9\n") == Family::unknown);
  CHECK(family("") == Family::unknown);
}

TEST_CASE("versions compare numerically, rolling releases last", "[os-release]") {
  CHECK(compare_versions("22.04", "24.04") < 0);
  CHECK(compare_versions("9", "10") < 0);
  CHECK(compare_versions("12", "12") == 0);
  CHECK(compare_versions("12.5", "12") > 0);
  CHECK(compare_versions("", "13") > 0);
  CHECK(compare_versions("3.20.3", "3.9") > 0);
}

TEST_CASE("each fixture image reads as its distribution", "[os-release][fixtures]") {
  struct Row {
    const char* image;
    const char* id;
    const char* version;
    Family family;
  };
  const Row rows[] = {
      {"debian-11", "debian", "11", Family::debian},
      {"debian-12", "debian", "12", Family::debian},
      {"debian-13", "debian", "13", Family::debian},
      {"ubuntu-22.04", "ubuntu", "22.04", Family::debian},
      {"ubuntu-24.04", "ubuntu", "24.04", Family::debian},
      {"fedora-41", "fedora", "41", Family::fedora},  // only /usr/lib/os-release
      {"rocky-9", "rocky", "9.4", Family::rhel},
      {"almalinux-9", "almalinux", "9.4", Family::rhel},
      {"arch", "arch", "", Family::arch},
      {"opensuse-leap-15.6", "opensuse-leap", "15.6", Family::suse},
      {"opensuse-tumbleweed", "opensuse-tumbleweed", "20241120", Family::suse},
      {"alpine-3.20", "alpine", "3.20.3", Family::alpine},
      {"amazonlinux-2023", "amzn", "2023", Family::rhel},
      {"unknown-distro", "plan9", "", Family::unknown},
      {"no-os-release", "", "", Family::unknown},
  };
  for (const auto& row : rows) {
    INFO(row.image);
    Distro distro = read_distro(RootedFs(test::fixture_image(row.image)));
    CHECK(distro.id == row.id);
    CHECK(distro.version_id == row.version);
    CHECK(distro.family == row.family);
  }
}
