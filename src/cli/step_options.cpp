// SPDX-License-Identifier: Apache-2.0
// Each step's options, declared once: its subcommand and `join` both add them from here.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "options.hpp"
#include "steps.hpp"
#include "validators.hpp"
#include <fmt/format.h>

#include "pooljoin/fs.hpp"
#include "pooljoin/ntp_config.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin::cli {
namespace {

// Below 10 ms only this machine itself could answer: every real server would look silent.
constexpr std::chrono::milliseconds kMinProbeTimeout{10};
// A reply later than a minute is no reply, and a pause of more than a minute between queries
// makes a probe nobody waits for (the monitors wait 3 s and pause 2 s).
constexpr std::chrono::milliseconds kMaxProbeWait{60'000};
// How long a restarted daemon may take to answer: an init script may wait for a slow stop.
constexpr std::chrono::milliseconds kMinAnswerTimeout{1000};
constexpr std::chrono::milliseconds kMaxAnswerTimeout{600'000};

// The operator's hosts from --candidate and --candidates-file, each a host name or an address.
std::vector<std::string> user_hosts(const ResolveOptions& options) {
  std::vector<std::string> hosts = options.candidates;  // checked when parsed
  if (options.candidates_file.empty()) return hosts;
  const std::string& file = options.candidates_file;
  auto text = read_host_file(file, kReadCap, true);
  if (!text) {
    throw Fatal(ExitCode::usage, fmt::format("--candidates-file: {}", text.error().what),
                text.error().why);
  }
  std::istringstream in(*text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    auto begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    line = line.substr(begin, line.find_last_not_of(" \t\r") - begin + 1);
    if (!IpAddress::parse(line) && !is_valid_hostname(line)) {
      // The line is not quoted: the file may be one that holds secrets (/etc/shadow).
      throw Fatal(ExitCode::usage,
                  fmt::format("--candidates-file {} line {}: not a host name or an IP address",
                              printable(file), number),
                  "", "give one host name or address per line (# starts a comment)");
    }
    hosts.push_back(line);
  }
  return hosts;
}

}  // namespace

void add_daemon_option(CLI::App& app, std::optional<Daemon>& daemon, const std::string& what) {
  add_choice<Daemon>(app, "--daemon", daemon,
                     {{"ntpsec", Daemon::ntpsec}, {"ntp", Daemon::ntp}, {"chrony", Daemon::chrony}},
                     what);
}

void add_probe_options(CLI::App& app, ProbeOptions& probe) {
  app.add_option("--samples", probe.samples, "Queries per address (the monitors send 3)")
      ->check(CLI::Range(1, 20));
  add_duration(app, "--interval", probe.interval,
               "Pause between the queries to one address (the monitors wait 2s; at most 1m)",
               std::chrono::milliseconds(0), kMaxProbeWait);
  add_duration(app, "--timeout", probe.timeout,
               "How long to wait for each reply (the monitors wait 3s; 10ms to 1m)",
               kMinProbeTimeout, kMaxProbeWait);
}

void add_resolve_options(CLI::App& app, ResolveOptions& options) {
  app.add_option("--country", options.country,
                 "Country whose pool zone to use: ISO 3166 code, the pool's zone name (uk) or "
                 "name (default: from the system's time zone)")
      ->transform(country_validator())
      ->type_name("CC");
  app.add_option("--servers", options.servers,
                 "How many upstream servers to select (the pool asks 4 to 7)")
      ->check(CLI::Range(kMinUpstreams, kMaxUpstreams));
  app.add_option("--candidate", options.candidates,
                 "Also consider this server (host name or address; a private address is taken "
                 "as a server on the local network); repeatable")
      ->check(host_validator())
      ->type_name("HOST");
  app.add_option("--candidates-file", options.candidates_file,
                 "Also consider the servers in FILE, one per line (# comments)")
      ->type_name("FILE");
  app.add_option_function<std::vector<std::string>>(
         "--dns-server",
         [&options](const std::vector<std::string>& values) {
           options.dns_servers.clear();
           for (const auto& value : values)
             options.dns_servers.push_back(*parse_endpoint(value, 53));
         },
         "Ask this DNS server instead of /etc/resolv.conf; repeatable")
      ->check(endpoint_validator())
      ->type_name("ADDR[:PORT]");
  app.add_option_function<int>(
         "--dns-timeout",
         [&options](int ms) { options.dns_timeout = std::chrono::milliseconds(ms); },
         "Milliseconds a DNS server has to answer each try")
      ->type_name("MS")
      ->check(CLI::Range(100, 30000).description(""))
      ->default_str(std::to_string(options.dns_timeout.count()));
  app.add_option("--max-stratum", options.max_stratum,
                 "Reject upstreams above this stratum (3 keeps this server at stratum 4 or better)")
      ->check(CLI::Range(1, 15));
  app.add_flag("--no-probe", options.no_probe, "Select without measuring the servers over NTP");
  app.add_flag("--no-pool", options.no_pool, "Do not take candidates from the pool's zones");
  app.add_flag("--no-catalogue", options.no_catalogue,
               "Do not take candidates from the built-in catalogue");
}

ResolveRequest resolve_request(const ResolveOptions& options) {
  ResolveRequest request;
  request.country = options.country;
  request.servers = options.servers;
  request.hosts = user_hosts(options);
  request.dns_servers = options.dns_servers;
  request.dns_timeout = options.dns_timeout;
  request.max_stratum = options.max_stratum;
  request.probe = !options.no_probe;
  request.probe_options = options.probe;
  request.sources.pool = !options.no_pool;
  request.sources.catalogue = !options.no_catalogue;
  return request;
}

void add_gen_conf_options(CLI::App& app, GenConfOptions& options) {
  app.add_option_function<std::vector<std::string>>(
         "--upstream",
         [&options](const std::vector<std::string>& values) {
           options.upstreams.clear();
           for (const auto& value : values)
             options.upstreams.push_back(*parse_upstream(value));
         },
         "An upstream server by address (repeat 4 to 7 times, or separate with commas; a "
         "private address is a server on the local network); default: the selection saved by "
         "`pooljoin resolve`")
      ->type_name("ADDR")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& value) {
            auto parsed = parse_upstream(value);
            return parsed ? std::string() : parsed.error().message();
          },
          ""));
  app.add_flag("--force", options.force, "Accept fewer than 4 or more than 7 upstream servers");
  app.add_flag("--no-daemon-check", options.no_daemon_check,
               "Write the config without having the daemon check it first");
  app.add_flag("--fresh", options.fresh,
               "Keep none of the previous config's own lines (statistics, keys, NTS, reference "
               "clocks, interfaces): by default they are carried into the new file");
}

