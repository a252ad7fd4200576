// SPDX-License-Identifier: Apache-2.0
// `gen-conf`: the NTP daemon's config rendered the way the pool asks (templates/*.mustache), its
// upstream servers validated so that no input can add a line, and the daemon itself checking a
// candidate file before it replaces the live one.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/selection.hpp"

namespace pooljoin {

class RootedFs;
class ProcessRunner;

// The first words of every file gen-conf renders. `restart` rolls back only files that start
// with them: a config pooljoin did not write is never replaced by one of its backups.
inline constexpr std::string_view kGeneratedMarker = "# Written by pooljoin gen-conf";

struct Upstream {
  std::string address;  // an IP literal or a hostname: exactly the word that follows `server`
  std::string note{};  // a hostname said in a comment beside it ("resolved from ..."); may be empty
  bool local_network = false;  // a private address (an operator's server on the local network)
  bool operator==(const Upstream&) const = default;
};

// Whether `host` is pool.ntp.org or a name under it (0.debian.pool.ntp.org, 2.de.pool.ntp.org).
bool is_pool_ntp_name(std::string_view host);

// One --upstream value: an IPv4/IPv6 literal or a hostname of valid labels, nothing else (no
// spaces, quotes, line breaks, ports or options). Refuses pool.ntp.org names (a pool server
// must pin its upstreams), loopback, unspecified and multicast addresses (127.127.x.x would be
// a reference clock). ExitCode::usage with the reason. A private address (RFC 1918, CGNAT, ULA)
// is accepted, marked local_network: an operator's own server, a GPS clock on the LAN.
Result<Upstream> parse_upstream(std::string_view text);

// The servers of a selection saved by `resolve`, each pinned by address, its host name (when a
// valid one) as the note. The file may have been edited: an address parse_upstream refuses
// (loopback, 127.127.x.x, multicast) is ExitCode::unavailable naming the file, as a malformed one.
Result<std::vector<Upstream>> upstreams_from(const Selection& selection);

// The header's account of where the servers come from, for a saved selection: "the selection
// saved by `pooljoin resolve` at <time> from <zone> (/var/lib/pooljoin/selection.json)".
// Fields that are not well-formed are left out.
std::string selection_origin(const Selection& selection);

// Refuses an empty list, duplicates, and (unless `force`) a count outside 4..7; ExitCode::usage.
Result<void> check_upstream_count(const std::vector<Upstream>& servers, bool force);

// Refuses an upstream that is one of `own`, the machine's addresses (global or not): a server
// would follow its own clock. Names are not looked up (the daemon resolves them). ExitCode::usage
// for servers given on the command line; ExitCode::unavailable naming the selection file when
// they come from a saved selection (`from_selection`), which may have been copied from another
// machine.
Result<void> check_not_own_address(const std::vector<Upstream>& servers,
                                   const std::vector<LocalAddress>& own, bool from_selection);

struct ConfigRequest {
  DaemonSpec spec;
  std::vector<Upstream> servers;  // each from parse_upstream or upstreams_from
  bool leapfile = false;          // the distribution's leap-second data exists: reference it
  std::string generated_at;       // RFC 3339 UTC time for the header
  std::string origin;             // where the servers come from, for the header
  // The operator's lines carried from the previous config (config_keep.hpp), each validated
  // there; rendered at the end under kKeptHeading.
  std::vector<std::string> kept;
};

// The system path of the leap-second data the daemon would read (ntpd: the leapfile; chrony:
// its leap-second list, or the right/ zone under /usr/share/zoneinfo); empty when the
// distribution has none.
std::string leap_data_path(const DaemonSpec& spec);

// Whether that data is a leap-seconds.list, which expires (ntpd's `leapfile`, chrony's
// `leapseclist`), rather than a time zone (chrony's `leapsectz`). A chrony spec's `leapfile`
// names a list by its absolute path (where the packaged chrony, 4.6 or later, reads one) and a
// zone by its name under /usr/share/zoneinfo ("right/UTC").
bool reads_leap_list(const DaemonSpec& spec);

// Whether two configs rendered by gen-conf differ in nothing but the time in their first line:
// then the file on disk is kept as it is, so running gen-conf again changes nothing.
bool same_apart_from_generation_time(std::string_view current, std::string_view rendered);

// The config text from templates/<daemon>.conf.mustache. Every value was validated before; a
// value with a control character is refused all the same (ExitCode::internal).
Result<std::string> render_config(const std::filesystem::path& templates_dir,
                                  const ConfigRequest& request);

// The daemon's program under the root ("/usr/sbin/ntpd", "/usr/sbin/chronyd"); nullopt when it
// is not installed.
std::optional<std::string> daemon_program(const RootedFs& fs, Daemon daemon);

// How long ntpd, started on a candidate config, runs before its log is read. It has parsed the
// file within milliseconds of starting; the rest is margin for a loaded machine. A log that does
// not show the parse finished is read again after a second, longer run.
inline constexpr auto kNtpdCheckWindow = std::chrono::milliseconds(2000);
inline constexpr auto kNtpdCheckSlowWindow = std::chrono::milliseconds(6000);

// mkdtemp's template of the directory the ntpd check works in (a system path).
inline constexpr const char* kNtpdCheckDir = "/tmp/pooljoin-check-XXXXXX";

// Has the daemon itself check `candidate` (a system path under fs.root(), run through `chroot`
// in an image): chronyd parses it with `-p`; ntpd, which has no config-test option, is started
// on it for a bounded time in a throwaway network namespace, without CAP_SYS_TIME (it cannot
// touch the clock), on a copy of the candidate in a directory of its own under /tmp
// (kNtpdCheckDir) with its pid and log files, and its log is read for config errors: /tmp is where
// the AppArmor profile of Debian's and Ubuntu's ntpd lets it read and write files of its owner,
// and a confined ntpd could not read a candidate beside the config. Returns a one-line account of
// the check; ExitCode::check_failed with the daemon's words when it rejects the file,
// ExitCode::unavailable when it could not be run.
Result<std::string> check_with_daemon(const RootedFs& fs, ProcessRunner& runner, Daemon daemon,
                                      const std::string& program, const std::string& candidate);

// The config-error lines of an ntpd log (ntpsec or classic ntpd); empty when there are none.
// Informational notes ("restrict nopeer ignored" in ntpsec) are not errors.
std::vector<std::string> ntpd_config_errors(std::string_view log);

}  // namespace pooljoin
