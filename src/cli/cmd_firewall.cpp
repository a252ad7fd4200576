// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "join_driver.hpp"
#include "steps.hpp"
#include "table.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/firewall.hpp"

namespace pooljoin::cli {
namespace {

nlohmann::json families_json(const FirewallVerdict& verdict) {
  return {{"ipv4", to_string(verdict.ipv4.reach)}, {"ipv6", to_string(verdict.ipv6.reach)}};
}

std::string deciding(const FirewallVerdict& verdict) {
  for (const Judgement* j : {&verdict.ipv4, &verdict.ipv6}) {
    if (j->reach == Reach::closed || j->reach == Reach::unknown) return j->describe();
  }
  return {};
}

std::string reach_text(const Judgement& j, const Console& console) {
  switch (j.reach) {
    case Reach::open:
      return console.paint(Console::Style::ok, "open");
    case Reach::closed:
      return console.paint(Console::Style::fail, "closed") + " by " + j.describe();
    case Reach::unknown:
      return console.paint(Console::Style::warn, "unknown") +
             (j.deciding ? " at " + j.describe() : std::string()) +
             (j.why.empty() ? std::string() : ": " + j.why);
    case Reach::no_address:
      return "no global address";
  }
  return {};
}

}  // namespace

void add_firewall_options(CLI::App& app, FirewallOptions& options) {
  app.add_flag("--notrack", options.notrack,
               "Also exempt UDP 123 from connection tracking (a busy pool server fills the "
               "conntrack table)");
}

nlohmann::json to_json(const FirewallPlan& plan) {
  std::vector<std::string> frontends;
  for (FirewallTool tool : plan.before.in_force)
    frontends.emplace_back(to_string(tool));
  auto files = nlohmann::json::array();
  for (const auto& f : plan.files)
    files.push_back({{"path", f.path},
                     {"diff", f.current ? nlohmann::json(f.diff) : nlohmann::json(f.content)}});
  auto addresses = nlohmann::json::array();
  for (const auto& a : plan.before.addresses) {
    addresses.push_back(
        {{"address", a.address.address.to_string()},
         {"interface", a.address.interface},
         {"reach", to_string(a.judgement.reach)},
         {"rule", a.judgement.deciding ? nlohmann::json(a.judgement.describe()) : nlohmann::json()},
         {"why", a.judgement.why.empty() ? nlohmann::json() : nlohmann::json(a.judgement.why)}});
  }
  const std::string rule = deciding(plan.before);
  return {{"frontends", frontends},
          {"open_before", families_json(plan.before)},
          {"addresses", addresses},
          {"deciding_rule", rule.empty() ? nlohmann::json() : nlohmann::json(rule)},
          {"commands", to_json(plan.commands())},
          {"files", files},
          {"persistent", plan.persistent},
          {"notrack", plan.notrack},
          {"notes", plan.notes}};
}

void add_outcome(nlohmann::json& doc, const FirewallFacts& facts, const FirewallOutcome* outcome) {
  doc["open_after"] = outcome ? families_json(outcome->after) : nlohmann::json();
  doc["conntrack"] = {
      {"count", facts.conntrack_count ? nlohmann::json(*facts.conntrack_count) : nlohmann::json()},
      {"max", facts.conntrack_max ? nlohmann::json(*facts.conntrack_max) : nlohmann::json()}};
}

std::string render_verdict(const FirewallVerdict& verdict, const Console& console) {
  std::string out;
  std::vector<std::string> tools;
  for (FirewallTool tool : verdict.in_force)
    tools.emplace_back(to_string(tool));
  out +=
      fmt::format("host firewall: {}\n", tools.empty() ? std::string("none in force")
                                                       : fmt::format("{}", fmt::join(tools, ", ")));
  for (const auto& a : verdict.addresses) {
    out += fmt::format("  {} ({}): UDP 123 from outside is {}\n", a.address.address.to_string(),
                       a.address.interface, reach_text(a.judgement, console));
  }
  if (verdict.addresses.empty()) out += "  no global address to judge\n";
  return out;
}

std::string render_plan(const FirewallPlan& plan, const Context& ctx) {
  if (plan.nothing_to_do()) return {};
  if (ctx.console.quiet()) return "would open UDP 123\n";
  std::string out;
  for (const auto& f : plan.files)
    out += f.current ? f.diff : fmt::format("# {}:\n{}", f.path, f.content);
  out += command_lines(plan.commands());
  return out;
}

std::string describe_reach(const FirewallVerdict& verdict) {
  std::vector<std::string> parts;
  for (auto [name, j] : {std::pair{"IPv4", &verdict.ipv4}, std::pair{"IPv6", &verdict.ipv6}}) {
    if (j->reach == Reach::no_address) continue;
    parts.push_back(fmt::format("{} {}", name, to_string(j->reach)));
  }
  return parts.empty() ? std::string("no global address")
                       : fmt::format("{}", fmt::join(parts, ", "));
}

FirewallOutcome apply_shown(Context& ctx, const FirewallPlan& plan, const SystemFacts& system) {
  ConsoleEvents events(ctx.console);
  return value_or_throw(apply_firewall(plan, system, ctx.effects, events.events()));
}

namespace {

int run_firewall(Context& ctx, const FirewallOptions& options) {
  const SystemFacts system = detect(ctx.fs, ctx.effects.runner);
  show_facts(ctx, system);
  const FirewallFacts facts = gather_firewall(system, ctx.effects);
  const FirewallPlan plan = plan_firewall(facts, ctx.fs, {options.notrack});
  nlohmann::json doc = to_json(plan);
  if (!ctx.console.json() && !ctx.console.quiet())
    ctx.console.print(render_verdict(plan.before, ctx.console));
  print_notes(ctx.console, plan.notes);
  if (facts.conntrack_count && facts.conntrack_max) {
    ctx.console.note(fmt::format("connection tracking holds {} of at most {} entries",
                                 *facts.conntrack_count, *facts.conntrack_max));
  }
  if (plan.nothing_to_do()) {
    add_outcome(doc, facts, nullptr);
    doc["open_after"] = doc["open_before"];
    if (ctx.console.json()) ctx.console.emit_json(doc);
    ctx.console.print(fmt::format("firewall: nothing to do ({})", describe_reach(plan.before)));
    return to_int(ExitCode::ok);
  }
  if (ctx.options.dry_run) {
    add_outcome(doc, facts, nullptr);
    if (ctx.console.json()) {
      ctx.console.emit_json(doc);
    } else {
      ctx.console.print(render_plan(plan, ctx));
    }
    return to_int(ExitCode::ok);
  }
  begin_change(ctx, "firewall");
  if (!ctx.prompter.confirm(fmt::format("Open UDP 123 with {}?",
                                        plan.before.in_force.empty()
                                            ? std::string("the firewall")
                                            : std::string(to_string(plan.before.in_force.front()))),
                            true, "re-run with --yes to open it")) {
    throw Fatal(ExitCode::usage, "opening UDP 123 declined", {}, "nothing was changed");
  }
  const FirewallOutcome outcome = apply_shown(ctx, plan, system);
  add_outcome(doc, facts, &outcome);
  if (ctx.console.json()) {
    ctx.console.emit_json(doc);
  } else {
    ctx.console.print(fmt::format("firewall: {}", describe_reach(outcome.after)));
  }
  if (const Judgement* closed = outcome.after.closed()) {
    ctx.console.error({ExitCode::check_failed, "UDP 123 is still closed", closed->describe(),
                       "open it by hand with the front-end named"});
    return to_int(ExitCode::check_failed);
  }
  for (const Judgement* j : {&outcome.after.ipv4, &outcome.after.ipv6}) {
    if (j->reach == Reach::unknown)
      ctx.console.warn(fmt::format("not judged: {} ({})", j->describe(), j->why));
  }
  return to_int(ExitCode::ok);
}

}  // namespace

Action add_firewall(CLI::App& sub) {
  auto options = std::make_shared<FirewallOptions>();
  add_firewall_options(sub, *options);
  return [options](Context& ctx) { return run_firewall(ctx, *options); };
}

// firewall in join: UDP 123 opened unless the rules in force let it in already.
StepOutcome join_firewall(JoinRun& j) {
  const FirewallFacts facts = gather_firewall(j.facts, j.ctx.effects);
  const FirewallPlan plan = plan_firewall(facts, j.ctx.fs, {j.options.firewall.notrack});
  nlohmann::json doc = to_json(plan);
  add_outcome(doc, facts, nullptr);
  j.driver.keep(doc);
  if (!j.ctx.console.quiet()) j.driver.show(render_verdict(plan.before, j.ctx.console));
  print_notes(j.ctx.console, plan.notes);
  if (plan.nothing_to_do()) {
    return {"unchanged",
            plan.before.in_force.empty() && facts.live
                ? "no host firewall in force; " + describe_reach(plan.before)
                : describe_reach(plan.before),
            doc};
  }
  if (j.options.firewall.notrack) j.resume_with("--notrack");
  if (j.dry) {
    j.driver.show(render_plan(plan, j.ctx));
    return {"planned", "would open UDP 123 (" + describe_reach(plan.before) + " now)", doc};
  }
  j.driver.confirm(plan.live ? "Open UDP 123 in the host firewall?"
                             : fmt::format("Open UDP 123 in the firewall configured in {}?",
                                           j.ctx.fs.root().string()),
                   render_plan(plan, j.ctx));
  const FirewallOutcome outcome = apply_shown(j.ctx, plan, j.facts);
  add_outcome(doc, facts, &outcome);
  j.driver.keep(doc);
  if (const Judgement* closed = outcome.after.closed())
    throw Stop{to_int(ExitCode::check_failed), "UDP 123 is still closed: " + closed->describe()};
  return {"done",
          plan.live ? "UDP 123 let in: " + describe_reach(outcome.after)
                    : "UDP 123 let in by the image's firewall configuration, from its next boot",
          doc};
}

}  // namespace pooljoin::cli
