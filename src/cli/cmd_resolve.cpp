#include <filesystem>
#include <fstream>

#include "commands.hpp"
#include "probe_options.hpp"
#include "steps.hpp"
#include "table.hpp"
#include "ticker.hpp"
#include "validators.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/detect.hpp"
#include "pooljoin/dns.hpp"
#include "pooljoin/interrupt.hpp"
#include "pooljoin/resolve.hpp"
#include "pooljoin/selection.hpp"

namespace pooljoin::cli {
namespace {

// Each pool zone name is asked this many times: more draws from the pool's rotating answers.
constexpr int kPoolRounds = 2;

// The operator's hosts from --candidate and --candidates-file, each a host name or an address.
std::vector<std::string> user_hosts(const ResolveOptions& options) {
  std::vector<std::string> hosts;
  auto take = [&](const std::string& host, const std::string& where) {
    if (!IpAddress::parse(host) && !is_valid_hostname(host)) {
      throw Fatal(ExitCode::usage,
                  fmt::format("{}: \"{}\" is not a host name or an IP address", where, host));
    }
    hosts.push_back(host);
  };
  for (const auto& host : options.candidates)
    take(host, "--candidate");
  if (!options.candidates_file.empty()) {
    std::ifstream in(options.candidates_file);
    if (!in) {
      throw Fatal(ExitCode::usage,
                  fmt::format("--candidates-file: cannot read {}", options.candidates_file),
                  errno_text(errno));
    }
    // A directory opens, then reads as nothing at all.
    std::error_code ec;
    if (std::filesystem::is_directory(options.candidates_file, ec)) {
      throw Fatal(ExitCode::usage,
                  fmt::format("--candidates-file: cannot read {}", options.candidates_file),
                  "it is a directory");
    }
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      auto hash = line.find('#');
      if (hash != std::string::npos) line.erase(hash);
      auto begin = line.find_first_not_of(" \t\r");
      if (begin == std::string::npos) continue;
      line = line.substr(begin, line.find_last_not_of(" \t\r") - begin + 1);
      take(line, fmt::format("--candidates-file {}:{}", options.candidates_file, number));
    }
  }
  return hosts;
}

std::vector<Endpoint> dns_endpoints(const std::vector<std::string>& servers) {
  std::vector<Endpoint> endpoints;
  for (const auto& text : servers) {
    auto endpoint = parse_endpoint(text, 53);
    if (!endpoint || !IpAddress::parse(endpoint->host)) {
      throw Fatal(ExitCode::usage, fmt::format("--dns-server: \"{}\" is not ADDRESS[:PORT]", text),
                  {}, "give an IP address, with [brackets] around IPv6 when a port follows");
    }
    endpoints.push_back(*endpoint);
  }
  return endpoints;
}

std::string ms(const std::optional<Measurement>& m, double Measurement::*field,
               const char* format) {
  return m ? fmt::format(fmt::runtime(format), (*m).*field) : "-";
}

std::string render(const CandidatePlan& plan, const Console& console) {
  Table table({"host", "address", "family", "delay", "offset", "stratum", "selected", "verdict"});
  for (const auto& c : plan.candidates) {
    if (c.addresses.empty()) {
      table.add({c.host, "-", "-", "-", "-", "-", "", console.paint(Console::Style::dim, c.error)});
      continue;
    }
    for (const auto& a : c.addresses) {
      std::string verdict =
          a.error.empty() ? "usable" : console.paint(Console::Style::dim, a.error);
      if (!a.fresh) verdict += console.paint(Console::Style::warn, " (last known address)");
      table.add({c.host, a.address.to_string(), std::string(to_string(a.address.family())),
                 ms(a.measurement, &Measurement::delay_ms, "{:.1f} ms"),
                 ms(a.measurement, &Measurement::offset_ms, "{:+.1f} ms"),
                 a.measurement ? std::to_string(a.measurement->stratum) : "-",
                 a.selected ? console.paint(Console::Style::ok, "*") : "", verdict});
    }
  }
  return table.render();
}

nlohmann::json to_json(const CandidatePlan& plan, const std::vector<SelectedServer>& selected,
                       bool dns_ok) {
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
  auto chosen = nlohmann::json::array();
  for (const auto& s : selected) {
    chosen.push_back({{"host", s.host},
                      {"address", s.address.to_string()},
                      {"family", to_string(s.address.family())}});
  }
  return {
      {"country", plan.zone.country.empty() ? nlohmann::json() : nlohmann::json(plan.zone.country)},
      {"zones", plan.zone_labels},
      {"reason", plan.zone.reason},
      {"dns_reachable", dns_ok},
      {"candidates", candidates},
      {"selected", chosen}};
}

}  // namespace

