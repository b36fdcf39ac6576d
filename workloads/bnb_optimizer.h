#pragma once
// bitsandbytes' AdamW as HF Trainer's optim names build it (adamw_bnb_8bit, adamw_8bit, paged_adamw_8bit,
// paged_adamw_32bit: bitsandbytes.optim.AdamW with optim_bits 8 or 32 and is_paged), what its states
// occupy and where (docs/memory-model.md §10, docs/time-model.md "bitsandbytes' optimizers"). No SimGrid
// here.
#include <cstdint>
#include <vector>

#include "workloads/framework_versions.h"
#include "workloads/run_config.h"

namespace zerosim {

// Optimizer2State.init_state (bitsandbytes/optim/optimizer.py, 0.41.0-0.50.x): a tensor of fewer than
// min_8bit_size elements keeps fp32 states even with optim_bits 8.
inline constexpr int64_t kBnbMin8bitSize = 4096;
// Optimizer8bit.get_state_buffer: a paged optimizer puts a state of 1e5+ elements in unified memory
// (F.get_paged: cudaMallocManaged), smaller ones in ordinary tensors (torch.zeros_like).
inline constexpr int64_t kBnbPagedMinNumel = 100'000;

// The 8-bit blockwise states' quantization block (one fp32 absmax per block and state): 2048 elements up
// to 0.43.x, 256 from 0.44.0 (bitsandbytes PR #1365).
int64_t bnb_optimizer_blocksize(Version bitsandbytes);

struct BnbOptimizerStateBytes {
  int64_t device = 0;  // ordinary CUDA tensors (PyTorch's caching allocator)
  int64_t paged = 0;   // unified memory (cudaMallocManaged): on the GPU unless the driver evicts it
};

// exp_avg and exp_avg_sq of every tensor (`tensors`: each trainable tensor's elements): 1 B each for 8-bit
// tensors plus their absmax, 4 B for 32-bit ones, and the two 256-entry fp32 quantile maps on the device
// once any tensor is 8-bit.
BnbOptimizerStateBytes bnb_optimizer_state_bytes(const std::vector<int64_t>& tensors, OptimizerImpl optimizer,
                                                 Version bitsandbytes);

// HBM bytes per element of one update kernel (kOptimizerStatic8bit2StateBlockwise or
// kOptimizer32bit2State): read the gradient, read and write the parameter and both states.
double bnb_step_bytes_per_param(OptimizerImpl optimizer, int64_t param_bytes);

}  // namespace zerosim
