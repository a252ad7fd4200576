// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/web_redirect.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "render_template.hpp"
#include <fmt/format.h>

#include "pooljoin/install.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// Long enough for any real URL, short enough to keep a config line readable.
constexpr std::size_t kMaxTargetLength = 512;
// Checking the web server's whole configuration takes well under a second.
constexpr auto kCheckTimeout = std::chrono::seconds(60);

constexpr const char* kSiteName = "pooljoin-redirect";
// Apache answers unknown names with the first virtual host of *:80: this sorts before
// Debian's 000-default.conf.
constexpr const char* kApacheSiteName = "00-pooljoin-redirect";

bool is_path_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '/';
}

bool running(const RootedFs& fs, std::initializer_list<const char*> names) {
  for (const auto& entry : fs.list("/proc")) {
    if (entry.empty() || !std::all_of(entry.begin(), entry.end(), ::isdigit)) continue;
    auto comm = fs.read("/proc/" + entry + "/comm");
    if (!comm) continue;
    std::string name = comm->substr(0, comm->find('\n'));
    for (const char* wanted : names) {
      if (name == wanted) return true;
    }
  }
  return false;
}

// Enabled nginx files that already declare the default server of port 80 (nginx refuses two).
std::vector<std::string> nginx_default_servers(const RootedFs& fs, const std::string& include_dir,
                                               const std::vector<std::string>& skip) {
  std::vector<std::string> files{"/etc/nginx/nginx.conf"};
  for (const auto& name : fs.list(include_dir))
    files.push_back(include_dir + "/" + name);
  std::vector<std::string> found;
  for (const auto& file : files) {
    if (std::find(skip.begin(), skip.end(), file) != skip.end()) continue;
    auto text = fs.read(file);
    if (!text) continue;
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
      line = line.substr(0, line.find('#'));
      std::istringstream words(line);
      std::string keyword, address, rest;
      if (!(words >> keyword >> address) || keyword != "listen") continue;
      bool port80 = address == "80" || address == "80;" ||
                    (address.size() > 3 && address.compare(address.size() - 3, 3, ":80") == 0);
      bool is_default = line.find("default_server") != std::string::npos;
      if (port80 && is_default) {
        found.push_back(file);
        break;
      }
    }
  }
  return found;
}

}  // namespace

std::string_view to_string(WebServer server) {
  return server == WebServer::nginx ? "nginx" : "apache";
}

Result<std::string> parse_redirect_target(std::string_view url, RedirectMode mode) {
  auto refuse = [&](std::string why) {
    return fail(ExitCode::usage, fmt::format("--target \"{}\" cannot be used", printable(url)),
                std::move(why), fmt::format("give a plain http(s) URL such as {}", kPoolSite));
  };
  if (url.size() > kMaxTargetLength) {
    return refuse(fmt::format("it is longer than {} characters", kMaxTargetLength));
  }
  std::string text(url);
  std::string scheme;
  for (const char* s : {"https://", "http://"}) {
    if (lower(text.substr(0, std::string_view(s).size())) == s) scheme = s;
  }
  if (scheme.empty()) return refuse("it does not start with https:// or http://");
  std::string rest = text.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);

  std::string host = authority, port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return refuse("its IPv6 address has no closing bracket");
    host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return refuse("unexpected characters after the address");
      port = after.substr(1);
      has_port = true;
    }
    auto ip = IpAddress::parse(host);
    if (!ip || ip->is_v4()) return refuse("the bracketed host is not an IPv6 address");
  } else {
    if (auto colon = authority.find(':'); colon != std::string::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (!is_valid_hostname(host) && !IpAddress::parse(host)) {
      return refuse("its host is not a valid hostname or address");
    }
  }
  if (has_port) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return refuse("its port is not a number from 1 to 65535");
    }
  }
  if (!std::all_of(path.begin(), path.end(), is_path_char)) {
    return refuse(
        "its path may hold only letters, digits and - . _ ~ / (no query, quotes, spaces, $, %, "
        "; or braces)");
  }
  if (mode == RedirectMode::alias && path.back() != '/') {
    return refuse(
        "with --mode alias it must end with /: Redirect appends the request's path to it (use "
        "--mode rewrite to send every request to one page)");
  }
  return lower(scheme) + lower(authority) + path;
}

