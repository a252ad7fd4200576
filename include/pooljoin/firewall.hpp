// SPDX-License-Identifier: Apache-2.0
// `firewall`: the guide's "make sure UDP port 123 is open", done with the front-end in force and
// proven by the rules themselves. Facts first (the front-ends found, the rulesets as the kernel
// holds them, what makes them persist); then a judgement per address (firewall_rules.hpp); then
// the plan that opens what is closed, persistently; then apply, which judges again.
//
// What no program on the machine can see (a cloud provider's security group or network ACL, the
// path from the monitors) is said to be unseen: only a probe from outside proves it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/effects.hpp"
#include "pooljoin/firewall_rules.hpp"

namespace pooljoin {

struct FirewalldFacts {
  bool installed = false;
  bool running = false;  // firewall-cmd --state
  bool at_boot = false;  // enabled for boot (an image: configured to run)
  std::string default_zone;
  std::map<std::string, std::string> zone_of;  // interface -> zone (default zone when none)
  // Not running but set to start at boot: each zone's configuration (its XML), to be judged as
  // firewalld will load it.
  std::map<std::string, std::string> zone_xml;
};

struct UfwFacts {
  bool installed = false;
  bool enabled = false;  // ENABLED=yes in /etc/ufw/ufw.conf
  bool active = false;   // `ufw status` says active (live only)
};

// What makes an opening survive a reboot.
struct PersistenceFacts {
  std::string nftables_conf;      // the config the distribution's nftables service loads; "" none
  bool nftables_at_boot = false;  // that service is enabled
  bool netfilter_persistent = false;  // Debian's iptables-persistent: netfilter-persistent save
  bool iptables_services = false;     // the RHEL family's iptables.init save
};

struct FirewallFacts {
  bool live = true;
  std::vector<LocalAddress> addresses;  // the global ones the pool will use
  std::optional<NftRuleset> nft;        // live: nft's view, with the tables iptables-nft manages
  // iptables-save per tool and family, where the tool holds any table.
  std::map<FirewallTool, std::string> iptables_v4, iptables_v6;
  FirewalldFacts firewalld;
  UfwFacts ufw;
  PersistenceFacts persistence;
  std::optional<long> conntrack_count, conntrack_max;
  std::vector<std::string> notes;  // what could not be read, and why
};

// Reads the firewall of the system (through effects.runner: nft, iptables-*-save, firewall-cmd,
// ufw; and files under the root). Read-only. In an image nothing is run: only what is configured
// for boot is found.
FirewallFacts gather_firewall(const SystemFacts& system, Effects& effects);

struct AddressReach {
  LocalAddress address;
  Judgement judgement;
};

struct FirewallVerdict {
  std::vector<AddressReach> addresses;
  Judgement ipv4, ipv6;  // per family: the worst of its addresses' (no_address when none)
  std::vector<FirewallTool> in_force;  // every front-end with rules at the input hook, or enabled

  // The first family whose UDP 123 is closed; nullptr when none is.
  const Judgement* closed() const;
};

// Judges every global address against every hook (pure). In an image the rulesets are not
// loaded: unknown, said so.
FirewallVerdict judge_firewall(const FirewallFacts& facts);

struct FirewallRequest {
  bool notrack = false;  // exempt UDP 123 from connection tracking
};

struct FirewallFileEdit {
  std::string path;                    // system path
  std::string content;                 // what it will hold
  std::optional<std::string> current;  // what it holds now; nullopt when it does not exist
  std::string diff;
  std::optional<Command> check;  // run on the candidate ("{}" in argv is its path) before it
                                 // replaces the file
  std::optional<mode_t> mode;    // set even on a replaced file (a hook that must be executable)
};

// One command of the plan and what takes it back.
struct FirewallAction {
  Command command;
  std::optional<Command> undo;  // nullopt: nothing to take back (a save, a check)
  // An nft rule inserted: apply learns its handle (--echo --handle), and the undo deletes it.
  bool nft_insert = false;
};

struct FirewallPlan {
  FirewallVerdict before;
  bool live = true;
  std::vector<FirewallFileEdit> files;  // written first (an include before its includer)
  std::vector<FirewallAction> actions;  // then run in order
  bool notrack = false;
  bool persistent = true;  // every change survives a reboot
  std::vector<std::string> notes;

  std::vector<Command> commands() const;
  bool nothing_to_do() const { return actions.empty() && files.empty(); }
  // What an operator runs for it, on one line: the command when there is one, else
  // "pooljoin firewall".
  std::string fix() const;
};

// Decides from the facts and the verdict alone (reading the files it would change under the
// root). Closed or unknown addresses get their opening from the front-end that owns the deciding
// rule (firewalld: the ntp service in the zone of their interface; ufw: allow 123/udp; nftables: a
// rule first in the base chain; iptables: a rule first in the chain), and its persistence, or a
// note that it will not survive a reboot. An image gets its persistent files only.
FirewallPlan plan_firewall(const FirewallFacts& facts, const RootedFs& fs,
                           const FirewallRequest& request);

struct FirewallOutcome {
  FirewallVerdict after;  // judged again (live)
  std::vector<std::string> warnings;
};

// Runs the commands and writes the files; a failing command or file check undoes what was done
// and is an error (ExitCode::unavailable) with the tool's words. Then gathers and judges again.
Result<FirewallOutcome> apply_firewall(const FirewallPlan& plan, const SystemFacts& system,
                                       Effects& effects, const StepEvents& events = {});

}  // namespace pooljoin
