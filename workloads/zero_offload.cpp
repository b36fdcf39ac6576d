#include "workloads/zero_offload.h"

#include "workloads/zero3_schedule.h"

// Every rule below is DeepSpeed's code at the releases named (docs/reference/deepspeed-offload.md has
// the file:function and the quoted lines): runtime/zero/stage_1_and_2.py for stages 1-2, stage3.py and
// partition_parameters.py for stage 3, runtime/zero/offload_config.py for the defaults.

namespace zerosim {

namespace {

using Dir = TransferDirection;

OffloadCopy copy(Dir direction, int64_t bytes, bool pinned, bool blocks, const char* what) {
  // A "non_blocking" copy to or from pageable memory is staged by the driver: the host waits for it.
  return {direction, bytes, pinned, blocks || !pinned, what};
}

// Stages 1-2 (copy_grads_in_partition): with accumulation, a bf16 buffer per parameter on the host is
// round-tripped through the GPU each micro-step (async_accumulate_grad_in_cpu_via_gpu), and at the boundary
// the rank's slice goes down in fp32 (async_inplace_copy_grad_to_fp32_buffer_from_gpu), followed by a host
// sync per parameter (the offload overflow check), so backward waits for it.
void stage12_grad_copies(const RunConfig& c, bool pin, OffloadPlan& p) {
  const Version v = c.versions.deepspeed;
  const bool accumulates = c.train.grad_accum > 1;
  // Without overlap_comm the copies run on the compute stream itself (copy_grad_stream is disabled).
  const bool same_stream = !c.zero.overlap();
  const auto bf16 = [&](Dir d, const char* what) { return copy(d, 2, pin, same_stream, what); };
  if (accumulates) {
    p.grad_copies[0] = {bf16(Dir::to_host, "to_host")};
    if (v < Version{0, 15, 2} || v >= Version{0, 19, 0})  // #6550 dropped the D2H, #7967 restored it
      p.grad_copies[1] = {bf16(Dir::to_device, "accumulate.to_gpu"), bf16(Dir::to_host, "to_host")};
    else
      p.grad_copies[1] = {bf16(Dir::to_device, "accumulate.to_gpu")};
    p.grad_copies[2] = {bf16(Dir::to_device, "accumulate.to_gpu")};
    if (v >= Version{0, 19, 0}) p.grad_copies[2].push_back(bf16(Dir::to_host, "to_host"));
  }
  p.grad_copies[2].push_back(copy(Dir::to_host, 4, stage12_fp32_grads_pinned(c), true, "fp32.to_host"));
}

// Stage 3 (partition_grads): the reduce-scattered partition goes to a bf16 host buffer every micro-step and
// comes straight back (the micro-step-0 round trip, every release), is accumulated on the GPU in later
// micro-steps, and at the boundary goes down again in fp32 for the optimizer.
void stage3_grad_copies(const RunConfig& c, bool pin, OffloadPlan& p) {
  const Version v = c.versions.deepspeed;
  const auto bf16 = [&](Dir d, const char* what) { return copy(d, 2, pin, false, what); };
  p.grad_copies[0] = {bf16(Dir::to_host, "to_host"), bf16(Dir::to_device, "to_gpu")};
  p.grad_copies[1] = {bf16(Dir::to_device, "accumulate.to_gpu"), bf16(Dir::to_host, "to_host")};
  p.grad_copies[2] = c.train.grad_accum > 1 ? p.grad_copies[1] : p.grad_copies[0];
  OffloadCopy fp32;
  if (v < Version{0, 15, 4})  // blocking copy_ of bf16 into fp32: bf16 crosses into a pageable temporary
    fp32 = copy(Dir::to_host, 2, false, true, "fp32.to_host");
  else if (v < Version{0, 16, 3})  // #6670: upcast on the GPU, pinned staging buffer, device synchronize
    fp32 = copy(Dir::to_host, 4, true, true, "fp32.to_host");
  else  // #6962 blocking fp32 copy; #8207 (0.19.5) non_blocking
    fp32 = copy(Dir::to_host, 4, pin, v < Version{0, 19, 5}, "fp32.to_host");
  p.grad_copies[2].push_back(fp32);
}

// The CPU step's bytes in pinned buffers, per element (the passes above; Adam's exp_avg and exp_avg_sq are
// torch.zeros_like, never pinned): Adam reads and writes the fp32 master (8 B) and reads the fp32 gradient
// (4 B); unscale_and_clip_grads reads and writes the gradient (8 B); the cast reads the master (4 B) and
// writes the bf16 staging buffer (2 B, stages 1-2 from 0.17.0; stage 3 and older releases cast into a
// pageable temporary). Stage 3's master (fp32_partitioned_groups_flat) is never pinned, its gradient
// (subgroup_gradient_buffer) as pin_memory says.
int64_t cpu_step_pinned_bytes(const RunConfig& c, bool stage12_fp32_copy_back) {
  const bool stage3 = c.zero.stage == 3;
  const bool master = !stage3 && stage12_master_pinned(c);
  const bool grad = stage3 ? offload_pin_memory(c, false) : stage12_fp32_grads_pinned(c);
  const bool staging = !stage3 && stage12_staging_buffer(c) && offload_pin_memory(c, false);
  int64_t bytes = (master ? 8 : 0) + (grad ? 4 + 8 : 0);
  if (!stage12_fp32_copy_back) bytes += (master ? 4 : 0) + (staging ? 2 : 0);
  return bytes;
}

}  // namespace

bool offload_pin_memory(const RunConfig& c, bool params) {
  const std::optional<bool>& set =
      params ? c.zero.offload_param_pin_memory : c.zero.offload_optimizer_pin_memory;
  return set.value_or(c.versions.deepspeed >= Version{0, 19, 5});  // #8207 made True the default
}

bool stage12_fp32_grads_pinned(const RunConfig& c) {
  return offload_pin_memory(c, false) || c.versions.deepspeed == Version{0, 10, 0};
}

bool stage12_master_pinned(const RunConfig& c) {
  const Version v = c.versions.deepspeed;
  return v >= Version{0, 18, 3} ? offload_pin_memory(c, false) : v >= Version{0, 14, 1};
}

bool stage12_staging_buffer(const RunConfig& c) { return c.versions.deepspeed >= Version{0, 17, 0}; }

const std::vector<OffloadCopy>& OffloadPlan::grad_copies_at(int micro, int64_t grad_accum) const {
  if (micro == grad_accum - 1) return grad_copies[2];
  return grad_copies[micro == 0 ? 0 : 1];
}

OffloadPlan plan_offload(const RunConfig& c, const StepProgram& program) {
  OffloadPlan p;
  p.optimizer = c.zero.offload_optimizer == "cpu";
  p.params = c.zero.offload_param == "cpu";
  const Version v = c.versions.deepspeed;
  // Every partition to the GPU before its all-gather, one blocking .to() per parameter, from the always
  // pinned flat buffer (_all_gather_dtype; stage3 _create_fp16_partitions_with_defragmentation).
  if (p.params) p.fetch = copy(Dir::to_device, 2, true, true, "to_gpu");
  const int64_t rank_partition = optimizer_partition_numel(program.modules, c.zero.stage, c.cluster.gpus);
  p.optimizer_numel = rank_partition;
  if (!p.optimizer) {
    // offload_param alone: Adam stays on the GPU and its fp32 result is copied into the host bf16 buffer
    // (a blocking copy_ with a dtype change: fp32 crosses, the CPU casts, via a pageable temporary).
    if (p.params) p.after_step = {copy(Dir::to_host, 4, false, true, "optimizer.params.to_host")};
    return p;
  }
  const bool pin = offload_pin_memory(c, false);
  // Adam reads param, grad, exp_avg, exp_avg_sq and writes three of them (28 B); unscale_and_clip_grads
  // reads and writes the fp32 gradient (8 B); the fp32 -> bf16 cast reads 4 B and writes 2 B, except in
  // 0.14.1-0.16.x stages 1-2, which copied fp32 to the GPU and cast there.
  const bool stage12_fp32_copy_back = c.zero.stage < 3 && v >= Version{0, 14, 1} && v < Version{0, 17, 0};
  p.cpu_step_bytes_per_element = 28 + 8 + (stage12_fp32_copy_back ? 0 : 6);
  p.cpu_step_pinned_bytes_per_element = cpu_step_pinned_bytes(c, stage12_fp32_copy_back);
  if (c.zero.stage == 3) {
    stage3_grad_copies(c, pin, p);
    // _reassign_or_swap_out_partitioned_parameters: a blocking copy_ fp32 -> bf16 GPU partition (the CPU
    // casts into a pageable temporary); with offload_param the partition is on the host: nothing crosses.
    if (!p.params) p.after_step = {copy(Dir::to_device, 2, false, true, "optimizer.params.to_gpu")};
  } else {
    stage12_grad_copies(c, pin, p);
    if (v < Version{0, 14, 1})  // blocking bf16 copy from a pageable cast
      p.after_step = {copy(Dir::to_device, 2, false, true, "optimizer.params.to_gpu")};
    else if (stage12_fp32_copy_back)  // #5301: fp32_partition.to(device), from the always-pinned master
      p.after_step = {copy(Dir::to_device, 4, true, true, "optimizer.params.to_gpu")};
    else  // #7309: CPU cast into a bf16 staging buffer, then non_blocking
      p.after_step = {copy(Dir::to_device, 2, pin, false, "optimizer.params.to_gpu")};
  }
  return p;
}

}  // namespace zerosim
