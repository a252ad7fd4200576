// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/firewall_rules.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/error.hpp"

namespace pooljoin {
namespace {

using nlohmann::json;

// The NTP port, and the ports a monitor's query comes from (Linux's ephemeral range).
constexpr int kNtpPort = 123;
constexpr int kEphemeralLow = 32768, kEphemeralHigh = 60999;
// The kernel stops at 16 nested jumps; a walk that branches more than this is left unknown.
constexpr int kMaxDepth = 16;
constexpr std::size_t kMaxPaths = 512;

enum class Tri { no, yes, maybe };

Tri negate(Tri t) {
  return t == Tri::yes ? Tri::no : t == Tri::no ? Tri::yes : Tri::maybe;
}
Tri of(bool b) {
  return b ? Tri::yes : Tri::no;
}

// The packet as the rules see it on its way; notrack and mark statements change it.
struct PacketState {
  const InboundNtp* packet = nullptr;
  bool untracked = false;
  bool mark_known = true;  // a fresh packet's mark is 0, until a rule sets one
  bool v4() const { return packet->destination.is_v4(); }
};

// A condition of a rule for the packet in its state; a Maybe says in `why` what it depends on.
using Cond = std::function<Tri(const PacketState&, std::string& why)>;

Cond always_maybe(std::string why) {
  return [why = std::move(why)](const PacketState&, std::string& out) {
    out = why;
    return Tri::maybe;
  };
}

enum class Act { none, accept, drop, reject, jump, go, ret, unknown };

struct Alternative {
  Act act = Act::none;
  std::string target;
};

struct IrRule {
  std::vector<Cond> conds;
  bool notrack = false;
  bool sets_mark = false;
  Act act = Act::none;
  std::string target;
  std::string unknown_why;  // for Act::unknown: the verdict nobody can foresee
  // A verdict map: the alternatives it may take (empty key match: none applies).
  std::function<std::vector<Alternative>(const PacketState&, std::string& why)> vmap;
  RuleRef ref;
};

struct IrChain {
  std::string table;  // "inet filter" (nft), "filter" (iptables)
  std::string name;   // "input", "INPUT"
  std::vector<IrRule> rules;
  std::optional<Act> policy;  // base chains only: accept or drop
};

struct IrBase {
  std::string chain;   // name in `chains`
  int hook_order = 0;  // prerouting 0, input 1
  long prio = 0;
};

struct IrProgram {
  std::map<std::string, IrChain> chains;  // by "table chain" key
  std::vector<IrBase> bases;
};

// --- Walking ----------------------------------------------------------------------------------

struct PathEnd {
  enum Kind { accepted, dropped, unknown } kind = accepted;
  std::optional<RuleRef> rule;  // the dropping rule, or the one whose verdict is unknown
  std::string why;
  std::optional<RuleRef> branched_at;  // the first rule whose match was a Maybe on this path
  std::string branch_why;
};

// Walks the base chains in order for one packet, as the kernel would: an accept ends a base
// chain (the next one sees the packet), a drop or reject ends the walk. A rule whose match is a
// Maybe is followed both ways.
class Walker {
 public:
  Walker(const IrProgram& program, const InboundNtp& packet) : program_(program) {
    start_.packet = &packet;
  }

  Judgement judge() {
    Path path;
    path.state = start_;
    enter_base(0, std::move(path));
    return summarise();
  }

 private:
  struct Frame {
    const IrChain* chain;
    std::size_t next;
  };
  struct Path {
    std::vector<Frame> stack;
    PacketState state;
    std::optional<RuleRef> branched;
    std::string branch_why;
  };

  void end(std::size_t base, PathEnd::Kind kind, std::optional<RuleRef> rule, std::string why,
           const Path& path) {
    // The base chain the walk was in: where a rule that changes the verdict goes.
    if (rule && base < program_.bases.size()) rule->base = base_chain(base).name;
    ends_.push_back({kind, std::move(rule), std::move(why), path.branched, path.branch_why});
  }

  void enter_base(std::size_t base, Path path) {
    if (ends_.size() >= kMaxPaths) {
      overflow_ = true;
      return;
    }
    if (base >= program_.bases.size()) {
      end(base, PathEnd::accepted, {}, {}, path);
      return;
    }
    path.stack = {{&program_.chains.at(program_.bases[base].chain), 0}};
    walk(base, std::move(path));
  }

  const IrChain& base_chain(std::size_t base) const {
    return program_.chains.at(program_.bases[base].chain);
  }

  void walk(std::size_t base, Path path) {
    for (;;) {
      if (ends_.size() >= kMaxPaths) {
        overflow_ = true;
        return;
      }
      if (path.stack.empty()) {
        // The end of the base chain: its policy.
        const IrChain& chain = base_chain(base);
        if (chain.policy == Act::drop) {
          end(base, PathEnd::dropped, policy_ref(chain), {}, path);
          return;
        }
        enter_base(base + 1, std::move(path));
        return;
      }
      Frame& top = path.stack.back();
      if (top.next >= top.chain->rules.size()) {
        path.stack.pop_back();  // back to the rule after the jump, or the base chain's end
        continue;
      }
      const IrRule& rule = top.chain->rules[top.next++];
      Tri applies = Tri::yes;
      std::string why;
      for (const auto& cond : rule.conds) {
        std::string cond_why;
        Tri t = cond(path.state, cond_why);
        if (t == Tri::no) {
          applies = Tri::no;
          break;
        }
        if (t == Tri::maybe) {
          applies = Tri::maybe;
          if (why.empty()) why = cond_why;
        }
      }
      if (applies == Tri::no) continue;
      if (applies == Tri::maybe) {
        // Both ways: a copy of the path in which the rule applies; this one, where it does not.
        if (!path.branched) {
          path.branched = rule.ref;
          path.branched->base = base_chain(base).name;
          path.branch_why = why;
        }
        apply(base, path, rule);
        continue;
      }
      apply(base, std::move(path), rule);
      return;
    }
  }

