#include "commands.hpp"
#include <fmt/format.h>

namespace pooljoin::cli {

Action add_not_available(CLI::App& sub) {
  sub.allow_extras();  // its options do not exist yet; do not fail on them before saying so
  std::string name = sub.get_name();
  return [name](Context&) -> int {
    throw Fatal(ExitCode::usage,
                fmt::format("`pooljoin {}` is not available yet in this version", name), {},
                "see `pooljoin --help` for the steps available now");
  };
}

}  // namespace pooljoin::cli
