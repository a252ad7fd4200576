// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/web_redirect.hpp"

#include <cstdlib>
#include <fstream>

#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/resources.hpp"

using namespace pooljoin;

using test::image;

namespace {

Result<WebRedirectPlan> plan_for(const test::TempDir& root, WebRedirectRequest request = {}) {
  RootedFs fs(root.path());
  test::FakeRunner runner;
  request.generated_at = "2026-11-26T02:26:40Z";
  return plan_web_redirect(detect(fs, runner), fs, *templates_dir(), request);
}

std::vector<std::string> shown(const std::vector<Command>& commands, const test::TempDir& root) {
  std::vector<std::string> lines;
  for (auto command : commands) {
    REQUIRE(command.argv.size() > 2);
    CHECK(command.argv[1] == root.path().string());
    command.argv.erase(command.argv.begin(), command.argv.begin() + 2);
    lines.push_back(display(command));
  }
  return lines;
}

const std::string kDebian = "/etc/os-release=ID=debian\nVERSION_ID=12\n";

// A scripted runner: `failing` (a program name) exits 1 with a message; the rest succeed.
// Fakes whose runner fails the command that contains `failing` as nginx -t would.
std::unique_ptr<test::FakeEffects> effects_failing(const std::filesystem::path& root,
                                                   std::string failing = {}) {
  auto fx = std::make_unique<test::FakeEffects>(root);
  fx->runner.answer = [failing](const Command& command) {
    ProcessResult result;
    if (!failing.empty() && display(command).find(failing) != std::string::npos) {
      result.exit_code = 1;
      result.err =
          "nginx: [emerg] unknown directive \"bogus\"\nnginx: configuration file test failed\n";
    }
    return result;
  };
  return fx;
}

std::vector<std::string> ran(const test::FakeEffects& fx) {
  std::vector<std::string> lines;
  for (const auto& command : fx.runner.recorded())
    lines.push_back(display(command));
  return lines;
}

}  // namespace

TEST_CASE("web-redirect: the target is a plain URL, nothing a config would interpret",
          "[web-redirect]") {
  struct Good {
    const char* in;
    RedirectMode mode;
    const char* out;
  };
  const Good good[] = {
      {"https://www.ntppool.org/", RedirectMode::alias, "https://www.ntppool.org/"},
      {"https://www.ntppool.org", RedirectMode::alias, "https://www.ntppool.org/"},
      {"HTTPS://WWW.NTPPOOL.ORG/en/", RedirectMode::alias, "https://www.ntppool.org/en/"},
      {"http://192.0.2.1:8080/", RedirectMode::alias, "http://192.0.2.1:8080/"},
      {"https://[2001:db8::1]/", RedirectMode::alias, "https://[2001:db8::1]/"},
      {"https://www.ntppool.org/join.html", RedirectMode::rewrite,
       "https://www.ntppool.org/join.html"},
  };
  for (const auto& g : good) {
    INFO(g.in);
    auto parsed = parse_redirect_target(g.in, g.mode);
    REQUIRE(parsed);
    CHECK(*parsed == g.out);
  }
  const char* bad[] = {"https://x.org/;return 200",
                       "https://x.org/ foo",
                       "https://x.org/\"",
                       "https://x.org/$host",
                       "https://x.org/%{HTTP_HOST}",
                       "https://x.org/?q=1",
                       "https://x.org/#top",
                       "https://x.org/{a}",
                       "https://x.org/\nRedirect / http://evil/",
                       "ftp://x.org/",
                       "javascript:alert(1)",
                       "https://bad_host/",
                       "https://x.org:0/",
                       "https://x.org:99999/",
                       "https://[192.0.2.1]/",
                       "https://x.org/a'b",
                       "//x.org/",
                       ""};
  for (const char* b : bad) {
    INFO(b);
    auto parsed = parse_redirect_target(b, RedirectMode::rewrite);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == ExitCode::usage);
    CHECK(parsed.error().message().find('\n') == std::string::npos);
  }
  auto page = parse_redirect_target("https://www.ntppool.org/join.html", RedirectMode::alias);
  REQUIRE_FALSE(page);
  CHECK_THAT(page.error().why, Catch::Contains("with --mode alias it must end with /"));
  CHECK_FALSE(parse_redirect_target(std::string(600, 'a'), RedirectMode::alias));
  // Found by fuzz/cli_values: the address was read up to the NUL, the bytes after it kept.
  using namespace std::string_view_literals;
  auto nul = parse_redirect_target(
      "http://[2001:db8::1\0\x1e"
      "8]/1x/"sv,
      RedirectMode::alias);
  REQUIRE_FALSE(nul);
  CHECK(nul.error().why == "the bracketed host is not an IPv6 address");
}

