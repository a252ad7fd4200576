#include "pooljoin/resources.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace pooljoin {
namespace fs = std::filesystem;

Result<fs::path> templates_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("POOLJOIN_TEMPLATES"); env && *env) {
    candidates.emplace_back(env);
  } else {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec)
      candidates.push_back(exe.parent_path().parent_path() / POOLJOIN_DATA_SUBDIR / "templates");
    candidates.emplace_back(fs::path(POOLJOIN_SOURCE_DIR) / "templates");
  }
  std::string tried;
  for (const auto& dir : candidates) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return dir;
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  return fail(ExitCode::unavailable, "cannot find pooljoin's templates", "tried " + tried,
              "reinstall pooljoin, or point POOLJOIN_TEMPLATES at its templates directory");
}

}  // namespace pooljoin
