#pragma once
// Picks, for each GPU count, the fastest configuration that fits, and explains every ZeRO stage's
// result from the breakdowns: what it saves in memory and what it costs in time, against stage 0
// at the same micro-batch and checkpointing. CPU offload variants (DeepSpeed's offload_optimizer and
// offload_param) get rows of their own. Pure logic over simulate JSON, unit-tested.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zerosim {

// `--offload`: never searched, searched only for GPU counts where nothing else fits, or always.
enum class OffloadMode { never, automatic, always };
OffloadMode parse_offload_mode(const std::string& text);  // never | auto | always; ConfigError otherwise
const char* offload_mode_name(OffloadMode mode);

// The offload values of a candidate and a verdict row, in ranking order (no offload first).
inline constexpr const char* kOffloadNone = "none";
inline constexpr const char* kOffloadOptimizer = "optimizer";             // zero.offload_optimizer: cpu
inline constexpr const char* kOffloadOptimizerParam = "optimizer+param";  // and zero.offload_param: cpu

// The offload rows of a GPU count's table, after stages 0-3 without offload: DeepSpeed offloads the
// optimizer from stage 1 and the parameters only at stage 3 (recommend_run's offload sweep).
struct OffloadVariant {
  int stage;
  const char* offload;
};
inline constexpr OffloadVariant kOffloadVariants[] = {
    {1, kOffloadOptimizer}, {2, kOffloadOptimizer}, {3, kOffloadOptimizer}, {3, kOffloadOptimizerParam}};

// The offload value of a point from its zero.offload_optimizer and zero.offload_param ("none"/"cpu").
std::string offload_of(const std::string& offload_optimizer, const std::string& offload_param);

// nlohmann::json's destructor may allocate (it unnests values onto a std::vector), so clang-tidy flags
// every struct that holds one; nothing here needs to be noexcept.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct Candidate {
  int64_t gpus = 0;
  int stage = 0;
  int64_t micro_batch = 0;
  int64_t grad_accum = 1;  // micro-steps per optimizer step (recommend --global-batch sets it per candidate)
  bool checkpointing = false;
  std::string offload = kOffloadNone;  // none | optimizer | optimizer+param
  std::string optimizer;               // train.optimizer (recommend --optimizers)
  nlohmann::json result;               // the simulate JSON (null when the point failed)
  std::string error;                   // why it failed
};

// One row of the table: a ZeRO stage with one offload setting.
struct StageVerdict {
  int stage = 0;
  std::string offload = kOffloadNone;
  const Candidate* best = nullptr;  // fastest that fits; null if none fits
  std::string reason;               // one line drawn from the breakdowns
};

struct GpuCountVerdict {
  int64_t gpus = 0;
  const Candidate* winner = nullptr;  // null if nothing fits
  // Stages 0..3 without offload, then each offload variant that has candidates at this GPU count:
  // stages 1, 2, 3 with the optimizer offloaded, stage 3 with optimizer and parameters.
  std::vector<StageVerdict> stages;
};

// "Fits" below means: memory.fits, and the GPU peak within (1 - margin) of the GPU's capacity
// (memory_margin.h: recommend's `--memory-margin`, default the validated under-prediction; 0 = none).

// The GPU counts at which no candidate fits (ascending): where `--offload auto` searches offload.
std::vector<int64_t> gpu_counts_where_nothing_fits(const std::vector<Candidate>& candidates,
                                                   double margin = 0);

// Ranking: tokens/s, where configurations within 1% of each other count as equally fast and the one
// without offload (then the smaller peak memory, then the lower stage, then the smaller micro-batch) wins.
// With OffloadMode::automatic an offload candidate wins only at a GPU count where no candidate without
// offload fits; with never, none does. Candidates must outlive the verdicts (they point into the vector).
std::vector<GpuCountVerdict> recommend(const std::vector<Candidate>& candidates, OffloadMode mode,
                                       double margin = 0);

nlohmann::json verdicts_json(const std::vector<GpuCountVerdict>& verdicts);
std::string verdicts_table(const std::vector<GpuCountVerdict>& verdicts, const std::string& title);

// "ZeRO-3" or "ZeRO-3 + offload optimizer+param".
std::string variant_name(int stage, const std::string& offload);

}  // namespace zerosim
