// SPDX-License-Identifier: Apache-2.0
#include <cstdlib>

#include "commands.hpp"
#include "findings.hpp"
#include "join_driver.hpp"
#include "steps.hpp"
#include "table.hpp"
#include "validators.hpp"
#include <fmt/format.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/submit.hpp"

namespace pooljoin::cli {
namespace {

bool has_desktop() {
  auto set = [](const char* name) {
    const char* value = std::getenv(name);
    return value && *value;
  };
  return (set("DISPLAY") || set("WAYLAND_DISPLAY")) && in_path("xdg-open");
}

std::string family_name(IpFamily family) {
  return family == IpFamily::v4 ? "IPv4" : "IPv6";
}

std::string expected_traffic(const NetSpeedAdvice& advice) {
  return fmt::format(
      "The guide's figure: a server set to {} served about {:g} kbit/s each way; at {} expect "
      "roughly {:.2g} kbit/s each way, more in zones with few servers",
      net_speed_label(static_cast<int>(kGuideSettingKbit)), kGuideTrafficKbit,
      net_speed_label(advice.kbit), advice.expected_traffic_kbit);
}

std::string render_instructions(const SubmitInstructions& plan, bool preflight_failed,
                                const Console& console) {
  std::string out;
  out += console.paint(Console::Style::bold, "On the pool's site") +
         (preflight_failed ? " (once the failures above are fixed):\n" : ":\n");
  out += fmt::format("  1. Log in at {} and add the server (\"Add server\"):\n", plan.page);
  Table table;
  for (const auto& step : plan.families) {
    std::string enter;
    for (const auto& value : step.enter)
      enter += (enter.empty() ? "" : ", then ") + value;
    std::string addresses;
    for (const auto& a : step.addresses)
      addresses += (addresses.empty() ? "" : ", ") + a.to_string();
    table.add({"     " + family_name(step.family), "enter " + enter,
               plan.use_hostname ? "(" + addresses + ")" : ""});
  }
  out += table.render();
  if (!plan.hostname_note.empty()) out += "     " + plan.hostname_note + "\n";
  out +=
      "  2. Prove that the server is yours: the site names a validation URL for each family;\n"
      "     pooljoin submit --verify-url4 URL4 --verify-url6 URL6\n"
      "     requests each from this machine's addresses of that family; open the URL each\n"
      "     answers with (logged in) and confirm.\n";
  const auto& speed = plan.net_speed;
  if (speed.needs_verification()) {
    out += fmt::format(
        "  3. Then set the net speed of each new server to {} ({} kbit/s): {}. It starts at {}, "
        "the most an unverified server may have: the site takes the higher setting only once "
        "the server is verified.\n",
        net_speed_label(speed.kbit), speed.kbit, speed.reason,
        net_speed_label(kUnverifiedNetSpeedKbit));
  } else {
    out += fmt::format("  3. Set the net speed of each new server to {} ({} kbit/s): {}.\n",
                       net_speed_label(speed.kbit), speed.kbit, speed.reason);
  }
  out += fmt::format("     {}.\n", expected_traffic(speed));
  return out;
}

nlohmann::json to_json(const SubmitInstructions& plan) {
  nlohmann::json hostname;
  if (plan.hostname) {
    std::vector<std::string> addresses;
    for (const auto& a : plan.hostname->addresses)
      addresses.push_back(a.to_string());
    hostname = {{"name", plan.hostname->name},
                {"addresses", addresses},
                {"error", plan.hostname->error.empty() ? nlohmann::json()
                                                       : nlohmann::json(plan.hostname->error)}};
  }
  auto families = nlohmann::json::array();
  for (const auto& step : plan.families) {
    std::vector<std::string> addresses;
    for (const auto& a : step.addresses)
      addresses.push_back(a.to_string());
    families.push_back(
        {{"family", to_string(step.family)}, {"addresses", addresses}, {"enter", step.enter}});
  }
  const auto& speed = plan.net_speed;
  return {{"page", plan.page},
          {"hostname", hostname},
          {"use_hostname", plan.use_hostname},
          {"hostname_note", plan.hostname_note},
          {"families", families},
          {"net_speed",
           {{"kbit", speed.kbit},
            {"label", net_speed_label(speed.kbit)},
            {"machine", to_string(speed.kind)},
            {"reason", speed.reason},
            {"expected_traffic_kbit", speed.expected_traffic_kbit},
            {"unverified_limit_kbit", kUnverifiedNetSpeedKbit},
            {"after_verification", speed.needs_verification()}}}};
}

nlohmann::json to_json(const Verification& v) {
  return {
      {"address", v.address.to_string()},
      {"family", to_string(v.address.family())},
      {"url", v.url.empty() ? nlohmann::json() : nlohmann::json(v.url)},
      {"proven", v.attempted ? nlohmann::json(v.ok) : nlohmann::json()},
      {"ok", v.ok},
      {"status", v.status == 0 ? nlohmann::json() : nlohmann::json(v.status)},
      {"local_address", v.local_address},
      {"message", v.message},
      {"body", v.body},
      {"confirm_url", v.confirm_url.empty() ? nlohmann::json() : nlohmann::json(v.confirm_url)}};
}

// "IPv6 not proven: ..." for each family left without its validation URL, on stderr.
void warn_not_proven(const SubmitOutcome& outcome, const Console& console) {
  for (const IpFamily family : outcome.not_proven()) {
    console.warn(
        fmt::format("{} not proven: the site names a validation URL for each family; prove it with "
                    "`pooljoin submit --verify-url{} URL`",
                    family_name(family), family == IpFamily::v4 ? "4" : "6"));
  }
}

std::string render_verification(const SubmitPlan& plan, const SubmitOutcome& outcome,
                                const Console& console) {
  std::string out = console.paint(Console::Style::bold, "Ownership proof") +
                    " (one request to its family's validation URL from each address):\n";
  for (const IpFamily family : {IpFamily::v4, IpFamily::v6}) {
    if (!plan.verify_url(family).empty())
      out += fmt::format("  {}: {}\n", family_name(family), plan.verify_url(family));
  }
  Table table;
  for (const auto& v : outcome.verification) {
    table.add(
        {"  " + v.address.to_string(),
         !v.attempted ? console.paint(Console::Style::warn, "not proven")
         : v.ok       ? console.paint(Console::Style::ok, "ok")
                      : console.paint(Console::Style::fail, "FAIL"),
         v.message +
             (v.ok && !v.local_address.empty() ? " (sent from " + v.local_address + ")" : "")});
  }
  out += table.render();
  for (const auto& v : outcome.verification) {
    if (v.ok && !v.confirm_url.empty()) {
      out += fmt::format("  {}: now open {} on the site (logged in) and confirm\n",
                         v.address.to_string(), v.confirm_url);
    } else if (v.ok) {
      out += fmt::format("  {}: the site answered \"{}\", not a URL to confirm\n",
                         v.address.to_string(), v.body);
    }
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const SubmitPlan& plan, const std::optional<SubmitOutcome>& outcome,
                       bool opened) {
  std::vector<std::string> address_texts;
  for (const auto& a : plan.addresses)
    address_texts.push_back(a.to_string());
  nlohmann::json verification_json;
  if (outcome && outcome->proving) {
    auto results = nlohmann::json::array();
    for (const auto& v : outcome->verification)
      results.push_back(to_json(v));
    auto url = [](const std::string& u) {
      return u.empty() ? nlohmann::json() : nlohmann::json(u);
    };
    verification_json = {
        {"urls", {{"ipv4", url(plan.verify_url4)}, {"ipv6", url(plan.verify_url6)}}},
        {"results", results}};
  }
  Severity status = worst(plan.findings);
  if (outcome && outcome->failed()) status = Severity::fail;
  return {{"status", to_string(status)},
          {"addresses", address_texts},
          {"findings", cli::to_json(plan.findings)},
          {"instructions", to_json(plan.instructions)},
          {"opened", opened},
          {"verification", verification_json}};
}

std::string render(const SubmitPlan& plan, const std::optional<SubmitOutcome>& outcome,
                   const Console& console) {
  int ok = 0, warn = 0, failed = 0;
  for (const auto& f : plan.findings)
    (f.severity == Severity::ok ? ok : f.severity == Severity::warn ? warn : failed)++;
  std::string counts =
      fmt::format("{} passed, {} not checked or warned, {} failed", ok, warn, failed);
  if (console.quiet()) {
    std::string out = fmt::format("pre-flight: {}\n", counts);
    if (outcome && outcome->proving) {
      out += fmt::format("ownership proof: {}\n", outcome->failed() ? "FAILED" : "ok");
    }
    return out;
  }
  std::string out =
      console.paint(Console::Style::bold, "Pre-flight") + " (the checks the site makes):\n";
  out += render_findings(plan.findings, console);
  out += fmt::format("  {}{}\n", counts,
                     console.verbose() == 0 && ok > 0 ? " (-v lists the passed ones)" : "");
  out += '\n' + render_instructions(plan.instructions, plan.preflight_failed(), console);
  if (outcome && outcome->proving) out += '\n' + render_verification(plan, *outcome, console);
  return out;
}

namespace {

struct SubmitCommand {
  std::vector<std::string> addresses;
  SubmitOptions step;
  ProbeOptions probe;
};

std::vector<IpAddress> parse_addresses(const std::vector<std::string>& texts) {
  std::vector<IpAddress> addresses;
  for (const auto& text : texts) {
    auto ip = IpAddress::parse(text);
    if (!ip) {
      throw Fatal(ExitCode::usage, fmt::format("submit: '{}' is not an IP address", text), {},
                  "give the server's public IPv4 or IPv6 addresses");
    }
    addresses.push_back(*ip);
  }
  return addresses;
}

// --open: the add-server page in the desktop's browser, when there is a desktop.
bool open_page(Context& ctx, const std::string& page) {
  if (ctx.options.dry_run) {
    ctx.console.note(fmt::format("dry run: would open {} with xdg-open", page));
    return false;
  }
  if (!has_desktop()) {
    ctx.console.note(fmt::format(
        "note: no desktop here (DISPLAY and WAYLAND_DISPLAY unset, or no xdg-open): open {} in a "
        "browser",
        page));
    return false;
  }
  auto result = ctx.effects.runner.run({{"xdg-open", page}}, {.timeout = std::chrono::seconds(15)});
  bool opened = result && result->ok();
  if (!opened) {
    ctx.console.warn(fmt::format("xdg-open could not open {} ({}); open it in a browser", page,
                                 result ? result->status_text() : result.error().message()));
  }
  return opened;
}

int run_submit(Context& ctx, const SubmitCommand& command) {
  const SystemFacts system = detect(ctx.fs, ctx.effects.runner);
  show_facts(ctx, system);
  SubmitRequest request = submit_request(ctx, command.step, command.probe);
  request.addresses = parse_addresses(command.addresses);
  const SubmitPlan plan = [&] {
    ConsoleEvents events(ctx.console);
    return value_or_throw(plan_submit(system, request, ctx.effects, events.events()));
  }();
  const bool opened = command.step.open && open_page(ctx, plan.instructions.page);

  std::optional<SubmitOutcome> outcome;
  if (plan.proving()) {
    if (ctx.options.dry_run) {
      for (const auto& a : plan.addresses) {
        const std::string& url = plan.verify_url(a.family());
        ctx.console.note(
            url.empty()
                ? fmt::format("dry run: {} has no validation URL of its family", a.to_string())
                : fmt::format("dry run: would request {} from {}", url, a.to_string()));
      }
    } else {
      outcome = value_or_throw(apply_submit(plan, ctx.effects));
      warn_not_proven(*outcome, ctx.console);
    }
    if (plan.addresses.empty())
      ctx.console.warn("no address to prove ownership from: this machine has no global address");
  }
  if (ctx.console.json()) {
    ctx.console.emit_json(cli::to_json(plan, outcome, opened));
  } else {
    ctx.console.print(render(plan, outcome, ctx.console));
  }
  return to_int(plan.failure(outcome).empty() ? ExitCode::ok : ExitCode::check_failed);
}

}  // namespace

Action add_submit(CLI::App& sub) {
  auto command = std::make_shared<SubmitCommand>();
  add_probe_options(sub, command->probe);
  sub.add_option("address", command->addresses,
                 "The server's public addresses (default: this machine's global addresses)")
      ->type_name("ADDRESS");
  add_submit_options(sub, command->step);
  return [command](Context& ctx) { return run_submit(ctx, *command); };
}

// submit in join: only the addresses the pool does not know yet.
StepOutcome join_submit(JoinRun& j) {
  if (j.dry) {
    j.driver.show("pooljoin submit\n");
    return {"planned", "would check what the pool's site checks, then say what to enter there", {}};
  }
  if (!j.ctx.fs.is_live()) return {"skipped", "an image: submit it once it runs", {}};
  SubmitRequest request = submit_request(j.ctx, j.options.submit, j.options.resolve.probe);
  // A server the pool knows has joined: only the addresses it does not know are submitted.
  request.only_unregistered =
      request.verify_url.empty() && request.verify_url4.empty() && request.verify_url6.empty();
  const SubmitPlan plan = [&] {
    ConsoleEvents events(j.ctx.console);
    return value_or_throw(plan_submit(j.facts, request, j.ctx.effects, events.events()));
  }();
  if (plan.nothing_to_submit()) {
    return {"unchanged",
            "every address is in the pool already (`pooljoin status` shows the score)",
            {}};
  }
  std::optional<SubmitOutcome> outcome;
  if (plan.proving()) {
    outcome = value_or_throw(apply_submit(plan, j.ctx.effects));
    warn_not_proven(*outcome, j.ctx.console);
  }
  const nlohmann::json doc = to_json(plan, outcome, false);
  j.driver.keep(doc);
  j.driver.show(render(plan, outcome, j.ctx.console));
  if (const std::string why = plan.failure(outcome); !why.empty())
    throw Stop{to_int(ExitCode::check_failed), why};
  return {
      "done",
      !plan.proving() ? "ready to add on the pool's site (instructions above)"
      : outcome && !outcome->not_proven().empty()
          // One family proven (else the step failed), the other not.
          ? fmt::format("ownership proven for {}; {} not proven",
                        family_name(outcome->not_proven().front() == IpFamily::v4 ? IpFamily::v6
                                                                                  : IpFamily::v4),
                        family_name(outcome->not_proven().front()))
          : "ownership proven",
      doc};
}

}  // namespace pooljoin::cli
