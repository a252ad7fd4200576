// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "findings.hpp"
#include "steps.hpp"
#include "table.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/detect.hpp"

namespace pooljoin::cli {
namespace {

std::string joined(const std::vector<std::string>& items) {
  return items.empty() ? std::string("none") : fmt::format("{}", fmt::join(items, ", "));
}

nlohmann::json addresses_json(const std::vector<LocalAddress>& addresses, bool with_reason) {
  auto list = nlohmann::json::array();
  for (const auto& a : addresses) {
    nlohmann::json entry = {{"address", a.address.to_string()},
                            {"family", to_string(a.address.family())},
                            {"interface", a.interface}};
    if (with_reason) entry["reason"] = a.reason();
    // Seconds left, null for forever; all null when the kernel's lifetimes could not be read.
    auto seconds = [&](std::uint32_t AddressLifetime::*field) {
      return a.lifetime && (*a.lifetime).*field != AddressLifetime::kForever
                 ? nlohmann::json((*a.lifetime).*field)
                 : nlohmann::json();
    };
    entry["dynamic"] = a.lifetime ? nlohmann::json(a.lifetime->dynamic()) : nlohmann::json();
    entry["valid_lifetime_s"] = seconds(&AddressLifetime::valid_s);
    entry["preferred_lifetime_s"] = seconds(&AddressLifetime::preferred_s);
    list.push_back(std::move(entry));
  }
  return list;
}

// ", dynamic: valid for 1h more" for a leased or autoconfigured address; "" otherwise.
std::string lifetime_text(const LocalAddress& a, const Console& console) {
  if (!a.lifetime || !a.lifetime->dynamic()) return {};
  return console.paint(Console::Style::warn, a.lifetime->valid_s == AddressLifetime::kForever
                                                 ? std::string(", dynamic")
                                                 : fmt::format(", dynamic: valid for {} more",
                                                               describe_lifetime(*a.lifetime)));
}

}  // namespace

nlohmann::json to_json(const SystemFacts& facts) {
  return {
      {"distro",
       {{"id", facts.distro.id},
        {"id_like", facts.distro.id_like},
        {"version_id", facts.distro.version_id},
        {"pretty_name", facts.distro.pretty_name},
        {"family", to_string(facts.distro.family)}}},
      {"package_manager",
       facts.package_manager.empty() ? nlohmann::json() : nlohmann::json(facts.package_manager)},
      {"init_system", to_string(facts.init)},
      {"virtualization", facts.virtualization},
      {"daemons",
       {{"installed", facts.daemons_installed},
        {"running", facts.daemons_running},
        {"recommended",
         facts.recommended ? nlohmann::json(to_string(*facts.recommended)) : nlohmann::json()}}},
      {"addresses", addresses_json(facts.addresses, false)},
      {"excluded_addresses", addresses_json(facts.excluded, true)},
      {"findings", to_json(address_findings(facts))},
  };
}

std::vector<Finding> address_findings(const SystemFacts& facts) {
  return diagnose_dynamic_addresses(facts.addresses, "detect.address.dynamic");
}

void warn_facts(const Context& ctx, const SystemFacts& facts) {
  for (const auto& finding : address_findings(facts))
    ctx.console.warn(fmt::format("{}; {}", finding.message, finding.fix));
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
               fmt::format("{} ({}, {}){}", a.address.to_string(), to_string(a.address.family()),
                           a.interface, lifetime_text(a, console))});
  }
  for (std::size_t i = 0; i < facts.excluded.size(); ++i) {
    const auto& a = facts.excluded[i];
    table.add({i == 0 ? "not usable" : "",
               console.paint(Console::Style::dim, fmt::format("{} on {}: {}", a.address.to_string(),
                                                              a.interface, a.reason()))});
  }
  return table.render();
}

std::string summary(const SystemFacts& facts) {
  std::vector<std::string> addresses;
  for (const auto& a : facts.addresses)
    addresses.push_back(a.address.to_string());
  std::string where =
      facts.distro.pretty_name.empty() ? "an unknown system" : facts.distro.pretty_name;
  return fmt::format("{}, {}, daemons installed: {}; addresses to submit: {}", where,
                     to_string(facts.init), joined(facts.daemons_installed), joined(addresses));
}

void show_facts(const Context& ctx, const SystemFacts& facts) {
  ctx.console.detail(fmt::format("facts: {}", summary(facts)));
  if (facts.recommended)
    ctx.console.detail(
        fmt::format("facts: the daemon detect recommends is {}", to_string(*facts.recommended)));
}

Action add_detect(CLI::App&) {
  return [](Context& ctx) {
    SystemFacts facts = detect(ctx.fs, ctx.effects.runner);
    if (ctx.console.json()) {
      ctx.console.emit_json(to_json(facts));
    } else {
      ctx.console.print(render(facts, ctx.console));
    }
    warn_facts(ctx, facts);
    if (facts.addresses.empty()) {
      ctx.console.note(
          facts.only_private_addresses()
              ? "note: no global address on any interface; behind 1:1 NAT (as on most clouds) the "
                "pool sees the public address, which must forward UDP 123 to this machine"
              : "note: no global address on any interface; the pool can only use public addresses");
    }
    return to_int(ExitCode::ok);
  };
}

}  // namespace pooljoin::cli
