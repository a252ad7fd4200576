// Files pooljoin ships beside its binary: the config templates.
#pragma once

#include <filesystem>

#include "pooljoin/error.hpp"

namespace pooljoin {

// The directory of the mustache templates, searched in this order:
//   1. $POOLJOIN_TEMPLATES;
//   2. <prefix>/share/pooljoin/templates, where <prefix> is the parent of the binary's directory
//      (the installed layout);
//   3. the source tree's templates/ (a binary run from its build directory).
// ExitCode::unavailable naming every place tried when none exists.
Result<std::filesystem::path> templates_dir();

}  // namespace pooljoin
