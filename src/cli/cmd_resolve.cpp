// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>

#include "commands.hpp"
#include "join_driver.hpp"
#include "steps.hpp"
#include "table.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/resolve.hpp"
#include "pooljoin/selection.hpp"

namespace pooljoin::cli {
namespace {

std::string ms(const std::optional<Measurement>& m, double Measurement::*field,
               const char* format) {
  return m ? fmt::format(fmt::runtime(format), (*m).*field) : "-";
}

}  // namespace

std::string render(const ResolveSurvey& survey, const Console& console) {
  Table table({"host", "address", "family", "delay", "offset", "stratum", "selected", "verdict"});
  for (const auto& c : survey.candidates.candidates) {
    if (c.addresses.empty()) {
      table.add({c.host, "-", "-", "-", "-", "-", "", console.paint(Console::Style::dim, c.error)});
      continue;
    }
    for (const auto& a : c.addresses) {
      std::string verdict =
          a.error.empty() ? "usable" : console.paint(Console::Style::dim, a.error);
      if (!a.fresh) verdict += console.paint(Console::Style::warn, " (last known address)");
      if (operator_local(c, a)) verdict += " (local network)";
      table.add({c.host, a.address.to_string(), std::string(to_string(a.address.family())),
                 ms(a.measurement, &Measurement::delay_ms, "{:.1f} ms"),
                 ms(a.measurement, &Measurement::offset_ms, "{:+.1f} ms"),
                 a.measurement ? std::to_string(a.measurement->stratum) : "-",
                 a.selected ? console.paint(Console::Style::ok, "*") : "", verdict});
    }
  }
  return table.render();
}

nlohmann::json to_json(const ResolveSurvey& survey) {
  const CandidatePlan& plan = survey.candidates;
  auto number = [](const std::optional<Measurement>& m, double Measurement::*field) {
    return m ? nlohmann::json((*m).*field) : nlohmann::json();
  };
  auto candidates = nlohmann::json::array();
  for (const auto& c : plan.candidates) {
    auto addresses = nlohmann::json::array();
    for (const auto& a : c.addresses) {
      addresses.push_back(
          {{"address", a.address.to_string()},
           {"family", to_string(a.address.family())},
           {"fresh", a.fresh},
           {"delay_ms", number(a.measurement, &Measurement::delay_ms)},
           {"offset_ms", number(a.measurement, &Measurement::offset_ms)},
           {"jitter_ms", number(a.measurement, &Measurement::jitter_ms)},
           {"stratum", a.measurement ? nlohmann::json(a.measurement->stratum) : nlohmann::json()},
           {"error", a.error.empty() ? nlohmann::json() : nlohmann::json(a.error)},
           {"local_network", operator_local(c, a)},
           {"selected", a.selected}});
    }
    nlohmann::json dns;
    if (c.a_status) dns = {{"a", to_string(*c.a_status)}, {"aaaa", to_string(*c.aaaa_status)}};
    candidates.push_back({{"host", c.host},
                          {"source", to_string(c.source)},
                          {"dns", dns},
                          {"addresses", addresses},
                          {"error", c.error.empty() ? nlohmann::json() : nlohmann::json(c.error)}});
  }
  auto own = nlohmann::json::array();
  for (const auto& o : survey.own) {
    own.push_back({{"address", o.local.address.to_string()},
                   {"interface", o.local.interface},
                   {"hosts", o.hosts}});
  }
  auto chosen = nlohmann::json::array();
  for (const auto& s : survey.selection.servers) {
    chosen.push_back({{"host", s.host},
                      {"address", s.address.to_string()},
                      {"family", to_string(s.address.family())}});
  }
  return {
      {"country", plan.zone.country.empty() ? nlohmann::json() : nlohmann::json(plan.zone.country)},
      {"zones", plan.zone_labels},
      {"reason", plan.zone.reason},
      {"dns_reachable", survey.dns == DnsOutcome::resolved},
      {"candidates", candidates},
      {"own_addresses", own},
      {"selected", chosen}};
}

int run_resolve(Context& ctx, const ResolveOptions& options) {
  const SystemFacts facts = detect(ctx.fs, ctx.effects.runner);
  show_facts(ctx, facts);
  ResolveRequest request = resolve_request(options);
  request.unmeasured_if_silent = ctx.options.dry_run;
  const ResolvePlan plan = value_or_throw(plan_resolve(facts, ctx.fs, request));
  ctx.console.note(fmt::format("zones: {} ({})", plan.zone_names(), plan.candidates.zone.reason));
  ResolveSurvey survey = [&] {
    ConsoleEvents events(ctx.console);
    return value_or_throw(survey_resolve(plan, ctx.effects, events.events()));
  }();
  if (ctx.console.json()) {
    ctx.console.emit_json(to_json(survey));
  } else if (!ctx.console.quiet()) {
    ctx.console.print(render(survey, ctx.console));
  }
  print_notes(ctx.console, survey.notes, survey.warnings);
  value_or_throw(survey.usable());
  const std::size_t count = survey.selection.servers.size();
  // The table is the result; -q shows the line that sums it up instead.
  auto result = [&](const std::string& line) {
    if (ctx.console.quiet()) {
      ctx.console.print(line);
    } else {
      ctx.console.note(line);
    }
  };
  if (ctx.options.dry_run) {
    result(fmt::format("selected {} servers (a dry run: not saved)", count));
    return to_int(ExitCode::ok);
  }
  // Measuring needs no root; saving the selection for gen-conf does. Without root, the
  // measurement is the result: shown, and said not to be saved.
  if (::geteuid() != 0) {
    ctx.console.warn(fmt::format(
        "nothing was saved: saving the selection in {} for gen-conf needs root (running as uid "
        "{}); run it with sudo to save it",
        kSelectionPath, ::geteuid()));
    result(fmt::format("selected {} servers (not saved: not root)", count));
    return to_int(ExitCode::ok);
  }
  begin_change(ctx, "resolve");
  auto outcome = value_or_throw(apply_resolve(survey, ctx.effects));
  result(fmt::format("selected {} servers; saved to {}", count, outcome.saved));
  return to_int(ExitCode::ok);
}

Action add_resolve(CLI::App& sub) {
  auto options = std::make_shared<ResolveOptions>();
  add_resolve_options(sub, *options);
  add_probe_options(sub, options->probe);
  return [options](Context& ctx) { return run_resolve(ctx, *options); };
}

// resolve in join: the saved selection when it still fits the options, else a survey; the
// selection is handed to gen-conf in memory (a dry run saves nothing).
StepOutcome join_resolve(JoinRun& j) {
  const std::optional<int> count =
      j.options.servers->count() > 0 ? std::optional<int>(j.options.resolve.servers) : std::nullopt;
  if (count) j.resume_with("--servers", std::to_string(*count));
  if (!j.options.refresh && j.options.resolve.candidates.empty() &&
      j.options.resolve.candidates_file.empty()) {
    auto saved = value_or_throw(load_selection(j.ctx.fs));
    if (saved && selection_fits(*saved, j.options.resolve.country, count)) {
      j.selection = saved;
      return {"unchanged",
              fmt::format("the {} servers chosen at {} (--refresh chooses again)",
                          saved->servers.size(), saved->created),
              nlohmann::json::parse(selection_to_json(*saved))};
    }
  }
  ResolveRequest request = resolve_request(j.options.resolve);
  if (request.country.empty()) request.country = j.driver.ask_country();
  if (!request.country.empty()) j.resume_with("--country", request.country);
  request.unmeasured_if_silent = j.dry;
  const ResolvePlan plan = value_or_throw(plan_resolve(j.facts, j.ctx.fs, request));
  j.ctx.console.note(fmt::format("zones: {} ({})", plan.zone_names(), plan.candidates.zone.reason));
  const ResolveSurvey survey = [&] {
    ConsoleEvents events(j.ctx.console);
    return value_or_throw(survey_resolve(plan, j.ctx.effects, events.events()));
  }();
  j.driver.keep(to_json(survey));
  if (!j.ctx.console.quiet()) j.driver.show(render(survey, j.ctx.console));
  print_notes(j.ctx.console, survey.notes, survey.warnings);
  value_or_throw(survey.usable());
  j.selection = survey.selection;
  if (!j.dry) value_or_throw(apply_resolve(survey, j.ctx.effects));
  return {j.dry ? "planned" : "done",
          fmt::format("{} servers near {}{}", survey.selection.servers.size(),
                      survey.selection.zone, j.dry ? " (not saved: a dry run)" : ""),
          to_json(survey)};
}

}  // namespace pooljoin::cli
