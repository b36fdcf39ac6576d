#pragma once
// Charts drawn by gnuplot (Debian's gnuplot-nox): zerosim writes the data and a script, gnuplot draws
// SVG or PNG. Line charts (a metric against an axis, one line per series) and stacked bar charts
// (a breakdown per category).
#include <string>
#include <vector>

namespace zerosim {

struct LineSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // sorted by x
};

struct LineChart {
  std::string title, x_label, y_label;
  bool log_x = false;
  std::vector<LineSeries> series;
};

struct StackedBars {
  std::string title, y_label;
  std::vector<std::string> categories;      // one bar each
  std::vector<std::string> components;      // stacked segments, bottom first
  std::vector<std::vector<double>> values;  // [category][component]
};

// Renders to `out` (.svg or .png, by extension). Throws ConfigError on a bad extension and
// std::runtime_error if gnuplot fails.
void render(const LineChart& chart, const std::string& out);
void render(const StackedBars& chart, const std::string& out);

}  // namespace zerosim
