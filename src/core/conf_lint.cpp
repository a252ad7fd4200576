// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/conf_lint.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <fnmatch.h>

#include <fmt/format.h>

#include "pooljoin/config_text.hpp"
#include "pooljoin/dhcp.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/ntp_config.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// A directive as written, shortened for a message.
constexpr std::size_t kQuoteLimit = 72;

// ntpd's and ntpsec's MAXINCLUDELEVEL: an `includefile` nested deeper is skipped (logged).
constexpr int kNtpdMaxIncludeDepth = 5;
// The deepest include chronyd reads, below the top file: its MAX_INCLUDE_LEVEL (10) counts the
// top file, and a file one level deeper stops chronyd at start.
constexpr int kChronyMaxIncludeDepth = 9;

// The addresses that stand for "a client anywhere on the internet" when the access rules are
// evaluated: example.com's (global unicast, not a time server, in no one's restrict or allow
// lines), one per family. A rule for a subnet that holds them covers much of the internet.
constexpr const char* kPublicProbe4 = "93.184.216.34";
constexpr const char* kPublicProbe6 = "2606:2800:220:1:248:1893:25c8:1946";

constexpr const char* kRecommendedRestrict =
    "restrict default kod limited nomodify notrap nopeer noquery";
constexpr const char* kRecommendedRestrict6 =
    "restrict -6 default kod limited nomodify notrap nopeer noquery";

constexpr std::array<IpFamily, 2> kFamilies = {IpFamily::v4, IpFamily::v6};

IpAddress public_probe(IpFamily family) {
  return *IpAddress::parse(family == IpFamily::v4 ? kPublicProbe4 : kPublicProbe6);
}

// One directive of the config as the daemon reads it, with the file it is in.
struct Line {
  std::string file;  // system path of an included file; "" for the top file
  Directive d;
  int order = 0;  // place in reading order
};

std::string quote(const Directive& d) {
  std::string text = d.text.size() > kQuoteLimit ? d.text.substr(0, kQuoteLimit) + "..." : d.text;
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte >= 0x7f) ? '?' : c;
  }
  return "`" + out + "`";
}
std::string quote(const Line& l) {
  return quote(l.d);
}

// The words of a directive as written (paths keep their case).
std::vector<std::string> raw_words(const Directive& d) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < d.text.size()) {
    auto start = d.text.find_first_not_of(" \t\r", pos);
    if (start == std::string::npos) break;
    auto end = d.text.find_first_of(" \t\r", start);
    std::string word = d.text.substr(start, end - start);
    if (word.size() >= 2 && word.front() == '"' && word.back() == '"')
      word = word.substr(1, word.size() - 2);
    words.push_back(std::move(word));
    pos = end == std::string::npos ? d.text.size() : end;
  }
  return words;
}

bool is_source_keyword(std::string_view word) {
  return word == "server" || word == "peer" || word == "pool";
}

// The address word of an ntpd server/peer/pool/restrict line, after an optional -4/-6.
std::string ntpd_target(const Directive& d, int* family = nullptr) {
  std::size_t i = 1;
  if (family) *family = 0;
  if (i < d.words.size() && (d.words[i] == "-4" || d.words[i] == "-6")) {
    if (family) *family = d.words[i] == "-4" ? 4 : 6;
    ++i;
  }
  return i < d.words.size() ? d.words[i] : std::string();
}

std::string parent_dir(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

std::string join_path(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).lexically_normal().string();
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

class Linter {
 public:
  explicit Linter(Daemon daemon) : daemon_(daemon) {}

  // A finding at `at` (nullptr: about the config as a whole).
  void add(const Line* at, std::string id, Severity severity, std::string message,
           std::string fix) {
    std::string text = std::move(message);
    if (at) {
      text = at->file.empty() ? fmt::format("line {}: {}", at->d.line, text)
                              : fmt::format("{}:{}: {}", at->file, at->d.line, text);
    }
    if (severity == Severity::fail) failed_ = true;
    entries_.push_back(
        {at ? at->order : INT_MAX,
         LintFinding{at ? at->file : std::string(), at ? at->d.line : 0,
                     Finding{std::move(id), severity, std::move(text), std::move(fix)}}});
  }

  std::vector<LintFinding> take() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.order < b.order; });
    std::vector<LintFinding> out;
    for (auto& e : entries_)
      out.push_back(std::move(e.finding));
    return out;
  }

  Daemon daemon() const { return daemon_; }
  bool classic() const { return daemon_ == Daemon::ntp; }
  bool failed() const { return failed_; }

 private:
  struct Entry {
    int order;
    LintFinding finding;
  };
  Daemon daemon_;
  bool failed_ = false;
  std::vector<Entry> entries_;
};

// ---------------------------------------------------------------------------------------------
// Reading: the top file and the files it includes, in the daemon's order.

// How much an include that was not read matters.
enum class IncludeProblem {
  skipped,     // the daemon skips it too: what was read is what the daemon runs (warn)
  unseen,      // the daemon reads it but the lint could not (fail unless something else fails)
  fatal,       // the daemon does not start (fail)
  not_looked,  // no reader: includes are not followed (warn)
};

struct PendingInclude {
  const Line* at;
  IncludeProblem problem;
  std::string why;
};

class ConfigLoader {
 public:
  ConfigLoader(Daemon daemon, const LintContext& context) : daemon_(daemon), ctx_(context) {}

  // Every directive in reading order; `lines` keeps them at stable addresses.
  void load(std::string_view text) {
    if (!ctx_.path.empty()) stack_.push_back(ctx_.path);
    read(text, "", ctx_.path, 0, false);
    // ntpsec also reads the *.conf files of ntp.d beside its config, after it.
    if (daemon_ == Daemon::ntpsec && !ctx_.path.empty() && ctx_.reader) {
      const std::string dir = join_path(parent_dir(ctx_.path), "ntp.d");
      if (auto names = ctx_.reader->list(dir)) {
        for (const auto& name : *names) {
          if (ends_with(name, ".conf")) read_file(nullptr, join_path(dir, name), 1, false);
        }
      }
    }
  }

  std::vector<std::unique_ptr<Line>> lines;
  std::vector<PendingInclude> problems;
  bool incomplete = false;  // some file the daemon reads was not read

 private:
  void problem(const Line* at, IncludeProblem kind, std::string why) {
    if (kind != IncludeProblem::skipped) incomplete = true;
    problems.push_back({at, kind, std::move(why)});
  }

  void read(std::string_view text, const std::string& shown, const std::string& path, int depth,
            bool sources_only) {
    for (auto& d : directives(text, daemon_)) {
      const std::string key = d.words[0];
      if (sources_only && !is_source_keyword(key)) continue;
      lines.push_back(std::make_unique<Line>(Line{shown, std::move(d), order_++}));
      const Line* at = lines.back().get();
      if (daemon_ != Daemon::chrony && key == "includefile") {
        include_ntpd(at, path, depth);
      } else if (daemon_ == Daemon::chrony && key == "include") {
        include_chrony(at, depth);
      } else if (daemon_ == Daemon::chrony && (key == "confdir" || key == "sourcedir")) {
        include_dirs(at, depth, key == "sourcedir");
      }
    }
  }

