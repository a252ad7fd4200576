#include <cstdlib>

#include "commands.hpp"
#include "findings.hpp"
#include "probe_options.hpp"
#include "steps.hpp"
#include "table.hpp"
#include "ticker.hpp"
#include "validators.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/check.hpp"
#include "pooljoin/conf_lint.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/pool_api.hpp"
#include "pooljoin/submit.hpp"

namespace pooljoin::cli {
namespace {

// What the site will see, measured the way `check` does it, once for every address: the
// NTP answer of each (the site's own test when a server is added), the machine's check findings,
// and the lint of the live config.
struct MachineView {
  std::vector<AddressCheck> addresses;  // in the order of the addresses given
  std::vector<Finding> check;
  std::optional<std::vector<Finding>> lint;  // nullopt: no supported daemon to lint
};

MachineView look_at_machine(Context& ctx, const SystemFacts& system,
                            const std::vector<IpAddress>& addresses, const ProbeOptions& probe) {
  MachineView view;
  CheckFacts facts;
  facts.daemon = read_local_daemon(system, ctx.query_runner);
  facts.only_private_addresses = system.addresses.empty() && !system.excluded.empty();
  std::vector<ProbeTarget> targets;
  for (const auto& address : addresses)
    targets.push_back({address, 123, {}});
  ctx.console.note(fmt::format("checking {} address{} as the pool's monitors will", targets.size(),
                               targets.size() == 1 ? "" : "es"));
  CheckOptions check;
  check.probe = probe;
  facts.addresses = value_or_throw(check_addresses(targets, check));
  view.addresses = facts.addresses;
  view.check = diagnose(facts);
  if (auto daemon = configured_daemon(system)) {
    if (auto live = lint_live_config(ctx.fs, system.distro, *daemon)) view.lint = live->findings;
  }
  return view;
}

// One address's answer in the terms of the site's rule (0 < stratum < 6).
NtpAnswer ntp_answer(const AddressCheck& check) {
  NtpAnswer answer;
  const ProbeReport& report = check.ntp;
  // An unsynchronised server answers too (stratum 0 or 16): what the site sees is the stratum.
  answer.answered = report.reachable();
  answer.stratum = report.best.stratum;
  if (report.valid == 0) {
    answer.detail = report.best.fault == NtpFault::kiss_of_death
                        ? fmt::format("kiss-o'-death {}", report.best.kiss)
                        : std::string(describe(report.best.fault));
  }
  return answer;
}

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

PreflightFacts collect_preflight(Context& ctx, const SystemFacts& system, const ProbeOptions& probe,
                                 const std::vector<IpAddress>& addresses, bool verifying) {
  PreflightFacts facts;
  facts.excluded = system.excluded;
  facts.verifying = verifying;
  for (const auto& address : addresses) {
    AddressFacts a;
    a.address = address;
    auto score = fetch_server_score(ctx.http, ctx.options.api_base, address, 1);
    if (!score) {
      if (score.error().code == ExitCode::interrupted) throw Fatal(score.error());
      a.registration = Registration::lookup_failed;
      a.registration_error = score.error().message();
    } else {
      a.registration = score->known ? Registration::registered : Registration::not_registered;
      if (score->score) a.score = score->score->value;
    }
    facts.addresses.push_back(std::move(a));
  }
  MachineView view = look_at_machine(ctx, system, addresses, probe);
  for (std::size_t i = 0; i < facts.addresses.size(); ++i)
    facts.addresses[i].ntp = ntp_answer(view.addresses[i]);
  facts.lint = std::move(view.lint);
  facts.check = std::move(view.check);
  return facts;
}

std::optional<HostnameFacts> hostname_facts(const SubmitOptions& options,
                                            const HostResolver& resolve) {
  std::optional<std::string> name =
      options.hostname.empty() ? machine_fqdn() : std::optional<std::string>(options.hostname);
  if (!name) return std::nullopt;
  HostnameFacts facts;
  facts.name = *name;
  auto resolved = resolve(*name);
  if (resolved) {
    facts.addresses = std::move(*resolved);
  } else {
    facts.error = resolved.error().why.empty() ? resolved.error().what : resolved.error().why;
  }
  return facts;
}

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
  const auto& speed = plan.net_speed;
  out += fmt::format("  2. Set the net speed of each new server to {} ({} kbit/s): {}.\n",
                     net_speed_label(speed.kbit), speed.kbit, speed.reason);
  out += fmt::format("     {}.\n", expected_traffic(speed));
  out +=
      "  3. The site then gives a validation URL; prove that the server is yours with\n"
      "     pooljoin submit --verify-url URL\n";
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
            {"expected_traffic_kbit", speed.expected_traffic_kbit}}}};
}

nlohmann::json to_json(const Verification& v) {
  return {{"address", v.address.to_string()},
          {"family", to_string(v.address.family())},
          {"ok", v.ok},
          {"status", v.status == 0 ? nlohmann::json() : nlohmann::json(v.status)},
          {"local_address", v.local_address},
          {"message", v.message},
          {"body", v.body}};
}

std::string render_verification(const std::string& url, const std::vector<Verification>& results,
                                const Console& console) {
  std::string out = console.paint(Console::Style::bold, "Ownership proof") +
                    fmt::format(" (one request to {} from each address):\n", url);
  Table table;
  for (const auto& v : results) {
    table.add(
        {"  " + v.address.to_string(),
         v.ok ? console.paint(Console::Style::ok, "ok")
              : console.paint(Console::Style::fail, "FAIL"),
         v.message +
             (v.ok && !v.local_address.empty() ? " (sent from " + v.local_address + ")" : "")});
  }
  return out + table.render();
}

}  // namespace

