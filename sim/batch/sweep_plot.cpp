#include "sim/batch/sweep_plot.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include "sim/batch/sweep_results.h"
#include "sim/report/gnuplot_chart.h"
#include "workloads/config_error.h"
#include "workloads/units.h"

namespace zerosim {

namespace {

const nlohmann::json* at_path(const nlohmann::json& root, const std::string& dotted) {
  const nlohmann::json* node = &root;
  std::stringstream ss(dotted);
  for (std::string part; std::getline(ss, part, '.');) {
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &(*node)[part];
  }
  return node;
}

// A key as users write it: an axis, a path in the row, a config key, or a headline figure.
const nlohmann::json* lookup(const nlohmann::json& row, const std::string& key) {
  if (row.contains("axes") && row["axes"].contains(key)) return &row["axes"][key];
  if (const auto* v = at_path(row, key)) return v;
  if (row.contains("config"))
    if (const auto* v = at_path(row["config"], key)) return v;
  for (const auto& [name, path] : headline_columns())
    if (name == key) return at_path(row, path);
  for (const char* section : {"time", "throughput", "memory", "memory.breakdown"})
    if (const auto* s = at_path(row, section))
      if (const auto* v = at_path(*s, key)) return v;
  return nullptr;
}

std::string text_of(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// People read seconds as ms and bytes as GiB; the label says which.
struct Display {
  std::string label;
  double scale = 1;
};
Display display_of(const std::string& key) {
  auto ends = [&](const std::string& suffix) {
    return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (key == "tokens_per_s" || ends(".tokens_per_s")) return {"throughput (tokens/s, whole job)", 1};
  if (ends("tokens_per_s_per_gpu")) return {"throughput per GPU (tokens/s)", 1};
  if (ends("mfu")) return {"model FLOPs utilisation (%)", 100};
  if (ends("_s")) return {key + " (ms)", 1e3};
  if (ends("_bytes") || key.find("breakdown.") != std::string::npos)
    return {key + " (GiB)", 1.0 / kBytesPerGiB};
  if (key == "cluster.gpus") return {"GPUs", 1};
  if (key == "zero.stage") return {"ZeRO stage", 1};
  if (key == "peft.r") return {"LoRA/DoRA rank r", 1};
  if (key == "train.micro_batch") return {"micro-batch (sequences per GPU)", 1};
  return {key, 1};
}

std::string title_of(const nlohmann::json& row) {
  const auto& c = row["config"];
  std::string peft = c["peft"]["method"].get<std::string>();
  if (peft != "none")
    peft = (peft == "dora" ? "DoRA" : "LoRA") + std::string(" r=") + c["peft"]["r"].dump();
  else
    peft = "full fine-tuning";
  return c["model"].get<std::string>() + ", " + peft + ", " + c["cluster"]["gpu"].get<std::string>() +
         (c["cluster"]["inter"] != "none" ? " (" + c["cluster"]["intra"].get<std::string>() + ", " +
                                                c["cluster"]["inter"].get<std::string>() + ")"
                                          : "");
}

bool matches_where(const nlohmann::json& row, const PlotOptions& o) {
  bool keep = true;
  for (const auto& w : o.where) {
    const auto eq = w.find('=');
    if (eq == std::string::npos)
      throw ConfigError("--where", w, "expected KEY=VALUE, e.g. --where zero.stage=3");
    const auto* v = lookup(row, w.substr(0, eq));
    if (!v) throw ConfigError(o.results, w.substr(0, eq), "no such key in the rows (--where)");
    keep = keep && text_of(*v) == w.substr(eq + 1);
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
  const auto* v = lookup(row, key);
  if (!v) throw ConfigError(o.results, key, std::string("not found in the rows (") + flag + ")");
  return *v;
}

LineChart line_chart(const std::vector<nlohmann::json>& rows, const PlotOptions& o) {
  if (o.y.empty()) throw ConfigError("zerosim plot", "--y", "needed with --kind line");
  const Display dx = display_of(o.x), dy = display_of(o.y);
  std::map<std::string, LineSeries> series;
  double lo = 1e300, hi = -1e300;
  for (const auto& row : rows) {
    const auto& xv = need(row, o.x, "--x", o);
    const auto& yv = need(row, o.y, "--y", o);
    if (!xv.is_number() || !(yv.is_number() || yv.is_boolean()))
      throw ConfigError(o.results, o.x, "--x and --y must be numbers for a line chart");
    const std::string name =
        o.series.empty() ? o.y : o.series + " = " + text_of(need(row, o.series, "--series", o));
    const double x = xv.get<double>() * dx.scale;
    const double y = yv.is_boolean() ? (yv.get<bool>() ? 1.0 : 0.0) : yv.get<double>();
    series[name].label = name;
    series[name].points.emplace_back(x, y * dy.scale);
    lo = std::min(lo, x), hi = std::max(hi, x);
  }
  LineChart chart{
      title_of(rows.front()), dx.label, dy.label, o.x == "cluster.gpus" && lo > 0 && hi / lo >= 8, {}};
  for (auto& [name, s] : series) {
    std::sort(s.points.begin(), s.points.end());
    chart.series.push_back(s);
  }
  return chart;
}

StackedBars stacked_chart(const std::vector<nlohmann::json>& rows, const PlotOptions& o) {
  const bool memory = o.kind == "memory";
  StackedBars chart;
  chart.title = title_of(rows.front()) + (memory ? ": per-GPU memory at the peak" : ": step time");
  chart.y_label = memory ? "per-GPU memory (GiB)" : "time per optimizer step (ms)";
  chart.components = memory
                         ? std::vector<std::string>{"frozen_params",    "trainable_params", "gradients",
                                                    "optimizer_states", "activations",      "temporaries",
                                                    "buffers",          "runtime_overhead", "fragmentation"}
                         : std::vector<std::string>{"forward_s", "backward_s", "optimizer_s", "overhead_s",
                                                    "exposed_comm_s"};
  for (const auto& row : rows) {
    std::string category = o.x + "=" + text_of(need(row, o.x, "--x", o));
    if (!o.series.empty()) category += ", " + o.series + "=" + text_of(need(row, o.series, "--series", o));
    if (std::find(chart.categories.begin(), chart.categories.end(), category) != chart.categories.end())
      throw ConfigError(
          o.results, o.x,
          "several rows have " + category + ": narrow them with --where KEY=VALUE or add --series");
    chart.categories.push_back(category);
    std::vector<double> values;
    for (const auto& c : chart.components)
      values.push_back(memory ? row["memory"]["breakdown"][c].get<double>() / kBytesPerGiB
                              : row["time"][c].get<double>() * 1e3);
    chart.values.push_back(values);
  }
  return chart;
}

}  // namespace

void run_plot(const PlotOptions& o) {
  const std::vector<nlohmann::json> rows = rows_to_plot(o);
  if (o.kind == "line")
    render(line_chart(rows, o), o.out);
  else
    render(stacked_chart(rows, o), o.out);
  std::cerr << "wrote " << o.out << " (" << rows.size() << " rows)\n";
}

}  // namespace zerosim
