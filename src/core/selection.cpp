// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/selection.hpp"

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/fs.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {

std::string rfc3339_utc(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string selection_to_json(const Selection& selection) {
  nlohmann::json servers = nlohmann::json::array();
  for (const auto& s : selection.servers) {
    servers.push_back({{"host", s.host},
                       {"address", s.address.to_string()},
                       {"family", to_string(s.address.family())}});
  }
  nlohmann::json doc = {{"version", 1},
                        {"created", selection.created},
                        {"country", selection.country},
                        {"zone", selection.zone},
                        {"servers", servers}};
  return doc.dump(2) + "\n";
}

Result<Selection> selection_from_json(std::string_view text) {
  auto bad = [](std::string why) {
    return fail(ExitCode::unavailable, fmt::format("cannot use {}", kSelectionPath), std::move(why),
                "run `pooljoin resolve` again, or give the servers with --upstream");
  };
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || *version != 1)
    return bad("unknown version");
  // json::value() throws on a member of another type: every field is looked at by hand (an
  // array as "created" once crashed gen-conf; fuzz/regressions/selection).
  std::string wrong;
  auto text_of = [&](const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::string();
    if (!it->is_string()) {
      if (wrong.empty()) wrong = fmt::format("\"{}\" is not a string", key);
      return std::string();
    }
    return it->get<std::string>();
  };
  Selection selection;
  selection.created = text_of(doc, "created");
  selection.country = text_of(doc, "country");
  selection.zone = text_of(doc, "zone");
  if (!doc.contains("servers") || !doc["servers"].is_array()) return bad("no \"servers\" list");
  for (const auto& entry : doc["servers"]) {
    if (!entry.is_object() || !entry.contains("address") || !entry["address"].is_string()) {
      return bad("a server without an address");
    }
    auto address = IpAddress::parse(entry["address"].get<std::string>());
    if (!address)
      return bad(fmt::format("\"{}\" is not an IP address",
                             printable(entry["address"].get<std::string>(), 40)));
    selection.servers.push_back({text_of(entry, "host"), *address});
  }
  if (!wrong.empty()) return bad(wrong);
  return selection;
}

Result<std::optional<Selection>> load_selection(const RootedFs& fs) {
  // Missing is "none saved"; there but unreadable (a FIFO, a device, too big) is an error, never
  // taken for missing.
  if (!fs.exists(kSelectionPath)) return std::optional<Selection>();
  auto text = fs.read_file(kSelectionPath);
  if (!text) return tl::unexpected(text.error());
  auto selection = selection_from_json(*text);
  if (!selection) return tl::unexpected(selection.error());
  return std::optional<Selection>(std::move(*selection));
}

Result<void> save_selection(const RootedFs& fs, const Selection& selection) {
  WriteOptions options;
  options.backup = false;  // pooljoin's own state, rewritten on every resolve
  auto written = fs.write_atomic(kSelectionPath, selection_to_json(selection), options);
  if (!written) return tl::unexpected(written.error());
  return {};
}

}  // namespace pooljoin
