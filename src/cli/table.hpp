// SPDX-License-Identifier: Apache-2.0
// Aligned text tables for terminal output; cells may contain colour codes.
#pragma once

#include <string>
#include <vector>

namespace pooljoin::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers = {}) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Columns separated by two spaces, padded to the widest cell; trailing spaces trimmed.
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// The width of `text` on a terminal: UTF-8 characters, not counting ANSI colour sequences.
std::size_t display_width(std::string_view text);

}  // namespace pooljoin::cli
