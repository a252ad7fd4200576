// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/config_text.hpp"

#include <algorithm>

#include "pooljoin/text.hpp"

namespace pooljoin {

bool Directive::has(std::string_view word) const {
  return std::find(words.begin() + 1, words.end(), word) != words.end();
}

std::vector<Directive> directives(std::string_view text, Daemon daemon) {
  std::vector<Directive> result;
  int number = 0;
  while (!text.empty() || number == 0) {
    ++number;
    auto nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (daemon == Daemon::chrony) {
      // chrony: a line whose first character is one of these is a comment.
      auto first = line.find_first_not_of(" \t\r");
      if (first != std::string::npos &&
          std::string_view("#%;!").find(line[first]) != std::string_view::npos) {
        line.clear();
      }
    } else if (auto hash = line.find('#'); hash != std::string::npos) {
      line.erase(hash);
    }
    Directive d{number, {}, {}};
    std::size_t pos = 0;
    while (pos < line.size()) {
      auto start = line.find_first_not_of(" \t\r", pos);
      if (start == std::string::npos) break;
      auto end = line.find_first_of(" \t\r", start);
      d.words.push_back(lower(line.substr(start, end - start)));
      pos = end == std::string::npos ? line.size() : end;
    }
    if (!d.words.empty()) {
      auto first = line.find_first_not_of(" \t\r");
      auto last = line.find_last_not_of(" \t\r");
      d.text = line.substr(first, last - first + 1);
      result.push_back(std::move(d));
    }
    if (nl == std::string_view::npos) break;
  }
  return result;
}

}  // namespace pooljoin
