#include "pooljoin/process.hpp"

#include <chrono>

#include <catch2/catch.hpp>

using namespace pooljoin;
using namespace std::chrono_literals;

TEST_CASE("a command runs from its argv, with no shell in between", "[process]") {
  SpawnRunner runner;
  // A shell would expand these; as one argv word they arrive untouched.
  auto result = runner.run({{"printf", "%s|", "$HOME", "a b", ";", "`id`"}});
  REQUIRE(result);
  CHECK(result->ok());
  CHECK(result->out == "$HOME|a b|;|`id`|");
}

TEST_CASE("exit status, signals and both output streams are captured", "[process]") {
  SpawnRunner runner;
  auto failed = runner.run({{"sh", "-c", "echo out; echo err >&2; exit 3"}});
  REQUIRE(failed);
  CHECK_FALSE(failed->ok());
  CHECK(failed->exit_code == 3);
  CHECK(failed->out == "out\n");
  CHECK(failed->err == "err\n");
  CHECK(failed->status_text() == "exit status 3");
  CHECK(failed->output_tail() == "err");

  auto killed = runner.run({{"sh", "-c", "kill -9 $$"}});
  REQUIRE(killed);
  CHECK(killed->term_signal == 9);
  CHECK(killed->status_text().rfind("killed by signal 9", 0) == 0);
}

TEST_CASE("stdin is /dev/null: a command never waits on the terminal", "[process]") {
  SpawnRunner runner;
  auto result = runner.run({{"cat"}}, {5s});
  REQUIRE(result);
  CHECK(result->ok());
  CHECK(result->out.empty());
}

TEST_CASE("a program that does not exist is an error naming it", "[process]") {
  SpawnRunner runner;
  auto result = runner.run({{"pooljoin-no-such-program", "x"}});
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ExitCode::unavailable);
  CHECK(result.error().message() ==
        "cannot run pooljoin-no-such-program (No such file or directory); is it installed and in "
        "PATH?");
}

TEST_CASE("a command past its timeout is killed", "[process]") {
  SpawnRunner runner;
  auto start = std::chrono::steady_clock::now();
  auto result = runner.run({{"sleep", "30"}}, {300ms});
  REQUIRE(result);
  CHECK(result->timed_out);
  CHECK_FALSE(result->ok());
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("a daemon that inherits the output pipes does not hold up the run", "[process]") {
  // Like an init script starting a daemon that keeps stdout open.
  SpawnRunner runner;
  auto start = std::chrono::steady_clock::now();
  auto result = runner.run({{"sh", "-c", "sleep 3 & echo started"}}, {10s});
  REQUIRE(result);
  CHECK(result->ok());
  CHECK(result->out == "started\n");
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("output beyond the limit is dropped, not buffered", "[process]") {
  SpawnRunner runner;
  RunOptions options;
  options.max_output = 1000;
  auto result = runner.run({{"head", "-c", "100000", "/dev/zero"}}, options);
  REQUIRE(result);
  CHECK(result->ok());
  CHECK(result->out.size() == 1000);
}

TEST_CASE("commands display as pasteable shell words", "[process]") {
  CHECK(display({{"apt-get", "install", "-y", "ntpsec"}}) == "apt-get install -y ntpsec");
  CHECK(display({{"echo", "a b", "it's", ""}}) == "echo 'a b' 'it'\\''s' ''");
  CHECK(display({{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get"}}) ==
        "env DEBIAN_FRONTEND=noninteractive apt-get");
}

TEST_CASE("in_path finds programs the way posix_spawnp will", "[process]") {
  CHECK(in_path("sh"));
  CHECK(in_path("/bin/sh"));
  CHECK_FALSE(in_path("pooljoin-no-such-program"));
}
