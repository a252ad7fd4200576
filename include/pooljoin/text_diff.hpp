// SPDX-License-Identifier: Apache-2.0
// A unified diff of two texts, line by line, for `gen-conf --dry-run`: what the new config
// changes in the file it would replace, without writing anything or needing diff(1).
#pragma once

#include <string>
#include <string_view>

namespace pooljoin {

// How many unchanged lines surround each change, as `diff -u` shows them.
inline constexpr int kDiffContext = 3;

// The changes from `before` to `after` in the unified format of `diff -u` (hunks of
// "@@ -a,b +c,d @@" with `context` lines around each change, "\ No newline at end of file"
// where one is missing), under "--- before_label" and "+++ after_label" headers; `patch`
// applies it. Empty when the texts are equal. The edit script is a shortest one (Myers);
// texts too different to compare cheaply come out as one hunk replacing everything.
std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_label, std::string_view after_label,
                         int context = kDiffContext);

}  // namespace pooljoin
