// zerosim merge SHARD.jsonl... -o RESULTS.jsonl
// Combines the outputs of `zerosim sweep --shard K/N` runs into one results.jsonl (and the CSV next
// to it) in cartesian order, after checking that every point of the sweep is there exactly once.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "sim/cli/commands.h"
#include "sim/batch/sweep_results.h"
#include "workloads/config_error.h"

namespace zerosim {

namespace {

struct MergeOptions {
  std::vector<std::string> shards;
  std::string out;
};

// "3, 7-9, 12" for a sorted list of indices (the first 30 runs, then "...").
std::string ranges(const std::vector<size_t>& v) {
  std::string s;
  size_t runs = 0;
  for (size_t i = 0; i < v.size(); ++runs) {
    if (runs == 30) return s + ", ...";
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    s += (s.empty() ? "" : ", ") + std::to_string(v[i]) + (j > i ? "-" + std::to_string(v[j]) : "");
    i = j + 1;
  }
  return s;
}

void run_merge(const MergeOptions& o) {
  struct Seen {
    std::string line;
    std::vector<std::string> files;
    nlohmann::json axes;
  };
  std::map<size_t, Seen> by_index;
  std::string sweep_id;
  std::string id_file;
  size_t total = 0;
  std::vector<std::string> axis_keys;
  for (const std::string& given : o.shards) {
    const std::string file = result_paths(given).jsonl;  // a shard's .csv names its .jsonl
    const StoredRows stored = read_rows(file);
    if (stored.rows.empty() && stored.dropped == 0 && !std::ifstream(file))
      throw ConfigError(file, "",
                        "cannot read this shard's results (a results.jsonl written by zerosim sweep)");
    if (stored.dropped)
      std::cerr << "merge: " << file << ": dropped " << stored.dropped << " torn or unreadable line(s)\n";
    for (const StoredRow& r : stored.rows) {
      const nlohmann::json& sw = r.row["sweep"];
      const std::string id = sw.value("id", "");
      if (sweep_id.empty()) {
        sweep_id = id;
        id_file = file;
        total = sw.value("points", size_t{0});
        axis_keys = sw.value("axes", std::vector<std::string>{});
      } else if (id != sweep_id) {
        throw ConfigError(file, "sweep.id",
                          "rows of sweep " + id + " cannot merge with " + id_file + " (sweep " + sweep_id +
                              "): shards must come from the same SWEEP.yaml");
      }
      Seen& seen = by_index[sw["index"].get<size_t>()];
      if (seen.files.empty()) {
        seen.line = r.line;
        seen.axes = r.row.value("axes", nlohmann::json::object());
      }
      seen.files.push_back(file);
    }
  }
  if (by_index.empty()) throw ConfigError(o.shards.front(), "", "no rows to merge");

  std::vector<size_t> missing;
  for (size_t i = 0; i < total; ++i)
    if (!by_index.count(i)) missing.push_back(i);
  std::string duplicates;
  size_t n_duplicates = 0;
  for (const auto& [index, seen] : by_index) {
    if (index >= total)
      throw ConfigError(
          seen.files.front(), "sweep.index",
          "index " + std::to_string(index) + " beyond the sweep's " + std::to_string(total) + " points");
    if (seen.files.size() < 2) continue;
    if (++n_duplicates <= 20)
      duplicates += "\n  index " + std::to_string(index) + " " + seen.axes.dump() + " in " + join(seen.files);
  }
  if (!missing.empty() || n_duplicates) {
    std::string message =
        "the shards do not hold each of the sweep's " + std::to_string(total) + " points once:";
    if (!missing.empty())
      message += "\n  missing " + std::to_string(missing.size()) + " point(s), indices " + ranges(missing) +
                 " (rerun their shard with --resume)";
    if (n_duplicates)
      message += "\n  " + std::to_string(n_duplicates) + " point(s) appear more than once:" + duplicates +
                 (n_duplicates > 20 ? "\n  ..." : "");
    throw ConfigError("merge", "", message);
  }

  std::map<size_t, std::string> lines;
  for (const auto& [index, seen] : by_index) lines.emplace(index, seen.line);
  const ResultPaths paths = result_paths(o.out);
  const auto dir = std::filesystem::path(paths.jsonl).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  write_sorted_results(paths, lines, axis_keys);
  std::cerr << "merge: " << lines.size() << " points from " << o.shards.size() << " file(s) into "
            << paths.jsonl << " and " << paths.csv << "\n";
}

}  // namespace

void add_merge_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("merge",
                                  "combine the results.jsonl of sweep shards into one, checking for "
                                  "missing and duplicated points");
  auto o = std::make_shared<MergeOptions>();
  cmd->add_option("shards", o->shards, "results.jsonl of each shard (zerosim sweep --shard K/N --out ...)")
      ->required();
  cmd->add_option("-o,--out", o->out, "merged RESULTS.jsonl; the CSV goes next to it")->required();
  cmd->callback([o] { run_merge(*o); });
}

}  // namespace zerosim
