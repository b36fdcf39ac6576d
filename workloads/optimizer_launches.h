#pragma once
// The optimizer step's CUDA kernels as the code that runs it launches them, and whether the training thread
// waits for the GPU in it (docs/time-model.md, "The optimizer step's kernels"). PyTorch's foreach and fused
// optimizers and clip_grad_norm_ launch one kernel per multi_tensor_apply batch of tensors; DeepSpeed's ZeRO
// optimizers walk their gradient partitions in Python, a few kernels per tensor. No SimGrid here.
#include <cstdint>
#include <vector>

#include "workloads/run_config.h"

namespace zerosim {

// multi_tensor_apply's batching (aten/src/ATen/native/cuda/MultiTensorApply.cuh, the 4 KB kernel-argument
// tables): a launch takes at most depth_to_max_tensors[depth − 1] tensors (110, 64, 48, 36, 30) and 320
// blocks of kChunkSize = 65,536 elements; a tensor larger than that continues into the next launch.
int64_t multi_tensor_launches(int depth, const std::vector<int64_t>& numels);

struct OptimizerStepLaunches {
  int64_t kernels = 0;
  bool host_sync = false;  // fp16 loss scaling reads its overflow flag on the host (.item())
  // The last of `kernels` that are each followed by torch.cuda.synchronize(): the host issues the next
  // only when the GPU has finished it (bitsandbytes' optimizers, one per parameter).
  int64_t synced_kernels = 0;
};

// `tensors`: the elements of each trainable tensor this rank's step walks (its gradient partition's
// tensors under ZeRO-1/2, every tensor's partition under ZeRO-3, every tensor otherwise);
// `flat_partitions`: DeepSpeed's flat fp32 partitions its optimizer updates (optimizer_flat_partitions).
OptimizerStepLaunches optimizer_step_launches(const RunConfig& config, const std::vector<int64_t>& tensors,
                                              const std::vector<int64_t>& flat_partitions);

}  // namespace zerosim
