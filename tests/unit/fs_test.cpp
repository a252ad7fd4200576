#include "pooljoin/fs.hpp"

#include <chrono>
#include <csignal>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.hpp"
#include <catch2/catch.hpp>

using namespace pooljoin;
namespace fs = std::filesystem;

namespace {

std::chrono::system_clock::time_point at(int seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1795660000 + seconds));
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("links in an image are followed inside it, never out to the host", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path());
  root.write("usr/lib/os-release", "ID=arch\n");
  fs::create_directories(root.path() / "etc");
  // Absolute and relative links, and `..` past the root, all stay in the image.
  fs::create_symlink("/usr/lib/os-release", root.path() / "etc/os-release");
  fs::create_symlink("../../../../../usr/lib/os-release", root.path() / "etc/deep");
  CHECK(rooted.read("/etc/os-release") == "ID=arch\n");
  CHECK(rooted.read("/etc/deep") == "ID=arch\n");
  CHECK(rooted.read_link("/etc/os-release") == "/usr/lib/os-release");
  // A link to a host file that the image does not have reads as missing, not as the host's.
  fs::create_symlink("/etc/machine-id", root.path() / "etc/id");
  CHECK_FALSE(rooted.read("/etc/id"));
  fs::create_symlink("/etc/hostname", root.path() / "etc/hostname");  // itself, in the image
  CHECK_FALSE(rooted.read("/etc/hostname"));
  // A directory linked absolutely: a write lands in the image.
  fs::create_directories(root.path() / "srv/ntpsec");
  fs::create_symlink("/srv/ntpsec", root.path() / "etc/ntpsec");
  REQUIRE(rooted.write_atomic("/etc/ntpsec/ntp.conf", "server 192.0.2.1\n", {}));
  CHECK(test::read_text(root.path() / "srv/ntpsec/ntp.conf") == "server 192.0.2.1\n");
  // A loop ends (the open fails) rather than hangs.
  fs::create_symlink("/etc/b", root.path() / "etc/a");
  fs::create_symlink("/etc/a", root.path() / "etc/b");
  CHECK_FALSE(rooted.read("/etc/a"));
}

TEST_CASE("paths of the target system map under the root", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path());
  CHECK_FALSE(rooted.is_live());
  CHECK(rooted.host("/etc/ntp.conf") == root.path() / "etc/ntp.conf");
  CHECK(RootedFs("/").is_live());
  CHECK(RootedFs("/").host("/etc/ntp.conf") == "/etc/ntp.conf");
  root.write("etc/os-release", "ID=debian\n");
  CHECK(rooted.read("/etc/os-release") == "ID=debian\n");
  CHECK_FALSE(rooted.read("/etc/missing"));
  auto missing = rooted.read_file("/etc/missing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message() == "cannot read /etc/missing (No such file or directory)");
}

TEST_CASE("atomic write creates, replaces with a backup, and keeps the mode", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path());
  WriteOptions options;
  options.now = at(0);
  options.mode_if_new = 0640;

  auto created = rooted.write_atomic("/etc/ntpsec/ntp.conf", "first\n", options);
  REQUIRE(created);
  CHECK(created->changed);
  CHECK(created->backup.empty());
  auto path = root.path() / "etc/ntpsec/ntp.conf";
  CHECK(test::read_text(path) == "first\n");
  CHECK((fs::status(path).permissions() & fs::perms::all) == static_cast<fs::perms>(0640));

  ::chmod(path.c_str(), 0604);
  auto replaced = rooted.write_atomic("/etc/ntpsec/ntp.conf", "second\n", options);
  REQUIRE(replaced);
  CHECK(replaced->changed);
  CHECK(replaced->backup == "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z.bak");
  CHECK(test::read_text(path) == "second\n");
  CHECK(test::read_text(rooted.host(replaced->backup)) == "first\n");
  CHECK((fs::status(path).permissions() & fs::perms::all) == static_cast<fs::perms>(0604));

  // Same second again: a distinct backup name, never an overwritten backup.
  auto again = rooted.write_atomic("/etc/ntpsec/ntp.conf", "third\n", options);
  REQUIRE(again);
  CHECK(again->backup == "/etc/ntpsec/ntp.conf.pooljoin-20261126T022640Z-1.bak");
  CHECK(test::read_text(rooted.host(again->backup)) == "second\n");

  // No temporary file is left behind.
  CHECK(entries(root.path() / "etc/ntpsec") ==
        std::vector<std::string>{"ntp.conf", "ntp.conf.pooljoin-20261126T022640Z-1.bak",
                                 "ntp.conf.pooljoin-20261126T022640Z.bak"});
}

TEST_CASE("writing the same content changes nothing and makes no backup", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path());
  root.write("etc/chrony.conf", "same\n");
  auto outcome = rooted.write_atomic("/etc/chrony.conf", "same\n");
  REQUIRE(outcome);
  CHECK_FALSE(outcome->changed);
  CHECK(outcome->backup.empty());
  CHECK(entries(root.path() / "etc") == std::vector<std::string>{"chrony.conf"});
}

TEST_CASE("a failed write leaves the old file intact and no temporary file", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path());
  auto path = root.write("etc/ntp.conf", "old\n");
  const std::string longer(64, 'x');
  // A file size limit holds for root too (directory permissions do not): writing more than
  // 16 bytes fails with EFBIG, as a full disk fails with ENOSPC.
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 16;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto outcome = rooted.write_atomic("/etc/ntp.conf", longer);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().code == ExitCode::cant_write);
  CHECK(outcome.error().message().find("cannot write /etc/ntp.conf (File too large)") == 0);
  CHECK(test::read_text(path) == "old\n");
  CHECK(entries(root.path() / "etc") == std::vector<std::string>{"ntp.conf"});
}

TEST_CASE("a directory in the way is refused", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path());
  fs::create_directories(root.path() / "etc/ntp.conf");
  auto outcome = rooted.write_atomic("/etc/ntp.conf", "x\n");
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().code == ExitCode::cant_write);
  CHECK(outcome.error().why == "it exists and is not a regular file");
}

TEST_CASE("restore puts a backup back in place", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path());
  root.write("etc/ntp.conf", "good\n");
  auto replaced = rooted.write_atomic("/etc/ntp.conf", "broken\n");
  REQUIRE(replaced);
  REQUIRE(rooted.restore("/etc/ntp.conf", replaced->backup));
  CHECK(test::read_text(root.path() / "etc/ntp.conf") == "good\n");
}

TEST_CASE("verify sees the complete candidate and can refuse it", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path());
  auto path = root.write("etc/chrony.conf", "old\n");
  std::string seen_path, seen_content;
  WriteOptions options;
  options.verify = [&](const std::string& candidate) -> Result<void> {
    seen_path = candidate;
    seen_content = test::read_text(rooted.host(candidate));
    return fail(ExitCode::check_failed, "chronyd rejected it");
  };
  auto refused = rooted.write_atomic("/etc/chrony.conf", "new\n", options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ExitCode::check_failed);
  CHECK(seen_path.rfind("/etc/.chrony.conf.pooljoin-", 0) == 0);
  CHECK(seen_content == "new\n");
  // The old file is untouched, and neither a temporary file nor a backup is left.
  CHECK(test::read_text(path) == "old\n");
  CHECK(entries(root.path() / "etc") == std::vector<std::string>{"chrony.conf"});

  options.verify = [](const std::string&) -> Result<void> { return {}; };
  auto accepted = rooted.write_atomic("/etc/chrony.conf", "new\n", options);
  REQUIRE(accepted);
  CHECK(test::read_text(path) == "new\n");
  CHECK_FALSE(accepted->backup.empty());
}
