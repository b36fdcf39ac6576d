#include "workloads/step_graph.h"

#include <algorithm>
#include <boost/graph/topological_sort.hpp>
#include <iterator>
#include <optional>
#include <stdexcept>

#include "workloads/bnb_optimizer.h"
#include "workloads/deepspeed_fp16_optimizer.h"
#include "workloads/framework_behaviour.h"
#include "workloads/host_memory.h"
#include "workloads/kernel_launches.h"
#include "workloads/memory_model.h"
#include "workloads/optimizer_launches.h"
#include "workloads/training_loop.h"
#include "workloads/zero12_gradient_passes.h"
#include "workloads/zero12_param_allgather.h"
#include "workloads/zero3_schedule.h"
#include "workloads/zero_offload.h"

namespace zerosim {

const char* collective_name(CollectiveKind k) {
  switch (k) {
    case CollectiveKind::all_reduce:
      return "all_reduce";
    case CollectiveKind::all_gather:
      return "all_gather";
    case CollectiveKind::reduce_scatter:
      return "reduce_scatter";
    case CollectiveKind::broadcast:
      return "broadcast";
  }
  return "?";
}

const std::vector<std::string>& collective_names() {
  static const std::vector<std::string> names = {"all_reduce", "all_gather", "reduce_scatter", "broadcast"};
  return names;
}

std::optional<CollectiveKind> collective_kind(const std::string& name) {
  for (CollectiveKind k : {CollectiveKind::all_reduce, CollectiveKind::all_gather,
                           CollectiveKind::reduce_scatter, CollectiveKind::broadcast})
    if (name == collective_name(k)) return k;
  return std::nullopt;
}

int64_t ring_bytes_per_rank(CollectiveKind k, int64_t bytes, int64_t ranks) {
  if (ranks <= 1) return 0;
  const int64_t share = (bytes + ranks - 1) / ranks;  // one chunk per rank
  switch (k) {
    case CollectiveKind::all_reduce:
      return 2 * (ranks - 1) * share;
    case CollectiveKind::all_gather:
    case CollectiveKind::reduce_scatter:
      return (ranks - 1) * share;
    case CollectiveKind::broadcast:
      return bytes;  // pipelined chain: every rank forwards the whole buffer
  }
  return 0;
}

namespace {

class GraphBuilder {
 public:
  GraphBuilder(const RunConfig& c, const StepProgram& p, int64_t paged_evicted_bytes,
               const std::vector<const StepProgram*>& micro_programs)
      : c_(c), p_(p), paged_evicted_bytes_(paged_evicted_bytes) {
    out_.ranks = c.cluster.gpus;
    // Each distinct program's ops once (a micro-step's op indices are its program's offset + its own).
    const auto micro_steps = static_cast<size_t>(std::max<int64_t>(1, c.train.grad_accum));
    for (size_t k = 0; k < micro_steps; ++k) {
      const StepProgram* prog = k < micro_programs.size() ? micro_programs[k] : &p;
      auto it = std::find(programs_.begin(), programs_.end(), prog);
      if (it == programs_.end()) {
        programs_.push_back(prog);
        offsets_.push_back(out_.ops.size());
        for (const auto& op : prog->forward) out_.ops.push_back(op);
        for (const auto& op : prog->backward) out_.ops.push_back(op);
        if (c.zero.stage == 3) plans_.push_back(plan_zero3(*prog, c.zero));
        it = programs_.end() - 1;
      }
      micro_program_.push_back(static_cast<size_t>(it - programs_.begin()));
    }
    optimizer_op_ = out_.ops.size();
    out_.ops.push_back(optimizer_op());
    if (c.zero.stage == 3) plan_ = &plans_.front();
    offload_ = plan_offload(c, p);
    if (offload_.optimizer) pinned_footprint_ = predict_host_memory(c, p).pinned_per_rank;
  }

