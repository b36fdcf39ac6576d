#include "workloads/memory_model.h"

#include <algorithm>
#include <cmath>

#include "workloads/framework_behaviour.h"
#include "workloads/units.h"
#include "workloads/zero3_schedule.h"

namespace zerosim {

const char* mem_component_name(MemComponent c) {
  static const char* names[] = {"frozen_params",    "trainable_params", "gradients",
                                "optimizer_states", "activations",      "temporaries",
                                "buffers",          "runtime_overhead", "fragmentation"};
  return names[static_cast<size_t>(c)];
}

int64_t MemoryBreakdown::total() const {
  int64_t t = 0;
  for (int64_t b : bytes) t += b;
  return t;
}

int64_t default_nccl_buffer_bytes(int64_t ranks) {
  // NCCL allocates per-channel, per-peer staging buffers (NCCL_BUFFSIZE = 4 MiB for the Simple protocol,
  // plus LL/LL128) for ring and tree: a few hundred MiB per GPU (docs/memory-model.md).
  return ranks > 1 ? 512 * kMiB : 0;
}

int64_t runtime_overhead_bytes(const RunConfig& c) {
  const int64_t context = c.memory.cuda_context_bytes.value_or(c.gpu.cuda_context_bytes);
  const int64_t nccl = c.memory.nccl_buffer_bytes.value_or(default_nccl_buffer_bytes(c.cluster.gpus));
  return context + nccl;
}

namespace {

// Without DeepSpeed (train.engine: pytorch): torch.optim.AdamW updates each trainable parameter in its own
// dtype — exp_avg and exp_avg_sq are zeros_like(param) — with .grad in that dtype too, allocated as backward
// reaches the parameter; no master copy, no flat buffers. foreach AdamW materialises sqrt(v) for every
// parameter at once (_foreach_sqrt). DDP's gradient buckets (N > 1) are not modelled.
ModelStates pytorch_model_states(const RunConfig& c, const StepProgram& program,
                                 const FrameworkBehaviour& fw) {
  ModelStates s;
  int64_t trainable_bytes = 0;
  for (const auto& m : program.modules) {
    const int64_t bytes = param_element_bytes(m, fw) * m.numel;
    (m.trainable ? s.trainable_params : s.frozen_params) += bytes;
    if (m.trainable) trainable_bytes += bytes;
  }
  s.gradients_in_backward = trainable_bytes;
  if (c.train.grad_accum > 1) {
    s.gradients = s.gradients_in_backward;
    s.gradients_in_backward = 0;
  }
  s.optimizer_states = 2 * trainable_bytes;
  if (c.train.optimizer == OptimizerImpl::foreach) s.optimizer_temporaries = trainable_bytes;
  return s;
}

}  // namespace

ModelStates model_states(const RunConfig& c, const StepProgram& program) {
  const FrameworkBehaviour fw = framework_behaviour(c);
  if (c.train.engine == TrainingEngine::pytorch) return pytorch_model_states(c, program, fw);
  const ZeroSpec& z = c.zero;
  const int64_t N = c.cluster.gpus;
  const bool mixed = has_fp32_master(c.train.precision);
  ModelStates s;
  int64_t trainable = 0, trainable_partition = 0;
  for (const auto& m : program.modules) {
    int64_t resident = m.numel;  // elements held on this GPU
    if (z.stage == 3) {
      // Partitioned tensors keep 1/N (padded); persistent ones stay whole.
      const int64_t gathered = zero3_gathered_numel(m, z.stage3_param_persistence_threshold);
      resident = (m.numel - gathered) + (z.offload_param == "cpu" ? 0 : zero3_partition_numel(gathered, N));
    }
    // bf16 (or fp16), or fp32 for adapters DeepSpeed leaves as peft made them (framework_behaviour.h).
    (m.trainable ? s.trainable_params : s.frozen_params) += param_element_bytes(m, fw) * resident;
    if (m.trainable) {
      trainable += m.numel;
      trainable_partition += zero3_partition_numel(m.numel, N);
    }
  }
  // Stages 1-2 flatten all trainable params into one group split into N partitions.
  const int64_t flat_partition = z.stage == 3 ? trainable_partition : zero3_partition_numel(trainable, N);
  const int64_t optimizer_numel = z.stage == 0 ? trainable : flat_partition;

  // bf16 gradients (docs/reference/dora-zero.md §5). Offloaded, the reduced partition goes to host memory:
  // no gradient partition stays on the GPU (docs/reference/deepspeed-offload.md §1, §3).
  const bool offloaded = z.offload_optimizer == "cpu";
  const int64_t partition_grads = offloaded ? 0 : 2 * flat_partition;
  switch (z.stage) {
    case 0:
      s.gradients_in_backward = 2 * trainable;
      break;
    case 1:
      s.gradients_in_backward = 2 * trainable, s.gradients = partition_grads;
      break;
    default:
      s.gradients = partition_grads;
      break;
  }
  if (c.train.grad_accum > 1) {  // gradients stay allocated across micro-steps
    s.gradients += s.gradients_in_backward;
    s.gradients_in_backward = 0;
  }

  // Adam: fp32 master + m + v (12 B) in mixed precision; bf16 m and v (4 B) in pure bf16.
  if (z.offload_optimizer != "cpu") s.optimizer_states = (mixed ? 12 : 4) * optimizer_numel;
  // ZeRO-3 whose trainable partitions are already fp32 on the GPU (peft's fp32 adapters, §8.2) uses them as
  // the master weights instead of a copy (stage3.py _create_fp32_partitions, 0.18.2+): only m and v remain.
  if (z.stage == 3 && mixed && fw.adapters_fp32() && z.offload_optimizer != "cpu")
    s.optimizer_states -= 4 * optimizer_numel;
  if (mixed && z.offload_optimizer != "cpu")
    s.optimizer_temporaries = 4 * optimizer_numel;  // fp32 grads in step()
  // PyTorch's foreach Adam materialises sqrt(v) for every parameter at once (_foreach_sqrt).
  if (c.train.optimizer == OptimizerImpl::foreach && z.offload_optimizer != "cpu")
    s.optimizer_temporaries += (mixed ? 4 : 2) * optimizer_numel;

  const int64_t bucket = 2 * z.reduce_bucket_size;  // bf16 elements
  if (z.stage == 3 && z.contiguous_gradients) s.persistent_buffers = bucket;
  if ((z.stage == 1 || z.stage == 2) && z.contiguous_gradients)
    s.backward_buffers = bucket * (z.overlap() ? 2 : 1);
  if (offloaded && z.stage < 3) {
    // temp_grad_buffer_for_gpu_offload: bf16, the size of the largest parameter.
    int64_t largest = 0;
    for (const auto& m : program.modules) largest = std::max(largest, m.trainable ? m.numel : 0);
    s.persistent_buffers += 2 * largest;
    // 0.14.1-0.16.x copied the fp32 partition to the GPU and cast it there (#5301).
    const Version v = c.versions.deepspeed;
    if (v >= Version{0, 14, 1} && v < Version{0, 17, 0}) s.optimizer_temporaries = 4 * optimizer_numel;
  }
  // Stage 0 all-reduces through a flattened copy of at most 5e8 elements (MEMORY_OPT_ALLREDUCE_SIZE).
  if (z.stage == 0) s.boundary_buffers = 2 * std::min<int64_t>(trainable, 500'000'000);
  return s;
}

namespace {

// A backward op that writes a trainable parameter's .grad (the first one fires DeepSpeed's gradient
// hooks): it reads a trainable module and is not a base linear's input gradient.
bool produces_trainable_gradient(const ComputeOp& op, const StepProgram& program) {
  if (op.phase != Phase::backward || op.op == "linear_dx") return false;
  return std::any_of(op.modules.begin(), op.modules.end(),
                     [&](int m) { return m >= 0 && program.modules[static_cast<size_t>(m)].trainable; });
}

// The live set as the step runs; remembers the largest one and where it happened.
class Walk {
 public:
  void add(MemComponent c, int64_t bytes) { live_[c] += bytes; }
  void sub(MemComponent c, int64_t bytes) { live_[c] -= bytes; }
  void mark(const std::string& where) {
    const int64_t t = live_.total();
    if (t > peak_.total()) {
      peak_ = live_;
      where_ = where;
    }
  }
  const MemoryBreakdown& peak() const { return peak_; }
  const std::string& where() const { return where_; }

