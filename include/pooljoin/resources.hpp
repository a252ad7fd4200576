// SPDX-License-Identifier: Apache-2.0
// The config templates pooljoin renders: built into the binary (templates/ of the source tree,
// embedded at build time), so that it reads no file of its own at run time.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "pooljoin/error.hpp"

namespace pooljoin {

// Where the templates come from: empty for the ones built in; else the directory that
// $POOLJOIN_TEMPLATES names (to try a change to a template without rebuilding).
// ExitCode::unavailable when $POOLJOIN_TEMPLATES names no directory.
Result<std::filesystem::path> templates_dir();

// The built-in template of that file name ("ntpsec.conf.mustache"); nullopt when there is none.
std::optional<std::string_view> builtin_template(std::string_view name);

}  // namespace pooljoin
