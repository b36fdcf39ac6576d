#pragma once
// Runs validation cases and compares predictions with measurements. Every run and collective case is
// simulated in its own child process (this binary's `simulate` / `collective` with --format json),
// because SimGrid allows one engine per process.
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sim/batch/validation_cases.h"
#include "workloads/config_error.h"

namespace zerosim {

enum class RowStatus {
  unscored,           // reported only (no expectations file, or below the bandwidth bar)
  ok,                 // within the family's tolerance
  miss,               // outside it and not listed as a known miss
  known_miss,         // outside it and listed, with the reason
  known_miss_passes,  // listed as a known miss but now within tolerance: the list is stale
};
const char* status_name(RowStatus s);

struct ComparisonRow {
  std::string case_id;
  std::string file;    // case file
  std::string source;  // the file's source
  std::string metric;  // peak_memory | oom | step_s | ... | busbw@64M | ratio:step_s
  MetricFamily family = MetricFamily::time;
  std::string unit;                    // GiB | GB | s | samples/s | tokens/s | fraction | GB/s | ratio
  double predicted = 0, measured = 0;  // in `unit` (oom: 1 = does not fit)
  std::optional<double> error_pct;     // signed, 100·(predicted − measured)/measured; none for oom
  int64_t message_bytes = 0;           // bandwidth rows: the message size
  std::string detail;  // oom: the predicted peak against the capacity; memory: the kind compared
  RowStatus status = RowStatus::unscored;
  std::string reason;  // of the known miss
};

struct FamilySummary {
  int rows = 0;             // compared figures
  int scored = 0;           // held to the tolerance
  int within = 0;           // scored and within tolerance
  int known_misses = 0;     // scored, listed and outside tolerance
  int misses = 0;           // scored, unlisted and outside tolerance
  double mape_pct = 0;      // over scored rows with an error (all rows when nothing is scored)
  double mape_all_pct = 0;  // over every row with an error
  // Scored rows on the optimistic side (less memory, a faster step or more bandwidth than measured; a run
  // predicted to fit that ran out of memory) and on the pessimistic side; ratios are neither.
  int optimistic = 0;
  int pessimistic = 0;
  std::optional<double> tolerance;
};

// +1 when the row's prediction is optimistic, -1 when pessimistic, 0 when exact or a ratio.
int optimism(const ComparisonRow& row);

// A case zerosim could not run (its run config or cluster was rejected): reported, and exit code 2.
struct CaseError {
  std::string case_id;
  ConfigError error;
};

struct ValidationReport {
  std::vector<ComparisonRow> rows;
  std::vector<CaseError> errors;
  std::map<MetricFamily, FamilySummary> families;
  std::vector<KnownMiss> stale_known_misses;  // listed cases/metrics that no row matches
  nlohmann::json predictions =
      nlohmann::json::object();  // case id → the child's JSON (memory, time, throughput)
};

// Runs every case of `files`; `progress` (may be empty) is told each case id before it runs.
// A case whose run config zerosim rejects becomes a CaseError (naming the case file and key) and
// the other cases still run; a ratio over such a case is an error too.
ValidationReport run_validation(const std::vector<CaseFile>& files, const Expectations* expectations,
                                const std::function<void(const std::string&)>& progress = {});

// Predicted value of one run metric from `zerosim simulate --format json` output.
double run_metric(const nlohmann::json& simulate, const std::string& metric, const std::string& memory_kind);

// "64M", "1G", "131072" → for metric names (nccl-tests units, powers of 1024).
std::string size_label(int64_t bytes);

// Fills status, the summaries and the stale list from rows whose predictions are set.
void score(ValidationReport& report, const Expectations* expectations);

}  // namespace zerosim