  // Follows `rule` applied to `path` to the end of the walk.
  void apply(std::size_t base, Path path, const IrRule& rule) {
    if (rule.notrack) path.state.untracked = true;
    if (rule.sets_mark) path.state.mark_known = false;
    if (!rule.vmap) {
      follow(base, std::move(path), rule, {rule.act, rule.target});
      return;
    }
    std::string why;
    std::vector<Alternative> alternatives = rule.vmap(path.state, why);
    if (alternatives.empty()) alternatives.push_back({Act::none, {}});
    if (alternatives.size() > 1 && !path.branched) {
      path.branched = rule.ref;
      path.branched->base = base_chain(base).name;
      path.branch_why = why;
    }
    for (const auto& alternative : alternatives)
      follow(base, path, rule, alternative);
  }

  void follow(std::size_t base, Path path, const IrRule& rule, const Alternative& alt) {
    switch (alt.act) {
      case Act::none:
        walk(base, std::move(path));
        return;
      case Act::accept:
        enter_base(base + 1, std::move(path));
        return;
      case Act::drop:
      case Act::reject:
        end(base, PathEnd::dropped, rule.ref, {}, path);
        return;
      case Act::unknown:
        end(base, PathEnd::unknown, rule.ref, rule.unknown_why, path);
        return;
      case Act::ret:
        path.stack.pop_back();
        walk(base, std::move(path));
        return;
      case Act::jump:
      case Act::go: {
        auto it = program_.chains.find(rule.ref.table + " " + alt.target);
        if (it == program_.chains.end() || path.stack.size() >= kMaxDepth) {
          end(base, PathEnd::unknown, rule.ref,
              fmt::format("it jumps to {}, which is not in the ruleset", alt.target), path);
          return;
        }
        if (alt.act == Act::go) path.stack.pop_back();
        path.stack.push_back({&it->second, 0});
        walk(base, std::move(path));
        return;
      }
    }
  }

  static RuleRef policy_ref(const IrChain& chain) {
    RuleRef ref;
    ref.table = chain.table;
    ref.chain = ref.base = chain.name;
    ref.text = "policy drop";
    return ref;
  }

  Judgement summarise() const {
    Judgement j;
    if (overflow_ || ends_.empty()) {
      j.reach = Reach::unknown;
      j.why = "the ruleset branches too much to follow";
      return j;
    }
    auto all = [&](PathEnd::Kind kind) {
      return std::all_of(ends_.begin(), ends_.end(),
                         [kind](const PathEnd& e) { return e.kind == kind; });
    };
    if (all(PathEnd::accepted)) {
      j.reach = Reach::open;
      return j;
    }
    // A drop on the path where no match was in doubt decides it.
    for (const auto& end : ends_) {
      if (end.kind == PathEnd::dropped && !end.branched_at) {
        j.reach = Reach::closed;
        j.deciding = end.rule;
        return j;
      }
    }
    if (all(PathEnd::dropped)) {
      j.reach = Reach::closed;
      j.deciding = ends_.front().rule;
      return j;
    }
    j.reach = Reach::unknown;
    for (const auto& end : ends_) {
      if (end.kind == PathEnd::unknown && !end.branched_at) {
        j.deciding = end.rule;
        j.why = end.why;
        return j;
      }
    }
    for (const auto& end : ends_) {
      if (end.branched_at) {
        j.deciding = end.branched_at;
        j.why = end.branch_why;
        return j;
      }
    }
    j.deciding = ends_.front().rule;
    j.why = ends_.front().why;
    return j;
  }

