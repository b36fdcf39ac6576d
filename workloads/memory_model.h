#pragma once
// Per-GPU memory of one optimizer step: static model states per ZeRO stage, plus the largest live
// set found by walking the micro-step's alloc/free sequence in execution order (not a sum of maxima).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "workloads/caching_allocator.h"
#include "workloads/host_memory.h"
#include "workloads/run_config.h"
#include "workloads/step_program.h"

namespace zerosim {

enum class MemComponent {
  frozen_params,
  trainable_params,
  gradients,
  optimizer_states,
  activations,
  temporaries,
  buffers,
  runtime_overhead,
  fragmentation,
};
constexpr size_t kMemComponents = 9;
const char* mem_component_name(MemComponent c);

struct MemoryBreakdown {
  std::array<int64_t, kMemComponents> bytes{};
  int64_t& operator[](MemComponent c) { return bytes[static_cast<size_t>(c)]; }
  int64_t operator[](MemComponent c) const { return bytes[static_cast<size_t>(c)]; }
  int64_t total() const;
};

// Model states that live for the whole step (per rank), before the walk.
struct ModelStates {
  int64_t frozen_params = 0;
  int64_t trainable_params = 0;
  int64_t gradients = 0;              // resident for the whole step
  int64_t gradients_in_backward = 0;  // allocated as backward reaches each parameter (GA = 1, stages 0-1)
  int64_t optimizer_states = 0;
  // The buffers optimizer_states is held in: Adam's exp_avg and exp_avg_sq, and a master copy where the
  // optimizer keeps one (3).
  int64_t optimizer_state_buffers = 2;
  int64_t persistent_buffers = 0;     // ZeRO-3's IPG bucket
  int64_t backward_buffers = 0;       // ZeRO-1/2 IPG bucket(s), allocated in backward (framework_behaviour.h)
  int64_t boundary_buffers = 0;       // stage 0: the flattened all-reduce bucket at the accumulation boundary
  int64_t optimizer_temporaries = 0;  // fp32 gradients materialised by step()
  // The allocations optimizer_temporaries is made of, in order, when step() makes one per parameter (torch's
  // foreach Adam: a list of per-tensor outputs); empty: one tensor.
  std::vector<int64_t> optimizer_temporary_tensors;
  // ZeRO-1/2 up to DeepSpeed 0.12.3: the flat temporary of the parameter all-gather's largest shard, after
  // step() (zero12_param_allgather.h).
  int64_t param_allgather_buffer = 0;
  // A bitsandbytes paged optimizer's states in CUDA unified memory: on the GPU, outside PyTorch's allocator.
  int64_t paged_optimizer_states = 0;
};

ModelStates model_states(const RunConfig& config, const StepProgram& program);
// Elements of a module's parameters this rank holds: all of them, or with ZeRO-3 its partition of the
// partitioned tensors plus the persistent ones.
int64_t resident_param_numel(const ParamModule& module, const RunConfig& config);
// Their bytes: module_param_bytes of them, or for a packed 4-bit weight under ZeRO-3 its storage partition
// (2 B per element) plus the quant state every rank keeps whole.
int64_t resident_param_bytes(const ParamModule& module, const RunConfig& config,
                             const FrameworkBehaviour& behaviour);

struct MemoryResult {
  int64_t peak_bytes = 0;            // reserved + runtime (+ paged states): what nvidia-smi sees
  int64_t peak_allocated_bytes = 0;  // torch.cuda.max_memory_allocated
  int64_t peak_reserved_bytes = 0;   // torch.cuda.max_memory_reserved
  int64_t capacity_bytes = 0;
  bool gpu_fits = false;
  bool fits = false;          // the GPU's peak fits and, with CPU offload, so does the node's host RAM
  HostMemory host;            // CPU offload's host RAM (zero without offload)
  MemoryBreakdown breakdown;  // at the peak; sums to peak_bytes
  std::string peak_at;        // the op during which the peak occurs
  ModelStates states;
  // The caching-allocator replay (0 with a fixed memory.fragmentation): times it freed its cache to fit
  // a segment (num_alloc_retries) and requests that failed even then (CUDA out of memory).
  int64_t allocator_retries = 0, allocator_ooms = 0;
  // What each stream's cached segments held at the reserved peak (the replay only; they sum to
  // peak_reserved_bytes): the compute stream's, and ZeRO-3's all-gather stream's gathered parameters.
  std::optional<int64_t> reserved_compute_stream_bytes, reserved_all_gather_stream_bytes;
  // Of the paged optimizer states (in the breakdown's optimizer_states), what the driver keeps on the host
  // because the GPU is full at the peak: the step migrates it in for the update and out again.
  int64_t paged_evicted_bytes = 0;
  int64_t unmatched_release_bytes = 0;  // releases_bytes that matched no saved tensor (0: program consistent)
};

// Model states, then the step's allocations and frees (several steps, for the caching allocator's steady
// state; each length of train.seq_len_distribution): peak_allocated is the largest live set, peak_reserved
// the caching allocator's (docs/memory-model.md §1, §5).
MemoryResult predict_memory(const RunConfig& config, const StepProgram& program);
MemoryResult predict_memory(const RunConfig& config);

// Runtime outside PyTorch's allocator: CUDA context + cuBLAS workspace, NCCL buffers when N > 1.
int64_t runtime_overhead_bytes(const RunConfig& config);
int64_t default_nccl_buffer_bytes(int64_t ranks);
// memory.allocator as the replay's options; the capacity is the GPU's memory less the runtime overhead.
AllocatorOptions allocator_options(const RunConfig& config);

}  // namespace zerosim
