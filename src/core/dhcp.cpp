// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/dhcp.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

constexpr std::string_view kBlanks = " \t";

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// The value of a plain assignment of `variable` on `line`; nullopt when the line is not one.
std::optional<std::string> assigned_value(std::string_view line, std::string_view variable) {
  line = trim(line);
  if (line.starts_with("export") && line.size() > 6 && kBlanks.find(line[6]) != line.npos)
    line = trim(line.substr(6));
  if (!line.starts_with(variable) || line.substr(variable.size()).substr(0, 1) != "=")
    return std::nullopt;
  std::string_view rest = line.substr(variable.size() + 1);
  if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
    const auto close = rest.find(rest.front(), 1);
    if (close == std::string_view::npos) return std::nullopt;  // not a line we understand
    return std::string(rest.substr(1, close - 1));
  }
  const auto end = rest.find_first_of(" \t;#");
  return std::string(rest.substr(0, end));
}

template <typename Visit>
void for_each_line(std::string_view text, Visit visit) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    visit(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// The servers a config names (server and peer lines), in order.
std::vector<std::string> named_servers(std::string_view text) {
  std::vector<std::string> servers;
  for_each_line(text, [&](std::string_view line) {
    line = trim(line);
    for (std::string_view keyword : {"server", "peer"}) {
      if (!line.starts_with(keyword) || line.size() == keyword.size() ||
          kBlanks.find(line[keyword.size()]) == std::string_view::npos)
        continue;
      auto rest = trim(line.substr(keyword.size()));
      servers.emplace_back(rest.substr(0, rest.find_first_of(kBlanks)));
    }
  });
  return servers;
}

// The value of the option `short_name` / `long_name` in a NUL-separated command line.
std::optional<std::string> option_value(std::string_view cmdline, std::string_view short_name,
                                        std::string_view long_name) {
  std::vector<std::string_view> args;
  for (const auto arg : split_fields(cmdline, '\0'))
    if (!arg.empty()) args.push_back(arg);
  std::optional<std::string> value;  // the last one counts, as with getopt
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto arg = args[i];
    const bool has_next = i + 1 < args.size();
    if ((arg == short_name || arg == long_name) && has_next) {
      value = std::string(args[++i]);
    } else if (arg.starts_with(short_name) && arg.size() > short_name.size()) {
      value = std::string(arg.substr(short_name.size()));
    } else if (arg.starts_with(long_name) && arg.substr(long_name.size()).starts_with("=")) {
      value = std::string(arg.substr(long_name.size() + 1));
    }
  }
  return value;
}

}  // namespace

std::optional<std::string> shell_assignment(std::string_view text, std::string_view variable) {
  std::optional<std::string> value;
  for_each_line(text, [&](std::string_view line) {
    if (auto assigned = assigned_value(line, variable)) value = std::move(assigned);
  });
  return value;
}

std::string with_shell_assignment(std::string_view text, std::string_view variable,
                                  std::string_view value, std::string_view comment) {
  const std::string assignment = fmt::format("{}=\"{}\"", variable, value);
  std::string result;
  bool replaced = false;
  for_each_line(text, [&](std::string_view line) {
    if (assigned_value(line, variable)) {
      result += assignment;
      replaced = true;
    } else {
      result += line;
    }
    result += '\n';
  });
  if (!replaced) {
    if (!result.empty() && !result.ends_with("\n\n")) result += '\n';
    result += fmt::format("# {}\n{}\n", comment, assignment);
  }
  return result;
}

std::optional<DhcpState> read_dhcp_state(const RootedFs& fs, const DaemonSpec& spec) {
  if (!spec.dhcp) return std::nullopt;
  DhcpState state;
  state.hook = *spec.dhcp;
  if (auto copy = fs.read(state.hook.copy)) {
    state.copy_exists = true;
    state.offered = named_servers(*copy);
  }
  if (!state.hook.ignore_variable.empty()) {
    if (auto settings = fs.read(state.hook.settings))
      state.setting = shell_assignment(*settings, state.hook.ignore_variable);
  }
  return state;
}