TEST_CASE("web-redirect: golden files of each web server and mode", "[web-redirect][golden]") {
  auto root = image({kDebian, "/usr/sbin/nginx", "/usr/sbin/apache2"});
  WebRedirectRequest request;
  request.server = WebServer::nginx;
  auto nginx = plan_for(*root, request);
  REQUIRE(nginx);
  test::check_golden("web-nginx.conf", nginx->content);
  request.server = WebServer::apache;
  auto alias = plan_for(*root, request);
  REQUIRE(alias);
  test::check_golden("web-apache-alias.conf", alias->content);
  request.mode = RedirectMode::rewrite;
  auto rewrite = plan_for(*root, request);
  REQUIRE(rewrite);
  test::check_golden("web-apache-rewrite.conf", rewrite->content);
}

TEST_CASE("web-redirect: where each distribution keeps sites, and how it enables them",
          "[web-redirect]") {
  SECTION("Debian nginx: sites-available, a link in sites-enabled, the stock site out") {
    auto root = image({kDebian, "/usr/sbin/nginx", "/etc/nginx/nginx.conf=http {}\n"});
    std::filesystem::create_directories(root->path() / "etc/nginx/sites-enabled");
    std::filesystem::create_symlink("/etc/nginx/sites-available/default",
                                    root->path() / "etc/nginx/sites-enabled/default");
    auto plan = plan_for(*root);
    REQUIRE(plan);
    CHECK(plan->server == WebServer::nginx);
    CHECK(plan->path == "/etc/nginx/sites-available/pooljoin-redirect");
    CHECK(shown(plan->commands, *root) ==
          std::vector<std::string>{"ln -s /etc/nginx/sites-available/pooljoin-redirect "
                                   "/etc/nginx/sites-enabled/pooljoin-redirect",
                                   "rm /etc/nginx/sites-enabled/default"});
    CHECK(shown(plan->undo, *root) ==
          std::vector<std::string>{"ln -s /etc/nginx/sites-available/default "
                                   "/etc/nginx/sites-enabled/default",
                                   "rm /etc/nginx/sites-enabled/pooljoin-redirect"});
    CHECK(plan->disables == std::vector<std::string>{"/etc/nginx/sites-enabled/default"});
    CHECK_FALSE(plan->check);  // no nginx program that runs in this image

    // Run again once it is in place: its own default server is no conflict.
    root->write("etc/nginx/sites-available/pooljoin-redirect", plan->content);
    std::filesystem::remove(root->path() / "etc/nginx/sites-enabled/default");
    // (A relative link: RootedFs follows an absolute one on the host.)
    std::filesystem::create_symlink("../sites-available/pooljoin-redirect",
                                    root->path() / "etc/nginx/sites-enabled/pooljoin-redirect");
    auto again = plan_for(*root);
    REQUIRE(again);
    CHECK(again->commands.empty());
  }
  SECTION("nginx elsewhere: conf.d, or Alpine's http.d") {
    auto rocky = image({"/etc/os-release=ID=rocky\nVERSION_ID=9.4\n", "/usr/sbin/nginx"});
    auto plan = plan_for(*rocky);
    REQUIRE(plan);
    CHECK(plan->path == "/etc/nginx/conf.d/pooljoin-redirect.conf");
    CHECK(plan->commands.empty());
    auto alpine = image({"/etc/os-release=ID=alpine\n", "/usr/sbin/nginx", "/etc/nginx/http.d/x"});
    plan = plan_for(*alpine);
    REQUIRE(plan);
    CHECK(plan->path == "/etc/nginx/http.d/pooljoin-redirect.conf");
  }
  SECTION("another site already claims the default server") {
    auto root =
        image({"/etc/os-release=ID=alpine\n", "/usr/sbin/nginx",
               "/etc/nginx/http.d/default.conf=server {\n  listen 80 default_server;\n}\n"});
    auto plan = plan_for(*root);
    REQUIRE_FALSE(plan);
    CHECK(plan.error().code == ExitCode::check_failed);
    CHECK(plan.error().what ==
          "/etc/nginx/http.d/default.conf already declares the default server of port 80");
  }
  SECTION("Debian Apache: a2enmod, a2ensite, a2dissite, in that order") {
    auto root = image({kDebian, "/usr/sbin/apache2", "/etc/apache2/mods-enabled/alias.load",
                       "/etc/apache2/sites-enabled/000-default.conf"});
    WebRedirectRequest request;
    request.mode = RedirectMode::rewrite;
    auto plan = plan_for(*root, request);
    REQUIRE(plan);
    CHECK(plan->path == "/etc/apache2/sites-available/00-pooljoin-redirect.conf");
    CHECK(shown(plan->commands, *root) ==
          std::vector<std::string>{"a2enmod -q rewrite", "a2ensite -q 00-pooljoin-redirect",
                                   "a2dissite -q 000-default"});
    CHECK(shown(plan->undo, *root) == std::vector<std::string>{"a2ensite -q 000-default",
                                                               "a2dissite -q 00-pooljoin-redirect",
                                                               "a2dismod -q rewrite"});
    // mod_alias is already there.
    request.mode = RedirectMode::alias;
    plan = plan_for(*root, request);
    REQUIRE(plan);
    CHECK(shown(plan->commands, *root).front() == "a2ensite -q 00-pooljoin-redirect");
  }
  SECTION("Apache elsewhere") {
    struct Row {
      const char* os_release;
      const char* program;
      const char* path;
    };
    const Row rows[] = {
        {"ID=rocky\nVERSION_ID=9\n", "/usr/sbin/httpd",
         "/etc/httpd/conf.d/00-pooljoin-redirect.conf"},
        {"ID=fedora\nVERSION_ID=41\n", "/usr/sbin/httpd",
         "/etc/httpd/conf.d/00-pooljoin-redirect.conf"},
        {"ID=opensuse-leap\nVERSION_ID=15.6\n", "/usr/sbin/apache2",
         "/etc/apache2/vhosts.d/00-pooljoin-redirect.conf"},
        {"ID=alpine\n", "/usr/sbin/httpd", "/etc/apache2/conf.d/00-pooljoin-redirect.conf"},
        {"ID=arch\n", "/usr/bin/httpd", "/etc/httpd/conf/extra/00-pooljoin-redirect.conf"},
    };
    for (const auto& row : rows) {
      INFO(row.os_release);
      auto root = image({std::string("/etc/os-release=") + row.os_release, row.program});
      auto plan = plan_for(*root);
      REQUIRE(plan);
      CHECK(plan->server == WebServer::apache);
      CHECK(plan->path == row.path);
      CHECK(plan->commands.empty());
    }
  }
  SECTION("nothing installed, or two and no way to choose") {
    auto none = image({kDebian});
    auto plan = plan_for(*none);
    REQUIRE_FALSE(plan);
    CHECK(plan.error().code == ExitCode::unavailable);
    auto both = image({kDebian, "/usr/sbin/nginx", "/usr/sbin/apache2"});
    plan = plan_for(*both);
    REQUIRE_FALSE(plan);
    CHECK(plan.error().code == ExitCode::usage);
    CHECK_THAT(plan.error().fix, Catch::Contains("--web-server"));
    // The running one wins.
    auto running =
        image({kDebian, "/usr/sbin/nginx", "/usr/sbin/apache2", "/proc/42/comm=apache2\n"});
    plan = plan_for(*running);
    REQUIRE(plan);
    CHECK(plan->server == WebServer::apache);
  }
}

