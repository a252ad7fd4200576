// SPDX-License-Identifier: Apache-2.0
#include "context.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/interrupt.hpp"

namespace pooljoin::cli {
namespace {

const char* code_of(Console::Style style) {
  switch (style) {
    case Console::Style::bold:
      return "\033[1m";
    case Console::Style::dim:
      return "\033[2m";
    case Console::Style::ok:
      return "\033[32m";
    case Console::Style::warn:
      return "\033[33m";
    case Console::Style::fail:
      return "\033[1;31m";
  }
  return "";
}

std::string painted(bool color, Console::Style style, std::string_view text) {
  if (!color) return std::string(text);
  return fmt::format("{}{}\033[0m", code_of(style), text);
}

bool no_color_env() {
  const char* value = std::getenv("NO_COLOR");
  return value && *value;  // https://no-color.org: present and not empty
}

}  // namespace

Console::Console(const GlobalOptions& options)
    : json_(options.json),
      quiet_(options.quiet),
      verbose_(options.verbose),
      stdout_tty_(::isatty(STDOUT_FILENO) == 1),
      stderr_tty_(::isatty(STDERR_FILENO) == 1) {
  bool allowed = !options.no_color && !no_color_env();
  color_out_ = allowed && stdout_tty_;
  color_err_ = allowed && stderr_tty_;
}

void Console::print(std::string_view text) const {
  if (json_) return;
  std::cout << text;
  if (!text.empty() && text.back() != '\n') std::cout << '\n';
  std::cout.flush();
}

void Console::emit_json(const nlohmann::json& document) const {
  std::cout << document.dump(2) << std::endl;
}

void Console::note(std::string_view text) const {
  if (quiet_) return;
  std::cerr << text << '\n';
}

void Console::detail(std::string_view text) const {
  if (verbose_ > 0) std::cerr << painted(color_err_, Style::dim, text) << '\n';
}

void Console::progress(std::string_view line) const {
  if (quiet_ || !stderr_tty_) return;
  std::cerr << "\r\033[K" << line << std::flush;
  progress_shown_ = true;
}

void Console::end_progress() const {
  if (!progress_shown_) return;
  std::cerr << "\r\033[K" << std::flush;
  progress_shown_ = false;
}

void Console::warn(std::string_view text) const {
  if (quiet_) return;  // -q: the result and errors only
  std::cerr << painted(color_err_, Style::warn, "pooljoin: warning:") << ' ' << text << '\n';
}

void Console::error(const Error& error) const {
  std::cerr << painted(color_err_, Style::fail, "pooljoin: error:") << ' ' << error.message()
            << '\n';
  if (!error.details.empty()) {
    std::string_view rest = error.details;
    while (!rest.empty()) {
      auto nl = rest.find('\n');
      std::cerr << "  | " << rest.substr(0, nl) << '\n';
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    }
  }
}

std::string Console::paint(Style style, std::string_view text) const {
  return painted(color_out_, style, text);
}

std::string Console::paint_err(Style style, std::string_view text) const {
  return painted(color_err_, style, text);
}

bool Prompter::confirm(std::string_view question, bool default_yes,
                       std::string_view unattended_fix) const {
  if (yes_) return true;
  if (!interactive_) {
    throw Fatal(ExitCode::usage, fmt::format("an answer is needed: {}", question),
                "no terminal on stdin, so pooljoin does not ask", std::string(unattended_fix));
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::cerr << question << (default_yes ? " [Y/n] " : " [y/N] ") << std::flush;
    std::string answer = read_answer();
    if (answer.empty()) return default_yes;
    if (answer == "y" || answer == "Y" || answer == "yes") return true;
    if (answer == "n" || answer == "N" || answer == "no") return false;
    std::cerr << "Please answer y or n.\n";
  }
  return default_yes;
}

std::string Prompter::read_answer() {
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    std::cerr << '\n';
    throw_if_interrupted("a question");
    throw Fatal(ExitCode::usage, "no answer (end of input)", {}, "nothing was changed");
  }
  return answer;
}

std::string Prompter::ask(std::string_view question,
                          const std::function<std::string(const std::string&)>& problem,
                          std::string_view unattended_fix) const {
  if (!interactive_ || yes_) {
    throw Fatal(ExitCode::usage, fmt::format("an answer is needed: {}", question),
                interactive_ ? "--yes answers only yes-or-no questions"
                             : "no terminal on stdin, so pooljoin does not ask",
                std::string(unattended_fix));
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::cerr << question << ' ' << std::flush;
    std::string answer = read_answer();
    std::string why = problem(answer);
    if (why.empty()) return answer;
    std::cerr << why << '\n';
  }
  throw Fatal(ExitCode::usage, fmt::format("no usable answer to: {}", question), {},
              std::string(unattended_fix));
}

void begin_change(Context& ctx, std::string_view step) {
  if (ctx.options.dry_run) return;
  if (::geteuid() != 0) {
    throw Fatal(ExitCode::needs_root, fmt::format("{} changes the system and needs root", step),
                fmt::format("running as uid {}", ::geteuid()),
                fmt::format("run it with sudo, or add --dry-run to see what it would do"));
  }
  if (ctx.run_lock) return;
  auto waiting = [&](std::optional<pid_t> holder) {
    ctx.console.note(fmt::format(
        "waiting for {} to finish (up to {} s, --lock-timeout)",
        holder ? fmt::format("pooljoin (PID {})", *holder) : std::string("another pooljoin"),
        ctx.options.lock_timeout.count()));
  };
  ctx.run_lock = value_or_throw(take_run_lock(ctx.fs, ctx.options.lock_timeout, waiting));
}

}  // namespace pooljoin::cli
