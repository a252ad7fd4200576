// SPDX-License-Identifier: Apache-2.0
#include "validators.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "pooljoin/fs.hpp"
#include "pooljoin/http.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/text.hpp"
#include "pooljoin/zones.hpp"

namespace pooljoin::cli {
namespace {

CLI::Validator make(std::string name, std::function<std::string(std::string&)> check) {
  return CLI::Validator(std::move(check), "", std::move(name));
}

}  // namespace

CLI::Validator host_validator() {
  return make("HOST", [](std::string& value) -> std::string {
    if (IpAddress::parse(value) || is_valid_hostname(value)) return "";
    return fmt::format("\"{}\" is not a host name or an IP address", value);
  });
}

CLI::Validator hostname_validator() {
  return make("NAME", [](std::string& value) -> std::string {
    return is_valid_hostname(value) ? "" : fmt::format("\"{}\" is not a valid host name", value);
  });
}

CLI::Validator endpoint_validator() {
  return make("ADDR[:PORT]", [](std::string& value) -> std::string {
    auto endpoint = parse_endpoint(value, 53);
    if (endpoint && IpAddress::parse(endpoint->host)) return "";
    return fmt::format(
        "\"{}\" is not ADDRESS[:PORT] (an IP address, with [brackets] around IPv6 when a port "
        "follows)",
        value);
  });
}

CLI::Validator server_validator() {
  return make("HOST[:PORT]", [](std::string& value) -> std::string {
    auto endpoint = parse_endpoint(value, 123);
    if (endpoint && endpoint->port != 0 &&
        (IpAddress::parse(endpoint->host) || is_valid_hostname(endpoint->host)))
      return "";
    return fmt::format(
        "\"{}\" is not HOST[:PORT] (a host name or an IP address, with [brackets] around IPv6 "
        "when a port follows)",
        value);
  });
}

CLI::Validator url_validator() {
  return make("URL", [](std::string& value) -> std::string {
    auto url = parse_http_url(value);
    return url ? "" : url.error().why;
  });
}

CLI::Validator country_validator() {
  return make("CC", [](std::string& value) -> std::string {
    auto match = match_country(RootedFs("/"), value);
    if (!match.code.empty()) {
      value = match.code;
      return "";
    }
    return fmt::format("\"{}\" is no country pooljoin knows: {}", printable(value, 40), match.hint);
  });
}

CLI::Validator output_file_validator(const std::string& if_empty, bool allow_stdout) {
  return make("FILE", [if_empty, allow_stdout](std::string& value) -> std::string {
    if (allow_stdout && value == "-") return "";
    if (value.empty()) return if_empty;
    const std::filesystem::path path = std::filesystem::absolute(value);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return value + " is a directory";
    if (!std::filesystem::is_directory(path.parent_path(), ec)) {
      return fmt::format("{} cannot be written: {} is not a directory", value,
                         path.parent_path().string());
    }
    return "";
  });
}

}  // namespace pooljoin::cli