int run_submit(Context& ctx, const SubmitOptions& options) {
  const bool verifying = !options.verify_url.empty();
  SystemFacts system = detect(ctx.fs, ctx.query_runner);
  std::vector<IpAddress> addresses = parse_addresses(options.addresses);
  if (addresses.empty()) {
    for (const auto& a : system.addresses)
      addresses.push_back(a.address);
  }

  PreflightFacts facts = [&] {
    Ticker ticker(ctx.console, "checking what the pool's site will check");
    return collect_preflight(ctx, system, to_probe_options(options.probe), addresses, verifying);
  }();
  std::vector<Finding> findings = preflight(facts);
  const bool preflight_failed = worst(findings) == Severity::fail;

  std::vector<IpAddress> global;
  for (const auto& a : addresses)
    if (a.is_global_unicast()) global.push_back(a);
  std::optional<double> bandwidth;
  if (options.bandwidth > 0) bandwidth = options.bandwidth;
  SubmitInstructions plan =
      plan_submission(global, hostname_facts(options, resolve_with_getaddrinfo),
                      recommend_net_speed(system.virtualization, bandwidth));

  bool opened = false;
  if (options.open) {
    if (ctx.options.dry_run) {
      ctx.console.note(fmt::format("dry run: would open {} with xdg-open", plan.page));
    } else if (!has_desktop()) {
      ctx.console.note(fmt::format(
          "note: no desktop here (DISPLAY and WAYLAND_DISPLAY unset, or no xdg-open): open {} "
          "in a browser",
          plan.page));
    } else {
      auto result =
          ctx.query_runner.run({{"xdg-open", plan.page}}, {.timeout = std::chrono::seconds(15)});
      opened = result && result->ok();
      if (!opened) {
        ctx.console.warn(fmt::format("xdg-open could not open {} ({}); open it in a browser",
                                     plan.page,
                                     result ? result->status_text() : result.error().message()));
      }
    }
  }

  std::optional<std::vector<Verification>> verification;
  if (verifying && !ctx.options.dry_run) {
    verification = value_or_throw(verify_ownership(ctx.http, options.verify_url, addresses));
  }
  bool verification_failed =
      verification && std::any_of(verification->begin(), verification->end(),
                                  [](const Verification& v) { return !v.ok; });
  if (verifying && addresses.empty()) verification_failed = true;

  if (ctx.console.json()) {
    std::vector<std::string> address_texts;
    for (const auto& a : addresses)
      address_texts.push_back(a.to_string());
    nlohmann::json verification_json;
    if (verification) {
      auto results = nlohmann::json::array();
      for (const auto& v : *verification)
        results.push_back(to_json(v));
      verification_json = {{"url", options.verify_url}, {"results", results}};
    }
    Severity status = worst(findings);
    if (verification_failed) status = Severity::fail;
    ctx.console.emit_json({{"status", to_string(status)},
                           {"addresses", address_texts},
                           {"findings", cli::to_json(findings)},
                           {"instructions", to_json(plan)},
                           {"opened", opened},
                           {"verification", verification_json}});
  } else {
    std::string out =
        ctx.console.paint(Console::Style::bold, "Pre-flight") + " (the checks the site makes):\n";
    std::string list = render_findings(findings, ctx.console);
    int ok = 0, warn = 0, failed = 0;
    for (const auto& f : findings)
      (f.severity == Severity::ok ? ok : f.severity == Severity::warn ? warn : failed)++;
    out += list;
    out += fmt::format("  {} passed, {} not checked or warned, {} failed{}\n", ok, warn, failed,
                       ctx.console.verbose() == 0 && ok > 0 ? " (-v lists the passed ones)" : "");
    out += '\n' + render_instructions(plan, preflight_failed, ctx.console);
    if (verification)
      out += '\n' + render_verification(options.verify_url, *verification, ctx.console);
    ctx.console.print(out);
  }
  if (verifying && ctx.options.dry_run) {
    for (const auto& a : addresses)
      ctx.console.note(
          fmt::format("dry run: would request {} from {}", options.verify_url, a.to_string()));
  }
  if (verifying && addresses.empty())
    ctx.console.warn("no address to prove ownership from: this machine has no global address");
  return to_int(preflight_failed || verification_failed ? ExitCode::check_failed : ExitCode::ok);
}

Action add_submit(CLI::App& sub) {
  auto options = std::make_shared<SubmitOptions>();
  add_probe_options(sub, options->probe);
  sub.add_option("address", options->addresses,
                 "The server's public addresses (default: this machine's global addresses)")
      ->type_name("ADDRESS");
  sub.add_option("--hostname", options->hostname,
                 "The server's name, entered on the site instead of the addresses when it "
                 "resolves to exactly them (default: this machine's fully qualified name)")
      ->check(hostname_validator())
      ->type_name("NAME");
  sub.add_option("--bandwidth", options->bandwidth,
                 "The server's connection speed in Mbit/s, for the recommended net speed")
      ->type_name("MBIT")
      ->check(CLI::Range(1, 100000));
  sub.add_flag("--open", options->open,
               "Open the pool's add-server page in the desktop's browser (xdg-open)");
  sub.add_option("--verify-url", options->verify_url,
                 "Prove ownership: request the site's validation URL from each of the server's "
                 "own addresses")
      ->check(url_validator())
      ->type_name("URL");
  return [options](Context& ctx) { return run_submit(ctx, *options); };
}

}  // namespace pooljoin::cli