  StepGraph build() {
    const int64_t g = c_.train.grad_accum;
    for (int micro = 0; micro < static_cast<int>(g); ++micro)
      micro_step(micro, micro == static_cast<int>(g) - 1);
    // Optimizer step after every gradient collective (and, offloaded, every gradient copy to the host:
    // CPU Adam then runs on the training thread while the GPU waits, and the updated bf16 partition is
    // copied back), then the parameter all-gather of stages 1-3.
    const int last = static_cast<int>(g) - 1;
    // A paged optimizer whose states the driver evicted (memory_model.h paged_evicted_bytes): each update
    // prefetches its states to the GPU (Optimizer8bit.prefetch_state, cudaMemPrefetchAsync), and the next
    // forward's allocations evict them again; both moves are on the step's critical path.
    const int64_t evicted = paged_evicted_bytes_;
    if (evicted > 0)
      add_copy({TransferDirection::to_device, 1, true, true, "paged_optimizer.prefetch"}, evicted, "",
               Phase::optimizer, last, last_compute_);
    const TaskId opt =
        offload_.optimizer ? add_host("optimizer.cpu_adam", last) : add_compute(optimizer_op_, last);
    if (evicted > 0)
      add_copy({TransferDirection::to_host, 1, true, false, "paged_optimizer.evict"}, evicted, "",
               Phase::optimizer, last, opt);
    // fp16 loss scaling reads its overflow flag on the host before the update: the thread waits for the GPU.
    if (!offload_.optimizer) out_.graph[opt].host_sync = optimizer_step_launches(c_, {}, {}).host_sync;
    for (TaskId t : pending_grad_collectives_) edge(t, opt);
    pending_grad_collectives_.clear();
    TaskId updated = opt;
    for (const OffloadCopy& copy : offload_.after_step) {
      const TaskId t = add_copy(copy, offload_.optimizer_numel, "", Phase::optimizer, last);
      edge(updated, t);
      updated = t;
    }
    const int64_t persistent = persistent_numel();
    std::optional<TaskId> step_end;  // the step's last collective, which engine.step() returns after
    if (c_.zero.stage == 1 || c_.zero.stage == 2) {
      step_end = add_param_allgather(updated, last);
    } else if (c_.zero.stage == 3 && persistent > 0) {
      // _post_step re-gathers the persistent parameters; offloaded, their partitions come up first.
      if (offload_.params)
        updated = add_copy(offload_.fetch, zero3_partition_numel(persistent, c_.cluster.gpus),
                           "persistent_params.", Phase::optimizer, last, updated);
      step_end = add_collective(CollectiveKind::all_gather, elem_ * persistent,
                                "persistent_params.all_gather", Phase::optimizer, last);
      edge(updated, *step_end);
    }
    // The loss read after the update (training_loop.h sync_before_update): it waits for the update and its
    // all-gather, or the offloaded update's copies back.
    if (!step_end && updated != opt) step_end = updated;
    if (loop_.loss_sync && !loop_.sync_before_update) {
      const TaskId sync = add_loss_sync(last);
      if (step_end) edge(*step_end, sync);
    }
    // The next step's first model.train(): after the update in the steady state, where the GPU may still
    // be running it (the loop's cycle is simulated from the first forward).
    if (loop_.train_mode_walk_s > 0)
      add_hook("trainer.model_train.next_step", loop_.train_mode_walk_s, Phase::optimizer, last);
    return std::move(out_);
  }

