// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/text_diff.hpp"

#include <random>

#include <catch2/catch.hpp>

using namespace pooljoin;

namespace {

// Applies a unified diff made by unified_diff to `before` (a minimal patch(1) for the test:
// hunks in order, context and removals checked).
std::string patched(const std::string& before, const std::string& diff) {
  std::vector<std::string> in, out;
  std::size_t pos = 0;
  while (pos < before.size()) {
    auto nl = before.find('\n', pos);
    in.push_back(before.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1));
    pos = nl == std::string::npos ? before.size() : nl + 1;
  }
  std::vector<std::string> lines;
  pos = 0;
  while (pos < diff.size()) {
    auto nl = diff.find('\n', pos);
    lines.push_back(diff.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::size_t next = 0;  // first line of `in` not yet copied
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.rfind("@@ -", 0) == 0) {
      std::size_t start = std::stoul(line.substr(4));
      std::size_t count =
          line.find(',') < line.find(' ', 4) ? std::stoul(line.substr(line.find(',') + 1)) : 1;
      std::size_t first = count == 0 ? start : start - 1;
      REQUIRE(first >= next);
      while (next < first)
        out.push_back(in[next++]);
      continue;
    }
    bool last_without_newline =
        i + 1 < lines.size() && lines[i + 1] == "\\ No newline at end of file";
    std::string text = line.substr(1) + (last_without_newline ? "" : "\n");
    if (line[0] == ' ' || line[0] == '-') {
      REQUIRE(next < in.size());
      CHECK(in[next] == text);
      ++next;
      if (line[0] == ' ') out.push_back(text);
    } else if (line[0] == '+') {
      out.push_back(text);
    }
    if (last_without_newline) ++i;
  }
  while (next < in.size())
    out.push_back(in[next++]);
  std::string result;
  for (const auto& l : out)
    result += l;
  return result;
}

}  // namespace

TEST_CASE("diff: equal texts give nothing", "[diff]") {
  CHECK(unified_diff("a\nb\n", "a\nb\n", "x", "y").empty());
  CHECK(unified_diff("", "", "x", "y").empty());
}

TEST_CASE("diff: the format of diff -u", "[diff]") {
  const std::string before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n";
  const std::string after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n12\n13\n15\n16\n";
  // Exactly what GNU diff -u prints for these two files (headers aside).
  CHECK(unified_diff(before, after, "old", "new") ==
        "--- old\n+++ new\n"
        "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        "@@ -11,5 +11,5 @@\n 11\n 12\n 13\n-14\n 15\n+16\n");
  // Changes 6 unchanged lines apart share one hunk.
  CHECK(unified_diff("a\n1\n2\n3\n4\n5\n6\nb\n", "A\n1\n2\n3\n4\n5\n6\nB\n", "o", "n") ==
        "--- o\n+++ n\n@@ -1,8 +1,8 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n 6\n-b\n+B\n");
  // A new file, and an emptied one.
  CHECK(unified_diff("", "x\ny\n", "o", "n") == "--- o\n+++ n\n@@ -0,0 +1,2 @@\n+x\n+y\n");
  CHECK(unified_diff("x\n", "", "o", "n") == "--- o\n+++ n\n@@ -1 +0,0 @@\n-x\n");
  // A last line without a newline.
  CHECK(unified_diff("a\nb", "a\nb\n", "o", "n") ==
        "--- o\n+++ n\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

TEST_CASE("diff: applying the diff gives the new text", "[diff]") {
  std::mt19937 random(20261126);
  const char* words[] = {"server", "restrict", "driftfile", "# comment", "", "pool", "tos"};
  for (int round = 0; round < 200; ++round) {
    std::string before, after;
    auto lines = std::uniform_int_distribution<int>(0, 40)(random);
    for (int i = 0; i < lines; ++i) {
      std::string line = words[random() % 7];
      before += line + "\n";
      switch (random() % 5) {
        case 0:
          break;  // dropped
        case 1:
          after += line + " changed\n";
          break;
        case 2:
          after += line + "\n" + words[random() % 7] + " added\n";
          break;
        default:
          after += line + "\n";
      }
    }
    INFO("round " << round << "\nbefore:\n" << before << "after:\n" << after);
    auto diff = unified_diff(before, after, "o", "n");
    CHECK(diff.empty() == (before == after));
    CHECK(patched(before, diff) == after);
  }
}

TEST_CASE("diff: very different texts come out as one replacing hunk", "[diff]") {
  std::string before, after;
  for (int i = 0; i < 1500; ++i) {
    before += "old " + std::to_string(i) + "\n";
    after += "new " + std::to_string(i) + "\n";
  }
  auto diff = unified_diff(before, after, "o", "n");
  CHECK(diff.rfind("--- o\n+++ n\n@@ -1,1500 +1,1500 @@\n-old 0\n", 0) == 0);
  CHECK(patched(before, diff) == after);
}
