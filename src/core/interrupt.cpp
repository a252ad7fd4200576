// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/interrupt.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

namespace pooljoin {
namespace {

// The only process-wide state in pooljoin: a signal handler can reach nothing else.
volatile sig_atomic_t g_interrupted = 0;
int g_wake[2] = {-1, -1};  // a self-pipe: the handler writes a byte, waits poll the read end

extern "C" void on_signal(int) {
  g_interrupted = 1;
  if (g_wake[1] >= 0) {
    const int saved = errno;
    [[maybe_unused]] ssize_t n = ::write(g_wake[1], "!", 1);  // async-signal-safe; full is fine
    errno = saved;
  }
}

}  // namespace

void install_interrupt_handlers() {
  if (g_wake[0] < 0 && ::pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) g_wake[0] = g_wake[1] = -1;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() {
  return g_interrupted != 0;
}

int interrupt_fd() {
  return g_wake[0];
}

tl::unexpected<Error> interruption(const char* where) {
  return fail(ExitCode::interrupted, std::string("interrupted during ") + where, {},
              "nothing was left half-written; run the same command again to resume");
}

Result<std::string> read_until_end(int fd, std::size_t limit, const char* what) {
  std::string content;
  char buffer[8192];
  for (;;) {
    if (interrupted()) return interruption(what);
    // Waits beside the wake-up pipe: a signal that came just before the read still stops it.
    pollfd fds[2] = {{fd, POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail(ExitCode::unavailable, fmt::format("cannot read {}", what), errno_text(errno));
    }
    if (interrupted()) return interruption(what);
    if (fds[0].revents == 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return fail(ExitCode::unavailable, fmt::format("cannot read {}", what), errno_text(errno));
    }
    if (n == 0) return content;
    if (content.size() + static_cast<std::size_t>(n) > limit) {
      return fail(ExitCode::usage, fmt::format("{} is too long", what),
                  fmt::format("more than {} bytes", limit), "give a smaller file");
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
}

void throw_if_interrupted(const char* where) {
  if (interrupted()) throw Fatal(interruption(where).value());
}

}  // namespace pooljoin
