// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/clock.hpp"

#include <cerrno>

#include <poll.h>

#include "pooljoin/interrupt.hpp"

namespace pooljoin {

std::chrono::system_clock::time_point SystemClock::now() const {
  return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::steady() const {
  return std::chrono::steady_clock::now();
}

Result<void> SystemClock::sleep_for(std::chrono::milliseconds duration, const char* what) {
  // poll() on the interrupt handler's pipe: the wait ends the moment a signal arrives, with no
  // window between checking the flag and going to sleep.
  const auto deadline = steady() + duration;
  for (;;) {
    if (interrupted()) return interruption(what);
    auto left = remaining(*this, deadline);
    if (left.count() <= 0) return {};
    pollfd wake{interrupt_fd(), POLLIN, 0};
    int rc = ::poll(&wake, wake.fd >= 0 ? 1 : 0, static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR) return {};  // cannot wait: the caller's deadline still holds
  }
}

std::chrono::milliseconds remaining(const Clock& clock,
                                    std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock.steady());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace pooljoin
