// SPDX-License-Identifier: Apache-2.0
// Terminal charts of a value over time (the pool's score, the monitors' offsets): UTF-8 block
// and braille characters on a UTF-8 terminal, plain ASCII otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pooljoin::cli {

struct ChartPoint {
  std::int64_t ts = 0;  // Unix seconds
  double value = 0;
};

enum class ChartStyle {
  bars,  // filled from the bottom of the scale: a level, like a score
  dots,  // a dot for every point: a scatter around a mark, like offsets around zero
};

struct ChartSpec {
  ChartStyle style = ChartStyle::bars;
  int width = 80;  // columns in all, axis labels included
  int height = 5;  // rows of the plot area
  bool utf8 = true;
  double min = 0, max = 20;    // the scale; values outside are drawn at its edge
  std::optional<double> mark;  // a level drawn as a dotted line where nothing else is drawn
  bool hold = false;  // carry a value into the following empty slots (a state, not a sample)
};

// The chart as lines (no trailing newlines): `height` plot rows with the scale on the left
// (top, mark and bottom values), an axis line, and the first and last times (UTC) below.
// Time runs left to right from the first point to the last. A bar shows the last point of its
// column; dots show every point (two columns of dots per character in UTF-8). Empty when there
// are no points.
std::vector<std::string> render_chart(std::vector<ChartPoint> points, const ChartSpec& spec);

// The smallest of 1, 2 and 5 times a power of ten that is at least `value` (> 0).
double nice_ceiling(double value);

// Whether the locale of the environment (LC_ALL, LC_CTYPE, LANG) uses UTF-8.
bool locale_is_utf8();

// The width of the terminal on stdout, or $COLUMNS, or 80; between 40 and 200.
int terminal_width();

}  // namespace pooljoin::cli
