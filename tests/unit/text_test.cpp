// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/text.hpp"

#include <catch2/catch.hpp>

using namespace pooljoin;

TEST_CASE("printable escapes what a terminal would act on, and keeps UTF-8", "[text][hostile]") {
  CHECK(printable("ntp1.example") == "ntp1.example");
  CHECK(printable("a\nb\r\tc") == "a\\nb\\r\\tc");
  CHECK(printable("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07");  // OSC: set the title
  CHECK(printable("\x1b[2J") == "\\x1b[2J");
  CHECK(printable(std::string_view("a\0b", 3)) == "a\\x00b");
  CHECK(printable("\x7f") == "\\x7f");
  CHECK(printable("back\\slash") == "back\\\\slash");
  CHECK(printable("Z\xc3\xbcrich \xe2\x9c\x93") == "Z\xc3\xbcrich \xe2\x9c\x93");  // kept
  CHECK(printable("\xc2\x9b"
                  "31m") == "\\xc2\\x9b31m");  // C1 CSI
  CHECK(printable("\x9b"
                  "31m") == "\\x9b31m");                           // bare C1 byte
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");                    // overlong
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // surrogate
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  CHECK(printable("\xe2\x9c") == "\\xe2\\x9c");                    // cut short
}

TEST_CASE("printable with a limit stops after whole characters and says so", "[text][hostile]") {
  CHECK(printable("root:$y$j9T$secret", 5) == "root:...");
  CHECK(printable("abc", 3) == "abc");
  CHECK(printable("abcd", 3) == "abc...");
  CHECK(printable("ab\x1b"
                  "cdef",
                  3) == "ab\\x1b...");  // the escape is not cut
  CHECK(printable("", 0).empty());
  CHECK(printable("a", 0) == "...");
}