 private:
  const RunConfig& c_;
  const StepProgram& p_;  // the modules (the same at every length) and, by default, every micro-step's ops
  // Bytes per element of what the collectives move (parameters, gradients): bf16/fp16, fp32 in fp32 training.
  const int64_t elem_ = framework_behaviour(c_).base_bytes();
  int64_t paged_evicted_bytes_ = 0;
  StepGraph out_;
  size_t optimizer_op_ = 0;  // its index in out_.ops
  // Variable-length batches: the distinct programs, their first op in out_.ops, their ZeRO-3 schedules, and
  // which program each micro-step runs.
  std::vector<const StepProgram*> programs_;
  std::vector<size_t> offsets_;
  std::vector<Zero3Schedule> plans_;
  std::vector<size_t> micro_program_;
  const Zero3Schedule* plan_ = nullptr;  // the schedule of the micro-step being built
  OffloadPlan offload_;
  int64_t pinned_footprint_ = 0;  // host bytes the rank pins (CPU offload), where NUMA placement matters
  bool have_compute_ = false, have_comm_ = false;
  TaskId last_compute_ = 0, last_comm_ = 0;
  std::vector<TaskId> pending_grad_collectives_;  // not yet waited for by the compute stream
  std::vector<TaskId> sync_before_next_compute_;
  const LoopHostWork loop_ = loop_host_work(c_);  // HF Trainer's per-micro-step host work (training_loop.h)

  void edge(TaskId a, TaskId b) { boost::add_edge(a, b, out_.graph); }

  TaskId add(const Task& t) {
    const Stream s = t.stream;
    const TaskId v = boost::add_vertex(t, out_.graph);
    if (s == Stream::compute) {
      if (have_compute_) edge(last_compute_, v);
      for (TaskId d : sync_before_next_compute_) edge(d, v);
      sync_before_next_compute_.clear();
      last_compute_ = v, have_compute_ = true;
      out_.compute_order.push_back(v);
    } else {
      if (have_comm_) edge(last_comm_, v);
      last_comm_ = v, have_comm_ = true;
      out_.comm_order.push_back(v);
    }
    return v;
  }

  std::string prefix(int micro) const {
    return c_.train.grad_accum > 1 ? "m" + std::to_string(micro) + "." : std::string();
  }

  TaskId add_compute(size_t op_index, int micro) {
    Task t;
    t.kind = TaskKind::compute;
    t.stream = Stream::compute;
    t.op = static_cast<int>(op_index);
    t.phase = out_.ops[op_index].phase;
    t.micro_step = micro;
    t.name = prefix(micro) + out_.ops[op_index].name;
    t.host_sync = out_.ops[op_index].host_sync;
    return add(t);
  }

  // A memory-bound pass over gradients that DeepSpeed's ZeRO-1/2 code issues from Python on the compute
  // stream (zero12_gradient_passes.h), `kernels` launches of it.
  TaskId add_gradient_pass(const std::string& name, double bytes, int kernels, int micro) {
    ComputeOp op = compute_op(name, "zero_grad_pass", OpClass::memory_bound, Phase::backward, 0.0, bytes);
    op.kernels = std::max(1, kernels);
    op.host_s = python_issue_seconds(op.kernels, c_);
    out_.ops.push_back(op);
    return add_compute(out_.ops.size() - 1, micro);
  }

  // ZeRO-1/2's all-gather of the updated partitions after `updated`, in DeepSpeed's shards, each through
  // torch's flat temporary and its copy out where the release takes that path (zero12_param_allgather.h).
  // Returns the last task.
  TaskId add_param_allgather(TaskId updated, int micro) {
    const int64_t world = c_.cluster.gpus;
    const Zero12ParamAllGather g =
        zero12_param_allgather(c_, optimizer_partition_numel(p_.modules, c_.zero.stage, world));
    if (!g.through_flat_copy) {
      const TaskId t = add_collective(CollectiveKind::all_gather, elem_ * trainable_numel(),
                                      "params.all_gather", Phase::optimizer, micro);
      edge(updated, t);
      return t;
    }
    TaskId last = updated;
    for (int64_t s = 0; s < g.shards; ++s) {
      const std::string name = "params.all_gather" + (g.shards > 1 ? ".shard" + std::to_string(s) : "");
      const int64_t flat = elem_ * world * g.elements_of(s);
      const TaskId gather = add_collective(CollectiveKind::all_gather, flat, name, Phase::optimizer, micro);
      edge(last, gather);
      // ProcessGroupNCCL::allgather: outputTensors[j].copy_(outputFlattened[j]) for each rank's slice.
      ComputeOp copy = compute_op(name + ".copy_out", "allgather_copy_out", OpClass::memory_bound,
                                  Phase::optimizer, 0.0, 2.0 * static_cast<double>(flat));
      copy.kernels = static_cast<int>(std::min<int64_t>(world, 1 << 20));
      out_.ops.push_back(copy);
      last = add_compute(out_.ops.size() - 1, micro);
      edge(gather, last);
    }
    return last;
  }

