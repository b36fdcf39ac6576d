#pragma once
// The passes DeepSpeed's ZeRO-1/2 optimizer (runtime/zero/stage_1_and_2.py, 0.10.0-0.19.x) makes over the
// gradients on the GPU besides the optimizer's own update: the copies into and out of the reduction
// bucket around each gradient collective, and the norm, flatten, cast, clip and copy-back of the rank's
// partition in step(). Bytes of DRAM traffic per element, for the step graph's memory-bound ops
// (docs/time-model.md, "ZeRO-1/2's gradient passes"). No SimGrid here.
#include <cstdint>

#include "workloads/run_config.h"

namespace zerosim {

// One gradient bucket's passes: `before_bytes_per_element` over every element of the bucket before its
// collective; after it `after_bytes_per_element` over every element and `after_bytes_per_own_element` over
// those of the rank's own partition.
struct Zero12BucketPasses {
  double before_bytes_per_element = 0;
  double after_bytes_per_element = 0;
  double after_bytes_per_own_element = 0;
  // Kernels issued from Python per gradient tensor in the bucket (the hook's copy into the bucket) and per
  // tensor of the rank's own partition (the copies back, the offload path's norm and cast).
  int kernels_per_tensor = 0;
  int kernels_per_own_tensor = 0;
  int kernels_per_tensor_after = 0;  // without contiguous_gradients: the copy back into every gradient
  int kernels_per_bucket = 0;        // the bucket's div_ and flatten
};

// `grad_bytes`: bytes per gradient element (2 for bf16/fp16, 4 in fp32 training).
Zero12BucketPasses zero12_bucket_passes(const RunConfig& config, int64_t grad_bytes);

// step()'s passes over the rank's partition without optimizer offload, the update included: bytes per
// partition element.
double zero12_step_bytes_per_element(const RunConfig& config, int64_t grad_bytes);

// Whether the bucket passes apply: DeepSpeed's engine at stage 1 or 2 (stage_1_and_2.py).
bool zero12_gradient_passes_apply(const RunConfig& config);

// Whether step()'s passes apply: stages 1-2, and stage 3 (stage3.py's step takes the same norm, flatten,
// cast, clip and copy-back per sub-group) with 16-bit gradients; fp32 training at stage 3 keeps its own
// accounting (step_graph.cpp fp32_master_copies).
bool zero_step_passes_apply(const RunConfig& config, int64_t grad_bytes);

}  // namespace zerosim
