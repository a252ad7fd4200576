// SPDX-License-Identifier: Apache-2.0
// One run at a time changes a system: an exclusive flock(2) on /run/lock/pooljoin.lock (under
// --root for an image), which holds the PID of the run that has it. The lock goes with the
// process, however it ends; the file stays (removing a lock file races with its next taker).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <sys/types.h>

#include "pooljoin/error.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/unique_fd.hpp"

namespace pooljoin {

inline constexpr const char* kRunLockPath = "/run/lock/pooljoin.lock";
// How often a waiting run tries the lock again.
inline constexpr std::chrono::milliseconds kLockRetry{100};

class RunLock {
 public:
  explicit RunLock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;
};

// Takes the lock, waiting up to `timeout` while another run has it; `on_wait` is called once,
// with the holder's PID when the file names one, before the wait. ExitCode::unavailable naming
// the holder after the timeout (at once for a zero timeout), ExitCode::interrupted on SIGINT or
// SIGTERM, ExitCode::cant_write when the lock file cannot be made.
Result<RunLock> take_run_lock(const RootedFs& fs, std::chrono::milliseconds timeout,
                              const std::function<void(std::optional<pid_t>)>& on_wait = {});

// The PID a lock file's text names; nullopt when it names none.
std::optional<pid_t> lock_holder(std::string_view text);

}  // namespace pooljoin
