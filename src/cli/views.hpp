// JSON views of core results, shared by the subcommands that print them and by `join`.
#pragma once

#include <nlohmann/json.hpp>

#include "pooljoin/detect.hpp"
#include "pooljoin/install.hpp"
#include "pooljoin/process.hpp"

namespace pooljoin::cli {

nlohmann::json to_json(const SystemFacts& facts);
nlohmann::json to_json(const InstallPlan& plan);
nlohmann::json to_json(const std::vector<Command>& commands);  // [[argv...], ...]

}  // namespace pooljoin::cli
