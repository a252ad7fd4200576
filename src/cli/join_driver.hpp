// SPDX-License-Identifier: Apache-2.0
// What `join` needs around its steps, apart from composing them: running each as a numbered
// step whose outcome is recorded (in the JSON document, the summary table and
// /var/lib/pooljoin/state.json), the questions only the operator can answer, and the report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "context.hpp"
#include "steps.hpp"
#include "table.hpp"
#include <nlohmann/json.hpp>

#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/join_state.hpp"
#include "pooljoin/selection.hpp"

namespace pooljoin::cli {

// A step's outcome, as the summary table and the JSON document show it.
struct StepOutcome {
  std::string status;  // done, unchanged, planned, skipped (failed, stopped, interrupted: below)
  std::string summary;
  nlohmann::json result;  // the step's plan and outcome, as its subcommand's --json shows them
};

// Thrown by a step that must not go on (the operator said no, or a check found failures):
// join stops there with this code.
struct Stop {
  int code;
  std::string summary;
  bool declined = false;  // the operator said no: "stopped" rather than "failed"
};

class JoinDriver {
 public:
  static constexpr int kSteps = 9;

  explicit JoinDriver(Context& ctx);

  bool dry() const { return dry_; }
  JoinState& state() { return state_; }
  // The result the running step has got to: kept as its result if it fails.
  void keep(nlohmann::json partial) { partial_ = std::move(partial); }

  // Runs `body` as the next step: its header, its outcome recorded and saved. A step that fails
  // (Fatal) or stops (Stop) is recorded as such; a dry run goes on to plan the rest, a real run
  // throws on (an interruption with the command that resumes it).
  void step(const char* name, const std::function<StepOutcome()>& body);

  // The step's own output on stdout: not with --json (the document is the result), not with -q
  // in a real run (the result is its last line).
  void show(const std::string& text) const;
  // Shows `plan` (at a terminal) and asks before `what`; Stop when the answer is no.
  void confirm(const std::string& what, const std::string& plan) const;
  // Which of the installed supported daemons serves the pool, when that is not clear (two
  // installed, not exactly one running): asked at a terminal, or --daemon; nullopt for auto.
  std::optional<Daemon> ask_daemon(const SystemFacts& facts) const;
  // The country, when the time zone does not tell it: asked at a terminal, or --country; "" to
  // let resolve infer it.
  std::string ask_country() const;

  // The command that resumes the run (the options that decide it and the answers given).
  std::vector<std::string>& resume_words() { return resume_; }
  // Ends the run: one JSON document, or a headline and the table of steps; the exit code.
  int finish();
  // The same for a run that stops on a Stop or a Fatal thrown out of step().
  int finish(const Stop& stop);
  void finish(const Fatal& fatal);

 private:
  void record(const char* name, const StepOutcome& outcome, int exit_code);
  void save_state();
  void report(const std::string& status);
  std::string resume_command() const;

  Context& ctx_;
  const bool dry_;
  JoinState state_;
  nlohmann::json steps_ = nlohmann::json::array();
  Table summary_{{"step", "status", ""}};
  int index_ = 0;
  nlohmann::json partial_;
  struct Failure {
    std::string step, message;
    int exit_code;
  };
  std::optional<Failure> failure_;  // the first step that failed
  std::vector<std::string> resume_;
};

// One run of join: its options, its driver, and what each step hands to the next in memory.
struct JoinRun {
  JoinRun(Context& context, const JoinOptions& join_options)
      : ctx(context), options(join_options), driver(context), dry(driver.dry()) {}

  Context& ctx;
  const JoinOptions& options;
  JoinDriver driver;
  const bool dry;
  SystemFacts facts;  // gathered once; the daemons read again after install-ntp and restart
  DaemonSpec spec{};
  bool installed_now = false;  // the daemon was (in a dry run: would be) installed by this run
  std::optional<Selection> selection;
  bool config_changed = false;

  // Adds words to the command that resumes the run.
  void resume_with(const std::string& option, const std::string& value = {});
  // Reads the daemons installed and running again: install-ntp's package manager removes and
  // starts some (a postinst starts ntpsec, timesyncd goes), restart stops and starts others, and
  // the later steps (check, submit's pre-flight) judge what runs now.
  void refresh_daemons();
};

// Each step as join runs it, defined with the step's subcommand (cmd_<step>.cpp): the same
// plan, renderers and apply, with join's questions, records and hand-offs.
StepOutcome join_install(JoinRun& j);
StepOutcome join_resolve(JoinRun& j);
StepOutcome join_gen_conf(JoinRun& j);
StepOutcome join_restart(JoinRun& j);
StepOutcome join_firewall(JoinRun& j);
StepOutcome join_check(JoinRun& j);
StepOutcome join_web_redirect(JoinRun& j);
StepOutcome join_submit(JoinRun& j);

}  // namespace pooljoin::cli
