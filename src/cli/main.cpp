// SPDX-License-Identifier: Apache-2.0
// pooljoin's entry point: parses the command line, runs one subcommand, and owns all error
// printing and exit codes.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#include "commands.hpp"
#include "context.hpp"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "pooljoin/effects.hpp"
#include "pooljoin/http.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/text.hpp"
#include "pooljoin/version.hpp"

namespace pooljoin::cli {
namespace {

constexpr const char* kGlobalGroup = "Global options (before or after the subcommand)";

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
  app.add_flag("-v,--verbose", options.verbose,
               "Say more: the facts each step decides from, the commands as they run");
  app.add_flag("-q,--quiet", options.quiet, "Print only the result (and errors)");
  app.add_flag("--no-color", options.no_color, "No colour (also when NO_COLOR is set)");
  app.add_option("--api-base", options.api_base,
                 "The pool's site, for its score API (a mirror, or a test server)")
      ->type_name("URL")
      // transform, not check: CLI11 hands a check a copy, and the trailing '/' stayed.
      ->transform(CLI::Validator(
          [](std::string& value) -> std::string {
            auto url = parse_http_url(value, {.allow_query = false});
            if (!url) return url.error().why;
            while (!url->path.empty() && url->path.back() == '/')
              url->path.pop_back();
            value = url->to_string();
            return {};
          },
          "", ""));
  app.add_option_function<int>(
         "--api-timeout",
         [&options](int seconds) { options.api_timeout = std::chrono::seconds(seconds); },
         "Seconds an HTTP request may take (each attempt; failed ones are retried twice)")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 600).description(""))
      ->default_str("20");
  app.add_option("--ca-file", options.ca_file,
                 "Verify HTTPS servers against the CA certificates in FILE (PEM) instead of the "
                 "system's; verification itself is never turned off")
      ->type_name("FILE")
      ->check(CLI::ExistingFile.description(""));
  app.add_flag("--follow-symlinks", options.follow_symlinks,
               "Where a file to write is a symbolic link, write the regular file it leads to "
               "(inside --root); without it such a write is refused (exit 73)");
  app.add_option_function<int>(
         "--lock-timeout",
         [&options](int seconds) { options.lock_timeout = std::chrono::seconds(seconds); },
         "Seconds to wait for a lock another run holds: another pooljoin changing this system, "
         "or the package manager (then exit 69 naming it)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0, 3600).description(""))
      ->default_str(std::to_string(kDefaultLockTimeout.count()));
  app.add_option("--keep-backups", options.keep_backups,
                 "Keep the newest N backups of each file written; older ones are removed")
      ->type_name("N")
      ->check(CLI::Range(1, 1000).description(""));
  app.set_version_flag("--version", std::string("pooljoin ") + kVersion);
}

// A subcommand's --help lists the global options too: they are accepted after it.
class Formatter final : public CLI::Formatter {
 public:
  std::string make_footer(const CLI::App* app) const override {
    std::string out;
    if (const CLI::App* root = app->get_parent()) {
      std::vector<const CLI::Option*> globals;
      for (const CLI::Option* option : root->get_options()) {
        if (!option->get_group().empty() && option != root->get_help_ptr())
          globals.push_back(option);
      }
      out = make_group(kGlobalGroup, false, globals);
      if (out.starts_with("\n")) out.erase(0, 1);
      out += "\n";
    }
    return out + CLI::Formatter::make_footer(app);
  }
};

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

// The spellings a flag's POOLJOIN_* variable takes (README, "Global options"), any case.
constexpr std::string_view kTrueWords[] = {"1", "true", "yes", "on"};
constexpr std::string_view kFalseWords[] = {"0", "false", "no", "off"};

// Flags whose absence is the more dangerous run: an empty variable is refused, not taken as
// unset (POOLJOIN_DRY_RUN= would write).
constexpr std::string_view kSaferWhenSet[] = {"dry-run"};

