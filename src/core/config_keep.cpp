// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/config_keep.hpp"

#include <algorithm>
#include <array>

#include "render_template.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/config_text.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/ntp_config.hpp"

namespace pooljoin {
namespace {

bool one_of(std::string_view word, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

// A reference clock's pseudo-address 127.127.T.U: its type T; nullopt for any other word.
std::optional<int> refclock_type(std::string_view word) {
  auto address = IpAddress::parse(word);
  if (!address || !address->is_v4()) return std::nullopt;
  const auto& b = address->bytes();
  if (b[0] != 127 || b[1] != 127) return std::nullopt;
  return b[2];
}

// Why an ntpd or ntpsec directive is not kept; nullptr when it is.
const char* ntpd_verdict(const Directive& d, Daemon daemon, const std::vector<Directive>& all) {
  const std::string& key = d.words[0];
  const std::string_view arg = d.words.size() > 1 ? std::string_view(d.words[1]) : "";
  if (one_of(key, {"statistics", "filegen", "statsdir", "logfile", "logconfig", "keys",
                   "trustedkey", "controlkey", "leapfile"})) {
    return nullptr;
  }
  if (key == "requestkey") return daemon == Daemon::ntp ? nullptr : kWhyNotListed;
  if (key == "nts") return daemon == Daemon::ntpsec ? nullptr : kWhyNotListed;
  if (key == "refclock") {
    if (arg == "local") return kWhyLocalClock;
    return daemon == Daemon::ntpsec ? nullptr : kWhyNotListed;
  }
  if (one_of(key, {"server", "fudge", "peer", "pool", "manycastclient", "broadcastclient"})) {
    auto type = refclock_type(arg);
    if (type && *type == 1) return kWhyLocalClock;
    if (type && (key == "server" || key == "fudge")) return nullptr;
    return key == "fudge" ? kWhyNotListed : kWhyUpstream;
  }
  if (key == "interface" || key == "nic") {
    const std::string_view target = d.words.size() > 2 ? std::string_view(d.words[2]) : "";
    if (one_of(arg, {"ignore", "drop"}) && one_of(target, {"all", "ipv4", "ipv6"})) {
      // Kept only with a later `listen`: ntpd's last matching rule decides.
      bool reopened = std::any_of(all.begin(), all.end(), [&](const Directive& other) {
        return other.line > d.line && one_of(other.words[0], {"interface", "nic"}) &&
               other.has("listen");
      });
      return reopened ? nullptr : kWhyStopsServing;
    }
    return nullptr;
  }
  if (one_of(key, {"restrict", "unrestrict", "discard"})) return kWhyAccess;
  if (key == "tos" && d.has("orphan")) return kWhyOrphan;
  if (one_of(key, {"includefile", "include"})) return kWhyInclude;
  if (one_of(key, {"driftfile"})) return kWhyOwn;
  return kWhyNotListed;
}

// Why a chrony directive is not kept; nullptr when it is.
const char* chrony_verdict(const Directive& d) {
  const std::string& key = d.words[0];
  if (one_of(key,
             {"log", "logdir", "logchange", "dumpdir", "keyfile", "ntsserverkey", "ntsservercert",
              "ntsport", "ntsdumpdir", "ntscachedir", "ntsntpserver", "ntsprocesses", "ntsrotate",
              "ntpsigndsocket", "refclock", "hwtimestamp", "leapsectz", "leapseclist"})) {
    return nullptr;
  }
  if (key == "bindaddress") {
    auto address = d.words.size() == 2 ? IpAddress::parse(d.words[1]) : std::nullopt;
    if (!address) return kWhyStopsServing;
    const bool any =
        *address == *IpAddress::parse("0.0.0.0") || *address == *IpAddress::parse("::");
    return any || address->is_global_unicast() ? nullptr : kWhyStopsServing;
  }
  if (one_of(key, {"server", "pool", "peer", "initstepslew"})) return kWhyUpstream;
  if (one_of(key, {"allow", "deny", "ratelimit"})) return kWhyAccess;
  if (key == "local") return kWhyLocalClock;
  if (one_of(key, {"include", "confdir", "sourcedir"})) return kWhyInclude;
  if (one_of(key, {"driftfile", "makestep", "rtcsync"})) return kWhyOwn;
  return kWhyNotListed;
}

bool safe_text(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte == '\t' || (byte >= 0x20 && byte < 0x7f);
  });
}

// The 1-based line of the kept section's heading in a file gen-conf wrote; 0 when there is none.
int kept_heading_line(std::string_view text) {
  int number = 0;
  while (!text.empty()) {
    ++number;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (line.starts_with(kKeptHeading)) return number;
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return 0;
}

}  // namespace

PreviousLines sort_previous_lines(std::string_view current, Daemon daemon) {
  PreviousLines lines;
  int first = 1;
  if (current.starts_with(kGeneratedMarker)) {
    const int heading = kept_heading_line(current);
    if (heading == 0) return lines;
    first = heading + 1;
  }
  const auto all = directives(current, daemon);
  for (const auto& d : all) {
    if (d.line < first) continue;
    if (!safe_text(d.text)) {
      lines.dropped.push_back({d.line, printable(d.text), kWhyUnsafe});
      continue;
    }
    const char* why = daemon == Daemon::chrony ? chrony_verdict(d) : ntpd_verdict(d, daemon, all);
    if (why) {
      lines.dropped.push_back({d.line, d.text, why});
      continue;
    }
    std::string text = d.text;
    std::replace(text.begin(), text.end(), '\t', ' ');
    const bool leap = one_of(d.words[0], {"leapfile", "leapsectz", "leapseclist"});
    lines.kept.push_back({d.line, std::move(text), leap});
  }
  return lines;
}

std::vector<std::string> dropped_notes(const std::vector<DroppedLine>& dropped,
                                       std::string_view shown) {
  std::vector<std::string> reasons;
  for (const auto& d : dropped) {
    if (std::find(reasons.begin(), reasons.end(), d.why) == reasons.end()) reasons.push_back(d.why);
  }
  std::vector<std::string> notes;
  for (const auto& why : reasons) {
    std::vector<int> numbers;
    for (const auto& d : dropped) {
      if (d.why == why) numbers.push_back(d.line);
    }
    notes.push_back(fmt::format("not carried from {} (its backup keeps it): line{} {} ({})", shown,
                                numbers.size() == 1 ? "" : "s", fmt::join(numbers, ", "), why));
  }
  return notes;
}

}  // namespace pooljoin
