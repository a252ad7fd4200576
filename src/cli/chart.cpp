// SPDX-License-Identifier: Apache-2.0
#include "chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace pooljoin::cli {
namespace {

constexpr int kMinPlotWidth = 10;

// Eighth blocks, from empty to full.
constexpr const char* kBlocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

// The braille dot of (column 0-1, row 0-3 from the top) in a cell.
constexpr unsigned kBrailleDot[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

std::string braille(unsigned bits) {
  // U+2800 + bits, in UTF-8: E2, A0 + high two bits, 80 + low six bits.
  std::string out(3, '\0');
  out[0] = static_cast<char>(0xE2);
  out[1] = static_cast<char>(0xA0 + (bits >> 6));
  out[2] = static_cast<char>(0x80 + (bits & 0x3F));
  return out;
}

std::string label(double value) {
  return fmt::format("{:g}", std::abs(value) < 1e-12 ? 0.0 : value);
}

std::string utc_label(std::int64_t ts) {
  std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%m-%d %H:%M", &tm);
  return text;
}

// The slot of each point: the first point in slot 0, the last in slot `slots - 1`.
std::vector<std::vector<double>> into_slots(const std::vector<ChartPoint>& points, int slots) {
  std::vector<std::vector<double>> out(static_cast<std::size_t>(slots));
  const std::int64_t t0 = points.front().ts, t1 = points.back().ts;
  for (const auto& p : points) {
    int slot = slots - 1;
    if (t1 > t0) {
      // In double: the difference of two timestamps from the site may not fit in 64 bits.
      const double f = (static_cast<double>(p.ts) - static_cast<double>(t0)) /
                       (static_cast<double>(t1) - static_cast<double>(t0));
      slot = static_cast<int>(std::clamp(f, 0.0, 1.0) * (slots - 1));
    }
    out[static_cast<std::size_t>(std::clamp(slot, 0, slots - 1))].push_back(p.value);
  }
  return out;
}

// Position of `value` on a scale of `steps` steps (0 at min, steps at max).
int position(double value, const ChartSpec& spec, int steps) {
  double span = spec.max - spec.min;
  double f = span > 0 ? (std::clamp(value, spec.min, spec.max) - spec.min) / span : 0.0;
  if (!(f >= 0)) f = 0;  // NaN, from an infinite scale or value
  return static_cast<int>(std::lround(std::min(f, 1.0) * steps));
}

}  // namespace

double nice_ceiling(double value) {
  if (!(value > 0)) return 1;
  double power = std::pow(10.0, std::floor(std::log10(value)));
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    if (factor * power >= value * (1 - 1e-9)) return factor * power;
  }
  return 10 * power;
}

