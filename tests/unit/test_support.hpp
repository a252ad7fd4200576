// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the unit tests: a temporary directory per test, fixture paths, golden files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace pooljoin::test {

// A fresh directory, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pooljoin-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

  // Writes `content` to `relative` (creating parent directories); returns the full path.
  std::filesystem::path write(const std::string& relative, const std::string& content) const {
    auto full = path_ / relative;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << content;
    return full;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Files of a system image, made on the fly: "/path" (an empty file) or "/path=content".
inline std::unique_ptr<TempDir> image(std::initializer_list<std::string> files) {
  auto dir = std::make_unique<TempDir>();
  for (const auto& entry : files) {
    auto eq = entry.find('=');
    dir->write(entry.substr(1, eq == std::string::npos ? std::string::npos : eq - 1),
               eq == std::string::npos ? std::string() : entry.substr(eq + 1));
  }
  return dir;
}

// Whether a test that needs root (to run a real daemon, to change an image's files as join does)
// can run: as root, yes. Otherwise it cannot, and says so: with CI=true (where the suite runs as
// root) that is a failure, elsewhere a warning.
#define POOLJOIN_NEEDS_ROOT(why)                                              \
  do {                                                                        \
    if (::geteuid() != 0) {                                                   \
      const char* ci = std::getenv("CI");                                     \
      if (ci && std::string(ci) == "true") FAIL("not root in CI: " << (why)); \
      WARN("not run (needs root): " << (why));                                \
      return;                                                                 \
    }                                                                         \
  } while (false)

inline std::filesystem::path fixture_image(const std::string& name) {
  return std::filesystem::path(POOLJOIN_FIXTURES) / "images" / name;
}

// Compares `text` with tests/golden/NAME; POOLJOIN_UPDATE_GOLDEN=1 rewrites the file instead (on
// purpose only: review the diff before committing it).
inline void check_golden(const std::string& name, const std::string& text) {
  auto path = std::filesystem::path(POOLJOIN_GOLDEN) / name;
  if (const char* update = std::getenv("POOLJOIN_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << text;
  }
  INFO("golden file " << path.string());
  REQUIRE(std::filesystem::exists(path));
  CHECK(read_text(path) == text);
}

}  // namespace pooljoin::test
