// SPDX-License-Identifier: Apache-2.0
// `web-redirect` (optional step of the guide) as plan, then apply: an nginx server block or an
// Apache virtual host that sends every HTTP request to the pool's site, written where the
// distribution keeps sites, enabled the distribution's way, and checked by the web server.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/detect.hpp"
#include "pooljoin/effects.hpp"
#include "pooljoin/error.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/process.hpp"

namespace pooljoin {

enum class WebServer { nginx, apache };
std::string_view to_string(WebServer server);

// alias: mod_alias `Redirect permanent / TARGET` (the request's path is appended to the target);
// rewrite: mod_rewrite, every request to the target itself. nginx always does the latter.
enum class RedirectMode { alias, rewrite };

inline constexpr std::string_view kPoolSite = "https://www.ntppool.org/";

// The target URL, strictly: http or https, a hostname or IP address, an optional port, a path of
// letters, digits and - . _ ~ / only (no query, no quotes, spaces, $, %, ; or braces that a web
// server's config would interpret); "https://host" becomes "https://host/". With `mode` alias
// the path must end with "/". ExitCode::usage naming --target.
Result<std::string> parse_redirect_target(std::string_view url, RedirectMode mode);

struct WebRedirectRequest {
  std::optional<WebServer> server;  // nullopt: the one installed (the running one of two)
  RedirectMode mode = RedirectMode::alias;
  std::string target{kPoolSite};  // from parse_redirect_target
  std::string generated_at;       // RFC 3339 UTC, for the header
};

struct WebRedirectPlan {
  WebServer server = WebServer::nginx;
  RedirectMode mode = RedirectMode::alias;
  std::string target;
  std::string path;               // the file to write (system path)
  std::string content;            // its content
  std::vector<Command> commands;  // enable the site (and modules), disable the stock default site
  std::vector<Command> undo;      // reverses `commands` when the check fails, in this order
  std::optional<Command> check;   // `nginx -t` / `apachectl -t`; nullopt when not installed
  std::vector<std::string> disables;  // stock default sites the plan disables (worth asking)
  std::vector<std::string> notes;
};

// Decides from the facts and the files under the root. ExitCode::unavailable when no web server
// is installed, ExitCode::usage when two are and neither or both run, ExitCode::unsupported on
// an unknown distribution, ExitCode::check_failed when another enabled site already claims the
// default server on port 80 (nginx refuses two).
Result<WebRedirectPlan> plan_web_redirect(const SystemFacts& facts, const RootedFs& fs,
                                          const std::filesystem::path& templates_dir,
                                          const WebRedirectRequest& request);

// Whether nginx or Apache is installed under the root.
bool web_server_installed(const RootedFs& fs);

struct WebRedirectOutcome {
  WriteOutcome written;
  std::string checked;  // the check's words ("syntax is ok"); empty when there was no check
};

// Writes the file (atomically, with a backup), runs the commands, then the check. When a command
// or the check fails, the commands run so far are undone, the previous file is put back (or the
// new one removed), and the error carries the web server's words (ExitCode::check_failed).
Result<WebRedirectOutcome> apply_web_redirect(const WebRedirectPlan& plan, Effects& effects,
                                              const StepEvents& events = {});

}  // namespace pooljoin