  TaskId add_hook(const std::string& name, double seconds, Phase phase, int micro) {
    Task t;
    t.kind = TaskKind::hook;
    t.stream = Stream::compute;
    t.hook_s = seconds;
    t.phase = phase;
    t.micro_step = micro;
    t.name = prefix(micro) + name;
    return add(t);
  }

  // The loop's read of the micro-step's loss on the host: the training thread waits for the GPU.
  TaskId add_loss_sync(int micro) {
    const TaskId t = add_hook("loop.loss_sync", 0.0, Phase::backward, micro);
    out_.graph[t].host_sync = true;
    return t;
  }

  TaskId add_collective(CollectiveKind k, int64_t bytes, const std::string& name, Phase phase, int micro) {
    Task t;
    t.kind = TaskKind::collective;
    t.stream = Stream::comm;
    t.collective = k;
    t.bytes = bytes;
    t.phase = phase;
    t.micro_step = micro;
    t.name = prefix(micro) + name;
    return add(t);
  }

  // One offload copy of `numel` elements on the comm stream (DeepSpeed issues them on the streams that
  // reduce and gather); one the training thread waits for holds back the next compute op.
  TaskId add_copy(const OffloadCopy& copy, int64_t numel, const std::string& name, Phase phase, int micro,
                  std::optional<TaskId> after = std::nullopt) {
    Task t;
    t.kind = TaskKind::transfer;
    t.stream = Stream::comm;
    t.direction = copy.direction;
    t.pinned = copy.pinned;
    t.bytes = copy.bytes_per_element * numel;
    t.phase = phase;
    t.micro_step = micro;
    t.name = prefix(micro) + name + copy.what;
    const TaskId v = add(t);
    if (after) edge(*after, v);
    if (copy.blocks_compute) sync_before_next_compute_.push_back(v);
    return v;
  }

  // DeepSpeedCPUAdam over the rank's partition, run by the training thread while the GPU waits.
  TaskId add_host(const std::string& name, int micro) {
    Task t;
    t.kind = TaskKind::host;
    t.stream = Stream::compute;
    t.host_elements = offload_.optimizer_numel;
    t.host_bytes = offload_.cpu_step_bytes_per_element * offload_.optimizer_numel;
    t.host_pinned_bytes = offload_.cpu_step_pinned_bytes_per_element * offload_.optimizer_numel;
    t.host_pinned_footprint = pinned_footprint_;
    t.phase = Phase::optimizer;
    t.micro_step = micro;
    t.name = prefix(micro) + name;
    return add(t);
  }

  // One ZeRO-3 all_gather_coalesced of `modules` (DeepSpeed partition_parameters.py: one flat all-gather of
  // every parameter a fetch or prefetch call names): with offload_param each module's partition is first
  // copied to the GPU (docs/time-model.md, "CPU offload"). Named after its first module ("L3.q_proj", or
  // "L3.q_proj+2" for it and two more). Returns the all-gather.
  TaskId add_fetch(const std::vector<int>& modules, const std::string& suffix, Phase phase, int micro,
                   std::optional<TaskId> issuer) {
    std::string name = module_task_name(p_.modules[static_cast<size_t>(modules.front())]);
    if (modules.size() > 1) name += "+" + std::to_string(modules.size() - 1);
    int64_t numel = 0;
    std::vector<TaskId> copies;
    for (int m : modules) {
      const auto mi = static_cast<size_t>(m);
      numel += plan_->gathered_numel[mi];
      if (offload_.params)
        copies.push_back(add_copy(offload_.fetch,
                                  zero3_partition_numel(plan_->gathered_numel[mi], c_.cluster.gpus),
                                  module_task_name(p_.modules[mi]) + ".", phase, micro));
    }
    const TaskId gather =
        add_collective(CollectiveKind::all_gather, elem_ * numel, name + suffix, phase, micro);
    if (issuer) edge(*issuer, copies.empty() ? gather : copies.front());
    return gather;
  }