TEST_CASE("web-redirect: a failed check takes everything back", "[web-redirect]") {
  auto root =
      image({kDebian, "/usr/sbin/nginx", "/etc/nginx/sites-available/pooljoin-redirect=old\n"});
  WebRedirectPlan plan;
  plan.server = WebServer::nginx;
  plan.path = "/etc/nginx/sites-available/pooljoin-redirect";
  plan.content = "new\n";
  plan.commands = {{{"ln", "-s", "a", "b"}}, {{"rm", "default"}}};
  plan.undo = {{{"ln", "-s", "x", "default"}}, {{"rm", "b"}}};
  plan.check = Command{{"nginx", "-t"}};

  auto failing = effects_failing(root->path(), "nginx -t");
  auto outcome = apply_web_redirect(plan, failing->effects());
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().code == ExitCode::check_failed);
  CHECK(outcome.error().what == "nginx rejects the configuration with the redirect");
  CHECK_THAT(outcome.error().details, Catch::Contains("unknown directive"));
  CHECK(ran(*failing) ==
        std::vector<std::string>{"ln -s a b", "rm default", "nginx -t", "ln -s x default", "rm b"});
  // The previous file is back.
  CHECK(test::read_text(root->path() / "etc/nginx/sites-available/pooljoin-redirect") == "old\n");

  // A new file is removed again.
  plan.path = "/etc/nginx/conf.d/pooljoin-redirect.conf";
  auto failing_again = effects_failing(root->path(), "nginx -t");
  CHECK_FALSE(apply_web_redirect(plan, failing_again->effects()));
  CHECK_FALSE(std::filesystem::exists(root->path() / "etc/nginx/conf.d/pooljoin-redirect.conf"));

  auto fine = effects_failing(root->path());
  auto done = apply_web_redirect(plan, fine->effects());
  REQUIRE(done);
  CHECK(done->written.changed);
  CHECK(test::read_text(root->path() / "etc/nginx/conf.d/pooljoin-redirect.conf") == "new\n");
}
