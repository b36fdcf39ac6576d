#include "sim/batch/sweep_plot.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include "sim/batch/sweep_plot_keys.h"
#include "sim/batch/sweep_plot_scope.h"
#include "sim/batch/sweep_results.h"
#include "sim/report/gnuplot_chart.h"
#include "workloads/config_error.h"
#include "workloads/units.h"

namespace zerosim {

namespace {

bool matches_where(const nlohmann::json& row, const PlotOptions& o) {
  bool keep = true;
  for (const auto& w : o.where) {
    const auto eq = w.find('=');
    if (eq == std::string::npos)
      throw ConfigError("--where", w, "expected KEY=VALUE, e.g. --where zero.stage=3");
    const auto* v = plot_lookup(row, w.substr(0, eq));
    if (!v) throw ConfigError(o.results, w.substr(0, eq), "no such key in the rows (--where)");
    keep = keep && plot_text(*v) == w.substr(eq + 1);
  }
  return keep;
}

// The successful rows that pass --fits-only and every --where.
std::vector<nlohmann::json> rows_to_plot(const PlotOptions& o) {
  std::vector<nlohmann::json> rows;
  for (const auto& r : read_rows(o.results).rows) {
    if (!r.row["error"].is_null()) continue;
    if (o.fits_only && !r.row["memory"]["fits"].get<bool>()) continue;
    if (matches_where(r.row, o)) rows.push_back(r.row);
  }
  if (rows.empty())
    throw ConfigError(o.results, "", "no successful rows to plot (after --where / --fits-only)");
  return rows;
}

const nlohmann::json& need(const nlohmann::json& row, const std::string& key, const char* flag,
                           const PlotOptions& o) {
  const auto* v = plot_lookup(row, key);
  if (!v) throw ConfigError(o.results, key, std::string("not found in the rows (") + flag + ")");
  return *v;
}

// The keys that place a row on the chart: --x, and --series when given.
std::vector<std::string> drawn_keys(const PlotOptions& o) {
  std::vector<std::string> keys = {o.x};
  if (!o.series.empty()) keys.push_back(o.series);
  return keys;
}

// Every row must have the keys the chart draws (the metric too), and no two rows may land on one point.
void check_rows(const std::vector<nlohmann::json>& rows, const PlotOptions& o) {
  for (const auto& row : rows) {
    need(row, o.x, "--x", o);
    if (!o.series.empty()) need(row, o.series, "--series", o);
    if (o.kind == "line" && !o.y.empty()) need(row, o.y, "--y", o);
  }
  require_one_row_per_point(rows, drawn_keys(o), o.results);
}

LineChart line_chart(const std::vector<nlohmann::json>& rows, const PlotOptions& o) {
  if (o.y.empty()) throw ConfigError("zerosim plot", "--y", "needed with --kind line");
  const PlotAxis ax = plot_axis(o.x), ay = plot_axis(o.y);
  // Keyed by (number, text) so that the legend lists r = 8 before r = 16.
  std::map<std::pair<double, std::string>, LineSeries> series;
  for (const auto& row : rows) {
    const auto& xv = need(row, o.x, "--x", o);
    const auto& yv = need(row, o.y, "--y", o);
    if (!xv.is_number() || !(yv.is_number() || yv.is_boolean()))
      throw ConfigError(o.results, o.x, "--x and --y must be numbers for a line chart");
    const nlohmann::json& sv = o.series.empty() ? yv : need(row, o.series, "--series", o);
    const std::string name = o.series.empty() ? ay.label : o.series + " = " + plot_text(sv);
    const double y = yv.is_boolean() ? (yv.get<bool>() ? 1.0 : 0.0) : yv.get<double>();
    LineSeries& line = series[{sv.is_number() && !o.series.empty() ? sv.get<double>() : 0.0, name}];
    line.label = name;
    line.points.emplace_back(xv.get<double>() * ax.scale, y * ay.scale);
  }
  LineChart chart{plot_title(rows, drawn_keys(o)), ax.label, ay.label, {}};
  for (auto& [name, s] : series) {
    std::sort(s.points.begin(), s.points.end());
    chart.series.push_back(s);
  }
  return chart;
}

StackedBars stacked_chart(const std::vector<nlohmann::json>& rows, const PlotOptions& o) {
  const bool memory = o.kind == "memory";
  StackedBars chart;
  chart.title = plot_title(rows, drawn_keys(o)) + (memory ? ": per-GPU memory at the peak" : ": step time");
  chart.y_label = memory ? "memory per GPU at the peak (GiB)" : "time per optimizer step (ms)";
  // {field in the row, legend in words}, bottom segment first.
  const std::vector<std::pair<std::string, std::string>> components =
      memory ? std::vector<std::pair<std::string, std::string>>{{"frozen_params", "frozen parameters"},
                                                                {"trainable_params", "trainable parameters"},
                                                                {"gradients", "gradients"},
                                                                {"optimizer_states", "optimizer states"},
                                                                {"activations", "activations"},
                                                                {"temporaries", "temporaries"},
                                                                {"buffers", "gradient buckets"},
                                                                {"runtime_overhead", "CUDA/NCCL runtime"},
                                                                {"fragmentation", "allocator fragmentation"}}
             : std::vector<std::pair<std::string, std::string>>{{"forward_s", "forward"},
                                                                {"backward_s", "backward"},
                                                                {"optimizer_s", "optimizer"},
                                                                {"exposed_host_s", "exposed host"},
                                                                {"overlap_slowdown_s", "slowed by NCCL"},
                                                                {"exposed_comm_s", "exposed communication"}};
  for (const auto& [field, legend] : components) chart.components.push_back(legend);
  for (const auto& row : rows) {
    std::string category = o.x + "=" + plot_text(need(row, o.x, "--x", o));
    if (!o.series.empty()) category += ", " + o.series + "=" + plot_text(need(row, o.series, "--series", o));
    chart.categories.push_back(category);
    std::vector<double> values;
    for (const auto& [field, legend] : components)
      values.push_back(memory ? row["memory"]["breakdown"][field].get<double>() / kBytesPerGiB
                              : row["time"][field].get<double>() * 1e3);
    chart.values.push_back(values);
  }
  return chart;
}

}  // namespace

void run_plot(const PlotOptions& o) {
  check_chart_path(o.out);
  const std::vector<nlohmann::json> rows = rows_to_plot(o);
  check_rows(rows, o);
  if (o.kind == "line")
    render(line_chart(rows, o), o.out);
  else
    render(stacked_chart(rows, o), o.out);
  std::cerr << "wrote " << o.out << " (" << rows.size() << " rows)\n";
}

}  // namespace zerosim
