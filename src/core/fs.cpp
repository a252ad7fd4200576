// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/fs.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <deque>
#include <limits>
#include <random>
#include <tuple>

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pooljoin/unique_fd.hpp"

namespace pooljoin {
namespace fs = std::filesystem;
namespace {

// The links followed in one path before it is left to fail (ELOOP), as the kernel's limit.
constexpr int kMaxLinks = 40;
constexpr const char* kUnresolvable = ".pooljoin-unresolvable-link";

tl::unexpected<Error> write_error(std::string_view path, int err) {
  std::string fix = err == ENOSPC ? "free some space on that filesystem and run again"
                    : err == EACCES || err == EPERM ? "run as root, or check the permissions"
                    : err == EROFS ? "the filesystem is read-only; remount it read-write"
                                   : "";
  return fail(
      ExitCode::cant_write, fmt::format("cannot write {}", path), errno_text(err),
      fix.empty() ? "the previous file is unchanged" : fix + "; the previous file is unchanged");
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool g_fd_walk = false;  // tests: resolve as where openat2 is missing

std::string size_text(std::size_t bytes) {
  if (bytes % (1 << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes % (1 << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

// Reads an open file whole: a regular file of at most `cap` bytes (a pipe too, when
// `any_kind`, as stdin may be). `name` is the path shown in errors.
Result<std::string> read_capped(int fd, std::string_view name, std::size_t cap, bool any_kind) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(ExitCode::unavailable, fmt::format("cannot read {}", name), errno_text(errno));
  }
  if (!any_kind && !S_ISREG(st.st_mode)) {
    return fail(ExitCode::unavailable, fmt::format("cannot read {}", name),
                S_ISDIR(st.st_mode) ? "it is a directory"
                                    : "it is not a regular file (a FIFO, socket or device)",
                "put a regular file there");
  }
  if (!any_kind) {
    // A regular file never blocks; reads below wait as usual (stdin).
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  }
  auto too_large = [&] {
    return fail(ExitCode::unavailable, fmt::format("cannot read {}", name),
                fmt::format("it is larger than {}, the most pooljoin reads from such a file",
                            size_text(cap)));
  };
  if (S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) > cap) return too_large();
  std::string content;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ExitCode::unavailable, fmt::format("cannot read {}", name), errno_text(errno));
    }
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > cap) return too_large();
  }
  return content;
}

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> parts;
  for (const auto& part : fs::path(path).relative_path())
    if (!part.empty() && part != ".") parts.push_back(part.string());
  return parts;
}

// openat2's fallback: walks `relative` from `root_fd` one component at a time with O_NOFOLLOW,
// following links itself as chroot would (an absolute target or `..` at the top stays at the
// root), and opens the last component with `flags`.
int walk_open(int root_fd, std::string_view relative, int flags, mode_t mode) {
  std::vector<UniqueFd> stack;  // the directories walked below the root
  std::deque<std::string> pending;
  for (auto& part : components(relative))
    pending.push_back(std::move(part));
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    int current = stack.empty() ? root_fd : stack.back().get();
    if (part == ".") continue;
    if (part == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    struct stat st {};
    if (::fstatat(current, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) {
        errno = ELOOP;
        return -1;
      }
      char target[4096];
      ssize_t n = ::readlinkat(current, part.c_str(), target, sizeof target - 1);
      if (n < 0) return -1;
      std::string_view link(target, static_cast<std::size_t>(n));
      if (!link.empty() && link.front() == '/') stack.clear();
      auto parts = components(link);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      continue;
    }
    if (pending.empty()) return ::openat(current, part.c_str(), flags | O_NOFOLLOW, mode);
    int fd = ::openat(current, part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    stack.emplace_back(fd);
  }
  return ::openat(stack.empty() ? root_fd : stack.back().get(), ".", flags, mode);
}

// Opens `system_path` under the directory `root_fd`, links followed inside it (openat2 with
// RESOLVE_IN_ROOT; the running system's "/" resolves as usual). -1 with errno on failure.
int open_in_root(int root_fd, bool live, std::string_view system_path, int flags, mode_t mode = 0) {
  std::string relative = fs::path(system_path).relative_path().string();
  if (relative.empty()) relative = ".";
  if (!g_fd_walk) {
    open_how how{};
    how.flags = static_cast<unsigned>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0U;
    how.resolve = live ? 0 : RESOLVE_IN_ROOT;
    for (int attempt = 0; attempt < 8; ++attempt) {
      long fd = ::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how);
      if (fd >= 0) return static_cast<int>(fd);
      if (errno != EAGAIN) break;  // a rename raced the walk: try again
    }
    if (errno != ENOSYS) return -1;
  }
  return walk_open(root_fd, relative, flags | O_CLOEXEC, mode);
}

