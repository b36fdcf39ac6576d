#include "calibrate/cpu/host_kernels.h"

#include <cmath>
#include <stdexcept>

// The project builds at -O2 for the baseline x86-64 ISA (SSE2), which the CI machine and every user's
// machine run. DeepSpeed builds its kernel with -O3 -march=native and AVX-512/AVX2 intrinsics; measuring
// the host with an SSE2 loop would understate a modern CPU 2-4x. So each loop here is compiled in three
// versions and the dynamic loader runs the best the CPU supports (GCC/clang function multi-versioning: an
// ifunc resolver on x86-64 glibc), and calibrate/CMakeLists.txt compiles this file with -O3 (GCC's -O2
// vectorises only loops without a remainder), -fno-math-errno (sqrtf becomes one vector instruction, as
// DeepSpeed's _mm512_sqrt_ps) and -ffp-contract=fast (a·b+c becomes an FMA, as DeepSpeed's _mm512_fmadd_ps).
// No -ffast-math: division and sqrt stay IEEE, as in DeepSpeed.
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define ZEROSIM_HOST_CLONES __attribute__((target_clones("avx512f", "fma", "default")))
#define ZEROSIM_HOST_HAS_CLONES 1
#endif
#endif
#ifndef ZEROSIM_HOST_CLONES
#define ZEROSIM_HOST_CLONES
#endif

namespace zerosim::calib::cpu {

AdamStepConstants adam_step_constants(const AdamHyperparameters& h, int64_t step) {
  if (step < 1) throw std::invalid_argument("Adam step " + std::to_string(step) + ": steps count from 1");
  AdamStepConstants c;
  c.beta1 = h.beta1;
  c.beta2 = h.beta2;
  c.one_minus_beta1 = 1 - h.beta1;
  c.one_minus_beta2 = 1 - h.beta2;
  c.eps = h.eps;
  // IncrementStep: betta_t = beta^t (fp32); update_state: bias_correction1 = 1 - beta1^t,
  // bias_correction2 = 1 / sqrt(1 - beta2^t).
  const float beta1_t = std::pow(h.beta1, static_cast<float>(step));
  const float beta2_t = std::pow(h.beta2, static_cast<float>(step));
  const float bias_correction1 = h.bias_correction ? 1 - beta1_t : 1.0f;
  c.bias2_sqrt = h.bias_correction ? 1 / std::sqrt(1 - beta2_t) : 1.0f;
  c.step_size = -1 * h.lr / bias_correction1;
  c.adamw_mode = h.adamw_mode;
  c.has_decay = h.weight_decay > 0;
  c.decay = h.adamw_mode ? -1 * h.lr * h.weight_decay : h.weight_decay;
  return c;
}

ZEROSIM_HOST_CLONES
void adam_step(float* __restrict param, const float* __restrict grad, float* __restrict exp_avg,
               float* __restrict exp_avg_sq, int64_t begin, int64_t end, const AdamStepConstants& c) {
  // Loop-invariant flags and scalars in locals: the vectoriser unswitches on the flags and broadcasts the
  // rest.
  const float beta1 = c.beta1, beta2 = c.beta2, one_minus_beta1 = c.one_minus_beta1,
              one_minus_beta2 = c.one_minus_beta2, bias2_sqrt = c.bias2_sqrt, eps = c.eps,
              step_size = c.step_size, decay = c.decay;
  const bool l2 = c.has_decay && !c.adamw_mode, decoupled = c.has_decay && c.adamw_mode;
  for (int64_t i = begin; i < end; ++i) {  // Step_AVX's body, one element at a time
    float g = grad[i];
    float p = param[i];
    if (l2) g = p * decay + g;
    const float m = exp_avg[i] * beta1 + g * one_minus_beta1;
    const float v = exp_avg_sq[i] * beta2 + (g * g) * one_minus_beta2;
    const float denom = std::sqrt(v) * bias2_sqrt + eps;
    const float update = m / denom;
    if (decoupled) p = p * decay + p;
    param[i] = update * step_size + p;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
  }
}

ZEROSIM_HOST_CLONES
void triad(float* __restrict a, const float* __restrict b, const float* __restrict c, float s, int64_t begin,
           int64_t end) {
  for (int64_t i = begin; i < end; ++i) a[i] = b[i] + s * c[i];
}

std::string adam_step_isa() {
#ifdef ZEROSIM_HOST_HAS_CLONES
  // The resolver's order: the highest-priority clone the CPU supports.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("fma")) return "fma";
  return "baseline";
#else
  return "portable";
#endif
}

}  // namespace zerosim::calib::cpu
