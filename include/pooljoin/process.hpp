// SPDX-License-Identifier: Apache-2.0
// Running other programs: always an argv vector through posix_spawn, never a shell string.
// ProcessRunner is the seam: SpawnRunner runs; the unit tests' fake records and answers. A dry run
// never reaches a runner with a change: it stops at the plan.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "pooljoin/error.hpp"

namespace pooljoin {

// A command is its argv and nothing else: an environment variable it needs is set with
// `env NAME=value program ...`, so what is shown, recorded in JSON and run are the same words.
struct Command {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH

  bool operator==(const Command&) const = default;
};

// The command as one line a person can paste into a shell (each word quoted where needed).
// For display only: nothing ever runs this string.
std::string display(const Command& command);

// Shell-quotes one word for display ('...' when it holds anything but safe characters).
std::string shell_quote(const std::string& word);

struct RunOptions {
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  std::size_t max_output = 4 << 20;  // bytes kept of each of stdout and stderr; the rest dropped
  // The child leads a process group of its own, killed (SIGKILL) when run returns by any path but
  // the child's exit. True: killed after its exit too, for a daemon started only to be looked at,
  // whose forks must not outlive the check (never for an init script that starts a service).
  bool kill_group_after_exit = false;
};

struct ProcessResult {
  int exit_code = 0;    // valid when term_signal == 0
  int term_signal = 0;  // the signal that ended the process, or 0
  bool timed_out = false;
  std::string out;
  std::string err;

  bool ok() const { return exit_code == 0 && term_signal == 0 && !timed_out; }
  // "exit status 100", "killed by signal 9", "timed out after 30 s and was killed".
  std::string status_text() const;
  // The last `lines` lines of stderr (or stdout when stderr is empty), for error messages.
  std::string output_tail(std::size_t lines = 15) const;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs the command to completion with stdin from /dev/null. Fails (ExitCode::unavailable) only
  // when the program could not be started; a non-zero exit is a successful run with !ok().
  // After SIGINT or SIGTERM (interrupt.hpp) it starts nothing, and a child running then is stopped
  // (SIGTERM, then SIGKILL) and the run is ExitCode::interrupted, not the child's exit.
  virtual Result<ProcessResult> run(const Command& command, const RunOptions& options = {}) = 0;
};

class SpawnRunner final : public ProcessRunner {
 public:
  Result<ProcessResult> run(const Command& command, const RunOptions& options = {}) override;
};

// Whether `program` is found as an executable file in the directories of PATH.
bool in_path(const std::string& program);

}  // namespace pooljoin
