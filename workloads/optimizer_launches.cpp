#include "workloads/optimizer_launches.h"

#include <algorithm>
#include <array>

#include "workloads/deepspeed_fp16_optimizer.h"
#include "workloads/zero12_gradient_passes.h"

namespace zerosim {

namespace {

constexpr int64_t kChunkSize = 65536;
constexpr std::array<int64_t, 5> kMaxTensors = {110, 64, 48, 36, 30};
constexpr int64_t kMaxBlocks = 320;

// bitsandbytes' Optimizer8bit.step (optim/optimizer.py, 0.41.0-0.50.x) walks the parameters in Python: one
// update kernel per parameter with a gradient (optimizer_update_8bit_blockwise or optimizer_update_32bit;
// max_unorm 0 and percentile_clipping 100, HF's defaults, add none), each followed by
// torch.cuda.synchronize() (sync_gpu from 0.47.0).
int64_t bnb_update_kernels(const std::vector<int64_t>& tensors) {
  return std::count_if(tensors.begin(), tensors.end(), [](int64_t n) { return n > 0; });
}

// torch.optim without DeepSpeed (train.engine: pytorch): HF Trainer's step as accelerate runs it.
int64_t pytorch_step_kernels(const RunConfig& c, const std::vector<int64_t>& tensors) {
  const auto launches = [&](int depth) { return multi_tensor_launches(depth, tensors); };
  // clip_grad_norm_ (train.max_grad_norm, HF Trainer's 1.0 by default; torch/nn/utils/clip_grad.py,
  // foreach): _foreach_norm, stack, vector_norm, add eps, divide, clamp, _foreach_mul_.
  int64_t k = c.train.clips_gradients() ? 2 * launches(1) + 5 : 0;
  if (bitsandbytes_optimizer(c.train.optimizer)) {
    k += bnb_update_kernels(tensors);
  } else if (c.train.optimizer == OptimizerImpl::fused) {
    k += launches(4);  // _fused_adamw_ over params, grads, exp_avg, exp_avg_sq
  } else {
    // _multi_tensor_adamw (torch/optim/adamw.py; Adam's from 2.6), weight_decay 0 (HF's default) and the
    // step counters on the CPU: lerp_(m, g), mul_(v), addcmul_(v, g, g), sqrt(v), div_, add_(eps),
    // addcdiv_(p, m, denom).
    k += launches(2) + launches(1) + launches(3) + launches(2) + launches(1) + launches(1) + launches(3);
  }
  // GradScaler: unscale_ is _amp_foreach_non_finite_check_and_unscale_, update() _amp_update_scale_.
  if (fp16_loss_scaling(c.train.precision)) k += launches(1) + 1;
  return k;
}

// DeepSpeed's optimizers (stage_1_and_2.py, stage3.py, bf16_optimizer.py, 0.10.0-0.19.5), one rank.
int64_t deepspeed_step_kernels(const RunConfig& c, const std::vector<int64_t>& tensors,
                               const std::vector<int64_t>& flat_partitions) {
  const auto n = static_cast<int64_t>(tensors.size());
  // get_grad_norm_direct: torch.norm(g.data.double()) per gradient tensor (2 kernels each), then stack,
  // square, sum, float, pow and the inf/nan fill on the total.
  int64_t k = 2 * n + 6;
  // fp16: has_overflow_partitioned_grads_serial runs _has_inf_or_nan per tensor (float, isnan, isinf,
  // logical_or, float().max()) and accumulates it (6 kernels each), then bool, byte and the .item() read.
  if (fp16_loss_scaling(c.train.precision)) k += 6 * n + 3;
  // unscale_and_clip_grads on the flat gradient (clamp, mul), the update of each flat fp32 partition
  // (FusedAdam's multi_tensor_adam, one step per ZeRO-3 sub-group; or a bitsandbytes client optimizer's one
  // kernel per flat tensor, its parameters), and the copy back into the 16-bit partition.
  k += 2 + 1;
  for (const int64_t flat : flat_partitions)
    k += bitsandbytes_optimizer(c.train.optimizer) ? 1 : multi_tensor_launches(4, {flat});
  return k;
}

}  // namespace

int64_t multi_tensor_launches(int depth, const std::vector<int64_t>& numels) {
  const int64_t max_tensors = kMaxTensors[static_cast<size_t>(std::clamp(depth, 1, 5) - 1)];
  int64_t launches = 0, blocks = 0, loaded = 0;
  for (const int64_t numel : numels) {
    if (numel <= 0) continue;  // empty tensors are skipped
    ++loaded;
    const int64_t chunks = (numel + kChunkSize - 1) / kChunkSize;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      ++blocks;
      const bool last_chunk = chunk == chunks - 1;
      if ((loaded == max_tensors && last_chunk) || blocks == kMaxBlocks) {
        ++launches;
        blocks = 0;
        loaded = last_chunk ? 0 : 1;  // an unfinished tensor carries over
      }
    }
  }
  return launches + (blocks != 0 ? 1 : 0);  // finishing what was started
}

OptimizerStepLaunches optimizer_step_launches(const RunConfig& c, const std::vector<int64_t>& tensors,
                                              const std::vector<int64_t>& flat_partitions) {
  OptimizerStepLaunches s;
  if (fp16_optimizer_applies(c) && !bitsandbytes_optimizer(c.train.optimizer)) {
    // DeepSpeed's FP16_Optimizer at stage 0: the overflow check reads each gradient's sum on the host.
    const auto n = static_cast<int64_t>(tensors.size());
    int64_t flat = 0;
    for (const int64_t part : flat_partitions) flat += multi_tensor_launches(4, {part});
    s.kernels = fp16_optimizer_step_kernels(n, flat);
    s.synced_kernels = n;
    s.host_sync = true;  // CheckOverflow.has_overflow's overflow_gpu[0].item() as well
    return s;
  }
  s.kernels = c.train.engine == TrainingEngine::pytorch ? pytorch_step_kernels(c, tensors)
                                                        : deepspeed_step_kernels(c, tensors, flat_partitions);
  // GradScaler.step reads found_inf (.item()); DeepSpeed's has_overflow reads the all-reduced flag.
  s.host_sync = fp16_loss_scaling(c.train.precision);
  // bitsandbytes synchronises after each of its parameters: every trainable tensor without DeepSpeed, each
  // flat fp32 partition under it.
  if (bitsandbytes_optimizer(c.train.optimizer))
    s.synced_kernels =
        bnb_update_kernels(c.train.engine == TrainingEngine::pytorch ? tensors : flat_partitions);
  // ZeRO-1/2 before 0.13.2 (#4974) summed the norms on the host: get_grad_norm_direct's
  // `total_norm += param_norm.item()**2` reads each gradient tensor's norm, a host wait per tensor.
  if (zero12_gradient_passes_apply(c) && c.zero.offload_optimizer != "cpu" &&
      c.versions.deepspeed < Version{0, 13, 2}) {
    s.synced_kernels += static_cast<int64_t>(tensors.size());
    s.host_sync = true;
  }
  if (fp16_optimizer_applies(c)) {
    // At stage 0 a bitsandbytes client runs under FP16_UnfusedOptimizer, whose step begins with the same
    // per-parameter overflow check: two kernels and a host read per trainable tensor.
    const auto n = static_cast<int64_t>(tensors.size());
    s.kernels += fp16_optimizer_overflow_check_kernels(n);
    s.synced_kernels += n;
    s.host_sync = true;
  }
  return s;
}

}  // namespace zerosim
