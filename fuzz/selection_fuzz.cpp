// SPDX-License-Identifier: Apache-2.0
// libFuzzer: /var/lib/pooljoin/selection.json as gen-conf reads it (written by resolve, but a
// file on disk that anyone with root may have edited), and the config rendered from it: no
// value of the file may add a line to the config.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pooljoin/conf_lint.hpp"
#include "pooljoin/daemons.hpp"
#include "pooljoin/ntp_config.hpp"
#include "pooljoin/os_release.hpp"
#include "pooljoin/resources.hpp"
#include "pooljoin/selection.hpp"

namespace {

std::size_t count_lines(std::string_view text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pooljoin;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto selection = selection_from_json(text);
  if (!selection) return 0;
  auto again = selection_from_json(selection_to_json(*selection));
  if (!again || !(*again == *selection)) __builtin_trap();  // round trip

  auto upstreams = upstreams_from(*selection);
  if (!upstreams) {
    if (upstreams.error().code != ExitCode::unavailable) __builtin_trap();
    return 0;
  }
  const auto& servers = *upstreams;
  // What gen-conf writes from it must be what --server would have accepted.
  for (const auto& server : servers)
    if (!parse_upstream(server.address)) __builtin_trap();
  if (!check_upstream_count(servers, /*force=*/true)) return 0;
  static const auto templates = templates_dir();
  if (!templates) __builtin_trap();
  Distro debian{.id = "debian", .version_id = "12", .family = Family::debian};
  for (Daemon daemon : {Daemon::ntpsec, Daemon::chrony}) {
    ConfigRequest request{.spec = *daemon_spec(debian, daemon),
                          .servers = servers,
                          .generated_at = "2026-11-26T02:26:40Z",
                          .origin = selection_origin(*selection)};
    auto rendered = render_config(*templates, request);
    if (!rendered) __builtin_trap();  // every value was validated: nothing is refused here
    // The same servers without their notes and origin: the same lines, but for chrony's notes,
    // which are comment lines of their own (ntpd's sit at the end of the server line).
    ConfigRequest plain = request;
    plain.origin = "x";
    std::size_t note_lines = 0;
    for (auto& server : plain.servers) {
      if (!server.note.empty() && daemon == Daemon::chrony) ++note_lines;
      server.note.clear();
    }
    auto reference = render_config(*templates, plain);
    if (!reference || count_lines(*rendered) != count_lines(*reference) + note_lines)
      __builtin_trap();
    if (count_upstreams(*rendered, daemon) != servers.size()) __builtin_trap();
  }
  return 0;
}
