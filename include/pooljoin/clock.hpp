// SPDX-License-Identifier: Apache-2.0
// Time as a seam (as ninja's VirtualFileSystem::Tick): the wall clock for what is written down
// (backup names, RFC 3339 stamps), a monotonic clock for deadlines, and a sleep that ends at once
// on SIGINT/SIGTERM. SystemClock is the real one; tests use a clock whose sleeps take no time.
#pragma once

#include <chrono>

#include "pooljoin/error.hpp"

namespace pooljoin {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
  virtual std::chrono::steady_clock::time_point steady() const = 0;
  // Waits `duration`; ExitCode::interrupted (naming `what`, the wait) as soon as SIGINT or
  // SIGTERM arrives, before or during the wait.
  virtual Result<void> sleep_for(std::chrono::milliseconds duration, const char* what) = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady() const override;
  Result<void> sleep_for(std::chrono::milliseconds duration, const char* what) override;
};

// The time left until `deadline` on `clock`, never negative.
std::chrono::milliseconds remaining(const Clock& clock,
                                    std::chrono::steady_clock::time_point deadline);

}  // namespace pooljoin
