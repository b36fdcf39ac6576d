#pragma once
// `zerosim merge`: combines the outputs of `zerosim sweep --shard K/N` runs into one results.jsonl (and
// the CSV next to it) in cartesian order, after checking that every point of the sweep is there once.
#include <string>
#include <vector>

namespace zerosim {

struct MergeOptions {
  std::vector<std::string> shards;
  std::string out;
};

// Merges the shards; missing, repeated or foreign rows are a ConfigError listing them.
void run_merge(const MergeOptions& options);

}  // namespace zerosim