  const IrProgram& program_;
  PacketState start_;
  std::vector<PathEnd> ends_;
  bool overflow_ = false;
};

// --- Values of the packet ---------------------------------------------------------------------

// What a field of the packet holds, as far as a rule can see.
struct Field {
  enum Kind {
    number,
    text,
    address,
    outside,      // the source address: somewhere on the internet, not one anybody listed
    random_port,  // the source port: an ephemeral one, different for each query
    absent,       // a header the packet does not have (a TCP port of a UDP packet)
    no_flags,     // a flags field with none of its flags set
    unknown,
  } kind = unknown;
  long long n = 0;
  std::string s;
  IpAddress a;
  std::string why;  // for unknown
};

Field num(long long n) {
  Field f;
  f.kind = Field::number;
  f.n = n;
  return f;
}
Field text(std::string s) {
  Field f;
  f.kind = Field::text;
  f.s = std::move(s);
  return f;
}
Field addr(const IpAddress& a) {
  Field f;
  f.kind = Field::address;
  f.a = a;
  return f;
}
Field kind(Field::Kind k, std::string why = {}) {
  Field f;
  f.kind = k;
  f.why = std::move(why);
  return f;
}

// Protocol names as nft and iptables print them, with their numbers.
std::optional<long long> protocol_number(std::string_view name) {
  static const std::map<std::string_view, long long> numbers = {
      {"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17},   {"ipv6-icmp", 58}, {"icmpv6", 58},
      {"gre", 47}, {"esp", 50}, {"ah", 51}, {"sctp", 132}, {"udplite", 136},  {"dccp", 33}};
  auto it = numbers.find(name);
  if (it == numbers.end()) return std::nullopt;
  return it->second;
}

// An interface name against a pattern with nft's and iptables' trailing wildcard ("eth*", "eth+").
bool interface_matches(std::string_view name, std::string_view pattern) {
  if (!pattern.empty() && (pattern.back() == '*' || pattern.back() == '+')) {
    return name.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  }
  return name == pattern;
}

// --- nftables -------------------------------------------------------------------------------

struct NftSets {
  std::map<std::string, std::vector<json>> elements;  // "family table name" -> elements
};

Field nft_field(const json& left, const PacketState& st) {
  const InboundNtp& p = *st.packet;
  if (left.contains("meta")) {
    const std::string key = left["meta"].value("key", "");
    if (key == "iifname" || key == "iif") return text(p.interface);
    if (key == "l4proto") return num(17);
    if (key == "nfproto") return text(st.v4() ? "ipv4" : "ipv6");
    if (key == "protocol") return text(st.v4() ? "ip" : "ip6");
    if (key == "pkttype") return text("host");
    if (key == "mark") return st.mark_known ? num(0) : kind(Field::unknown, "the packet's mark");
    return kind(Field::unknown, "meta " + key);
  }
  if (left.contains("payload")) {
    const json& pl = left["payload"];
    const std::string proto = pl.value("protocol", "");
    const std::string field = pl.value("field", "");
    if (proto.empty()) {
      // A raw payload expression ("@th,16,16"): the transport header's destination port only.
      if (pl.value("base", "") == "th" && pl.value("offset", -1) == 16 && pl.value("len", -1) == 16)
        return num(kNtpPort);
      return kind(Field::unknown, "a raw payload match");
    }
    if (proto == "ip" || proto == "ip6") {
      if ((proto == "ip") != st.v4()) return kind(Field::absent);
      if (field == "saddr") return kind(Field::outside);
      if (field == "daddr") return addr(p.destination);
      if (field == "protocol" || field == "nexthdr") return num(17);
      if (field == "version") return num(st.v4() ? 4 : 6);
      return kind(Field::unknown, proto + " " + field);
    }
    if (proto == "udp" || proto == "th") {
      if (field == "dport") return num(kNtpPort);
      if (field == "sport") return kind(Field::random_port);
      return kind(Field::unknown, proto + " " + field);
    }
    return kind(Field::absent);  // tcp, icmp, sctp, ...: not this packet's header
  }
  if (left.contains("ct")) {
    const std::string key = left["ct"].value("key", "");
    if (key == "state") return text(st.untracked ? "untracked" : "new");
    // A new flow from outside: no status bit yet (not DNATed, not confirmed, no reply seen).
    if (key == "status") return kind(Field::no_flags);
    if (key == "direction") return text("original");
    return kind(Field::unknown, "ct " + key);
  }
  if (left.contains("fib")) {
    const json& fib = left["fib"];
    const std::string result = fib.value("result", "");
    std::vector<std::string> flags = fib.value("flags", std::vector<std::string>{});
    bool daddr = std::find(flags.begin(), flags.end(), "daddr") != flags.end();
    bool saddr = std::find(flags.begin(), flags.end(), "saddr") != flags.end();
    if (result == "type" && daddr) return text("local");
    // Reverse-path filtering: the internet is reachable back through the default route.
    if ((result == "oif" || result == "oifname") && saddr) return text("present");
    return kind(Field::unknown, "a fib lookup");
  }
  return kind(Field::unknown, "a match nftables' JSON does not spell out");
}

// Whether the field equals one element of a set or the right side of a match.
Tri nft_equals(const Field& f, const json& right, const NftSets& sets, const std::string& table);

Tri nft_equals_scalar(const Field& f, const json& v) {
  switch (f.kind) {
    case Field::number:
      if (v.is_number()) return of(v.get<long long>() == f.n);
      if (v.is_string()) {
        auto n = protocol_number(v.get<std::string>());
        if (n) return of(*n == f.n);
        long long parsed = 0;
        const std::string s = v.get<std::string>();
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
        if (ec == std::errc() && ptr == s.data() + s.size()) return of(parsed == f.n);
        return Tri::maybe;  // a service name nft did not turn into a number
      }
      return Tri::maybe;
    case Field::text:
      if (v.is_string()) return of(interface_matches(f.s, v.get<std::string>()));
      if (v.is_boolean()) return of(f.s == "present" ? v.get<bool>() : !v.get<bool>());
      return Tri::maybe;
    case Field::address:
      if (v.is_string()) {
        auto a = IpAddress::parse(v.get<std::string>());
        return a ? of(*a == f.a) : Tri::maybe;
      }
      return Tri::maybe;
    case Field::outside:      // a listed address is not the monitor's
    case Field::random_port:  // nor is a port of the monitor's choosing
      return Tri::no;
    default:
      return Tri::maybe;
  }
}

Tri nft_equals(const Field& f, const json& right, const NftSets& sets, const std::string& table) {
  if (right.is_object() && right.contains("set")) {
    Tri any = Tri::no;
    for (const auto& element : right["set"]) {
      Tri t = nft_equals(f, element, sets, table);
      if (t == Tri::yes) return Tri::yes;
      if (t == Tri::maybe) any = Tri::maybe;
    }
    return any;
  }
  if (right.is_string() && !right.get<std::string>().empty() &&
      right.get<std::string>()[0] == '@') {
    auto it = sets.elements.find(table + " " + right.get<std::string>().substr(1));
    if (it == sets.elements.end()) return Tri::maybe;
    Tri any = Tri::no;
    for (const auto& element : it->second) {
      Tri t = nft_equals(f, element, sets, table);
      if (t == Tri::yes) return Tri::yes;
      if (t == Tri::maybe) any = Tri::maybe;
    }
    return any;
  }
  if (right.is_object() && right.contains("elem"))
    return nft_equals(f, right["elem"]["val"], sets, table);
  if (right.is_object() && right.contains("range")) {
    const json& r = right["range"];
    if (f.kind == Field::number && r[0].is_number() && r[1].is_number())
      return of(f.n >= r[0].get<long long>() && f.n <= r[1].get<long long>());
    if (f.kind == Field::random_port && r[0].is_number() && r[1].is_number()) {
      long long lo = r[0].get<long long>(), hi = r[1].get<long long>();
      if (lo <= kEphemeralLow && hi >= kEphemeralHigh) return Tri::yes;
      if (hi < kEphemeralLow || lo > kEphemeralHigh) return Tri::no;
      return Tri::maybe;
    }
    if (f.kind == Field::address && r[0].is_string() && r[1].is_string()) {
      auto lo = IpAddress::parse(r[0].get<std::string>());
      auto hi = IpAddress::parse(r[1].get<std::string>());
      if (lo && hi) return of(f.a >= *lo && f.a <= *hi);
    }
    if (f.kind == Field::outside) return Tri::no;
    return Tri::maybe;
  }
  if (right.is_object() && right.contains("prefix")) {
    const json& p = right["prefix"];
    auto a = IpAddress::parse(p.value("addr", ""));
    unsigned len = p.value("len", 0u);
    if (!a) return Tri::maybe;
    if (f.kind == Field::outside) return of(len == 0);
    if (f.kind == Field::address) return of(a->family() == f.a.family() && f.a.in_prefix(*a, len));
    return Tri::maybe;
  }
  if (right.is_array()) {  // a list of flags (ct state in a list)
    Tri any = Tri::no;
    for (const auto& element : right) {
      Tri t = nft_equals_scalar(f, element);
      if (t == Tri::yes) return Tri::yes;
      if (t == Tri::maybe) any = Tri::maybe;
    }
    return any;
  }
  return nft_equals_scalar(f, right);
}

Tri nft_match(const json& m, const PacketState& st, const NftSets& sets, const std::string& table,
              std::string& why) {
  const std::string op = m.value("op", "==");
  Field f = nft_field(m["left"], st);
  if (f.kind == Field::absent) return Tri::no;
  if (f.kind == Field::no_flags) return of(op == "!=");
  if (f.kind == Field::unknown) {
    why = "it matches on " + f.why;
    return Tri::maybe;
  }
  if (op == "==" || op == "in") {
    Tri t = nft_equals(f, m["right"], sets, table);
    if (t == Tri::maybe) why = "it compares the packet with values nftables does not list";
    return t;
  }
  if (op == "!=") {
    Tri t = negate(nft_equals(f, m["right"], sets, table));
    if (f.kind == Field::random_port || f.kind == Field::outside) t = Tri::yes;
    if (t == Tri::maybe) why = "it compares the packet with values nftables does not list";
    return t;
  }
  if (f.kind == Field::number && m["right"].is_number()) {
    long long r = m["right"].get<long long>();
    if (op == "<") return of(f.n < r);
    if (op == ">") return of(f.n > r);
    if (op == "<=") return of(f.n <= r);
    if (op == ">=") return of(f.n >= r);
  }
  why = "it compares with `" + op + "`";
  return Tri::maybe;
}

// The verdict statement of a JSON object, if it is one.
std::optional<Alternative> nft_verdict(const json& s) {
  if (s.contains("accept")) return Alternative{Act::accept, {}};
  if (s.contains("drop")) return Alternative{Act::drop, {}};
  if (s.contains("reject")) return Alternative{Act::reject, {}};
  if (s.contains("return")) return Alternative{Act::ret, {}};
  if (s.contains("continue")) return Alternative{Act::none, {}};
  if (s.contains("jump")) return Alternative{Act::jump, s["jump"].value("target", "")};
  if (s.contains("goto")) return Alternative{Act::go, s["goto"].value("target", "")};
  return std::nullopt;
}

// "family table chain handle" -> the rule's text, from `nft -a list ruleset`.
std::map<std::string, std::string> nft_rule_texts(std::string_view listing) {
  std::map<std::string, std::string> texts;
  std::istringstream in{std::string(listing)};
  std::string table, chain;
  for (std::string line; std::getline(in, line);) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    std::string body = line.substr(start);
    auto mark = body.rfind(" # handle ");
    if (body.rfind("table ", 0) == 0) {
      std::istringstream words(body);
      std::string kw, family, name;
      words >> kw >> family >> name;
      table = family + " " + name;
      continue;
    }
    if (body.rfind("chain ", 0) == 0) {
      std::istringstream words(body);
      std::string kw, name;
      words >> kw >> name;
      chain = name;
      continue;
    }
    if (mark == std::string::npos || chain.empty()) continue;
    std::string handle = body.substr(mark + 10);
    texts[table + " " + chain + " " + handle] = body.substr(0, mark);
  }
  return texts;
}

Result<IrProgram> compile_nft(const NftRuleset& ruleset, bool v4) {
  json doc = json::parse(ruleset.json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nftables") ||
      !doc["nftables"].is_array()) {
    return fail(ExitCode::unavailable, "cannot read the nftables ruleset",
                "`nft -j list ruleset` printed something that is not a ruleset");
  }
  const auto texts = nft_rule_texts(ruleset.listing);
  auto family_counts = [&](const std::string& family) {
    if (family == "inet") return true;
    return v4 ? family == "ip" : family == "ip6";
  };
  IrProgram program;
  auto sets = std::make_shared<NftSets>();
  for (const auto& item : doc["nftables"]) {
    for (const char* kind : {"set", "map"}) {
      if (!item.contains(kind)) continue;
      const json& s = item[kind];
      std::string key =
          s.value("family", "") + " " + s.value("table", "") + " " + s.value("name", "");
      auto& elements = sets->elements[key];
      if (s.contains("elem")) {
        for (const auto& e : s["elem"])
          elements.push_back(e);
      }
    }
  }
  for (const auto& item : doc["nftables"]) {
    if (!item.contains("chain")) continue;
    const json& c = item["chain"];
    const std::string family = c.value("family", "");
    const std::string table = family + " " + c.value("table", "");
    if (!family_counts(family) || ruleset.iptables_tables.count(table)) continue;
    IrChain chain;
    chain.table = table;
    chain.name = c.value("name", "");
    const std::string key = table + " " + chain.name;
    const std::string hook = c.value("hook", "");
    const std::string type = c.value("type", "");
    if ((hook == "prerouting" || hook == "input") && type == "filter") {
      chain.policy = c.value("policy", "accept") == "drop" ? Act::drop : Act::accept;
      program.bases.push_back({key, hook == "prerouting" ? 0 : 1, c.value("prio", 0L)});
    }
    program.chains[key] = chain;
  }
  for (const auto& item : doc["nftables"]) {
    if (!item.contains("rule")) continue;
    const json& r = item["rule"];
    const std::string family = r.value("family", "");
    const std::string table = family + " " + r.value("table", "");
    auto chain_it = program.chains.find(table + " " + r.value("chain", ""));
    if (chain_it == program.chains.end()) continue;
    IrRule rule;
    rule.ref.tool = FirewallTool::nftables;
    rule.ref.table = table;
    rule.ref.chain = r.value("chain", "");
    const std::string handle = std::to_string(r.value("handle", 0));
    auto text = texts.find(table + " " + rule.ref.chain + " " + handle);
    rule.ref.text = text != texts.end() ? text->second : "rule handle " + handle;
    for (const auto& e : r.value("expr", json::array())) {
      if (e.contains("match")) {
        json m = e["match"];
        rule.conds.push_back([m, sets, table](const PacketState& st, std::string& why) {
          return nft_match(m, st, *sets, table, why);
        });
      } else if (auto verdict = nft_verdict(e)) {
        rule.act = verdict->act;
        rule.target = verdict->target;
      } else if (e.contains("vmap")) {
        json vm = e["vmap"];
        rule.vmap = [vm, sets, table](const PacketState& st, std::string& why) {
          std::vector<Alternative> alternatives;
          Field f = nft_field(vm["key"], st);
          json data = vm["data"];
          std::vector<json> pairs;
          if (data.is_object() && data.contains("set")) {
            for (const auto& p : data["set"])
              pairs.push_back(p);
          } else if (data.is_string() && !data.get<std::string>().empty() &&
                     data.get<std::string>()[0] == '@') {
            auto it = sets->elements.find(table + " " + data.get<std::string>().substr(1));
            if (it != sets->elements.end()) pairs = it->second;
          }
          bool unsure = f.kind == Field::unknown;
          for (const auto& p : pairs) {
            if (!p.is_array() || p.size() != 2) continue;
            Tri t = unsure                    ? Tri::maybe
                    : f.kind == Field::absent ? Tri::no
                                              : nft_equals(f, p[0], *sets, table);
            auto then = nft_verdict(p[1]);
            if (!then) then = Alternative{Act::unknown, {}};
            if (t == Tri::yes) return std::vector<Alternative>{*then};
            if (t == Tri::maybe) alternatives.push_back(*then);
          }
          if (!alternatives.empty()) {
            why = "its verdict map is keyed on something the rules do not tell";
            alternatives.push_back({Act::none, {}});
          }
          return alternatives;
        };
      } else if (e.contains("notrack")) {
        rule.notrack = true;
      } else if (e.contains("mangle") && e["mangle"].contains("key") &&
                 e["mangle"]["key"].contains("meta")) {
        rule.sets_mark = true;
      } else if (e.contains("limit")) {
        rule.conds.push_back(
            always_maybe("it is rate-limited: how many packets pass depends on the load"));
      } else if (e.contains("xt")) {
        const json& xt = e["xt"];
        const std::string name = xt.value("name", "?");
        if (xt.value("type", "") == "target") {
          if (name != "LOG" && name != "NFLOG") {
            rule.act = Act::unknown;
            rule.unknown_why = "its target " + name + " is an iptables extension";
          }
        } else {
          rule.conds.push_back(always_maybe("its match " + name +
                                            " is an iptables extension nftables does not show"));
        }
      } else if (e.contains("queue") || e.contains("fwd") || e.contains("dup") ||
                 e.contains("synproxy") || e.contains("quota")) {
        if (e.contains("quota")) {
          rule.conds.push_back(always_maybe("it has a quota"));
        } else {
          rule.act = Act::unknown;
          rule.unknown_why = "its verdict is decided outside the ruleset";
        }
      }
      // counter, log, comment, set updates and the like decide nothing.
    }
    chain_it->second.rules.push_back(std::move(rule));
  }
  std::stable_sort(
      program.bases.begin(), program.bases.end(), [](const IrBase& a, const IrBase& b) {
        return a.hook_order != b.hook_order ? a.hook_order < b.hook_order : a.prio < b.prio;
      });
  return program;
}

// --- iptables ---------------------------------------------------------------------------------

std::vector<std::string> split_words(const std::string& line) {
  // iptables-save quotes a --comment with double quotes; nothing else has spaces.
  std::vector<std::string> words;
  std::string word;
  bool quoted = false, any = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '\\' && i + 1 < line.size()) {
        word += line[++i];
      } else if (c == '"') {
        quoted = false;
      } else {
        word += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = any = true;
      continue;
    }
    if (c == ' ' || c == '\t') {
      if (any) words.push_back(word);
      word.clear();
      any = false;
      continue;
    }
    word += c;
    any = true;
  }
  if (any) words.push_back(word);
  return words;
}

