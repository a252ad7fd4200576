// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/catalogue.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace pooljoin {
namespace embedded {
extern const std::string_view catalogue_json;
}

namespace {

std::vector<CatalogueServer> parse_catalogue() {
  auto doc = nlohmann::json::parse(embedded::catalogue_json);
  std::vector<CatalogueServer> servers;
  for (const auto& entry : doc.at("servers")) {
    CatalogueServer server;
    server.host = entry.at("host").get<std::string>();
    server.operator_name = entry.at("operator").get<std::string>();
    server.country = entry.at("country").get<std::string>();
    server.stratum = entry.at("stratum").get<int>();
    server.note = entry.value("note", "");
    for (const auto& text : entry.at("addresses")) {
      auto address = IpAddress::parse(text.get<std::string>());
      if (!address) throw std::logic_error("catalogue: bad address " + text.get<std::string>());
      server.addresses.push_back(*address);
    }
    if (!is_valid_hostname(server.host))
      throw std::logic_error("catalogue: bad host " + server.host);
    servers.push_back(std::move(server));
  }
  return servers;
}

}  // namespace

const std::vector<CatalogueServer>& catalogue() {
  static const std::vector<CatalogueServer> servers = parse_catalogue();
  return servers;
}

}  // namespace pooljoin