// The system path `path` made lexically normal; nullopt when its `..` climb above "/".
std::optional<std::string> normal_system_path(const std::string& path) {
  std::vector<std::string> parts;
  for (const auto& part : fs::path(path).relative_path()) {
    std::string p = part.string();
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
      continue;
    }
    parts.push_back(std::move(p));
  }
  std::string out;
  for (const auto& p : parts)
    out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string parent_of(const std::string& system_path) {
  auto slash = system_path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : system_path.substr(0, slash);
}

std::string join_system(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// Copies `from` to a new file `to` in the directory `dir_fd` with the same mode (used when a hard
// link is not possible).
bool copy_file_at(int dir_fd, const std::string& from, const std::string& to, mode_t mode) {
  UniqueFd in(::openat(dir_fd, from.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!in) return false;
  auto content = read_capped(in.get(), from, std::numeric_limits<std::size_t>::max(), false);
  if (!content) return false;
  UniqueFd fd(
      ::openat(dir_fd, to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return false;
  return write_all(fd.get(), *content) && ::fsync(fd.get()) == 0;
}

// The names in the directory `dir_fd`, unsorted.
std::vector<std::string> names_in(int dir_fd) {
  std::vector<std::string> names;
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return names;
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return names;
  }
  while (auto* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  return names;
}

// A temporary file of ours is stale when the run that made it is gone: its PID (in the name)
// is not running, or it is older than an hour (a PID reused since, or a name from before PIDs).
constexpr auto kStaleTemp = std::chrono::hours(1);

void remove_stale_temps(int dir_fd, const std::string& name) {
  const std::string prefix = "." + name + ".pooljoin-";
  const auto now = std::chrono::system_clock::now();
  for (const auto& entry : names_in(dir_fd)) {
    if (entry.rfind(prefix, 0) != 0) continue;
    std::string rest = entry.substr(prefix.size());
    struct stat st {};
    if (::fstatat(dir_fd, entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    bool stale = now - std::chrono::system_clock::from_time_t(st.st_mtime) > kStaleTemp;
    auto dash = rest.find('-');
    if (!stale && dash != std::string::npos && dash > 0) {
      pid_t pid = 0;
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + dash, pid);
      if (ec == std::errc() && end == rest.data() + dash && pid > 0 && pid != ::getpid())
        stale = ::kill(pid, 0) != 0 && errno == ESRCH;
    }
    if (stale) ::unlinkat(dir_fd, entry.c_str(), 0);
  }
}

// Removes the backups of `name` ("NAME.pooljoin-<UTC time>[-N].bak") but the newest `keep`.
void prune_backups(int dir_fd, const std::string& name, int keep) {
  const std::string prefix = name + ".pooljoin-";
  std::vector<std::tuple<std::string, int, std::string>> backups;  // time, N, name
  for (auto& entry : names_in(dir_fd)) {
    if (entry.rfind(prefix, 0) != 0 || entry.size() < prefix.size() + 20) continue;
    if (entry.compare(entry.size() - 4, 4, ".bak") != 0) continue;
    std::string stamp = entry.substr(prefix.size(), 16);  // 20261126T032243Z
    std::string rest = entry.substr(prefix.size() + 16, entry.size() - prefix.size() - 20);
    int n = 0;
    if (!rest.empty()) {
      if (rest.front() != '-') continue;
      auto [end, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), n);
      if (ec != std::errc() || end != rest.data() + rest.size()) continue;
    }
    backups.emplace_back(std::move(stamp), n, std::move(entry));
  }
  if (static_cast<int>(backups.size()) <= keep) return;
  std::sort(backups.begin(), backups.end(), std::greater<>());
  for (std::size_t i = static_cast<std::size_t>(std::max(keep, 1)); i < backups.size(); ++i)
    ::unlinkat(dir_fd, std::get<2>(backups[i]).c_str(), 0);
}

// A fresh name for a temporary file beside `name`: ".NAME.pooljoin-PID-XXXXXX".
std::string temp_name(const std::string& name) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static std::mt19937 random(std::random_device{}());
  std::string suffix(6, 'x');
  for (auto& c : suffix)
    c = kChars[random() % (sizeof kChars - 1)];
  return fmt::format(".{}.pooljoin-{}-{}", name, ::getpid(), suffix);
}

}  // namespace

std::string compact_utc(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

namespace detail {
void use_fd_walk_for_tests(bool on) {
  g_fd_walk = on;
}
}  // namespace detail

Result<std::string> read_host_file(const std::string& path, std::size_t cap, bool allow_stdin) {
  if (allow_stdin && path == "-") return read_capped(STDIN_FILENO, "stdin", cap, true);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    return fail(ExitCode::unavailable, fmt::format("cannot read {}", path), errno_text(errno));
  }
  return read_capped(fd.get(), path, cap, false);
}

RootedFs::RootedFs(fs::path root, WritePolicy policy) : root_(std::move(root)), policy_(policy) {
  std::error_code ec;
  auto canonical = fs::weakly_canonical(root_, ec);
  if (!ec) root_ = canonical;
  live_ = root_ == fs::path("/");
}

fs::path RootedFs::host(std::string_view system_path, bool follow_last) const {
  fs::path relative = fs::path(system_path).relative_path();
  if (live_) return fs::path("/") / relative;

  // Walk the path one component at a time from the root, as the kernel would from a chroot:
  // `current` is always a host path inside the root without links in it.
  std::deque<std::string> pending;
  for (const auto& part : relative)
    pending.push_back(part.string());
  fs::path current = root_;
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (current != root_) current = current.parent_path();
      continue;
    }
    fs::path next = current / part;
    struct stat st {};
    const bool last = pending.empty();
    if ((last && !follow_last) || ::lstat(next.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      current = std::move(next);  // a missing or plain component
      continue;
    }
    std::error_code ec;
    fs::path target = fs::read_symlink(next, ec);
    // A loop, or a link that cannot be read: a path that does not exist, so that whatever the
    // caller does fails inside the root (the link itself would be followed on the host).
    if (ec || ++links > kMaxLinks) return root_ / kUnresolvable;
    if (target.is_absolute()) current = root_;
    std::vector<std::string> parts;
    for (const auto& p : target.relative_path())
      parts.push_back(p.string());
    pending.insert(pending.begin(), parts.begin(), parts.end());
  }
  return current;
}

bool RootedFs::exists(std::string_view system_path) const {
  std::error_code ec;
  return fs::exists(host(system_path), ec);
}

bool RootedFs::is_directory(std::string_view system_path) const {
  std::error_code ec;
  return fs::is_directory(host(system_path), ec);
}

std::optional<std::string> RootedFs::read(std::string_view system_path, std::size_t cap) const {
  auto result = read_file(system_path, cap);
  if (!result) return std::nullopt;
  return std::move(*result);
}

Result<std::string> RootedFs::read_file(std::string_view system_path, std::size_t cap) const {
  UniqueFd root_fd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd fd(
      root_fd ? open_in_root(root_fd.get(), live_, system_path, O_RDONLY | O_NONBLOCK | O_NOCTTY)
              : -1);
  if (!fd) {
    return fail(ExitCode::unavailable, fmt::format("cannot read {}", system_path),
                errno_text(errno));
  }
  return read_capped(fd.get(), system_path, cap, false);
}

std::optional<std::string> RootedFs::read_link(std::string_view system_path) const {
  std::error_code ec;
  auto target = fs::read_symlink(host(system_path, false), ec);
  if (ec) return std::nullopt;
  return target.string();
}

std::vector<std::string> RootedFs::list(std::string_view system_dir) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(host(system_dir), ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<WriteOutcome> RootedFs::write_atomic(std::string_view system_path, std::string_view content,
                                            const WriteOptions& options) const {
  WriteOutcome outcome;
  UniqueFd root_fd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return write_error(system_path, errno);

  // The directory, as a handle opened inside the root, and the name in it. A link at the name
  // is followed here (when the policy allows) by its text, so that its target is checked.
  auto normal = normal_system_path(std::string(system_path));
  if (!normal || *normal == "/") return write_error(system_path, EINVAL);
  std::string path = *normal;
  std::string dir, name;
  UniqueFd dir_fd;
  struct stat old {};
  bool had_file = false;
  for (int hops = 0;; ++hops) {
    dir = parent_of(path);
    name = path.substr(path.rfind('/') + 1);
    dir_fd.reset(open_in_root(root_fd.get(), live_, dir, O_RDONLY | O_DIRECTORY));
    if (!dir_fd && errno == ENOENT && options.create_parents && hops == 0) {
      // Create the missing directories one at a time, each inside the root: mkdirat never
      // follows a link, so a dangling link in the way is an error, not a new directory.
      std::string prefix;
      for (const auto& part : components(dir)) {
        UniqueFd parent(open_in_root(root_fd.get(), live_, prefix.empty() ? "/" : prefix,
                                     O_PATH | O_DIRECTORY));
        prefix += "/" + part;
        if (!parent) return write_error(system_path, errno);
        if (::mkdirat(parent.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
          return write_error(system_path, errno);
      }
      dir_fd.reset(open_in_root(root_fd.get(), live_, dir, O_RDONLY | O_DIRECTORY));
    }
    if (!dir_fd) return write_error(system_path, errno);
    had_file = ::fstatat(dir_fd.get(), name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (!had_file || !S_ISLNK(old.st_mode)) break;

    char target[4096];
    ssize_t n = ::readlinkat(dir_fd.get(), name.c_str(), target, sizeof target - 1);
    if (n < 0) return write_error(system_path, errno);
    std::string link(target, static_cast<std::size_t>(n));
    if (!policy_.follow_symlinks) {
      return fail(ExitCode::cant_write, fmt::format("cannot write {}", system_path),
                  fmt::format("it is a symbolic link to {}", link),
                  "pass --follow-symlinks to write the file it leads to, or replace the link "
                  "yourself; nothing was changed");
    }
    if (hops >= kMaxLinks) {
      return fail(ExitCode::cant_write, fmt::format("cannot write {}", system_path),
                  "its symbolic links form a loop", "fix the links; nothing was changed");
    }
    auto next = normal_system_path(link.front() == '/' ? link : dir + "/" + link);
    if (!next || *next == "/") {
      return fail(ExitCode::cant_write, fmt::format("cannot write {}", system_path),
                  fmt::format("its symbolic link to {} leads outside {}", link, root_.string()),
                  "fix the link; nothing was changed");
    }
    path = *next;
  }
  if (had_file && !S_ISREG(old.st_mode)) {
    return fail(ExitCode::cant_write, fmt::format("cannot write {}", system_path),
                "it exists and is not a regular file", "move it away and run again");
  }
  if (had_file) {
    UniqueFd current(
        ::openat(dir_fd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (current) {
      auto text = read_capped(current.get(), path, content.size(), false);
      if (text && *text == content) return outcome;  // nothing to change
    }
  }
  remove_stale_temps(dir_fd.get(), name);

  std::string temp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 100 && !fd; ++attempt) {
    temp = temp_name(name);
    fd.reset(::openat(dir_fd.get(), temp.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd && errno != EEXIST) break;
  }
  if (!fd) return write_error(system_path, errno);
  auto abandon = [&](int err) {
    ::unlinkat(dir_fd.get(), temp.c_str(), 0);
    return write_error(system_path, err);
  };

  mode_t mode = options.mode ? *options.mode
                : had_file   ? (old.st_mode & 07777)
                             : options.mode_if_new;
  if (!write_all(fd.get(), content)) return abandon(errno);
  if (::fchmod(fd.get(), mode) != 0) return abandon(errno);
  if (had_file && ::geteuid() == 0 && ::fchown(fd.get(), old.st_uid, old.st_gid) != 0) {
    return abandon(errno);
  }
  if (::fsync(fd.get()) != 0) return abandon(errno);
  if (::close(fd.release()) != 0) return abandon(errno);
  if (options.verify) {
    if (auto verified = options.verify(join_system(dir, temp)); !verified) {
      ::unlinkat(dir_fd.get(), temp.c_str(), 0);
      return tl::unexpected(std::move(verified.error()));
    }
  }

  std::string backup_name;
  if (had_file && options.backup) {
    std::string base = name + ".pooljoin-" + compact_utc(options.now);
    // After the highest number of this second, never in a gap that pruning left: the newest
    // backup must sort newest.
    int first = 0;
    for (const auto& entry : names_in(dir_fd.get())) {
      if (entry == base + ".bak") first = std::max(first, 1);
      if (entry.rfind(base + "-", 0) != 0 || !entry.ends_with(".bak")) continue;
      int n = 0;
      const char* begin = entry.data() + base.size() + 1;
      const char* end = entry.data() + entry.size() - 4;
      if (auto [at, ec] = std::from_chars(begin, end, n); ec == std::errc() && at == end)
        first = std::max(first, n + 1);
    }
    for (int n = first; n < first + 100; ++n) {
      std::string candidate = n == 0 ? base + ".bak" : fmt::format("{}-{}.bak", base, n);
      // A hard link keeps the old file itself (content, mode, owner) at no cost.
      if (::linkat(dir_fd.get(), name.c_str(), dir_fd.get(), candidate.c_str(), 0) == 0 ||
          (errno != EEXIST && copy_file_at(dir_fd.get(), name, candidate, mode))) {
        backup_name = candidate;
        break;
      }
      if (errno != EEXIST) return abandon(errno);
    }
    if (backup_name.empty()) return abandon(EEXIST);
    outcome.backup = join_system(dir, backup_name);
  }

  if (::renameat(dir_fd.get(), temp.c_str(), dir_fd.get(), name.c_str()) != 0) {
    int err = errno;
    if (!backup_name.empty()) ::unlinkat(dir_fd.get(), backup_name.c_str(), 0);
    return abandon(err);
  }
  ::fsync(dir_fd.get());
  if (!backup_name.empty()) prune_backups(dir_fd.get(), name, policy_.keep_backups);
  outcome.changed = true;
  return outcome;
}

Result<void> RootedFs::restore(std::string_view system_path, std::string_view backup) const {
  auto content = read_file(backup);
  if (!content) return tl::unexpected(content.error());
  // The backup lies beside the file it was made of (the file a followed link led to).
  std::string target(system_path);
  if (auto mark = backup.rfind(".pooljoin-"); mark != std::string_view::npos)
    target = std::string(backup.substr(0, mark));
  WriteOptions options;
  options.backup = false;
  auto written = write_atomic(target, *content, options);
  if (!written) return tl::unexpected(written.error());
  return {};
}

}  // namespace pooljoin