// A port list "123", "100:200", "53,123,1000:2000" against port `p`.
std::optional<bool> in_ports(std::string_view list, int p) {
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    auto colon = item.find(':');
    int lo = 0, hi = 0;
    auto parse = [](std::string_view s, int& v) {
      if (s.empty()) return false;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc() && ptr == s.data() + s.size();
    };
    if (colon == std::string_view::npos) {
      if (!parse(item, lo)) return std::nullopt;
      hi = lo;
    } else {
      std::string_view a = item.substr(0, colon), b = item.substr(colon + 1);
      if (a.empty()) a = "0";
      if (b.empty()) b = "65535";
      if (!parse(a, lo) || !parse(b, hi)) return std::nullopt;
    }
    if (p >= lo && p <= hi) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Whether the random source port of a query falls in the port list: sure only when the list
// covers or misses the whole ephemeral range.
Tri source_port_in(std::string_view list) {
  auto low = in_ports(list, kEphemeralLow), high = in_ports(list, kEphemeralHigh);
  if (!low || !high) return Tri::maybe;
  if (*low && *high) return Tri::yes;
  if (!*low && !*high) return Tri::no;
  return Tri::maybe;
}

Tri address_matches(std::string_view spec, const IpAddress& a) {
  auto slash = spec.find('/');
  auto base = IpAddress::parse(spec.substr(0, slash));
  if (!base) return Tri::maybe;  // a host name iptables resolved at load time: it prints numbers
  unsigned bits = base->is_v4() ? 32 : 128;
  if (slash != std::string_view::npos) {
    std::string_view mask = spec.substr(slash + 1);
    if (auto m = IpAddress::parse(mask)) {
      // A dotted mask: count its leading ones.
      bits = 0;
      for (auto byte : m->bytes()) {
        for (int i = 7; i >= 0 && (byte >> i) & 1; --i)
          ++bits;
        if (byte != 0xff) break;
      }
    } else {
      unsigned v = 0;
      auto [ptr, ec] = std::from_chars(mask.data(), mask.data() + mask.size(), v);
      if (ec != std::errc() || ptr != mask.data() + mask.size()) return Tri::maybe;
      bits = v;
    }
  }
  if (base->family() != a.family()) return Tri::no;
  return of(a.in_prefix(*base, bits));
}

struct IptParsed {
  IrRule rule;
  std::string chain;
};

IptParsed parse_ipt_rule(const std::string& line, const std::string& table, FirewallTool tool) {
  IptParsed out;
  IrRule& rule = out.rule;
  rule.ref.tool = tool;
  rule.ref.table = table;
  rule.ref.text = line;
  auto words = split_words(line);
  auto maybe = [&rule](std::string why) { rule.conds.push_back(always_maybe(std::move(why))); };
  std::string proto;
  bool negate_next = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    auto value = [&]() -> std::string { return i + 1 < words.size() ? words[++i] : std::string(); };
    const bool neg = negate_next;
    negate_next = false;
    // A condition of the packet alone (no doubt to explain but the one it names).
    auto cond = [&rule, neg, &w](std::function<Tri(const PacketState&)> c) {
      std::string what = "`" + w + "`";
      rule.conds.push_back([c = std::move(c), neg, what](const PacketState& st, std::string& why) {
        Tri t = c(st);
        if (t == Tri::maybe) why = "its " + what + " match depends on more than the packet";
        return neg ? negate(t) : t;
      });
    };
    if (w == "!") {
      negate_next = true;
    } else if (w == "-A") {
      out.chain = value();
      rule.ref.chain = out.chain;
    } else if (w == "-i" || w == "--in-interface") {
      std::string iface = value();
      cond([iface](const PacketState& st) {
        return of(interface_matches(st.packet->interface, iface));
      });
    } else if (w == "-o" || w == "--out-interface") {
      value();  // no output interface at the input hook
    } else if (w == "-s" || w == "--source") {
      std::string spec = value();
      cond([spec](const PacketState&) {
        auto slash = spec.find('/');
        bool everything = slash != std::string::npos &&
                          (spec.substr(slash + 1) == "0" || spec.substr(slash + 1) == "0.0.0.0");
        return of(everything);
      });
    } else if (w == "-d" || w == "--destination") {
      std::string spec = value();
      cond([spec](const PacketState& st) { return address_matches(spec, st.packet->destination); });
    } else if (w == "-p" || w == "--protocol") {
      proto = value();
      std::string p = proto;
      cond([p](const PacketState&) {
        if (p == "all" || p == "0") return Tri::yes;
        auto n = protocol_number(p);
        if (!n) {
          long long v = 0;
          auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
          if (ec != std::errc()) return Tri::maybe;
          n = v;
        }
        return of(*n == 17);
      });
    } else if (w == "-m" || w == "--match") {
      std::string module = value();
      if (module == "udp" || module == "tcp" || module == "comment" || module == "conntrack" ||
          module == "state" || module == "addrtype" || module == "multiport" || module == "icmp" ||
          module == "icmp6" || module == "pkttype" || module == "limit" || module == "rt" ||
          module == "set" || module == "hl" || module == "ttl" || module == "mark" ||
          module == "recent" || module == "hashlimit" || module == "ipv6header" ||
          module == "length" || module == "owner" || module == "physdev" || module == "iprange" ||
          module == "connlimit" || module == "socket" || module == "u32" || module == "string" ||
          module == "policy" || module == "rpfilter" || module == "frag") {
        // Their options follow; the unknown ones among them are judged where they appear.
        if (module == "recent" || module == "hashlimit" || module == "connlimit" ||
            module == "u32" || module == "string" || module == "socket" || module == "policy" ||
            module == "length" || module == "ipv6header" || module == "hl" || module == "ttl" ||
            module == "physdev")
          maybe("its match " + module + " depends on more than the packet's addresses and ports");
        if (module == "limit")
          maybe("it is rate-limited: how many packets pass depends on the load");
        if (module == "rpfilter") {
          // Reverse-path filtering passes a packet from the internet (there is a route back).
        }
        if (module == "mark") {
          // Followed by --mark; judged there.
        }
      } else {
        maybe("its match " + module + " is not one pooljoin reads");
      }
    } else if (w == "--dport" || w == "--destination-port" || w == "--dports" ||
               w == "--destination-ports" || w == "--ports") {
      std::string ports = value();
      cond([ports, p = proto](const PacketState&) {
        if (p != "udp" && p != "17") return Tri::no;
        auto in = in_ports(ports, kNtpPort);
        return in ? of(*in) : Tri::maybe;
      });
    } else if (w == "--sport" || w == "--source-port" || w == "--sports" || w == "--source-ports") {
      std::string ports = value();
      cond([ports, p = proto](const PacketState&) {
        if (p != "udp" && p != "17") return Tri::no;
        return source_port_in(ports);
      });
    } else if (w == "--ctstate" || w == "--state") {
      std::string states = value();
      cond([states](const PacketState& st) {
        std::string want = st.untracked ? "UNTRACKED" : "NEW";
        std::istringstream in(states);
        for (std::string s; std::getline(in, s, ',');)
          if (s == want) return Tri::yes;
        return Tri::no;
      });
    } else if (w == "--dst-type") {
      std::string type = value();
      cond([type](const PacketState&) { return of(type == "LOCAL"); });
    } else if (w == "--src-type") {
      std::string type = value();
      cond([type](const PacketState&) { return of(type == "UNICAST"); });
    } else if (w == "--pkt-type") {
      std::string type = value();
      cond([type](const PacketState&) { return of(type == "host" || type == "unicast"); });
    } else if (w == "--icmp-type" || w == "--icmpv6-type") {
      value();
      cond([](const PacketState&) { return Tri::no; });
    } else if (w == "--rt-type" || w == "--rt-segsleft" || w == "--rt-len") {
      value();
      cond([](const PacketState&) { return Tri::no; });  // no routing header
    } else if (w == "--mark") {
      std::string mark = value();
      cond([mark](const PacketState& st) {
        if (!st.mark_known) return Tri::maybe;
        return of(mark == "0x0" || mark == "0" || mark.rfind("0x0/", 0) == 0);
      });
    } else if (w == "--match-set") {
      value();
      std::string direction = value();
      cond([direction](const PacketState&) {
        // A set of sources: the monitor's address is not in a list anybody made for it.
        return direction.find("dst") != std::string::npos ? Tri::maybe : Tri::no;
      });
    } else if (w == "--comment" || w == "--limit" || w == "--limit-burst" || w == "--name" ||
               w == "--mask" || w == "--seconds" || w == "--hitcount" || w == "--log-prefix" ||
               w == "--log-level" || w == "--reject-with" || w == "--set-mark" ||
               w == "--set-xmark" || w == "--nflog-group" || w == "--nflog-prefix" ||
               w == "--hashlimit-name" || w == "--hashlimit-upto" || w == "--hashlimit-above" ||
               w == "--hashlimit-mode" || w == "--hashlimit-burst" ||
               w == "--hashlimit-htable-expire" || w == "--connlimit-above" ||
               w == "--connlimit-mask" || w == "--src-range" || w == "--dst-range" ||
               w == "--hl-eq" || w == "--ttl-eq" || w == "--length" || w == "--zone") {
      std::string v = value();
      if (w == "--dst-range") {
        cond([v](const PacketState& st) {
          auto dash = v.find('-');
          auto lo = IpAddress::parse(v.substr(0, dash));
          auto hi = IpAddress::parse(dash == std::string::npos ? "" : v.substr(dash + 1));
          if (!lo || !hi) return Tri::maybe;
          return of(st.packet->destination >= *lo && st.packet->destination <= *hi);
        });
      } else if (w == "--src-range") {
        cond([](const PacketState&) { return Tri::no; });
      }
    } else if (w == "--set" || w == "--rcheck" || w == "--update" || w == "--remove" ||
               w == "--rsource" || w == "--rdest" || w == "--log-uid" || w == "--notrack" ||
               w == "--reap" || w == "--limit-iface-in" || w == "--limit-iface-out") {
      // Flags without a value.
    } else if (w == "-j" || w == "--jump" || w == "-g" || w == "--goto") {
      std::string target = value();
      if (target == "ACCEPT") {
        rule.act = Act::accept;
      } else if (target == "DROP") {
        rule.act = Act::drop;
      } else if (target == "REJECT") {
        rule.act = Act::reject;
      } else if (target == "RETURN") {
        rule.act = Act::ret;
      } else if (target == "LOG" || target == "NFLOG" || target == "MARK" || target == "CONNMARK" ||
                 target == "TRACE") {
        rule.act = Act::none;
        if (target == "MARK" || target == "CONNMARK") rule.sets_mark = true;
      } else if (target == "CT") {
        rule.act = Act::none;
        rule.notrack = std::find(words.begin(), words.end(), "--notrack") != words.end();
      } else if (target == "NOTRACK") {
        rule.notrack = true;
      } else if (target.size() > 0 &&
                 (std::isupper(static_cast<unsigned char>(target[0])) &&
                  target.find('-') == std::string::npos && target.find('_') == std::string::npos &&
                  target != "INPUT" && target != "PREROUTING")) {
        // QUEUE, NFQUEUE, TPROXY, ...: decided outside the rules. (A user chain in capitals
        // without - or _ is rare; it would be seen as such below when it exists.)
        rule.act = Act::unknown;
        rule.target = target;
        rule.unknown_why = "its target " + target + " decides outside the ruleset";
      } else {
        rule.act = (w == "-g" || w == "--goto") ? Act::go : Act::jump;
        rule.target = target;
      }
    }
  }
  return out;
}