Result<WebRedirectPlan> plan_web_redirect(const SystemFacts& facts, const RootedFs& fs,
                                          const std::filesystem::path& templates_dir,
                                          const WebRedirectRequest& request) {
  const Family family = facts.distro.family;
  if (family == Family::unknown) {
    return fail(ExitCode::unsupported, "unsupported distribution",
                facts.distro.id.empty() ? unreadable_reason(facts.distro) : "ID=" + facts.distro.id,
                "set up the redirect by hand: see templates/*-redirect.conf.mustache");
  }
  const bool has_nginx = has_program(fs, "nginx");
  const bool has_apache = has_program(fs, "apache2") || has_program(fs, "httpd");
  WebRedirectPlan plan;
  plan.mode = request.mode;
  plan.target = request.target;
  if (request.server) {
    plan.server = *request.server;
    if (plan.server == WebServer::nginx ? !has_nginx : !has_apache) {
      return fail(ExitCode::unavailable, fmt::format("{} is not installed", to_string(plan.server)),
                  fmt::format("no {} program under {}",
                              plan.server == WebServer::nginx ? "nginx" : "apache2 or httpd",
                              fs.root().string()),
                  "install it first, or choose the web server that is installed");
    }
  } else if (has_nginx && has_apache) {
    bool nginx_runs = running(fs, {"nginx"});
    bool apache_runs = running(fs, {"apache2", "httpd"});
    if (nginx_runs == apache_runs) {
      return fail(ExitCode::usage, "both nginx and Apache are installed",
                  nginx_runs ? "both are running" : "neither is running",
                  "choose one with --web-server nginx or --web-server apache");
    }
    plan.server = nginx_runs ? WebServer::nginx : WebServer::apache;
  } else if (has_nginx || has_apache) {
    plan.server = has_nginx ? WebServer::nginx : WebServer::apache;
  } else {
    return fail(ExitCode::unavailable, "no web server is installed",
                "found neither nginx nor Apache (apache2, httpd)",
                "the redirect is optional: install nginx or Apache first if you want it");
  }

  kainjow::mustache::data data;
  data.set("generated_at", request.generated_at);
  data.set("target", request.target);
  data.set("alias", mustache_bool(request.mode == RedirectMode::alias));
  data.set("rewrite", mustache_bool(request.mode == RedirectMode::rewrite));

  if (plan.server == WebServer::nginx) {
    auto content = render_template(templates_dir, "nginx-redirect.conf.mustache", data);
    if (!content) return tl::unexpected(content.error());
    plan.content = std::move(*content);
    std::string include_dir;
    if (family == Family::debian) {
      plan.path = std::string("/etc/nginx/sites-available/") + kSiteName;
      include_dir = "/etc/nginx/sites-enabled";
      const std::string link = include_dir + "/" + kSiteName;
      if (!fs.read_link(link)) {
        plan.commands.push_back({{"ln", "-s", plan.path, link}});
        plan.undo.push_back({{"rm", link}});
      }
      // Debian's stock site claims the default server; it goes (the page it shows stays in
      // sites-available).
      const std::string stock = include_dir + "/default";
      if (auto target = fs.read_link(stock)) {
        plan.commands.push_back({{"rm", stock}});
        plan.undo.insert(plan.undo.begin(), Command{{"ln", "-s", *target, stock}});
        plan.disables.push_back(stock);
      }
    } else {
      include_dir = family == Family::alpine && fs.is_directory("/etc/nginx/http.d")
                        ? "/etc/nginx/http.d"
                        : "/etc/nginx/conf.d";
      plan.path = include_dir + "/" + kSiteName + ".conf";
      if (family == Family::arch) {
        plan.notes.push_back(
            "Arch's nginx.conf includes no directory by default: add `include conf.d/*.conf;` "
            "to its http block");
      }
    }
    // Ours (the file, and its link in sites-enabled) and the stock site it disables do not count.
    std::vector<std::string> skip = plan.disables;
    skip.push_back(plan.path);
    skip.push_back(include_dir + "/" + kSiteName);
    auto claims = nginx_default_servers(fs, include_dir, skip);
    if (!claims.empty()) {
      return fail(ExitCode::check_failed,
                  fmt::format("{} already declares the default server of port 80", claims.front()),
                  "nginx refuses two, and the redirect must answer every request",
                  "remove `default_server` from its listen lines (or disable that site) and run "
                  "again");
    }
    if (auto nginx = find_program(fs, "nginx")) plan.check = in_root(fs, {{*nginx, "-t"}});
  } else {
    auto content = render_template(templates_dir, "apache-redirect.conf.mustache", data);
    if (!content) return tl::unexpected(content.error());
    plan.content = std::move(*content);
    const std::string file = std::string(kApacheSiteName) + ".conf";
    switch (family) {
      case Family::debian: {
        plan.path = "/etc/apache2/sites-available/" + file;
        const char* module = request.mode == RedirectMode::alias ? "alias" : "rewrite";
        if (!fs.exists(fmt::format("/etc/apache2/mods-enabled/{}.load", module))) {
          plan.commands.push_back({{"a2enmod", "-q", module}});
          plan.undo.push_back({{"a2dismod", "-q", module}});
        }
        if (!fs.exists("/etc/apache2/sites-enabled/" + file)) {
          plan.commands.push_back({{"a2ensite", "-q", kApacheSiteName}});
          plan.undo.insert(plan.undo.begin(), Command{{"a2dissite", "-q", kApacheSiteName}});
        }
        if (fs.exists("/etc/apache2/sites-enabled/000-default.conf")) {
          // Debian's stock site would still answer requests for the machine's own name.
          plan.commands.push_back({{"a2dissite", "-q", "000-default"}});
          plan.undo.insert(plan.undo.begin(), Command{{"a2ensite", "-q", "000-default"}});
          plan.disables.push_back("/etc/apache2/sites-enabled/000-default.conf");
        }
        break;
      }
      case Family::fedora:
      case Family::rhel:
        plan.path = "/etc/httpd/conf.d/" + file;
        break;
      case Family::suse:
        plan.path = "/etc/apache2/vhosts.d/" + file;
        break;
      case Family::alpine:
        plan.path = "/etc/apache2/conf.d/" + file;
        break;
      case Family::arch:
        plan.path = "/etc/httpd/conf/extra/" + file;
        plan.notes.push_back(fmt::format(
            "Arch's httpd.conf includes no directory by default: add `Include conf/extra/{}` "
            "to /etc/httpd/conf/httpd.conf",
            file));
        break;
      case Family::unknown:
        break;
    }
    for (const char* program : {"apachectl", "apache2ctl"}) {
      if (auto found = find_program(fs, program)) {
        plan.check = in_root(fs, {{*found, "-t"}});
        break;
      }
    }
    if (!plan.check) {
      if (auto httpd = find_program(fs, "httpd")) plan.check = in_root(fs, {{*httpd, "-t"}});
    }
  }
  for (auto& command : plan.commands)
    command = in_root(fs, std::move(command));
  for (auto& command : plan.undo)
    command = in_root(fs, std::move(command));
  if (!plan.check) {
    plan.notes.push_back(fmt::format("no {} program found to check the configuration with",
                                     plan.server == WebServer::nginx ? "nginx" : "apachectl"));
  }
  return plan;
}

