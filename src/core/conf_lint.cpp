#include "pooljoin/conf_lint.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <string>

#include <fmt/format.h>

#include "pooljoin/config_text.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/dhcp.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/ntp_config.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// A directive as written, shortened for a message.
constexpr std::size_t kQuoteLimit = 72;

// The flags the pool's recommended `restrict default` lines carry. The first four matter to
// every ntpd; notrap and nopeer are ignored by ntpsec but matter to classic ntpd.
constexpr const char* kRequiredFlags[] = {"kod", "limited", "nomodify", "noquery"};
constexpr const char* kClassicFlags[] = {"notrap", "nopeer"};

constexpr const char* kRecommendedRestrict =
    "restrict default kod limited nomodify notrap nopeer noquery";
constexpr const char* kRecommendedRestrict6 =
    "restrict -6 default kod limited nomodify notrap nopeer noquery";

std::string quote(const Directive& d) {
  std::string text = d.text.size() > kQuoteLimit ? d.text.substr(0, kQuoteLimit) + "..." : d.text;
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte >= 0x7f) ? '?' : c;
  }
  return "`" + out + "`";
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

class Linter {
 public:
  explicit Linter(Daemon daemon) : daemon_(daemon) {}

  void add(int line, std::string id, Severity severity, std::string message, std::string fix) {
    std::string text = line > 0 ? fmt::format("line {}: {}", line, message) : std::move(message);
    findings_.push_back({line, Finding{std::move(id), severity, std::move(text), std::move(fix)}});
  }

  std::vector<LintFinding> take() {
    std::stable_sort(findings_.begin(), findings_.end(),
                     [](const LintFinding& a, const LintFinding& b) {
                       // Whole-file findings after those with a line.
                       int la = a.line == 0 ? INT_MAX : a.line;
                       int lb = b.line == 0 ? INT_MAX : b.line;
                       return la < lb;
                     });
    return std::move(findings_);
  }

  Daemon daemon() const { return daemon_; }

 private:
  Daemon daemon_;
  std::vector<LintFinding> findings_;
};

void check_upstream(Linter& lint, const Directive& d, const std::string& host) {
  if (is_pool_ntp_name(host)) {
    lint.add(d.line, "lint.pool-upstream", Severity::fail,
             fmt::format("{} follows a pool.ntp.org name: a pool server's upstreams must not "
                         "change with every DNS lookup",
                         quote(d)),
             "replace it with `server ADDRESS iburst` lines pinned by address (`pooljoin "
             "resolve`, then `pooljoin gen-conf`)");
  }
}

void check_count(Linter& lint, const std::vector<const Directive*>& upstreams, bool has_refclock,
                 bool has_include) {
  const auto n = std::ssize(upstreams);
  if (n > kMaxUpstreams) {
    lint.add(upstreams[static_cast<std::size_t>(kMaxUpstreams)]->line, "lint.upstream-count",
             Severity::fail,
             fmt::format("{} is upstream number {}; the config has {} and the pool asks for at "
                         "most {}",
                         quote(*upstreams[static_cast<std::size_t>(kMaxUpstreams)]),
                         kMaxUpstreams + 1, n, kMaxUpstreams),
             fmt::format("keep {} to {} upstream servers", kMinUpstreams, kMaxUpstreams));
  } else if (n < kMinUpstreams) {
    // A reference clock makes a stratum-1 server, and an included file may hold the rest.
    bool may_be_fine = has_refclock || has_include;
    lint.add(0, "lint.upstream-count", may_be_fine ? Severity::warn : Severity::fail,
             fmt::format("{} upstream server{}; the pool asks for at least {}{}", n,
                         n == 1 ? "" : "s", kMinUpstreams,
                         has_include    ? " (servers in included files were not counted)"
                         : has_refclock ? " besides the reference clock"
                                        : ""),
             fmt::format("add `server ADDRESS iburst` lines up to {} to {}", kMinUpstreams,
                         kMaxUpstreams));
  }
}

