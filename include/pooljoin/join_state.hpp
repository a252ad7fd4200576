// SPDX-License-Identifier: Apache-2.0
// `join`'s progress, kept in /var/lib/pooljoin/state.json (under --root) so that a run that
// stopped (a failure, Ctrl-C) says where it stopped, and a later run knows a restart is still due.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "pooljoin/error.hpp"

namespace pooljoin {

class RootedFs;

inline constexpr const char* kJoinStatePath = "/var/lib/pooljoin/state.json";

struct StepRecord {
  std::string status;  // "done", "unchanged", "skipped", "failed", "interrupted"
  std::string at;      // RFC 3339 UTC
  std::string detail;  // one line for the operator; may be empty
  bool operator==(const StepRecord&) const = default;
};

struct JoinState {
  std::string updated;
  std::map<std::string, StepRecord> steps;  // by step name
  // gen-conf changed the daemon's config and no restart has succeeded since: the daemon may
  // still run the old one.
  bool restart_pending = false;
  std::string stopped_at;  // the step a run stopped at (failed or interrupted); "" when it finished
  bool operator==(const JoinState&) const = default;
};

std::string join_state_to_json(const JoinState& state);
// ExitCode::unavailable with the reason when the text is not a state file pooljoin wrote.
Result<JoinState> join_state_from_json(std::string_view text);

// The saved state; an empty state when there is none; an error when it exists but is unreadable.
Result<JoinState> load_join_state(const RootedFs& fs);
Result<void> save_join_state(const RootedFs& fs, const JoinState& state);

}  // namespace pooljoin
