#pragma once
// Picks, for each GPU count, the fastest configuration that fits, and explains every ZeRO stage's
// result from the breakdowns: what it saves in memory and what it costs in time, against stage 0
// at the same micro-batch and checkpointing. Pure logic over simulate JSON, unit-tested.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zerosim {

// nlohmann::json's destructor may allocate (it unnests values onto a std::vector), so clang-tidy flags
// every struct that holds one; nothing here needs to be noexcept.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct Candidate {
  int64_t gpus = 0;
  int stage = 0;
  int64_t micro_batch = 0;
  bool checkpointing = false;
  nlohmann::json result;  // the simulate JSON (null when the point failed)
  std::string error;      // why it failed
};

struct StageVerdict {
  int stage = 0;
  const Candidate* best = nullptr;  // fastest that fits; null if none fits
  std::string reason;               // one line drawn from the breakdowns
};

struct GpuCountVerdict {
  int64_t gpus = 0;
  const Candidate* winner = nullptr;  // null if nothing fits
  std::vector<StageVerdict> stages;   // 0..3
};

// Ranking: tokens/s, where configurations within 1% of each other count as equally fast and the one
// with the smaller peak memory (then the lower stage, then the smaller micro-batch) wins.
// Candidates must outlive the verdicts (they point into the vector).
std::vector<GpuCountVerdict> recommend(const std::vector<Candidate>& candidates);

nlohmann::json verdicts_json(const std::vector<GpuCountVerdict>& verdicts);
std::string verdicts_table(const std::vector<GpuCountVerdict>& verdicts, const std::string& title);

}  // namespace zerosim
