// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/daemon_state.hpp"

#include <fmt/format.h>

#include "pooljoin/ntp_control.hpp"
#include "pooljoin/ntp_probe.hpp"
#include "pooljoin/process.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// ntpd sends the leap indicator as a number ("0".."3"); ntpq shows it as two bits ("00", "11").
std::optional<Leap> parse_leap(std::string_view text) {
  std::optional<int> value = text.size() == 2 ? parse_int(text, 2) : parse_int(text);
  if (!value || *value < 0 || *value > 3) return std::nullopt;
  return static_cast<Leap>(*value);
}

Error unreadable(std::string what, std::string why, std::string details = {}) {
  return Error{ExitCode::unavailable, std::move(what), std::move(why), {}, std::move(details)};
}

}  // namespace

bool DaemonState::synchronized() const {
  return leap != Leap::unsynchronized && stratum < kStratumUnsynchronized;
}

Result<DaemonState> daemon_state_from_variables(std::string_view text) {
  auto variables = parse_control_variables(text);
  auto field = [&](std::string_view name) { return find_variable(variables, name); };
  DaemonState state;
  auto leap = field("leap");
  auto stratum = field("stratum");
  std::optional<Leap> parsed_leap = leap ? parse_leap(*leap) : std::nullopt;
  std::optional<int> parsed_stratum = stratum ? parse_int(*stratum) : std::nullopt;
  if (!parsed_leap || !parsed_stratum) {
    return tl::unexpected(unreadable("ntpd's system variables lack a valid leap or stratum",
                                     "the mode 6 answer was not what ntpd sends",
                                     std::string(text.substr(0, 400))));
  }
  state.leap = *parsed_leap;
  state.stratum = *parsed_stratum;
  state.refid = field("refid").value_or("");
  // Milliseconds, as ntpd reports them; a missing or odd value stays 0.
  auto ms = [&](std::string_view name) {
    auto value = field(name);
    return value ? parse_double(*value).value_or(0) : 0;
  };
  state.offset_ms = ms("offset");
  state.jitter_ms = ms("sys_jitter");
  state.root_delay_ms = ms("rootdelay");
  state.root_dispersion_ms = ms("rootdisp");
  return state;
}

Result<DaemonState> daemon_state_from_chronyc(std::string_view csv) {
  // Ref-ID,Ref name,Stratum,Ref time,System time,Last offset,RMS offset,Frequency,
  // Residual freq,Skew,Root delay,Root dispersion,Update interval,Leap status
  const std::vector<std::string_view> fields = split_fields(csv.substr(0, csv.find('\n')));
  auto bad = [&] {
    return tl::unexpected(unreadable("cannot read chronyc's tracking report",
                                     "not the 14 comma-separated fields of `chronyc -c tracking`",
                                     std::string(csv.substr(0, 400))));
  };
  if (fields.size() != 14) return bad();
  auto stratum = parse_int(fields[2]);
  auto refid = parse_int(fields[0], 16);
  auto last_offset = parse_double(fields[5]);
  auto rms_offset = parse_double(fields[6]);
  auto root_delay = parse_double(fields[10]);
  auto root_dispersion = parse_double(fields[11]);
  if (!stratum || !last_offset || !rms_offset || !root_delay || !root_dispersion) return bad();

  DaemonState state;
  std::string_view leap = fields[13];
  while (!leap.empty() && (leap.back() == '\r' || leap.back() == ' '))
    leap.remove_suffix(1);
  if (leap == "Normal")
    state.leap = Leap::none;
  else if (leap == "Insert second")
    state.leap = Leap::add_second;
  else if (leap == "Delete second")
    state.leap = Leap::delete_second;
  else if (leap == "Not synchronised")
    state.leap = Leap::unsynchronized;
  else
    return bad();
  state.stratum = *stratum;
  state.refid = !fields[1].empty() ? std::string(fields[1])
                : refid ? reference_id_text(static_cast<std::uint8_t>(std::clamp(*stratum, 0, 255)),
                                            static_cast<std::uint32_t>(*refid))
                        : std::string(fields[0]);
  // chrony's last offset is positive when the local clock was ahead; ntpd's offset is the
  // other way round (server minus local). Report the ntpd convention.
  state.offset_ms = -*last_offset * 1000;
  state.jitter_ms = *rms_offset * 1000;
  state.root_delay_ms = *root_delay * 1000;
  state.root_dispersion_ms = *root_dispersion * 1000;
  return state;
}

Result<std::vector<Result<std::string>>> read_control(NtpTransport& ntp,
                                                      const std::vector<ControlQuery>& queries,
                                                      const DaemonQueryOptions& options) {
  const ProbeTarget target{options.address, options.port, "ntpd"};
  std::vector<std::shared_ptr<ControlResponse>> responses;
  std::vector<QueryRequest> requests;
  for (const auto& query : queries) {
    const std::uint16_t sequence = random_control_sequence();
    auto response = std::make_shared<ControlResponse>(sequence, query.opcode);
    responses.push_back(response);
    requests.push_back(
        {target, control_request(query.opcode, sequence, query.association, query.payload),
         options.timeout, [response](const std::vector<std::vector<std::uint8_t>>& replies) {
           response->add(replies.back());
           return response->complete() || response->malformed();
         }});
  }
  auto results = ntp.query(requests);
  if (!results) return tl::unexpected(std::move(results.error()));
  const std::string what = fmt::format("ntpd on {} did not report its state", target.endpoint());
  std::vector<Result<std::string>> answers;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const QueryResult& result = (*results)[i];
    const ControlResponse& response = *responses[i];
    std::string why;
    if (!result.error.empty())
      why = result.error;
    else if (result.refused)
      why = "nothing listens on its NTP port";
    else if (!result.answered())
      why = fmt::format("no answer to a mode 6 query within {} ms", options.timeout.count());
    else if (response.malformed())
      why = "its mode 6 answer was malformed";
    else if (!response.complete())
      why = "its mode 6 answer was incomplete (fragments lost)";
    else if (response.error())
      why = fmt::format("it answered with mode 6 error {}", response.status() >> 8);
    if (why.empty()) {
      answers.emplace_back(response.data());
    } else {
      answers.emplace_back(tl::unexpected(unreadable(what, why)));
    }
  }
  return answers;
}

Result<DaemonState> read_ntpd_state(NtpTransport& ntp, const DaemonQueryOptions& options) {
  auto answers = read_control(ntp, {{kControlReadVariables, 0, {}}}, options);
  if (!answers) return tl::unexpected(std::move(answers.error()));
  Result<std::string>& answer = answers->front();
  if (!answer) return tl::unexpected(std::move(answer.error()));
  return daemon_state_from_variables(*answer);
}

Result<DaemonState> read_chrony_state(ProcessRunner& runner, const DaemonQueryOptions& options) {
  Command command{{options.chronyc, "-c", "-n", "tracking"}};
  auto run = runner.run(command, {std::chrono::milliseconds(options.timeout * 3)});
  if (!run) return tl::unexpected(std::move(run.error()));
  if (!run->ok()) {
    return tl::unexpected(unreadable(
        "chronyd did not report its state",
        fmt::format("`{}` failed: {}", display(command), run->status_text()), run->output_tail()));
  }
  return daemon_state_from_chronyc(run->out);
}

Result<DaemonState> read_daemon_state(Daemon daemon, ProcessRunner& runner, NtpTransport& ntp,
                                      const DaemonQueryOptions& options) {
  if (daemon == Daemon::chrony) return read_chrony_state(runner, options);
  return read_ntpd_state(ntp, options);
}

}  // namespace pooljoin
