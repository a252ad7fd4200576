// SPDX-License-Identifier: Apache-2.0
// `join` through its own command line, on a system image, with every effect faked: the facts
// are gathered once, and each step's outcome reaches the next in memory.
#include <iostream>
#include <sstream>

#include <unistd.h>

#include "commands.hpp"
#include "context.hpp"
#include "fakes.hpp"
#include "test_support.hpp"
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "pooljoin/selection.hpp"

using namespace pooljoin;

namespace {

// What a run printed, and how it ended.
struct JoinRun {
  int code = -1;
  nlohmann::json document;  // stdout, parsed (--json)
  std::string err;
};

// `pooljoin --json --yes [ARGS...] join [JOIN_ARGS...]` on the fakes, unattended.
JoinRun run_join(test::FakeEffects& fx, std::vector<std::string> join_args,
                 cli::GlobalOptions options = {}) {
  options.json = true;
  options.yes = true;
  options.root = fx.fs().root().string();
  CLI::App app{"pooljoin"};
  CLI::App* sub = app.add_subcommand("join");
  cli::Action action = cli::add_join(*sub);
  std::vector<std::string> args{"join"};
  args.insert(args.end(), join_args.begin(), join_args.end());
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);

  cli::Console console(options);
  cli::Prompter prompter(true, false);
  cli::Context ctx(options, console, prompter, fx.effects());
  std::ostringstream out, err;
  auto* saved_out = std::cout.rdbuf(out.rdbuf());
  auto* saved_err = std::cerr.rdbuf(err.rdbuf());
  JoinRun run;
  try {
    run.code = action(ctx);
  } catch (const Fatal& fatal) {
    run.code = to_int(fatal.error().code);
    err << fatal.error().message();
  }
  std::cout.rdbuf(saved_out);
  std::cerr.rdbuf(saved_err);
  run.err = err.str();
  if (!out.str().empty()) run.document = nlohmann::json::parse(out.str());
  return run;
}

std::string statuses(const nlohmann::json& document) {
  std::string out;
  for (const auto& step : document["steps"]) {
    out += (out.empty() ? "" : " ") + step["step"].get<std::string>() + "=" +
           step["status"].get<std::string>();
  }
  return out;
}

// A Debian 12 image with apt-get and systemd, and nothing else.
std::unique_ptr<test::TempDir> debian_image() {
  return test::image({"/etc/os-release=ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n",
                      "/usr/bin/apt-get", "/usr/lib/systemd/systemd"});
}

// The pool's German and European zones: each name two servers, each in a /24 of its own, and
// every server answering at stratum 2 (the nearer, the lower its delay).
void serve_zone(test::FakeEffects& fx) {
  int network = 10;
  for (const char* zone : {"de", "europe"}) {
    for (int i = 0; i < 4; ++i) {
      std::string name = std::to_string(i) + "." + zone + ".pool.ntp.org";
      NameAnswer answer;
      answer.a.status = DnsStatus::ok;
      answer.aaaa.status = DnsStatus::nodata;
      for (int k = 0; k < 2; ++k, ++network) {
        answer.a.addresses.push_back(
            *IpAddress::parse("185.255." + std::to_string(network) + ".1"));
      }
      fx.dns.table[name] = answer;
    }
  }
  fx.ntp.answer = [](const std::vector<ProbeTarget>& targets, const ProbeOptions& options,
                     const std::vector<QueryRequest>& queries) -> Result<ProbeBatch> {
    ProbeBatch batch;
    for (const auto& target : targets) {
      ProbeReport report;
      report.target = target;
      NtpSample sample;
      sample.fault = NtpFault::none;
      sample.stratum = 2;
      sample.leap = Leap::none;
      sample.delay_s = 0.001 * target.address.bytes()[2];
      report.samples.assign(static_cast<std::size_t>(options.samples), sample);
      report.best = sample;
      report.valid = options.samples;
      batch.probes.push_back(report);
    }
    batch.queries.resize(queries.size());
    return batch;
  };
}

}  // namespace