  int64_t trainable_numel() const {
    int64_t n = 0;
    for (const auto& m : p_.modules) n += m.trainable ? m.numel : 0;
    return n;
  }

  int64_t persistent_numel() const {
    int64_t n = 0;
    for (const auto& m : p_.modules)
      n += m.zero3_numel() - zero3_gathered_numel(m, c_.zero.stage3_param_persistence_threshold);
    return n;
  }

  // Bytes per trainable element in the dtype it is stored in (bf16, or fp32 for adapters peft upcast), the
  // dtype its gradient and a bitsandbytes update kernel have.
  int64_t trainable_param_bytes_per_element() const {
    const FrameworkBehaviour fw = framework_behaviour(c_);
    int64_t bytes = 0, numel = 0;
    for (const auto& m : p_.modules)
      if (m.trainable) bytes += module_param_bytes(m, m.numel, c_, fw), numel += m.numel;
    return numel > 0 ? (bytes + numel / 2) / numel : 2;
  }

  // fp32 training under ZeRO 1-3 updates a clone of the partition (memory_model.cpp model_states): the
  // gradients flattened into it (4 + 4 B) and the updated clone copied back into the parameters (4 + 4 B).
  // ZeRO-3 from 0.18.2 updates the fp32 partition itself (stage3.py _create_fp32_partitions).
  double fp32_master_copies() const {
    if (c_.train.precision != Precision::fp32 || c_.train.engine != TrainingEngine::deepspeed) return 0;
    if (c_.zero.stage == 0 || (c_.zero.stage == 3 && c_.versions.deepspeed >= Version{0, 18, 2})) return 0;
    return 16.0;
  }

  // Without DeepSpeed the gradients pass through memory before the update besides it: clip_grad_norm_
  // (torch/nn/utils/clip_grad.py, foreach) reads each in _foreach_norm and reads and writes it in
  // _foreach_mul_ (3 x its bytes), fp16's GradScaler.unscale_ reads and writes it (2 x).
  double gradient_clip_bytes_per_element() const {
    if (c_.train.engine != TrainingEngine::pytorch) return 0;
    const auto g = static_cast<double>(trainable_param_bytes_per_element());
    return (c_.train.clips_gradients() ? 3 * g : 0.0) + (fp16_loss_scaling(c_.train.precision) ? 2 * g : 0.0);
  }

  ComputeOp optimizer_op() const {
    // Adam over this rank's share: memory-bound, ~12 FLOPs and adam_step_bytes_per_param bytes per element.
    // The share is the memory model's (stage 3 partitions every tensor on its own, padding each).
    const int64_t numel = optimizer_partition_numel(p_.modules, c_.zero.stage, c_.cluster.gpus);
    ComputeOp op;
    op.name = "optimizer.adam_step";
    op.op = "adam_step";
    op.tokens = numel;
    op.phase = Phase::optimizer;
    op.cls = OpClass::memory_bound;
    op.math = matmul_math(c_);
    op.flops = 12.0 * static_cast<double>(numel);
    // bitsandbytes under DeepSpeed updates the fp32 master partition (4 B parameters and gradients)
    // between the engine's passes: the 16-bit gradient cast to fp32 (2 + 4 B) and the updated master copied
    // into the 16-bit partition (4 + 2 B).
    const bool bnb = bitsandbytes_optimizer(c_.train.optimizer);
    const bool client = bnb && c_.train.engine == TrainingEngine::deepspeed;
    // DeepSpeed's ZeRO step (stages 1-3) also takes the norm, flattens, casts and clips the gradient
    // partition (zero12_gradient_passes.h).
    const double bytes_per_element =
        client
            ? 12.0 + bnb_step_bytes_per_param(c_.train.optimizer, 4) +
                  (fp16_optimizer_applies(c_) ? fp16_optimizer_overflow_check_bytes_per_element(elem_) : 0.0)
        : bnb ? bnb_step_bytes_per_param(c_.train.optimizer, trainable_param_bytes_per_element())
        : zero_step_passes_apply(c_, elem_) ? zero12_step_bytes_per_element(c_, elem_)
        : fp16_optimizer_applies(c_)
            ? fp16_optimizer_step_bytes_per_element(elem_)
            : adam_step_bytes_per_param(c_.train.precision, c_.train.optimizer) + fp32_master_copies();
    op.bytes = (bytes_per_element + gradient_clip_bytes_per_element()) * static_cast<double>(numel);
    // Its kernels as torch.optim, bitsandbytes or DeepSpeed's optimizer launch them for this rank's tensors.
    const OptimizerStepLaunches launches = optimizer_step_launches(
        c_, optimizer_partition_tensors(p_.modules, c_.zero.stage, c_.cluster.gpus),
        optimizer_flat_partitions(p_.modules, c_.zero.stage, c_.cluster.gpus, c_.zero.sub_group_size));
    op.kernels = static_cast<int>(launches.kernels);
    op.synced_kernels = static_cast<int>(launches.synced_kernels);
    op.host_s = host_issue_seconds(op, op.kernels, c_);
    return op;
  }