bool web_server_installed(const RootedFs& fs) {
  return has_program(fs, "nginx") || has_program(fs, "apache2") || has_program(fs, "httpd");
}

Result<WebRedirectOutcome> apply_web_redirect(const WebRedirectPlan& plan, Effects& effects,
                                              const StepEvents& events) {
  const RootedFs& fs = effects.fs;
  ProcessRunner& runner = effects.runner;
  WebRedirectOutcome outcome;
  WriteOptions write;
  write.now = effects.clock.now();
  auto written = fs.write_atomic(plan.path, plan.content, write);
  if (!written) return tl::unexpected(written.error());
  outcome.written = *written;
  const bool created = written->changed && written->backup.empty();

  // Puts everything back as it was; `ran` commands of the plan ran.
  auto undo = [&](std::size_t ran) {
    if (ran > 0) {
      for (const auto& command : plan.undo) {
        events.on_command(command);
        (void)runner.run(command, {kCheckTimeout});
      }
    }
    if (created) {
      std::error_code ec;
      std::filesystem::remove(fs.host(plan.path), ec);
    } else if (!written->backup.empty()) {
      (void)fs.restore(plan.path, written->backup);
    }
  };

  for (std::size_t i = 0; i < plan.commands.size(); ++i) {
    const auto& command = plan.commands[i];
    events.on_command(command);
    auto ran = runner.run(command, {kCheckTimeout});
    if (!ran || !ran->ok()) {
      undo(i);
      if (!ran) return tl::unexpected(ran.error());
      return fail(ExitCode::check_failed, fmt::format("`{}` failed", display(command)),
                  ran->status_text(), "nothing was changed; fix the cause shown below",
                  ran->output_tail());
    }
  }
  if (plan.check) {
    events.on_command(*plan.check);
    auto checked = runner.run(*plan.check, {kCheckTimeout});
    if (!checked || !checked->ok()) {
      undo(plan.commands.size());
      if (!checked) return tl::unexpected(checked.error());
      return fail(
          ExitCode::check_failed,
          fmt::format("{} rejects the configuration with the redirect", to_string(plan.server)),
          fmt::format("`{}` ended with {}", display(*plan.check), checked->status_text()),
          "the redirect was taken back out and the previous files restored; fix the "
          "cause shown below",
          checked->output_tail());
    }
    outcome.checked = checked->output_tail(3);
  }
  return outcome;
}

}  // namespace pooljoin
