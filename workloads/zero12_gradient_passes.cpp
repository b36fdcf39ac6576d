#include "workloads/zero12_gradient_passes.h"

#include "workloads/step_program.h"

// DeepSpeed runtime/zero/stage_1_and_2.py, the same from 0.10.0 to 0.19.x for what is counted here (the
// quoted lines are in docs/time-model.md, "ZeRO-1/2's gradient passes"). e is the gradient's element size.

namespace zerosim {

bool zero12_gradient_passes_apply(const RunConfig& c) {
  return c.train.engine == TrainingEngine::deepspeed && (c.zero.stage == 1 || c.zero.stage == 2);
}

bool zero_step_passes_apply(const RunConfig& c, int64_t grad_bytes) {
  // stage3.py (0.10.0-0.19.x): get_grad_norm_direct's g.double().norm(2) per tensor,
  // _prepare_fp32_grad_for_sub_group's self.flatten(...).to(fp32), unscale_and_clip_grads' mul_ on the fp32
  // gradient, the update, _reassign_or_swap_out_partitioned_parameters' copy_ into the 16-bit partition.
  return zero12_gradient_passes_apply(c) ||
         (c.train.engine == TrainingEngine::deepspeed && c.zero.stage == 3 && grad_bytes == 2);
}

Zero12BucketPasses zero12_bucket_passes(const RunConfig& c, int64_t grad_bytes) {
  const auto e = static_cast<double>(grad_bytes);
  Zero12BucketPasses p;
  const bool offload = c.zero.offload_optimizer == "cpu";
  if (c.zero.contiguous_gradients) {
    // reduce_independent_p_g_buckets_and_remove_grads: each gradient is copied into the bucket as its hook
    // fires (new_grad_tensor.copy_, 2e); average_tensor divides the bucket in place (tensor.div_, 2e);
    // allreduce_bucket all-reduces self.flatten(bucket), a torch.cat of the bucket's slices (2e) — one per
    // destination rank with dist.reduce before 0.12.4, one all_reduce from 0.12.4 (#4695,
    // use_multi_rank_bucket_allreduce): the same bytes.
    p.before_bytes_per_element = 2 * e + 2 * e + 2 * e;
    p.kernels_per_tensor = 1;
    p.kernels_per_bucket = 2;
    // The reduced slices of the rank's own partition are copied back into the bucket (buf.copy_(synced),
    // 2e). Then copy_grads_in_partition: without offload into the partition's gradient buffer
    // (new_grad_tensor.copy_, 2e); offloaded, set_norm_for_param_grad_in_gpu's
    // accumulated_grad.data.double().norm(2) (reads e, writes and reads 8 B),
    // update_offload_overflow_tracker_for_param_grad's _has_inf_or_nan on the gradient (x.float() e + 4 B,
    // none in fp32; isnan and isinf 4 + 1 each; logical_or 1 + 1 + 1; .float() 1 + 4; .max() 4), and
    // async_inplace_copy_grad_to_fp32_buffer_from_gpu's src_tensor.float() (e + 4 B, nothing in fp32
    // training), whose result goes to the host (zero_offload.h).
    const double cast = grad_bytes == 4 ? 0 : e + 4;
    const double overflow_check = cast + 5 + 5 + 3 + 5 + 4;
    p.after_bytes_per_own_element = 2 * e + (offload ? (e + 16) + overflow_check + cast : 2 * e);
    p.kernels_per_own_tensor = offload ? 1 + 2 + 6 + (grad_bytes == 4 ? 0 : 1) : 2;
  } else {
    // buffered_reduce_fallback -> allreduce_and_copy: flatten (2e) and divide (2e) each small bucket, then
    // copy every reduced slice back into its gradient (2e).
    p.before_bytes_per_element = 2 * e + 2 * e;
    p.after_bytes_per_element = 2 * e;
    p.kernels_per_bucket = 2;
    p.kernels_per_tensor_after = 1;
  }
  return p;
}

double zero12_step_bytes_per_element(const RunConfig& c, int64_t grad_bytes) {
  const auto e = static_cast<double>(grad_bytes);
  // get_grad_norm_direct: vector_norm(g.data.double()) per gradient tensor: reads e, writes 8 B, reads 8 B.
  const double norm = e + 16;
  // flatten(self.averaged_gradients[i]) (torch.cat, 2e), then .to(fp32) of the flat partition (e + 4 B; a
  // no-op when the gradients are already fp32).
  const double flatten = 2 * e + (grad_bytes == 4 ? 0 : e + 4);
  // unscale_and_clip_grads: grad.data.mul_(1. / combined_scale) on the fp32 flat gradient, always.
  const double clip = 8;
  // The update of the fp32 partition (DeepSpeed's FusedAdam for "Adam"/"AdamW", or torch's foreach as a
  // client optimizer): fp32 parameters, states and gradient.
  const double update = adam_step_bytes_per_param(Precision::fp32, c.train.optimizer);
  // bit16_partitions[partition_id].data.copy_(fp32_partition.data): reads 4 B, writes e.
  const double copy_back = 4 + e;
  return norm + flatten + clip + update + copy_back;
}

}  // namespace zerosim
