// zerosim sweep --config SWEEP.yaml [-j N] [--shard K/N] [--out results.csv] [--resume]
// Simulates every point of a sweep in worker processes and streams one row per point to
// results.jsonl and results.csv as each finishes (docs/sweeps.md).
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>

#include "sim/cli/commands.h"
#include "sim/batch/point_runner.h"
#include "sim/report/progress_bar.h"
#include "sim/batch/sweep_results.h"
#include "sim/batch/sweep_spec.h"
#include "workloads/config_error.h"

namespace zerosim {

namespace {

struct SweepOptions {
  std::string config;
  size_t jobs = 0;
  std::string shard = "1/1";
  std::string out = "results.csv";
  bool resume = false;
};

// The rows a previous run of this same sweep left, by index. Torn lines are dropped and both files
// rewritten, so appending starts from whole lines and the CSV matches the JSONL again.
std::map<size_t, std::string> rows_to_resume(const Sweep& sweep, const ResultPaths& paths) {
  const StoredRows stored = read_rows(paths.jsonl);
  std::map<size_t, std::string> lines;
  size_t repeated = 0;
  for (const StoredRow& r : stored.rows) {
    const std::string id = r.row["sweep"].value("id", "");
    const size_t index = r.row["sweep"]["index"].get<size_t>();
    if (id != hex64(sweep.id) || index >= sweep.points.size() ||
        r.row.value("point", "") != hex64(sweep.points[index].hash))
      throw ConfigError(paths.jsonl, "sweep.id",
                        "holds rows of another sweep (sweep id " + id + ", this one is " + hex64(sweep.id) +
                            "): pass another --out, or drop --resume to start over");
    if (!lines.emplace(index, r.line).second) ++repeated;
  }
  if (stored.dropped || repeated)
    std::cerr << "sweep: dropped " << stored.dropped << " torn line(s) and " << repeated
              << " repeated row(s) from " << paths.jsonl << "\n";
  write_sorted_results(paths, lines, sweep.axis_keys);
  return lines;
}

void run_sweep(const SweepOptions& o) {
  const Shard shard = parse_shard(o.shard);
  const Sweep sweep = load_sweep(o.config);
  const ResultPaths paths = result_paths(o.out);
  const auto dir = std::filesystem::path(paths.jsonl).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);

  std::map<size_t, std::string> lines;
  if (o.resume)
    lines = rows_to_resume(sweep, paths);
  else
    write_sorted_results(paths, lines, sweep.axis_keys);  // start both files empty (CSV: its header)
  RowAppender jsonl(paths.jsonl, false);
  RowAppender csv(paths.csv, false);

  size_t in_shard = 0;
  std::vector<const SweepPoint*> todo;
  for (const SweepPoint& p : sweep.points) {
    if (!shard.contains(p.index)) continue;
    ++in_shard;
    if (!lines.count(p.index)) todo.push_back(&p);
  }
  const size_t workers = o.jobs ? o.jobs : available_cpus();
  std::cerr << "sweep: " << sweep.points.size() << " points (" << sweep.excluded << " excluded)";
  if (shard.n > 1) std::cerr << ", shard " << shard.k << "/" << shard.n << ": " << in_shard;
  std::cerr << "; " << in_shard - todo.size() << " already in " << paths.jsonl << ", " << todo.size()
            << " to run on " << workers << " worker(s)\n";

  ProgressBar bar("sweep", todo.size());
  size_t failed = 0;
  const auto record = [&](const SweepPoint& p, const PointOutcome* outcome) {
    const nlohmann::json row = make_row(sweep, p, outcome);
    const std::string line = row.dump();
    jsonl.append(line + "\n");  // the JSONL row first: it is what --resume trusts
    csv.append(csv_line(row, sweep.axis_keys));
    lines.emplace(p.index, line);
    if (!row["error"].is_null()) ++failed;
    bar.advance();
  };
  std::vector<PointJob> jobs;
  for (const SweepPoint* p : todo) {
    if (!p->error.empty())
      record(*p, nullptr);  // rejected at validation: its row holds the error
    else
      jobs.push_back({p->index, p->config_yaml});
  }
  PointRunnerOptions runner;
  runner.jobs = workers;
  const RunStatus status =
      run_points(jobs, runner, [&](const PointOutcome& out) { record(sweep.points[out.id], &out); });
  bar.finish();
  if (status.interrupted) {
    std::cerr << "sweep: interrupted by " << strsignal(status.signal) << "; " << lines.size()
              << " rows kept in " << paths.jsonl << ": rerun with --resume to finish\n";
    // Exit the way an interrupted program does (status 128 + signal), so shells and SLURM see it.
    std::signal(status.signal, SIG_DFL);
    std::raise(status.signal);
    throw std::runtime_error("interrupted");
  }
  write_sorted_results(paths, lines, sweep.axis_keys);  // index order: the same bytes whatever -j was
  std::cerr << "sweep: " << lines.size() << " rows in " << paths.jsonl << " and " << paths.csv;
  if (failed) std::cerr << " (" << failed << " point(s) of this run failed: see the error column)";
  std::cerr << "\n";
}

}  // namespace

void add_sweep_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("sweep",
                                  "simulate every point of a sweep (config values x config values ...) "
                                  "in parallel worker processes; resumable and shardable");
  auto o = std::make_shared<SweepOptions>();
  cmd->add_option("--config", o->config, "SWEEP.yaml: base run config, axes, exclude rules (docs/sweeps.md)")
      ->required();
  cmd->add_option("-j,--jobs", o->jobs, "worker processes at once (default: the CPUs available)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--shard", o->shard,
                  "run shard K of N (1-based, K = 1..N): the points with index % N == K-1")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "results CSV; the JSON lines go next to it (same name, .jsonl)")
      ->capture_default_str();
  cmd->add_flag("--resume", o->resume, "keep the rows already in the output and run only the missing points");
  cmd->callback([o] { run_sweep(*o); });
}

}  // namespace zerosim
