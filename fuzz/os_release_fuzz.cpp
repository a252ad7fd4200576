// SPDX-License-Identifier: Apache-2.0
// libFuzzer: /etc/os-release of the system (or image) pooljoin looks at, and version strings.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pooljoin/daemons.hpp"
#include "pooljoin/os_release.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pooljoin;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto fields = parse_os_release(text);
  for (const auto& [key, value] : fields)
    if (key.empty() || key.find('\n') != std::string_view::npos) __builtin_trap();
  Distro distro = distro_from_os_release(fields);
  (void)default_daemon(distro);
  (void)packaged_daemons(distro);
  for (Daemon daemon : {Daemon::ntpsec, Daemon::ntp, Daemon::chrony})
    (void)daemon_spec(distro, daemon);

  // Two version strings, split at the first newline: the order is a total order.
  auto nl = text.find('\n');
  std::string_view a = text.substr(0, nl);
  std::string_view b = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  if (compare_versions(a, b) != -compare_versions(b, a)) __builtin_trap();
  if (compare_versions(a, a) != 0) __builtin_trap();
  return 0;
}