void lint_ntpd(Linter& lint, const std::vector<Directive>& all) {
  const bool classic = lint.daemon() == Daemon::ntp;
  std::vector<const Directive*> upstreams;
  const Directive* default4 = nullptr;
  const Directive* default6 = nullptr;
  const Directive* first_pool = nullptr;
  bool has_refclock = false, has_include = false, restrict_source = false, any_limited = false;
  std::vector<const Directive*> disables;

  for (const auto& d : all) {
    const auto& key = d.words[0];
    if (is_source_keyword(key)) {
      std::string target = ntpd_target(d);
      if (target.rfind("127.127.", 0) == 0) {
        if (target.rfind("127.127.1.", 0) == 0) {
          lint.add(d.line, "lint.local-clock", Severity::fail,
                   fmt::format("{} is the LOCAL clock driver, which the pool forbids: it makes "
                               "the server answer with its own unsynchronised time",
                               quote(d)),
                   "remove it (and its `fudge` line)");
        } else {
          has_refclock = true;
        }
        continue;
      }
      check_upstream(lint, d, target);
      upstreams.push_back(&d);
      if (key == "pool" && !first_pool) first_pool = &d;
    } else if (key == "refclock") {
      if (d.words.size() > 1 && d.words[1] == "local") {
        lint.add(d.line, "lint.local-clock", Severity::fail,
                 fmt::format("{} is the LOCAL clock driver, which the pool forbids: it makes the "
                             "server answer with its own unsynchronised time",
                             quote(d)),
                 "remove it");
      } else {
        has_refclock = true;
      }
    } else if (key == "restrict") {
      int family = 0;
      std::string target = ntpd_target(d, &family);
      if (d.has("limited")) any_limited = true;
      if (d.has("kod") && !d.has("limited")) {
        lint.add(d.line, "lint.kod-without-limited", Severity::fail,
                 fmt::format("{} has `kod` without `limited`: kod only acts on clients that "
                             "`limited` rate-limits",
                             quote(d)),
                 "add `limited` to the line");
      }
      if (target == "source") restrict_source = true;
      if (target == "default") {
        if (family != 6) default4 = &d;
        if (family != 4) default6 = &d;
      }
    } else if (key == "disable") {
      disables.push_back(&d);
    } else if (key == "enable" && d.has("mode7")) {
      lint.add(d.line, "lint.mode7", Severity::fail,
               fmt::format("{} opens mode 7 (ntpdc, monlist) to anyone `restrict` allows: an "
                           "amplifier for DDoS attacks (CVE-2013-5211)",
                           quote(d)),
               "remove the line");
    } else if (key == "includefile") {
      has_include = true;
      lint.add(d.line, "lint.include", Severity::warn,
               fmt::format("{} was not read: its lines are not checked", quote(d)),
               "run `pooljoin gen-conf --lint` on the included file too");
    }
  }

  for (const auto* d : disables) {
    if (d->has("monitor") && any_limited) {
      lint.add(d->line, "lint.monitor-disabled", Severity::fail,
               fmt::format("{} turns off the MRU list that `limited` needs: rate limiting and "
                           "kod stop working",
                           quote(*d)),
               "remove `monitor` from the line");
    }
  }

  // The defaults: one finding per line at fault, or per family without one.
  auto check_default = [&](const Directive* d, const char* family, const std::string& recommended) {
    if (!d) {
      lint.add(0, "lint.restrict-default", Severity::fail,
               fmt::format("no `restrict default` line covers {}: anyone there may send mode 6 "
                           "queries{} and nothing rate-limits them",
                           family, classic ? " and mode 7 (monlist)" : ""),
               fmt::format("add `{}`", recommended));
      return;
    }
    if (d->has("ignore")) {
      lint.add(d->line, "lint.restrict-default", Severity::fail,
               fmt::format("{} makes the server ignore every client on {}", quote(*d), family),
               fmt::format("use `{}`", recommended));
      return;
    }
    // ntpsec keeps mode 6 closed by default (noquery is in its built-in restrictions, seen on
    // ntpsec 1.2.2) and ignores notrap and nopeer: without them it is still safe, so they are a
    // warning there. Classic ntpd is open without noquery and needs all of them.
    std::vector<std::string> missing_fail, missing_warn;
    for (const char* flag : kRequiredFlags) {
      if (d->has(flag)) continue;
      (std::string_view(flag) == "noquery" && !classic ? missing_warn : missing_fail)
          .push_back(flag);
    }
    for (const char* flag : kClassicFlags) {
      if (!d->has(flag)) (classic ? missing_fail : missing_warn).push_back(flag);
    }
    if (!missing_fail.empty()) {
      bool open =
          std::find(missing_fail.begin(), missing_fail.end(), "noquery") != missing_fail.end();
      lint.add(d->line, "lint.restrict-default", Severity::fail,
               fmt::format("{} lacks {}{}", quote(*d), fmt::join(missing_fail, " "),
                           open ? ": mode 6 queries are open to the world" : ""),
               fmt::format("use `{}`", recommended));
    } else if (!missing_warn.empty()) {
      lint.add(
          d->line, "lint.restrict-default", Severity::warn,
          fmt::format(
              "{} lacks {} (ntpsec does without: it ignores notrap and nopeer and keeps mode 6 "
              "closed by default; classic ntpd needs them)",
              quote(*d), fmt::join(missing_warn, " ")),
          fmt::format("use `{}`", recommended));
    }
  };
  if (default4 == default6) {
    // One `restrict default` line for both families, or none at all.
    check_default(default4, "IPv4 and IPv6",
                  default4
                      ? std::string(kRecommendedRestrict)
                      : fmt::format("{}` and `{}", kRecommendedRestrict, kRecommendedRestrict6));
  } else {
    check_default(default4, "IPv4", kRecommendedRestrict);
    check_default(default6, "IPv6", kRecommendedRestrict6);
  }

  bool default_nopeer =
      (default4 && default4->has("nopeer")) || (default6 && default6->has("nopeer"));
  if (first_pool && default_nopeer && !restrict_source) {
    lint.add(first_pool->line, "lint.pool-nopeer", classic ? Severity::fail : Severity::warn,
             fmt::format("{} with a `nopeer` default and no `restrict source` line: {}",
                         quote(*first_pool),
                         classic ? "ntpd never mobilises the pool's associations"
                                 : "ntpsec ignores nopeer, but classic ntpd would never "
                                   "mobilise the pool's associations"),
             "add `restrict source nomodify notrap noquery`, or use `server` lines");
  }
  check_count(lint, upstreams, has_refclock, has_include);
}

