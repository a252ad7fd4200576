// SPDX-License-Identifier: Apache-2.0
// What every subcommand receives: the global options, the console, the prompter, and the effects
// (processes, the filesystem under --root, clock, DNS, NTP, HTTP). Built once in main; no
// globals.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "pooljoin/effects.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/install.hpp"
#include "pooljoin/pool_api.hpp"
#include "pooljoin/run_lock.hpp"

namespace pooljoin::cli {

struct GlobalOptions {
  std::string root = "/";
  bool dry_run = false;
  bool json = false;
  bool yes = false;
  int verbose = 0;
  bool quiet = false;
  bool no_color = false;
  std::string api_base = kDefaultApiBase;  // the pool's site, validated, without a trailing '/'
  std::chrono::seconds api_timeout{20};    // per HTTP attempt
  std::string ca_file;                     // verify HTTPS against these CAs instead
  bool follow_symlinks = false;            // write the file a link at a target leads to
  int keep_backups = kDefaultKeepBackups;  // per written file
  // How long to wait for a lock another run holds: another pooljoin's (run_lock.hpp), or the
  // package manager's.
  std::chrono::seconds lock_timeout = kDefaultLockTimeout;
};

// Terminal output. The result goes to stdout (text, or one JSON document with --json); notes,
// warnings and errors go to stderr. Colour only on a terminal, never with NO_COLOR/--no-color.
class Console {
 public:
  Console(const GlobalOptions& options);

  bool json() const { return json_; }
  bool quiet() const { return quiet_; }
  int verbose() const { return verbose_; }
  bool stdout_tty() const { return stdout_tty_; }
  bool stderr_tty() const { return stderr_tty_; }
  // Whether progress lines are drawn: on a terminal, without -q.
  bool shows_progress() const { return stderr_tty_ && !quiet_; }

  // The result, on stdout (nothing in JSON mode: the document is the result).
  void print(std::string_view text) const;
  void emit_json(const nlohmann::json& document) const;
  // Progress and explanations on stderr; hidden by -q.
  void note(std::string_view text) const;
  // Only with -v.
  void detail(std::string_view text) const;
  // A status line that rewrites itself on a terminal (stderr); call end_progress() before any
  // other output. Not a terminal: nothing (callers print plain notes instead). Hidden by -q.
  void progress(std::string_view line) const;
  void end_progress() const;
  void warn(std::string_view text) const;
  void error(const Error& error) const;

  enum class Style { bold, dim, ok, warn, fail };
  // `text` in the style, when stdout is a coloured terminal.
  std::string paint(Style style, std::string_view text) const;
  std::string paint_err(Style style, std::string_view text) const;

 private:
  bool json_, quiet_;
  int verbose_;
  bool stdout_tty_, stderr_tty_, color_out_, color_err_;
  mutable bool progress_shown_ = false;
};

// Questions to the operator. With --yes every question is answered yes without asking; with no
// terminal on stdin nothing is ever asked and a question that needs an answer is an error: a
// change to a production server is never made on an answer nobody gave.
class Prompter {
 public:
  Prompter(bool assume_yes, bool interactive) : yes_(assume_yes), interactive_(interactive) {}
  bool interactive() const { return interactive_ && !yes_; }
  // Whether a question would be asked or refused rather than answered yes by --yes.
  bool asks() const { return !yes_; }
  // Asks on stderr and reads a line from stdin. Throws Fatal(usage) when unattended without
  // --yes, naming `unattended_fix` (e.g. "re-run with --yes to accept").
  bool confirm(std::string_view question, bool default_yes, std::string_view unattended_fix) const;
  // Asks for a value until `problem` (the reason an answer is refused, "" when it is taken)
  // accepts one. --yes answers no such question: unattended, it throws Fatal(usage) naming
  // `unattended_fix` (e.g. "pass --country CC").
  std::string ask(std::string_view question,
                  const std::function<std::string(const std::string&)>& problem,
                  std::string_view unattended_fix) const;

 private:
  // A line from stdin; Fatal(interrupted) on Ctrl-C, Fatal(usage) at the end of input.
  static std::string read_answer();

  bool yes_, interactive_;
};

struct Context {
  const GlobalOptions& options;
  const Console& console;
  const Prompter& prompter;
  Effects& effects;    // a dry run only reads through them: it never reaches an apply_X
  const RootedFs& fs;  // effects.fs
  std::optional<RunLock> run_lock;  // held from the first change on (begin_change)

  Context(const GlobalOptions& o, const Console& c, const Prompter& p, Effects& e)
      : options(o), console(c), prompter(p), effects(e), fs(e.fs) {}
};

// Called by every step that changes the system, before it changes anything (nothing in a dry
// run): throws Fatal(needs_root) unless running as root, then takes the run lock, waiting up to
// --lock-timeout for another run that holds it (Fatal(unavailable) naming it after that).
void begin_change(Context& ctx, std::string_view step);

using Action = std::function<int(Context&)>;

}  // namespace pooljoin::cli