  // Reads one file at `path` (an absolute system path) `depth` levels below the top.
  // Returns false when it could not be read (the problem is recorded).
  bool read_file(const Line* at, const std::string& path, int depth, bool sources_only) {
    if (std::find(stack_.begin(), stack_.end(), path) != stack_.end()) {
      problem(at, daemon_ == Daemon::chrony ? IncludeProblem::fatal : IncludeProblem::skipped,
              fmt::format("{} includes itself (through {}): {}", path, stack_.back(),
                          daemon_ == Daemon::chrony
                              ? "chronyd stops at its include limit and does not start"
                              : "ntpd reads it again until its include limit; read once here"));
      return false;
    }
    auto text = ctx_.reader->read(path);
    if (!text) {
      if (ctx_.reader->exists(path)) {
        problem(at, IncludeProblem::unseen,
                fmt::format("{} exists but could not be read: its lines are not checked", path));
      } else if (daemon_ == Daemon::chrony) {
        problem(at, IncludeProblem::fatal,
                fmt::format("{} does not exist: chronyd does not start without it", path));
      } else {
        problem(at, IncludeProblem::skipped, fmt::format("{} does not exist: ntpd skips it", path));
      }
      return false;
    }
    stack_.push_back(path);
    read(*text, path, path, depth, sources_only);
    stack_.pop_back();
    return true;
  }

  void include_ntpd(const Line* at, const std::string& including, int depth) {
    auto words = raw_words(at->d);
    if (words.size() < 2) return;
    std::string path = words[1];
    if (path.front() != '/') {
      // ntpsec and ntpd read a relative path from the including file's directory.
      if (including.empty()) {
        problem(at, IncludeProblem::unseen,
                fmt::format("`{}` is relative to a config read without its path", path));
        return;
      }
      path = join_path(parent_dir(including), path);
    } else {
      path = std::filesystem::path(path).lexically_normal().string();
    }
    if (!ctx_.reader) {
      problem(at, IncludeProblem::not_looked,
              fmt::format("{} was not read: its lines are not checked", path));
      return;
    }
    if (depth + 1 > kNtpdMaxIncludeDepth) {
      problem(at, IncludeProblem::skipped,
              fmt::format("{} is nested deeper than ntpd's {} levels: ntpd skips it", path,
                          kNtpdMaxIncludeDepth));
      return;
    }
    if (auto names = ctx_.reader->list(path)) {
      // ntpsec reads the *.conf files of a directory in name order; classic ntpd cannot.
      if (daemon_ == Daemon::ntp) {
        problem(at, IncludeProblem::skipped,
                fmt::format("{} is a directory: classic ntpd cannot include it", path));
        return;
      }
      for (const auto& name : *names) {
        if (ends_with(name, ".conf")) read_file(at, join_path(path, name), depth + 1, false);
      }
      return;
    }
    read_file(at, path, depth + 1, false);
  }

  void include_chrony(const Line* at, int depth) {
    auto words = raw_words(at->d);
    if (words.size() < 2) return;
    // chronyd runs in "/": a relative pattern is relative to it.
    std::string pattern = words[1].front() == '/' ? words[1] : "/" + words[1];
    if (!ctx_.reader) {
      problem(at, IncludeProblem::not_looked,
              fmt::format("{} was not read: its lines are not checked", pattern));
      return;
    }
    if (depth + 1 > kChronyMaxIncludeDepth) {
      problem(at, IncludeProblem::fatal,
              fmt::format("{} is nested deeper than chrony's include limit: chronyd does not "
                          "start",
                          pattern));
      return;
    }
    const std::string dir = parent_dir(pattern);
    const std::string base = std::filesystem::path(pattern).filename().string();
    auto wild = [](std::string_view s) { return s.find_first_of("*?[") != std::string::npos; };
    if (wild(dir)) {
      problem(at, IncludeProblem::unseen,
              fmt::format("{}: wildcards in directory names are not followed here", pattern));
      return;
    }
    if (!wild(base)) {
      read_file(at, pattern, depth + 1, false);
      return;
    }
    // A pattern that matches nothing is skipped by chronyd.
    for (const auto& name : ctx_.reader->list(dir).value_or(std::vector<std::string>{})) {
      if (name.front() != '.' && fnmatch(base.c_str(), name.c_str(), 0) == 0)
        read_file(at, join_path(dir, name), depth + 1, false);
    }
  }

  // chrony's confdir (*.conf) and sourcedir (*.sources, only server/pool/peer lines): the files
  // of all the directories in name order, a name in a later directory ignored; a missing
  // directory is fine.
  void include_dirs(const Line* at, int depth, bool sources) {
    auto words = raw_words(at->d);
    const char* suffix = sources ? ".sources" : ".conf";
    if (!ctx_.reader) {
      // DHCP's directory has a finding of its own (lint.dhcp-sources).
      if (!(sources && at->d.text.find("chrony-dhcp") != std::string::npos))
        problem(at, IncludeProblem::not_looked,
                fmt::format("the *{} files were not read: their lines are not checked", suffix));
      return;
    }
    std::map<std::string, std::string> first;  // file name -> path, in name order
    for (std::size_t i = 1; i < words.size(); ++i) {
      std::string dir = words[i].front() == '/' ? words[i] : "/" + words[i];
      for (const auto& name : ctx_.reader->list(dir).value_or(std::vector<std::string>{})) {
        if (ends_with(name, suffix) && name.front() != '.' && !first.count(name))
          first[name] = join_path(dir, name);
      }
    }
    for (const auto& [name, path] : first)
      read_file(at, path, sources ? depth : depth + 1, sources);
  }