std::vector<std::string> render_chart(std::vector<ChartPoint> points, const ChartSpec& spec) {
  if (points.empty() || spec.height < 1) return {};
  std::stable_sort(points.begin(), points.end(),
                   [](const ChartPoint& a, const ChartPoint& b) { return a.ts < b.ts; });
  const int rows = spec.height;

  // The scale on the left: top, mark and bottom values.
  int mark_row = -1;
  int mark_sub = 0;  // for dots: the sub-row position of the mark
  if (spec.mark) {
    if (spec.style == ChartStyle::bars) {
      int eighths = position(*spec.mark, spec, rows * 8);
      mark_row = std::clamp(rows - 1 - eighths / 8, 0, rows - 1);
    } else {
      int steps = spec.utf8 ? rows * 4 - 1 : rows - 1;
      mark_sub = position(*spec.mark, spec, steps);
      mark_row = rows - 1 - (spec.utf8 ? mark_sub / 4 : mark_sub);
    }
  }
  std::vector<std::string> labels(static_cast<std::size_t>(rows));
  labels.front() = label(spec.max);
  labels.back() = label(spec.min);
  if (mark_row > 0 && mark_row < rows - 1)
    labels[static_cast<std::size_t>(mark_row)] = label(*spec.mark);
  std::size_t label_width = 0;
  for (const auto& l : labels)
    label_width = std::max(label_width, l.size());
  const int columns = std::max(kMinPlotWidth, spec.width - static_cast<int>(label_width) - 1);

  // cells[row][column]: what to draw, empty for nothing.
  std::vector<std::vector<std::string>> cells(
      static_cast<std::size_t>(rows), std::vector<std::string>(static_cast<std::size_t>(columns)));
  auto cell = [&](int row, int column) -> std::string& {
    return cells[static_cast<std::size_t>(row)][static_cast<std::size_t>(column)];
  };

  if (spec.style == ChartStyle::bars) {
    auto slots = into_slots(points, columns);
    std::optional<double> held;
    for (int c = 0; c < columns; ++c) {
      const auto& slot = slots[static_cast<std::size_t>(c)];
      std::optional<double> value;
      if (!slot.empty()) {
        value = slot.back();
        held = value;
      } else if (spec.hold) {
        value = held;
      }
      if (!value) continue;
      int fill = std::max(1, position(*value, spec, rows * 8));  // a value is never invisible
      for (int r = 0; r < rows; ++r) {
        int n = std::clamp(fill - (rows - 1 - r) * 8, 0, 8);
        if (n == 0) continue;
        if (spec.utf8) {
          cell(r, c) = kBlocks[n];
        } else {
          cell(r, c) = n == 8 ? "#" : n >= 4 ? ":" : ".";
        }
      }
    }
  } else if (spec.utf8) {
    // Two slots per cell and four dots per cell height.
    auto slots = into_slots(points, columns * 2);
    std::vector<std::vector<unsigned>> bits(
        static_cast<std::size_t>(rows), std::vector<unsigned>(static_cast<std::size_t>(columns)));
    for (int s = 0; s < columns * 2; ++s) {
      for (double value : slots[static_cast<std::size_t>(s)]) {
        int p = position(value, spec, rows * 4 - 1);
        int row = rows - 1 - p / 4;
        int sub = 3 - p % 4;
        bits[static_cast<std::size_t>(row)][static_cast<std::size_t>(s / 2)] |=
            kBrailleDot[s % 2][sub];
      }
    }
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < columns; ++c)
        if (unsigned b = bits[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)])
          cell(r, c) = braille(b);
  } else {
    auto slots = into_slots(points, columns);
    for (int c = 0; c < columns; ++c) {
      for (double value : slots[static_cast<std::size_t>(c)])
        cell(rows - 1 - position(value, spec, rows - 1), c) = "*";
    }
  }

  std::vector<std::string> lines;
  for (int r = 0; r < rows; ++r) {
    const std::string& l = labels[static_cast<std::size_t>(r)];
    std::string line = std::string(label_width - l.size(), ' ') + l;
    line += l.empty() ? (spec.utf8 ? "│" : "|") : (spec.utf8 ? "┤" : "+");
    for (int c = 0; c < columns; ++c) {
      const std::string& content = cell(r, c);
      if (!content.empty()) {
        line += content;
      } else if (r == mark_row) {
        line += spec.utf8 ? "┈" : "-";
      } else {
        line += ' ';
      }
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    lines.push_back(std::move(line));
  }
  std::string axis = std::string(label_width, ' ') + (spec.utf8 ? "└" : "+");
  for (int c = 0; c < columns; ++c)
    axis += spec.utf8 ? "─" : "-";
  lines.push_back(std::move(axis));

  std::string first = utc_label(points.front().ts);
  std::string last = utc_label(points.back().ts) + " UTC";
  std::string times(label_width + 1, ' ');
  std::size_t room = static_cast<std::size_t>(columns);
  if (points.front().ts != points.back().ts && first.size() + last.size() + 2 <= room) {
    times += first + std::string(room - first.size() - last.size(), ' ') + last;
  } else {
    times += std::string(room > last.size() ? room - last.size() : 0, ' ') + last;
  }
  lines.push_back(std::move(times));
  return lines;
}

bool locale_is_utf8() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (!value || !*value) continue;  // the first one set decides, as setlocale(3) does
    std::string text = value;
    for (auto& ch : text)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return text.find("utf-8") != std::string::npos || text.find("utf8") != std::string::npos;
  }
  return false;
}

int terminal_width() {
  int width = 0;
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    width = size.ws_col;
  } else if (const char* columns = std::getenv("COLUMNS")) {
    width = std::atoi(columns);
  }
  if (width <= 0) width = 80;
  return std::clamp(width, 40, 200);
}

}  // namespace pooljoin::cli
