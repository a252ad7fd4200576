// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/process.hpp"

#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "pooljoin/interrupt.hpp"

using namespace pooljoin;
using namespace std::chrono_literals;

namespace {

// Whether process `pid` is gone (or a zombie waiting for its new parent), within `limit`.
bool gone_within(pid_t pid, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, name, state;
    if (!(stat >> pid_field >> name >> state) || state == "Z") return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// Runs `body` in a forked process with pooljoin's signal handlers installed (the flag they set
// is process-wide, so it must not reach the other cases); its exit status, or -1 when it took
// longer than `limit` (it is killed then).
int in_child(const std::function<int()>& body, std::chrono::milliseconds limit = 10s) {
  pid_t child = ::fork();
  if (child == 0) {
    install_interrupt_handlers();
    ::_exit(body());
  }
  const auto end = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= end) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

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

TEST_CASE("a command past its timeout is killed with what it started", "[process]") {
  SpawnRunner runner;
  // The shell's own child would outlive a SIGTERM sent to the shell alone.
  auto result = runner.run({{"sh", "-c", "sleep 30 & echo $!; wait"}}, {300ms});
  REQUIRE(result);
  CHECK(result->timed_out);
  const pid_t orphan = std::stoi(result->out);
  CHECK(gone_within(orphan, 2s));
}

TEST_CASE("a checked daemon's forks are killed when it exits", "[process]") {
  SpawnRunner runner;
  RunOptions options;
  options.kill_group_after_exit = true;
  auto result = runner.run({{"sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"}}, options);
  REQUIRE(result);
  CHECK(result->ok());
  CHECK(gone_within(std::stoi(result->out), 2s));
  // Not so for an init script's daemon, which is meant to stay.
  auto kept = runner.run({{"sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"}});
  REQUIRE(kept);
  const pid_t daemon = std::stoi(kept->out);
  CHECK_FALSE(gone_within(daemon, 200ms));
  ::kill(daemon, SIGKILL);
}

TEST_CASE("SIGINT during a run stops the child and the run is an interruption", "[process]") {
  // The child signals its parent, as Ctrl-C would, then waits for as long as it is let.
  const int rc = in_child([] {
    SpawnRunner runner;
    auto result = runner.run({{"sh", "-c", "kill -INT $PPID; echo partial; exec sleep 30"}});
    if (result) return 1;  // today: "killed by signal 15" with the output so far, as an answer
    return result.error().code == ExitCode::interrupted ? 0 : 2;
  });
  CHECK(rc == 0);
  // A child that exits 0 at once after the signal is still not an answer.
  CHECK(in_child([] {
          SpawnRunner runner;
          auto result = runner.run({{"sh", "-c", "kill -TERM $PPID; echo yes"}});
          return !result && result.error().code == ExitCode::interrupted ? 0 : 1;
        }) == 0);
}

TEST_CASE("after SIGINT nothing new is started", "[process]") {
  const std::string marker = "/tmp/pooljoin-unit-started-" + std::to_string(::getpid());
  const int rc = in_child([&marker] {
    ::raise(SIGINT);
    SpawnRunner runner;
    auto result = runner.run({{"touch", marker}});
    return !result && result.error().code == ExitCode::interrupted ? 0 : 1;
  });
  CHECK(rc == 0);
  CHECK(::access(marker.c_str(), F_OK) != 0);
  ::unlink(marker.c_str());
}

TEST_CASE("a read to the end stops at SIGINT, and at its limit", "[process][interrupt]") {
  // A pipe whose writer stays open: the read waits until the signal.
  CHECK(in_child([] {
          int fds[2];
          if (::pipe(fds) != 0) return 3;
          if (::write(fds[1], "server 192.0.2.1\n", 17) != 17) return 3;
          const pid_t self = ::getpid();  // the signal comes from another process, as Ctrl-C's
          if (::fork() == 0) {
            ::usleep(200000);
            ::kill(self, SIGINT);
            ::_exit(0);
          }
          auto read = read_until_end(fds[0], 1 << 20, "the read of standard input");
          if (read) return 1;  // the part read so far, as if it were all
          return read.error().code == ExitCode::interrupted ? 0 : 2;
        }) == 0);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "0123456789", 10) == 10);
  ::close(fds[1]);
  auto too_long = read_until_end(fds[0], 5, "standard input");
  ::close(fds[0]);
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().code == ExitCode::usage);
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
