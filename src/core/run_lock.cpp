// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/run_lock.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <string_view>

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pooljoin/duration.hpp"
#include "pooljoin/interrupt.hpp"

namespace pooljoin {

std::optional<pid_t> lock_holder(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.remove_suffix(1);
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) return std::nullopt;
  return pid;
}

namespace {

std::optional<pid_t> read_holder(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return std::nullopt;
  return lock_holder(std::string_view(buffer, static_cast<std::size_t>(n)));
}

std::string holder_text(std::optional<pid_t> holder) {
  return holder ? fmt::format("pooljoin (PID {})", *holder) : std::string("another pooljoin");
}

}  // namespace

Result<RunLock> take_run_lock(const RootedFs& fs, std::chrono::milliseconds timeout,
                              const std::function<void(std::optional<pid_t>)>& on_wait) {
  const std::string shown = fs.is_live()
                                ? std::string(kRunLockPath)
                                : fmt::format("{} under {}", kRunLockPath, fs.root().string());
  // /run/lock is a directory of every system with systemd or a Debian initscripts; an image
  // may lack it.
  const std::filesystem::path path = fs.host(kRunLockPath);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644));
  if (!fd) {
    return fail(ExitCode::cant_write, fmt::format("cannot open the lock {}", shown),
                std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(ExitCode::cant_write, fmt::format("the lock {} is not a regular file", shown));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) {
      return fail(ExitCode::cant_write, fmt::format("cannot lock {}", shown), std::strerror(errno));
    }
    const auto holder = read_holder(fd.get());
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return fail(ExitCode::unavailable,
                  fmt::format("{} is changing this system", holder_text(holder)),
                  fmt::format("it holds {}; waited {}", shown, format_duration(timeout)),
                  "let it finish and run this again, or wait longer with --lock-timeout");
    }
    if (!told && on_wait) on_wait(holder);
    told = true;
    // Sleep until the next try, or until SIGINT/SIGTERM.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    pollfd wake{interrupt_fd(), POLLIN, 0};
    ::poll(&wake, wake.fd >= 0 ? 1 : 0, static_cast<int>(std::min(left, kLockRetry).count()));
    if (interrupted()) return interruption("the wait for the lock");
  }
  // Ours: say whose it is, for the next run that finds it taken.
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return fail(ExitCode::cant_write, fmt::format("cannot write {}", shown), std::strerror(errno));
  }
  return RunLock(std::move(fd));
}

}  // namespace pooljoin
