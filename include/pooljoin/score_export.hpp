// SPDX-License-Identifier: Apache-2.0
// The pool's scores as monitoring systems read them (`status --prometheus`, `status --nagios`):
// pure renderers, lookups in, text out. Writing the file and exiting are the CLI's business.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/pool_api.hpp"

namespace pooljoin {

// One lookup per address, in the order asked: its score, or why the lookup failed.
using ScoreLookups = std::vector<std::pair<IpAddress, Result<ServerScore>>>;

// A label value as the exposition format writes it between its quotes: backslash, double quote
// and line feed escaped (\\, \", \n), everything else as it is.
std::string prometheus_label_value(std::string_view value);

// node_exporter's textfile-collector format (Prometheus text exposition 0.0.4): every family
// with its HELP and TYPE lines, then its samples, one family after another, families without
// samples left out. Metrics (all gauges, prefixed pooljoin_):
//   pooljoin_status_up{address}               1 when the site answered, 0 when the lookup failed
//                                             (a failed address has this sample only)
//   pooljoin_known{address}                   0 for an address the pool does not know (404)
//   pooljoin_score{address}                   the overall score, raw; absent when it has none
//   pooljoin_in_dns{address}                  1 when the score puts it in the pool's DNS (>= 10)
//   pooljoin_last_point_timestamp_seconds{address}  the newest history point, Unix seconds
//   pooljoin_monitor_score{address,monitor}   each real monitor's score (not recentmedian's)
//   pooljoin_monitor_status{address,monitor,status}  1 for the monitor's status and 0 for each
//                                             other the site uses (active, testing, candidate,
//                                             pending, paused, deleted): a state set, so that
//                                             a change of status does not break the series
//   pooljoin_monitor_offset_seconds{address,monitor}  its newest point's offset; absent when
//                                             that probe got no answer
//   pooljoin_status_timestamp_seconds         `now`: when the file was made, so that a file
//                                             nothing refreshes shows its age
// The monitor label is the monitor's name as the site gives it (its id when it has none).
std::string prometheus_text(const ScoreLookups& lookups, std::chrono::system_clock::time_point now);

// The exit codes of a Nagios / Icinga plugin (the Monitoring Plugins guidelines); `status
// --nagios` exits with these instead of exit_codes.hpp's.
enum class PluginState : int { ok = 0, warning = 1, critical = 2, unknown = 3 };

struct PluginThresholds {
  double critical = kInPoolScore;  // below it: CRITICAL (out of the pool's DNS by default)
  std::optional<double> warning;   // below it (and not below critical): WARNING
};

struct PluginReport {
  PluginState state = PluginState::unknown;
  std::string line;  // "POOLJOIN OK - <summary> | <perfdata>", without a line feed
};

// The one line of a monitoring plugin, and its state: the worst of the addresses, CRITICAL
// before UNKNOWN before WARNING before OK. An address below the critical threshold, or without
// a score (the pool does not know it, or has not scored it yet) is CRITICAL; a failed lookup is
// UNKNOWN. Perfdata per address: 'score_<address>'=<score>;<warn>;<crit>;-100;20, thresholds
// as the guidelines' ranges ("10:" alerts below 10), U for a score there is none of. What the
// site sent is made safe for the line: no '|', no line break.
PluginReport plugin_report(const ScoreLookups& lookups, const PluginThresholds& thresholds);

}  // namespace pooljoin