TEST_CASE("join gathers the facts once and hands each step's outcome to the next", "[join]") {
  POOLJOIN_NEEDS_ROOT("join changes an image");
  auto root = debian_image();
  test::FakeEffects fx(root->path());
  serve_zone(fx);
  // The package manager installs ntpsec and, to show that nothing detects the system again, takes
  // os-release with it: a step that looked again would see no distribution at all.
  fx.runner.answer = [&root](const Command& command) {
    if (std::find(command.argv.begin(), command.argv.end(), "install") != command.argv.end()) {
      root->write("usr/sbin/ntpd", "");
      root->write("usr/sbin/ntpkeygen", "");
      std::filesystem::remove(root->path() / "etc/os-release");
    }
    return ProcessResult{};
  };
  JoinRun run = run_join(fx, {"--country", "de", "--no-catalogue", "--no-daemon-check"});
  INFO(run.err);
  REQUIRE(run.code == 0);
  CHECK(statuses(run.document) ==
        "detect=done install-ntp=done resolve=done gen-conf=done restart=done firewall=unchanged "
        "check=skipped "
        "web-redirect=skipped submit=skipped");
  // The install's outcome (ntpsec there now) reached restart, which enabled it.
  std::vector<std::string> ran;
  for (const auto& command : fx.runner.recorded())
    ran.push_back(display(command));
  const std::string chroot = "chroot " + root->path().string() + " ";
  CHECK(std::count(ran.begin(), ran.end(), chroot + "systemctl enable ntpsec") == 1);
  // resolve's selection reached gen-conf in memory: the config has its five servers.
  const std::string config = test::read_text(root->path() / "etc/ntpsec/ntp.conf");
  CHECK(std::count(config.begin(), config.end(), '\n') > 10);
  auto selection =
      selection_from_json(test::read_text(root->path() / "var/lib/pooljoin/selection.json"));
  REQUIRE(selection);
  REQUIRE(selection->servers.size() == 5);
  for (const auto& server : selection->servers)
    CHECK(config.find("server " + server.address.to_string() + " iburst") != std::string::npos);
  // DNS was asked once, and the servers measured once.
  CHECK(fx.dns.lookups == 1);
  CHECK(fx.ntp.exchanges == 1);
  CHECK(run.document["stopped_at"].is_null());
  CHECK_FALSE(run.document.contains("error"));
}

TEST_CASE("join --servers 7 after a saved selection of 5 selects again", "[join]") {
  POOLJOIN_NEEDS_ROOT("join changes an image");
  auto root = debian_image();
  root->write("usr/sbin/ntpd", "");
  root->write("usr/sbin/ntpkeygen", "");
  test::FakeEffects fx(root->path());
  serve_zone(fx);
  JoinRun first = run_join(fx, {"--country", "de", "--no-catalogue", "--no-daemon-check"});
  INFO(first.err);
  REQUIRE(first.code == 0);
  auto saved = [&] {
    return selection_from_json(test::read_text(root->path() / "var/lib/pooljoin/selection.json"))
        ->servers.size();
  };
  CHECK(saved() == 5);
  // The same again: the saved selection stands, nothing is measured.
  JoinRun again = run_join(fx, {"--country", "de", "--no-catalogue", "--no-daemon-check"});
  CHECK(again.code == 0);
  CHECK(statuses(again.document).find("resolve=unchanged gen-conf=unchanged") != std::string::npos);
  CHECK(fx.ntp.exchanges == 1);
  // Seven asked for: selected again, written, restarted.
  JoinRun seven =
      run_join(fx, {"--country", "de", "--no-catalogue", "--no-daemon-check", "--servers", "7"});
  INFO(seven.err);
  REQUIRE(seven.code == 0);
  CHECK(statuses(seven.document).find("resolve=done gen-conf=done restart=done") !=
        std::string::npos);
  CHECK(saved() == 7);
  const std::string config = test::read_text(root->path() / "etc/ntpsec/ntp.conf");
  std::size_t servers = 0;
  for (std::size_t at = config.find("\nserver "); at != std::string::npos;
       at = config.find("\nserver ", at + 1))
    ++servers;
  CHECK(servers == 7);
}

TEST_CASE("join: a failed step keeps its result and the document says where it stopped", "[join]") {
  POOLJOIN_NEEDS_ROOT("join changes an image");
  auto root = debian_image();
  root->write("usr/sbin/ntpd", "");
  root->write("usr/sbin/ntpkeygen", "");
  test::FakeEffects fx(root->path());
  serve_zone(fx);
  fx.dns.table.clear();  // the zone resolves to nothing: too few servers
  JoinRun run = run_join(fx, {"--country", "de", "--no-catalogue"});
  CHECK(run.code == to_int(ExitCode::unavailable));
  REQUIRE(run.document.is_object());
  CHECK(run.document["status"] == "failed");
  CHECK(run.document["stopped_at"] == "resolve");
  CHECK(run.document["error"]["step"] == "resolve");
  CHECK(run.document["error"]["exit_code"] == to_int(ExitCode::unavailable));
  const auto& resolve = run.document["steps"].back();
  CHECK(resolve["step"] == "resolve");
  CHECK(resolve["status"] == "failed");
  // The candidate table of the failed resolve is kept.
  REQUIRE(resolve["result"].contains("candidates"));
  CHECK(resolve["result"]["candidates"].size() == 8);
}