  Daemon daemon_;
  const LintContext& ctx_;
  std::vector<std::string> stack_;
  int order_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Findings about one address family, merged into one when both families have the same.

struct FamilyFinding {
  std::string id;
  const Line* at = nullptr;
  Severity severity = Severity::fail;
  std::function<std::string(const std::string& family)> message;
  std::function<std::string(const std::vector<IpFamily>& families)> fix;
};

void add_family_findings(Linter& lint, const std::vector<FamilyFinding>& v4,
                         const std::vector<FamilyFinding>& v6) {
  std::vector<bool> merged(v6.size(), false);
  for (const auto& a : v4) {
    bool both = false;
    for (std::size_t i = 0; i < v6.size(); ++i) {
      const auto& b = v6[i];
      if (!merged[i] && a.id == b.id && a.at == b.at && a.severity == b.severity &&
          a.message("F") == b.message("F")) {
        merged[i] = both = true;
        break;
      }
    }
    lint.add(a.at, a.id, a.severity, a.message(both ? "IPv4 and IPv6" : "IPv4"),
             a.fix(both ? std::vector{IpFamily::v4, IpFamily::v6} : std::vector{IpFamily::v4}));
  }
  for (std::size_t i = 0; i < v6.size(); ++i) {
    if (!merged[i])
      lint.add(v6[i].at, v6[i].id, v6[i].severity, v6[i].message("IPv6"),
               v6[i].fix({IpFamily::v6}));
  }
}

// The machine's addresses the pool's clients reach: its global ones, and for a family without
// one its private ones (behind 1:1 NAT, as on most clouds).
std::vector<LocalAddress> pool_facing(const std::vector<LocalAddress>& addresses) {
  std::vector<LocalAddress> out;
  for (auto family : kFamilies) {
    auto of = [&](auto pred) {
      std::vector<LocalAddress> picked;
      for (const auto& a : addresses) {
        if (a.address.family() == family && pred(a)) picked.push_back(a);
      }
      return picked;
    };
    auto global = of([](const LocalAddress& a) { return a.address.is_global_unicast(); });
    if (global.empty()) global = of([](const LocalAddress& a) { return a.behind_nat(); });
    out.insert(out.end(), global.begin(), global.end());
  }
  return out;
}

// Whether the pool can reach the machine over `family`: unknown addresses count as yes.
bool serves_family(const LintContext& ctx, IpFamily family) {
  if (!ctx.addresses) return true;
  const auto facing = pool_facing(*ctx.addresses);
  return std::any_of(facing.begin(), facing.end(),
                     [&](const LocalAddress& a) { return a.address.family() == family; });
}

// A subnet as ntpd's restrict or chrony's allow names it.
struct Subnet {
  IpAddress address;
  unsigned bits = 0;
  bool contains(const IpAddress& a) const {
    return a.family() == address.family() && (bits == 0 || a.in_prefix(address, bits));
  }
  bool operator==(const Subnet& o) const {
    return bits == o.bits && address.family() == o.address.family() &&
           (bits == 0 || address.in_prefix(o.address, bits));
  }
};

unsigned max_bits(IpFamily family) {
  return family == IpFamily::v4 ? 32 : 128;
}

// "a.b.c.d/n", "2001:db8::/32" or a bare address (a host).
std::optional<Subnet> parse_cidr(std::string_view text) {
  auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  unsigned bits = max_bits(address->family());
  if (slash != std::string_view::npos) {
    auto n = parse_int(text.substr(slash + 1));
    if (!n || *n < 0 || static_cast<unsigned>(*n) > bits) return std::nullopt;
    bits = static_cast<unsigned>(*n);
  }
  return Subnet{*address, bits};
}

// The prefix length of a contiguous netmask ("255.255.255.0" -> 24).
std::optional<unsigned> mask_bits(std::string_view text) {
  auto mask = IpAddress::parse(text);
  if (!mask) return std::nullopt;
  unsigned bits = 0;
  const auto& bytes = mask->bytes();
  const std::size_t n = mask->is_v4() ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) {
    for (int b = 7; b >= 0; --b) {
      if (bytes[i] & (1u << b)) {
        ++bits;
      } else {
        return bits;
      }
    }
  }
  return bits;
}

// ---------------------------------------------------------------------------------------------
// Upstreams: what the daemon uses as time sources.

struct Sources {
  std::vector<const Line*> counted;  // servers and reference clocks, in reading order
  bool has_refclock = false;
  const Line* first_pool = nullptr;
};

void check_pool_name(Linter& lint, const Line& l, const std::string& host) {
  if (is_pool_ntp_name(host)) {
    lint.add(&l, "lint.pool-upstream", Severity::fail,
             fmt::format("{} follows a pool.ntp.org name: a pool server's upstreams must not "
                         "change with every DNS lookup",
                         quote(l)),
             "replace it with `server ADDRESS iburst` lines pinned by address (`pooljoin "
             "resolve`, then `pooljoin gen-conf`)");
  }
}

void local_clock(Linter& lint, const Line& l, const char* what) {
  const bool prefer = l.d.has("prefer");
  lint.add(
      &l, "lint.local-clock", Severity::fail,
      fmt::format("{} {}, which the pool forbids: it makes the server answer with its own "
                  "unsynchronised time{}",
                  quote(l), what,
                  prefer ? " (and `prefer` makes the daemon choose it over its upstreams)" : ""),
      "remove it (and its `fudge` line)");
}

Sources collect_sources(Linter& lint, const std::vector<std::unique_ptr<Line>>& lines,
                        const LintContext& ctx) {
  Sources sources;
  const bool chrony = lint.daemon() == Daemon::chrony;
  std::set<std::string> seen;
  for (const auto& owned : lines) {
    const Line& l = *owned;
    const auto& key = l.d.words[0];
    if (key == "refclock") {
      if (l.d.words.size() > 1 && l.d.words[1] == "local") {
        local_clock(lint, l, "is the LOCAL clock driver");
      } else {
        sources.has_refclock = true;
        sources.counted.push_back(&l);
      }
      continue;
    }
    if (chrony && key == "local") {
      local_clock(lint, l, "serves the local clock as a time source");
      continue;
    }
    if (!is_source_keyword(key) || l.d.words.size() < 2) continue;
    // Read as the daemon's resolver reads it: "0x7f7f0100" is 127.127.1.0, "::ffff:127.0.0.1"
    // is 127.0.0.1.
    const std::string written = chrony ? l.d.words[1] : ntpd_target(l.d);
    const auto read = IpAddress::parse_as_resolver(written);
    const std::optional<IpAddress> address =
        read ? std::optional<IpAddress>(read->unmapped()) : std::nullopt;
    const std::string target = address ? address->to_string() : written;
    if (!chrony && target.rfind("127.127.", 0) == 0) {
      if (target.rfind("127.127.1.", 0) == 0) {
        local_clock(lint, l, "is the LOCAL clock driver");
      } else {
        sources.has_refclock = true;
        sources.counted.push_back(&l);
      }
      continue;
    }
    check_pool_name(lint, l, target);
    if (key == "pool") {
      // A pool name stands for servers the daemon picks at run time: none of them is one of
      // the upstreams the pool asks for.
      if (!sources.first_pool) sources.first_pool = &l;
      continue;
    }
    if (l.d.has("noselect")) {
      lint.add(&l, "lint.upstream-noselect", Severity::warn,
               fmt::format("{} is `noselect`: the daemon watches it but never follows it, so "
                           "it is not counted as an upstream",
                           quote(l)),
               "remove `noselect`, or count on the other upstreams");
      continue;
    }
    // What gen-conf refuses as an upstream (loopback, unspecified, broadcast, multicast,
    // localhost) is no server either.
    if (auto judged = parse_upstream(written); !judged && (address || !is_pool_ntp_name(written))) {
      lint.add(
          &l, "lint.upstream-invalid", Severity::fail,
          fmt::format("{} is no upstream server: {} (not counted)", quote(l), judged.error().why),
          "remove the line and give 4 to 7 servers by their global addresses");
      continue;
    }
    const std::string& key_name = target;
    if (!seen.insert(key_name).second) {
      lint.add(&l, "lint.upstream-duplicate", Severity::warn,
               fmt::format("{} names {} again: it is counted once", quote(l), key_name),
               "remove the second line");
      continue;
    }
    if (address && ctx.addresses) {
      auto own = std::find_if(ctx.addresses->begin(), ctx.addresses->end(),
                              [&](const LocalAddress& a) { return a.address == *address; });
      if (own != ctx.addresses->end()) {
        lint.add(&l, "lint.upstream-own-address", Severity::fail,
                 fmt::format("{} is this machine's own address ({}): a server cannot be its "
                             "own upstream, it would follow its own clock",
                             quote(l), own->interface.empty() ? "local" : "on " + own->interface),
                 "remove the line and give 4 to 7 other servers");
        continue;
      }
    }
    if (!address && ctx.resolve) {
      const auto resolved = ctx.resolve(target);
      if (!resolved) {
        lint.add(&l, "lint.upstream-unresolvable", Severity::warn,
                 fmt::format("{}: {} does not resolve, so the daemon cannot use it (not counted)",
                             quote(l), target),
                 "fix the name, or pin the server by address");
        continue;
      }
      // A name is judged as the addresses the daemon will get for it.
      std::optional<std::string> refused;
      for (const auto& ip : *resolved) {
        if (auto judged = parse_upstream(ip.to_string()); !judged) {
          refused =
              fmt::format("{} resolves to {}: {}", target, ip.to_string(), judged.error().why);
          break;
        }
      }
      if (refused) {
        lint.add(&l, "lint.upstream-invalid", Severity::fail,
                 fmt::format("{} is no upstream server: {} (not counted)", quote(l), *refused),
                 "remove the line and give 4 to 7 servers by their global addresses");
        continue;
      }
    }
    sources.counted.push_back(&l);
  }
  return sources;
}

