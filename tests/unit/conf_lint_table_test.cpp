// SPDX-License-Identifier: Apache-2.0
// The linter over a table of configs, each with the exact findings it must give (id, file,
// line, severity): includes read through a map, the machine's addresses and a resolver given
// where a row needs them.
#include <map>
#include <set>

#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/conf_lint.hpp"

using namespace pooljoin;

namespace {

struct Expected {
  std::string id;
  std::string file;  // "" for the top file
  int line;
  Severity severity;
  bool operator==(const Expected&) const = default;
};

std::string describe(const std::vector<Expected>& list) {
  std::string out;
  for (const auto& e : list)
    out += e.id + "@" + (e.file.empty() ? "" : e.file + ":") + std::to_string(e.line) + "/" +
           std::string(to_string(e.severity)) + " ";
  return out.empty() ? "(none)" : out;
}

// Files by system path; directories are the parents of the files (and `dirs`).
class MapReader : public ConfigReader {
 public:
  std::map<std::string, std::string> files;
  std::set<std::string> unreadable;  // exist, but cannot be read

  std::optional<std::string> read(const std::string& path) const override {
    if (unreadable.count(path)) return std::nullopt;
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
  bool exists(const std::string& path) const override {
    return files.count(path) || unreadable.count(path) || list(path).has_value();
  }
  std::optional<std::vector<std::string>> list(const std::string& dir) const override {
    std::set<std::string> names;
    for (const auto& [path, text] : files) {
      if (path.rfind(dir + "/", 0) == 0) {
        auto rest = path.substr(dir.size() + 1);
        names.insert(rest.substr(0, rest.find('/')));
      }
    }
    if (names.empty()) return std::nullopt;
    return std::vector<std::string>(names.begin(), names.end());
  }
};

// Lines 1-4: four upstream servers.
const std::string kServers =
    "server 192.0.2.1 iburst\n"
    "server 192.0.2.2 iburst\n"
    "server 192.0.2.3 iburst\n"
    "server 192.0.2.4 iburst\n";
// Lines 5-7 after kServers: the pool's recommended access lines.
const std::string kAccess =
    "restrict default kod limited nomodify notrap nopeer noquery\n"
    "restrict 127.0.0.1\n"
    "restrict ::1\n";
// An ntpd config that passes; a row's own lines start at line 8.
const std::string kNtpd = kServers + kAccess;
// A chrony config that passes (lines 1-6); a row's own lines start at line 7.
const std::string kChrony = kServers + "allow all\nratelimit interval 3 burst 8\n";

const char* const kNtpConf = "/etc/ntpsec/ntp.conf";
const char* const kChronyConf = "/etc/chrony/chrony.conf";

std::vector<LocalAddress> machine() {
  return {{*IpAddress::parse("185.255.0.9"), "eth0"},
          {*IpAddress::parse("2a0a:e5c0::9"), "eth0"},
          {*IpAddress::parse("10.0.0.5"), "eth1", Exclusion::not_global},
          {*IpAddress::parse("127.0.0.1"), "lo", Exclusion::not_global}};
}

// A cloud machine: a private address, the public one on the provider's NAT.
std::vector<LocalAddress> behind_nat() {
  return {{*IpAddress::parse("10.0.0.5"), "eth0", Exclusion::not_global},
          {*IpAddress::parse("127.0.0.1"), "lo", Exclusion::not_global}};
}

struct Row {
  const char* name;
  Daemon daemon;
  std::string text;
  std::vector<Expected> expected;
  std::map<std::string, std::string> files = {};  // read from kNtpConf's or kChronyConf's place
  std::set<std::string> unreadable = {};
  int addresses = 0;  // 1: machine()'s addresses given; 2: behind_nat()'s
  int sources = -1;   // count_upstreams, when the row checks it
};

const auto kFail = Severity::fail;
const auto kWarn = Severity::warn;
using V = std::vector<Expected>;

std::vector<Row> rows() {
  const std::string s3 = "server 192.0.2.1\nserver 192.0.2.2\nserver 192.0.2.3\n";
  return {
      // --- ntpd: access, evaluated for the public --------------------------------------------
      {"recommended ntpsec", Daemon::ntpsec, kNtpd, V{}, {}, {}, false, 4},
      {"recommended, classic ntpd", Daemon::ntp, kNtpd, V{}},
      {"noserve on the default", Daemon::ntpsec,
       kServers + "restrict default kod limited nomodify notrap nopeer noquery noserve\n",
       V{{"lint.no-service", "", 5, kFail}}},
      {"ignore on the default", Daemon::ntpsec, kServers + "restrict default ignore\n",
       V{{"lint.no-service", "", 5, kFail}}},
      {"unrestrict default noquery", Daemon::ntpsec, kNtpd + "unrestrict default noquery\n",
       V{{"lint.mode6-open", "", 8, kFail}}},
      {"unrestrict -6 default noquery: IPv6 only", Daemon::ntpsec,
       kNtpd + "unrestrict -6 default noquery\n", V{{"lint.mode6-open", "", 8, kFail}}},
      {"unrestrict of a line that does not exist does nothing", Daemon::ntpsec,
       kNtpd + "unrestrict 203.0.113.0 mask 255.255.255.0 noquery\n", V{}},
      {"ntpsec: no noquery, its built-in default keeps it", Daemon::ntpsec,
       kServers + "restrict default kod limited nomodify notrap nopeer\n", V{}},
      {"classic ntpd: no noquery opens mode 6 and 7", Daemon::ntp,
       kServers + "restrict default kod limited nomodify notrap nopeer\n",
       V{{"lint.mode6-open", "", 5, kFail}}},
      {"a second line for the default adds its flags", Daemon::ntp,
       kServers + "restrict default kod limited nomodify\nrestrict default notrap nopeer noquery\n",
       V{}},
      {"a private subnet ignored does not matter", Daemon::ntpsec,
       kNtpd + "restrict 10.0.0.0 mask 255.0.0.0 ignore\nrestrict fd00::/8 ignore\n", V{}},
      {"half the IPv4 internet ignored", Daemon::ntpsec,
       kNtpd + "restrict 0.0.0.0 mask 128.0.0.0 ignore\n", V{{"lint.no-service", "", 8, kFail}}},
      {"a more specific line overrides an ignoring default", Daemon::ntpsec,
       kServers + "restrict default ignore\n"
                  "restrict 64.0.0.0/2 kod limited nomodify notrap nopeer noquery\n"
                  "restrict 2000::/3 kod limited nomodify notrap nopeer noquery\n",
       V{}},
      {"a more specific line without noquery", Daemon::ntpsec,
       kNtpd + "restrict 64.0.0.0/2 kod limited nomodify notrap nopeer\n",
       // ntpsec: a new entry has no built-in noquery.
       V{{"lint.mode6-open", "", 8, kFail}}},
      {"-4 and -6 defaults, IPv6 ignored", Daemon::ntpsec,
       kServers + "restrict -4 default kod limited nomodify notrap nopeer noquery\n"
                  "restrict -6 default ignore\n",
       V{{"lint.no-service", "", 6, kFail}}},
      // IPv6 falls to ntpsec's built-in default: served, mode 6 closed (lint_daemons_test case
      // 04), not rate-limited.
      {"-4 default only", Daemon::ntpsec,
       kServers + "restrict -4 default kod limited nomodify notrap nopeer noquery\n",
       V{{"lint.no-ratelimit", "", 0, kWarn}, {"lint.restrict-default", "", 0, kWarn}}},
      // Classic ntpd's built-in default is open.
      {"-4 default only, classic ntpd", Daemon::ntp,
       kServers + "restrict -4 default kod limited nomodify notrap nopeer noquery\n",
       V{{"lint.mode6-open", "", 0, kFail},
         {"lint.no-ratelimit", "", 0, kWarn},
         {"lint.restrict-default", "", 0, kFail}}},
      {"kod without limited", Daemon::ntpsec,
       kServers + "restrict default kod nomodify notrap nopeer noquery\n",
       V{{"lint.kod-without-limited", "", 5, kFail}, {"lint.no-ratelimit", "", 5, kWarn}}},
      {"notrap missing: classic ntpd needs it", Daemon::ntp,
       kServers + "restrict default kod limited nomodify nopeer noquery\n",
       V{{"lint.restrict-default", "", 5, kFail}}},
      {"notrap missing: ntpsec ignores it", Daemon::ntpsec,
       kServers + "restrict default kod limited nomodify nopeer noquery\n",
       V{{"lint.restrict-default", "", 5, kWarn}}},
      {"nomodify missing: ntpsec takes no unauthenticated changes", Daemon::ntpsec,
       kServers + "restrict default kod limited notrap nopeer noquery\n",
       V{{"lint.restrict-default", "", 5, kWarn}}},
      {"nomodify missing: classic ntpd needs it", Daemon::ntp,
       kServers + "restrict default kod limited notrap nopeer noquery\n",
       V{{"lint.restrict-default", "", 5, kFail}}},
      {"restrict for one port only does not cover the public", Daemon::ntpsec,
       kServers + "restrict default ignore\nrestrict 0.0.0.0/1 ntpport kod limited nomodify\n",
       V{{"lint.no-service", "", 5, kFail}}},
      {"enable mode7", Daemon::ntp, kNtpd + "enable mode7\n", V{{"lint.mode7", "", 8, kFail}}},
      {"disable monitor with limited", Daemon::ntpsec, kNtpd + "disable monitor\n",
       V{{"lint.monitor-disabled", "", 8, kFail}}},
      // --- ntpd: listening --------------------------------------------------------------------
      // ntpsec 1.2.2, seen in lint_daemons_test: once there are `interface` lines, it opens no
      // address that none of them matches.
      {"interface listen 127.0.0.1 alone: ntpsec opens loopback only", Daemon::ntpsec,
       kNtpd + "interface listen 127.0.0.1\n", V{{"lint.listen", "", 8, kFail}}},
      {"interface ignore all, then loopback only", Daemon::ntpsec,
       kNtpd + "interface ignore all\ninterface listen 127.0.0.1\ninterface listen ::1\n",
       V{{"lint.listen", "", 8, kFail}}},
      {"interface ignore wildcard alone: loopback only", Daemon::ntpsec,
       kNtpd + "interface ignore wildcard\n", V{{"lint.listen", "", 8, kFail}}},
      {"interface listen all", Daemon::ntpsec, kNtpd + "interface listen all\n", V{}},
      {"interface ignore all, listen eth0: cannot tell without addresses", Daemon::ntpsec,
       kNtpd + "nic ignore all\nnic listen eth0\n", V{}},
      {"interface ignore ipv6 alone: IPv4 is not opened either", Daemon::ntpsec,
       kNtpd + "interface ignore ipv6\n", V{{"lint.listen", "", 8, kFail}}},
      {"interface listen a global IPv4 address: IPv6 unknown without addresses", Daemon::ntpsec,
       kNtpd + "interface listen 185.255.0.9\n", V{}},
      {"interface ignore eth0, with the machine's addresses",
       Daemon::ntpsec,
       kNtpd + "interface ignore eth0\n",
       V{{"lint.listen", "", 8, kFail}, {"lint.listen", "", 8, kFail}},
       {},
       {},
       true},
      {"behind NAT: the private address is the one the pool's clients reach",
       Daemon::chrony,
       kChrony + "bindaddress 127.0.0.1\n",
       V{{"lint.listen", "", 7, kFail}},
       {},
       {},
       2},
      {"behind NAT, IPv4 only: IPv6 access is not judged",
       Daemon::chrony,
       kServers + "allow 0.0.0.0/0\nratelimit\n",
       V{},
       {},
       {},
       2},
      // The machine's global IPv6 address is matched by no line: not opened.
      {"interface ignore ipv4, listen the global IPv4 address",
       Daemon::ntpsec,
       kNtpd + "interface ignore ipv4\ninterface listen 185.255.0.9\n",
       V{{"lint.listen", "", 8, kFail}},
       {},
       {},
       true},
      // --- upstreams --------------------------------------------------------------------------
      // Read as the daemon's resolver reads it (getaddrinfo, inet_aton, IPv4-mapped).
      {"a LOCAL clock written in hexadecimal", Daemon::ntpsec, kNtpd + "server 0x7f7f0100\n",
       V{{"lint.local-clock", "", 8, kFail}}},
      {"loopback as an IPv4-mapped address, and localhost",
       Daemon::ntpsec,
       kNtpd + "server ::ffff:127.0.0.1 iburst\nserver localhost iburst\n",
       V{{"lint.upstream-invalid", "", 8, kFail}, {"lint.upstream-invalid", "", 9, kFail}},
       {},
       {},
       0,
       4},
      {"the same server in another form is a duplicate",
       Daemon::ntpsec,
       kNtpd + "server 0xc0000201 iburst\n",
       V{{"lint.upstream-duplicate", "", 8, kWarn}},
       {},
       {},
       0,
       4},
      {"chrony: loopback and broadcast are no upstreams",
       Daemon::chrony,
       kChrony + "server 127.0.0.1 iburst\nserver 255.255.255.255\n",
       V{{"lint.upstream-invalid", "", 7, kFail}, {"lint.upstream-invalid", "", 8, kFail}},
       {},
       {},
       0,
       4},
      {"an operator's server on the local network counts",
       Daemon::chrony,
       kChrony + "server 192.168.1.10 iburst\n",
       V{},
       {},
       {},
       0,
       5},
      {"Debian 12's four pool lines are no upstream servers",
       Daemon::ntpsec,
       "pool 0.debian.pool.ntp.org iburst\npool 1.debian.pool.ntp.org iburst\n"
       "pool 2.debian.pool.ntp.org iburst\npool 3.debian.pool.ntp.org iburst\n" +
           kAccess,
       V{{"lint.pool-upstream", "", 1, kFail},
         {"lint.pool-nopeer", "", 1, kWarn},
         {"lint.pool-upstream", "", 2, kFail},
         {"lint.pool-upstream", "", 3, kFail},
         {"lint.pool-upstream", "", 4, kFail},
         {"lint.upstream-count", "", 0, kFail}},
       {},
       {},
       false,
       0},
      {"noselect is not counted",
       Daemon::ntpsec,
       s3 + kAccess + "server 192.0.2.9 noselect\n",
       V{{"lint.upstream-noselect", "", 7, kWarn}, {"lint.upstream-count", "", 0, kFail}},
       {},
       {},
       false,
       3},
      {"a duplicate is counted once",
       Daemon::ntpsec,
       s3 + "server 192.0.2.3 iburst\n" + kAccess,
       V{{"lint.upstream-duplicate", "", 4, kWarn}, {"lint.upstream-count", "", 0, kFail}},
       {},
       {},
       false,
       3},
      {"the same IPv6 address written twice",
       Daemon::ntpsec,
       kNtpd + "server 2001:db8::1\nserver 2001:DB8:0::1\n",
       V{{"lint.upstream-duplicate", "", 9, kWarn}},
       {},
       {},
       false,
       5},
      {"the machine's own address",
       Daemon::ntpsec,
       kNtpd + "server 185.255.0.9 iburst\n",
       V{{"lint.upstream-own-address", "", 8, kFail}},
       {},
       {},
       true,
       4},
      {"a name that does not resolve",
       Daemon::ntpsec,
       kNtpd + "server ntp.example.invalid iburst\nserver time.example.com iburst\n",
       V{{"lint.upstream-unresolvable", "", 8, kWarn}},
       {},
       {},
       false,
       5},
      {"eight servers",
       Daemon::ntpsec,
       kNtpd + "server 192.0.2.5\nserver 192.0.2.6\nserver 192.0.2.7\nserver 192.0.2.8\n",
       V{{"lint.upstream-count", "", 11, kFail}},
       {},
       {},
       false,
       8},
      {"LOCAL clock with prefer",
       Daemon::ntp,
       kNtpd + "server 127.127.1.0 prefer\n",
       V{{"lint.local-clock", "", 8, kFail}},
       {},
       {},
       false,
       4},
      {"a reference clock counts as a source",
       Daemon::ntpsec,
       s3 + kAccess + "refclock shm unit 0\n",
       V{},
       {},
       {},
       false,
       4},
      {"a reference clock and two servers: a warning",
       Daemon::ntpsec,
       "server 192.0.2.1\nserver 192.0.2.2\n" + kAccess + "server 127.127.28.0\n",
       V{{"lint.upstream-count", "", 0, kWarn}},
       {},
       {},
       false,
       3},
      // --- ntpd: includes ---------------------------------------------------------------------
      {"includefile relative to the config's directory",
       Daemon::ntpsec,
       kAccess + "includefile servers.conf\n",
       V{},
       {{"/etc/ntpsec/servers.conf", kServers}},
       {},
       false,
       4},
      {"includefile absolute",
       Daemon::ntp,
       kAccess + "includefile /srv/ntp/servers.conf\n",
       V{},
       {{"/srv/ntp/servers.conf", kServers}}},
      {"a finding in an included file names it",
       Daemon::ntpsec,
       kAccess + "includefile servers.conf\n",
       V{{"lint.pool-upstream", "/etc/ntpsec/servers.conf", 5, kFail}},
       {{"/etc/ntpsec/servers.conf", kServers + "server 0.pool.ntp.org iburst\n"}},
       {},
       false,
       5},
      {"includefile missing: ntpd skips it", Daemon::ntpsec,
       kNtpd + "includefile /etc/ntpsec/missing.conf\n", V{{"lint.include", "", 8, kWarn}}},
      {"includefile unreadable, nothing else fails",
       Daemon::ntpsec,
       kAccess + "includefile /etc/ntpsec/secret.conf\n",
       V{{"lint.include", "", 4, kFail}, {"lint.upstream-count", "", 0, kWarn}},
       {},
       {"/etc/ntpsec/secret.conf"}},
      {"includefile unreadable, the config fails anyway",
       Daemon::ntpsec,
       kServers + "restrict default ignore\nincludefile /etc/ntpsec/secret.conf\n",
       V{{"lint.no-service", "", 5, kFail}, {"lint.include", "", 6, kWarn}},
       {},
       {"/etc/ntpsec/secret.conf"}},
      {"includefile cycle",
       Daemon::ntpsec,
       kNtpd + "includefile a.conf\n",
       V{{"lint.include", "/etc/ntpsec/b.conf", 1, kWarn}},
       {{"/etc/ntpsec/a.conf", "includefile b.conf\n"},
        {"/etc/ntpsec/b.conf", "includefile ntp.conf\n"}}},
      {"includefile deeper than five levels",
       Daemon::ntpsec,
       kNtpd + "includefile l1.conf\n",
       V{{"lint.include", "/etc/ntpsec/l5.conf", 1, kWarn}},
       {{"/etc/ntpsec/l1.conf", "includefile l2.conf\n"},
        {"/etc/ntpsec/l2.conf", "includefile l3.conf\n"},
        {"/etc/ntpsec/l3.conf", "includefile l4.conf\n"},
        {"/etc/ntpsec/l4.conf", "includefile l5.conf\n"},
        {"/etc/ntpsec/l5.conf", "includefile l6.conf\n"},
        {"/etc/ntpsec/l6.conf", "enable mode7\n"}}},
      {"ntpsec reads ntp.d beside its config",
       Daemon::ntpsec,
       kAccess,
       V{},
       {{"/etc/ntpsec/ntp.d/servers.conf", kServers}, {"/etc/ntpsec/ntp.d/notes.txt", "pool x"}},
       {},
       false,
       4},
      {"classic ntpd does not read ntp.d",
       Daemon::ntp,
       kNtpd,
       V{},
       {{"/etc/ntpsec/ntp.d/x.conf", "enable mode7\n"}}},
      {"ntpsec includefile of a directory: its *.conf files",
       Daemon::ntpsec,
       kAccess + "includefile conf.d\n",
       V{{"lint.mode7", "/etc/ntpsec/conf.d/b.conf", 1, kFail}},
       {{"/etc/ntpsec/conf.d/a.conf", kServers},
        {"/etc/ntpsec/conf.d/b.conf", "enable mode7\n"},
        {"/etc/ntpsec/conf.d/c.conf.bak", "enable mode7\n"}}},
      // --- chrony -----------------------------------------------------------------------------
      {"recommended chrony", Daemon::chrony, kChrony, V{}, {}, {}, false, 4},
      {"allow all, then deny all", Daemon::chrony, kChrony + "deny all\n",
       V{{"lint.no-service", "", 7, kFail}}},
      {"deny all, then allow all", Daemon::chrony, kServers + "deny all\nallow all\nratelimit\n",
       V{}},
      {"allow 0.0.0.0/0 only: no IPv6", Daemon::chrony, kServers + "allow 0.0.0.0/0\nratelimit\n",
       V{{"lint.no-service", "", 0, kFail}}},
      {"allow 0/0 and ::/0", Daemon::chrony, kServers + "allow 0/0\nallow ::/0\nratelimit\n", V{}},
      {"allow a private subnet only", Daemon::chrony,
       kServers + "allow 192.168.0.0/16\nratelimit\n", V{{"lint.no-service", "", 0, kFail}}},
      {"a deny for a subnet the public is in", Daemon::chrony,
       kServers + "allow\ndeny 93.0.0.0/8\nratelimit\n", V{{"lint.no-service", "", 6, kFail}}},
      {"allow all overrides a deny below it", Daemon::chrony,
       kServers + "deny 93.0.0.0/8\nallow all\nratelimit\n", V{}},
      {"same table level: the later line wins, not the longer prefix", Daemon::chrony,
       kServers + "allow\ndeny 93.184.216.32/28\nallow 93.184.216.0/25\nratelimit\n", V{}},
      {"same table level, deny last", Daemon::chrony,
       kServers + "allow\nallow 93.184.216.0/25\ndeny 93.184.216.32/28\nratelimit\n",
       V{{"lint.no-service", "", 7, kFail}}},
      {"no allow", Daemon::chrony, kServers + "ratelimit\n", V{{"lint.no-allow", "", 0, kFail}}},
      {"port 0", Daemon::chrony, kChrony + "port 0\n", V{{"lint.listen", "", 7, kFail}}},
      {"bindaddress loopback for both families", Daemon::chrony,
       kChrony + "bindaddress 127.0.0.1\nbindaddress ::1\n",
       V{{"lint.listen", "", 7, kFail}, {"lint.listen", "", 8, kFail}}},
      {"bindaddress 127.0.0.1 alone: IPv4 closed, IPv6 still served", Daemon::chrony,
       kChrony + "bindaddress 127.0.0.1\n", V{{"lint.listen", "", 7, kFail}}},
      {"bindaddress a private address, with the machine's",
       Daemon::chrony,
       kChrony + "bindaddress 10.0.0.5\n",
       V{{"lint.listen", "", 7, kFail}},
       {},
       {},
       true},
      {"chrony pool and noselect",
       Daemon::chrony,
       kChrony + "pool 2.debian.pool.ntp.org iburst\nserver 192.0.2.9 noselect\n",
       V{{"lint.pool-upstream", "", 7, kFail}, {"lint.upstream-noselect", "", 8, kWarn}},
       {},
       {},
       false,
       4},
      {"chrony local", Daemon::chrony, kChrony + "local stratum 10\n",
       V{{"lint.local-clock", "", 7, kFail}}},
      {"chrony include glob, in name order",
       Daemon::chrony,
       "include /etc/chrony/conf.d/*.conf\n",
       V{{"lint.local-clock", "/etc/chrony/conf.d/30-local.conf", 1, kFail}},
       {{"/etc/chrony/conf.d/10-servers.conf", kServers},
        {"/etc/chrony/conf.d/20-allow.conf", "allow all\nratelimit\n"},
        {"/etc/chrony/conf.d/30-local.conf", "local stratum 10\n"},
        {"/etc/chrony/conf.d/40-deny.off", "deny all\n"}},
       {},
       false,
       4},
      {"chrony include of a missing file stops chronyd", Daemon::chrony,
       kChrony + "include /etc/chrony/extra.conf\n", V{{"lint.include", "", 7, kFail}}},
      {"chrony include pattern that matches nothing", Daemon::chrony,
       kChrony + "include /etc/chrony/none/*.conf\n", V{}},
      {"chrony confdir: the first directory's file of a name wins",
       Daemon::chrony,
       kServers + "confdir /etc/chrony/conf.d /usr/lib/chrony/conf.d\n",
       V{{"lint.local-clock", "/usr/lib/chrony/conf.d/10-local.conf", 1, kFail}},
       {{"/etc/chrony/conf.d/50-access.conf", "allow all\nratelimit\n"},
        {"/usr/lib/chrony/conf.d/50-access.conf", "deny all\n"},
        {"/usr/lib/chrony/conf.d/10-local.conf", "local stratum 10\n"}}},
      {"chrony confdir missing", Daemon::chrony, kChrony + "confdir /etc/chrony/none\n", V{}},
      {"chrony sourcedir: only sources are read",
       Daemon::chrony,
       s3 + "allow all\nratelimit\nsourcedir /etc/chrony/sources.d\n",
       V{},
       {{"/etc/chrony/sources.d/a.sources", "server 192.0.2.9 iburst\ndeny all\nlocal\n"},
        {"/etc/chrony/sources.d/a.conf", "local\n"}},
       {},
       false,
       4},
      {"chrony include cycle",
       Daemon::chrony,
       kChrony + "include /etc/chrony/a.conf\n",
       V{{"lint.include", "/etc/chrony/a.conf", 1, kFail}},
       {{"/etc/chrony/a.conf", "include /etc/chrony/chrony.conf\n"}}},
  };
}

}  // namespace

TEST_CASE("lint table: exact findings per config", "[lint]") {
  const auto table = rows();
  REQUIRE(table.size() >= 40);
  for (const auto& row : table) {
    INFO(row.name);
    MapReader reader;
    reader.files = row.files;
    reader.unreadable = row.unreadable;
    LintContext context;
    context.reader = &reader;
    context.path = row.daemon == Daemon::chrony ? kChronyConf : kNtpConf;
    reader.files[context.path] = row.text;
    if (row.addresses == 1) context.addresses = machine();
    if (row.addresses == 2) context.addresses = behind_nat();
    context.resolve = [](const std::string& host) -> std::optional<std::vector<IpAddress>> {
      if (host.ends_with(".invalid")) return std::nullopt;
      return std::vector<IpAddress>{};
    };
    std::vector<Expected> got;
    for (const auto& f : lint_config(row.text, row.daemon, context)) {
      got.push_back({f.finding.id, f.file, f.line, f.finding.severity});
      // Each message names its place, and says what to do.
      if (f.line > 0 && f.file.empty())
        CHECK(f.finding.message.rfind("line " + std::to_string(f.line) + ": ", 0) == 0);
      if (f.line > 0 && !f.file.empty())
        CHECK(f.finding.message.rfind(f.file + ":" + std::to_string(f.line) + ": ", 0) == 0);
      CHECK_FALSE(f.finding.fix.empty());
    }
    INFO("got: " << describe(got) << "\nexpected: " << describe(row.expected));
    CHECK(got == row.expected);
    if (row.sources >= 0)
      CHECK(count_upstreams(row.text, row.daemon, context) ==
            static_cast<std::size_t>(row.sources));
  }
}

TEST_CASE("lint table: Debian 12's stock ntpsec config", "[lint]") {
  const auto text = test::read_text(std::filesystem::path(POOLJOIN_FIXTURES) / "lint" /
                                    "debian-12-ntpsec-default.conf");
  MapReader reader;
  LintContext context{&reader, kNtpConf, std::nullopt, {}};
  std::vector<Expected> got;
  for (const auto& f : lint_config(text, Daemon::ntpsec, context))
    got.push_back({f.finding.id, f.file, f.line, f.finding.severity});
  const V expected{{"lint.pool-upstream", "", 34, kFail}, {"lint.pool-nopeer", "", 34, kWarn},
                   {"lint.pool-upstream", "", 35, kFail}, {"lint.pool-upstream", "", 36, kFail},
                   {"lint.pool-upstream", "", 37, kFail}, {"lint.restrict-default", "", 47, kWarn},
                   {"lint.upstream-count", "", 0, kFail}};
  CHECK(got == expected);
  // Not "4 upstream servers": pool lines are pool names.
  CHECK(count_upstreams(text, Daemon::ntpsec, context) == 0);
}

TEST_CASE("lint table: messages name the rule and the family", "[lint]") {
  auto one = [](const std::string& text, Daemon daemon) {
    auto findings = lint_config(text, daemon);
    REQUIRE(findings.size() == 1);
    return findings[0].finding;
  };
  CHECK(one(kNtpd + "unrestrict default noquery\n", Daemon::ntpsec).message ==
        "line 8: `unrestrict default noquery` removes noquery for IPv4 and IPv6: anyone there "
        "may send mode 6 (ntpq) queries, an amplifier for DDoS attacks");
  CHECK(one(kChrony + "deny all\n", Daemon::chrony).message ==
        "line 7: `deny all` denies IPv4 and IPv6: the pool's clients there get no time");
  auto v6 = one(kServers + "allow 0.0.0.0/0\nratelimit\n", Daemon::chrony);
  CHECK(v6.message == "no `allow` line covers IPv6: the pool's clients there get no time");
  CHECK(v6.fix == "add `allow ::/0`");
  CHECK(one(kNtpd + "server 127.127.1.0 prefer\n", Daemon::ntp).message.find("`prefer`") !=
        std::string::npos);
  // Without a reader, an include is only named.
  auto include = one(kNtpd + "includefile /etc/ntp.d/x.conf\n", Daemon::ntpsec);
  CHECK(include.id == "lint.include");
  CHECK(include.severity == Severity::warn);
}

TEST_CASE("lint: an upstream name that resolves to loopback, LOCAL or unspecified is refused",
          "[lint][hostile]") {
  const std::map<std::string, std::vector<std::string>> dns = {
      {"ntp1.example", {"192.0.2.1"}},
      {"loop.example", {"192.0.2.2", "127.0.0.1"}},
      {"local-clock.example", {"127.127.1.0"}},
      {"zero.example", {"0.0.0.0"}},
      {"mapped.example", {"::ffff:127.0.0.1"}},
      {"six.example", {"::1"}},
      {"broadcast.example", {"255.255.255.255"}},
  };
  LintContext context;
  context.resolve = [&dns](const std::string& host) -> std::optional<std::vector<IpAddress>> {
    auto it = dns.find(host);
    if (it == dns.end()) return std::nullopt;
    std::vector<IpAddress> out;
    for (const auto& text : it->second)
      out.push_back(*IpAddress::parse(text));
    return out;
  };
  for (const auto& [name, addresses] : dns) {
    INFO(name);
    const std::string text = "server ntp1.example iburst\nserver " + name + " iburst\n";
    std::vector<std::string> invalid;
    for (const auto& f : lint_config(text, Daemon::ntpsec, context))
      if (f.finding.id == "lint.upstream-invalid") invalid.push_back(f.finding.message);
    if (name == "ntp1.example") {
      CHECK(invalid.empty());
      continue;
    }
    REQUIRE(invalid.size() == 1);
    CHECK(invalid.front().find(name + " resolves to " + addresses.back()) != std::string::npos);
    CHECK(count_upstreams(text, Daemon::ntpsec, context) == 1);
  }
}
