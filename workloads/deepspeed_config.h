#pragma once
// ZeRO settings from a run config's `zero:` section or from a real DeepSpeed ds_config.json,
// with "auto" values resolved the way Hugging Face's Trainer fills them.
#include <yaml-cpp/yaml.h>

#include <string>

#include "workloads/run_config.h"

namespace zerosim {

// Reads ds_config.json: every key is modelled, has no effect, or is refused (deepspeed_keys.h); the
// zero_optimization block, micro-batch / accumulation / train_batch_size when numeric, and the precision
// (bf16 / fp16 blocks). `train_node` is the run config's train section, whose explicit keys must agree.
void apply_deepspeed_config(const std::string& path, const YAML::Node& train_node, RunConfig& config);

// DeepSpeed's train_batch_size = micro_batch x grad_accum x GPUs: derives what the ds_config left out
// and refuses (ConfigError on the ds_config's train_batch_size) numbers that disagree. Needs the final
// GPU count (called again once a platform file has given it).
void resolve_train_batch_size(RunConfig& config);

// The run config's own `zero:` keys, applied after any ds_config.json (they win).
void apply_zero_section(const YAML::Node& zero, const std::string& file, RunConfig& config);

// HF Trainer's "auto" fills (transformers integrations/deepspeed.py trainer_config_finalize).
int64_t auto_reduce_bucket_size(int64_t hidden);            // hidden²
int64_t auto_stage3_prefetch_bucket_size(int64_t hidden);   // 0.9·hidden²
int64_t auto_stage3_persistence_threshold(int64_t hidden);  // 10·hidden

}  // namespace zerosim