void check_count(Linter& lint, const Sources& sources, bool incomplete) {
  const auto n = std::ssize(sources.counted);
  if (n > kMaxUpstreams) {
    const Line* at = sources.counted[static_cast<std::size_t>(kMaxUpstreams)];
    lint.add(at, "lint.upstream-count", Severity::fail,
             fmt::format("{} is upstream number {}; the config has {} and the pool asks for at "
                         "most {}",
                         quote(*at), kMaxUpstreams + 1, n, kMaxUpstreams),
             fmt::format("keep {} to {} upstream servers", kMinUpstreams, kMaxUpstreams));
  } else if (n < kMinUpstreams) {
    // A reference clock makes a stratum-1 server, and an unread file may hold the rest.
    bool may_be_fine = sources.has_refclock || incomplete;
    lint.add(nullptr, "lint.upstream-count", may_be_fine ? Severity::warn : Severity::fail,
             fmt::format("{} upstream server{}; the pool asks for at least {}{}", n,
                         n == 1 ? "" : "s", kMinUpstreams,
                         incomplete             ? " (files that were not read may hold more)"
                         : sources.has_refclock ? " (a reference clock counts as one)"
                                                : ""),
             fmt::format("add `server ADDRESS iburst` lines up to {} to {}", kMinUpstreams,
                         kMaxUpstreams));
  }
}

// ---------------------------------------------------------------------------------------------
// ntpd and ntpsec: restrict / unrestrict evaluated as ntpd does, interface / nic.

struct Restriction {
  Subnet subnet;
  bool is_default = false;
  bool ntpport = false;  // matches only packets from port 123: not the pool's clients
  std::set<std::string> flags;
  std::map<std::string, const Line*> removed_by;  // flag -> the unrestrict line
  const Line* last = nullptr;                     // the last restrict line for this entry
};

// The entries a restrict/unrestrict line names (two for `default` without -4/-6); empty for
// `source`, host names and lines ntpd would refuse. `flags` gets the words after the address.
std::vector<Subnet> restrict_subnets(const Directive& d, std::vector<std::string>& flags) {
  int family = 0;
  const std::string target = ntpd_target(d, &family);
  std::size_t i = family ? 3 : 2;
  std::optional<unsigned> mask;
  for (; i < d.words.size(); ++i) {
    if (d.words[i] == "mask" && i + 1 < d.words.size()) {
      mask = mask_bits(d.words[++i]);
    } else {
      flags.push_back(d.words[i]);
    }
  }
  std::vector<Subnet> out;
  if (target == "default") {
    if (family != 6) out.push_back({*IpAddress::parse("0.0.0.0"), 0});
    if (family != 4) out.push_back({*IpAddress::parse("::"), 0});
    return out;
  }
  auto subnet = parse_cidr(target);
  if (!subnet) return out;  // `source`, or a host name (one host, resolved at start)
  if (mask) subnet->bits = std::min(*mask, max_bits(subnet->address.family()));
  out.push_back(*subnet);
  return out;
}

class Restrictions {
 public:
  explicit Restrictions(Daemon daemon) {
    // The default entries ntpd starts with. ntpsec's has noquery (its documentation and ntpsec
    // 1.2.2 tested here agree; the documentation also names limited, which is not relied on).
    for (auto family : kFamilies) {
      Restriction r;
      r.subnet = {public_probe(family), 0};
      r.is_default = true;
      if (daemon == Daemon::ntpsec) r.flags.insert("noquery");
      entries_.push_back(std::move(r));
    }
  }

  void restrict(const Line& l) {
    std::vector<std::string> flags;
    for (const auto& subnet : restrict_subnets(l.d, flags)) {
      Restriction& r = find_or_add(subnet);
      // A second line for the same address and mask adds its flags to the first.
      for (const auto& flag : flags) {
        if (flag == "ntpport") {
          r.ntpport = true;
        } else {
          r.flags.insert(flag);
          r.removed_by.erase(flag);
        }
      }
      r.last = &l;
      if (subnet.bits == 0) has_default_[subnet.address.is_v4() ? 0 : 1] = &l;
    }
  }

  void unrestrict(const Line& l) {
    std::vector<std::string> flags;
    for (const auto& subnet : restrict_subnets(l.d, flags)) {
      auto it = std::find_if(entries_.begin(), entries_.end(),
                             [&](const Restriction& r) { return r.subnet == subnet; });
      if (it == entries_.end()) continue;  // ntpd: only for an address of a restrict line
      if (flags.empty()) {
        if (!it->is_default) entries_.erase(it);
        continue;
      }
      for (const auto& flag : flags) {
        if (it->flags.erase(flag)) it->removed_by[flag] = &l;
      }
    }
  }

  // The entry ntpd applies to a packet from `address`: the most specific that matches.
  const Restriction& match(const IpAddress& address) const {
    const Restriction* best = nullptr;
    for (const auto& r : entries_) {
      if (r.ntpport || !r.subnet.contains(address)) continue;
      if (!best || r.subnet.bits > best->subnet.bits) best = &r;
    }
    return *best;  // the default entry matches every address of its family
  }

