// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/text_diff.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace pooljoin {
namespace {

// Beyond this many differing lines, the Myers traces (which grow with its square) are not worth
// keeping: the diff becomes one hunk that replaces every line.
constexpr int kMaxEditDistance = 1000;

struct Line {
  std::string_view text;  // without its newline
  bool newline = true;    // false for a last line without one
  bool operator==(const Line& other) const {
    return text == other.text && newline == other.newline;
  }
};

std::vector<Line> split(std::string_view text) {
  std::vector<Line> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back({text, false});
      break;
    }
    lines.push_back({text.substr(0, nl), true});
    text.remove_prefix(nl + 1);
  }
  return lines;
}

enum class Op { keep, remove, add };

std::size_t at(long i) {
  return static_cast<std::size_t>(i);
}

// A shortest edit script from a to b (Myers 1986, forward search with the traces kept), or
// nullopt when it is longer than kMaxEditDistance.
std::optional<std::vector<Op>> edit_script(const std::vector<Line>& a, const std::vector<Line>& b) {
  const long n = static_cast<long>(a.size()), m = static_cast<long>(b.size());
  const long max = std::min<long>(n + m, kMaxEditDistance);
  const long offset = max + 1;
  std::vector<long> v(at(2 * max + 3), 0);
  // trace[d]: v for k in [-d, d] as round d found it (index k + d), for the walk back.
  std::vector<std::vector<long>> trace;
  for (long d = 0; d <= max; ++d) {
    trace.emplace_back(v.begin() + (offset - d), v.begin() + (offset + d + 1));
    for (long k = -d; k <= d; k += 2) {
      long x = (k == -d || (k != d && v[at(k - 1 + offset)] < v[at(k + 1 + offset)]))
                   ? v[at(k + 1 + offset)]
                   : v[at(k - 1 + offset)] + 1;
      long y = x - k;
      while (x < n && y < m && a[at(x)] == b[at(y)]) {
        ++x;
        ++y;
      }
      v[at(k + offset)] = x;
      if (x < n || y < m) continue;
      // Walk the traces back from (n, m) to (0, 0).
      std::vector<Op> ops;
      long cx = n, cy = m;
      for (long e = d; e > 0; --e) {
        const auto& pv = trace[at(e)];
        long ck = cx - cy;
        long pk =
            (ck == -e || (ck != e && pv[at(ck - 1 + e)] < pv[at(ck + 1 + e)])) ? ck + 1 : ck - 1;
        long px = pv[at(pk + e)], py = px - pk;
        while (cx > px && cy > py) {
          ops.push_back(Op::keep);
          --cx;
          --cy;
        }
        ops.push_back(cx == px ? Op::add : Op::remove);
        cx = px;
        cy = py;
      }
      while (cx > 0 && cy > 0) {
        ops.push_back(Op::keep);
        --cx;
        --cy;
      }
      std::reverse(ops.begin(), ops.end());
      return ops;
    }
  }
  return std::nullopt;
}

std::string range(std::size_t start, std::size_t count) {
  // diff -u: a hunk that holds no line of a side names the line before it.
  if (count == 0) return fmt::format("{},0", start);
  if (count == 1) return fmt::format("{}", start + 1);
  return fmt::format("{},{}", start + 1, count);
}

void put(std::string& out, char tag, const Line& line) {
  out += tag;
  out += line.text;
  out += '\n';
  if (!line.newline) out += "\\ No newline at end of file\n";
}

}  // namespace

std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_label, std::string_view after_label, int context) {
  if (before == after) return {};
  const auto a = split(before), b = split(after);
  std::vector<Op> ops;
  if (auto script = edit_script(a, b)) {
    ops = std::move(*script);
  } else {
    ops.assign(a.size(), Op::remove);
    ops.insert(ops.end(), b.size(), Op::add);
  }

  std::string out = fmt::format("--- {}\n+++ {}\n", before_label, after_label);
  const std::size_t total = ops.size();
  const auto margin = static_cast<std::size_t>(std::max(context, 0));
  // Positions in a and b at the start of each op.
  std::vector<std::size_t> ia(total + 1), ib(total + 1);
  for (std::size_t i = 0; i < total; ++i) {
    ia[i + 1] = ia[i] + (ops[i] != Op::add ? 1 : 0);
    ib[i + 1] = ib[i] + (ops[i] != Op::remove ? 1 : 0);
  }
  std::size_t i = 0;
  while (i < total) {
    if (ops[i] == Op::keep) {
      ++i;
      continue;
    }
    // A hunk: `margin` unchanged lines before this change, then changes as long as no more than
    // 2 * margin unchanged lines separate them, then `margin` unchanged lines.
    std::size_t start = i >= margin ? i - margin : 0;
    std::size_t end = i;
    for (;;) {
      while (end < total && ops[end] != Op::keep)
        ++end;
      std::size_t keeps = 0;
      while (end + keeps < total && ops[end + keeps] == Op::keep)
        ++keeps;
      if (end + keeps < total && keeps <= 2 * margin) {
        end += keeps;
        continue;
      }
      end += std::min(keeps, margin);
      break;
    }
    out += fmt::format("@@ -{} +{} @@\n", range(ia[start], ia[end] - ia[start]),
                       range(ib[start], ib[end] - ib[start]));
    for (std::size_t j = start; j < end; ++j) {
      switch (ops[j]) {
        case Op::keep:
          put(out, ' ', a[ia[j]]);
          break;
        case Op::remove:
          put(out, '-', a[ia[j]]);
          break;
        case Op::add:
          put(out, '+', b[ib[j]]);
          break;
      }
    }
    i = end;
  }
  return out;
}

}  // namespace pooljoin
