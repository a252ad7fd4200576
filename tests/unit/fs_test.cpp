// SPDX-License-Identifier: Apache-2.0
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

namespace {

// Runs `body` once with openat2 and once with the fd walk used where openat2 is missing.
template <class Body>
void both_resolvers(Body body) {
  for (bool walk : {false, true}) {
    DYNAMIC_SECTION((walk ? "fd walk" : "openat2")) {
      detail::use_fd_walk_for_tests(walk);
      body();
      detail::use_fd_walk_for_tests(false);
    }
  }
}

}  // namespace

TEST_CASE("a directory swapped for a link during a write does not lead out of the root", "[fs]") {
  both_resolvers([] {
    test::TempDir root, outside;
    RootedFs rooted(root.path());
    root.write("etc/ntpsec/ntp.conf", "old\n");
    auto victim = outside.write("ntp.conf", "outside\n");
    WriteOptions options;
    // After the temporary file is complete and before the rename: the directory becomes a link
    // to a directory outside the image, absolute (as a host path) and then relative.
    options.verify = [&](const std::string&) -> Result<void> {
      fs::rename(root.path() / "etc/ntpsec", root.path() / "etc/ntpsec.moved");
      fs::create_symlink(outside.path(), root.path() / "etc/ntpsec");
      return {};
    };
    auto written = rooted.write_atomic("/etc/ntpsec/ntp.conf", "new\n", options);
    REQUIRE(written);
    CHECK(test::read_text(victim) == "outside\n");
    CHECK(entries(outside.path()) == std::vector<std::string>{"ntp.conf"});
    // The write went to the directory it was planned in.
    CHECK(test::read_text(root.path() / "etc/ntpsec.moved/ntp.conf") == "new\n");

    // The link now in place leads nowhere outside either, for a new write or a read.
    fs::remove(root.path() / "etc/ntpsec");
    fs::create_symlink("../../../../../../../../" + outside.path().string(),
                       root.path() / "etc/ntpsec");
    auto again = rooted.write_atomic("/etc/ntpsec/ntp.conf", "again\n", {});
    CHECK(test::read_text(victim) == "outside\n");
    CHECK_FALSE(rooted.read("/etc/ntpsec/ntp.conf") == "outside\n");
    (void)again;
  });
}

TEST_CASE("a link at the target is refused unless links are followed, and then stays inside",
          "[fs]") {
  both_resolvers([] {
    test::TempDir root, outside;
    auto victim = outside.write("ntp.conf", "outside\n");
    root.write("srv/ntp.conf", "inside\n");
    fs::create_symlink("/srv/ntp.conf", root.path() / "etc-link-abs");
    fs::create_directories(root.path() / "etc");
    fs::create_symlink("../srv/ntp.conf", root.path() / "etc/inside.conf");
    fs::create_symlink(victim, root.path() / "etc/host.conf");  // absolute: read in the image
    fs::create_symlink("../../../../../../../../../.." + victim.string(),
                       root.path() / "etc/escape.conf");
    fs::create_symlink("/etc/loop-b", root.path() / "etc/loop-a");
    fs::create_symlink("/etc/loop-a", root.path() / "etc/loop-b");
    fs::create_symlink("/missing/dir/ntp.conf", root.path() / "etc/dangling.conf");

    RootedFs strict(root.path());
    for (const char* path : {"/etc/inside.conf", "/etc/host.conf", "/etc/escape.conf",
                             "/etc/loop-a", "/etc/dangling.conf"}) {
      INFO(path);
      auto refused = strict.write_atomic(path, "new\n", {});
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == ExitCode::cant_write);
      CHECK(refused.error().why.rfind("it is a symbolic link to ", 0) == 0);
      CHECK(fs::is_symlink(root.path() / fs::path(path).relative_path()));
    }

    RootedFs follow(root.path(), WritePolicy{true, kDefaultKeepBackups});
    auto inside = follow.write_atomic("/etc/inside.conf", "new\n", {});
    REQUIRE(inside);
    CHECK(inside->backup.rfind("/srv/ntp.conf.pooljoin-", 0) == 0);
    CHECK(test::read_text(root.path() / "srv/ntp.conf") == "new\n");
    CHECK(fs::is_symlink(root.path() / "etc/inside.conf"));
    REQUIRE(follow.restore("/etc/inside.conf", inside->backup));
    CHECK(test::read_text(root.path() / "srv/ntp.conf") == "inside\n");

    auto escape = follow.write_atomic("/etc/escape.conf", "new\n", {});
    REQUIRE_FALSE(escape);
    CHECK(escape.error().code == ExitCode::cant_write);
    CHECK(escape.error().why.find("leads outside") != std::string::npos);
    auto loop = follow.write_atomic("/etc/loop-a", "new\n", {});
    REQUIRE_FALSE(loop);
    CHECK(loop.error().why == "its symbolic links form a loop");
    // A dangling link: no directory is made where it points.
    auto dangling = follow.write_atomic("/etc/dangling.conf", "new\n", {});
    REQUIRE_FALSE(dangling);
    CHECK(dangling.error().code == ExitCode::cant_write);
    CHECK_FALSE(fs::exists(root.path() / "missing"));
    // An absolute link is read as inside the image: it creates the file there, not on the host.
    auto host = follow.write_atomic("/etc/host.conf", "new\n", {});
    CHECK(test::read_text(victim) == "outside\n");
    CHECK(entries(outside.path()) == std::vector<std::string>{"ntp.conf"});
    (void)host;
  });
}