  // One gradient bucket's reduction and, offloaded, the copies DeepSpeed makes of the rank's share of it.
  // Returns the last of them: what the optimizer step waits for.
  TaskId reduce_bucket(CollectiveKind kind, int64_t chunk, int64_t tensors, int index, TaskId after,
                       int micro) {
    const std::string name = "grads.bucket" + std::to_string(index) + ".";
    const bool passes = zero12_gradient_passes_apply(c_);
    const Zero12BucketPasses pass = zero12_bucket_passes(c_, elem_);
    if (passes) {  // the copies into the bucket, its div_ and flatten: the collective reads their result
      add_gradient_pass(name + "fill", pass.before_bytes_per_element * static_cast<double>(chunk),
                        static_cast<int>(tensors) * pass.kernels_per_tensor + pass.kernels_per_bucket, micro);
      after = last_compute_;
    }
    TaskId done = add_collective(kind, elem_ * chunk, name + collective_name(kind), Phase::backward, micro);
    edge(after, done);
    // The reduced gradients copied back (ZeRO-1/2 keep the rank's own partition). Without overlap_comm on
    // the compute stream after the collective; with it on the reduction stream beside the backward: its
    // DRAM time is charged to the compute stream there, which does not wait for the collective.
    if (passes) {
      const int64_t own = zero3_partition_numel(chunk, c_.cluster.gpus);
      const int64_t own_tensors = (tensors + c_.cluster.gpus - 1) / c_.cluster.gpus;
      const TaskId back = add_gradient_pass(name + "copy_back",
                                            pass.after_bytes_per_element * static_cast<double>(chunk) +
                                                pass.after_bytes_per_own_element * static_cast<double>(own),
                                            static_cast<int>(own_tensors) * pass.kernels_per_own_tensor +
                                                static_cast<int>(tensors) * pass.kernels_per_tensor_after,
                                            micro);
      if (!c_.zero.overlap()) {
        edge(done, back);
        done = back;
      }
    }
    if (offload_.optimizer)
      for (const OffloadCopy& copy : offload_.grad_copies_at(micro, c_.train.grad_accum))
        done = add_copy(copy, zero3_partition_numel(chunk, c_.cluster.gpus), name, Phase::backward, micro);
    return done;
  }

