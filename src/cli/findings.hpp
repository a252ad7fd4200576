// SPDX-License-Identifier: Apache-2.0
// Rendering findings: a compact list for people, an array for --json.
#pragma once

#include <string>
#include <vector>

#include "context.hpp"
#include <nlohmann/json.hpp>

#include "pooljoin/finding.hpp"

namespace pooljoin::cli {

// One line per finding ("FAIL  message" with the fix indented below); ok findings only with -v.
std::string render_findings(const std::vector<Finding>& findings, const Console& console);
nlohmann::json to_json(const Finding& finding);
nlohmann::json to_json(const std::vector<Finding>& findings);

}  // namespace pooljoin::cli
