#pragma once
// One LoRA/DoRA-adapted linear on the GPU with every buffer of peft's training step, and
// the peft op sequence (docs/reference/dora-zero.md §1.3–1.6) as methods: the same structure as
// cpu/dora_reference.h, so each CUDA piece is checked against its CPU counterpart.
#include "calibrate/cuda/cuda_util.cuh"

namespace zerosim::calib::cuda {

struct ModuleShape {
  int64_t tokens, d_in, d_out, r;
};

class DoraModule {
 public:
  DoraModule(const ModuleShape& shape, float scaling, float dropout_p, uint64_t seed);

  // Inputs and parameters (bf16; m fp32, as peft keeps a fp32 magnitude under autocast).
  DeviceBuffer<bf16> x, G, W0, A, B;
  DeviceBuffer<float> m;

  // Outputs and saved tensors.
  DeviceBuffer<bf16> x_d, result, y0_dropout, h, lora, y;
  DeviceBuffer<float> n, s;
  DeviceBuffer<bf16> G_lora, G_y0, dx, dA, dB;
  DeviceBuffer<float> dm;

  // ---- pieces (the ops of the catalogue) ----
  void linear_forward(const Context& ctx);     // result = x·W0ᵀ
  void lora_forward(const Context& ctx);       // h, ℓ, ℓ·c, y += ℓ  (y must hold the base output)
  void lora_backward(const Context& ctx);      // c·G, dB, dh, dA, dx_lora, dx += dx_lora
  void weight_norm_peft(const Context& ctx);   // eye trick, W0 + c·BA, row norm, s = m/n
  void weight_norm_fused(const Context& ctx);  // same n, s without forming d_out×d_in
  void combine_forward(const Context& ctx);    // y = result + (s−1)⊙y0 + c·s⊙ℓ
  void combine_backward(const Context& ctx);   // G_lora, G_y0, dm

  // ---- whole module ----
  void forward(const Context& ctx);   // peft DoRA forward; dropout_p > 0 adds the mask and a second base GEMM
  void backward(const Context& ctx);  // dX, dA, dB, dm (no dW0)

  const ModuleShape shape;
  const float scaling;
  const float dropout_p;
  const uint64_t dropout_seed;

 private:
  const bf16* lora_input() const { return dropout_p > 0 ? x_d.get() : x.get(); }
  const bf16* y0() const { return dropout_p > 0 ? y0_dropout.get() : result.get(); }

  // Temporaries of peft's sequence (allocated once, as the caching allocator would hand them out).
  DeviceBuffer<bf16> eye_, eye_a_, ba_t_, scaled_, weight_;
  DeviceBuffer<bf16> comb_a_, comb_b_, Gc_, tmp_, dh_, dx_lora_, dx_y0_;
  DeviceBuffer<float> s_minus_1_, ds_lora_, ds_base_;
};

}  // namespace zerosim::calib::cuda
