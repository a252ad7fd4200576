// SPDX-License-Identifier: Apache-2.0
// NTS-KE with one server through pooljoin's client (OpenSslNtsKe), for the integration tests
// until `resolve` makes the exchange itself: prints the session as JSON (the cookies' sizes, the
// NTP server and port it names, the TLS version, the keys in hex) and exits 0, or prints
// {"error": message} and exits with the error's code.
//
//   nts_ke_probe NAME ADDRESS [--port N] [--ca-file FILE] [--timeout-ms N]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/nts_client.hpp"

namespace {

std::string hex(const pooljoin::NtsKey& key) {
  std::string out;
  for (auto byte : key)
    out += fmt::format("{:02x}", byte);
  return out;
}

[[noreturn]] void usage() {
  std::fputs("usage: nts_ke_probe NAME ADDRESS [--port N] [--ca-file FILE] [--timeout-ms N]\n",
             stderr);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pooljoin;
  if (argc < 3) usage();
  NtsKeTarget target;
  target.name = argv[1];
  target.address = IpAddress::parse(argv[2]);
  if (!target.address) usage();
  NtsKeOptions options;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--port")
      target.port = static_cast<std::uint16_t>(std::stoul(argv[i + 1]));
    else if (flag == "--ca-file")
      options.ca_file = argv[i + 1];
    else if (flag == "--timeout-ms")
      options.timeout = std::chrono::milliseconds(std::stol(argv[i + 1]));
    else
      usage();
  }
  OpenSslNtsKe client;
  auto session = client.establish(target, options);
  nlohmann::json out;
  if (!session) {
    out["error"] = session.error().message();
    std::puts(out.dump().c_str());
    return to_int(session.error().code);
  }
  auto sizes = nlohmann::json::array();
  for (const auto& cookie : session->answer.cookies)
    sizes.push_back(cookie.size());
  out["cookies"] = sizes;
  out["server"] =
      session->answer.server ? nlohmann::json(*session->answer.server) : nlohmann::json();
  out["port"] = session->answer.port ? nlohmann::json(*session->answer.port) : nlohmann::json();
  out["address"] = session->address.to_string();
  out["tls_version"] = session->tls_version;
  out["cipher"] = session->cipher;
  out["c2s"] = hex(session->client_to_server);
  out["s2c"] = hex(session->server_to_client);
  std::puts(out.dump().c_str());
  return 0;
}
