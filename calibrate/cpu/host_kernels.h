#pragma once
// The loops zerosim-calibrate times to measure the host (docs/calibration.md, "The host section"):
// DeepSpeedCPUAdam's update and STREAM's triad. Compiled apart from the rest of the project, with the
// flags and per-CPU versions a benchmark needs (host_kernels.cpp).
//
// adam_step is DeepSpeedCPUAdam's Step_AVX loop (csrc/includes/cpu_adam.h; docs/reference/
// deepspeed-offload.md §6): fp32 param, grad, exp_avg and exp_avg_sq; per element it reads the four and
// writes param, exp_avg and exp_avg_sq (28 B). The arithmetic is DeepSpeed's, in its order; the vector
// code is the compiler's, not DeepSpeed's AVX intrinsics.
#include <cstdint>
#include <string>

namespace zerosim::calib::cpu {

// DeepSpeedCPUAdam's constructor arguments (torch.optim.AdamW's defaults; DeepSpeed's adamw_mode=True).
struct AdamHyperparameters {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  bool adamw_mode = true;  // decoupled weight decay; false: L2 added to the gradient (plain Adam)
  bool bias_correction = true;
};

// The scalars Step_AVX broadcasts for step t, computed as Adam_Optimizer::IncrementStep and update_state
// compute them.
struct AdamStepConstants {
  float beta1 = 0, beta2 = 0;
  float one_minus_beta1 = 0, one_minus_beta2 = 0;
  float bias2_sqrt = 1;  // 1 / sqrt(1 - beta2^t), 1 without bias correction
  float eps = 0;
  float step_size = 0;  // -lr / (1 - beta1^t)
  // AdamW: -lr·weight_decay (param += param·decay before the update); Adam: weight_decay (grad +=
  // param·decay)
  float decay = 0;
  bool adamw_mode = true;
  bool has_decay = false;  // weight_decay > 0: DeepSpeed skips the decay FMA otherwise
};

// Throws std::invalid_argument for a step below 1.
AdamStepConstants adam_step_constants(const AdamHyperparameters& h, int64_t step);

// One Adam step over elements [begin, end) of the four arrays (which must not overlap).
void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t begin, int64_t end,
               const AdamStepConstants& c);

// STREAM's triad a = b + s·c over [begin, end): 12 B per element as STREAM counts it (two reads, one write).
void triad(float* a, const float* b, const float* c, float s, int64_t begin, int64_t end);
inline constexpr int64_t kTriadBytesPerElement = 12;

// Host memory bytes one element of adam_step moves: reads param, grad, exp_avg, exp_avg_sq (16 B), writes
// param, exp_avg, exp_avg_sq (12 B).
inline constexpr int64_t kAdamBytesPerElement = 28;

// Which compiled version of adam_step and triad this CPU runs: "avx512f", "fma" (AVX + FMA, 256-bit) or
// "baseline" (SSE2). The loader picks it from the CPU's features (target_clones); other targets: "portable".
std::string adam_step_isa();

}  // namespace zerosim::calib::cpu
