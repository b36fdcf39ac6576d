#include "workloads/deepspeed_fp16_optimizer.h"

// DeepSpeed runtime/fp16/fused_optimizer.py FP16_Optimizer.step and runtime/utils.py CheckOverflow, the
// same from 0.10.0 to 0.19.x for what is counted (quoted at 0.17.7, 80033a82).

namespace zerosim {

bool fp16_optimizer_applies(const RunConfig& c) {
  if (c.train.engine != TrainingEngine::deepspeed || c.zero.stage != 0) return false;
  if (c.train.precision == Precision::fp16_mixed) return true;
  return c.train.precision == Precision::bf16_mixed && c.versions.deepspeed >= Version{0, 17, 6};
}

double fp16_optimizer_overflow_check_bytes_per_element(int64_t grad_bytes) {
  // has_overflow_serial: _has_inf_or_nan's float(x.float().sum()) per gradient: the cast (e + 4) and the
  // sum (4).
  return static_cast<double>(grad_bytes) + 4 + 4;
}

double fp16_optimizer_step_bytes_per_element(int64_t grad_bytes) {
  const auto e = static_cast<double>(grad_bytes);
  const double overflow_check = fp16_optimizer_overflow_check_bytes_per_element(grad_bytes);
  // _flatten_dense_tensors([p.grad.to(fp32) ...]): each cast (e + 4), then the cat (4 + 4).
  const double flatten = e + 4 + 8;
  // get_flattened_grad_norm over the flat fp32 gradient (4); unscale_and_clip_grads' mul_ (4 + 4).
  const double norm_and_clip = 4 + 8;
  // FusedAdam on the flat fp32 master: reads g, p, m, v, writes p, m, v.
  const double update = 28;
  // p.data.copy_(q.data) for each parameter from the unflattened master (4 + e).
  const double copy_back = 4 + e;
  return overflow_check + flatten + norm_and_clip + update + copy_back;
}

int64_t fp16_optimizer_overflow_check_kernels(int64_t tensors) { return 2 * tensors; }

int64_t fp16_optimizer_step_kernels(int64_t tensors, int64_t flat_launches) {
  // The check; the cast per gradient and the cat; the norm (about 3: norm, pow, the mask-free path's
  // reduction); the scaling mul_; FusedAdam; one copy_ per parameter.
  return fp16_optimizer_overflow_check_kernels(tensors) + (tensors + 1) + 3 + 1 + flat_launches + tensors;
}

}  // namespace zerosim