  // ZeRO-3, before op i: its modules' hooks (the task its all-gathers are issued from) and the blocking
  // fetches; `gathered_by` tracks the all-gather (fetch or earlier prefetch) that made each module's
  // parameters available, as DeepSpeed's fetch_sub_module waits on the handle. Returns the issuer.
  std::optional<TaskId> zero3_fetch(size_t i, const ComputeOp& op, int micro,
                                    std::vector<std::optional<TaskId>>& gathered_by) {
    std::optional<TaskId> issuer;
    if (!op.modules.empty()) {
      issuer = add_hook(op.name + ".zero3_hooks", kZero3HookSeconds * static_cast<double>(op.modules.size()),
                        op.phase, micro);
      // At world size 1 every fetch ends in NoGatherHandle.wait, which synchronises the compute stream
      // (partition_parameters.py, 0.10.0-0.19.5): the host waits for the GPU before it goes on.
      out_.graph[*issuer].host_sync =
          c_.cluster.gpus == 1 && std::any_of(op.modules.begin(), op.modules.end(), [&](int m) {
            return plan_->gathered_numel[static_cast<size_t>(m)] > 0;
          });
    } else if (have_compute_)
      issuer = last_compute_;
    // Each module's own hook fetches it (recurse=False): one all-gather per module.
    for (int m : plan_->fetch_before[i])
      gathered_by[static_cast<size_t>(m)] = add_fetch({m}, ".all_gather", op.phase, micro, issuer);
    return issuer;
  }

  // ZeRO-3, after op i started: the prefetches issued from its pre-forward hook, and the releases.
  void zero3_prefetch(size_t i, const ComputeOp& op, int micro, std::optional<TaskId> issuer,
                      std::vector<std::optional<TaskId>>& gathered_by) {
    // The hook's prefetch is one __all_gather_params call over every module it names
    // (partitioned_param_coordinator.py fetch_sub_module): one coalesced all-gather.
    if (!plan_->prefetch_after[i].empty()) {
      const TaskId gather = add_fetch(plan_->prefetch_after[i], ".prefetch", op.phase, micro, issuer);
      for (int m : plan_->prefetch_after[i]) gathered_by[static_cast<size_t>(m)] = gather;
    }
    for (int m : plan_->release_after[i]) gathered_by[static_cast<size_t>(m)].reset();
  }