int run_resolve(Context& ctx, const ResolveOptions& options, Selection* chosen) {
  require_root(ctx, "resolve");
  ZoneChoice zone;
  if (options.country.empty()) {
    zone = infer_zone(ctx.fs);
  } else if (is_country_code(ctx.fs, options.country)) {
    zone = zone_for_country(options.country);
  } else {
    throw Fatal(ExitCode::usage,
                fmt::format("--country: \"{}\" is not an ISO 3166 country code", options.country),
                {},
                "use the two-letter code, e.g. de, us, br (see /usr/share/zoneinfo/iso3166.tab)");
  }
  CandidateSources sources;
  sources.pool = !options.no_pool;
  sources.catalogue = !options.no_catalogue;
  CandidatePlan plan = plan_candidates(zone, user_hosts(options), kPoolRounds, sources);
  std::string zones;
  for (const auto& label : plan.zone_labels) {
    zones += (zones.empty() ? "" : ", ") +
             (label.empty() ? std::string("pool.ntp.org") : label + ".pool.ntp.org");
  }
  ctx.console.note(fmt::format("zones: {} ({})", zones, zone.reason));

  DnsOptions dns;
  dns.servers = dns_endpoints(options.dns_servers);
  dns.resolv_conf = ctx.fs.host("/etc/resolv.conf").string();
  dns.timeout = std::chrono::milliseconds(options.dns_timeout_ms);
  Resolver resolver = value_or_throw(Resolver::create(dns));
  std::string servers;
  for (const auto& s : resolver.servers())
    servers += (servers.empty() ? "" : ", ") + s;
  ctx.console.note(fmt::format("resolving {} names through {}", plan.names.size(), servers));
  auto answers = [&] {
    Ticker ticker(ctx.console, fmt::format("resolving {} names", plan.names.size()));
    return resolver.resolve(plan.names);
  }();
  throw_if_interrupted("resolve");
  DnsOutcome outcome = apply_answers(plan, answers);
  bool dns_ok = outcome == DnsOutcome::resolved;
  if (outcome == DnsOutcome::unreachable) {
    ctx.console.warn(fmt::format(
        "no DNS server answered ({}): using the catalogue's last known addresses", servers));
  } else if (outcome == DnsOutcome::nothing_resolved) {
    ctx.console.warn(
        fmt::format("DNS ({}) resolved none of the {} names, not even the pool's zones: using the "
                    "catalogue's last known addresses",
                    servers, plan.names.size()));
  }

  bool measured = !options.no_probe;
  if (measured) {
    const ProbeOptions probe_options = to_probe_options(options.probe);
    std::vector<ProbeTarget> targets;
    for (const auto& address : addresses_to_probe(plan.candidates))
      targets.push_back({address, 123, {}});
    ctx.console.note(fmt::format("measuring {} addresses over NTP ({} samples, {} s apart)",
                                 targets.size(), probe_options.samples,
                                 static_cast<double>(probe_options.interval.count()) / 1000));
    auto reports = [&] {
      Ticker ticker(ctx.console, fmt::format("measuring {} addresses", targets.size()));
      return value_or_throw(probe(targets, probe_options));
    }();
    bool any = std::any_of(reports.begin(), reports.end(),
                           [](const ProbeReport& r) { return r.valid > 0; });
    if (any || targets.empty()) apply_measurements(plan.candidates, reports);
    if (!any && !targets.empty()) {
      if (!ctx.options.dry_run) {
        throw Fatal(
            ExitCode::unavailable,
            fmt::format("none of the {} candidate addresses answered over NTP", targets.size()),
            "is outgoing UDP port 123 blocked?",
            "open it, or give servers you know with --candidate, or select unmeasured with "
            "--no-probe");
      }
      ctx.console.warn(
          fmt::format("none of the {} candidate addresses answered over NTP (outgoing UDP 123 "
                      "blocked, or no network): the dry run selects them unmeasured",
                      targets.size()));
      measured = false;
    }
  }

  std::vector<LocalAddress> global, excluded;
  machine_addresses(global, excluded);
  SelectionPolicy policy;
  policy.count = options.servers;
  policy.max_stratum = options.max_stratum;
  policy.measured = measured;
  policy.have_ipv6 = std::any_of(global.begin(), global.end(),
                                 [](const LocalAddress& a) { return !a.address.is_v4(); });
  policy.have_ipv4 = std::any_of(global.begin(), global.end(),
                                 [](const LocalAddress& a) { return a.address.is_v4(); }) ||
                     std::any_of(excluded.begin(), excluded.end(), [](const LocalAddress& a) {
                       return a.address.is_v4() && a.excluded_because != "loopback";
                     });
  auto selected = select_upstreams(plan.candidates, policy);

  if (ctx.console.json()) {
    ctx.console.emit_json(to_json(plan, selected, dns_ok));
  } else {
    ctx.console.print(render(plan, ctx.console));
  }
  if (static_cast<int>(selected.size()) < kMinUpstreams) {
    throw Fatal(
        ExitCode::unavailable,
        fmt::format("only {} usable upstream server{} found; the pool asks for at least {}",
                    selected.size(), selected.size() == 1 ? "" : "s", kMinUpstreams),
        dns_ok ? "" : "DNS is unreachable",
        "add servers you trust with --candidate HOST, or try another --country; nothing was saved");
  }
  if (static_cast<int>(selected.size()) < options.servers) {
    ctx.console.warn(fmt::format("only {} of the {} servers asked for are usable", selected.size(),
                                 options.servers));
  }
  Selection selection;
  selection.created = rfc3339_utc(std::chrono::system_clock::now());
  selection.country = zone.country;
  selection.zone = plan.zone_labels.front().empty() ? "pool.ntp.org"
                                                    : plan.zone_labels.front() + ".pool.ntp.org";
  selection.servers = selected;
  if (chosen) *chosen = selection;
  if (ctx.options.dry_run) {
    ctx.console.note(
        fmt::format("dry run: the selection of {} servers is not saved", selected.size()));
    return to_int(ExitCode::ok);
  }
  value_or_throw(save_selection(ctx.fs, selection));
  ctx.console.note(
      fmt::format("selected {} servers; saved to {}", selected.size(), kSelectionPath));
  return to_int(ExitCode::ok);
}

