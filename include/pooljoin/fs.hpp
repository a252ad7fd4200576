// SPDX-License-Identifier: Apache-2.0
// The filesystem of the system pooljoin works on, rooted at --root: every path given to it is a
// path of the target system ("/etc/os-release"), read or written under the root directory.
// Writes are atomic (temporary file beside the target, fsync, rename) and keep a backup.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "pooljoin/error.hpp"

namespace pooljoin {

// The largest file read whole by default (configs, state); smaller kinds pass their own cap.
inline constexpr std::size_t kReadCap = std::size_t{1} << 20;
// Files of a line or a few lines (os-release, timezone, resolv.conf).
inline constexpr std::size_t kSmallReadCap = std::size_t{64} << 10;
// The newest backups kept per file when nothing else is asked (--keep-backups).
inline constexpr int kDefaultKeepBackups = 10;

// How writes treat what they find, the same for every write of a run (--follow-symlinks,
// --keep-backups).
struct WritePolicy {
  // A symbolic link at the target is refused unless this is set; then the regular file it
  // leads to (inside the root) is written and the link stays.
  bool follow_symlinks = false;
  int keep_backups = kDefaultKeepBackups;  // per file, the newest; older ones are removed
};

struct WriteOptions {
  mode_t mode_if_new = 0644;   // a replaced file keeps its own mode and owner
  std::optional<mode_t> mode;  // this mode, new or replaced (a hook script that must run)
  bool backup = true;          // keep the replaced file as "<path>.pooljoin-<UTC time>.bak"
  bool create_parents = true;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();  // backup name
  // Called with the system path of the complete, fsynced temporary file before it replaces the
  // target (e.g. to have the daemon parse the candidate config); an error abandons the write
  // and is returned as it is, with the previous file untouched.
  std::function<Result<void>(const std::string& candidate)> verify{};
};

struct WriteOutcome {
  bool changed = false;  // false when the file already had exactly this content
  std::string backup;    // system path of the backup of the replaced file; empty when none
};

class RootedFs {
 public:
  explicit RootedFs(std::filesystem::path root = "/", WritePolicy policy = {});

  const WritePolicy& policy() const { return policy_; }

  const std::filesystem::path& root() const { return root_; }
  // True when the root is the running system's own "/".
  bool is_live() const { return live_; }

  // The host path of `system_path` (which must be absolute) under the root. In an image, its
  // symbolic links are followed inside the root, as chroot would: an absolute link target, or
  // `..` above the root, never leads out of it. `follow_last` false leaves a link in the last
  // component as it is (to read the link itself).
  std::filesystem::path host(std::string_view system_path, bool follow_last = true) const;

  bool exists(std::string_view system_path) const;
  bool is_directory(std::string_view system_path) const;
  // The file's content; nullopt when it does not exist or cannot be read.
  std::optional<std::string> read(std::string_view system_path, std::size_t cap = kReadCap) const;
  // The file's content, or an error naming the file and the reason. Links are followed inside
  // the root; what is not a regular file (a FIFO, a device) is refused without blocking, and
  // so is a file of more than `cap` bytes.
  Result<std::string> read_file(std::string_view system_path, std::size_t cap = kReadCap) const;
  // The target of a symbolic link; nullopt when it is not one.
  std::optional<std::string> read_link(std::string_view system_path) const;
  // Names of the entries of a directory, sorted; empty when it does not exist.
  std::vector<std::string> list(std::string_view system_dir) const;

  // Replaces (or creates) the file atomically: a failure at any point leaves the previous file
  // as it was. ExitCode::cant_write on failure, with the path and the system's reason. Every
  // step (temporary file, backup, rename, fsync of the directory) works on a handle of the
  // directory opened inside the root, so a link swapped in meanwhile cannot lead out of it. A
  // link at the target is refused unless the policy follows links; stale temporary files of
  // pooljoin's naming (".NAME.pooljoin-PID-XXXXXX" whose PID is gone, or older than an hour)
  // and backups beyond the policy's count are removed.
  Result<WriteOutcome> write_atomic(std::string_view system_path, std::string_view content,
                                    const WriteOptions& options = {}) const;

  // Puts `backup` (a system path made by write_atomic) back in place of `system_path`.
  Result<void> restore(std::string_view system_path, std::string_view backup) const;

 private:
  std::filesystem::path root_;
  bool live_;
  WritePolicy policy_;
};

// The content of a file of the machine pooljoin runs on (an option's file, a template), read as
// RootedFs::read_file reads: a regular file only, at most `cap` bytes; "-" is stdin when
// `allow_stdin`. The error names the file.
Result<std::string> read_host_file(const std::string& path, std::size_t cap = kReadCap,
                                   bool allow_stdin = false);

namespace detail {
// Makes RootedFs resolve paths by its own walk, as where openat2(2) is missing (tests only).
void use_fd_walk_for_tests(bool on);
}  // namespace detail

// "20261126T032243Z": the UTC time as used in backup names.
std::string compact_utc(std::chrono::system_clock::time_point time);

}  // namespace pooljoin
