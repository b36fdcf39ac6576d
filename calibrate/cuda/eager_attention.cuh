#pragma once
// Causal attention on the GPU, the stand-in zerosim times in place of a fused (flash) kernel:
// HF's "eager" path - batched cuBLAS GEMMs for QKᵀ and P·V, a causal softmax in fp32, and the
// matching backward (dP = dO·Vᵀ, dS = P⊙(dP − Σ P⊙dP), dQ, dK, dV). It materialises the
// b·heads·seq² probabilities and multiplies the masked half too, so it is slower than cuDNN's
// or FlashAttention's fused kernels: docs/calibration.md says so and the file records it.
#include "calibrate/cuda/cuda_util.cuh"

namespace zerosim::calib::cuda {

struct AttentionDims {
  int64_t tokens, seq_len, heads, kv_heads, head_dim;
};

class EagerAttention {
 public:
  explicit EagerAttention(const AttentionDims& dims, uint64_t seed);
  DeviceBuffer<bf16> q, k, v, out, dout, dq, dk, dv;  // rows ordered (batch, position), heads side by side
  DeviceBuffer<bf16> probs, dprobs;                   // b·heads matrices of seq×seq
  void forward(const Context& ctx);
  void backward(const Context& ctx);  // needs forward's probs
  const AttentionDims dims;

 private:
  // Device pointer tables for the batched GEMMs, one entry per (batch, head).
  DeviceBuffer<const bf16*> q_ptrs_, k_ptrs_, v_ptrs_, dout_ptrs_, p_ptrs_c_;
  DeviceBuffer<bf16*> p_ptrs_, dp_ptrs_, out_ptrs_, dq_ptrs_;
  DeviceBuffer<const bf16*> dp_ptrs_c_;
  // For dK, dV: one table per position within a KV group, so no two GEMMs of a batch write the same head.
  std::vector<DeviceBuffer<const bf16*>> grp_p_, grp_dp_, grp_q_, grp_dout_;
  std::vector<DeviceBuffer<bf16*>> grp_dk_, grp_dv_;
};

}  // namespace zerosim::calib::cuda