// The first POOLJOIN_* variable of `app`'s options that CLI11 would misread, as the message
// for it. CLI11 takes an empty variable as unset (what Ansible's empty vars expect): refused
// where that turns a safer run into a write (a dry run; an option whose value may be left
// out, such as POOLJOIN_LINT=, which would turn a lint into a write). A flag's value outside
// the documented spellings is refused (CLI11 reads 0x1 and -1 as false).
std::optional<std::string> environment_problem(const CLI::App& app) {
  for (const CLI::Option* option : app.get_options()) {
    const std::string name = option->get_envname();
    if (name.empty()) continue;
    const char* value = std::getenv(name.c_str());
    if (!value) continue;
    const std::string text = lower(value);
    const bool flag = option->get_items_expected_max() == 0;
    const std::string long_name = option->get_lnames().empty() ? "" : option->get_lnames().front();
    if (text.empty()) {
      const bool optional_value = !flag && option->get_items_expected_min() == 0;
      const bool safer = std::find(std::begin(kSaferWhenSet), std::end(kSaferWhenSet), long_name) !=
                         std::end(kSaferWhenSet);
      if (optional_value || (flag && safer)) {
        return fmt::format(
            "{} (--{}) is set but empty, which would run without --{}; unset it, or give it "
            "a value",
            name, long_name, long_name);
      }
      continue;
    }
    if (!flag) continue;
    auto is = [&text](std::string_view word) { return text == word; };
    if (std::any_of(std::begin(kTrueWords), std::end(kTrueWords), is) ||
        std::any_of(std::begin(kFalseWords), std::end(kFalseWords), is))
      continue;
    return fmt::format(
        "{} (--{}) is not a boolean (\"{}\"); give it 1, true, yes or on, or 0, false, "
        "no or off",
        name, long_name, printable(value, 20));
  }
  return std::nullopt;
}

// The position in argv of the subcommand's name: the first word that is not an option or the
// value of a global option; 0 when there is none.
int subcommand_position(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word == "--") break;
    if (word.starts_with("-")) {
      if (word.find('=') != std::string_view::npos) continue;
      const CLI::Option* option = app.get_option_no_throw(std::string(word));
      if (option && option->get_items_expected_min() > 0) ++i;  // its value
      continue;
    }
    return i;
  }
  return 0;
}

// Damerau-Levenshtein distance, for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The subcommand `word` most likely meant; empty when none is close.
std::string nearest_subcommand(std::string_view word) {
  std::string best;
  std::size_t best_distance = 3;  // at most two edits away
  for (const auto& spec : command_table()) {
    std::string_view name = spec.name;
    std::size_t distance =
        name.starts_with(word) && word.size() >= 3 ? 1 : edit_distance(word, name);
    if (distance < best_distance) {
      best_distance = distance;
      best = name;
    }
  }
  return best;
}

// Old spellings of options that were renamed, accepted (with a note) for one release.
struct Renamed {
  const char* subcommand;
  const char* old_name;
  const char* new_name;
  const char* old_env;  // no longer read: its name belongs to another option now
  const char* new_env;
  bool env_is_error;  // the old variable would silently change what is written
};
constexpr Renamed kRenamed[] = {
    {"gen-conf", "--server", "--upstream", "POOLJOIN_SERVER", "POOLJOIN_UPSTREAM", true},
    {"restart", "--timeout", "--answer-timeout", "POOLJOIN_TIMEOUT", "POOLJOIN_ANSWER_TIMEOUT",
     false},
};

// Rewrites the old spellings in `args` for `subcommand` (after position `from`); the notes say so.
std::vector<std::string> renamed_notes(std::vector<std::string>& args, std::size_t from,
                                       std::string_view subcommand) {
  std::vector<std::string> notes;
  for (const auto& r : kRenamed) {
    if (subcommand != r.subcommand) continue;
    const std::string old_name = r.old_name;
    bool used = false;
    for (std::size_t i = from; i < args.size(); ++i) {
      if (args[i] == "--") break;
      if (args[i] == old_name) {
        args[i] = r.new_name;
        used = true;
      } else if (args[i].starts_with(old_name + "=")) {
        args[i] = r.new_name + args[i].substr(old_name.size());
        used = true;
      }
    }
    if (used) {
      notes.push_back(
          fmt::format("note: {} {} is now {} (the old name works until the next "
                      "release)",
                      r.subcommand, r.old_name, r.new_name));
    }
  }
  return notes;
}

// A variable that a renamed option used to read: an error where it would change what is
// written, else a note. Throws Fatal(usage) for the former.
void check_retired_environment(std::string_view subcommand, const Console& console) {
  for (const auto& r : kRenamed) {
    if (subcommand != r.subcommand) continue;
    const char* old_value = std::getenv(r.old_env);
    if (!old_value || !*old_value || std::getenv(r.new_env)) continue;
    std::string why = fmt::format("{} now reads {} ({} {}); {} belongs to check", r.subcommand,
                                  r.new_env, r.subcommand, r.new_name, r.old_env);
    if (r.env_is_error) {
      throw Fatal(ExitCode::usage,
                  fmt::format("{} is set, but {} no longer reads it", r.old_env, r.subcommand), why,
                  fmt::format("rename it to {}", r.new_env));
    }
    console.note(fmt::format("note: {} is not read by {}: {}", r.old_env, r.subcommand, why));
  }
}