  const Line* default_line(IpFamily family) const {
    return has_default_[family == IpFamily::v4 ? 0 : 1];
  }

 private:
  Restriction& find_or_add(const Subnet& subnet) {
    for (auto& r : entries_) {
      if (r.subnet == subnet) return r;
    }
    entries_.push_back(Restriction{subnet, false, false, {}, {}, nullptr});
    return entries_.back();
  }

  std::vector<Restriction> entries_;
  std::array<const Line*, 2> has_default_{};
};

std::string recommended_for(const std::vector<IpFamily>& families) {
  if (families.size() == 2) return kRecommendedRestrict;
  return families[0] == IpFamily::v4 ? kRecommendedRestrict : kRecommendedRestrict6;
}

// What the public (`family`) may do, as findings.
std::vector<FamilyFinding> judge_public(const Linter& lint, const Restrictions& restrictions,
                                        IpFamily family) {
  std::vector<FamilyFinding> out;
  const bool classic = lint.classic();
  const Restriction& r = restrictions.match(public_probe(family));
  const Line* deciding = r.last;  // nullptr: the built-in default, no line
  auto has = [&](const char* flag) { return r.flags.count(flag) > 0; };
  auto line_or_none = [deciding](const std::string& fam) {
    return deciding ? quote(*deciding) + " covers " + fam : "no `restrict` line covers " + fam;
  };
  // "`LINE` covers F without M", or "no `restrict` line covers F (ntpd's default lacks M)".
  auto covers_without = [deciding](const std::string& fam, const std::string& missing) {
    return deciding ? fmt::format("{} covers {} without {}", quote(*deciding), fam, missing)
                    : fmt::format("no `restrict` line covers {} (ntpd's default lacks {})", fam,
                                  missing);
  };
  auto use_line = [](const std::vector<IpFamily>& f) {
    return fmt::format("use `{}` for the public (keep such flags for chosen subnets)",
                       recommended_for(f));
  };

  for (const char* flag : {"ignore", "noserve"}) {
    if (!has(flag)) continue;
    const std::string what = flag;
    out.push_back({"lint.no-service", deciding, Severity::fail,
                   [=](const std::string& fam) {
                     return fmt::format("{} with `{}`: the pool's clients there get no time",
                                        line_or_none(fam), what);
                   },
                   use_line});
    if (what == "ignore") return out;  // nothing else reaches the daemon
  }

  if (!has("noquery")) {
    const Line* removed = r.removed_by.count("noquery") ? r.removed_by.at("noquery") : nullptr;
    const std::string modes =
        classic ? "mode 6 (ntpq) and mode 7 (ntpdc, monlist)" : "mode 6 (ntpq)";
    out.push_back({"lint.mode6-open", removed ? removed : deciding, Severity::fail,
                   [=](const std::string& fam) -> std::string {
                     if (removed)
                       return fmt::format(
                           "{} removes noquery for {}: anyone there may send {} "
                           "queries, an amplifier for DDoS attacks",
                           quote(*removed), fam, modes);
                     return fmt::format(
                         "{}: anyone there may send {} queries, an "
                         "amplifier for DDoS attacks",
                         covers_without(fam, "noquery"), modes);
                   },
                   [=](const std::vector<IpFamily>& f) {
                     return removed ? std::string("remove the `unrestrict` line")
                                    : fmt::format("use `{}`", recommended_for(f));
                   }});
  }

  if (!has("noserve")) {
    std::vector<std::string> missing;
    for (const char* flag : {"limited", "kod"}) {
      if (!has(flag)) missing.push_back(flag);
    }
    if (!missing.empty()) {
      const std::string list = fmt::format("{}", fmt::join(missing, " "));
      // A warning, as for chrony: the public is served and nothing is opened; the pool asks for
      // rate limiting, but its monitors do not see it.
      out.push_back({"lint.no-ratelimit", deciding, Severity::warn,
                     [=](const std::string& fam) {
                       return fmt::format(
                           "{}: nothing slows down or warns off an "
                           "abusive client",
                           covers_without(fam, list));
                     },
                     [](const std::vector<IpFamily>& f) {
                       return fmt::format("use `{}`", recommended_for(f));
                     }});
    }
  }

  // The default line itself, and the flags that guard the daemon's state.
  const Line* default_line = restrictions.default_line(family);
  std::vector<std::string> missing_fail, missing_warn;
  // ntpsec takes no unauthenticated changes or traps and ignores nopeer: without these flags it
  // still serves safely (lint_daemons_test: no restrict line at all, mode 6 stays closed), so
  // their absence is a warning there. Classic ntpd needs them.
  for (const char* flag : {"nomodify", "notrap", "nopeer"}) {
    if (!has(flag)) (classic ? missing_fail : missing_warn).push_back(flag);
  }
  if (!default_line) {
    std::vector<std::string> missing = missing_fail;
    missing.insert(missing.end(), missing_warn.begin(), missing_warn.end());
    const std::string list = fmt::format("{}", fmt::join(missing, " "));
    out.push_back({"lint.restrict-default", nullptr, classic ? Severity::fail : Severity::warn,
                   [=](const std::string& fam) {
                     return fmt::format(
                         "no `restrict default` line covers {}{}", fam,
                         missing.empty() ? "" : ": the public's clients lack " + list);
                   },
                   [](const std::vector<IpFamily>& f) {
                     return f.size() == 2 ? fmt::format("add `{}` and `{}`", kRecommendedRestrict,
                                                        kRecommendedRestrict6)
                                          : fmt::format("add `{}`", recommended_for(f));
                   }});
  } else if (!missing_fail.empty() || !missing_warn.empty()) {
    const bool fail = !missing_fail.empty();
    std::vector<std::string> missing = missing_fail;
    missing.insert(missing.end(), missing_warn.begin(), missing_warn.end());
    const std::string list = fmt::format("{}", fmt::join(missing, " "));
    out.push_back({"lint.restrict-default", deciding, fail ? Severity::fail : Severity::warn,
                   [=](const std::string& fam) {
                     return fmt::format(
                         "{}{}", covers_without(fam, list),
                         fail ? ""
                              : " (ntpsec does without: it takes no unauthenticated changes "
                                "and ignores notrap and nopeer; classic ntpd needs them)");
                   },
                   [](const std::vector<IpFamily>& f) {
                     return fmt::format("use `{}`", recommended_for(f));
                   }});
  }
  return out;
}

struct InterfaceRule {
  const Line* at;
  bool listen;  // listen; false for ignore and drop
  std::string match;
};

bool interface_matches(const std::string& match, const LocalAddress& local) {
  const auto& a = local.address;
  if (match == "all") return true;
  if (match == "ipv4") return a.is_v4();
  if (match == "ipv6") return !a.is_v4();
  if (match == "wildcard") return false;
  if (auto subnet = parse_cidr(match)) return subnet->contains(a);
  return match == lower(local.interface);
}

