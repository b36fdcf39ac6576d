#pragma once
// A sweep's output files. results.jsonl is the source of truth: one JSON object per point, each line
// written with a single write() on an O_APPEND descriptor and fsynced, so a kill leaves at most a torn
// last line, which readers drop. results.csv is derived from it (one column per axis and per headline
// figure) and rewritten from it whenever the rows are rewritten.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/batch/point_runner.h"
#include "sim/batch/sweep_spec.h"

namespace zerosim {

// `results.csv` → {results.csv, results.jsonl}; `results.jsonl` → the same pair.
struct ResultPaths {
  std::string csv;
  std::string jsonl;
};
ResultPaths result_paths(const std::string& out);

// The row of one point: the worker's simulate JSON (or the point's error) plus
//   "axes": {key: value}, "point": "<hash>", "error": null | "message",
//   "sweep": {"id": "<hash>", "index": i, "points": total, "axes": [keys in SWEEP.yaml order]}.
// `outcome` is null for a point that failed validation and never ran.
nlohmann::json make_row(const Sweep& sweep, const SweepPoint& point, const PointOutcome* outcome);

// The value at a dotted path ("time.step_s") of a row, or null where the path does not exist.
const nlohmann::json* at_path(const nlohmann::json& j, const std::string& dotted);

// The headline figures, in CSV column order, with where each lives in the row.
const std::vector<std::pair<std::string, std::string>>& headline_columns();  // {"step_s", "time.step_s"}, ...
std::string csv_header(const std::vector<std::string>& axis_keys);
std::string csv_line(const nlohmann::json& row, const std::vector<std::string>& axis_keys);

// Rows read back from a results.jsonl, each with its exact line (so rewrites keep bytes identical).
struct StoredRow {
  nlohmann::json row;
  std::string line;  // without the newline
};
struct StoredRows {
  std::vector<StoredRow> rows;
  size_t dropped = 0;  // torn or unparseable lines (a kill in the middle of a write)
};
// A missing file is no rows. Rows lacking "sweep.index" count as dropped.
StoredRows read_rows(const std::string& jsonl_path);

// Appends whole lines: one write() per line on an O_APPEND descriptor, then fsync.
class RowAppender {
 public:
  RowAppender(const std::string& path, bool truncate);
  ~RowAppender();
  RowAppender(const RowAppender&) = delete;
  RowAppender& operator=(const RowAppender&) = delete;
  void append(const std::string& line);  // `line` ends with '\n'

 private:
  std::string path_;
  int fd_ = -1;
};

// Writes a file through a temporary next to it and rename(): readers see the old or the new file.
void write_file_atomically(const std::string& path, const std::string& text);

// Rewrites results.jsonl and results.csv with these rows in index order.
void write_sorted_results(const ResultPaths& paths, const std::map<size_t, std::string>& lines_by_index,
                          const std::vector<std::string>& axis_keys);

}  // namespace zerosim
