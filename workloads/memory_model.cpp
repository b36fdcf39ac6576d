#include "workloads/memory_model.h"

#include <algorithm>
#include <cmath>

#include "workloads/bnb_optimizer.h"
#include "workloads/caching_allocator.h"
#include "workloads/framework_behaviour.h"
#include "workloads/units.h"
#include "workloads/zero12_param_allgather.h"
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

int64_t resident_param_numel(const ParamModule& m, const RunConfig& c) {
  if (c.zero.stage != 3) return m.numel;
  // Partitioned tensors keep 1/N (padded); persistent ones stay whole. A packed 4-bit weight counts its
  // 16-bit storage elements.
  const int64_t gathered = zero3_gathered_numel(m, c.zero.stage3_param_persistence_threshold);
  // Each copy (an expert's linear) is partitioned on its own.
  return (m.zero3_numel() - gathered) +
         (c.zero.offload_param == "cpu"
              ? 0
              : m.copies * zero3_partition_numel(gathered / m.copies, c.cluster.gpus));
}

int64_t resident_param_bytes(const ParamModule& m, const RunConfig& c, const FrameworkBehaviour& fw) {
  if (m.packed_weight == 0) return module_param_bytes(m, resident_param_numel(m, c), c, fw);
  // ZeRO-3 with a 16-bit quant storage: 2 B per resident storage element (the packed weight's partition and
  // the bias), and every copy's quant state whole on every rank.
  return 2 * resident_param_numel(m, c) + m.copies * quant_state_bytes(m, c);
}

namespace {

// Without DeepSpeed (train.engine: pytorch): torch.optim.AdamW updates each trainable parameter in its own
// dtype — exp_avg and exp_avg_sq are zeros_like(param) — with .grad in that dtype too, allocated as backward
// reaches the parameter; no master copy, no flat buffers. foreach AdamW materialises sqrt(v) for every
// parameter at once (_foreach_sqrt), and up to PyTorch 2.0.x the denominator beside it (FrameworkBehaviour::
// foreach_adam_intermediates). DDP's gradient buckets (N > 1) are not modelled.
ModelStates pytorch_model_states(const RunConfig& c, const StepProgram& program,
                                 const FrameworkBehaviour& fw) {
  ModelStates s;
  int64_t trainable_bytes = 0;
  for (const auto& m : program.modules) {
    const int64_t bytes = module_param_bytes(m, m.numel, c, fw);
    (m.trainable ? s.trainable_params : s.frozen_params) += bytes;
    if (m.trainable) trainable_bytes += bytes;
  }
  s.gradients_in_backward = trainable_bytes;
  if (c.train.grad_accum > 1) {
    s.gradients = s.gradients_in_backward;
    s.gradients_in_backward = 0;
  }
  if (bitsandbytes_optimizer(c.train.optimizer)) {
    // bitsandbytes' AdamW: its own state dtypes, paged states outside the allocator, and no temporaries
    // (one in-place kernel per parameter: bnb_optimizer.h).
    std::vector<int64_t> tensors;
    for (const auto& m : program.modules)
      if (m.trainable)
        for (const int64_t n : m.tensor_numels()) tensors.push_back(n);
    const BnbOptimizerStateBytes bnb =
        bnb_optimizer_state_bytes(tensors, c.train.optimizer, c.versions.bitsandbytes);
    s.optimizer_states = bnb.device;
    s.paged_optimizer_states = bnb.paged;
    return s;
  }
  s.optimizer_states = 2 * trainable_bytes;
  if (c.train.optimizer == OptimizerImpl::foreach) {
    // Each _foreach_* that is not in place returns one tensor per parameter, each its own allocation.
    for (int64_t k = 0; k < fw.foreach_adam_intermediates; ++k)
      for (const auto& m : program.modules)
        if (m.trainable)
          for (const int64_t n : m.tensor_numels())
            s.optimizer_temporary_tensors.push_back(module_param_bytes(m, n, c, fw));
    for (const int64_t b : s.optimizer_temporary_tensors) s.optimizer_temporaries += b;
  }
  return s;
}

}  // namespace