void judge_interfaces(Linter& lint, const std::vector<InterfaceRule>& rules,
                      const LintContext& ctx) {
  if (rules.empty()) return;
  if (ctx.addresses) {
    for (const auto& local : pool_facing(*ctx.addresses)) {
      const InterfaceRule* last = nullptr;
      for (const auto& rule : rules) {
        if (interface_matches(rule.match, local)) last = &rule;
      }
      // Seen of ntpsec 1.2.2 here (lint_daemons_test): once there are `interface` lines, an
      // address that none of them matches is not opened either.
      const InterfaceRule* at = last ? last : &rules.front();
      if (!last || !last->listen) {
        lint.add(at->at, "lint.listen", Severity::fail,
                 fmt::format("{}: ntpd does not serve {}{}, an address the pool's clients use{}",
                             quote(*at->at), local.address.to_string(),
                             local.interface.empty() ? "" : " (" + local.interface + ")",
                             last ? "" : " (no `interface listen` line names it)"),
                 "remove the line, or add `interface listen ADDRESS` after it");
      }
    }
    return;
  }
  // Without the machine's addresses: a family is closed unless its last rule for all of it
  // opens it, or a later rule may open an interface name or a global address. Once there are
  // `interface` lines, ntpsec opens no address that none of them matches (seen of ntpsec 1.2.2:
  // `interface listen 127.0.0.1` alone, or `interface ignore wildcard` alone, leave it serving
  // loopback only).
  auto could_open = [&](const InterfaceRule& rule, IpFamily family) {
    if (!rule.listen) return false;
    if (rule.match == "all" || rule.match == (family == IpFamily::v4 ? "ipv4" : "ipv6"))
      return true;
    if (rule.match == "wildcard") return false;
    if (auto subnet = parse_cidr(rule.match)) {
      return subnet->address.family() == family &&
             (subnet->bits < 8 || subnet->address.is_global_unicast());
    }
    return rule.match != "lo";  // an interface name: its addresses are unknown
  };
  std::vector<std::pair<IpFamily, const Line*>> closed;
  for (auto family : kFamilies) {
    const InterfaceRule* last = nullptr;
    bool opened = false;
    for (const auto& rule : rules) {
      if (rule.match == "all" || rule.match == (family == IpFamily::v4 ? "ipv4" : "ipv6")) {
        last = &rule;
        opened = rule.listen;
      } else if (could_open(rule, family)) {
        opened = true;
      }
    }
    if (!opened) closed.push_back({family, (last ? last : &rules.front())->at});
  }
  if (closed.size() == 2) {
    std::vector<FamilyFinding> v4, v6;
    for (const auto& [family, at] : closed) {
      (family == IpFamily::v4 ? v4 : v6)
          .push_back({"lint.listen", at, Severity::fail,
                      [at = at](const std::string& fam) {
                        return fmt::format(
                            "{}: ntpd opens no global {} address: with `interface` lines it "
                            "serves only what a `listen` line names (here loopback or nothing)",
                            quote(*at), fam);
                      },
                      [](const std::vector<IpFamily>&) {
                        return std::string(
                            "remove the `interface ignore` lines, or add "
                            "`interface listen` for the server's addresses");
                      }});
    }
    add_family_findings(lint, v4, v6);
  }
}

std::size_t lint_ntpd(Linter& lint, const ConfigLoader& config, const LintContext& ctx) {
  Restrictions restrictions(lint.daemon());
  bool restrict_source = false, any_limited = false;
  std::vector<const Line*> disables;
  std::vector<InterfaceRule> interfaces;

  for (const auto& owned : config.lines) {
    const Line& l = *owned;
    const auto& key = l.d.words[0];
    if (key == "restrict") {
      int family = 0;
      if (ntpd_target(l.d, &family) == "source") restrict_source = true;
      if (l.d.has("limited")) any_limited = true;
      if (l.d.has("kod") && !l.d.has("limited")) {
        lint.add(&l, "lint.kod-without-limited", Severity::fail,
                 fmt::format("{} has `kod` without `limited`: kod only acts on clients that "
                             "`limited` rate-limits",
                             quote(l)),
                 "add `limited` to the line");
      }
      restrictions.restrict(l);
    } else if (key == "unrestrict") {
      restrictions.unrestrict(l);
    } else if (key == "disable") {
      disables.push_back(&l);
    } else if (key == "enable" && l.d.has("mode7")) {
      lint.add(&l, "lint.mode7", Severity::fail,
               fmt::format("{} opens mode 7 (ntpdc, monlist) to anyone `restrict` allows: an "
                           "amplifier for DDoS attacks (CVE-2013-5211)",
                           quote(l)),
               "remove the line");
    } else if ((key == "interface" || key == "nic") && l.d.words.size() >= 3) {
      const auto& action = l.d.words[1];
      if (action == "listen" || action == "ignore" || action == "drop")
        interfaces.push_back({&l, action == "listen", l.d.words[2]});
    }
  }

  for (const auto* d : disables) {
    if (d->d.has("monitor") && any_limited) {
      lint.add(d, "lint.monitor-disabled", Severity::fail,
               fmt::format("{} turns off the MRU list that `limited` needs: rate limiting and "
                           "kod stop working",
                           quote(*d)),
               "remove `monitor` from the line");
    }
  }

  std::vector<FamilyFinding> v4, v6;
  for (auto family : kFamilies) {
    if (!serves_family(ctx, family)) continue;
    (family == IpFamily::v4 ? v4 : v6) = judge_public(lint, restrictions, family);
  }
  add_family_findings(lint, v4, v6);

  const Sources sources = collect_sources(lint, config.lines, ctx);
  bool default_nopeer = false;
  for (auto family : kFamilies) {
    if (restrictions.match(public_probe(family)).flags.count("nopeer")) default_nopeer = true;
  }
  if (sources.first_pool && default_nopeer && !restrict_source) {
    const bool classic = lint.classic();
    lint.add(sources.first_pool, "lint.pool-nopeer", classic ? Severity::fail : Severity::warn,
             fmt::format("{} with a `nopeer` default and no `restrict source` line: {}",
                         quote(*sources.first_pool),
                         classic ? "ntpd never mobilises the pool's associations"
                                 : "ntpsec ignores nopeer, but classic ntpd would never "
                                   "mobilise the pool's associations"),
             "add `restrict source nomodify notrap noquery`, or use `server` lines");
  }
  judge_interfaces(lint, interfaces, ctx);
  check_count(lint, sources, config.incomplete);
  return sources.counted.size();
}

// ---------------------------------------------------------------------------------------------
// chrony: allow / deny as chronyd's table evaluates them, bindaddress, binddevice, port.

// One allow or deny line: `all`, and the subnet (nullopt: every address of both families).
struct AccessRule {
  const Line* at;
  bool allow;
  bool all;
  std::optional<Subnet> subnet;
  bool host_name = false;  // a name resolved at start: one host, not the public
};

