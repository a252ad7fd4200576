// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/upstream_health.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pooljoin/net.hpp"
#include "pooljoin/ntp_control.hpp"
#include "pooljoin/process.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// The peer status word (RFC 5905 appendix B / ntpq's "as"): 5 status bits, the 3-bit selection
// code, the event counter and code.
constexpr int kSelectShift = 8;
constexpr std::uint16_t kSelectMask = 0x7;
// The selection codes, as ntpq names them.
enum : std::uint16_t {
  kSelReject = 0,
  kSelFalsetick = 1,
  kSelExcess = 2,
  kSelOutlier = 3,
  kSelCandidate = 4,
  kSelBackup = 5,
  kSelSysPeer = 6,
  kSelPpsPeer = 7,
};

// What each upstream's READVAR asks for: what `ntpq -p` shows.
constexpr std::string_view kPeerVariables = "srcadr,srcport,stratum,reach,offset,jitter,refid";

UpstreamState state_of_selection(std::uint16_t select, int reach) {
  if (reach == 0) return UpstreamState::unreachable;
  switch (select) {
    case kSelSysPeer:
    case kSelPpsPeer:
      return UpstreamState::selected;
    case kSelCandidate:
    case kSelBackup:
      return UpstreamState::candidate;
    case kSelExcess:
    case kSelOutlier:
      return UpstreamState::outlier;
    case kSelFalsetick:
      return UpstreamState::falseticker;
    default:
      return UpstreamState::rejected;
  }
}

