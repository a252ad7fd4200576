// The steps of the guide as `join` drives them: each subcommand's options and the function that
// runs it (the same one its subcommand runs), so a step behaves and reads the same either way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "context.hpp"
#include "probe_options.hpp"
#include <CLI/CLI.hpp>

#include "pooljoin/restart.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/web_redirect.hpp"

namespace pooljoin::cli {

struct InstallOptions {
  std::string daemon = "auto";
  int lock_timeout = 120;
};

struct ResolveOptions {
  std::string country;
  int servers = kDefaultUpstreams;
  std::vector<std::string> candidates;
  std::string candidates_file;
  std::vector<std::string> dns_servers;
  int dns_timeout_ms = 2000;
  int max_stratum = 3;
  bool no_probe = false;
  bool no_pool = false;
  bool no_catalogue = false;
  ProbeCliOptions probe;
};

struct GenConfOptions {
  std::vector<std::string> servers;
  std::string daemon = "auto";
  bool force = false;
  std::string output;
  std::string lint_file;
  CLI::Option* lint = nullptr;  // given, with or without a file
  bool no_daemon_check = false;
  // Servers chosen in this run and not saved (a dry run of `join`); used when --server is not
  // given, in place of the saved selection.
  std::optional<Selection> selection{};
};

struct RestartOptions {
  std::string daemon = "auto";
  std::string init = "auto";
  std::string timeout = "20s";  // how long the daemon has to answer on loopback
};

struct CheckCliOptions {
  std::string wait;
  std::vector<std::string> servers;
  ProbeCliOptions probe;
};

struct WebRedirectOptions {
  std::string server = "auto";
  std::string mode = "alias";
  std::string target{kPoolSite};
};

struct SubmitOptions {
  std::vector<std::string> addresses;
  std::string hostname;  // "" = the machine's own fully qualified name
  int bandwidth = 0;     // Mbit/s; 0 = not given
  bool open = false;
  std::string verify_url;
  ProbeCliOptions probe;
};

// Each returns the subcommand's exit code, or throws Fatal as the subcommand does.
int run_install_ntp(Context& ctx, const InstallOptions& options);
// `chosen`, when given, receives the selection made (saved or, in a dry run, not).
int run_resolve(Context& ctx, const ResolveOptions& options, Selection* chosen = nullptr);
int run_gen_conf(Context& ctx, const GenConfOptions& options);
int run_restart(Context& ctx, const RestartOptions& options);
int run_check(Context& ctx, const CheckCliOptions& options);
int run_web_redirect(Context& ctx, const WebRedirectOptions& options);
int run_submit(Context& ctx, const SubmitOptions& options);

}  // namespace pooljoin::cli
