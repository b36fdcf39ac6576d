#pragma once
// SWEEP.yaml: a base run config plus axes (dotted config key → list of values), expanded into the
// cartesian product of points in a deterministic order, minus the `exclude:` rules, each point
// resolved with run_config_from_yaml up front. docs/sweeps.md describes the file.
//
//   base: ../configs/seed-dora-7b.yaml   # or an inline run config; omitted = every default
//   axes:                                # first axis varies slowest, last fastest
//     zero.stage: [0, 1, 2, 3]
//     cluster.gpus: [1, 8, 64]
//   exclude:                             # a point matching every key of one rule is skipped
//     - {zero.stage: 0, cluster.gpus: [8, 64]}
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace zerosim {

// nlohmann::json's destructor may allocate (it unnests values onto a std::vector), so clang-tidy flags
// every struct that holds one; nothing here needs to be noexcept.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct SweepPoint {
  size_t index = 0;         // position in cartesian order, counting only points that are not excluded
  nlohmann::json axes;      // axis key → value
  std::string config_yaml;  // the base with this point's axis values applied: what a worker simulates
  nlohmann::json config;    // RunConfig::echo() of it; null when it does not resolve
  std::string error;        // why it does not resolve (a combination the config rejects); "" if it does
  std::string error_key;    // the config key that error names
  uint64_t hash = 0;        // point identity: FNV-1a of config.dump() (of config_yaml when unresolved)
};

struct Sweep {
  std::string file;
  std::vector<std::string> axis_keys;  // in SWEEP.yaml order
  std::vector<SweepPoint> points;      // cartesian order, exclusions removed
  size_t excluded = 0;
  uint64_t id = 0;  // FNV-1a of every point's index and hash: which sweep a row belongs to
};

// `--shard K/N`: K is 1-based (K = 1..N, as SLURM_ARRAY_TASK_ID with --array=1-N); shard K runs the
// points whose index satisfies index % N == K - 1, so the N shards partition the sweep.
struct Shard {
  size_t k = 1;
  size_t n = 1;
  bool contains(size_t index) const { return index % n == k - 1; }
};
Shard parse_shard(const std::string& text);  // "2/3"; ConfigError naming --shard otherwise

// Throws ConfigError (exit 2) naming the key for a bad SWEEP.yaml: unknown top-level key, an axis
// that is not a config key, an empty or non-list axis, an exclude rule on a non-axis key, an axis
// value with which no point resolves, or a sweep where no point resolves at all.
Sweep load_sweep(const std::string& path);
Sweep sweep_from_yaml(const YAML::Node& root, const std::string& file);

uint64_t fnv1a64(std::string_view text);
std::string hex64(uint64_t value);  // 16 lower-case hex digits

// A YAML value as JSON with YAML 1.2 core types (int, float, bool, null, string; quoted stays string).
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace zerosim
