// SPDX-License-Identifier: Apache-2.0
// The charts `status` draws from a score document: the overall score over time, and the
// monitors' offsets. Pure (the document comes from the network: fuzzed in fuzz/).
#pragma once

#include <string>

#include "pooljoin/pool_api.hpp"

namespace pooljoin::cli {

// Both charts with their captions, each line ending in '\n'; empty when the document has no
// points. `width` is the terminal's (see terminal_width()).
std::string score_charts(const ScoreDocument& document, bool utf8, int width);

}  // namespace pooljoin::cli