// chrony's subnet syntax: "1.2.3.4", "3.4.5" (/24 from the dots), "1.2.0.0/16", "0/0", "::/0".
std::optional<Subnet> parse_chrony_subnet(const std::string& text) {
  if (text.find(':') != std::string::npos) return parse_cidr(text);
  auto slash = text.find('/');
  std::string address = text.substr(0, slash);
  std::vector<std::string_view> parts = split_fields(address, '.');
  if (parts.empty() || parts.size() > 4) return std::nullopt;
  for (auto part : parts) {
    auto n = parse_int(part);
    if (!n || *n < 0 || *n > 255) return std::nullopt;
  }
  unsigned bits = static_cast<unsigned>(parts.size()) * 8;
  while (parts.size() < 4)
    parts.push_back("0");
  auto ip = IpAddress::parse(fmt::format("{}", fmt::join(parts, ".")));
  if (!ip) return std::nullopt;
  if (slash != std::string::npos) {
    auto n = parse_int(std::string_view(text).substr(slash + 1));
    if (!n || *n < 0 || *n > 32) return std::nullopt;
    bits = static_cast<unsigned>(*n);
  }
  return Subnet{*ip, bits};
}

// Whether chronyd serves `address`, and the rule that decides (nullptr: no rule covers it).
// chronyd keeps its rules in a tree with one level per 4 bits of the address; a rule for an
// N-bit subnet sets the node(s) at level ceil(N/4) on its path (a later rule at the same level
// overwrites it, whatever their lengths), `allow all` / `deny all` also clear the levels below,
// and an address gets the state of the deepest node on its path that has one (none: denied).
std::pair<bool, const Line*> chrony_allows(const std::vector<AccessRule>& rules,
                                           const IpAddress& address) {
  struct State {
    bool set = false;
    bool allow = false;
    const Line* at = nullptr;
  };
  std::vector<State> levels(max_bits(address.family()) / 4 + 1);
  for (const auto& rule : rules) {
    if (rule.host_name) continue;
    if (rule.subnet && !rule.subnet->contains(address)) continue;
    const unsigned level = rule.subnet ? (rule.subnet->bits + 3) / 4 : 0;
    if (rule.all) {
      for (std::size_t i = level + 1; i < levels.size(); ++i)
        levels[i] = {};
    }
    levels[level] = {true, rule.allow, rule.at};
  }
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
    if (it->set) return {it->allow, it->at};
  }
  return {false, nullptr};
}

std::size_t lint_chrony(Linter& lint, const ConfigLoader& config, const LintContext& ctx) {
  std::vector<AccessRule> access;
  bool has_allow = false, has_ratelimit = false;
  const Line* port_zero = nullptr;
  std::array<const Line*, 2> bind{};  // the last bindaddress per family
  const Line* binddevice = nullptr;
  for (const auto& owned : config.lines) {
    const Line& l = *owned;
    const auto& key = l.d.words[0];
    if (key == "allow" || key == "deny") {
      if (key == "allow") has_allow = true;
      AccessRule rule{&l, key == "allow", false, std::nullopt};
      std::size_t i = 1;
      if (i < l.d.words.size() && l.d.words[i] == "all") {
        rule.all = true;
        ++i;
      }
      if (i < l.d.words.size()) {
        rule.subnet = parse_chrony_subnet(l.d.words[i]);
        if (!rule.subnet) rule.host_name = true;
      }
      access.push_back(rule);
    } else if (key == "ratelimit") {
      has_ratelimit = true;
    } else if (key == "port" && l.d.words.size() > 1) {
      port_zero = parse_int(l.d.words[1]) == 0 ? &l : nullptr;
    } else if (key == "bindaddress" && l.d.words.size() > 1) {
      if (auto a = IpAddress::parse(l.d.words[1])) bind[a->is_v4() ? 0 : 1] = &l;
    } else if (key == "binddevice" && l.d.words.size() > 1) {
      binddevice = &l;
    } else if (key == "sourcedir" && l.d.words.size() == 2 &&
               l.d.words[1].find("chrony-dhcp") != std::string::npos) {
      // Debian's, Fedora's and openSUSE's stock configs: the DHCP clients' hooks and
      // NetworkManager's dispatcher write the offered servers there, beside the config's own.
      lint.add(
          &l, "lint.dhcp-sources", Severity::warn,
          fmt::format("{} adds the NTP servers a DHCP server offers to the upstreams", quote(l)),
          "remove the line: a pool server keeps the upstreams it chose");
    }
  }

  if (!has_allow) {
    lint.add(nullptr, "lint.no-allow", config.incomplete ? Severity::warn : Severity::fail,
             fmt::format("no `allow` line{}: chrony keeps its NTP port closed and serves nobody",
                         config.incomplete ? " (files that were not read may hold one)" : ""),
             "add `allow all`");
  } else {
    std::vector<FamilyFinding> v4, v6;
    for (auto family : kFamilies) {
      if (!serves_family(ctx, family)) continue;
      auto [allowed, at] = chrony_allows(access, public_probe(family));
      if (allowed) continue;
      (family == IpFamily::v4 ? v4 : v6)
          .push_back({"lint.no-service", at, Severity::fail,
                      [at = at](const std::string& fam) {
                        return at ? fmt::format(
                                        "{} denies {}: the pool's clients there get no "
                                        "time",
                                        quote(*at), fam)
                                  : fmt::format(
                                        "no `allow` line covers {}: the pool's clients "
                                        "there get no time",
                                        fam);
                      },
                      [](const std::vector<IpFamily>& f) {
                        return f.size() == 2 ? std::string("add `allow all` after the deny lines")
                               : f[0] == IpFamily::v4 ? std::string("add `allow 0.0.0.0/0`")
                                                      : std::string("add `allow ::/0`");
                      }});
    }
    add_family_findings(lint, v4, v6);
  }
  if (!has_ratelimit) {
    lint.add(nullptr, "lint.no-ratelimit", Severity::warn,
             "no `ratelimit` line: chrony answers every request of an abusive client",
             "add `ratelimit interval 3 burst 8`");
  }

  // Listening.
  if (port_zero) {
    lint.add(port_zero, "lint.listen", Severity::fail,
             fmt::format("{}: chronyd never opens its NTP server port", quote(*port_zero)),
             "remove the line (the default port is 123)");
  }
  if (ctx.addresses) {
    for (const auto& local : pool_facing(*ctx.addresses)) {
      const Line* bound = bind[local.address.is_v4() ? 0 : 1];
      if (bound && IpAddress::parse(bound->d.words[1]) != local.address) {
        lint.add(bound, "lint.listen", Severity::fail,
                 fmt::format("{}: chronyd does not serve {}, an address the pool's clients use",
                             quote(*bound), local.address.to_string()),
                 "remove the line, or bind the address the pool knows");
      } else if (binddevice && lower(local.interface) != binddevice->d.words[1]) {
        lint.add(binddevice, "lint.listen", Severity::fail,
                 fmt::format("{}: chronyd does not serve {} ({})", quote(*binddevice),
                             local.address.to_string(), local.interface),
                 "remove the line, or bind the interface of the pool's address");
      }
    }
  } else {
    auto loopback = [](const Line* l) {
      auto a = l ? IpAddress::parse(l->d.words[1]) : std::nullopt;
      return a && a->scope() == AddressScope::loopback;
    };
    if (binddevice && binddevice->d.words[1] == "lo") {
      lint.add(binddevice, "lint.listen", Severity::fail,
               fmt::format("{}: chronyd serves only the loopback interface", quote(*binddevice)),
               "remove the line");
    } else {
      // One family at a time: `bindaddress 127.0.0.1` closes IPv4 to the world and leaves
      // IPv6 on [::] (seen of chronyd 4.3 here).
      for (const Line* l : bind) {
        if (!loopback(l)) continue;
        lint.add(l, "lint.listen", Severity::fail,
                 fmt::format("{}: chronyd serves {} on loopback only", quote(*l),
                             IpAddress::parse(l->d.words[1])->is_v4() ? "IPv4" : "IPv6"),
                 "remove the line");
      }
    }
  }

  const Sources sources = collect_sources(lint, config.lines, ctx);
  check_count(lint, sources, config.incomplete);
  return sources.counted.size();
}

