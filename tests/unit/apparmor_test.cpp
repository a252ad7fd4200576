// SPDX-License-Identifier: Apache-2.0
// The files gen-conf's ntpd check gives ntpd, against the AppArmor profile Debian's ntpsec ships
// (/etc/apparmor.d/usr.sbin.ntpd, installed with ntpsec by scripts/setup --test) and the
// abstractions it includes (AppArmor's own package, unpacked by scripts/setup). These machines
// have no AppArmor in the kernel, so no denial can be seen here: the profile's rules are read and
// matched as AppArmor matches paths (`*` within a path component, `**` across them, `{a,b}`
// alternatives, `owner` rules for files of the process's own user).
#include <cstring>
#include <fstream>
#include <regex>

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/fs.hpp"
#include "pooljoin/ntp_config.hpp"
#include "pooljoin/process.hpp"

using namespace pooljoin;

namespace {

const std::filesystem::path kProfile = "/etc/apparmor.d/usr.sbin.ntpd";
const std::filesystem::path kAbstractions = "/var/cache/pooljoin-test/apparmor/etc/apparmor.d";

struct Rule {
  std::regex path;
  std::string pattern;
  std::string permissions;  // "r", "rw", "rwkl", "w", ...
};

// An AppArmor path glob as a regular expression.
std::string glob_to_regex(std::string_view glob) {
  std::string out;
  for (std::size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '*' && i + 1 < glob.size() && glob[i + 1] == '*') {
      out += ".*";
      ++i;
    } else if (c == '*') {
      out += "[^/]*";
    } else if (c == '?') {
      out += "[^/]";
    } else if (c == '{') {
      out += "(?:";
    } else if (c == '}') {
      out += ")";
    } else if (c == ',') {
      out += "|";
    } else if (c == '[' || c == ']' || std::isalnum(static_cast<unsigned char>(c)) || c == '/' ||
               c == '_' || c == '-') {
      out += c;
    } else {
      out += '\\';
      out += c;
    }
  }
  return out;
}

// The file rules of `profile` and of the abstractions it includes (those found under
// kAbstractions); rules naming variables (@{HOME}, @{PROC}) are left out: none is needed here.
void read_rules(const std::filesystem::path& file, std::vector<Rule>& rules, int depth = 0) {
  REQUIRE(depth < 5);
  std::ifstream in(file);
  REQUIRE(in);
  std::string line;
  static const std::regex include(R"(^\s*#?include\s+<([^>]+)>)");
  static const std::regex rule(R"(^\s*(owner\s+)?(/\S*)\s+([rwklmix]+)\s*,)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, include)) {
      const std::string name = m[1];
      if (name.starts_with("abstractions/")) {
        const auto path = kAbstractions / name;
        if (std::filesystem::is_regular_file(path)) read_rules(path, rules, depth + 1);
      }
    } else if (std::regex_search(line, m, rule)) {
      const std::string pattern = m[2];
      if (pattern.find("@{") != std::string::npos) continue;
      rules.push_back({std::regex(glob_to_regex(pattern)), pattern, m[3]});
    }
  }
}

// Whether the rules let the confined ntpd, as the file's owner, open `path` with every access in
// `wanted`.
bool allows(const std::vector<Rule>& rules, const std::string& path, std::string_view wanted) {
  std::string granted;
  for (const auto& rule : rules)
    if (std::regex_match(path, rule.path)) granted += rule.permissions;
  return std::all_of(wanted.begin(), wanted.end(),
                     [&](char c) { return granted.find(c) != std::string::npos; });
}

bool sources_present() {
  if (std::filesystem::is_regular_file(kProfile) &&
      std::filesystem::is_regular_file(kAbstractions / "abstractions/user-tmp"))
    return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    FAIL("ntpsec's AppArmor profile or AppArmor's abstractions are missing: scripts/setup --test");
  }
  WARN("not run: no " << kProfile << " or " << kAbstractions << " (scripts/setup --test)");
  return false;
}

std::string option(const std::vector<std::string>& argv, std::string_view name) {
  auto it = std::find(argv.begin(), argv.end(), name);
  REQUIRE(it != argv.end());
  REQUIRE(it + 1 != argv.end());
  return *(it + 1);
}

}  // namespace

TEST_CASE("apparmor: the glob reading matches AppArmor's rules", "[apparmor]") {
  const std::regex star(glob_to_regex("/var/log/ntpsec/loopstats*"));
  CHECK(std::regex_match("/var/log/ntpsec/loopstats.20261202", star));
  CHECK_FALSE(std::regex_match("/var/log/ntpsec/x/loopstats", star));
  const std::regex deep(glob_to_regex("/tmp/**"));
  CHECK(std::regex_match("/tmp/a/b/c", deep));
  CHECK_FALSE(std::regex_match("/var/tmp/a", deep));
  const std::regex alternatives(glob_to_regex("/{,var/}run/ntpd.pid"));
  CHECK(std::regex_match("/run/ntpd.pid", alternatives));
  CHECK(std::regex_match("/var/run/ntpd.pid", alternatives));
  CHECK_FALSE(std::regex_match("/tmp/ntpd.pid", alternatives));
}

TEST_CASE("apparmor: Debian's confined ntpd can read and write every file of the config check",
          "[apparmor]") {
  if (!sources_present()) return;
  std::vector<Rule> rules;
  read_rules(kProfile, rules);
  REQUIRE(rules.size() > 20);

  // The check as gen-conf runs it, recorded (the fake ntpd exits at once: a rejected config).
  test::TempDir root;
  root.write("etc/ntpsec/.ntp.conf.pooljoin-AbCdEf", "server 192.0.2.1 iburst\n");
  RootedFs fs(root.path());
  test::FakeRunner runner;
  auto verdict = check_with_daemon(fs, runner, Daemon::ntpsec, "/usr/sbin/ntpd",
                                   "/etc/ntpsec/.ntp.conf.pooljoin-AbCdEf");
  CHECK_FALSE(verdict);
  REQUIRE(runner.recorded().size() == 1);
  const auto& argv = runner.recorded()[0].argv;
  const std::string config = option(argv, "-c"), pid = option(argv, "-p"), log = option(argv, "-l");
  INFO(display(runner.recorded()[0]));
  CHECK(allows(rules, config, "r"));
  CHECK(allows(rules, pid, "w"));
  CHECK(allows(rules, log, "w"));
  // The check left nothing behind under the root's /tmp.
  CHECK(std::filesystem::is_empty(root.path() / "tmp"));

  // The files the rendered config names: drift, leap seconds.
  const std::string golden =
      test::read_text(std::filesystem::path(POOLJOIN_GOLDEN) / "ntpsec-debian.conf");
  for (const auto& [directive, access] : {std::pair{"driftfile ", "rw"}, {"leapfile ", "r"}}) {
    const auto at = golden.find(std::string("\n") + directive);
    REQUIRE(at != std::string::npos);
    const auto start = at + 1 + std::strlen(directive);
    const std::string path = golden.substr(start, golden.find('\n', start) - start);
    INFO(path);
    CHECK(allows(rules, path, access));
  }
  // A candidate beside the config, where the check used to run ntpd, is what a confined ntpd
  // could not read: the reason for /tmp.
  CHECK_FALSE(allows(rules, "/etc/ntpsec/.ntp.conf.pooljoin-AbCdEf", "r"));
  CHECK(allows(rules, "/etc/ntpsec/ntp.conf", "r"));
}
