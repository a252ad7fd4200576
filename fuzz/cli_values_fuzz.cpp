// SPDX-License-Identifier: Apache-2.0
// libFuzzer: the values options take, from a command line or a POOLJOIN_* variable that
// cloud-init or Ansible filled in: addresses, endpoints, URLs, durations, hostnames, upstream
// servers, redirect targets. The first byte picks the parser, the rest is the value. What a
// parser accepts must print back to something it accepts the same way, and must not carry
// anything a config file would interpret.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pooljoin/daemons.hpp"
#include "pooljoin/duration.hpp"
#include "pooljoin/http.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/ntp_config.hpp"
#include "pooljoin/web_redirect.hpp"

namespace {

using namespace pooljoin;

bool only(std::string_view text, std::string_view allowed) {
  for (char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && allowed.find(c) == std::string_view::npos) return false;
  }
  return true;
}

void address(std::string_view text) {
  auto ip = IpAddress::parse(text);
  if (!ip) return;
  auto again = IpAddress::parse(ip->to_string());
  if (!again || *again != *ip) __builtin_trap();
  if (ip->is_global_unicast() != ip->non_global_reason().empty()) __builtin_trap();
}

void endpoint(std::string_view text) {
  auto parsed = parse_endpoint(text, 123);
  if (!parsed) return;
  if (parsed->host.empty()) __builtin_trap();
  std::string host =
      parsed->host.find(':') != std::string::npos ? "[" + parsed->host + "]" : parsed->host;
  auto again = parse_endpoint(host + ":" + std::to_string(parsed->port), 1);
  if (!again || again->host != parsed->host || again->port != parsed->port) __builtin_trap();
}

void url(std::string_view text, bool allow_query) {
  auto parsed = parse_http_url(text, {.allow_query = allow_query});
  if (!parsed) {
    if (parsed.error().code != ExitCode::usage) __builtin_trap();
    return;
  }
  if (parsed->scheme != "http" && parsed->scheme != "https") __builtin_trap();
  if (!allow_query && !parsed->query.empty()) __builtin_trap();
  auto again = parse_http_url(parsed->to_string(), {.allow_query = allow_query});
  if (!again || again->to_string() != parsed->to_string() || again->host != parsed->host ||
      again->port != parsed->port || again->path != parsed->path)
    __builtin_trap();
}

void duration(std::string_view text) {
  auto parsed = parse_duration(text);
  if (!parsed) return;
  if (parsed->count() < 0 || *parsed > std::chrono::hours(24 * 7)) __builtin_trap();
  // What is printed reads back, to the precision printed: ms below 1 s, 0.1 s below 1 min,
  // seconds below 1 h, minutes above (the first crash kept in regressions/cli_values).
  auto again = parse_duration(format_duration(*parsed));
  if (!again) __builtin_trap();
  auto ms = parsed->count();
  long long precision = ms < 1000 ? 0 : ms < 60'000 ? 50 : ms < 3'600'000 ? 999 : 59'999;
  if (std::llabs(again->count() - ms) > precision) __builtin_trap();
}

void hostname(std::string_view text) {
  if (!is_valid_hostname(text)) return;
  if (text.empty() || text.size() > 253 || !only(text, "-.")) __builtin_trap();
}

void upstream(std::string_view text) {
  auto parsed = parse_upstream(text);
  if (!parsed) {
    if (parsed.error().code != ExitCode::usage) __builtin_trap();
    return;
  }
  // One word of letters, digits, '.', '-' and ':' (IPv6): it cannot add a line or an option.
  if (parsed->address.empty() || !only(parsed->address, ".-:")) __builtin_trap();
  if (parsed->address.starts_with("-")) __builtin_trap();
  if (is_pool_ntp_name(parsed->address)) __builtin_trap();
}

void redirect_target(std::string_view text) {
  for (RedirectMode mode : {RedirectMode::alias, RedirectMode::rewrite}) {
    auto parsed = parse_redirect_target(text, mode);
    if (!parsed) {
      if (parsed.error().code != ExitCode::usage) __builtin_trap();
      continue;
    }
    // Nothing nginx or Apache would interpret: no spaces, quotes, $, %, ;, braces or query.
    if (!only(*parsed, ":/.-_~[]")) __builtin_trap();
    if (mode == RedirectMode::alias && !parsed->ends_with("/")) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 9) {
    case 0:
      address(text);
      break;
    case 1:
      endpoint(text);
      break;
    case 2:
      url(text, true);
      break;
    case 3:
      url(text, false);
      break;
    case 4:
      duration(text);
      break;
    case 5:
      hostname(text);
      break;
    case 6:
      upstream(text);
      break;
    case 7:
      redirect_target(text);
      break;
    default:
      (void)parse_daemon(text);
      break;
  }
  return 0;
}
