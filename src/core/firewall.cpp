// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/firewall.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "pooljoin/install.hpp"
#include "pooljoin/text.hpp"
#include "pooljoin/text_diff.hpp"

namespace pooljoin {
namespace {

// Reading a ruleset takes milliseconds; a hung tool must not hang the step.
constexpr auto kQueryTimeout = std::chrono::seconds(20);
// firewall-cmd --reload rebuilds every rule of firewalld; ufw reloads its chains.
constexpr auto kChangeTimeout = std::chrono::seconds(120);

// The comment that marks the rules pooljoin adds, so that an operator can find them.
constexpr const char* kRuleComment = "pooljoin: NTP Pool";
// pooljoin's nftables files, included by the distribution's config to persist.
constexpr const char* kNftOpeningFile = "/etc/pooljoin/nftables-ntp.nft";
constexpr const char* kNftNotrackFile = "/etc/pooljoin/nftables-notrack.nft";
constexpr const char* kNftNotrackTable = "pooljoin_notrack";

std::string first_line(std::string_view text) {
  auto nl = text.find('\n');
  std::string line(text.substr(0, nl));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

bool enabled_at_boot(const RootedFs& fs, std::string_view service) {
  for (const char* target : {"multi-user.target.wants", "sysinit.target.wants",
                             "basic.target.wants", "network-pre.target.wants"}) {
    if (fs.exists(fmt::format("/etc/systemd/system/{}/{}.service", target, service))) return true;
  }
  return fs.exists(fmt::format("/etc/runlevels/default/{}", service)) ||
         fs.exists(fmt::format("/etc/runlevels/boot/{}", service));
}

// The value of KEY= in a shell-style config file ("yes", "public"), unquoted; "" when absent.
std::string config_value(const std::optional<std::string>& text, std::string_view key) {
  if (!text) return {};
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (!line.starts_with(std::string(key) + "=")) continue;
    std::string value = line.substr(key.size() + 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' '))
      value.pop_back();
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

// The nftables config the distribution's nftables service loads at boot.
std::string nftables_conf_path(const RootedFs& fs, const Distro& distro) {
  const std::vector<std::string> candidates =
      distro.family == Family::alpine ? std::vector<std::string>{"/etc/nftables.nft"}
      : distro.family == Family::debian || distro.family == Family::arch
          ? std::vector<std::string>{"/etc/nftables.conf"}
          : std::vector<std::string>{"/etc/sysconfig/nftables.conf", "/etc/nftables.conf"};
  for (const auto& path : candidates)
    if (fs.exists(path)) return path;
  return {};
}

std::optional<long> read_number(const RootedFs& fs, std::string_view path) {
  auto text = fs.read(path);
  if (!text) return std::nullopt;
  try {
    return std::stol(*text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// "inet filter" -> {"inet", "filter"}
std::pair<std::string, std::string> split_table(const std::string& table) {
  auto space = table.find(' ');
  if (space == std::string::npos) return {"", table};
  return {table.substr(0, space), table.substr(space + 1)};
}

std::vector<std::string> nft_input_tables(const FirewallFacts& facts) {
  std::vector<std::string> tables;
  if (!facts.nft) return tables;
  auto doc = nlohmann::json::parse(facts.nft->json, nullptr, false);
  if (doc.is_discarded() || !doc.contains("nftables")) return tables;
  for (const auto& item : doc["nftables"]) {
    if (!item.contains("chain")) continue;
    const auto& c = item["chain"];
    const std::string hook = c.value("hook", "");
    if (hook != "input" && hook != "prerouting") continue;
    const std::string table = c.value("family", "") + " " + c.value("table", "");
    if (facts.nft->iptables_tables.count(table) || table == "inet firewalld") continue;
    if (table == std::string("inet ") + kNftNotrackTable) continue;
    if (std::find(tables.begin(), tables.end(), table) == tables.end()) tables.push_back(table);
  }
  return tables;
}

bool filters_input(std::string_view save) {
  std::istringstream in{std::string(save)};
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(":INPUT DROP") || line.starts_with("-A INPUT ")) return true;
  }
  return false;
}

// A firewalld zone as it will be loaded: its target, its services and ports.
Judgement judge_firewalld_zone(const std::string& zone, const std::optional<std::string>& xml) {
  Judgement j;
  RuleRef ref{FirewallTool::firewalld, "zone", zone, zone, ""};
  if (!xml) {
    j.reach = Reach::unknown;
    j.why = fmt::format("firewalld's zone {} has no configuration file", zone);
    return j;
  }
  auto has = [&](std::string_view text) { return xml->find(text) != std::string::npos; };
  if (has("target=\"ACCEPT\"") || has("<service name=\"ntp\"/>") ||
      has("<port protocol=\"udp\" port=\"123\"/>") ||
      has("<port port=\"123\" protocol=\"udp\"/>")) {
    j.reach = Reach::open;
    return j;
  }
  j.reach = Reach::closed;
  ref.text = "no ntp service and no 123/udp port (configured for its next start)";
  j.deciding = ref;
  return j;
}

bool has_notrack(const FirewallFacts& facts) {
  if (facts.nft && facts.nft->json.find(kNftNotrackTable) != std::string::npos) return true;
  for (const auto& [tool, save] : facts.iptables_v4) {
    if (save.find("--dport 123 -j CT --notrack") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

FirewallFacts gather_firewall(const SystemFacts& system, Effects& effects) {
  const RootedFs& fs = effects.fs;
  FirewallFacts facts;
  facts.live = fs.is_live();
  facts.addresses = system.addresses;
  auto query = [&](const Command& command) -> std::optional<std::string> {
    auto ran = effects.runner.run(command, {kQueryTimeout});
    if (!ran) {
      facts.notes.push_back(
          fmt::format("`{}` could not run: {}", display(command), ran.error().message()));
      return std::nullopt;
    }
    if (!ran->ok()) {
      facts.notes.push_back(fmt::format("`{}` failed ({}): {}", display(command),
                                        ran->status_text(), ran->output_tail(2)));
      return std::nullopt;
    }
    return ran->out;
  };

  // firewalld.
  FirewalldFacts& fw = facts.firewalld;
  fw.installed = has_program(fs, "firewall-cmd") || has_program(fs, "firewalld");
  fw.at_boot = fw.installed && enabled_at_boot(fs, "firewalld");
  if (fw.installed) {
    fw.default_zone = config_value(fs.read("/etc/firewalld/firewalld.conf"), "DefaultZone");
    if (fw.default_zone.empty()) fw.default_zone = "public";
  }
  if (facts.live && fw.installed) {
    auto state = effects.runner.run({{"firewall-cmd", "--state"}}, {kQueryTimeout});
    fw.running = state && state->ok() && first_line(state->out) == "running";
    if (fw.running) {
      if (auto zone = query({{"firewall-cmd", "--get-default-zone"}}))
        fw.default_zone = first_line(*zone);
      for (const auto& address : facts.addresses) {
        if (fw.zone_of.count(address.interface)) continue;
        auto zone = effects.runner.run(
            {{"firewall-cmd", "--get-zone-of-interface=" + address.interface}}, {kQueryTimeout});
        fw.zone_of[address.interface] = zone && zone->ok() && !first_line(zone->out).empty()
                                            ? first_line(zone->out)
                                            : fw.default_zone;
      }
    }
  }
  if (!fw.running) {
    for (const auto& address : facts.addresses)
      fw.zone_of[address.interface] = fw.default_zone;
    if (fw.at_boot) {
      for (const char* dir : {"/usr/lib/firewalld/zones/", "/etc/firewalld/zones/"}) {
        if (auto xml = fs.read(std::string(dir) + fw.default_zone + ".xml"))
          fw.zone_xml[fw.default_zone] = *xml;  // /etc overrides /usr/lib
      }
    }
  }

  // ufw.
  facts.ufw.installed = has_program(fs, "ufw");
  facts.ufw.enabled =
      facts.ufw.installed && lower(config_value(fs.read("/etc/ufw/ufw.conf"), "ENABLED")) == "yes";
  if (facts.live && facts.ufw.enabled) {
    auto status = effects.runner.run({{"ufw", "status"}}, {kQueryTimeout});
    facts.ufw.active =
        status && status->ok() && status->out.find("Status: active") != std::string::npos;
  }

  // The rulesets as the kernel holds them.
  if (facts.live) {
    if (find_program(fs, "nft")) {
      auto json = query({{"nft", "-j", "list", "ruleset"}});
      auto listing = query({{"nft", "-a", "list", "ruleset"}});
      if (json) facts.nft = NftRuleset{*json, listing.value_or(""), {}};
    }
    struct Saver {
      FirewallTool tool;
      const char* v4;
      const char* v6;
    };
    const Saver savers[] = {
        {FirewallTool::iptables, "iptables-nft-save", "ip6tables-nft-save"},
        {FirewallTool::iptables_legacy, "iptables-legacy-save", "ip6tables-legacy-save"},
    };
    for (const auto& saver : savers) {
      bool legacy = saver.tool == FirewallTool::iptables_legacy;
      for (bool v4 : {true, false}) {
        // The legacy tables exist only once something loaded them; asking would load them.
        if (legacy) {
          auto names = fs.read(v4 ? "/proc/net/ip_tables_names" : "/proc/net/ip6_tables_names");
          if (!names || names->empty()) continue;
        }
        const char* program = v4 ? saver.v4 : saver.v6;
        if (!find_program(fs, program)) continue;
        auto saved = query({{program}});
        if (!saved || iptables_tables_in_use(*saved).empty()) continue;
        (v4 ? facts.iptables_v4 : facts.iptables_v6)[saver.tool] = *saved;
      }
    }
    if (facts.nft) {
      for (const auto& [tool, save] : facts.iptables_v4)
        if (tool == FirewallTool::iptables)
          for (const auto& table : iptables_tables_in_use(save))
            facts.nft->iptables_tables.insert("ip " + table);
      for (const auto& [tool, save] : facts.iptables_v6)
        if (tool == FirewallTool::iptables)
          for (const auto& table : iptables_tables_in_use(save))
            facts.nft->iptables_tables.insert("ip6 " + table);
    }
    facts.conntrack_count = read_number(fs, "/proc/sys/net/netfilter/nf_conntrack_count");
    facts.conntrack_max = read_number(fs, "/proc/sys/net/netfilter/nf_conntrack_max");
  }

  // What makes a change survive a reboot.
  PersistenceFacts& p = facts.persistence;
  p.nftables_conf = nftables_conf_path(fs, system.distro);
  p.nftables_at_boot = !p.nftables_conf.empty() && enabled_at_boot(fs, "nftables");
  p.netfilter_persistent = has_program(fs, "netfilter-persistent");
  p.iptables_services = fs.exists("/usr/libexec/iptables/iptables.init");
  return facts;
}

const Judgement* FirewallVerdict::closed() const {
  for (const Judgement* j : {&ipv4, &ipv6})
    if (j->reach == Reach::closed) return j;
  return nullptr;
}

FirewallVerdict judge_firewall(const FirewallFacts& facts) {
  FirewallVerdict verdict;
  if (facts.firewalld.running || facts.firewalld.at_boot)
    verdict.in_force.push_back(FirewallTool::firewalld);
  if (facts.ufw.active || (!facts.live && facts.ufw.enabled))
    verdict.in_force.push_back(FirewallTool::ufw);
  if (!nft_input_tables(facts).empty() || (!facts.live && facts.persistence.nftables_at_boot))
    verdict.in_force.push_back(FirewallTool::nftables);
  for (FirewallTool tool : {FirewallTool::iptables, FirewallTool::iptables_legacy}) {
    bool filters = false;
    for (const auto* saves : {&facts.iptables_v4, &facts.iptables_v6}) {
      auto it = saves->find(tool);
      if (it != saves->end() && filters_input(it->second)) filters = true;
    }
    // ufw and firewalld (iptables backend) keep their rules in iptables: they are the front-end.
    if (filters && !facts.ufw.active && !facts.firewalld.running) verdict.in_force.push_back(tool);
  }

  for (const auto& address : facts.addresses) {
    AddressReach reach{address, {}};
    if (!facts.live) {
      reach.judgement.reach = Reach::unknown;
      reach.judgement.why = "an image: its rules are loaded when it boots, and judged then";
      if (facts.firewalld.at_boot) {
        auto xml = facts.firewalld.zone_xml.find(facts.firewalld.default_zone);
        reach.judgement = judge_firewalld_zone(facts.firewalld.default_zone,
                                               xml == facts.firewalld.zone_xml.end()
                                                   ? std::nullopt
                                                   : std::optional<std::string>(xml->second));
      }
      verdict.addresses.push_back(reach);
      continue;
    }
    const InboundNtp packet{address.address, address.interface};
    std::vector<Judgement> hooks;
    if (facts.nft) {
      auto judged = judge_nftables(*facts.nft, packet);
      if (judged) {
        hooks.push_back(*judged);
      } else {
        Judgement unknown;
        unknown.why = judged.error().message();
        hooks.push_back(unknown);
      }
    }
    const auto& saves = address.address.is_v4() ? facts.iptables_v4 : facts.iptables_v6;
    for (const auto& [tool, save] : saves)
      hooks.push_back(judge_iptables(save, packet, tool));
    if (facts.firewalld.at_boot && !facts.firewalld.running) {
      // Not running now, but it will at the next boot: what it will load counts.
      const auto& fw = facts.firewalld;
      auto zone =
          fw.zone_of.count(address.interface) ? fw.zone_of.at(address.interface) : fw.default_zone;
      auto xml = fw.zone_xml.find(zone);
      hooks.push_back(judge_firewalld_zone(
          zone, xml == fw.zone_xml.end() ? std::nullopt : std::optional<std::string>(xml->second)));
    }
    reach.judgement = combine(hooks);
    // ufw and firewalld (with its iptables backend) keep their rules in iptables, policies
    // included: the front-end that changes them is theirs.
    if (auto& d = reach.judgement.deciding;
        d && (d->tool == FirewallTool::iptables || d->tool == FirewallTool::iptables_legacy)) {
      if (facts.ufw.active)
        d->tool = FirewallTool::ufw;
      else if (facts.firewalld.running)
        d->tool = FirewallTool::firewalld;
    }
    if (!facts.nft && saves.empty() && !facts.notes.empty()) {
      reach.judgement.reach = Reach::unknown;
      reach.judgement.why = "no ruleset could be read: " + facts.notes.front();
    }
    verdict.addresses.push_back(reach);
  }
  for (IpFamily family : {IpFamily::v4, IpFamily::v6}) {
    std::vector<Judgement> of_family;
    for (const auto& a : verdict.addresses)
      if (a.address.address.family() == family) of_family.push_back(a.judgement);
    Judgement& j = family == IpFamily::v4 ? verdict.ipv4 : verdict.ipv6;
    if (of_family.empty()) {
      j.reach = Reach::no_address;
    } else {
      j = combine(of_family);
    }
  }
  return verdict;
}

std::vector<Command> FirewallPlan::commands() const {
  std::vector<Command> all;
  for (const auto& action : actions)
    all.push_back(action.command);
  return all;
}

std::string FirewallPlan::fix() const {
  if (actions.size() == 1 && files.empty()) return display(actions.front().command);
  return "pooljoin firewall";
}

namespace {

std::string iptables_binary(const RootedFs& fs, FirewallTool tool, bool v4) {
  if (tool == FirewallTool::iptables_legacy) return v4 ? "iptables-legacy" : "ip6tables-legacy";
  const char* nft_name = v4 ? "iptables-nft" : "ip6tables-nft";
  return find_program(fs, nft_name) ? nft_name : (v4 ? "iptables" : "ip6tables");
}

// The front-end an address's opening belongs to: the owner of the rule that decides, else (an
// unknown without a rule, or an image) the front-end configured.
std::optional<FirewallTool> owner(const FirewallFacts& facts, const Judgement& j) {
  if (j.deciding) return j.deciding->tool;
  if (facts.firewalld.running || (!facts.live && facts.firewalld.at_boot))
    return FirewallTool::firewalld;
  if (facts.ufw.active || (!facts.live && facts.ufw.enabled)) return FirewallTool::ufw;
  if (!facts.live && facts.persistence.nftables_at_boot) return FirewallTool::nftables;
  return std::nullopt;
}

std::string nft_rule(const std::string& family, const std::string& table,
                     const std::string& chain) {
  return fmt::format("insert rule {} {} {} udp dport 123 accept comment \"{}\"", family, table,
                     chain, kRuleComment);
}

Command nft_command(const std::string& rule) {
  Command c{{"nft"}};
  std::istringstream words(rule);
  for (std::string w; words >> w;)
    c.argv.push_back(w);
  // The comment is one word for nft.
  auto first_quote = std::find_if(c.argv.begin(), c.argv.end(),
                                  [](const std::string& w) { return w.starts_with("\""); });
  if (first_quote != c.argv.end()) {
    std::string comment;
    for (auto it = first_quote; it != c.argv.end(); ++it)
      comment += (comment.empty() ? "" : " ") + *it;
    c.argv.erase(first_quote, c.argv.end());
    c.argv.push_back(comment);  // nft reads its words as one line: the quotes keep it one string
  }
  return c;
}

const char* kNotrackTableText =
    "# pooljoin: NTP Pool. UDP 123 exempt from connection tracking: a busy pool server would fill\n"
    "# the conntrack table with its clients' flows (\"nf_conntrack: table full, dropping "
    "packet\").\n"
    "table inet pooljoin_notrack\n"
    "delete table inet pooljoin_notrack\n"
    "table inet pooljoin_notrack {\n"
    "\tchain prerouting {\n"
    "\t\ttype filter hook prerouting priority raw; policy accept;\n"
    "\t\tudp dport 123 notrack\n"
    "\t}\n"
    "\tchain output {\n"
    "\t\ttype filter hook output priority raw; policy accept;\n"
    "\t\tudp sport 123 notrack\n"
    "\t}\n"
    "}\n";

// ufw's before.init with the --notrack rules: inserted as ufw starts, deleted as it stops (so a
// reload does not add them twice).
const char* kUfwBeforeInit =
    "#!/bin/sh\n"
    "#\n"
    "# before.init: if executable, called by ufw-init. See 'man ufw-framework'.\n"
    "#\n"
    "# pooljoin: NTP Pool. UDP 123 exempt from connection tracking: a busy pool server would fill\n"
    "# the conntrack table with its clients' flows (\"nf_conntrack: table full, dropping "
    "packet\").\n"
    "set -e\n"
    "\n"
    "notrack() {\n"
    "    for ipt in iptables ip6tables; do\n"
    "        \"$ipt\" -t raw \"$1\" PREROUTING -p udp --dport 123 -j CT --notrack\n"
    "        \"$ipt\" -t raw \"$1\" OUTPUT -p udp --sport 123 -j CT --notrack\n"
    "    done\n"
    "}\n"
    "\n"
    "case \"$1\" in\n"
    "start)\n"
    "    notrack -I\n"
    "    ;;\n"
    "stop|flush-all)\n"
    "    notrack -D 2>/dev/null || true\n"
    "    ;;\n"
    "status)\n"
    "    ;;\n"
    "*)\n"
    "    echo \"'$1' not supported\"\n"
    "    echo \"Usage: before.init {start|stop|flush-all|status}\"\n"
    "    ;;\n"
    "esac\n";

// Whether an nftables config defines `table FAMILY NAME` itself (so that an insert into it can
// be included after it).
bool defines_table(const std::string& conf, const std::string& family, const std::string& name) {
  std::istringstream in(conf);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string kw, a, b;
    words >> kw >> a >> b;
    if (kw != "table" && kw != "add") continue;
    if (kw == "add") {
      std::string t = a;
      a = b;
      words >> b;
      if (t != "table") continue;
    }
    if (b == "{") b.clear();
    if ((a == family && b.starts_with(name)) || (family == "ip" && a == name)) return true;
  }
  return false;
}

class Planner {
 public:
  Planner(const FirewallFacts& facts, const RootedFs& fs, FirewallPlan& plan)
      : facts_(facts), fs_(fs), plan_(plan) {}

  void firewalld(const std::set<std::string>& zones) {
    if (zones.empty()) return;
    if (facts_.firewalld.running) {
      // Runtime and permanent apart, instead of --permanent and --reload: a reload would drop
      // what others added at runtime only.
      for (const auto& zone : zones) {
        action({{"firewall-cmd", "--zone=" + zone, "--add-service=ntp"}},
               Command{{"firewall-cmd", "--zone=" + zone, "--remove-service=ntp"}});
        action({{"firewall-cmd", "--permanent", "--zone=" + zone, "--add-service=ntp"}},
               Command{{"firewall-cmd", "--permanent", "--zone=" + zone, "--remove-service=ntp"}});
      }
      return;
    }
    for (const auto& zone : zones) {
      if (zone_has_ntp(zone)) continue;
      action(
          in_image({{"firewall-offline-cmd", "--zone=" + zone, "--add-service=ntp"}}),
          in_image({{"firewall-offline-cmd", "--zone=" + zone, "--remove-service-from-zone=ntp"}}));
    }
    if (facts_.live)
      plan_.notes.push_back(
          "firewalld does not run: its configuration is changed for its next start");
  }

  void ufw() {
    if (facts_.live) {
      action({{"ufw", "allow", "123/udp"}}, Command{{"ufw", "delete", "allow", "123/udp"}});
      return;
    }
    // In an image ufw would change this machine's own rules: its rule files instead.
    ufw_rules("/etc/ufw/user.rules", "0.0.0.0/0");
    ufw_rules("/etc/ufw/user6.rules", "::/0");
  }

  void nftables(const std::set<std::tuple<std::string, std::string, std::string>>& chains) {
    if (chains.empty()) return;
    std::string include_text =
        fmt::format("# {}: UDP 123 let in, first in its chain.\n", kRuleComment);
    bool persist = facts_.persistence.nftables_at_boot;
    const std::string& conf = facts_.persistence.nftables_conf;
    auto conf_text = conf.empty() ? std::nullopt : fs_.read(conf);
    for (const auto& [family, table, chain] : chains) {
      const std::string rule = nft_rule(family, table, chain);
      if (facts_.live) {
        FirewallAction a{nft_command(rule), std::nullopt, true};
        plan_.actions.push_back(a);
      }
      include_text += rule + "\n";
      if (!conf_text || !defines_table(*conf_text, family, table)) persist = false;
    }
    if (!facts_.live && chains.empty()) return;
    if (persist) {
      file(kNftOpeningFile, include_text, {});
      include(conf, kNftOpeningFile);
    } else {
      plan_.persistent = false;
      plan_.notes.push_back(
          conf.empty() || !facts_.persistence.nftables_at_boot
              ? "the nftables rule lasts until the next reboot: no nftables service loads a config "
                "at boot here; add `udp dport 123 accept` where this ruleset is loaded from"
              : fmt::format(
                    "the nftables rule lasts until the next reboot: {} does not define the table "
                    "it goes in; add `udp dport 123 accept` where that table is loaded from",
                    conf));
    }
  }

  void iptables(const std::set<std::tuple<FirewallTool, bool, std::string, std::string>>& chains) {
    if (chains.empty()) return;
    for (const auto& [tool, v4, table, chain] : chains) {
      std::vector<std::string> spec{"-p",      "udp",       "--dport",    "123", "-m",
                                    "comment", "--comment", kRuleComment, "-j",  "ACCEPT"};
      Command insert{{iptables_binary(fs_, tool, v4)}}, remove{{iptables_binary(fs_, tool, v4)}};
      if (table != "filter") {
        for (Command* c : {&insert, &remove})
          c->argv.insert(c->argv.end(), {"-t", table});
      }
      insert.argv.insert(insert.argv.end(), {"-I", chain, "1"});
      remove.argv.insert(remove.argv.end(), {"-D", chain});
      insert.argv.insert(insert.argv.end(), spec.begin(), spec.end());
      remove.argv.insert(remove.argv.end(), spec.begin(), spec.end());
      action(insert, remove);
    }
    save_iptables();
  }

  void notrack() {
    if (has_notrack(facts_)) {
      plan_.notes.push_back("UDP 123 is already exempt from connection tracking");
      return;
    }
    if (!facts_.live) {
      plan_.notes.push_back(
          "--notrack changes the running rules: run `pooljoin firewall --notrack` when the system "
          "runs");
      return;
    }
    if (facts_.firewalld.running) {
      firewalld_notrack();
      return;
    }
    if (facts_.ufw.active) {
      ufw_notrack();
      return;
    }
    if (facts_.nft) {
      file(kNftNotrackFile, kNotrackTableText, {});
      FirewallAction a{{{"nft", "-f", kNftNotrackFile}},
                       Command{{"nft", "delete", "table", "inet", kNftNotrackTable}}};
      plan_.actions.push_back(a);
      if (facts_.persistence.nftables_at_boot) {
        include(facts_.persistence.nftables_conf, kNftNotrackFile);
      } else {
        plan_.persistent = false;
        plan_.notes.push_back(
            "the notrack table lasts until the next reboot: no nftables service loads a config at "
            "boot here");
      }
      return;
    }
    bool any = false;
    for (bool v4 : {true, false}) {
      const auto& saves = v4 ? facts_.iptables_v4 : facts_.iptables_v6;
      for (const auto& [tool, save] : saves) {
        (void)save;
        iptables_notrack(iptables_binary(fs_, tool, v4));
        any = true;
      }
    }
    if (any) {
      save_iptables();
    } else {
      plan_.notes.push_back("--notrack: no nftables or iptables here to exempt UDP 123 with");
    }
  }

 private:
  // The raw-table rules of --notrack, as iptables arguments after `-t raw -X CHAIN`.
  static constexpr std::pair<const char*, const char*> kNotrackRules[] = {{"PREROUTING", "--dport"},
                                                                          {"OUTPUT", "--sport"}};

  // firewalld has no notrack of its own: its direct interface, runtime and permanent (a reload
  // keeps them). Its zones accept the ntp service in state new or untracked.
  void firewalld_notrack() {
    for (const char* family : {"ipv4", "ipv6"}) {
      for (const auto& rule : kNotrackRules) {
        const char* chain = rule.first;  // (a lambda cannot capture a structured binding in
        const char* port = rule.second;  // clang 14)
        for (bool permanent : {false, true}) {
          auto direct = [&](const char* verb) {
            Command c{{"firewall-cmd"}};
            if (permanent) c.argv.push_back("--permanent");
            c.argv.insert(c.argv.end(), {"--direct", verb, family, "raw", chain, "0", "-p", "udp",
                                         port, "123", "-j", "CT", "--notrack"});
            return c;
          };
          action(direct("--add-rule"), direct("--remove-rule"));
        }
      }
    }
  }

  // ufw runs /etc/ufw/before.init (when executable) as it starts and stops: the rules go there,
  // and in now with the iptables that holds ufw's chains.
  void ufw_notrack() {
    const std::string hook = "/etc/ufw/before.init";
    auto current = fs_.read(hook);
    auto stock = fs_.read("/usr/share/ufw/before.init");
    if (current && *current != kUfwBeforeInit && (!stock || *current != *stock)) {
      plan_.notes.push_back(fmt::format(
          "--notrack: {} has commands of its own; pooljoin leaves it as it is. Exempt UDP 123 "
          "there: `iptables -t raw -I PREROUTING -p udp --dport 123 -j CT --notrack` and `-I "
          "OUTPUT -p udp --sport 123 -j CT --notrack` (ip6tables too) at start, -D at stop",
          hook));
      return;
    }
    FirewallTool tool = FirewallTool::iptables;
    for (const auto& [t, save] : facts_.iptables_v4)
      if (save.find("ufw-user-input") != std::string::npos) tool = t;
    for (bool v4 : {true, false})
      iptables_notrack(iptables_binary(fs_, tool, v4));
    file(hook, kUfwBeforeInit, {}, 0750);
  }

  // The raw-table rules of --notrack with one iptables binary, each with its undo.
  void iptables_notrack(const std::string& bin) {
    for (const auto& [chain, port] : kNotrackRules) {
      action(
          {{bin, "-t", "raw", "-I", chain, "1", "-p", "udp", port, "123", "-j", "CT", "--notrack"}},
          Command{
              {bin, "-t", "raw", "-D", chain, "-p", "udp", port, "123", "-j", "CT", "--notrack"}});
    }
  }

  void action(Command command, std::optional<Command> undo) {
    plan_.actions.push_back({std::move(command), std::move(undo), false});
  }

  Command in_image(Command command) const { return in_root(fs_, std::move(command)); }

  bool zone_has_ntp(const std::string& zone) const {
    for (const char* dir : {"/etc/firewalld/zones/", "/usr/lib/firewalld/zones/"}) {
      if (auto xml = fs_.read(std::string(dir) + zone + ".xml"))
        return xml->find("<service name=\"ntp\"/>") != std::string::npos;
    }
    return false;
  }

  void file(const std::string& path, const std::string& content, std::optional<Command> check,
            std::optional<mode_t> mode = std::nullopt) {
    for (const auto& f : plan_.files)
      if (f.path == path) return;
    FirewallFileEdit edit{path, content, fs_.read(path), {}, std::move(check), mode};
    if (edit.current == edit.content) return;
    if (edit.current) edit.diff = unified_diff(*edit.current, content, path, path + " (new)");
    plan_.files.push_back(std::move(edit));
  }

  // Adds `include "WHAT"` to the nftables config `conf` (once), checked by nft itself.
  void include(const std::string& conf, const std::string& what) {
    const std::string line = fmt::format("include \"{}\"\n", what);
    std::string text;
    for (auto& f : plan_.files) {
      if (f.path == conf) {
        if (f.content.find(line) == std::string::npos) f.content += line;
        if (f.current) f.diff = unified_diff(*f.current, f.content, conf, conf + " (new)");
        return;
      }
    }
    auto current = fs_.read(conf);
    text = current.value_or("#!/usr/sbin/nft -f\n");
    if (text.find(line) != std::string::npos) return;
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += line;
    Command check =
        facts_.live
            ? Command{{"nft", "-c", "-f", "{}"}}
            : Command{{"unshare", "--net", "chroot", fs_.root().string(), "nft", "-c", "-f", "{}"}};
    file(conf, text, check);
  }

  void ufw_rules(const std::string& path, const std::string& anywhere) {
    auto current = fs_.read(path);
    if (!current) {
      plan_.notes.push_back(fmt::format(
          "{} does not exist: open UDP 123 with `ufw allow 123/udp` when the system runs", path));
      return;
    }
    const std::string tuple = fmt::format("### tuple ### allow udp 123 {0} any {0} in", anywhere);
    if (current->find(tuple) != std::string::npos) return;
    const std::string end = "### END RULES ###";
    const std::string rule = fmt::format("-A {}-user-input -p udp --dport 123 -j ACCEPT",
                                         path.find("user6") != std::string::npos ? "ufw6" : "ufw");
    std::string text;
    if (auto at = current->find(end); at != std::string::npos) {
      text = current->substr(0, at) + tuple + "\n" + rule + "\n\n" + current->substr(at);
    } else if (auto rules = current->find("### RULES ###\n"); rules != std::string::npos) {
      // As a fresh install leaves it (ufw writes the END marker with its first rule).
      auto after = rules + std::string_view("### RULES ###\n").size();
      text = current->substr(0, after) + "\n" + tuple + "\n" + rule + "\n\n" + end + "\n" +
             current->substr(after);
    } else {
      plan_.notes.push_back(
          fmt::format("{} is not in the form ufw writes: open UDP 123 with `ufw allow 123/udp` "
                      "when the system runs",
                      path));
      return;
    }
    file(path, text, {});
  }

  void save_iptables() {
    if (saved_) return;
    saved_ = true;
    if (facts_.persistence.netfilter_persistent) {
      action({{"netfilter-persistent", "save"}}, std::nullopt);
    } else if (facts_.persistence.iptables_services) {
      action({{"/usr/libexec/iptables/iptables.init", "save"}}, std::nullopt);
      if (fs_.exists("/usr/libexec/iptables/ip6tables.init"))
        action({{"/usr/libexec/iptables/ip6tables.init", "save"}}, std::nullopt);
    } else {
      plan_.persistent = false;
      plan_.notes.push_back(
          "the iptables rules last until the next reboot: neither netfilter-persistent (Debian's "
          "iptables-persistent) nor iptables-services is installed to restore them at boot");
    }
  }

  const FirewallFacts& facts_;
  const RootedFs& fs_;
  FirewallPlan& plan_;
  bool saved_ = false;
};

}  // namespace

FirewallPlan plan_firewall(const FirewallFacts& facts, const RootedFs& fs,
                           const FirewallRequest& request) {
  FirewallPlan plan;
  plan.before = judge_firewall(facts);
  plan.live = facts.live;
  plan.notrack = request.notrack;
  plan.notes.push_back(
      "a firewall in front of this machine (a cloud provider's security group or network ACL, a "
      "router) cannot be seen from here: it must let UDP port 123 in from anywhere, IPv4 and "
      "IPv6, and the replies out");
  plan.notes.insert(plan.notes.end(), facts.notes.begin(), facts.notes.end());

  std::set<std::string> zones;
  bool ufw = false;
  std::set<std::tuple<std::string, std::string, std::string>> nft_chains;
  std::set<std::tuple<FirewallTool, bool, std::string, std::string>> ipt_chains;
  for (const auto& a : plan.before.addresses) {
    if (a.judgement.reach != Reach::closed && a.judgement.reach != Reach::unknown) continue;
    auto tool = owner(facts, a.judgement);
    if (!tool) {
      plan.notes.push_back(fmt::format("{}: {}, and no front-end to open it with was found",
                                       a.address.address.to_string(), a.judgement.why));
      continue;
    }
    switch (*tool) {
      case FirewallTool::firewalld: {
        auto zone = facts.firewalld.zone_of.find(a.address.interface);
        zones.insert(zone != facts.firewalld.zone_of.end() ? zone->second
                                                           : facts.firewalld.default_zone);
        break;
      }
      case FirewallTool::ufw:
        ufw = true;
        break;
      case FirewallTool::nftables: {
        if (!a.judgement.deciding) break;
        auto [family, table] = split_table(a.judgement.deciding->table);
        nft_chains.insert({family, table, a.judgement.deciding->base});
        break;
      }
      case FirewallTool::iptables:
      case FirewallTool::iptables_legacy:
        if (!a.judgement.deciding) break;
        ipt_chains.insert({*tool, a.address.address.is_v4(), a.judgement.deciding->table,
                           a.judgement.deciding->base});
        break;
    }
  }
  if (!facts.live) {
    // An image's rules are not loaded: its configured front-ends get the opening at boot.
    if (facts.firewalld.at_boot) zones.insert(facts.firewalld.default_zone);
    if (facts.ufw.enabled) ufw = true;
    if (facts.persistence.nftables_at_boot)
      plan.notes.push_back(fmt::format(
          "{} is loaded at boot: make sure its input chain lets UDP 123 in (`udp dport 123 "
          "accept`); pooljoin judges it once the system runs",
          facts.persistence.nftables_conf));
  }
  Planner planner(facts, fs, plan);
  planner.firewalld(zones);
  if (ufw) planner.ufw();
  planner.nftables(nft_chains);
  planner.iptables(ipt_chains);
  if (request.notrack) planner.notrack();
  return plan;
}

namespace {

// The handle `nft --echo --handle` printed for the rule it added.
std::optional<std::string> echoed_handle(std::string_view out) {
  auto at = out.rfind("# handle ");
  if (at == std::string_view::npos) return std::nullopt;
  std::string handle(out.substr(at + 9));
  handle = first_line(handle);
  if (handle.empty() || !std::all_of(handle.begin(), handle.end(), ::isdigit)) return std::nullopt;
  return handle;
}

}  // namespace

Result<FirewallOutcome> apply_firewall(const FirewallPlan& plan, const SystemFacts& system,
                                       Effects& effects, const StepEvents& events) {
  const RootedFs& fs = effects.fs;
  struct Written {
    std::string path;
    WriteOutcome outcome;
  };
  std::vector<Written> written;
  std::vector<Command> undo;  // of what ran, last first
  auto take_back = [&]() {
    for (const auto& command : undo) {
      events.on_command(command);
      (void)effects.runner.run(command, {kChangeTimeout});
    }
    for (auto it = written.rbegin(); it != written.rend(); ++it) {
      if (!it->outcome.changed) continue;
      if (!it->outcome.backup.empty()) {
        (void)fs.restore(it->path, it->outcome.backup);
      } else {
        std::error_code ec;
        std::filesystem::remove(fs.host(it->path), ec);
      }
    }
  };

  for (const auto& file : plan.files) {
    WriteOptions options;
    options.now = effects.clock.now();
    options.mode = file.mode;
    if (file.check) {
      options.verify = [&](const std::string& candidate) -> Result<void> {
        Command check = *file.check;
        for (auto& word : check.argv)
          if (word == "{}") word = candidate;  // its system path, under --root too
        events.on_command(check);
        auto ran = effects.runner.run(check, {kQueryTimeout});
        if (!ran) return tl::unexpected(ran.error());
        if (!ran->ok()) {
          return fail(ExitCode::unavailable,
                      fmt::format("`{}` rejects the new {}", display(check), file.path),
                      ran->status_text(), "nothing was changed", ran->output_tail());
        }
        return {};
      };
    }
    auto result = fs.write_atomic(file.path, file.content, options);
    if (!result) {
      take_back();
      return tl::unexpected(result.error());
    }
    written.push_back({file.path, *result});
  }

  for (const auto& action : plan.actions) {
    Command command = action.command;
    if (action.nft_insert) command.argv.insert(command.argv.begin() + 1, {"--echo", "--handle"});
    events.on_command(action.command);
    auto ran = effects.runner.run(command, {kChangeTimeout});
    if (!ran || !ran->ok()) {
      take_back();
      if (!ran) return tl::unexpected(ran.error());
      return fail(ExitCode::unavailable, fmt::format("`{}` failed", display(action.command)),
                  ran->status_text(),
                  "what this step had changed was taken back; the rules and "
                  "files are as they were",
                  ran->output_tail());
    }
    if (action.nft_insert) {
      if (auto handle = echoed_handle(ran->out)) {
        Command remove{{"nft", "delete", "rule"}};
        remove.argv.insert(remove.argv.end(), action.command.argv.begin() + 3,
                           action.command.argv.begin() + 6);
        remove.argv.insert(remove.argv.end(), {"handle", *handle});
        undo.insert(undo.begin(), remove);
      }
    } else if (action.undo) {
      undo.insert(undo.begin(), *action.undo);
    }
  }

  FirewallOutcome outcome;
  outcome.after = judge_firewall(gather_firewall(system, effects));
  return outcome;
}

}  // namespace pooljoin
