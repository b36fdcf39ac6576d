// zerosim plot RESULTS.jsonl --x KEY --y METRIC [--series KEY] [--where KEY=VALUE]... -o FILE.svg|png
//   --kind line (default): METRIC against KEY, one line per series value
//   --kind memory: stacked per-GPU memory breakdown (GiB) per value of --x
//   --kind time:   stacked step-time breakdown (ms) per value of --x
// The options; sim/batch/sweep_plot.h draws the chart.
#include <CLI/CLI.hpp>

#include "sim/batch/sweep_plot.h"
#include "sim/cli/commands.h"

namespace zerosim {

void add_plot_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("plot", "draw charts from sweep results (gnuplot: SVG or PNG)");
  auto o = std::make_shared<PlotOptions>();
  cmd->add_option("results", o->results, "results.jsonl from zerosim sweep or merge")->required();
  cmd->add_option("--x", o->x, "x axis: an axis or config key (cluster.gpus, zero.stage, ...)")->required();
  cmd->add_option("--y", o->y,
                  "metric for --kind line (tokens_per_s, step_s, peak_bytes, mfu, time.comm_s, ...)");
  cmd->add_option("--series", o->series, "one line per value of this key");
  cmd->add_option("--where", o->where, "keep rows with KEY=VALUE (repeatable)");
  cmd->add_option("--kind", o->kind, "line | memory | time")
      ->check(CLI::IsMember({"line", "memory", "time"}))
      ->capture_default_str();
  cmd->add_flag("--fits-only", o->fits_only, "drop configurations that do not fit in GPU memory");
  cmd->add_option("-o,--out", o->out, "output file, .svg or .png")->required();
  cmd->callback([o] { run_plot(*o); });
}

}  // namespace zerosim
