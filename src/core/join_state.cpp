// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/join_state.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/fs.hpp"

namespace pooljoin {

std::string join_state_to_json(const JoinState& state) {
  nlohmann::json steps = nlohmann::json::object();
  for (const auto& [name, record] : state.steps) {
    steps[name] = {{"status", record.status}, {"at", record.at}, {"detail", record.detail}};
  }
  nlohmann::json doc = {{"version", 1},
                        {"updated", state.updated},
                        {"restart_pending", state.restart_pending},
                        {"stopped_at", state.stopped_at},
                        {"steps", steps}};
  return doc.dump(2) + "\n";
}

Result<JoinState> join_state_from_json(std::string_view text) {
  auto bad = [](std::string why) {
    return fail(ExitCode::unavailable, fmt::format("cannot use {}", kJoinStatePath), std::move(why),
                fmt::format("remove it and run `pooljoin join` again (it only records progress)"));
  };
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  // Only the integer 1: a string or 1.5 is not a version this pooljoin wrote.
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || *version != 1)
    return bad("unknown version");
  JoinState state;
  try {
    state.updated = doc.value("updated", "");
    state.restart_pending = doc.value("restart_pending", false);
    state.stopped_at = doc.value("stopped_at", "");
    if (doc.contains("steps")) {
      for (const auto& [name, record] : doc.at("steps").items()) {
        state.steps[name] = {record.value("status", ""), record.value("at", ""),
                             record.value("detail", "")};
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return state;
}

Result<JoinState> load_join_state(const RootedFs& fs) {
  // Missing is a first run; there but unreadable (a FIFO, a device, too big) is an error.
  if (!fs.exists(kJoinStatePath)) return JoinState{};
  auto text = fs.read_file(kJoinStatePath);
  if (!text) return tl::unexpected(text.error());
  return join_state_from_json(*text);
}

Result<void> save_join_state(const RootedFs& fs, const JoinState& state) {
  WriteOptions options;
  options.backup = false;  // pooljoin's own record, rewritten by every run
  auto written = fs.write_atomic(kJoinStatePath, join_state_to_json(state), options);
  if (!written) return tl::unexpected(written.error());
  return {};
}

}  // namespace pooljoin
