// SPDX-License-Identifier: Apache-2.0
// libFuzzer: the unified diff `gen-conf --dry-run` shows between the live config (any text) and
// the one it would write. The input is the two texts, split at the first NUL byte; the diff,
// applied to the first as patch(1) would, must give the second.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/text_diff.hpp"

namespace {

// Lines with their newline, the last one without when the text does not end with one.
std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.emplace_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return lines;
}

// `diff` applied to `before`, strictly: every context and removed line must match.
std::string apply(std::string_view before, std::string_view diff) {
  auto old_lines = lines_of(before);
  auto diff_lines = lines_of(diff);
  std::string out;
  std::size_t pos = 0;  // next line of `before`
  std::size_t i = 0;
  if (diff_lines.size() < 2 || !diff_lines[0].starts_with("--- ") ||
      !diff_lines[1].starts_with("+++ "))
    __builtin_trap();
  i = 2;
  while (i < diff_lines.size()) {
    long old_start = 0, old_count = 1, new_start = 0, new_count = 1;
    const std::string& header = diff_lines[i];
    if (std::sscanf(header.c_str(), "@@ -%ld,%ld +%ld", &old_start, &old_count, &new_start) != 3 &&
        std::sscanf(header.c_str(), "@@ -%ld +%ld", &old_start, &new_start) != 2)
      __builtin_trap();
    (void)new_count;
    std::size_t first = static_cast<std::size_t>(old_count == 0 ? old_start : old_start - 1);
    if (first < pos || first > old_lines.size()) __builtin_trap();
    while (pos < first)
      out += old_lines[pos++];
    for (++i; i < diff_lines.size() && !diff_lines[i].starts_with("@@"); ++i) {
      const std::string& line = diff_lines[i];
      if (line.empty() || line[0] == '\\') __builtin_trap();
      std::string content = line.substr(1);
      if (i + 1 < diff_lines.size() && diff_lines[i + 1].starts_with("\\ No newline")) {
        content.pop_back();
        ++i;
      }
      if (line[0] == '+') {
        out += content;
      } else if (line[0] == ' ' || line[0] == '-') {
        if (pos >= old_lines.size() || old_lines[pos] != content) __builtin_trap();
        ++pos;
        if (line[0] == ' ') out += content;
      } else {
        __builtin_trap();
      }
    }
  }
  while (pos < old_lines.size())
    out += old_lines[pos++];
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto nul = input.find('\0');
  std::string_view before = input.substr(0, nul);
  std::string_view after =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  std::string diff = pooljoin::unified_diff(before, after, "a", "b");
  if (diff.empty() != (before == after)) __builtin_trap();
  if (!diff.empty() && apply(before, diff) != after) __builtin_trap();
  return 0;
}