  // Gradient reduction: DeepSpeed fills a bucket of reduce_bucket_size elements as gradients appear in
  // backward order. Stages 2-3 reduce every micro-step; stages 0-1 only at the accumulation boundary.
  void micro_step(int micro, bool boundary) {
    const int stage = c_.zero.stage;
    const bool reduce_now = stage >= 2 || boundary;
    const int64_t bucket =
        stage == 0 ? std::min<int64_t>(500'000'000, c_.zero.reduce_bucket_size) : c_.zero.reduce_bucket_size;
    const CollectiveKind grad_kind = stage == 3 ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce;
    const bool overlap = c_.zero.overlap();
    std::vector<bool> grad_seen(p_.modules.size(), false);
    int64_t filled = 0, filled_tensors = 0;
    int bucket_index = 0;
    auto flush = [&](TaskId after, bool end_of_backward) {
      if (!reduce_now) return;
      while (filled > 0) {
        const int64_t chunk = std::min(filled, bucket);
        // The tensors in this chunk, in proportion where a bucket's worth is split.
        const int64_t tensors = chunk == filled ? filled_tensors : filled_tensors * chunk / filled;
        const TaskId done = reduce_bucket(grad_kind, chunk, tensors, bucket_index++, after, micro);
        filled -= chunk;
        filled_tensors -= tensors;
        if (!overlap || end_of_backward) sync_before_next_compute_.push_back(done);  // compute waits for it
        pending_grad_collectives_.push_back(done);
      }
    };

    // HF Trainer.training_step's model.train() (micro-step 0's is the previous step's last task: build()).
    if (micro > 0 && loop_.train_mode_walk_s > 0)
      add_hook("trainer.model_train", loop_.train_mode_walk_s, Phase::forward, micro);
    const size_t program = micro_program_[static_cast<size_t>(micro)];
    const StepProgram& p = *programs_[program];
    const size_t offset = offsets_[program];
    if (stage == 3) plan_ = &plans_[program];
    const size_t n = p.forward.size() + p.backward.size();
    std::vector<std::optional<TaskId>> gathered_by(p_.modules.size());
    for (size_t i = 0; i < n; ++i) {
      const ComputeOp& op = out_.ops[offset + i];
      const std::optional<TaskId> issuer = stage == 3 ? zero3_fetch(i, op, micro, gathered_by) : std::nullopt;
      const TaskId task = add_compute(offset + i, micro);
      for (int m : op.modules)
        if (m >= 0 && gathered_by[static_cast<size_t>(m)]) edge(*gathered_by[static_cast<size_t>(m)], task);
      if (stage == 3) zero3_prefetch(i, op, micro, issuer, gathered_by);
      if (op.phase == Phase::backward)
        for (int m : op.modules) {
          const auto mi = static_cast<size_t>(m);
          if (m < 0 || !p_.modules[mi].trainable || grad_seen[mi]) continue;
          grad_seen[mi] = true;
          filled += p_.modules[mi].numel;
          filled_tensors += static_cast<int64_t>(p_.modules[mi].tensor_numels().size());
          if (filled >= bucket && (overlap || stage >= 2)) flush(task, false);
        }
    }
    // End of backward: the epilogue reduces what is left and synchronises the streams.
    flush(last_compute_, true);
    if (reduce_now) {
      for (TaskId t : pending_grad_collectives_) sync_before_next_compute_.push_back(t);
      if (!boundary) pending_grad_collectives_.clear();
    }
    // The loss read that ends the micro-step; the boundary's may come after the update (build()).
    if (loop_.loss_sync && (!boundary || loop_.sync_before_update)) add_loss_sync(micro);
  }
};

}  // namespace

StepGraph build_step_graph(const RunConfig& config, const StepProgram& program, int64_t paged_evicted_bytes,
                           const std::vector<const StepProgram*>& micro_programs) {
  return GraphBuilder(config, program, paged_evicted_bytes, micro_programs).build();
}

std::vector<TaskId> check_step_graph(const StepGraph& g) {
  std::vector<TaskId> order;
  try {
    boost::topological_sort(g.graph, std::back_inserter(order));
  } catch (const boost::not_a_dag&) {
    throw std::logic_error("step graph has a cycle");
  }
  std::reverse(order.begin(), order.end());
  for (TaskId v : g.comm_order)
    if (g.graph[v].kind != TaskKind::collective && g.graph[v].kind != TaskKind::transfer)
      throw std::logic_error("a task that is neither a collective nor a copy on the comm stream");
  // Every rank runs the same graph, so each collective is joined by all ranks in the same order;
  // the group of every collective is the data-parallel group of g.ranks ranks.
  if (g.ranks < 1) throw std::logic_error("a collective needs at least one rank");
  return order;
}

CriticalPath critical_path(const StepGraph& g, const std::vector<double>& durations) {
  const std::vector<TaskId> order = check_step_graph(g);
  const size_t n = boost::num_vertices(g.graph);
  std::vector<double> finish(n, 0.0);
  std::vector<long> parent(n, -1);
  for (TaskId v : order) {
    double start = 0;
    for (auto [e, end] = boost::in_edges(v, g.graph); e != end; ++e) {
      const TaskId u = boost::source(*e, g.graph);
      if (finish[u] > start) {
        start = finish[u];
        parent[v] = static_cast<long>(u);
      }
    }
    finish[v] = start + durations[v];
  }
  CriticalPath cp;
  long v = static_cast<long>(std::max_element(finish.begin(), finish.end()) - finish.begin());
  if (n == 0) return cp;
  cp.length_s = finish[static_cast<size_t>(v)];
  for (; v >= 0; v = parent[static_cast<size_t>(v)]) {
    const auto tv = static_cast<TaskId>(v);
    cp.tasks.push_back(tv);
    (g.graph[tv].kind == TaskKind::collective ? cp.comm_s : cp.compute_s) += durations[tv];
  }
  std::reverse(cp.tasks.begin(), cp.tasks.end());
  return cp;
}

}  // namespace zerosim
