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
  explicit RootedFs(std::filesystem::path root = "/");

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
  std::optional<std::string> read(std::string_view system_path) const;
  // The file's content, or an error naming the file and the reason.
  Result<std::string> read_file(std::string_view system_path) const;
  // The target of a symbolic link; nullopt when it is not one.
  std::optional<std::string> read_link(std::string_view system_path) const;
  // Names of the entries of a directory, sorted; empty when it does not exist.
  std::vector<std::string> list(std::string_view system_dir) const;

  // Replaces (or creates) the file atomically: a failure at any point leaves the previous file
  // as it was. ExitCode::cant_write on failure, with the path and the system's reason.
  Result<WriteOutcome> write_atomic(std::string_view system_path, std::string_view content,
                                    const WriteOptions& options = {}) const;

  // Puts `backup` (a system path made by write_atomic) back in place of `system_path`.
  Result<void> restore(std::string_view system_path, std::string_view backup) const;

 private:
  std::filesystem::path root_;
  bool live_;
};

// "20261126T032243Z": the UTC time as used in backup names.
std::string compact_utc(std::chrono::system_clock::time_point time);

}  // namespace pooljoin