// The owner of an iptables chain, by its name: ufw's ufw-* / ufw6-*, firewalld's IN_* and
// *_direct and the like, else iptables itself.
FirewallTool chain_owner(const std::string& chain, FirewallTool tool) {
  if (chain.rfind("ufw-", 0) == 0 || chain.rfind("ufw6-", 0) == 0) return FirewallTool::ufw;
  if (chain.rfind("IN_", 0) == 0 || chain.find("_direct") != std::string::npos ||
      chain.rfind("INPUT_ZONES", 0) == 0 || chain.rfind("PRE_", 0) == 0)
    return FirewallTool::firewalld;
  return tool;
}

IrProgram compile_iptables(std::string_view save, FirewallTool tool) {
  IrProgram program;
  std::istringstream in{std::string(save)};
  std::string table;
  std::vector<IptParsed> rules;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '*') {
      table = line.substr(1);
      continue;
    }
    if (line == "COMMIT") continue;
    if (line[0] == ':') {
      std::istringstream words(line.substr(1));
      std::string name, policy;
      words >> name >> policy;
      IrChain chain;
      chain.table = table;
      chain.name = name;
      if (policy == "ACCEPT" || policy == "DROP")
        chain.policy = policy == "DROP" ? Act::drop : Act::accept;
      const std::string key = table + " " + name;
      program.chains[key] = chain;
      if ((table == "raw" && name == "PREROUTING") || (table == "mangle" && name == "PREROUTING")) {
        program.bases.push_back({key, 0, table == "raw" ? -300 : -150});
      } else if ((table == "mangle" && name == "INPUT") || (table == "filter" && name == "INPUT") ||
                 (table == "security" && name == "INPUT")) {
        program.bases.push_back({key, 1, table == "mangle" ? -150 : table == "filter" ? 0 : 50});
      }
      continue;
    }
    if (line.rfind("-A ", 0) == 0) rules.push_back(parse_ipt_rule(line, table, tool));
  }
  for (auto& parsed : rules) {
    auto it = program.chains.find(parsed.rule.ref.table + " " + parsed.chain);
    if (it == program.chains.end()) continue;
    parsed.rule.ref.tool = chain_owner(parsed.chain, tool);
    // A jump to a chain that is not defined is a target the parser did not know.
    it->second.rules.push_back(std::move(parsed.rule));
  }
  for (auto& [key, chain] : program.chains) {
    for (auto& rule : chain.rules) {
      if ((rule.act == Act::jump || rule.act == Act::go) &&
          !program.chains.count(rule.ref.table + " " + rule.target)) {
        rule.act = Act::unknown;
        rule.unknown_why = "its target " + rule.target + " is not a chain of the table";
      }
    }
  }
  std::stable_sort(
      program.bases.begin(), program.bases.end(), [](const IrBase& a, const IrBase& b) {
        return a.hook_order != b.hook_order ? a.hook_order < b.hook_order : a.prio < b.prio;
      });
  return program;
}

}  // namespace

