#include "pooljoin/effects.hpp"

namespace pooljoin {

SystemEffects::SystemEffects(std::filesystem::path root, HttpOptions http)
    : fs_(std::move(root)), http_(std::move(http)), effects_{runner_, fs_,  clock_,
                                                             dns_,    ntp_, http_} {}

}  // namespace pooljoin