ModelStates model_states(const RunConfig& c, const StepProgram& program) {
  const FrameworkBehaviour fw = framework_behaviour(c);
  if (c.train.engine == TrainingEngine::pytorch) return pytorch_model_states(c, program, fw);
  const ZeroSpec& z = c.zero;
  const int64_t N = c.cluster.gpus;
  const bool mixed = has_fp32_master(c.train.precision);
  // fp32 training (§8.7): parameters, gradients, buckets and gathers in fp32; ZeRO 1-3 still clone the
  // partition they update (stage_1_and_2.py single_partition_of_fp32_groups: .detach().clone().to(fp32);
  // stage3.py fp32_partitioned_groups_flat), so they keep master + m + v as mixed precision does; stage 0
  // runs the basic optimizer on the parameters themselves (engine.py _configure_optimizer: neither fp16
  // nor bf16 → self.optimizer = basic_optimizer): m + v only.
  const bool fp32 = c.train.precision == Precision::fp32;
  const bool master = mixed || (fp32 && z.stage >= 1);
  const int64_t pb = fw.base_bytes();  // bytes per element of a parameter and its gradient: 2, or 4 in fp32
  ModelStates s;
  int64_t trainable = 0;
  for (const auto& m : program.modules) {
    // bf16 (or fp16), or fp32 for adapters DeepSpeed leaves as peft made them (framework_behaviour.h).
    (m.trainable ? s.trainable_params : s.frozen_params) += resident_param_bytes(m, c, fw);
    if (m.trainable) trainable += m.numel;
  }
  // What the rank's optimizer updates: every trainable parameter at stage 0, its partition in stages 1-3.
  const int64_t optimizer_numel = optimizer_partition_numel(program.modules, z.stage, N);

  // bf16 gradients (docs/reference/dora-zero.md §5). Offloaded, the reduced partition goes to host memory:
  // no gradient partition stays on the GPU (docs/reference/deepspeed-offload.md §1, §3).
  const bool offloaded = z.offload_optimizer == "cpu";
  const int64_t partition_grads = offloaded ? 0 : pb * optimizer_numel;  // stages 1-3
  switch (z.stage) {
    case 0:
      s.gradients_in_backward = pb * trainable;
      break;
    case 1:
      s.gradients_in_backward = pb * trainable, s.gradients = partition_grads;
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
  if (!offloaded) s.optimizer_states = (master ? 12 : fp32 ? 8 : 4) * optimizer_numel;
  if (bitsandbytes_optimizer(c.train.optimizer) && !offloaded) {
    // A bitsandbytes client optimizer (HF Trainer's optim without a ds_config optimizer block): the engine
    // hands it its fp32 master partitions as parameters (stage_1_and_2.py: param_group['params'] =
    // [single_partition_of_fp32_groups[i]]; stage3.py: each sub-group's fp32 flat partition), so its
    // states are those of one big fp32 tensor each: 8-bit blockwise (or fp32), paged when asked.
    const BnbOptimizerStateBytes bnb =
        bnb_optimizer_state_bytes(optimizer_flat_partitions(program.modules, z.stage, N, z.sub_group_size),
                                  c.train.optimizer, c.versions.bitsandbytes);
    s.optimizer_states = 4 * optimizer_numel + bnb.device;
    s.paged_optimizer_states = bnb.paged;
  }
  // ZeRO-3 whose trainable partitions are already fp32 on the GPU (peft's fp32 adapters, §8.2) uses them as
  // the master weights instead of a copy (stage3.py _create_fp32_partitions, 0.18.2+): only m and v remain.
  // So does every ZeRO-3 partition in fp32 training (the same branch).
  const bool partition_is_master =
      z.stage == 3 && !offloaded &&
      ((mixed && fw.adapters_fp32()) || (fp32 && c.versions.deepspeed >= Version{0, 18, 2}));
  if (partition_is_master) s.optimizer_states -= 4 * optimizer_numel;
  s.optimizer_state_buffers = master && !partition_is_master ? 3 : 2;
  // The elements step() handles at once: all of them, except that ZeRO-3 steps one sub-group at a time.
  const int64_t step_numel =
      z.stage == 3
          ? std::min(optimizer_numel, largest_optimizer_sub_group(program.modules, N, z.sub_group_size))
          : optimizer_numel;
  // fp32 grads in step(); ZeRO-3 builds each sub-group's by flattening its 16-bit gradients and casting the
  // flat copy (stage3.py _prepare_fp32_grad_for_sub_group: flatten(...).to(fp32)), both live at once: 2 + 4 B
  // (fp32 adapters' gradients are fp32 already: the cast returns the flat copy itself).
  // In fp32 the cast returns the flat copy itself, as for fp32 adapters.
  const bool flat_copy_cast = z.stage == 3 && !fw.adapters_fp32() && !fp32;
  if (master && !offloaded) s.optimizer_temporaries = (flat_copy_cast ? 6 : 4) * step_numel;
  // PyTorch's foreach Adam materialises sqrt(v) for every parameter at once (_foreach_sqrt), and up to 2.0.x
  // the denominator beside it.
  if (c.train.optimizer == OptimizerImpl::foreach && !offloaded)
    s.optimizer_temporaries += fw.foreach_adam_intermediates * (master || fp32 ? 4 : 2) * step_numel;

  const int64_t bucket = pb * z.reduce_bucket_size;  // elements of the gradients' dtype
  if (z.stage == 3 && z.contiguous_gradients) s.persistent_buffers = bucket;
  if ((z.stage == 1 || z.stage == 2) && z.contiguous_gradients)
    s.backward_buffers = bucket * (z.overlap() ? 2 : 1);
  if (offloaded && z.stage < 3) {
    // temp_grad_buffer_for_gpu_offload: bf16, the size of the largest parameter.
    int64_t largest = 0;
    for (const auto& m : program.modules) largest = std::max(largest, m.trainable ? m.numel_per_copy() : 0);
    s.persistent_buffers += 2 * largest;
    // 0.14.1-0.16.x copied the fp32 partition to the GPU and cast it there (#5301).
    const Version v = c.versions.deepspeed;
    if (v >= Version{0, 14, 1} && v < Version{0, 17, 0}) s.optimizer_temporaries = 4 * optimizer_numel;
  }
  // Stage 0 all-reduces through a flattened copy of at most 5e8 elements (MEMORY_OPT_ALLREDUCE_SIZE).
  if (z.stage == 0) s.boundary_buffers = pb * std::min<int64_t>(trainable, 500'000'000);
  if ((z.stage == 1 || z.stage == 2) && c.train.engine == TrainingEngine::deepspeed)
    s.param_allgather_buffer =
        pb * zero12_param_allgather(c, optimizer_partition_numel(program.modules, z.stage, c.cluster.gpus))
                 .largest_flat_elements(c.cluster.gpus);
  return s;
}

AllocatorOptions allocator_options(const RunConfig& c) {
  AllocatorOptions o;
  o.expandable_segments = c.memory.allocator.expandable_segments;
  if (c.memory.allocator.max_split_size_mb)
    o.max_split_size_bytes = *c.memory.allocator.max_split_size_mb * kMiB;
  o.roundup_power2_divisions = c.memory.allocator.roundup_power2_divisions;
  // cudaMalloc fails once the context, NCCL's buffers and the allocator's segments fill the GPU.
  o.capacity_bytes = std::max<int64_t>(0, c.gpu.memory_bytes - runtime_overhead_bytes(c));
  return o;
}

namespace {

// Steady state: step 1 allocates into an empty cache, steps 2 and 3 into what it left.
constexpr int kReplaySteps = 3;

// The CUDA streams the replay tells apart: the compute stream (activations, gradients, buckets) and
// DeepSpeed ZeRO-3's all-gather stream (the gathered parameters).
constexpr int kComputeStream = 0;
constexpr int kAllGatherStream = 1;

struct Tensor {
  MemComponent component = MemComponent::activations;
  int64_t bytes = 0;
  CachingAllocator::Id id = -1;
};

// The step's tensors, allocated and freed in execution order, seen two ways: the live set by component
// (its largest value is peak_allocated and the breakdown) and, unless a fixed fragmentation replaces it,
// PyTorch's caching allocator (peak_reserved).
class Replay {
 public:
  explicit Replay(std::optional<AllocatorOptions> options) {
    if (options) allocator_.emplace(*options);
  }
  // `stream`: the CUDA stream current when the tensor is made, whose cached blocks serve it.
  Tensor alloc(MemComponent c, int64_t bytes, int stream = kComputeStream) {
    live_[c] += bytes;
    return {c, bytes, allocator_ ? allocator_->malloc(bytes, stream) : -1};
  }
  void free(const Tensor& t) {
    live_[t.component] -= t.bytes;
    if (allocator_) allocator_->free(t.id);
  }
  void mark(const std::string& where) {
    if (live_.total() > peak_.total()) {
      peak_ = live_;
      where_ = where;
    }
  }
  const MemoryBreakdown& peak() const { return peak_; }
  const std::string& where() const { return where_; }
  const CachingAllocator* allocator() const { return allocator_ ? &*allocator_ : nullptr; }
  void empty_cache() {
    if (allocator_) allocator_->empty_cache();
  }

 private:
  std::optional<CachingAllocator> allocator_;
  MemoryBreakdown live_, peak_;
  std::string where_ = "start";
};

// `total` bytes as `parts` equal tensors (the last takes the remainder), or none.
void alloc_parts(Replay& r, std::vector<Tensor>& into, MemComponent c, int64_t total, int64_t parts) {
  if (total <= 0) return;
  parts = std::max<int64_t>(1, parts);
  for (int64_t i = 0; i < parts; ++i)
    into.push_back(r.alloc(c, i + 1 < parts ? total / parts : total - (parts - 1) * (total / parts)));
}

// The model states as the tensors that hold them from start-up to the end, allocated before any step:
// each frozen module's weight and bias (or its ZeRO-3 partition), the trainable parameters, resident
// gradients and buffers as DeepSpeed's flat buffers, the optimizer's master copy and Adam's m and v.
// `loaded`: per module, what model loading put on the GPU before DeepSpeed partitioned it (empty lists when
// it put nothing); each frozen module's is freed once its partition exists, the adapters' after theirs.
std::vector<Tensor> allocate_states(Replay& r, const RunConfig& c, const StepProgram& program,
                                    const ModelStates& s, std::vector<std::vector<Tensor>>& loaded) {
  std::vector<Tensor> states;
  const FrameworkBehaviour fw = framework_behaviour(c);
  const auto unload = [&](size_t i) {
    if (i < loaded.size()) {
      for (const Tensor& t : loaded[i]) r.free(t);
      loaded[i].clear();
    }
  };
  int64_t frozen = 0;
  for (size_t i = 0; i < program.modules.size(); ++i) {
    const ParamModule& m = program.modules[i];
    if (m.trainable) continue;
    const int64_t resident = resident_param_bytes(m, c, fw);
    if (m.packed_weight > 0) {
      // Its quant state has been on the GPU since loading (load_before_partitioning); the packed weight's and
      // the bias's partitions are one tensor per copy, copied up from the CPU.
      alloc_parts(r, states, MemComponent::frozen_params, 2 * resident_param_numel(m, c), m.copies);
      frozen += resident;
      unload(i);
      continue;
    }
    if (m.copies > 1) {  // an expert linear: one tensor per expert
      alloc_parts(r, states, MemComponent::frozen_params, resident, m.copies);
      frozen += resident;
      unload(i);
      continue;
    }
    const int64_t weight =
        c.zero.stage == 3 ? resident : std::min(resident, module_param_bytes(m, m.largest_tensor, c, fw));
    alloc_parts(r, states, MemComponent::frozen_params, weight, 1);
    alloc_parts(r, states, MemComponent::frozen_params, resident - weight, 1);
    frozen += resident;
    unload(i);
  }
  alloc_parts(r, states, MemComponent::frozen_params, s.frozen_params - frozen,
              1);  // none unless rules diverge
  // ZeRO-3's optimizer moves the trainable partitions into one flat buffer through the host, emptying the
  // cache in between (stage3.py _create_fp16_partitions_with_defragmentation → defragment: gc.collect(),
  // empty_cache(); every release 0.10.0-0.19.5, without offload_param): what loading left cached goes.
  for (size_t i = 0; i < loaded.size(); ++i) unload(i);
  if (c.zero.stage == 3 && c.zero.offload_param != "cpu") r.empty_cache();
  alloc_parts(r, states, MemComponent::trainable_params, s.trainable_params, 1);
  alloc_parts(r, states, MemComponent::gradients, s.gradients, 1);
  alloc_parts(r, states, MemComponent::optimizer_states, s.optimizer_states, s.optimizer_state_buffers);
  alloc_parts(r, states, MemComponent::buffers, s.persistent_buffers, 1);
  return states;
}

// QLoRA under ZeRO-3: transformers builds the model outside zero.Init (built_in_zero_init) on the GPU its
// bitsandbytes quantizer picks (quantizer_bnb_4bit.py update_device_map: {"": torch.cuda.current_device()}
// when none is given; ZeRO-3 forbids giving one). Each 4-bit weight is quantized there and its packed data
// moved to the CPU (modeling_utils.py _load_state_dict_into_meta_model: "For quantized modules with
// FSDP/DeepSpeed Stage 3 ... cast it to CPU", v4.39.0+), its quant state staying on the GPU; every other
// parameter (embeddings, norms, an unquantized lm_head) and peft's adapters arrive whole.
// deepspeed.initialize then partitions them parameter by parameter (parameter_offload.py
// _convert_to_zero_parameters: each partition allocated, then the full data freed). Per module, its full
// tensors on the GPU as loaded; none without QLoRA under ZeRO-3.
std::vector<std::vector<Tensor>> load_before_partitioning(Replay& r, const RunConfig& c,
                                                          const StepProgram& program) {
  std::vector<std::vector<Tensor>> loaded;
  if (c.zero.stage != 3 || !c.quantization.on()) return loaded;
  const FrameworkBehaviour fw = framework_behaviour(c);
  loaded.resize(program.modules.size());
  std::vector<Tensor> kept;  // the quant states: made with the packed weights, never partitioned or freed
  for (size_t i = 0; i < program.modules.size(); ++i) {
    const ParamModule& m = program.modules[i];
    const MemComponent part = m.trainable ? MemComponent::trainable_params : MemComponent::frozen_params;
    if (m.packed_weight > 0) {
      // The quant state per weight (bitsandbytes quantize_4bit's absmax) stays; the packed data went to the
      // CPU; a bias would be loaded whole.
      const int64_t rest = 2 * (m.zero3_numel() - m.copies * m.packed_weight);
      for (int64_t k = 0; k < m.copies; ++k) alloc_parts(r, kept, part, quant_state_bytes(m, c), 1);
      alloc_parts(r, loaded[i], part, rest, 1);
      continue;
    }
    const int64_t bytes = module_param_bytes(m, m.numel, c, fw);
    const int64_t weight =
        m.copies > 1 ? bytes : std::min(bytes, module_param_bytes(m, m.largest_tensor, c, fw));
    alloc_parts(r, loaded[i], part, weight, m.copies);
    alloc_parts(r, loaded[i], part, bytes - weight, 1);
  }
  r.mark("model loading (before ZeRO-3 partitions the parameters)");
  return loaded;
}

// The micro-steps of one rank as tensor allocations and frees, in the order of the former walk: before
// each op the ZeRO-3 gathers it waits for and the gradients backward reaches, then what it saves and its
// transient tensors, then the prefetches it issues; after it the transient tensors, the saved tensors whose
// last use it was (the most recently saved first) and the gathers DeepSpeed releases. Each micro-step runs
// one of `programs` (one per sequence length).
class StepReplay {
 public:
  StepReplay(const RunConfig& c, const ModelStates& s, const std::vector<StepProgram>& programs)
      : c_(c), s_(s), programs_(programs), fw_(framework_behaviour(c)) {
    for (const auto& p : programs_)
      plans_.push_back(c.zero.stage == 3 ? plan_zero3(p, c.zero) : Zero3Schedule{});
  }

  void micro_step(Replay& r, size_t program) {
    const StepProgram& p = programs_[program];
    gathered_.assign(p.modules.size(), {});
    grad_allocated_.assign(p.modules.size(), false);
    size_t index = 0;
    for (const auto& op : p.forward) run_op(r, p, plans_[program], op, index++);
    // ZeRO-1/2 IPG bucket(s), one per buffer (two with overlap_comm), held through backward: allocated when
    // backward starts, or (DeepSpeed 0.17.2+) at the first trainable gradient (framework_behaviour.h).
    buckets_.clear();
    buckets_allocated_ = false;
    if (!fw_.ipg_bucket_at_first_gradient) allocate_buckets(r);
    for (const auto& op : p.backward) {
      if (fw_.ipg_bucket_at_first_gradient && produces_trainable_gradient(op, p)) allocate_buckets(r);
      run_op(r, p, plans_[program], op, index++);
    }
    for (const Tensor& t : buckets_) r.free(t);
    // What backward leaves: DeepSpeed releases every gathered parameter at the end of the step, and the
    // autograd graph frees whatever it still held.
    for (auto& list : gathered_)
      for (const Tensor& t : list) r.free(t);
    for (const Tensor& t : saved_) r.free(t);
    saved_.clear();
  }

  // Accumulation boundary: the stage-0 all-reduce bucket, then the optimizer's fp32 gradients; then
  // zero_grad(set_to_none) and the end of step() free what the step allocated.
  void boundary(Replay& r) {
    std::vector<Tensor> bucket;
    alloc_parts(r, bucket, MemComponent::buffers, s_.boundary_buffers, 1);
    r.mark("gradient all-reduce");
    for (const Tensor& t : bucket) r.free(t);
    std::vector<Tensor> step;
    if (s_.optimizer_temporary_tensors.empty())
      alloc_parts(r, step, MemComponent::temporaries, s_.optimizer_temporaries, 1);
    else
      for (const int64_t bytes : s_.optimizer_temporary_tensors)
        step.push_back(r.alloc(MemComponent::temporaries, bytes));
    r.mark("optimizer step");
    for (const Tensor& t : step) r.free(t);
    std::vector<Tensor> gather;
    alloc_parts(r, gather, MemComponent::buffers, s_.param_allgather_buffer, 1);
    r.mark("parameter all-gather");
    for (const Tensor& t : gather) r.free(t);
    for (const Tensor& t : grads_) r.free(t);
    grads_.clear();
  }

  int64_t unmatched_release_bytes() const { return unmatched_; }

 private:
  const RunConfig& c_;
  const ModelStates& s_;
  const std::vector<StepProgram>& programs_;
  std::vector<Zero3Schedule> plans_;
  const FrameworkBehaviour fw_;
  std::vector<Tensor> buckets_;
  bool buckets_allocated_ = false;
  std::vector<Tensor> saved_;                  // saved for backward, most recent last
  std::vector<std::vector<Tensor>> gathered_;  // per module: ZeRO-3's full copies
  std::vector<Tensor> grads_;                  // .grad allocated as backward reaches each trainable module
  std::vector<bool> grad_allocated_;
  int64_t unmatched_ = 0;

  // A module's .grad as backward allocates it: the parameter's own dtype without DeepSpeed (fp32 adapters,
  // AMP's and fp32 training's fp32 weights); under DeepSpeed's stages 0-1 the engine's dtype (bf16/fp16, or
  // fp32 in fp32 training) — model_states' gradients_in_backward, tensor by tensor.
  int64_t gradient_bytes(const ParamModule& m) const {
    if (c_.train.engine == TrainingEngine::pytorch) return module_param_bytes(m, m.numel, c_, fw_);
    return fw_.base_bytes() * m.numel;
  }

  void allocate_buckets(Replay& r) {
    if (buckets_allocated_) return;
    buckets_allocated_ = true;
    const bool two = (c_.zero.stage == 1 || c_.zero.stage == 2) && c_.zero.overlap();
    alloc_parts(r, buckets_, MemComponent::buffers, s_.backward_buffers, two ? 2 : 1);
  }

  // DeepSpeed allocates each gathered copy inside all_gather_coalesced, under
  // `get_accelerator().stream(self.__allgather_stream)` (partitioned_param_coordinator.py
  // __all_gather_params_): it comes from, and returns to, that stream's cached blocks, never the
  // activations'.
  void gather(Replay& r, const Zero3Schedule& plan, const std::vector<int>& modules) {
    for (int m : modules)
      gathered_[static_cast<size_t>(m)].push_back(
          r.alloc(MemComponent::temporaries, fw_.base_bytes() * plan.gathered_numel[static_cast<size_t>(m)],
                  kAllGatherStream));
  }

  void run_op(Replay& r, const StepProgram& p, const Zero3Schedule& plan, const ComputeOp& op, size_t index) {
    // ZeRO-3 at world size 1 without parameter offload gathers nothing: parameters alias their partitions.
    const bool z3 = c_.zero.stage == 3 && fw_.zero3_gathers;
    if (z3) gather(r, plan, plan.fetch_before[index]);
    if (s_.gradients_in_backward > 0 && produces_trainable_gradient(op, p))
      for (int m : op.modules) {
        const auto mi = static_cast<size_t>(m);
        if (m >= 0 && p.modules[mi].trainable && !grad_allocated_[mi]) {
          grad_allocated_[mi] = true;
          grads_.push_back(r.alloc(MemComponent::gradients, gradient_bytes(p.modules[mi])));
        }
      }
    for (int64_t bytes : saved_allocations(op)) saved_.push_back(r.alloc(MemComponent::activations, bytes));
    std::vector<Tensor> transient;
    for (int64_t bytes : transient_allocations(op))
      transient.push_back(r.alloc(MemComponent::temporaries, bytes));
    if (z3) gather(r, plan, plan.prefetch_after[index]);
    r.mark(op.name);
    for (const Tensor& t : transient) r.free(t);
    release_saved(r, op.releases_bytes);
    release_saved(r, op.releases_oldest_bytes, true);
    if (z3)
      for (int m : plan.release_after[index]) {
        auto& list = gathered_[static_cast<size_t>(m)];
        if (list.empty()) continue;
        r.free(list.back());
        list.pop_back();
      }
  }

  // Frees saved tensors worth `bytes`: backward frees them in the reverse order of the forward that saved
  // them, so an op's releases_bytes are the most recently saved; releases_oldest_bytes the first saved.
  void release_saved(Replay& r, int64_t bytes, bool oldest = false) {
    while (bytes > 0 && !saved_.empty()) {
      const auto it = oldest ? saved_.begin() : saved_.end() - 1;
      bytes -= it->bytes;
      r.free(*it);
      saved_.erase(it);
    }
    unmatched_ += bytes < 0 ? -bytes : bytes;
  }
};

// The micro-batches replayed, as indices into `programs` (built here once per distinct length), with the
// optimizer boundary after every grad_accum of them. Fixed lengths: 3 optimizer steps of min(grad_accum, 2)
// micro-steps (the later micro-steps of an accumulation repeat the second). train.seq_len_distribution:
// one micro-batch per listed length, the list twice (epochs repeat it; the second pass meets the cache
// the first one left).
struct ReplayPlan {
  std::vector<StepProgram> programs;
  std::vector<size_t> micro_batches;
  std::vector<bool> boundary_after;
};

ReplayPlan replay_plan(const RunConfig& c, const StepProgram& program) {
  ReplayPlan plan;
  plan.programs.push_back(program);
  const int64_t ga = c.train.grad_accum;
  if (c.train.seq_len_distribution.empty()) {
    const int64_t micro = std::min<int64_t>(ga, 2);
    for (int step = 0; step < kReplaySteps; ++step)
      for (int64_t k = 0; k < micro; ++k) {
        plan.micro_batches.push_back(0);
        plan.boundary_after.push_back(k + 1 == micro);
      }
    return plan;
  }
  std::vector<int64_t> lengths{c.train.seq_len};
  const std::vector<int64_t>& list = c.train.seq_len_distribution;
  for (size_t n = 0; n < 2 * list.size(); ++n) {
    const int64_t len = list[n % list.size()];
    auto it = std::find(lengths.begin(), lengths.end(), len);
    if (it == lengths.end()) {
      RunConfig at = c;
      at.train.seq_len = len;
      plan.programs.push_back(build_step_program(at));
      lengths.push_back(len);
      it = lengths.end() - 1;
    }
    plan.micro_batches.push_back(static_cast<size_t>(it - lengths.begin()));
    plan.boundary_after.push_back((static_cast<int64_t>(n) + 1) % ga == 0 || n + 1 == 2 * list.size());
  }
  return plan;
}

}  // namespace

MemoryResult predict_memory(const RunConfig& c, const StepProgram& program) {
  MemoryResult r;
  r.states = model_states(c, program);
  const bool fixed = c.memory.fragmentation.has_value();
  Replay replay(fixed ? std::nullopt : std::optional<AllocatorOptions>(allocator_options(c)));
  std::vector<std::vector<Tensor>> loaded = load_before_partitioning(replay, c, program);
  allocate_states(replay, c, program, r.states, loaded);
  replay.mark("start");
  const ReplayPlan plan = replay_plan(c, program);
  StepReplay steps(c, r.states, plan.programs);
  for (size_t k = 0; k < plan.micro_batches.size(); ++k) {
    steps.micro_step(replay, plan.micro_batches[k]);
    if (plan.boundary_after[k]) steps.boundary(replay);
  }

  r.breakdown = replay.peak();
  r.peak_at = replay.where();
  r.peak_allocated_bytes = r.breakdown.total();
  if (fixed) {
    // The former factor, kept for users who measured their own reserved/allocated ratio.
    const int64_t dynamic = r.breakdown[MemComponent::activations] + r.breakdown[MemComponent::temporaries] +
                            r.breakdown[MemComponent::buffers];
    r.breakdown[MemComponent::fragmentation] =
        static_cast<int64_t>(std::llround(*c.memory.fragmentation * static_cast<double>(dynamic)));
  } else {
    // What the allocator holds beyond the largest live set: cached blocks, rounding and split remainders.
    const CachingAllocator& a = *replay.allocator();
    r.breakdown[MemComponent::fragmentation] =
        std::max<int64_t>(0, a.peak_reserved() - r.peak_allocated_bytes);
    r.allocator_retries = a.alloc_retries();
    r.allocator_ooms = a.ooms();
    r.reserved_compute_stream_bytes = a.peak_reserved_on(kComputeStream);
    r.reserved_all_gather_stream_bytes = a.peak_reserved_on(kAllGatherStream);
  }
  r.unmatched_release_bytes = steps.unmatched_release_bytes();
  r.peak_reserved_bytes = r.peak_allocated_bytes + r.breakdown[MemComponent::fragmentation];
  r.breakdown[MemComponent::runtime_overhead] = runtime_overhead_bytes(c);
  // A paged optimizer's unified-memory states sit on the GPU next to the allocator's segments (nvidia-smi
  // counts them, max_memory_allocated does not) until the GPU runs short: then the driver evicts pages to
  // host memory instead of failing (CUDA's oversubscription of managed memory), and the step migrates
  // them back (docs/memory-model.md §10).
  r.breakdown[MemComponent::optimizer_states] += r.states.paged_optimizer_states;
  r.peak_bytes = r.breakdown.total();
  r.capacity_bytes = c.gpu.memory_bytes;
  r.paged_evicted_bytes =
      std::clamp<int64_t>(r.peak_bytes - r.capacity_bytes, 0, r.states.paged_optimizer_states);
  r.host = predict_host_memory(c, program);
  r.gpu_fits = r.peak_bytes - r.paged_evicted_bytes <= r.capacity_bytes;
  r.fits = r.gpu_fits && r.host.fits();
  return r;
}

MemoryResult predict_memory(const RunConfig& config) {
  return predict_memory(config, build_step_program(config));
}

}  // namespace zerosim