std::string_view to_string(Reach reach) {
  switch (reach) {
    case Reach::open:
      return "open";
    case Reach::closed:
      return "closed";
    case Reach::unknown:
      return "unknown";
    case Reach::no_address:
      return "no address";
  }
  return "?";
}

std::string_view to_string(FirewallTool tool) {
  switch (tool) {
    case FirewallTool::firewalld:
      return "firewalld";
    case FirewallTool::ufw:
      return "ufw";
    case FirewallTool::nftables:
      return "nftables";
    case FirewallTool::iptables:
      return "iptables";
    case FirewallTool::iptables_legacy:
      return "iptables-legacy";
  }
  return "?";
}

std::string Judgement::describe() const {
  if (!deciding) return std::string(to_string(reach));
  const RuleRef& r = *deciding;
  if (r.tool == FirewallTool::nftables ||
      (r.tool == FirewallTool::firewalld && r.table.find(' ') != std::string::npos)) {
    return fmt::format("table {}, chain {}: {}", r.table, r.chain, r.text);
  }
  return fmt::format("{} {} {}: {}", to_string(r.tool), r.table, r.chain, r.text);
}

Result<Judgement> judge_nftables(const NftRuleset& ruleset, const InboundNtp& packet) {
  auto compiled = compile_nft(ruleset, packet.destination.is_v4());
  if (!compiled) return tl::unexpected(std::move(compiled.error()));
  IrProgram& program = *compiled;
  // firewalld's own table: its rules are firewalld's to change.
  for (auto& [key, chain] : program.chains) {
    if (key.rfind("inet firewalld ", 0) == 0)
      for (auto& rule : chain.rules)
        rule.ref.tool = FirewallTool::firewalld;
  }
  Judgement j = Walker(program, packet).judge();
  if (j.deciding && j.deciding->text == "policy drop" &&
      j.deciding->table.rfind("inet firewalld", 0) == 0)
    j.deciding->tool = FirewallTool::firewalld;
  return j;
}

Judgement judge_iptables(std::string_view save, const InboundNtp& packet, FirewallTool tool) {
  IrProgram program = compile_iptables(save, tool);
  Judgement j = Walker(program, packet).judge();
  if (j.deciding && j.deciding->text == "policy drop") j.deciding->tool = tool;
  return j;
}

Judgement combine(const std::vector<Judgement>& judgements) {
  const Judgement* unknown = nullptr;
  for (const auto& j : judgements) {
    if (j.reach == Reach::closed) return j;
    if (j.reach == Reach::unknown && !unknown) unknown = &j;
  }
  if (unknown) return *unknown;
  Judgement open;
  open.reach = Reach::open;
  return open;
}

std::vector<std::string> iptables_tables_in_use(std::string_view save) {
  std::vector<std::string> tables;
  std::istringstream in{std::string(save)};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '*') tables.push_back(line.substr(1));
  }
  return tables;
}

}  // namespace pooljoin
