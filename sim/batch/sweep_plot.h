#pragma once
// `zerosim plot`: charts of sweep results, drawn by gnuplot (sim/report/gnuplot_chart.h).
//   line:   a metric against a key, one line per value of --series
//   memory: the per-GPU memory breakdown at the peak (GiB), one stacked bar per value of --x
//   time:   the step-time breakdown (ms), one stacked bar per value of --x
// Keys are written as users know them: an axis, a config key, a headline figure or a path in the row.
#include <string>
#include <vector>

namespace zerosim {

struct PlotOptions {
  std::string results;  // results.jsonl of zerosim sweep or merge
  std::string x, y, series;
  std::vector<std::string> where;  // KEY=VALUE: keep the rows that match all
  std::string kind = "line";       // line | memory | time
  bool fits_only = false;
  std::string out;  // .svg or .png
};

// Draws the chart into options.out; ConfigError for keys not in the rows and for no rows to plot.
void run_plot(const PlotOptions& options);

}  // namespace zerosim