// chronyc's state column (-c): * + - x ~ ?
std::optional<UpstreamState> state_of_chrony(std::string_view code, int reach) {
  if (code == "*") return UpstreamState::selected;
  if (code == "+") return UpstreamState::candidate;
  if (code == "-" || code == "~") return UpstreamState::outlier;
  if (code == "x") return UpstreamState::falseticker;
  if (code == "?") return reach == 0 ? UpstreamState::unreachable : UpstreamState::rejected;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(UpstreamState state) {
  switch (state) {
    case UpstreamState::selected:
      return "selected";
    case UpstreamState::candidate:
      return "candidate";
    case UpstreamState::outlier:
      return "outlier";
    case UpstreamState::falseticker:
      return "falseticker";
    case UpstreamState::unreachable:
      return "unreachable";
    case UpstreamState::rejected:
      return "rejected";
  }
  return "rejected";
}

bool UpstreamHealth::usable() const {
  return reach != 0 && (state == UpstreamState::selected || state == UpstreamState::candidate ||
                        state == UpstreamState::outlier);
}

bool UpstreamHealth::settling() const {
  // ntpd runs its selection on a peer only once the peer's burst (iburst: 8 polls) is over.
  return state == UpstreamState::rejected && reach != 0 && reach != kReachFull && stratum < 16;
}

std::optional<UpstreamHealth> upstream_from_peer(std::uint16_t status, std::string_view variables) {
  const auto list = parse_control_variables(variables);
  auto field = [&](std::string_view name) { return find_variable(list, name); };
  const auto address = field("srcadr");
  if (!address || address->empty()) return std::nullopt;
  // ntpsec's `pool` line is an association of its own that only spawns servers.
  if (field("refid").value_or("") == "POOL") return std::nullopt;
  UpstreamHealth upstream;
  upstream.address = *address;
  const auto ip = IpAddress::parse(*address);
  if (ip && ip->is_v4() && ip->to_string().starts_with("127.127.")) upstream.refclock = true;
  if (!ip) upstream.refclock = true;  // ntpsec names its refclocks ("SHM(0)")
  const auto zero = [](std::uint8_t b) { return b == 0; };
  if (ip && std::all_of(ip->bytes().begin(), ip->bytes().end(), zero)) return std::nullopt;
  if (auto port = field("srcport")) {
    if (auto value = parse_int(*port); value && *value > 0 && *value < 65536)
      upstream.port = static_cast<std::uint16_t>(*value);
  }
  if (auto stratum = field("stratum")) upstream.stratum = parse_int(*stratum).value_or(16);
  // ntpd sends the register in hex ("0xff"); ntpq shows it in octal ("377").
  if (auto reach = field("reach")) {
    const std::string_view text = *reach;
    upstream.reach =
        (text.starts_with("0x") ? parse_int(text.substr(2), 16) : parse_int(text, 8)).value_or(0);
  }
  if (auto offset = field("offset")) upstream.offset_ms = parse_double(*offset);
  if (auto jitter = field("jitter")) upstream.jitter_ms = parse_double(*jitter);
  upstream.state = state_of_selection((status >> kSelectShift) & kSelectMask, upstream.reach);
  if (upstream.reach == 0) {
    upstream.offset_ms.reset();
    upstream.jitter_ms.reset();
  }
  return upstream;
}

Result<std::vector<UpstreamHealth>> upstreams_from_chronyc(std::string_view csv) {
  // Mode,State,Name/IP address,Stratum,Poll,Reach,LastRx,Last offset,Offset,Error (seconds)
  std::vector<UpstreamHealth> upstreams;
  while (!csv.empty()) {
    std::string_view line = csv.substr(0, csv.find('\n'));
    csv.remove_prefix(std::min(csv.size(), line.size() + 1));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.remove_suffix(1);
    if (line.empty()) continue;
    const auto fields = split_fields(line);
    const auto stratum = fields.size() == 10 ? parse_int(fields[3]) : std::nullopt;
    const auto reach = fields.size() == 10 ? parse_int(fields[5], 8) : std::nullopt;
    const auto offset = fields.size() == 10 ? parse_double(fields[7]) : std::nullopt;
    const auto error = fields.size() == 10 ? parse_double(fields[9]) : std::nullopt;
    const auto state = reach ? state_of_chrony(fields[1], *reach) : std::nullopt;
    if (!stratum || !reach || !offset || !error || !state) {
      return fail(ExitCode::unavailable, "cannot read chronyc's sources",
                  "not the 10 comma-separated fields of `chronyc -c sources`", "",
                  std::string(line.substr(0, 200)));
    }
    UpstreamHealth upstream;
    upstream.address = std::string(fields[2]);
    upstream.refclock = fields[0] == "#";
    upstream.stratum = *stratum;
    upstream.reach = *reach;
    upstream.state = *state;
    if (*reach != 0) {
      // chrony's offset is local minus server; ntpq's (and this report's) the other way round.
      upstream.offset_ms = -*offset * 1000;
      upstream.jitter_ms = *error * 1000;
    }
    upstreams.push_back(std::move(upstream));
  }
  return upstreams;
}

Result<std::vector<UpstreamHealth>> read_ntpd_upstreams(NtpTransport& ntp,
                                                        const DaemonQueryOptions& options) {
  auto listed = read_control(ntp, {{kControlReadStatus, 0, {}}}, options);
  if (!listed) return tl::unexpected(std::move(listed.error()));
  Result<std::string>& list = listed->front();
  if (!list) return tl::unexpected(std::move(list.error()));
  // (association id, status word) pairs, network order.
  std::vector<std::pair<std::uint16_t, std::uint16_t>> associations;
  for (std::size_t i = 0; i + 4 <= list->size(); i += 4) {
    auto word = [&](std::size_t at) {
      return static_cast<std::uint16_t>((static_cast<unsigned char>((*list)[at]) << 8) |
                                        static_cast<unsigned char>((*list)[at + 1]));
    };
    associations.emplace_back(word(i), word(i + 2));
  }
  std::sort(associations.begin(), associations.end());  // ntpq's order
  std::vector<ControlQuery> queries;
  queries.reserve(associations.size());
  for (const auto& [id, status] : associations)
    queries.push_back({kControlReadVariables, id, std::string(kPeerVariables)});
  auto answers = read_control(ntp, queries, options);
  if (!answers) return tl::unexpected(std::move(answers.error()));
  // An association can go between the list and its query (ntpsec drops pool servers that do
  // not answer): the others are listed; only when none answers is it an error.
  std::vector<UpstreamHealth> upstreams;
  std::optional<Error> first_error;
  for (std::size_t i = 0; i < associations.size(); ++i) {
    Result<std::string>& answer = (*answers)[i];
    if (!answer) {
      if (!first_error) first_error = std::move(answer.error());
      continue;
    }
    if (auto upstream = upstream_from_peer(associations[i].second, *answer))
      upstreams.push_back(std::move(*upstream));
  }
  if (first_error && upstreams.empty()) return tl::unexpected(std::move(*first_error));
  return upstreams;
}

Result<std::vector<UpstreamHealth>> read_chrony_upstreams(ProcessRunner& runner,
                                                          const DaemonQueryOptions& options) {
  Command command{{options.chronyc, "-c", "-n", "sources"}};
  auto run = runner.run(command, {std::chrono::milliseconds(options.timeout * 3)});
  if (!run) return tl::unexpected(std::move(run.error()));
  if (!run->ok()) {
    return fail(ExitCode::unavailable, "chronyd did not list its sources",
                fmt::format("`{}` failed: {}", display(command), run->status_text()), "",
                run->output_tail());
  }
  return upstreams_from_chronyc(run->out);
}

Result<std::vector<UpstreamHealth>> read_upstreams(Daemon daemon, ProcessRunner& runner,
                                                   NtpTransport& ntp,
                                                   const DaemonQueryOptions& options) {
  if (daemon == Daemon::chrony) return read_chrony_upstreams(runner, options);
  return read_ntpd_upstreams(ntp, options);
}

std::string reach_summary(const std::vector<UpstreamHealth>& upstreams) {
  std::vector<std::string> registers;
  int reached = 0;
  for (const auto& u : upstreams) {
    registers.push_back(fmt::format("{:o}", u.reach));
    if (u.reach != 0) ++reached;
  }
  return fmt::format("{} of {} upstreams reached (reach {})", reached, upstreams.size(),
                     fmt::join(registers, " "));
}

}  // namespace pooljoin