TEST_CASE("a link at the target is refused on the live root too", "[fs]") {
  test::TempDir dir;
  auto real = dir.write("real.conf", "real\n");
  fs::create_symlink(real, dir.path() / "link.conf");
  RootedFs live("/");
  auto refused = live.write_atomic((dir.path() / "link.conf").string(), "new\n", {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ExitCode::cant_write);
  CHECK(fs::is_symlink(dir.path() / "link.conf"));
  RootedFs follow("/", WritePolicy{true, kDefaultKeepBackups});
  REQUIRE(follow.write_atomic((dir.path() / "link.conf").string(), "new\n", {}));
  CHECK(fs::is_symlink(dir.path() / "link.conf"));
  CHECK(test::read_text(real) == "new\n");
}

TEST_CASE("what is not a regular file is refused without blocking, and reads are capped", "[fs]") {
  both_resolvers([] {
    test::TempDir root;
    RootedFs rooted(root.path());
    fs::create_directories(root.path() / "etc");
    REQUIRE(::mkfifo((root.path() / "etc/os-release").c_str(), 0644) == 0);
    auto fifo = rooted.read_file("/etc/os-release");
    REQUIRE_FALSE(fifo);
    CHECK(fifo.error().message() ==
          "cannot read /etc/os-release (it is not a regular file (a FIFO, socket or device)); "
          "put a regular file there");
    CHECK_FALSE(rooted.read("/etc/os-release"));

    root.write("etc/big.conf", std::string(kSmallReadCap + 1, 'x'));
    auto big = rooted.read_file("/etc/big.conf", kSmallReadCap);
    REQUIRE_FALSE(big);
    CHECK(big.error().why == "it is larger than 64 KiB, the most pooljoin reads from such a file");
    CHECK(rooted.read_file("/etc/big.conf")->size() == kSmallReadCap + 1);
  });
  auto zero = read_host_file("/dev/zero");
  REQUIRE_FALSE(zero);
  CHECK(zero.error().message().rfind("cannot read /dev/zero (it is not a regular file", 0) == 0);
  test::TempDir dir;
  REQUIRE(::mkfifo((dir.path() / "fifo").c_str(), 0644) == 0);
  CHECK_FALSE(read_host_file((dir.path() / "fifo").string()));
}

TEST_CASE("backups beyond the newest N and stale temporary files are removed", "[fs]") {
  test::TempDir root;
  RootedFs rooted(root.path(), WritePolicy{false, 3});
  root.write("etc/ntp.conf", "0\n");
  // A temporary file of a killed run (a PID that is not running), one of a live run (ours
  // would be skipped; PID 1 runs), and an old one without a PID.
  root.write("etc/.ntp.conf.pooljoin-2147483646-abcdef", "torn");
  root.write("etc/.ntp.conf.pooljoin-1-abcdef", "live");
  auto old = root.write("etc/.ntp.conf.pooljoin-Xyz123", "old");
  fs::last_write_time(old, fs::file_time_type::clock::now() - std::chrono::hours(2));
  WriteOptions options;
  for (int i = 1; i <= 5; ++i) {
    options.now = at(i);
    REQUIRE(rooted.write_atomic("/etc/ntp.conf", std::to_string(i) + "\n", options));
  }
  options.now = at(5);  // same second: "-1", the newest of all
  REQUIRE(rooted.write_atomic("/etc/ntp.conf", "6\n", options));
  CHECK(entries(root.path() / "etc") ==
        std::vector<std::string>{
            ".ntp.conf.pooljoin-1-abcdef", "ntp.conf", "ntp.conf.pooljoin-20261126T022644Z.bak",
            "ntp.conf.pooljoin-20261126T022645Z-1.bak", "ntp.conf.pooljoin-20261126T022645Z.bak"});
}
