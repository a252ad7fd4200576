// SPDX-License-Identifier: Apache-2.0
// The steps of the guide as the command line knows them: each step's options, declared once and
// added both to its subcommand and to `join` (same names, help and checks, same POOLJOIN_*
// variables); the requests they make; and the renderers of each step's plan and outcome, shared
// by the subcommand and by `join`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "pooljoin/check.hpp"
#include "pooljoin/daemons.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/firewall.hpp"
#include "pooljoin/gen_conf.hpp"
#include "pooljoin/install.hpp"
#include "pooljoin/resolve.hpp"
#include "pooljoin/restart.hpp"
#include "pooljoin/submit.hpp"
#include "pooljoin/web_redirect.hpp"

namespace pooljoin::cli {

// --- Options ----------------------------------------------------------------------------------

// --daemon: install-ntp, gen-conf, restart and join.
void add_daemon_option(CLI::App& app, std::optional<Daemon>& daemon, const std::string& what);

// --samples, --interval, --timeout: how NTP servers are probed (resolve, check, submit, join),
// with the pool monitor's values as defaults.
void add_probe_options(CLI::App& app, ProbeOptions& probe);

struct InstallOptions {
  std::optional<Daemon> daemon;
};

struct ResolveOptions {
  std::string country;
  int servers = kDefaultUpstreams;
  std::vector<std::string> candidates;
  std::string candidates_file;
  std::vector<Endpoint> dns_servers;
  std::chrono::milliseconds dns_timeout{2000};
  int max_stratum = 3;
  bool no_probe = false;
  bool no_pool = false;
  bool no_catalogue = false;
  ProbeOptions probe;
};
// --country --servers --candidate --candidates-file --dns-server --dns-timeout --max-stratum
// --no-probe --no-pool --no-catalogue (the probe options apart).
void add_resolve_options(CLI::App& app, ResolveOptions& options);
// The request: the operator's hosts read from --candidates-file (Fatal(usage) naming its line
// when one is not a host).
ResolveRequest resolve_request(const ResolveOptions& options);

struct GenConfOptions {
  std::optional<Daemon> daemon;
  std::vector<Upstream> upstreams;
  bool force = false;
  bool no_daemon_check = false;
  bool fresh = false;
};
void add_gen_conf_options(CLI::App& app, GenConfOptions& options);  // --upstream --force ...

struct RestartOptions {
  std::optional<Daemon> daemon;
  std::optional<InitSystem> init;
  std::chrono::milliseconds answer_timeout = kDefaultAnswerTimeout;
};
void add_restart_options(CLI::App& app, RestartOptions& options);  // --init --answer-timeout
RestartRequest restart_request(const RestartOptions& options);

struct FirewallOptions {
  bool notrack = false;
};
void add_firewall_options(CLI::App& app, FirewallOptions& options);  // --notrack

struct CheckWaitOptions {
  std::optional<std::chrono::milliseconds> wait;
  std::vector<std::string> references;
};
// --wait --reference
CLI::Option* add_check_options(CLI::App& app, CheckWaitOptions& options);

struct WebRedirectOptions {
  std::optional<WebServer> server;
  RedirectMode mode = RedirectMode::alias;
  std::string target{kPoolSite};
};
void add_web_redirect_options(CLI::App& app, WebRedirectOptions& options);  // --web-server ...

struct SubmitOptions {
  std::string hostname;
  int bandwidth = 0;  // Mbit/s; 0 = not given
  bool open = false;
  std::string verify_url, verify_url4, verify_url6;
};
void add_submit_options(CLI::App& app, SubmitOptions& options);  // --hostname --bandwidth ...
SubmitRequest submit_request(const Context& ctx, const SubmitOptions& options,
                             const ProbeOptions& probe);

// join: every option of the steps it runs, each declared by its step. Left out on purpose:
// gen-conf's --output and --lint (the daemon's own config is what the later steps run), check's
// --server (it checks other machines) and submit's addresses (join submits this machine's own).
struct JoinOptions {
  InstallOptions install;  // with the --daemon every step uses
  ResolveOptions resolve;  // with the probe options resolve, check and submit use
  CLI::Option* servers = nullptr;
  bool refresh = false;
  GenConfOptions gen_conf;
  RestartOptions restart;
  FirewallOptions firewall;
  CheckWaitOptions check{std::chrono::minutes(5), {}};
  bool web_redirect = false;
  WebRedirectOptions redirect;
  SubmitOptions submit;
};
void add_join_options(CLI::App& app, JoinOptions& options);
// The options that decide a run and are repeated in its resume command: the hosts given.
std::vector<std::string> resume_words(const JoinOptions& options);

// --- Renderers: each step's plan and outcome as text and as JSON -------------------------------

// The commands, one per line, as a person would paste them.
std::string command_lines(const std::vector<Command>& commands);
nlohmann::json to_json(const std::vector<Command>& commands);  // [[argv...], ...]

nlohmann::json to_json(const SystemFacts& facts);
std::string render(const SystemFacts& facts, const Console& console);
// One line: "Debian GNU/Linux 12 (bookworm), systemd, daemons ntpsec; global addresses: ..."
std::string summary(const SystemFacts& facts);
// With -v: the facts a step decides from.
void show_facts(const Context& ctx, const SystemFacts& facts);
// What detect warns about (a dynamic global address), as findings and as warnings on stderr.
std::vector<Finding> address_findings(const SystemFacts& facts);
void warn_facts(const Context& ctx, const SystemFacts& facts);

nlohmann::json to_json(const InstallPlan& plan);
// Installing the daemon would remove another one: warns, and asks (default no). True to go on.
bool confirm_replacement(const Context& ctx, const InstallPlan& plan, const SystemFacts& facts);

nlohmann::json to_json(const ResolveSurvey& survey);
std::string render(const ResolveSurvey& survey, const Console& console);

nlohmann::json to_json(const GenConfPlan& plan, const Context& ctx);
void add_outcome(nlohmann::json& doc, const GenConfOutcome& outcome, const Context& ctx);
std::string render_plan(const GenConfPlan& plan, const Context& ctx);  // the config and its diff
std::string render(const GenConfPlan& plan, const GenConfOutcome& outcome, const Context& ctx);
// "X does not exist yet" / "X is already this file", on stderr.
void note_current(const GenConfPlan& plan, const Context& ctx);
// apply_gen_conf with the console's events (and a warning when the daemon does not check it).
GenConfOutcome apply_shown(Context& ctx, const GenConfPlan& plan, bool daemon_check);

nlohmann::json to_json(const RestartPlan& plan);
void add_outcome(nlohmann::json& doc, const RestartPlan& plan, const RestartOutcome& outcome);
std::string render_plan(const RestartPlan& plan, const Context& ctx);
// The notes of the plan and what it does to the other time services, on stderr.
void note_conflicting(const RestartPlan& plan, const Context& ctx);
// apply_restart with the console's events; its warnings shown. In an image, where enabling is
// the whole step, a failure to enable is Fatal(unavailable).
RestartOutcome apply_shown(Context& ctx, const RestartPlan& plan);
// What happened: the daemon's answer, or the failure and the rollback.
std::string render(const RestartPlan& plan, const RestartOutcome& outcome, const Context& ctx);

nlohmann::json to_json(const FirewallPlan& plan);
// open_after (null without an outcome) and the conntrack table's count and maximum.
void add_outcome(nlohmann::json& doc, const FirewallFacts& facts, const FirewallOutcome* outcome);
// The front-ends in force and each address's judgement.
std::string render_verdict(const FirewallVerdict& verdict, const Console& console);
std::string render_plan(const FirewallPlan& plan, const Context& ctx);
// "IPv4 open, IPv6 closed"
std::string describe_reach(const FirewallVerdict& verdict);
FirewallOutcome apply_shown(Context& ctx, const FirewallPlan& plan, const SystemFacts& system);

nlohmann::json to_json(const CheckFacts& facts, const std::vector<Finding>& findings);
std::string render(const CheckFacts& facts, const std::vector<Finding>& findings,
                   const Console& console);
// gather_check with the console's progress (the probes, the wait for synchronisation).
CheckFacts gather_check_facts(Context& ctx, const SystemFacts& system, const CheckRequest& request);
// After a wait for synchronisation: how it ended, on stderr.
void note_wait(const CheckFacts& facts, const Console& console);

nlohmann::json to_json(const WebRedirectPlan& plan, const Context& ctx);
void add_outcome(nlohmann::json& doc, const WebRedirectOutcome& outcome, const Context& ctx);
std::string render_plan(const WebRedirectPlan& plan, const Context& ctx);
WebRedirectRequest web_redirect_request(const Context& ctx, const WebRedirectOptions& options);
void note_plan(const WebRedirectPlan& plan, const Context& ctx);
WebRedirectOutcome apply_shown(Context& ctx, const WebRedirectPlan& plan);
std::string render(const WebRedirectPlan& plan, const WebRedirectOutcome& outcome,
                   const Context& ctx);

nlohmann::json to_json(const SubmitPlan& plan, const std::optional<SubmitOutcome>& outcome,
                       bool opened);
std::string render(const SubmitPlan& plan, const std::optional<SubmitOutcome>& outcome,
                   const Console& console);

// --- Shown while a step works ------------------------------------------------------------------

// The events of a step as the console shows them: each command (dim, on stderr; with -v even
// in a dry run's queries), and a progress line for each wait.
class ConsoleEvents {
 public:
  explicit ConsoleEvents(const Console& console);
  ~ConsoleEvents();
  ConsoleEvents(const ConsoleEvents&) = delete;
  ConsoleEvents& operator=(const ConsoleEvents&) = delete;
  const StepEvents& events() const { return events_; }

 private:
  struct Ticking;
  std::unique_ptr<Ticking> ticker_;
  StepEvents events_;
};

// Prints each of `notes` as "note: ..." and each of `warnings` as a warning.
void print_notes(const Console& console, const std::vector<std::string>& notes,
                 const std::vector<std::string>& warnings = {});

// --- The steps, as their subcommands run them (each returns the exit code) ---------------------

int run_install_ntp(Context& ctx, const InstallOptions& options);
int run_resolve(Context& ctx, const ResolveOptions& options);
int run_restart(Context& ctx, const RestartOptions& options);

}  // namespace pooljoin::cli
