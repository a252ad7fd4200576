// SPDX-License-Identifier: Apache-2.0
// The firewall judge on rulesets the real tools printed (tests/fixtures/firewall, made by its
// make.sh from rules/): for an NTP query from outside, to an IPv4 and an IPv6 address of the
// machine on interface pj-v0, open, closed or unknown, and the rule that decides.
#include "pooljoin/firewall.hpp"

#include "test_support.hpp"
#include <catch2/catch.hpp>

#include "pooljoin/firewall_rules.hpp"

using namespace pooljoin;

namespace {

std::string fixture(const std::string& name) {
  return test::read_text(std::filesystem::path(POOLJOIN_FIXTURES) / "firewall" / name);
}

const InboundNtp kV4{*IpAddress::parse("185.255.0.1"), "pj-v0"};
const InboundNtp kV6{*IpAddress::parse("2a0a:e5c0::1"), "pj-v0"};

Judgement nft(const std::string& name, const InboundNtp& packet) {
  auto judged = judge_nftables({fixture(name + ".json"), fixture(name + ".txt"), {}}, packet);
  REQUIRE(judged);
  return *judged;
}

struct Case {
  const char* ruleset;
  Reach v4, v6;
  const char* deciding;  // a part of the deciding rule's description ("" for open)
};

}  // namespace

TEST_CASE("nftables rulesets judged for a query from outside", "[firewall]") {
  const Case cases[] = {
      {"nft-policy-drop", Reach::closed, Reach::closed,
       "table inet filter, chain input: policy drop"},
      {"nft-open", Reach::open, Reach::open, ""},
      // Loopback is let through, the world is not: what a probe of the machine itself misses.
      {"nft-lo-only", Reach::closed, Reach::closed, "chain input: policy drop"},
      {"nft-reject-first", Reach::closed, Reach::closed,
       "udp dport { 111, 123 } reject with icmpx admin-prohibited"},
      {"nft-ipv6-gap", Reach::open, Reach::closed, "policy drop"},
      {"nft-named-set", Reach::open, Reach::open, ""},
      {"nft-vmap", Reach::closed, Reach::closed,
       "chain public: reject with icmpx admin-prohibited"},
      {"nft-rate-limited", Reach::unknown, Reach::unknown, "limit rate 100/second"},
      {"nft-two-tables", Reach::closed, Reach::open,
       "table ip block, chain input: udp dport 123 drop"},
      {"nft-prerouting-drop", Reach::closed, Reach::closed,
       "table inet raw, chain prerouting: udp dport 123 drop"},
      {"nft-notrack", Reach::open, Reach::open, ""},
      {"nft-source-allowlist", Reach::closed, Reach::closed, "policy drop"},
      {"nft-goto-return", Reach::open, Reach::open, ""},
  };
  for (const auto& c : cases) {
    INFO(c.ruleset);
    auto v4 = nft(c.ruleset, kV4);
    auto v6 = nft(c.ruleset, kV6);
    INFO("ipv4: " << v4.describe() << " (" << v4.why << "); ipv6: " << v6.describe());
    CHECK(v4.reach == c.v4);
    CHECK(v6.reach == c.v6);
    const Judgement& shown = v4.reach != Reach::open ? v4 : v6;
    if (*c.deciding) {
      REQUIRE(shown.deciding);
      CHECK_THAT(shown.describe(), Catch::Contains(c.deciding));
      CHECK(shown.deciding->tool == FirewallTool::nftables);
    }
  }
}

TEST_CASE("firewalld's own ruleset: the public zone without and with the ntp service",
          "[firewall]") {
  auto closed = nft("firewalld-public", kV4);
  INFO(closed.describe() << " " << closed.why);
  REQUIRE(closed.reach == Reach::closed);
  REQUIRE(closed.deciding);
  CHECK(closed.deciding->tool == FirewallTool::firewalld);
  CHECK(closed.describe() ==
        "table inet firewalld, chain filter_IN_public: reject with icmpx admin-prohibited");
  CHECK(nft("firewalld-public", kV6).reach == Reach::closed);
  CHECK(nft("firewalld-public-ntp", kV4).reach == Reach::open);
  CHECK(nft("firewalld-public-ntp", kV6).reach == Reach::open);
  // An interface in no zone goes to the default zone (public here): closed too.
  CHECK(nft("firewalld-public", {*IpAddress::parse("185.255.0.1"), "eth9"}).reach == Reach::closed);
}

