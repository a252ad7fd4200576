// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/effects.hpp"

namespace pooljoin {

SystemEffects::SystemEffects(std::filesystem::path root, HttpOptions http, WritePolicy policy)
    : fs_(std::move(root), policy), http_(std::move(http)), effects_{runner_, fs_,  clock_,
                                                                     dns_,    ntp_, http_} {}

}  // namespace pooljoin