void print_parse_error(const CLI::App& app, const CLI::ParseError& e, const std::string& sub) {
  std::string message = e.what();
  std::cerr << "pooljoin: error: " << message << '\n';
  (void)app;
  std::cerr << fmt::format("run `pooljoin {}--help` for the options\n",
                           sub.empty() ? "" : sub + " ");
}

int run(int argc, char** argv) {
  CLI::App app{"pooljoin: take a Linux server through joining the NTP Pool (pool.ntp.org)",
               "pooljoin"};
  app.formatter(std::make_shared<Formatter>());
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

  std::vector<std::string> args(argv, argv + argc);
  std::string sub_name;
  std::vector<std::string> notes;
  if (int at = subcommand_position(app, argc, argv)) {
    sub_name = args[static_cast<std::size_t>(at)];
    CLI::App* sub = nullptr;
    for (CLI::App* candidate : app.get_subcommands({}))
      if (candidate->get_name() == sub_name) sub = candidate;
    if (!sub) {
      std::string nearest = nearest_subcommand(sub_name);
      std::cerr << fmt::format("pooljoin: error: unknown subcommand \"{}\"{}\n", sub_name,
                               nearest.empty() ? "" : fmt::format("; did you mean {}?", nearest));
      std::cerr << "usage: pooljoin [OPTIONS] SUBCOMMAND [OPTIONS]; `pooljoin --help` lists the "
                   "subcommands\n";
      return to_int(ExitCode::usage);
    }
    // CLI11 reads the environment for every subcommand, run or not: the POOLJOIN_* names go
    // only to the one that runs.
    attach_environment_names(*sub);
    notes = renamed_notes(args, static_cast<std::size_t>(at) + 1, sub_name);
    for (const CLI::App* scope :
         {static_cast<const CLI::App*>(&app), static_cast<const CLI::App*>(sub)}) {
      if (auto problem = environment_problem(*scope)) {
        std::cerr << "pooljoin: error: " << *problem << '\n';
        return to_int(ExitCode::usage);
      }
    }
  }

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 pops from the back
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    print_parse_error(app, e, sub_name);
    return to_int(ExitCode::usage);
  }

  Console console(options);
  for (const auto& note : notes)
    console.note(note);
  Prompter prompter(options.yes, ::isatty(STDIN_FILENO) == 1);
  HttpOptions http_options;
  http_options.total_timeout = options.api_timeout;
  http_options.ca_file = options.ca_file;
  http_options.on_retry = [&console](const RetryNotice& notice) {
    console.note(fmt::format("note: {} from {}; retrying in {:g} s", notice.reason, notice.url,
                             static_cast<double>(notice.delay.count()) / 1000.0));
  };
  SystemEffects system(options.root, std::move(http_options),
                       WritePolicy{options.follow_symlinks, options.keep_backups});
  Context ctx(options, console, prompter, system.effects());
  try {
    check_retired_environment(sub_name, console);
    for (auto& [sub, action] : actions) {
      if (!sub->parsed()) continue;
      const int rc = action(ctx);
      // A signal that came while the command went on to the end (it had no wait left to stop)
      // still ends the run as interrupted: what it printed may rest on an answer cut short.
      throw_if_interrupted(sub->get_name().c_str());
      return rc;
    }
    return to_int(ExitCode::usage);
  } catch (const Fatal& fatal) {
    // A failure after SIGINT or SIGTERM comes from a read or a wait the signal cut short (an
    // open of a FIFO that gave up, a file that then seemed missing): it is the interruption.
    if (interrupted() && fatal.error().code != ExitCode::interrupted) {
      Error stopped = interruption(sub_name.c_str()).value();
      stopped.why = "then: " + fatal.error().message();
      console.error(stopped);
      return to_int(ExitCode::interrupted);
    }
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
  try {
    pooljoin::install_interrupt_handlers();
    return pooljoin::cli::run(argc, argv);
  } catch (...) {
    // run() reports its own failures; only what escapes it (memory running out while the
    // options are set up) ends here: a line and the internal-error code, not std::terminate.
    std::fputs("pooljoin: internal error: could not start\n", stderr);
    return pooljoin::to_int(pooljoin::ExitCode::internal);
  }
}