TEST_CASE("nftables: the interface decides in a verdict map; a rate limit is not guessed",
          "[firewall]") {
  // The trusted interface of the same ruleset lets everything in.
  auto trusted = nft("nft-vmap", {*IpAddress::parse("185.255.0.1"), "pj-t0"});
  CHECK(trusted.reach == Reach::open);
  // An interface in no zone falls through to the policy (accept).
  auto other = nft("nft-vmap", {*IpAddress::parse("185.255.0.1"), "eth7"});
  CHECK(other.reach == Reach::open);
  auto limited = nft("nft-rate-limited", kV4);
  REQUIRE(limited.reach == Reach::unknown);
  CHECK(limited.why == "it is rate-limited: how many packets pass depends on the load");
  // A goto target's end is the base chain's end: without the NTP rule, tail's end is the policy.
  auto before = nft("nft-goto-return", {*IpAddress::parse("192.0.2.1"), "pj-v0"});
  CHECK(before.reach == Reach::open);  // the source, not the destination, is in 192.0.2.0/24
}

TEST_CASE("iptables-save judged, nft and legacy backends alike", "[firewall]") {
  auto judge = [](const std::string& name, const InboundNtp& packet) {
    return judge_iptables(fixture(name + (packet.destination.is_v4() ? ".v4.save" : ".v6.save")),
                          packet, FirewallTool::iptables);
  };
  auto open = judge("ipt-open", kV4);
  CHECK(open.reach == Reach::open);
  CHECK(judge("ipt-open", kV6).reach == Reach::open);
  auto closed = judge("ipt-closed", kV4);
  REQUIRE(closed.reach == Reach::closed);
  CHECK(closed.describe() ==
        "iptables filter INPUT: -A INPUT -m comment --comment \"everything else\" -j REJECT "
        "--reject-with icmp-port-unreachable");
  CHECK(judge("ipt-closed", kV6).reach == Reach::closed);
  // A match on what came before (recent) drops some queries and not others: unknown.
  auto recent = judge("ipt-recent", kV4);
  REQUIRE(recent.reach == Reach::unknown);
  CHECK_THAT(recent.describe(), Catch::Contains("-m recent"));
  CHECK_THAT(recent.why, Catch::Contains("recent"));
  // `! -i lo`: open from outside.
  CHECK(judge("ipt-not-lo", kV4).reach == Reach::open);
  // The same tables as nftables holds them are left to iptables-save: nft shows their
  // extensions only as "xt".
  NftRuleset managed{
      fixture("ipt-closed.json"), fixture("ipt-closed.txt"), {"ip filter", "ip6 filter"}};
  CHECK(judge_nftables(managed, kV4)->reach == Reach::open);
  NftRuleset unmanaged{fixture("ipt-recent.json"), fixture("ipt-recent.txt"), {}};
  CHECK(judge_nftables(unmanaged, kV4)->reach == Reach::unknown);
}

TEST_CASE("iptables chains are attributed to the front-end that made them", "[firewall]") {
  const std::string ufw =
      "*filter\n:INPUT DROP [0:0]\n:ufw-before-input - [0:0]\n:ufw-user-input - [0:0]\n"
      ":ufw-not-local - [0:0]\n"
      "-A INPUT -j ufw-before-input\n"
      "-A ufw-before-input -i lo -j ACCEPT\n"
      "-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
      "-A ufw-before-input -j ufw-not-local\n"
      "-A ufw-before-input -j ufw-user-input\n"
      "-A ufw-not-local -m addrtype --dst-type LOCAL -j RETURN\n"
      "-A ufw-not-local -j DROP\n"
      "-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT\n"
      "COMMIT\n";
  auto closed = judge_iptables(ufw, kV4, FirewallTool::iptables);
  REQUIRE(closed.reach == Reach::closed);
  CHECK(closed.describe() == "iptables filter INPUT: policy drop");
  const std::string with_ntp = std::string(ufw).insert(
      ufw.find("COMMIT"), "-A ufw-user-input -p udp -m udp --dport 123 -j ACCEPT\n");
  CHECK(judge_iptables(with_ntp, kV4, FirewallTool::iptables).reach == Reach::open);
  const std::string rejected = std::string(ufw).insert(
      ufw.find("COMMIT"), "-A ufw-user-input -p udp -m udp --dport 123 -j REJECT\n");
  auto by_ufw = judge_iptables(rejected, kV4, FirewallTool::iptables);
  REQUIRE(by_ufw.reach == Reach::closed);
  CHECK(by_ufw.deciding->tool == FirewallTool::ufw);
  CHECK(by_ufw.deciding->chain == "ufw-user-input");
}