Action add_resolve(CLI::App& sub) {
  auto options = std::make_shared<ResolveOptions>();
  sub.add_option("--country", options->country,
                 "ISO 3166 country whose pool zone to use (default: from the system's time zone)")
      ->check(country_validator())
      ->type_name("CC");
  sub.add_option("--servers", options->servers,
                 "How many upstream servers to select (the pool asks 4 to 7)")
      ->check(CLI::Range(kMinUpstreams, kMaxUpstreams));
  sub.add_option("--candidate", options->candidates,
                 "Also consider this server (host name or address); repeatable")
      ->check(host_validator())
      ->type_name("HOST");
  sub.add_option("--candidates-file", options->candidates_file,
                 "Also consider the servers in FILE, one per line (# comments)")
      ->type_name("FILE");
  sub.add_option("--dns-server", options->dns_servers,
                 "Ask this DNS server instead of /etc/resolv.conf; repeatable")
      ->check(endpoint_validator())
      ->type_name("ADDR[:PORT]");
  sub.add_option("--dns-timeout", options->dns_timeout_ms,
                 "Milliseconds a DNS server has to answer each try")
      ->check(CLI::Range(100, 30000))
      ->type_name("MS");
  sub.add_option("--max-stratum", options->max_stratum,
                 "Reject upstreams above this stratum (3 keeps this server at stratum 4 or better)")
      ->check(CLI::Range(1, 15));
  sub.add_flag("--no-probe", options->no_probe, "Select without measuring the servers over NTP");
  add_probe_options(sub, options->probe);
  sub.add_flag("--no-pool", options->no_pool, "Do not take candidates from the pool's zones");
  sub.add_flag("--no-catalogue", options->no_catalogue,
               "Do not take candidates from the built-in catalogue");
  return [options](Context& ctx) { return run_resolve(ctx, *options); };
}

}  // namespace pooljoin::cli
