// SPDX-License-Identifier: Apache-2.0
// What every step shares when shown on the console: its commands as a person would paste them,
// as JSON, and the events while it works.
#include "steps.hpp"
#include "ticker.hpp"
#include <fmt/format.h>

namespace pooljoin::cli {

std::string command_lines(const std::vector<Command>& commands) {
  std::string lines;
  for (const auto& command : commands)
    lines += display(command) + '\n';
  return lines;
}

nlohmann::json to_json(const std::vector<Command>& commands) {
  auto list = nlohmann::json::array();
  for (const auto& command : commands)
    list.push_back(command.argv);
  return list;
}

void print_notes(const Console& console, const std::vector<std::string>& notes,
                 const std::vector<std::string>& warnings) {
  for (const auto& note : notes)
    console.note("note: " + note);
  for (const auto& warning : warnings)
    console.warn(warning);
}

struct ConsoleEvents::Ticking {
  explicit Ticking(const Console& console) : ticker(console) {}
  Ticker ticker;
};

ConsoleEvents::ConsoleEvents(const Console& console) : ticker_(std::make_unique<Ticking>(console)) {
  Ticker* ticker = &ticker_->ticker;
  const Console* shown = &console;
  events_.command = [ticker, shown](const Command& command) {
    ticker->stop();
    shown->note(shown->paint_err(Console::Style::dim, "$ " + display(command)));
  };
  events_.waiting = [ticker](const std::string& what) {
    if (what.empty()) {
      ticker->stop();
    } else {
      ticker->start(what);
    }
  };
  events_.note = [ticker, shown](const std::string& text) {
    ticker->stop();
    shown->note(text);
  };
  events_.detail = [ticker, shown](const std::string& text) {
    if (shown->verbose() == 0) return;
    ticker->stop();
    shown->detail(text);
  };
}

ConsoleEvents::~ConsoleEvents() = default;

}  // namespace pooljoin::cli
