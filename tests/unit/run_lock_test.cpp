// SPDX-License-Identifier: Apache-2.0
// The run lock: one run at a time changes a system; a second one waits, then names the first.
#include "pooljoin/run_lock.hpp"

#include <chrono>
#include <fstream>

#include <unistd.h>

#include "test_support.hpp"
#include <fmt/format.h>

using namespace pooljoin;
using namespace std::chrono_literals;

TEST_CASE("the run lock: taken, waited for up to the timeout, named, then free again",
          "[run_lock]") {
  auto root = test::image({});
  const RootedFs fs(root->path());
  auto first = take_run_lock(fs, 0ms);
  REQUIRE(first);  // /run/lock made in the image
  std::ifstream file(root->path() / "run/lock/pooljoin.lock");
  pid_t written = 0;
  file >> written;
  CHECK(written == ::getpid());

  // A second taker (flock locks are per open file, so this process can play it): at once with
  // no wait, and after the timeout with one call of on_wait, naming the holder both times.
  auto at_once = take_run_lock(fs, 0ms);
  REQUIRE_FALSE(at_once);
  CHECK(at_once.error().code == ExitCode::unavailable);
  CHECK(at_once.error().what == fmt::format("pooljoin (PID {}) is changing this system", getpid()));
  int waits = 0;
  std::optional<pid_t> seen;
  const auto start = std::chrono::steady_clock::now();
  auto waited = take_run_lock(fs, 300ms, [&](std::optional<pid_t> holder) {
    ++waits;
    seen = holder;
  });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(waited);
  CHECK(waits == 1);
  CHECK(seen == ::getpid());
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 5s);
  CHECK_THAT(waited.error().why, Catch::Contains("waited 300ms"));

  // Released with its owner: the next run takes it.
  first = take_run_lock(fs, 0ms);  // still held by the first: refused, and the first dropped
  CHECK_FALSE(first);
  CHECK(take_run_lock(fs, 0ms));
}

TEST_CASE("a lock file's holder is a positive PID and nothing else", "[run_lock]") {
  CHECK(lock_holder("4242\n") == 4242);
  CHECK(lock_holder("4242") == 4242);
  CHECK_FALSE(lock_holder(""));
  CHECK_FALSE(lock_holder("0\n"));
  CHECK_FALSE(lock_holder("-1\n"));
  CHECK_FALSE(lock_holder("42x\n"));
  CHECK_FALSE(lock_holder("99999999999999999999\n"));
}

TEST_CASE("a lock path that is not a regular file is refused, not waited on", "[run_lock]") {
  auto root = test::image({});
  std::filesystem::create_directories(root->path() / "run/lock/pooljoin.lock");
  const RootedFs fs(root->path());
  auto taken = take_run_lock(fs, 10s);
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code == ExitCode::cant_write);
}
