#include "sim/batch/sweep_merge.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "sim/batch/sweep_results.h"
#include "workloads/config_error.h"

namespace zerosim {
namespace {

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

// One point as the shards hold it: its first row, and every file that holds it.
// nlohmann::json's destructor may allocate (it unnests values onto a std::vector), so clang-tidy flags
// every struct that holds one; nothing here needs to be noexcept.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct SeenPoint {
  std::string line;
  std::vector<std::string> files;
  nlohmann::json axes;
};

// What the shards hold, by sweep index; every row must come from the same sweep.
struct ShardRows {
  std::map<size_t, SeenPoint> by_index;
  std::string sweep_id, id_file;
  size_t total = 0;  // the sweep's point count
  std::vector<std::string> axis_keys;
};

void add_shard(const std::string& given, ShardRows& out) {
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
    if (out.sweep_id.empty()) {
      out.sweep_id = id;
      out.id_file = file;
      out.total = sw.value("points", size_t{0});
      out.axis_keys = sw.value("axes", std::vector<std::string>{});
    } else if (id != out.sweep_id) {
      throw ConfigError(file, "sweep.id",
                        "rows of sweep " + id + " cannot merge with " + out.id_file + " (sweep " +
                            out.sweep_id + "): shards must come from the same SWEEP.yaml");
    }
    SeenPoint& seen = out.by_index[sw["index"].get<size_t>()];
    if (seen.files.empty()) {
      seen.line = r.line;
      seen.axes = r.row.value("axes", nlohmann::json::object());
    }
    seen.files.push_back(file);
  }
}

// Every index of the sweep exactly once, or a ConfigError listing what is missing and what repeats.
void check_each_point_once(const ShardRows& rows) {
  std::vector<size_t> missing;
  for (size_t i = 0; i < rows.total; ++i)
    if (!rows.by_index.count(i)) missing.push_back(i);
  std::string duplicates;
  size_t n_duplicates = 0;
  for (const auto& [index, seen] : rows.by_index) {
    if (index >= rows.total)
      throw ConfigError(
          seen.files.front(), "sweep.index",
          "index " + std::to_string(index) + " beyond the sweep's " + std::to_string(rows.total) + " points");
    if (seen.files.size() < 2) continue;
    if (++n_duplicates <= 20)
      duplicates += "\n  index " + std::to_string(index) + " " + seen.axes.dump() + " in " + join(seen.files);
  }
  if (missing.empty() && n_duplicates == 0) return;
  std::string message =
      "the shards do not hold each of the sweep's " + std::to_string(rows.total) + " points once:";
  if (!missing.empty())
    message += "\n  missing " + std::to_string(missing.size()) + " point(s), indices " + ranges(missing) +
               " (rerun their shard with --resume)";
  if (n_duplicates)
    message += "\n  " + std::to_string(n_duplicates) + " point(s) appear more than once:" + duplicates +
               (n_duplicates > 20 ? "\n  ..." : "");
  throw ConfigError("merge", "", message);
}

}  // namespace

void run_merge(const MergeOptions& o) {
  ShardRows rows;
  for (const std::string& given : o.shards) add_shard(given, rows);
  if (rows.by_index.empty()) throw ConfigError(o.shards.front(), "", "no rows to merge");
  check_each_point_once(rows);

  std::map<size_t, std::string> lines;
  for (const auto& [index, seen] : rows.by_index) lines.emplace(index, seen.line);
  const ResultPaths paths = result_paths(o.out);
  const auto dir = std::filesystem::path(paths.jsonl).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  write_sorted_results(paths, lines, rows.axis_keys);
  std::cerr << "merge: " << lines.size() << " points from " << o.shards.size() << " file(s) into "
            << paths.jsonl << " and " << paths.csv << "\n";
}

}  // namespace zerosim