void add_restart_options(CLI::App& app, RestartOptions& options) {
  add_choice<InitSystem>(app, "--init", options.init,
                         {{"systemd", InitSystem::systemd},
                          {"sysvinit", InitSystem::sysvinit},
                          {"openrc", InitSystem::openrc},
                          {"runit", InitSystem::runit}},
                         "The init system: auto (detected), systemd, sysvinit, openrc or runit");
  add_duration(app, "--answer-timeout", options.answer_timeout,
               "How long the restarted daemon has to answer on 127.0.0.1:123 (1s to 10m)",
               kMinAnswerTimeout, kMaxAnswerTimeout);
}

RestartRequest restart_request(const RestartOptions& options) {
  RestartRequest request;
  request.daemon = options.daemon;
  request.init = options.init;
  // Whole seconds, rounded up: the daemon never gets less than asked for.
  request.answer_timeout = std::chrono::ceil<std::chrono::seconds>(options.answer_timeout);
  return request;
}

CLI::Option* add_check_options(CLI::App& app, CheckWaitOptions& options) {
  app.add_option("--reference", options.references,
                 "Measure this machine's clock against this server (HOST, HOST:PORT); "
                 "repeatable, three or more (default: the daemon's usable upstreams, else the "
                 "servers resolve chose)")
      ->check(server_validator())
      ->type_name("HOST");
  return add_duration(app, "--wait", options.wait,
                      "First wait up to DURATION (e.g. 5m) for the daemon to synchronise",
                      std::chrono::milliseconds(0), std::chrono::hours(24 * 7));
}

