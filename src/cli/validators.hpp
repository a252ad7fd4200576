// SPDX-License-Identifier: Apache-2.0
// Checks on option values, applied when the command line is parsed: a bad value is a usage
// error naming the option before any step runs. The same check wherever an option recurs.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace pooljoin::cli {

// A DNS host name or an IP address (--candidate).
CLI::Validator host_validator();
// A DNS host name (--hostname).
CLI::Validator hostname_validator();
// An IP address with an optional port: 192.0.2.1, 192.0.2.1:5353, [2001:db8::1]:5353.
CLI::Validator endpoint_validator();
// An NTP server: a host name or an IP address with an optional port (123 by default):
// ntp1.example, ntp1.example:10123, 192.0.2.1, [2001:db8::1]:123 (--reference).
CLI::Validator server_validator();
// An http(s) URL parse_http_url accepts (--verify-url).
CLI::Validator url_validator();
// An ISO 3166 country code (the host's tzdata table, else the built-in list).
CLI::Validator country_validator();
// A file of this machine (never under --root) to write: not a directory, in a directory that
// exists. `if_empty` says what to give instead of nothing; with `allow_stdout`, "-" passes.
CLI::Validator output_file_validator(const std::string& if_empty, bool allow_stdout);

}  // namespace pooljoin::cli
