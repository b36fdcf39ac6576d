#pragma once
// DeepSpeed's FP16_Optimizer (runtime/fp16/fused_optimizer.py), the optimizer wrapper of stage 0 (no ZeRO)
// with 16-bit weights: fp16 in every release 0.10-0.19, and bf16 from 0.17.6, where #7515 made bf16 at
// stage 0 take it (engine.py _do_optimizer_sanity_check: DDP_BFLOAT16) instead of BF16_Optimizer. Its step
// checks every gradient for inf/nan on the host, one synchronisation per parameter, then flattens the
// gradients into an fp32 copy, takes their norm, scales them and updates the fp32 master
// (docs/time-model.md, "Stage 0 under DeepSpeed"). No SimGrid here.
#include <cstdint>

#include "workloads/run_config.h"

namespace zerosim {

// Whether the run's optimizer step is FP16_Optimizer's: DeepSpeed's engine, stage 0, fp16-mixed, or
// bf16-mixed from DeepSpeed 0.17.6.
bool fp16_optimizer_applies(const RunConfig& config);

// Bytes per trainable element of its step (FusedAdam's update included), for gradients of `grad_bytes`.
double fp16_optimizer_step_bytes_per_element(int64_t grad_bytes);

// The overflow check's share of them: CheckOverflow's float(x.float().sum()) per gradient. A client
// optimizer DeepSpeed does not fuse (bitsandbytes') runs under FP16_UnfusedOptimizer, whose step starts with
// the same check.
double fp16_optimizer_overflow_check_bytes_per_element(int64_t grad_bytes);

// The overflow check's kernels for `tensors` trainable tensors: the cast and the sum of each, each sum read
// on the host.
int64_t fp16_optimizer_overflow_check_kernels(int64_t tensors);

// Its kernels for `tensors` trainable tensors and `flat_launches` FusedAdam launches over the flat fp32
// master; `tensors` of them are each followed by a host read (the overflow check's float()).
int64_t fp16_optimizer_step_kernels(int64_t tensors, int64_t flat_launches);

}  // namespace zerosim
