#include "pooljoin/fs.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <deque>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
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

void fsync_directory(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

// Copies `from` to a new file `to` with the same mode (used when a hard link is not possible).
bool copy_file(const fs::path& from, const fs::path& to, mode_t mode) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return false;
  std::ostringstream content;
  content << in.rdbuf();
  UniqueFd fd(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return false;
  return write_all(fd.get(), content.str()) && ::fsync(fd.get()) == 0;
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

RootedFs::RootedFs(fs::path root) : root_(std::move(root)) {
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

std::optional<std::string> RootedFs::read(std::string_view system_path) const {
  auto result = read_file(system_path);
  if (!result) return std::nullopt;
  return std::move(*result);
}

Result<std::string> RootedFs::read_file(std::string_view system_path) const {
  UniqueFd fd(::open(host(system_path).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return fail(ExitCode::unavailable, fmt::format("cannot read {}", system_path),
                errno_text(errno));
  }
  std::string content;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ExitCode::unavailable, fmt::format("cannot read {}", system_path),
                  errno_text(errno));
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
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
  const fs::path target = host(system_path);
  const fs::path dir = target.parent_path();
  WriteOutcome outcome;

  struct stat old {};
  bool had_file = ::stat(target.c_str(), &old) == 0;
  if (had_file && !S_ISREG(old.st_mode)) {
    return fail(ExitCode::cant_write, fmt::format("cannot write {}", system_path),
                "it exists and is not a regular file", "move it away and run again");
  }
  if (had_file) {
    auto current = read(system_path);
    if (current && *current == content) return outcome;  // nothing to change
  }
  if (options.create_parents) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return write_error(system_path, ec.value());
  }

  std::string temp_template =
      (dir / fmt::format(".{}.pooljoin-XXXXXX", target.filename().string())).string();
  UniqueFd fd(::mkostemp(temp_template.data(), O_CLOEXEC));
  if (!fd) return write_error(system_path, errno);
  const fs::path temp = temp_template;
  auto abandon = [&](int err) {
    ::unlink(temp.c_str());
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
    std::string candidate = (fs::path(system_path).parent_path() / temp.filename()).string();
    if (auto verified = options.verify(candidate); !verified) {
      ::unlink(temp.c_str());
      return tl::unexpected(std::move(verified.error()));
    }
  }

  if (had_file && options.backup) {
    std::string base = std::string(system_path) + ".pooljoin-" + compact_utc(options.now);
    for (int n = 0; n < 100; ++n) {
      std::string candidate = n == 0 ? base + ".bak" : fmt::format("{}-{}.bak", base, n);
      fs::path backup = host(candidate);
      // A hard link keeps the old file itself (content, mode, owner) at no cost.
      if (::link(target.c_str(), backup.c_str()) == 0 ||
          (errno != EEXIST && copy_file(target, backup, mode))) {
        outcome.backup = candidate;
        break;
      }
      if (errno != EEXIST) return abandon(errno);
    }
    if (outcome.backup.empty()) return abandon(EEXIST);
  }

  if (::rename(temp.c_str(), target.c_str()) != 0) return abandon(errno);
  fsync_directory(dir);
  outcome.changed = true;
  return outcome;
}

Result<void> RootedFs::restore(std::string_view system_path, std::string_view backup) const {
  auto content = read_file(backup);
  if (!content) return tl::unexpected(content.error());
  WriteOptions options;
  options.backup = false;
  auto written = write_atomic(system_path, *content, options);
  if (!written) return tl::unexpected(written.error());
  return {};
}

}  // namespace pooljoin