void report_includes(Linter& lint, const ConfigLoader& config) {
  // Decided last: a file that exists but was not read fails only when nothing else does (the
  // verdict is already a failure otherwise).
  const bool failed = lint.failed();
  for (const auto& p : config.problems) {
    Severity severity = Severity::warn;
    if (p.problem == IncludeProblem::fatal) severity = Severity::fail;
    if (p.problem == IncludeProblem::unseen && !failed) severity = Severity::fail;
    lint.add(p.at, "lint.include", severity,
             p.at ? fmt::format("{}: {}", quote(*p.at), p.why) : p.why,
             p.problem == IncludeProblem::fatal
                 ? "fix the path, or remove the line"
                 : "check the included file with `pooljoin gen-conf --lint FILE`, or keep the "
                   "pool settings in the main file");
  }
}

struct LintRun {
  std::vector<LintFinding> findings;
  std::size_t sources = 0;
};

LintRun run_lint(std::string_view text, Daemon daemon, const LintContext& context) {
  Linter lint(daemon);
  ConfigLoader config(daemon, context);
  config.load(text);
  LintRun run;
  run.sources = daemon == Daemon::chrony ? lint_chrony(lint, config, context)
                                         : lint_ntpd(lint, config, context);
  report_includes(lint, config);
  run.findings = lint.take();
  return run;
}

}  // namespace

std::optional<std::string> RootedFsReader::read(const std::string& path) const {
  if (fs_.is_directory(path)) return std::nullopt;
  return fs_.read(path);
}

bool RootedFsReader::exists(const std::string& path) const {
  return fs_.exists(path);
}

std::optional<std::vector<std::string>> RootedFsReader::list(const std::string& dir) const {
  if (!fs_.is_directory(dir)) return std::nullopt;
  return fs_.list(dir);
}

std::vector<LintFinding> lint_config(std::string_view text, Daemon daemon,
                                     const LintContext& context) {
  return run_lint(text, daemon, context).findings;
}

std::vector<Finding> lint_findings(std::string_view text, Daemon daemon,
                                   const LintContext& context) {
  std::vector<Finding> findings;
  for (auto& f : lint_config(text, daemon, context))
    findings.push_back(std::move(f.finding));
  return findings;
}

std::size_t count_upstreams(std::string_view text, Daemon daemon, const LintContext& context) {
  return run_lint(text, daemon, context).sources;
}

std::optional<Daemon> guess_daemon(std::string_view text) {
  static const char* const kChrony[] = {"allow",   "deny",           "makestep",    "local",
                                        "rtcsync", "ratelimit",      "leapsectz",   "cmdallow",
                                        "cmdport", "bindcmdaddress", "confdir",     "sourcedir",
                                        "logdir",  "maxupdateskew",  "hwtimestamp", "ntsdumpdir"};
  static const char* const kNtpd[] = {"restrict",    "tos",       "fudge",      "statsdir",
                                      "filegen",     "enable",    "disable",    "leapfile",
                                      "includefile", "interface", "statistics", "discard"};
  int chrony = 0, ntpd = 0;
  // Comments: '#' is one in both; chrony's other comment characters are rare in ntp.conf.
  for (const auto& d : directives(text, Daemon::ntpsec)) {
    const auto& key = d.words[0];
    if (std::find(std::begin(kChrony), std::end(kChrony), key) != std::end(kChrony)) ++chrony;
    if (std::find(std::begin(kNtpd), std::end(kNtpd), key) != std::end(kNtpd)) ++ntpd;
  }
  if (chrony > ntpd) return Daemon::chrony;
  if (ntpd > chrony) return Daemon::ntpsec;
  return std::nullopt;
}

std::optional<Daemon> configured_daemon(const SystemFacts& facts) {
  for (const auto& name : facts.daemons_running) {
    if (auto daemon = parse_daemon(name)) return daemon;
  }
  if (facts.recommended && facts.has_installed(to_string(*facts.recommended)))
    return facts.recommended;
  return std::nullopt;
}

std::optional<LiveConfigLint> lint_live_config(const RootedFs& fs, const Distro& distro,
                                               Daemon daemon,
                                               std::optional<std::vector<LocalAddress>> addresses) {
  auto spec = daemon_spec(distro, daemon);
  if (!spec) return std::nullopt;
  const auto dhcp = read_dhcp_state(fs, *spec);
  const auto running = running_config(fs, *spec);
  LiveConfigLint live{spec->daemon, effective_config(fs, *spec, dhcp, running), {}};
  if (dhcp) live.findings = diagnose_dhcp(*dhcp, *spec, running);
  auto text = fs.read_file(live.path);
  if (!text) {
    live.findings.push_back({"lint.unreadable", Severity::fail,
                             fmt::format("{}: cannot read the {} config ({})", live.path,
                                         to_string(spec->daemon), text.error().why),
                             "write one with `pooljoin gen-conf`"});
    return live;
  }
  const RootedFsReader reader(fs);
  LintContext context{&reader, live.path, std::move(addresses), {}};
  for (auto& finding : lint_findings(*text, spec->daemon, context)) {
    finding.message = fmt::format("{}: {}", live.path, finding.message);
    live.findings.push_back(std::move(finding));
  }
  return live;
}

Daemon daemon_to_lint_as(std::string_view text, std::optional<Daemon> given,
                         const SystemFacts& facts) {
  if (given) return *given;
  auto guessed = guess_daemon(text);
  if (guessed == Daemon::chrony) return Daemon::chrony;
  auto local = facts.recommended;
  bool fits = local && (!guessed || is_ntpd_family(*local));
  return fits ? *local : Daemon::ntpsec;
}

}  // namespace pooljoin
