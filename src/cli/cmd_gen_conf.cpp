#include <filesystem>
#include <iostream>
#include <iterator>

#include "commands.hpp"
#include "findings.hpp"
#include "generated_at.hpp"
#include "steps.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/conf_lint.hpp"
#include "pooljoin/detect.hpp"
#include "pooljoin/ntp_config.hpp"
#include "pooljoin/resources.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/text_diff.hpp"

namespace pooljoin::cli {
namespace {

// The daemon from --daemon, else the one detect recommends.
Daemon chosen_daemon(const GenConfOptions& options, const SystemFacts& facts) {
  if (options.daemon != "auto") return *parse_daemon(options.daemon);
  if (!facts.recommended) {
    throw Fatal(ExitCode::unsupported, "no NTP daemon known for this distribution",
                facts.distro.id.empty() ? "no /etc/os-release" : "ID=" + facts.distro.id,
                "choose one with --daemon ntpsec, ntp or chrony");
  }
  return *facts.recommended;
}

DaemonSpec spec_of(const SystemFacts& facts, Daemon daemon) {
  if (facts.distro.family == Family::unknown) {
    throw Fatal(ExitCode::unsupported, "unsupported distribution",
                facts.distro.id.empty() ? "no /etc/os-release" : "ID=" + facts.distro.id,
                "write the config by hand; `pooljoin gen-conf --lint FILE` checks it");
  }
  auto spec = daemon_spec(facts.distro, daemon);
  if (!spec) {
    std::string available;
    for (Daemon d : packaged_daemons(facts.distro))
      available += (available.empty() ? "" : " or ") + std::string(to_string(d));
    throw Fatal(ExitCode::unsupported,
                fmt::format("{} does not package {}", facts.distro.pretty_name, to_string(daemon)),
                {}, fmt::format("use --daemon {}", available.empty() ? "auto" : available));
  }
  return *spec;
}

nlohmann::json to_json(const LintFinding& f) {
  auto json = cli::to_json(f.finding);
  json["line"] = f.line;
  return json;
}

int run_lint(Context& ctx, const GenConfOptions& options) {
  std::string text, shown;
  std::optional<Daemon> daemon;
  if (options.daemon != "auto") daemon = parse_daemon(options.daemon);
  if (options.lint_file.empty()) {
    SystemFacts facts = detect(ctx.fs, ctx.query_runner);
    Daemon d = daemon ? *daemon : chosen_daemon(options, facts);
    DaemonSpec spec = spec_of(facts, d);
    auto content = ctx.fs.read_file(spec.config_path);
    if (!content) {
      throw Fatal(ExitCode::unavailable, fmt::format("cannot lint {}", spec.config_path),
                  content.error().why,
                  "give the file to check: `pooljoin gen-conf --lint FILE` (and --daemon)");
    }
    text = std::move(*content);
    shown = ctx.fs.host(spec.config_path).string();
    daemon = d;
  } else {
    if (options.lint_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      shown = "standard input";
    } else {
      RootedFs host("/");
      shown = std::filesystem::absolute(options.lint_file).string();
      text = value_or_throw(host.read_file(shown));
    }
    if (!daemon) {
      // The text tells chrony from ntpd; the ntpd family's members from each other only the
      // system does (their rules differ on nopeer).
      auto guessed = guess_daemon(text);
      if (guessed == Daemon::chrony) {
        daemon = Daemon::chrony;
      } else {
        auto local = detect(ctx.fs, ctx.query_runner).recommended;
        bool fits = local && (!guessed || is_ntpd_family(*local));
        daemon = fits ? *local : Daemon::ntpsec;
      }
    }
  }

  auto findings = lint_config(text, *daemon);
  const std::size_t upstreams = count_upstreams(text, *daemon);
  std::vector<Finding> plain;
  for (const auto& f : findings)
    plain.push_back(f.finding);
  const Severity verdict = worst(plain);
  if (ctx.console.json()) {
    auto list = nlohmann::json::array();
    for (const auto& f : findings)
      list.push_back(to_json(f));
    ctx.console.emit_json({{"file", shown},
                           {"daemon", to_string(*daemon)},
                           {"upstreams", upstreams},
                           {"verdict", to_string(verdict)},
                           {"findings", list}});
  } else {
    std::string out = fmt::format("{} (read as a {} config): {} upstream server{}\n", shown,
                                  to_string(*daemon), upstreams, upstreams == 1 ? "" : "s");
    if (findings.empty()) {
      out += ctx.console.paint(Console::Style::ok, "ok") + "    follows the pool's rules\n";
    } else {
      out += render_findings(plain, ctx.console);
    }
    ctx.console.print(out);
  }
  return to_int(verdict == Severity::fail ? ExitCode::check_failed : ExitCode::ok);
}

}  // namespace

int run_gen_conf(Context& ctx, const GenConfOptions& options) {
  if (options.lint && options.lint->count() > 0) return run_lint(ctx, options);
  const bool to_stdout = options.output == "-";
  const bool to_config = options.output.empty();
  // Writing the live config is the change that needs root; a dry run or an export does not.
  if (to_config) require_root(ctx, "gen-conf");

  SystemFacts facts = detect(ctx.fs, ctx.query_runner);
  const Daemon daemon = chosen_daemon(options, facts);
  const DaemonSpec spec = spec_of(facts, daemon);

  ConfigRequest request;
  request.spec = spec;
  if (!options.servers.empty()) {
    for (const auto& server : options.servers)
      request.servers.push_back(value_or_throw(parse_upstream(server)));
    request.origin = "given on the command line (--server)";
  } else if (options.selection) {
    request.servers = value_or_throw(upstreams_from(*options.selection));
    request.origin = selection_origin(*options.selection) + " (not saved: a dry run)";
  } else if (auto selection = value_or_throw(load_selection(ctx.fs))) {
    request.servers = value_or_throw(upstreams_from(*selection));
    request.origin = selection_origin(*selection);
  }
  value_or_throw(check_upstream_count(request.servers, options.force));
  if (std::ssize(request.servers) < kMinUpstreams || std::ssize(request.servers) > kMaxUpstreams) {
    ctx.console.warn(fmt::format("{} upstream servers, outside the pool's {} to {} (--force)",
                                 request.servers.size(), kMinUpstreams, kMaxUpstreams));
  }
  const std::string leap = leap_data_path(spec);
  request.leapfile = !leap.empty() && ctx.fs.exists(leap);
  if (!leap.empty() && !request.leapfile) {
    ctx.console.note(fmt::format("note: {} does not exist under {}: no leap-second line", leap,
                                 ctx.fs.root().string()));
  }
  request.generated_at = generated_at();
  const auto templates = value_or_throw(templates_dir());
  std::string text = value_or_throw(render_config(templates, request));

  // What pooljoin renders must pass its own lint; only --force may render a count outside 4..7.
  for (const auto& f : lint_config(text, daemon)) {
    if (f.finding.severity == Severity::ok) continue;
    if (f.finding.id == "lint.upstream-count" && options.force) continue;
    throw Fatal(ExitCode::internal, "the rendered config breaks a pool rule", f.finding.message,
                "please report this");
  }

  // Where it goes: the daemon's config under --root, or a file of the caller's.
  const RootedFs host_fs("/");
  const RootedFs& target_fs = to_config ? ctx.fs : host_fs;
  const std::string target =
      to_config ? spec.config_path
                : (to_stdout ? "-" : std::filesystem::absolute(options.output).string());

  // The same config but for the time in its header: keep the file as it is.
  if (auto current = target_fs.read(target);
      current && !to_stdout && same_apart_from_generation_time(*current, text)) {
    text = *current;
  }

  nlohmann::json doc = {{"daemon", to_string(daemon)},
                        {"config_path", spec.config_path},
                        {"target", to_config ? ctx.fs.host(target).string() : target},
                        {"generated_at", request.generated_at},
                        {"origin", request.origin},
                        {"content", text}};
  auto servers = nlohmann::json::array();
  for (const auto& s : request.servers)
    servers.push_back({{"address", s.address}, {"note", s.note}});
  doc["servers"] = servers;

  if (ctx.options.dry_run || to_stdout) {
    std::string out = text;
    if (!to_stdout) {
      auto current = target_fs.read(target);
      std::string shown = to_config ? ctx.fs.host(target).string() : target;
      std::string diff =
          current ? unified_diff(*current, text, shown, shown + " (new)") : std::string();
      if (current && diff.empty()) ctx.console.note(fmt::format("{} is already this file", shown));
      if (!current) ctx.console.note(fmt::format("{} does not exist yet", shown));
      out += diff;
      doc["diff"] = current ? nlohmann::json(diff) : nlohmann::json(nullptr);
    }
    if (ctx.console.json()) {
      ctx.console.emit_json(doc);
    } else {
      ctx.console.print(out);
    }
    return to_int(ExitCode::ok);
  }

  WriteOptions write;
  std::string checked;
  if (to_config) {
    auto program = daemon_program(ctx.fs, daemon);
    if (!program && !options.no_daemon_check) {
      throw Fatal(
          ExitCode::unavailable,
          fmt::format("{} is not installed, so it cannot check the new config", to_string(daemon)),
          fmt::format("no {} program under {}", daemon == Daemon::chrony ? "chronyd" : "ntpd",
                      ctx.fs.root().string()),
          "run `pooljoin install-ntp` first, or add --no-daemon-check to write a file "
          "checked by pooljoin's own rules only");
    }
    if (program && !options.no_daemon_check) {
      // Runs after this block: the program by value, the rest outlives the write.
      write.verify = [&ctx, &checked, daemon,
                      program = *program](const std::string& candidate) -> Result<void> {
        ctx.console.detail(fmt::format("checking {} with {}", candidate, program));
        auto result = check_with_daemon(ctx.fs, ctx.query_runner, daemon, program, candidate);
        if (!result) return tl::unexpected(result.error());
        checked = *result;
        return {};
      };
    } else {
      ctx.console.warn(fmt::format("not checked by {} (--no-daemon-check)", to_string(daemon)));
    }
  }
  WriteOutcome outcome = value_or_throw(target_fs.write_atomic(target, text, write));
  const std::string shown = to_config ? ctx.fs.host(target).string() : target;

  doc["changed"] = outcome.changed;
  doc["backup"] = outcome.backup.empty() ? nlohmann::json(nullptr)
                                         : nlohmann::json(target_fs.host(outcome.backup).string());
  doc["daemon_check"] = checked.empty() ? nlohmann::json(nullptr) : nlohmann::json(checked);
  if (ctx.console.json()) {
    ctx.console.emit_json(doc);
    return to_int(ExitCode::ok);
  }
  std::string out;
  if (!outcome.changed) {
    out = fmt::format("{} already has this content; nothing written\n", shown);
  } else {
    out = fmt::format("wrote {} ({}, {} upstream servers)\n", shown, to_string(daemon),
                      request.servers.size());
    if (!outcome.backup.empty())
      out += fmt::format("previous file kept as {}\n", target_fs.host(outcome.backup).string());
  }
  if (!checked.empty()) out += fmt::format("checked: {}\n", checked);
  ctx.console.print(out);
  if (to_config && outcome.changed) {
    ctx.console.note(fmt::format("next: `pooljoin restart` runs {} on it", spec.service));
  }
  return to_int(ExitCode::ok);
}

Action add_gen_conf(CLI::App& sub) {
  auto options = std::make_shared<GenConfOptions>();
  sub.add_option("--server", options->servers,
                 "An upstream server by address (repeat 4 to 7 times, or separate with commas); "
                 "default: the selection saved by `pooljoin resolve`")
      ->type_name("ADDR")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& value) {
            auto parsed = parse_upstream(value);
            return parsed ? std::string() : parsed.error().message();
          },
          ""));
  sub.add_option("--daemon", options->daemon,
                 "Whose config: auto (the detected daemon), ntpsec, ntp or chrony")
      ->check(CLI::IsMember({"auto", "ntpsec", "ntp", "chrony"}));
  sub.add_flag("--force", options->force, "Accept fewer than 4 or more than 7 upstream servers");
  sub.add_option("--output", options->output,
                 "Write the config to FILE (as is, not checked by the daemon), or to stdout "
                 "with -, instead of the daemon's config file")
      ->type_name("FILE|-")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "-") return {};
            if (value.empty()) return "give a file, or - for standard output";
            const std::filesystem::path path = std::filesystem::absolute(value);
            std::error_code ec;
            if (std::filesystem::is_directory(path, ec)) return value + " is a directory";
            if (!std::filesystem::is_directory(path.parent_path(), ec)) {
              return fmt::format("{} cannot be written: {} is not a directory", value,
                                 path.parent_path().string());
            }
            return {};
          },
          ""));
  options->lint = sub.add_option("--lint", options->lint_file,
                                 "Check FILE (default: the daemon's live config; - for stdin) "
                                 "against the pool's rules instead of writing; exit 1 on a "
                                 "violation")
                      ->expected(0, 1)
                      ->type_name("[FILE]")
                      ->check(CLI::Validator(
                          [](std::string& value) -> std::string {
                            if (value.empty() || value == "-") return {};
                            std::error_code ec;
                            if (!std::filesystem::exists(value, ec))
                              return value + " does not exist";
                            if (!std::filesystem::is_regular_file(value, ec))
                              return value + " is not a file";
                            return {};
                          },
                          ""));
  sub.add_flag("--no-daemon-check", options->no_daemon_check,
               "Write even when the daemon is not installed to check the file first");
  return [options](Context& ctx) { return run_gen_conf(ctx, *options); };
}

}  // namespace pooljoin::cli
