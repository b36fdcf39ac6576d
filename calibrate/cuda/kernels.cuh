#pragma once
// zerosim's own CUDA kernels: the elementwise and reduction kernels of peft's DoRA sequence,
// the fused weight norm, and the non-GEMM parts of a LLaMA layer. bf16 tensors, fp32 math;
// per-row/column statistics (norms, logsumexp, dm) are fp32. Each launcher enqueues on the
// context's stream and returns without synchronising.
#include "calibrate/cuda/cuda_util.cuh"

namespace zerosim::calib::cuda {

// ---- utilities --------------------------------------------------------------------------
void fill_uniform(const Context& ctx, bf16* out, int64_t n, uint64_t seed, float scale);  // counter_random.h
void fill_value(const Context& ctx, float* out, int64_t n, float value);
void fill_eye(const Context& ctx, bf16* out, int64_t d);  // torch.eye(d)

// ---- elementwise, as PyTorch's separate kernels ------------------------------------------
void scale(const Context& ctx, const bf16* in, float c, bf16* out, int64_t n);     // out = c·in
void add(const Context& ctx, const bf16* a, const bf16* b, bf16* out, int64_t n);  // out = a + b
void mul(const Context& ctx, const bf16* a, const bf16* b, bf16* out, int64_t n);  // out = a⊙b
// out[t, j] = v[j]·in[t, j] (a 1×cols vector broadcast over rows)
void mul_row_broadcast(const Context& ctx, const bf16* in, const float* v, bf16* out, int64_t rows,
                       int64_t cols);
void add_scalar_vec(const Context& ctx, const float* v, float c, float* out, int64_t n);  // out = v + c
void div_vec(const Context& ctx, const float* a, const float* b, float* out, int64_t n);  // out = a / b
void add_vec(const Context& ctx, const float* a, const float* b, float* out, int64_t n);  // out = a + b
// out[j] = Σ_t in[t, j], fp32 accumulation
void sum_over_rows(const Context& ctx, const bf16* in, float* out, int64_t rows, int64_t cols);

// ---- DoRA weight norm --------------------------------------------------------------------
// out (rows×cols) = W0 + in_tᵀ with in_t cols×rows: the W0 + c·lora_weight add, where
// lora_weight is the transposed view of lora_B(lora_A(eye)) peft never makes contiguous.
void add_transposed(const Context& ctx, const bf16* W0, const bf16* in_t, bf16* out, int64_t rows,
                    int64_t cols);
void row_l2_norm(const Context& ctx, const bf16* W, float* out, int64_t rows, int64_t cols);
// n_i = ‖W0_i + c·B_i·A‖ for every output row i, B·A never formed; s = m/n.
void fused_weight_norm(const Context& ctx, const bf16* W0, const bf16* A, const bf16* B, const float* m,
                       float c, float* n, float* s, int64_t d_in, int64_t d_out, int64_t r);

// ---- dropout -----------------------------------------------------------------------------
// x_d = x·keep/(1−p) with the mask of counter_random.h (identical to the CPU reference's).
void dropout_forward(const Context& ctx, const bf16* x, bf16* x_d, int64_t n, float p, uint64_t seed);
// dx += keep/(1−p)·g
void dropout_backward_accumulate(const Context& ctx, const bf16* g, bf16* dx, int64_t n, float p,
                                 uint64_t seed);

// ---- LLaMA layer -------------------------------------------------------------------------
void rmsnorm_forward(const Context& ctx, const bf16* x, const bf16* w, bf16* y, float* rstd, int64_t rows,
                     int64_t cols, float eps);
void rmsnorm_backward(const Context& ctx, const bf16* dy, const bf16* x, const bf16* w, const float* rstd,
                      bf16* dx, int64_t rows, int64_t cols);
void swiglu_forward(const Context& ctx, const bf16* gate, const bf16* up, bf16* h, int64_t n);
void swiglu_backward(const Context& ctx, const bf16* dh, const bf16* gate, const bf16* up, bf16* dgate,
                     bf16* dup, int64_t n);
// Rotates every head_dim slice of each row in place; cos/sin are rows×head_dim fp32 tables.
void rotary(const Context& ctx, bf16* qk, const float* cos, const float* sin, int64_t rows, int64_t width,
            int64_t head_dim, bool inverse);
// In place over batch·heads matrices of seq×seq scores: P = softmax(scale·S) on j ≤ i, 0 above.
void causal_softmax(const Context& ctx, bf16* scores, int64_t matrices, int64_t seq, float scale);
// In place: dP → dS = P⊙(dP − Σ_j P⊙dP)
void softmax_backward(const Context& ctx, const bf16* P, bf16* dP, int64_t matrices, int64_t seq);
// lse[t] = logsumexp(logits[t, :]) in fp32, loss[t] = lse[t] − logits[t, target[t]]
void cross_entropy_forward(const Context& ctx, const bf16* logits, const int32_t* targets, float* lse,
                           float* loss, int64_t rows, int64_t vocab);
void cross_entropy_backward(const Context& ctx, const bf16* logits, const int32_t* targets, const float* lse,
                            bf16* dlogits, int64_t rows, int64_t vocab);

}  // namespace zerosim::calib::cuda
