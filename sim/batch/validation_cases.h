#pragma once
// Validation case files (tests/validation/README.md schema): published measurements, each with the
// zerosim run config or collective that should reproduce it. Parsing only; running them is
// validation_run.h. Every problem in a file is a ConfigError naming the file and the key.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace zerosim {

// Which tolerance applies to a compared figure.
enum class MetricFamily { memory, time, bandwidth, ratio };
const char* family_name(MetricFamily f);

enum class CaseKind { run, collective, ratio };

// One measured figure of a run case. Memory is in bytes; `unit` says how the source printed it.
struct MeasuredFigure {
  std::string
      metric;        // peak_memory | oom | step_s | samples_per_s | tokens_per_s | tokens_per_s_per_gpu | mfu
  double value = 0;  // bytes for peak_memory, 1 for oom
  std::string unit;  // GiB | GB | s | samples/s | tokens/s | fraction
  MetricFamily family = MetricFamily::time;
};

struct ValidationCase {
  std::string id;
  std::string file;    // the case file
  std::string source;  // the file's `source:`
  std::string key;     // "cases[3]" — where in the file, for messages
  CaseKind kind = CaseKind::run;
  std::string notes;

  // run: the RUN.yaml body (paths relative to the case file) and what was measured, filtered by `use:`.
  YAML::Node run;
  std::string memory_kind = "unknown";  // reserved | allocated | unknown
  std::vector<MeasuredFigure> figures;

  // collective: nccl-tests op, the cluster keys, busbw (GB/s) by message size in bytes.
  std::string op;
  std::string nccl_algo = "auto";  // NCCL_ALGO the source ran with: auto | ring | tree | nvls | nvlstree
  std::string nccl;                // the NCCL release the source ran ("" = unknown: the newest modelled)
  std::vector<std::pair<std::string, std::string>> cluster;  // key=value, in file order
  std::map<int64_t, double> busbw_gbps;

  // ratio: numerator / denominator of one metric of two run cases.
  std::string numerator, denominator, ratio_metric;
  double ratio_value = 0;
};

struct CaseFile {
  std::string path;
  std::string source;
  std::string hardware;
  std::vector<ValidationCase> cases;
};

// Metrics a run case may measure, and those a ratio may compare.
const std::vector<std::string>&
run_time_metrics();  // step_s samples_per_s tokens_per_s tokens_per_s_per_gpu mfu
const std::vector<std::string>&
ratio_metrics();  // the time metrics + peak_memory_reserved, peak_memory_allocated

CaseFile load_case_file(const std::string& path);
CaseFile case_file_from_yaml(const YAML::Node& root, const std::string& path);

// Every *.yaml case file of a directory, sorted by name (`skip` is a file name to leave out, e.g. the
// known-misses file); checks that ids are unique across files and that ratios name run cases.
std::vector<CaseFile> load_case_dir(const std::string& dir, const std::string& skip = "");

// Tolerances per family and the list of known misses (tests/validation/known-misses.yaml).
struct KnownMiss {
  std::string case_id;
  std::string metric;  // as in the table: peak_memory, step_s, busbw@67108864, ratio:step_s, oom
  std::string reason;
};

struct Expectations {
  std::string path;
  std::map<MetricFamily, double> tolerance;  // fraction of the measured value
  int64_t bandwidth_min_bytes = 0;           // smaller messages are reported but not scored
  std::vector<KnownMiss> known_misses;
  const KnownMiss* find(const std::string& case_id, const std::string& metric) const;
};

Expectations load_expectations(const std::string& path);

}  // namespace zerosim
