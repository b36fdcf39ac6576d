#include "sim/batch/sweep_run.h"

#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>

#include "sim/batch/point_runner.h"
#include "sim/batch/sweep_results.h"
#include "sim/batch/sweep_spec.h"
#include "sim/report/progress_bar.h"
#include "workloads/config_error.h"

namespace zerosim {
namespace {

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

}  // namespace

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

}  // namespace zerosim
