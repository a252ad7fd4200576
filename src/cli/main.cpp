// pooljoin's entry point: parses the command line, runs one subcommand, and owns all error
// printing and exit codes.
#include <algorithm>
#include <cctype>

#include <unistd.h>

#include "commands.hpp"
#include "context.hpp"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "pooljoin/http.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/version.hpp"

namespace pooljoin::cli {
namespace {

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.option_defaults()->always_capture_default();
  app.add_option(
         "--root", options.root,
         "Operate on the system image rooted at DIR: every file read or written is under it")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory.description(""));
  app.add_flag("--dry-run", options.dry_run, "Print the plan and change nothing (needs no root)");
  app.add_flag("--json", options.json, "Machine-readable result on stdout; messages on stderr");
  app.add_flag("-y,--yes", options.yes, "Never prompt: accept what the step would ask about");
  app.add_flag("-v,--verbose", options.verbose, "Say more (repeat for even more)");
  app.add_flag("-q,--quiet", options.quiet, "Print only the result");
  app.add_flag("--no-color", options.no_color, "No colour (also when NO_COLOR is set)");
  app.add_option("--api-base", options.api_base,
                 "The pool's site, for its score API (a mirror, or a test server)")
      ->type_name("URL")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            auto url = parse_http_url(value, {.allow_query = false});
            if (!url) return url.error().why;
            while (!url->path.empty() && url->path.back() == '/')
              url->path.pop_back();
            value = url->to_string();
            return {};
          },
          "", ""));
  app.add_option("--api-timeout", options.api_timeout,
                 "Seconds an HTTP request may take (each attempt; failed ones are retried twice)")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 600));
  app.add_option("--ca-file", options.ca_file,
                 "Verify HTTPS servers against the CA certificates in FILE (PEM) instead of the "
                 "system's; verification itself is never turned off")
      ->type_name("FILE")
      ->check(CLI::ExistingFile.description(""));
  app.set_version_flag("--version", std::string("pooljoin ") + kVersion);
}

// POOLJOIN_<NAME> for each long option of `app` itself: --dns-server -> POOLJOIN_DNS_SERVER.
void attach_environment_names(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const auto& names = option->get_lnames();
    if (names.empty() || names.front() == "help" || names.front() == "version") continue;
    std::string env = "POOLJOIN_";
    for (char c : names.front())
      env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    option->envname(env);
  }
}

// The subcommand the command line names, found before parsing: CLI11 reads the environment for
// every subcommand, run or not, so the POOLJOIN_* names go only to the one that runs (the same
// name, like --timeout, may take different values in two subcommands).
CLI::App* named_subcommand(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word == "--") break;
    if (word.starts_with("-")) {
      if (word.find('=') != std::string_view::npos) continue;
      const CLI::Option* option = app.get_option_no_throw(std::string(word));
      if (option && option->get_items_expected_min() > 0) ++i;  // its value
      continue;
    }
    try {
      return app.get_subcommand(std::string(word));
    } catch (const CLI::OptionNotFound&) {
      return nullptr;  // not a subcommand: CLI11 will say so
    }
  }
  return nullptr;
}

int run(int argc, char** argv) {
  CLI::App app{"pooljoin: take a Linux server through joining the NTP Pool (pool.ntp.org)",
               "pooljoin"};
  app.footer(
      "Exit codes: 0 ok, 1 a check failed, 2 usage, 69 service or network unavailable,\n"
      "70 internal error, 73 cannot write a file, 77 needs root, 78 unsupported system,\n"
      "130 interrupted. Every option can also be set as POOLJOIN_<OPTION> (e.g. POOLJOIN_YES=1).");
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the subcommand too
  GlobalOptions options;
  add_global_options(app, options);

  std::vector<std::pair<CLI::App*, Action>> actions;
  for (const auto& spec : command_table()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    actions.emplace_back(sub, spec.add(*sub));
  }
  attach_environment_names(app);
  if (CLI::App* sub = named_subcommand(app, argc, argv)) attach_environment_names(*sub);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : to_int(ExitCode::usage);
  }

  Console console(options);
  RootedFs fs(options.root);
  SpawnRunner spawn;
  RecordingRunner recorder;
  Prompter prompter(options.yes, ::isatty(STDIN_FILENO) == 1);
  HttpOptions http_options;
  http_options.total_timeout = std::chrono::seconds(options.api_timeout);
  http_options.ca_file = options.ca_file;
  http_options.on_retry = [&console](const RetryNotice& notice) {
    console.note(fmt::format("note: {} from {}; retrying in {:g} s", notice.reason, notice.url,
                             static_cast<double>(notice.delay.count()) / 1000.0));
  };
  CurlHttpClient http(std::move(http_options));
  Context ctx{
      options,  console, fs, spawn, options.dry_run ? static_cast<ProcessRunner&>(recorder) : spawn,
      prompter, http};
  try {
    for (auto& [sub, action] : actions) {
      if (sub->parsed()) return action(ctx);
    }
    return to_int(ExitCode::usage);
  } catch (const Fatal& fatal) {
    console.error(fatal.error());
    return to_int(fatal.error().code);
  } catch (const std::exception& e) {
    console.error({ExitCode::internal, "internal error", e.what(),
                   "please report this with the command line that caused it"});
    return to_int(ExitCode::internal);
  }
}

}  // namespace
}  // namespace pooljoin::cli

int main(int argc, char** argv) {
  pooljoin::install_interrupt_handlers();
  return pooljoin::cli::run(argc, argv);
}
