#include "commands.hpp"
#include "table.hpp"
#include "views.hpp"
#include <fmt/format.h>

#include "pooljoin/detect.hpp"

namespace pooljoin::cli {
namespace {

std::string joined(const std::vector<std::string>& items, std::string_view none = "none") {
  if (items.empty()) return std::string(none);
  std::string text;
  for (const auto& item : items)
    text += (text.empty() ? "" : ", ") + item;
  return text;
}

std::string render(const SystemFacts& facts, const Console& console) {
  Table table;
  const auto& d = facts.distro;
  std::string distro = d.pretty_name.empty() ? "unknown (no os-release)" : d.pretty_name;
  table.add({"distribution", fmt::format("{} [family {}, id {}{}]", distro, to_string(d.family),
                                         d.id.empty() ? "?" : d.id,
                                         d.version_id.empty() ? "" : ", version " + d.version_id)});
  table.add({"package manager", facts.package_manager.empty()
                                    ? console.paint(Console::Style::warn, "none found")
                                    : facts.package_manager});
  table.add({"init system", std::string(to_string(facts.init))});
  table.add({"virtualization", facts.virtualization});
  table.add(
      {"ntp daemons", fmt::format("installed: {}; running: {}", joined(facts.daemons_installed),
                                  joined(facts.daemons_running))});
  table.add({"recommended", facts.recommended ? std::string(to_string(*facts.recommended))
                                              : console.paint(Console::Style::warn,
                                                              "none (unknown distribution)")});
  if (facts.addresses.empty()) {
    table.add({"global addresses", console.paint(Console::Style::warn, "none")});
  }
  for (std::size_t i = 0; i < facts.addresses.size(); ++i) {
    const auto& a = facts.addresses[i];
    table.add({i == 0 ? "global addresses" : "",
               fmt::format("{} ({}, {})", a.address.to_string(), to_string(a.address.family()),
                           a.interface)});
  }
  for (std::size_t i = 0; i < facts.excluded.size(); ++i) {
    const auto& a = facts.excluded[i];
    table.add({i == 0 ? "not usable" : "",
               console.paint(Console::Style::dim, fmt::format("{} on {}: {}", a.address.to_string(),
                                                              a.interface, a.excluded_because))});
  }
  return table.render();
}

}  // namespace

Action add_detect(CLI::App&) {
  return [](Context& ctx) {
    SystemFacts facts = detect(ctx.fs, ctx.query_runner);
    if (ctx.console.json()) {
      ctx.console.emit_json(to_json(facts));
    } else {
      ctx.console.print(render(facts, ctx.console));
    }
    if (facts.addresses.empty()) {
      bool has_private =
          std::any_of(facts.excluded.begin(), facts.excluded.end(), [](const LocalAddress& a) {
            return a.excluded_because.find("private") != std::string::npos ||
                   a.excluded_because.find("carrier-grade") != std::string::npos;
          });
      ctx.console.note(
          has_private
              ? "note: no global address on any interface; behind 1:1 NAT (as on most clouds) the "
                "pool sees the public address, which must forward UDP 123 to this machine"
              : "note: no global address on any interface; the pool can only use public addresses");
    }
    return to_int(ExitCode::ok);
  };
}

}  // namespace pooljoin::cli
