// SPDX-License-Identifier: Apache-2.0
// Whether the host firewall lets an NTP query from outside reach the daemon: the rulesets as the
// kernel holds them (nftables, as `nft -j list ruleset` prints them; iptables, as
// `iptables-save` prints them) walked the way the kernel walks them for one packet, UDP to port
// 123 of one of the machine's global addresses, from an address on the internet, new to
// connection tracking, on a non-loopback interface. Pure functions over the text the tools print.
//
// What a rule matches that cannot be known for that packet (an iptables extension nft shows as
// "xt", a mark, a rate) is tried both ways: when the two ways end differently, the answer is
// unknown, naming the rule, and never guessed as open.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"

namespace pooljoin {

enum class Reach {
  open,        // every hook lets it through to the daemon's socket
  closed,      // a rule or a policy drops or rejects it
  unknown,     // it depends on something the rules' text does not tell
  no_address,  // the machine has no global address of this family: nothing to judge
};
std::string_view to_string(Reach reach);

// Who owns the rule that decides: the front-end an operator would use to change it.
enum class FirewallTool { firewalld, ufw, nftables, iptables, iptables_legacy };
std::string_view to_string(FirewallTool tool);

// The packet judged: UDP to port 123 of `destination`, arriving on `interface`.
struct InboundNtp {
  IpAddress destination;
  std::string interface;
};

// Where a verdict came from, precisely enough to change it there.
struct RuleRef {
  FirewallTool tool = FirewallTool::nftables;
  std::string table;  // nft: "inet filter"; iptables: "filter"
  std::string chain;  // the chain of the rule ("input", "INPUT", "ufw-user-input")
  std::string base;   // the base chain the walk started in (nft) or the built-in chain
  std::string text;   // the rule as the tool prints it, or "policy drop"
};

struct Judgement {
  Reach reach = Reach::unknown;
  std::optional<RuleRef> deciding;  // the rule that drops or rejects it (closed), or the one
                                    // whose match could not be judged (unknown)
  std::string why;                  // for unknown: what could not be judged

  // "table inet filter, chain input: policy drop", "iptables filter INPUT: -A INPUT -j REJECT"
  std::string describe() const;
};

// The rules that meet the packet in an nftables ruleset (`nft -j list ruleset`), at the
// prerouting and input hooks of its family, in priority order. `listing` is `nft -a list
// ruleset` (for the rules' text; may be empty). Tables whose "family name" is in
// `iptables_tables` are left out: iptables-nft manages them, and they are judged from
// iptables-save, which shows their extensions. ExitCode::unavailable for JSON that is not a
// ruleset.
struct NftRuleset {
  std::string json;
  std::string listing;
  std::set<std::string> iptables_tables;  // "ip filter", "ip6 filter", ...
};
Result<Judgement> judge_nftables(const NftRuleset& ruleset, const InboundNtp& packet);

// The filter table's INPUT chain (and raw and mangle PREROUTING, mangle INPUT) of one family's
// `iptables-save` / `ip6tables-save`, as `tool` (iptables or iptables_legacy) holds them. Chains
// named ufw-* or ufw6-* are ufw's; IN_*, INPUT_direct and the like firewalld's.
Judgement judge_iptables(std::string_view save, const InboundNtp& packet, FirewallTool tool);

// Every hook must let it through: closed when any closes, else unknown when any is unknown,
// else open (and open for none).
Judgement combine(const std::vector<Judgement>& judgements);

// The tables of an iptables-save text ("filter", "raw", ...) that hold a rule or a policy other
// than ACCEPT: what iptables-nft keeps in nftables under "ip NAME" / "ip6 NAME".
std::vector<std::string> iptables_tables_in_use(std::string_view save);

}  // namespace pooljoin
