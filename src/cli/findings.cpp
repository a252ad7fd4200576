// SPDX-License-Identifier: Apache-2.0
#include "findings.hpp"

#include <fmt/format.h>

namespace pooljoin::cli {

std::string render_findings(const std::vector<Finding>& findings, const Console& console) {
  std::string out;
  for (const auto& finding : findings) {
    if (finding.severity == Severity::ok && console.verbose() == 0) continue;
    std::string tag;
    switch (finding.severity) {
      case Severity::ok:
        tag = console.paint(Console::Style::ok, "ok  ");
        break;
      case Severity::warn:
        tag = console.paint(Console::Style::warn, "WARN");
        break;
      case Severity::fail:
        tag = console.paint(Console::Style::fail, "FAIL");
        break;
    }
    out += fmt::format("{}  {}\n", tag, finding.message);
    if (!finding.fix.empty()) out += fmt::format("      fix: {}\n", finding.fix);
  }
  return out;
}

nlohmann::json to_json(const Finding& finding) {
  return {{"id", finding.id},
          {"severity", to_string(finding.severity)},
          {"message", finding.message},
          {"fix", finding.fix}};
}

nlohmann::json to_json(const std::vector<Finding>& findings) {
  auto list = nlohmann::json::array();
  for (const auto& f : findings)
    list.push_back(to_json(f));
  return list;
}

}  // namespace pooljoin::cli
