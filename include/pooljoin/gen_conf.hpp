// SPDX-License-Identifier: Apache-2.0
// `gen-conf` as plan, then apply: the daemon's config rendered from the upstream servers (given,
// chosen in this run, or saved by `resolve`), the file it replaces and the diff; then the write,
// atomically, with a backup, after the daemon itself has accepted the candidate.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pooljoin/config_keep.hpp"
#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/dhcp.hpp"
#include "pooljoin/effects.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/ntp_config.hpp"
#include "pooljoin/selection.hpp"

namespace pooljoin {

// Where the rendered config goes.
enum class ConfigTarget {
  daemon_config,  // the daemon's own config file under --root: the change the step is for
  file,           // a file of the caller's (--output FILE), written as is
  standard_output,
};

struct GenConfRequest {
  std::optional<Daemon> daemon;     // nullopt: the one detect recommends
  std::vector<Upstream> upstreams;  // given (--upstream); empty: `selection`, else the saved one
  // Chosen in this run (join): used instead of reading the saved one back. `selection_saved`
  // false: a dry run, which saved nothing (the file's header says so).
  std::optional<Selection> selection;
  bool selection_saved = true;
  bool force = false;  // accept fewer than 4 or more than 7 servers
  bool fresh = false;  // keep none of the previous config's lines (config_keep.hpp)
  ConfigTarget target = ConfigTarget::daemon_config;
  std::string output;        // the host path for ConfigTarget::file (absolute)
  std::string generated_at;  // RFC 3339 UTC, for the header
  // The time the leap-second list's expiry is judged at (the effects' clock); nullopt: not judged.
  std::optional<std::chrono::system_clock::time_point> now;
};

struct GenConfPlan {
  DaemonSpec spec;
  std::vector<Upstream> upstreams;
  std::string origin;        // where the servers come from, as the file's header says
  std::string generated_at;  // the time in its header
  std::string text;          // the config
  ConfigTarget target = ConfigTarget::daemon_config;
  std::string path;   // what is written: a system path under --root, or the host path of --output
  std::string shown;  // the path as the operator knows it (the host path); "-" for stdout
  std::optional<std::string> current;  // the file it replaces; nullopt when there is none
  std::string diff;                    // unified diff from `current`; empty when none or equal
  // The previous config's lines carried into `text` (its kept section) and those left out, each
  // with the reason; the notes name the dropped ones' line numbers.
  std::vector<KeptLine> kept;
  std::vector<DroppedLine> dropped;
  std::vector<std::string> notes;     // worth knowing (no leap-second file)
  std::vector<std::string> warnings;  // worth a warning (a count allowed only by --force)
  // For the daemon's config: the start settings edit that keeps DHCP from replacing the
  // upstreams (IGNORE_DHCP="yes" on Debian's ntpsec), written with the config; nullopt when none
  // is needed or possible.
  std::optional<SettingsEdit> settings;
  std::string settings_diff;  // unified diff of that edit

  // Whether applying the plan would change the file.
  bool config_changes() const { return target == ConfigTarget::standard_output || current != text; }
  // Whether applying the plan would change anything: the file or the start settings.
  bool changes() const { return config_changes() || (settings && settings->changes()); }
};

// Renders the config the request asks for and compares it with the file it would replace. Reads
// files only (the saved selection, the current config, the leap-second data, the templates).
// ExitCode::usage for servers the pool's rules refuse, ExitCode::unsupported for a system or
// daemon pooljoin cannot write a config for, ExitCode::internal when the rendered text breaks
// a pool rule (a bug).
Result<GenConfPlan> plan_gen_conf(const SystemFacts& facts, const RootedFs& fs,
                                  const GenConfRequest& request);

struct GenConfOutcome {
  bool changed = false;           // false: the file already had exactly this content
  std::string backup;             // the replaced file's backup (same kind of path as plan.path)
  std::string daemon_check;       // the daemon's verdict on the candidate; empty when not asked
  bool settings_changed = false;  // the plan's start settings edit was written
  std::string settings_backup;    // the replaced settings file's backup; empty when none
};

// Writes the plan's file: for the daemon's config, the daemon first checks the candidate (unless
// `daemon_check` is false), and the previous file is kept as a backup. ExitCode::unavailable when
// the daemon is not installed to check it, ExitCode::check_failed when it rejects the file,
// ExitCode::cant_write when the file cannot be written (the old one intact). The start settings
// edit is written after the config; when it cannot be, the config is put back as it was.
Result<GenConfOutcome> apply_gen_conf(const GenConfPlan& plan, Effects& effects, bool daemon_check,
                                      const StepEvents& events = {});

}  // namespace pooljoin