void add_web_redirect_options(CLI::App& app, WebRedirectOptions& options) {
  add_choice<WebServer>(app, "--web-server", options.server,
                        {{"nginx", WebServer::nginx}, {"apache", WebServer::apache}},
                        "Which web server: auto (the one installed), nginx or apache");
  add_choice<RedirectMode>(
      app, "--mode", options.mode,
      {{"alias", RedirectMode::alias}, {"rewrite", RedirectMode::rewrite}},
      "Apache's module: alias (Redirect permanent /) or rewrite (RewriteRule)");
  app.add_option("--target", options.target, "Where HTTP requests go")
      ->type_name("URL")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            // The strictest mode's rule (a path ending in /) waits for --mode, in the plan.
            auto target = parse_redirect_target(value, RedirectMode::rewrite);
            return target ? std::string() : target.error().why;
          },
          ""));
}

void add_submit_options(CLI::App& app, SubmitOptions& options) {
  app.add_option("--hostname", options.hostname,
                 "The server's name, entered on the site instead of the addresses when it "
                 "resolves to exactly them (default: this machine's fully qualified name)")
      ->check(hostname_validator())
      ->type_name("NAME");
  app.add_option("--bandwidth", options.bandwidth,
                 "The server's connection speed in Mbit/s, for the recommended net speed")
      ->type_name("MBIT")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--open", options.open,
               "Open the pool's add-server page in the desktop's browser (xdg-open)");
  app.add_option("--verify-url", options.verify_url,
                 "Prove ownership: request the site's validation URL from each of the server's "
                 "own addresses (of the URL's family when its host is an address)")
      ->check(url_validator())
      ->type_name("URL");
  app.add_option("--verify-url4", options.verify_url4,
                 "The site's validation URL for IPv4: requested from each IPv4 address")
      ->check(url_validator())
      ->type_name("URL");
  app.add_option("--verify-url6", options.verify_url6,
                 "The site's validation URL for IPv6: requested from each IPv6 address")
      ->check(url_validator())
      ->type_name("URL");
}

SubmitRequest submit_request(const Context& ctx, const SubmitOptions& options,
                             const ProbeOptions& probe) {
  SubmitRequest request;
  request.hostname = options.hostname;
  if (options.bandwidth > 0) request.bandwidth_mbit = options.bandwidth;
  request.verify_url = options.verify_url;
  request.verify_url4 = options.verify_url4;
  request.verify_url6 = options.verify_url6;
  request.api_base = ctx.options.api_base;
  request.probe = probe;
  return request;
}

void add_join_options(CLI::App& app, JoinOptions& o) {
  add_daemon_option(app, o.install.daemon,
                    "Which daemon, for every step: auto (keep an installed one, else pooljoin's "
                    "pick for the distribution), ntpsec, ntp or chrony");
  add_resolve_options(app, o.resolve);
  o.servers = app.get_option("--servers");
  add_probe_options(app, o.resolve.probe);
  app.add_flag("--refresh", o.refresh,
               "Choose the upstream servers again even when a selection is saved");
  add_gen_conf_options(app, o.gen_conf);
  add_restart_options(app, o.restart);
  add_firewall_options(app, o.firewall);
  add_check_options(app, o.check);
  app.add_flag("--web-redirect", o.web_redirect,
               "Also redirect HTTP on this server to the pool's site");
  add_web_redirect_options(app, o.redirect);
  add_submit_options(app, o.submit);
}

std::vector<std::string> resume_words(const JoinOptions& o) {
  std::vector<std::string> words;
  for (const auto& host : o.resolve.candidates)
    words.insert(words.end(), {"--candidate", host});
  if (!o.resolve.candidates_file.empty())
    words.insert(words.end(), {"--candidates-file", o.resolve.candidates_file});
  for (const auto& upstream : o.gen_conf.upstreams)
    words.insert(words.end(), {"--upstream", upstream.address});
  if (o.gen_conf.fresh) words.push_back("--fresh");
  return words;
}

}  // namespace pooljoin::cli
