// SPDX-License-Identifier: Apache-2.0
// The built-in catalogue of well-known public NTP servers (data/catalogue.json, compiled in):
// upstream candidates, and the last known addresses to fall back on when DNS is unreachable.
#pragma once

#include <string>
#include <vector>

#include "pooljoin/net.hpp"

namespace pooljoin {

struct CatalogueServer {
  std::string host;
  std::string operator_name;
  std::string country;               // lower-case ISO 3166 code; "" for anycast services
  int stratum = 0;                   // as published by the operator
  std::vector<IpAddress> addresses;  // last known
  std::string note;
};

// Parsed once; throws std::logic_error if the compiled-in data is malformed (a build defect,
// which the unit tests rule out).
const std::vector<CatalogueServer>& catalogue();

}  // namespace pooljoin