TEST_CASE("hooks combine: any closed closes, an unknown is not open", "[firewall]") {
  Judgement open{Reach::open, {}, {}};
  Judgement closed{
      Reach::closed,
      RuleRef{FirewallTool::iptables_legacy, "filter", "INPUT", "INPUT", "policy drop"},
      {}};
  Judgement unknown{Reach::unknown, {}, "a mark"};
  CHECK(combine({open, open}).reach == Reach::open);
  CHECK(combine({open, unknown}).reach == Reach::unknown);
  CHECK(combine({unknown, closed, open}).reach == Reach::closed);
  CHECK(combine({}).reach == Reach::open);
  CHECK(iptables_tables_in_use(fixture("ipt-open.v4.save")) == std::vector<std::string>{"filter"});
}

TEST_CASE("what is not a ruleset is an error, not an open port", "[firewall]") {
  NftRuleset garbage{"not json", "", {}};
  auto refused = judge_nftables(garbage, kV4);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().what == "cannot read the nftables ruleset");
  // An empty ruleset has no hook: open.
  NftRuleset empty{R"({"nftables":[{"metainfo":{"json_schema_version":1}}]})", "", {}};
  CHECK(judge_nftables(empty, kV4)->reach == Reach::open);
}

namespace {

// A running system with the two addresses above on pj-v0 and the given nftables ruleset.
FirewallFacts live_with(const std::string& nft_fixture) {
  FirewallFacts facts;
  facts.addresses = {{kV4.destination, "pj-v0"}, {kV6.destination, "pj-v0"}};
  if (!nft_fixture.empty())
    facts.nft = NftRuleset{fixture(nft_fixture + ".json"), fixture(nft_fixture + ".txt"), {}};
  return facts;
}

std::vector<std::string> command_lines(const FirewallPlan& plan) {
  std::vector<std::string> lines;
  for (const auto& c : plan.commands())
    lines.push_back(display(c));
  return lines;
}

}  // namespace

TEST_CASE("plan: nftables gets a rule first in the chain that drops, persisted where it can be",
          "[firewall]") {
  auto root = test::image({});
  RootedFs fs(root->path());
  auto facts = live_with("nft-policy-drop");
  auto plan = plan_firewall(facts, fs, {});
  REQUIRE(plan.actions.size() == 1);
  CHECK(plan.actions[0].nft_insert);
  CHECK(display(plan.actions[0].command) ==
        "nft insert rule inet filter input udp dport 123 accept comment '\"pooljoin: NTP Pool\"'");
  // No nftables service loads a config at boot: said so, not claimed persistent.
  CHECK_FALSE(plan.persistent);
  CHECK(plan.files.empty());
  // With Debian's nftables.conf defining the table and the service enabled: an include.
  root->write("etc/nftables.conf", "#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n}\n");
  facts.persistence = {"/etc/nftables.conf", true, false, false};
  plan = plan_firewall(facts, fs, {});
  CHECK(plan.persistent);
  REQUIRE(plan.files.size() == 2);
  CHECK(plan.files[0].path == "/etc/pooljoin/nftables-ntp.nft");
  CHECK_THAT(plan.files[0].content,
             Catch::Contains("insert rule inet filter input udp dport 123 accept"));
  CHECK(plan.files[1].path == "/etc/nftables.conf");
  CHECK_THAT(plan.files[1].diff, Catch::Contains("+include \"/etc/pooljoin/nftables-ntp.nft\""));
  REQUIRE(plan.files[1].check);
  // Already open: nothing to do.
  CHECK(plan_firewall(live_with("nft-open"), fs, {}).nothing_to_do());
}