std::optional<SettingsEdit> plan_ignore_dhcp(const RootedFs& fs, const DaemonSpec& spec) {
  auto state = read_dhcp_state(fs, spec);
  if (!state || state->hook.ignore_variable.empty() || state->ignored()) return std::nullopt;
  SettingsEdit edit;
  edit.path = state->hook.settings;
  edit.current = fs.read(edit.path);
  if (!edit.current && !has_program(fs, daemon_program_name(spec.daemon))) return std::nullopt;
  edit.text = with_shell_assignment(
      edit.current.value_or(""), state->hook.ignore_variable, "yes",
      "pooljoin: a pool server keeps its own upstreams, whatever DHCP offers");
  edit.why = fmt::format(
      "{}=\"yes\": {}'s start script then runs {} even when a DHCP client has written {}",
      state->hook.ignore_variable, spec.service, spec.config_path, state->hook.copy);
  return edit;
}

std::optional<std::string> running_config(const RootedFs& fs, const DaemonSpec& spec) {
  if (!fs.is_live()) return std::nullopt;
  const std::string program(daemon_program_name(spec.daemon));
  const auto own_netns = fs.read_link("/proc/self/ns/net");
  for (const auto& entry : fs.list("/proc")) {
    if (entry.empty() || !std::all_of(entry.begin(), entry.end(), ::isdigit)) continue;
    auto comm = fs.read("/proc/" + entry + "/comm");
    if (!comm || trim(*comm) != program) continue;
    if (own_netns && fs.read_link("/proc/" + entry + "/ns/net") != own_netns) continue;
    auto cmdline = fs.read("/proc/" + entry + "/cmdline");
    if (!cmdline) continue;
    auto config = spec.daemon == Daemon::chrony ? option_value(*cmdline, "-f", "-f")
                                                : option_value(*cmdline, "-c", "--configfile");
    if (config) return config;
    return effective_config(fs, spec, std::nullopt, std::nullopt);
  }
  return std::nullopt;
}

std::string effective_config(const RootedFs& fs, const DaemonSpec& spec,
                             const std::optional<DhcpState>& dhcp,
                             const std::optional<std::string>& running) {
  if (running) return *running;
  if (dhcp && dhcp->copy_in_force()) return dhcp->hook.copy;
  if (!spec.vendor_config.empty() && !fs.exists(spec.config_path)) return spec.vendor_config;
  return spec.config_path;
}

std::vector<Finding> diagnose_dhcp(const DhcpState& state, const DaemonSpec& spec,
                                   const std::optional<std::string>& running) {
  if (!state.copy_exists) return {};
  const std::string offered = state.offered.empty()
                                  ? std::string("no server")
                                  : fmt::format("{}", fmt::join(state.offered, ", "));
  const std::string fix =
      state.hook.ignore_variable.empty()
          ? fmt::format(
                "{}'s start script has no switch to ignore it: stop the DHCP client from asking "
                "for NTP servers (remove ntp-servers from the `request` line of "
                "/etc/dhcp/dhclient.conf; NetworkManager: ipv4.ignore-auto-dns does not cover "
                "it, remove its dispatcher hook /etc/NetworkManager/dispatcher.d/ntp), delete {} "
                "and restart {}",
                spec.service, state.hook.copy, spec.service)
          : fmt::format(
                "set {}=\"yes\" in {} and restart {}: `pooljoin gen-conf && pooljoin "
                "restart` does both",
                state.hook.ignore_variable, state.hook.settings, spec.service);
  const bool runs_copy = running && *running == state.hook.copy;
  if (runs_copy && state.ignored()) {
    return {{"dhcp.not-restarted", Severity::fail,
             fmt::format("{} runs {}, the copy a DHCP client wrote ({}), though {} now ignores "
                         "it: it was not restarted since",
                         daemon_program_name(spec.daemon), state.hook.copy, offered,
                         state.hook.settings),
             fmt::format("restart {}: `pooljoin restart`", spec.service)}};
  }
  if (runs_copy || state.copy_in_force()) {
    return {{"dhcp.copy-in-force", Severity::fail,
             fmt::format("{} {} {}, the copy a DHCP client wrote: its servers ({}) replace the "
                         "upstreams of {}",
                         daemon_program_name(spec.daemon),
                         runs_copy ? "runs" : "will run at its next start", state.hook.copy,
                         offered, spec.config_path),
             fix}};
  }
  return {{"dhcp.ignored", Severity::ok,
           fmt::format("{} exists ({}), and {}'s start script ignores it ({}=\"yes\")",
                       state.hook.copy, offered, spec.service, state.hook.ignore_variable)}};
}

}  // namespace pooljoin
