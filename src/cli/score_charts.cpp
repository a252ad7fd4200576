// SPDX-License-Identifier: Apache-2.0
#include "score_charts.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "chart.hpp"
#include <fmt/format.h>

namespace pooljoin::cli {
namespace {

constexpr int kChartRows = 5;
// The offset chart's scale never gets finer than this (ms): below, it would magnify noise.
constexpr double kMinOffsetScaleMs = 1.0;

// `seconds` in double: the span between two timestamps from the site may not fit in 64 bits.
std::string span_text(double seconds) {
  if (seconds < 3600) return fmt::format("{:.0f} min", std::max(1.0, std::floor(seconds / 60)));
  if (seconds < 2 * 86400) return fmt::format("{:.0f} h", std::floor((seconds + 1800) / 3600));
  return fmt::format("{:.0f} days", std::floor((seconds + 43200) / 86400));
}

// "(12 points over 44 h)", or "(1 point)".
std::string points_text(const std::vector<ChartPoint>& points) {
  if (points.size() == 1) return "(1 point)";
  auto [first, last] =
      std::minmax_element(points.begin(), points.end(),
                          [](const ChartPoint& a, const ChartPoint& b) { return a.ts < b.ts; });
  return fmt::format("({} points over {})", points.size(),
                     span_text(static_cast<double>(last->ts) - static_cast<double>(first->ts)));
}

// A chart of the page's height, `width` columns wide.
ChartSpec chart_spec(ChartStyle style, int width, bool utf8) {
  ChartSpec spec;
  spec.style = style;
  spec.width = width;
  spec.height = kChartRows;
  spec.utf8 = utf8;
  return spec;
}

}  // namespace

std::string score_charts(const ScoreDocument& document, bool utf8, int width) {
  std::string out;

  std::vector<ChartPoint> scores;
  // A value that is not finite (1e400 reads as infinity) has no place on a chart.
  for (const auto& p : overall_history(document))
    if (std::isfinite(p.score)) scores.push_back({p.ts, p.score});
  if (!scores.empty()) {
    ChartSpec spec = chart_spec(ChartStyle::bars, width, utf8);
    spec.hold = true;
    double lowest = scores.front().value, highest = lowest;
    for (const auto& p : scores) {
      lowest = std::min(lowest, p.value);
      highest = std::max(highest, p.value);
    }
    spec.min = std::min(0.0, std::floor(lowest / 10) * 10);
    spec.max = std::max(kMaxScore, std::ceil(highest / 10) * 10);
    spec.mark = kInPoolScore;
    out += fmt::format("score {}; the dotted line is {:g}, the pool's threshold:\n",
                       points_text(scores), kInPoolScore);
    for (const auto& line : render_chart(scores, spec))
      out += line + '\n';
  }

  std::vector<ChartPoint> offsets;
  double largest = 0;
  // Documents of the old API have no monitor ids: their points are then the only offsets.
  auto measured = monitor_history(document);
  if (measured.empty()) measured = document.history;
  for (const auto& p : measured) {
    if (!p.offset || !std::isfinite(*p.offset * 1000.0)) continue;
    offsets.push_back({p.ts, *p.offset * 1000.0});
    largest = std::max(largest, std::abs(*p.offset * 1000.0));
  }
  if (!offsets.empty()) {
    ChartSpec spec = chart_spec(ChartStyle::dots, width, utf8);
    double scale = nice_ceiling(std::max(largest, kMinOffsetScaleMs));
    spec.min = -scale;
    spec.max = scale;
    spec.mark = 0.0;
    out += fmt::format("offset in ms as the monitors measured it {}:\n", points_text(offsets));
    for (const auto& line : render_chart(offsets, spec))
      out += line + '\n';
  }
  return out;
}

}  // namespace pooljoin::cli
