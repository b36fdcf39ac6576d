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
  std::vector<LineSeries> series;
};

struct StackedBars {
  std::string title, y_label;
  std::vector<std::string> categories;      // one bar each
  std::vector<std::string> components;      // stacked segments, bottom first
  std::vector<std::vector<double>> values;  // [category][component]
};

// ConfigError unless `out` ends in .svg or .png.
void check_chart_path(const std::string& out);

// A log2 x axis spaces GPU counts 1, 2, 4 ... 64 evenly where a linear one squeezes 1-8 into a corner,
// but it bends straight lines into curves that look exponential. So: log2 only when every x is a power
// of two and the largest is at least 16 times the smallest (on a linear axis the two smallest would then
// be less than 1/15 of the axis apart); otherwise linear. GPU counts 1-64: log2; 8-64: linear.
bool log2_x_axis(const LineChart& chart);

// `text` split at the ", " outside parentheses into lines of at most `width` characters (a part longer
// than that keeps a line of its own).
std::vector<std::string> wrapped(const std::string& text, size_t width = 80);

// Line charts: each series has its own colour, point marker and dash pattern, so lines drawn on top of
// each other stay visible in the legend and on the chart; ticks at the x values (up to 16 of them); y
// from 0 when no value is negative; the x label says "(log2 scale)" when log2_x_axis.
// Renders to `out` (.svg or .png, by extension). Throws ConfigError on a bad extension and
// std::runtime_error if gnuplot fails.
void render(const LineChart& chart, const std::string& out);
void render(const StackedBars& chart, const std::string& out);

}  // namespace zerosim
