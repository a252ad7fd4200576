// SPDX-License-Identifier: Apache-2.0
// A daemon config read line by line the way ntpd and chronyd split it into directives: comments
// removed (ntpd: from '#' on; chrony: a line starting with one of "#%;!"), words split on blanks.
// Shared by the linter and by gen-conf, which carries some of an operator's lines into a new file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/daemons.hpp"

namespace pooljoin {

struct Directive {
  int line = 0;                    // 1-based line number in its file
  std::string text;                // the line without its comment, trimmed, as written
  std::vector<std::string> words;  // the words, lowercased (keywords, flags, addresses, names)
  // Whether a word after the keyword is `word`.
  bool has(std::string_view word) const;
};

// The directives of `text` read as a config of `daemon` (ntpd and ntpsec share a syntax), in
// file order; blank and comment lines are left out.
std::vector<Directive> directives(std::string_view text, Daemon daemon);

}  // namespace pooljoin
