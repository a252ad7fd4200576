// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/process.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pooljoin/interrupt.hpp"
#include "pooljoin/unique_fd.hpp"

extern char** environ;

namespace pooljoin {
namespace {

using Clock = std::chrono::steady_clock;

// How long a process may take to exit after SIGTERM before it gets SIGKILL.
constexpr auto kTermGrace = std::chrono::seconds(3);

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(ExitCode::internal, "cannot create a pipe", errno_text(errno));
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings)
    pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Reads everything available now on the non-blocking `fd` into `sink`, keeping at most `limit`
// bytes. Returns false at end of file (the writer closed it), true otherwise.
bool drain(int fd, std::string& sink, std::size_t limit) {
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      auto room = limit > sink.size() ? limit - sink.size() : 0;
      sink.append(buffer, std::min(room, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0;  // EAGAIN: open but empty for now; 0: end of file; other errors: give up
  }
}

}  // namespace

std::string shell_quote(const std::string& word) {
  if (word.empty()) return "''";
  bool safe = true;
  for (char c : word) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("@%_+=:,./-", c))) {
      safe = false;
      break;
    }
  }
  if (safe) return word;
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string display(const Command& command) {
  std::string line;
  for (std::size_t i = 0; i < command.argv.size(); ++i) {
    if (i) line += ' ';
    line += shell_quote(command.argv[i]);
  }
  return line;
}

std::string ProcessResult::status_text() const {
  if (timed_out) return "timed out and was killed";
  if (term_signal)
    return fmt::format("killed by signal {} ({})", term_signal, strsignal(term_signal));
  return fmt::format("exit status {}", exit_code);
}

std::string ProcessResult::output_tail(std::size_t lines) const {
  const std::string& text = err.find_first_not_of(" \n\t") != std::string::npos ? err : out;
  std::size_t end = text.find_last_not_of(" \n\t");
  if (end == std::string::npos) return {};
  std::size_t pos = end + 1;
  for (std::size_t n = 0; n < lines && pos > 0; ++n) {
    auto nl = text.rfind('\n', pos - 1);
    pos = nl == std::string::npos ? 0 : nl;
    if (pos == 0) break;
  }
  return text.substr(pos == 0 ? 0 : pos + 1, end + 1 - (pos == 0 ? 0 : pos + 1));
}

namespace {

// The child's process group (its pid: it leads a group of its own) is killed when run returns by
// any path but the child's normal exit, and then too when the caller asked for it: nothing the
// run started outlives it by accident.
class ChildGroup {
 public:
  ChildGroup(pid_t pid, bool kill_after_exit) : pid_(pid), kill_after_exit_(kill_after_exit) {}
  ChildGroup(const ChildGroup&) = delete;
  ChildGroup& operator=(const ChildGroup&) = delete;
  ~ChildGroup() {
    if (reaped_ && !kill_after_exit_) return;
    ::kill(-pid_, SIGKILL);
    if (!reaped_) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  void signal(int sig) const { ::kill(-pid_, sig); }
  void reaped() { reaped_ = true; }

 private:
  pid_t pid_;
  bool kill_after_exit_;
  bool reaped_ = false;
};

}  // namespace

Result<ProcessResult> SpawnRunner::run(const Command& command, const RunOptions& options) {
  if (command.argv.empty()) return fail(ExitCode::internal, "empty command");
  const std::string where = fmt::format("`{}`", command.argv[0]);
  // After SIGINT or SIGTERM nothing new is started.
  if (interrupted()) return interruption(where.c_str());
  auto out_pipe = make_pipe();
  if (!out_pipe) return tl::unexpected(out_pipe.error());
  auto err_pipe = make_pipe();
  if (!err_pipe) return tl::unexpected(err_pipe.error());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe->write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe->write.get(), 2);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGHUP})
    sigaddset(&defaults, sig);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  // A process group of its own: the terminal's Ctrl-C reaches pooljoin only, which stops the
  // child (and whatever it started) itself, and can kill the whole group.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> argv_strings = command.argv;
  auto argv = c_strings(argv_strings);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out_pipe->write.reset();
  err_pipe->write.reset();
  if (rc != 0) {
    return fail(ExitCode::unavailable, fmt::format("cannot run {}", command.argv[0]),
                errno_text(rc), rc == ENOENT ? "is it installed and in PATH?" : "");
  }
  ChildGroup group(pid, options.kill_group_after_exit);

  // Wait for the process to exit, not for its pipes to close: a daemon started by an init
  // script may inherit them and keep them open for as long as it runs.
  ProcessResult result;
  for (int fd : {out_pipe->read.get(), err_pipe->read.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  const auto deadline = Clock::now() + options.timeout;
  std::optional<Clock::time_point> kill_at;  // set once SIGTERM has been sent
  bool stopped_by_interruption = false;
  bool out_open = true, err_open = true;
  int status = 0;
  for (;;) {
    auto now = Clock::now();
    if (!kill_at && (now >= deadline || interrupted())) {
      result.timed_out = now >= deadline;
      stopped_by_interruption = !result.timed_out;
      group.signal(SIGTERM);
      kill_at = now + kTermGrace;
    } else if (kill_at && now >= *kill_at) {
      group.signal(SIGKILL);
      kill_at = Clock::time_point::max();
    }
    pollfd fds[4] = {{out_open ? out_pipe->read.get() : -1, POLLIN, 0},
                     {err_open ? err_pipe->read.get() : -1, POLLIN, 0},
                     {pidfd.get(), POLLIN, 0},
                     {kill_at ? -1 : interrupt_fd(), POLLIN, 0}};
    // Without a pidfd (kernel < 5.3), look at the child every 50 ms.
    int wait_ms = pidfd.get() >= 0 ? 1000 : 50;
    int ready = ::poll(fds, 4, wait_ms);
    if (ready < 0 && errno != EINTR)
      return fail(ExitCode::internal, "poll failed", errno_text(errno));
    if (out_open && fds[0].revents) out_open = drain(fds[0].fd, result.out, options.max_output);
    if (err_open && fds[1].revents) err_open = drain(fds[1].fd, result.err, options.max_output);
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      group.reaped();
      break;
    }
    if (done < 0 && errno != EINTR)
      return fail(ExitCode::internal, "waitpid failed", errno_text(errno));
  }
  // Stopped because pooljoin was: what the child said by then is not an answer.
  if (stopped_by_interruption || interrupted()) return interruption(where.c_str());
  // What the process wrote just before it exited.
  if (out_open) drain(out_pipe->read.get(), result.out, options.max_output);
  if (err_open) drain(err_pipe->read.get(), result.err, options.max_output);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

bool in_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (dir.empty()) dir.push_back('.');  // an empty PATH entry means the current directory
    dir += '/';
    dir += program;
    if (::access(dir.c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return false;
}

}  // namespace pooljoin
