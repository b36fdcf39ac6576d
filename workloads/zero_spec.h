#pragma once
// DeepSpeed ZeRO setup with DeepSpeed's own code defaults (docs/reference/dora-zero.md §3.4).
#include <cstdint>
#include <optional>
#include <string>

namespace zerosim {

struct ZeroSpec {
  int stage = 0;
  int64_t reduce_bucket_size = 500'000'000;              // elements
  int64_t allgather_bucket_size = 500'000'000;           // elements
  int64_t stage3_prefetch_bucket_size = 50'000'000;      // elements (code default 5e7; docs say 5e8)
  int64_t stage3_max_live_parameters = 1'000'000'000;    // elements
  int64_t stage3_max_reuse_distance = 1'000'000'000;     // elements
  int64_t stage3_param_persistence_threshold = 100'000;  // elements
  // Stage 3 runs the optimizer step per sub-group of this many partition elements (DeepSpeed's config
  // default 1e9, runtime/zero/config.py; 0: one tensor per group); zero3_schedule.h.
  int64_t sub_group_size = 1'000'000'000;
  std::optional<bool> overlap_comm;  // unset: true for stage 3, false otherwise
  bool contiguous_gradients = true;
  // Stage 3: the model was built inside deepspeed.zero.Init, as transformers' from_pretrained does when a
  // ZeRO-3 ds_config is active (HF Trainer, accelerate's zero3_init_flag); false: built first, then handed
  // to deepspeed.initialize. Decides what ZeRO-3 linears save and the adapters' dtype per release
  // (workloads/framework_behaviour.h).
  bool zero3_init = true;
  std::string offload_optimizer = "none";  // none | cpu
  std::string offload_param = "none";      // none | cpu (stage 3 only)
  // ds_config offload_optimizer.pin_memory (or cpu_offload_use_pin_memory) and offload_param.pin_memory;
  // unset: the DeepSpeed release's default (zero_offload.h).
  std::optional<bool> offload_optimizer_pin_memory;
  std::optional<bool> offload_param_pin_memory;
  std::string deepspeed_config;  // ds_config.json it came from, if any
  // ds_config.json's train_batch_size (numeric) and whether micro-batch and accumulation were given
  // (numeric there or in the run config): DeepSpeed derives the missing ones and asserts
  // train_batch_size = micro_batch x grad_accum x GPUs (runtime/config.py _batch_assertion).
  std::optional<int64_t> train_batch_size;
  bool micro_batch_given = false;
  bool grad_accum_given = false;

  bool overlap() const { return overlap_comm.value_or(stage == 3); }
  bool offloads() const { return offload_optimizer != "none" || offload_param != "none"; }
};

}  // namespace zerosim
