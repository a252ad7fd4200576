// SPDX-License-Identifier: Apache-2.0
// The time written in the header of the files pooljoin generates: $SOURCE_DATE_EPOCH when set
// (reproducible output, as in reproducible builds; the golden-file tests use it), else now.
#pragma once

#include <chrono>
#include <string>

namespace pooljoin::cli {

// RFC 3339 UTC: $SOURCE_DATE_EPOCH, else `now`. Throws Fatal(usage) when SOURCE_DATE_EPOCH is
// set but not a number of seconds, or beyond 9999-12-31T23:59:59Z.
std::string generated_at(std::chrono::system_clock::time_point now);

}  // namespace pooljoin::cli