 private:
  MemoryBreakdown live_, peak_;
  std::string where_ = "start";
};

}  // namespace

MemoryResult predict_memory(const RunConfig& c, const StepProgram& program) {
  MemoryResult r;
  r.states = model_states(c, program);
  const ModelStates& s = r.states;
  const FrameworkBehaviour fw = framework_behaviour(c);
  // ZeRO-3 at world size 1 without parameter offload gathers nothing: the parameters alias their partitions.
  const bool z3 = c.zero.stage == 3 && fw.zero3_gathers;
  const Zero3Schedule plan = z3 ? plan_zero3(program, c.zero) : Zero3Schedule{};

  Walk w;
  w.add(MemComponent::frozen_params, s.frozen_params);
  w.add(MemComponent::trainable_params, s.trainable_params);
  w.add(MemComponent::gradients, s.gradients);
  w.add(MemComponent::optimizer_states, s.optimizer_states);
  w.add(MemComponent::buffers, s.persistent_buffers);
  w.mark("start");

  // Gradients allocated progressively: per module, at its first backward op.
  std::vector<bool> grad_allocated(program.modules.size(), false);
  const bool progressive = s.gradients_in_backward > 0;

  // ZeRO-1/2's IPG bucket(s): from the start of backward, or (0.17.2+) from the first trainable gradient.
  bool buckets_allocated = false;
  auto allocate_buckets = [&] {
    if (buckets_allocated) return;
    buckets_allocated = true;
    w.add(MemComponent::buffers, s.backward_buffers);
  };

  size_t index = 0;
  auto run = [&](const ComputeOp& op) {
    if (fw.ipg_bucket_at_first_gradient && produces_trainable_gradient(op, program)) allocate_buckets();
    if (z3)
      for (int m : plan.fetch_before[index])
        w.add(MemComponent::temporaries, 2 * plan.gathered_numel[static_cast<size_t>(m)]);
    if (progressive && produces_trainable_gradient(op, program))
      for (int m : op.modules) {
        const auto mi = static_cast<size_t>(m);
        if (m >= 0 && program.modules[mi].trainable && !grad_allocated[mi]) {
          grad_allocated[mi] = true;
          w.add(MemComponent::gradients, 2 * program.modules[mi].numel);
        }
      }
    w.add(MemComponent::activations, op.saved_bytes);
    w.add(MemComponent::temporaries, op.transient_bytes);
    if (z3)
      for (int m : plan.prefetch_after[index])
        w.add(MemComponent::temporaries, 2 * plan.gathered_numel[static_cast<size_t>(m)]);
    w.mark(op.name);
    w.sub(MemComponent::temporaries, op.transient_bytes);
    w.sub(MemComponent::activations, op.releases_bytes);
    if (z3)
      for (int m : plan.release_after[index])
        w.sub(MemComponent::temporaries, 2 * plan.gathered_numel[static_cast<size_t>(m)]);
    ++index;
  };
  for (const auto& op : program.forward) run(op);
  if (!fw.ipg_bucket_at_first_gradient) allocate_buckets();
  for (const auto& op : program.backward) run(op);
  if (buckets_allocated) w.sub(MemComponent::buffers, s.backward_buffers);
  // Accumulation boundary: all-reduce bucket (stage 0), then the optimizer's fp32 gradients.
  w.add(MemComponent::buffers, s.boundary_buffers);
  w.mark("gradient all-reduce");
  w.sub(MemComponent::buffers, s.boundary_buffers);
  w.add(MemComponent::temporaries, s.optimizer_temporaries);
  w.mark("optimizer step");

  r.breakdown = w.peak();
  r.peak_at = w.where();
  r.peak_allocated_bytes = r.breakdown.total();
  // The caching allocator reserves more than it hands out; the excess grows with the churn of
  // activations, temporaries and buffers (docs/memory-model.md gives the evidence for the factor).
  const int64_t dynamic = r.breakdown[MemComponent::activations] + r.breakdown[MemComponent::temporaries] +
                          r.breakdown[MemComponent::buffers];
  r.breakdown[MemComponent::fragmentation] =
      static_cast<int64_t>(std::llround(c.memory.fragmentation * static_cast<double>(dynamic)));
  r.peak_reserved_bytes = r.peak_allocated_bytes + r.breakdown[MemComponent::fragmentation];
  r.breakdown[MemComponent::runtime_overhead] = runtime_overhead_bytes(c);
  r.peak_bytes = r.breakdown.total();
  r.capacity_bytes = c.gpu.memory_bytes;
  r.host = predict_host_memory(c, program);
  r.gpu_fits = r.peak_bytes <= r.capacity_bytes;
  r.fits = r.gpu_fits && r.host.fits();
  return r;
}

MemoryResult predict_memory(const RunConfig& config) {
  return predict_memory(config, build_step_program(config));
}

}  // namespace zerosim