TEST_CASE(
    "plan: firewalld gets the ntp service, and --notrack its direct rules, runtime and "
    "permanent",
    "[firewall]") {
  auto root = test::image({});
  RootedFs fs(root->path());
  auto facts = live_with("firewalld-public");
  facts.firewalld.installed = facts.firewalld.running = true;
  facts.firewalld.default_zone = "public";
  auto plan = plan_firewall(facts, fs, {true});
  auto lines = command_lines(plan);
  REQUIRE(lines.size() == 10);
  CHECK(lines[0] == "firewall-cmd --zone=public --add-service=ntp");
  CHECK(lines[1] == "firewall-cmd --permanent --zone=public --add-service=ntp");
  CHECK(lines[2] ==
        "firewall-cmd --direct --add-rule ipv4 raw PREROUTING 0 -p udp --dport 123 -j CT "
        "--notrack");
  CHECK(lines[9] ==
        "firewall-cmd --permanent --direct --add-rule ipv6 raw OUTPUT 0 -p udp --sport 123 -j CT "
        "--notrack");
  // Each change has its undo, the same rule removed.
  for (const auto& action : plan.actions) {
    REQUIRE(action.undo);
    auto undo = display(*action.undo);
    auto command = display(action.command);
    CHECK(undo ==
          (command.find("--add-rule") != std::string::npos
               ? std::string(command).replace(command.find("--add-rule"), 10, "--remove-rule")
               : std::string(command).replace(command.find("--add-service"), 13,
                                              "--remove-service")));
  }
  // Once the rules are there (iptables-nft holds firewalld's direct rules): nothing to do.
  facts.iptables_v4[FirewallTool::iptables] =
      "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p udp -m udp --dport 123 -j CT --notrack\n"
      "COMMIT\n";
  facts.nft =
      NftRuleset{fixture("firewalld-public-ntp.json"), fixture("firewalld-public-ntp.txt"), {}};
  CHECK(plan_firewall(facts, fs, {true}).nothing_to_do());
}

TEST_CASE("plan: --notrack with ufw goes in ufw's before.init, only as ufw shipped it",
          "[firewall]") {
  const std::string stock = "#!/bin/sh\nset -e\ncase \"$1\" in\nstart)\n    ;;\nesac\n";
  auto root = test::image({"/usr/share/ufw/before.init=" + stock, "/etc/ufw/before.init=" + stock});
  RootedFs fs(root->path());
  auto facts = live_with("");
  facts.ufw = {true, true, true};
  facts.iptables_v4[FirewallTool::iptables] =
      "*filter\n:INPUT DROP [0:0]\n:ufw-user-input - [0:0]\n-A INPUT -j ufw-user-input\n"
      "-A ufw-user-input -p udp -m udp --dport 123 -j ACCEPT\nCOMMIT\n";
  auto plan = plan_firewall(facts, fs, {true});
  auto lines = command_lines(plan);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "iptables -t raw -I PREROUTING 1 -p udp --dport 123 -j CT --notrack");
  CHECK(lines[3] == "ip6tables -t raw -I OUTPUT 1 -p udp --sport 123 -j CT --notrack");
  REQUIRE(plan.files.size() == 1);
  CHECK(plan.files[0].path == "/etc/ufw/before.init");
  CHECK(plan.files[0].mode == mode_t{0750});  // ufw-init runs it only when executable
  CHECK_THAT(plan.files[0].content, Catch::Contains("notrack -I"));
  CHECK_THAT(plan.files[0].content, Catch::Contains("notrack -D"));
  // A before.init with commands of its own is left alone, and the way is said.
  root->write("etc/ufw/before.init", stock + "iptables -t nat -A POSTROUTING -j MASQUERADE\n");
  plan = plan_firewall(facts, fs, {true});
  CHECK(plan.nothing_to_do());
  CHECK_THAT(plan.notes.back(), Catch::Contains("has commands of its own"));
}
