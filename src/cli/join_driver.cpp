// SPDX-License-Identifier: Apache-2.0
#include "join_driver.hpp"

#include <algorithm>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/text.hpp"
#include "pooljoin/zones.hpp"

namespace pooljoin::cli {
namespace {

bool ended(const std::string& status) {
  return status == "failed" || status == "interrupted" || status == "stopped";
}

}  // namespace

JoinDriver::JoinDriver(Context& ctx) : ctx_(ctx), dry_(ctx.options.dry_run) {
  if (!dry_) {
    state_ = value_or_throw(load_join_state(ctx_.fs));
    if (!state_.stopped_at.empty()) {
      ctx_.console.note(
          fmt::format("resuming: the last run stopped at {}", printable(state_.stopped_at, 40)));
    }
  }
}

void JoinDriver::record(const char* name, const StepOutcome& o, int exit_code) {
  steps_.push_back({{"step", name},
                    {"status", o.status},
                    {"summary", o.summary},
                    {"result", o.result.is_null() ? partial_ : o.result}});
  summary_.add({name, o.status, o.summary});
  if (ended(o.status) && !failure_) failure_ = Failure{name, o.summary, exit_code};
  if (!dry_) {
    state_.steps[name] = {o.status, rfc3339_utc(ctx_.effects.clock.now()), o.summary};
    state_.stopped_at = ended(o.status) ? name : "";
  }
  save_state();
}

void JoinDriver::step(const char* name, const std::function<StepOutcome()>& body) {
  ++index_;
  ctx_.console.note(ctx_.console.paint_err(Console::Style::bold,
                                           fmt::format("[{}/{}] {}", index_, kSteps, name)));
  partial_ = nullptr;
  try {
    StepOutcome outcome = body();
    throw_if_interrupted(name);
    record(name, outcome, 0);
  } catch (const Fatal& fatal) {
    const bool was_interrupted = fatal.error().code == ExitCode::interrupted;
    record(name, {was_interrupted ? "interrupted" : "failed", fatal.error().message(), {}},
           to_int(fatal.error().code));
    if (dry_ && !was_interrupted) {
      // A dry run shows the whole plan: a step that cannot be planned is reported, and the
      // rest is still planned.
      ctx_.console.warn(fmt::format("{} cannot be planned: {}", name, fatal.error().message()));
      return;
    }
    if (!was_interrupted) throw;
    throw Fatal(ExitCode::interrupted, fmt::format("interrupted during {}", name), {},
                fmt::format("nothing is half-written; run `{}` again to resume from {}",
                            resume_command(), name));
  } catch (const Stop& stop) {
    record(name, {stop.declined ? "stopped" : "failed", stop.summary, {}}, stop.code);
    if (!dry_) throw;
  }
}

void JoinDriver::save_state() {
  if (dry_) return;
  state_.updated = rfc3339_utc(ctx_.effects.clock.now());
  value_or_throw(save_join_state(ctx_.fs, state_));
}

void JoinDriver::show(const std::string& text) const {
  if (ctx_.console.json() || (ctx_.console.quiet() && !dry_)) return;
  ctx_.console.print(text);
}

void JoinDriver::confirm(const std::string& what, const std::string& plan) const {
  if (!ctx_.prompter.asks()) return;
  if (ctx_.prompter.interactive() && !plan.empty()) {
    std::cerr << plan << (plan.back() == '\n' ? "" : "\n");
  }
  if (!ctx_.prompter.confirm(what, true, "re-run with --yes to accept every step's plan")) {
    throw Stop{to_int(ExitCode::usage), fmt::format("declined: {}", what), true};
  }
}

std::optional<Daemon> JoinDriver::ask_daemon(const SystemFacts& facts) const {
  std::vector<std::string> installed;
  int running = 0;
  for (const auto& name : facts.daemons_installed) {
    if (!parse_daemon(name)) continue;
    installed.push_back(name);
    running += facts.has_running(name);
  }
  if (installed.size() < 2 || running == 1) return std::nullopt;
  const std::string names = fmt::format("{}", fmt::join(installed, " or "));
  if (dry_) {
    ctx_.console.note(
        fmt::format("note: {} are installed; the plan uses {} (a real run asks, or takes --daemon)",
                    names, to_string(*facts.recommended)));
    return std::nullopt;
  }
  return parse_daemon(ctx_.prompter.ask(
      fmt::format("{} are installed: which one should serve the pool ({})?", names, names),
      [&](const std::string& given) {
        return std::find(installed.begin(), installed.end(), given) != installed.end()
                   ? std::string()
                   : fmt::format("Please answer {}.", names);
      },
      "choose it with --daemon (or POOLJOIN_DAEMON)"));
}

std::string JoinDriver::ask_country() const {
  if (!infer_zone(ctx_.fs).country.empty()) return "";  // resolve infers it, and says how
  if (dry_) {
    ctx_.console.note(
        "note: the time zone says nothing about the country this server is in; the plan uses "
        "the wider zone (a real run asks, or takes --country)");
    return "";
  }
  auto answer = ctx_.prompter.ask(
      "Which country is this server in (a two-letter code or a name, e.g. de, uk, France)?",
      [&](const std::string& text) {
        auto match = match_country(ctx_.fs, text);
        return match.code.empty() ? fmt::format("\"{}\" is no country pooljoin knows: {}",
                                                printable(text, 40), match.hint)
                                  : std::string();
      },
      "pass --country CC (or POOLJOIN_COUNTRY=CC): the pool's servers nearby are chosen by it");
  return match_country(ctx_.fs, answer).code;
}

std::string JoinDriver::resume_command() const {
  std::vector<std::string> words{"pooljoin"};
  if (!ctx_.fs.is_live()) {
    words.push_back("--root");
    words.push_back(shell_quote(ctx_.fs.root().string()));
  }
  words.push_back("join");
  for (const auto& word : resume_)
    words.push_back(shell_quote(word));
  return fmt::format("{}", fmt::join(words, " "));
}

int JoinDriver::finish() {
  report(failure_ ? "failed" : "ok");
  return failure_ ? failure_->exit_code : to_int(ExitCode::ok);
}

int JoinDriver::finish(const Stop& stop) {
  report(stop.declined ? "stopped" : "failed");
  return stop.code;
}

void JoinDriver::finish(const Fatal& fatal) {
  report(fatal.error().code == ExitCode::interrupted ? "interrupted" : "failed");
}

void JoinDriver::report(const std::string& status) {
  if (ctx_.console.json()) {
    nlohmann::json doc = {
        {"status", status},
        {"dry_run", dry_},
        {"stopped_at",
         dry_ || state_.stopped_at.empty() ? nlohmann::json() : nlohmann::json(state_.stopped_at)},
        {"steps", steps_}};
    if (failure_) {
      doc["error"] = {{"step", failure_->step},
                      {"message", failure_->message},
                      {"exit_code", failure_->exit_code}};
    }
    ctx_.console.emit_json(doc);
    return;
  }
  std::string headline = dry_ ? fmt::format("join --dry-run: the plan{} (nothing was changed)",
                                            failure_ ? ", with failures" : "")
                         : status == "ok"
                             ? "join: done"
                             : fmt::format("join: {} at {}", status, state_.stopped_at);
  if (ctx_.console.quiet()) {
    ctx_.console.print(headline + "\n");  // -q: the result, and nothing else
    return;
  }
  ctx_.console.note(fmt::format("\n{}\n{}", ctx_.console.paint_err(Console::Style::bold, headline),
                                summary_.render()));
  if (status != "ok" && !dry_) {
    ctx_.console.note(
        fmt::format("run `{}` again to resume from {}", resume_command(), state_.stopped_at));
  }
}

void JoinRun::resume_with(const std::string& option, const std::string& value) {
  driver.resume_words().push_back(option);
  if (!value.empty()) driver.resume_words().push_back(value);
}

void JoinRun::refresh_daemons() {
  facts.daemons_installed = detect_installed_daemons(ctx.fs);
  facts.daemons_running = detect_running_daemons(ctx.fs, facts.daemons_installed);
}

}  // namespace pooljoin::cli