void lint_chrony(Linter& lint, const std::vector<Directive>& all) {
  std::vector<const Directive*> upstreams;
  bool has_allow = false, has_ratelimit = false, has_refclock = false, has_include = false;
  for (const auto& d : all) {
    const auto& key = d.words[0];
    if (is_source_keyword(key)) {
      if (d.words.size() > 1) check_upstream(lint, d, d.words[1]);
      upstreams.push_back(&d);
    } else if (key == "local") {
      lint.add(d.line, "lint.local-clock", Severity::fail,
               fmt::format("{} serves the local clock as a time source, which the pool forbids: "
                           "the server would answer with its own unsynchronised time",
                           quote(d)),
               "remove the line");
    } else if (key == "refclock") {
      has_refclock = true;
    } else if (key == "allow") {
      has_allow = true;
    } else if (key == "ratelimit") {
      has_ratelimit = true;
    } else if (key == "sourcedir" && d.words.size() == 2 &&
               d.words[1].find("chrony-dhcp") != std::string::npos) {
      // Debian's, Fedora's and openSUSE's stock configs: the DHCP clients' hooks and
      // NetworkManager's dispatcher write the offered servers there, beside the config's own.
      lint.add(
          d.line, "lint.dhcp-sources", Severity::warn,
          fmt::format("{} adds the NTP servers a DHCP server offers to the upstreams", quote(d)),
          "remove the line: a pool server keeps the upstreams it chose");
    } else if (key == "include" || key == "confdir" || key == "sourcedir") {
      has_include = true;
      lint.add(d.line, "lint.include", Severity::warn,
               fmt::format("{} was not read: its lines are not checked", quote(d)),
               "check the included files too, or keep the pool settings in this file");
    }
  }
  if (!has_allow) {
    lint.add(0, "lint.no-allow", has_include ? Severity::warn : Severity::fail,
             fmt::format("no `allow` line{}: chrony keeps its NTP port closed and serves nobody",
                         has_include ? " (included files were not read)" : ""),
             "add `allow all`");
  }
  if (!has_ratelimit) {
    lint.add(0, "lint.no-ratelimit", Severity::warn,
             "no `ratelimit` line: chrony answers every request of an abusive client",
             "add `ratelimit interval 3 burst 8`");
  }
  check_count(lint, upstreams, has_refclock, has_include);
}

}  // namespace

std::vector<LintFinding> lint_config(std::string_view text, Daemon daemon) {
  Linter lint(daemon);
  auto all = directives(text, daemon);
  if (daemon == Daemon::chrony) {
    lint_chrony(lint, all);
  } else {
    lint_ntpd(lint, all);
  }
  return lint.take();
}

std::vector<Finding> lint_findings(std::string_view text, Daemon daemon) {
  std::vector<Finding> findings;
  for (auto& f : lint_config(text, daemon))
    findings.push_back(std::move(f.finding));
  return findings;
}

std::size_t count_upstreams(std::string_view text, Daemon daemon) {
  std::size_t n = 0;
  for (const auto& d : directives(text, daemon)) {
    if (!is_source_keyword(d.words[0])) continue;
    if (daemon != Daemon::chrony && ntpd_target(d).rfind("127.127.", 0) == 0) continue;
    ++n;
  }
  return n;
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
                                               Daemon daemon) {
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
  for (auto& finding : lint_findings(*text, spec->daemon)) {
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
