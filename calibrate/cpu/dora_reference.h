#pragma once
// LoRA and DoRA forward and backward on the CPU, following peft's training-time op sequence
// (docs/reference/dora-zero.md §1.3–1.6) kernel by kernel. Used as the numerical reference for
// the CUDA kernels and timed by the CPU backend.
//
// Shapes (torch conventions): x T×d_in, W0 d_out×d_in, A r×d_in, B d_out×r, m d_out,
// c = lora_alpha / r. Every function writes into caller-owned buffers so timing excludes
// allocation, as PyTorch's caching allocator does after the first step.
#include <cstdint>
#include <vector>

#include "calibrate/cpu/matrix.h"

namespace zerosim::calib::cpu {

struct DoraWeights {
  Matrix W0;             // frozen base weight
  Matrix A;              // lora_A.weight
  Matrix B;              // lora_B.weight
  std::vector<float> m;  // lora_magnitude_vector
  float scaling = 1.0f;  // c
};

// Random weights of the given shape (B non-zero so that B·A matters), m = ‖W0‖_row·(1 ± 0.1).
DoraWeights random_dora_weights(int64_t d_in, int64_t d_out, int64_t r, float scaling, uint64_t seed);

// ---- pieces timed as separate ops -------------------------------------------------------

void linear_forward(const Matrix& x, const Matrix& W, Matrix& y);       // y = x·Wᵀ
void linear_input_grad(const Matrix& G, const Matrix& W, Matrix& dx);   // dx = G·W
void linear_weight_grad(const Matrix& G, const Matrix& x, Matrix& dW);  // dW = Gᵀ·x

struct LoraForwardBuffers {
  Matrix h;     // x·Aᵀ, saved for backward
  Matrix lora;  // h·Bᵀ
};
// h = x·Aᵀ; ℓ = h·Bᵀ; ℓ *= c; y += ℓ  (peft LoRA)
void lora_forward(const Matrix& x, const Matrix& A, const Matrix& B, float c, LoraForwardBuffers& buf,
                  Matrix& y);

struct LoraBackwardBuffers {
  Matrix G_scaled;  // c·G
  Matrix dh;
  Matrix dx_lora;
};
// c·G; dB = (cG)ᵀ·h; dh = (cG)·B; dA = dhᵀ·x; dx_lora = dh·A; dx += dx_lora
void lora_backward(const Matrix& G, const Matrix& x, const Matrix& A, const Matrix& B, const Matrix& h,
                   float c, LoraBackwardBuffers& buf, Matrix& dA, Matrix& dB, Matrix& dx);

struct WeightNorm {
  std::vector<float> n;  // ‖W0 + c·B·A‖ per output row (detached)
  std::vector<float> s;  // m / n
};
struct WeightNormWorkspace {
  Matrix eye;     // d_in×d_in identity
  Matrix eye_a;   // lora_A(eye) = eye·Aᵀ, d_in×r
  Matrix ba_t;    // lora_B(·) = (B·A)ᵀ, d_in×d_out
  Matrix scaled;  // c·(B·A), d_out×d_in
  Matrix weight;  // W0 + c·B·A
};
WeightNormWorkspace make_weight_norm_workspace(int64_t d_in, int64_t d_out, int64_t r);
// peft's get_lora_weight + get_weight_norm + m/n, including the identity ("eye") product.
void dora_weight_norm_peft(const DoraWeights& w, WeightNormWorkspace& ws, WeightNorm& out);
// Row norms of W0 + c·B·A computed row by row without forming the d_out×d_in matrix.
void dora_weight_norm_fused(const DoraWeights& w, WeightNorm& out);

struct CombineBuffers {
  std::vector<float> s_minus_1;
  Matrix a;  // (s−1)⊙y0
  Matrix b;  // s⊙ℓ, then ·c, then a + b
};
// y = result + ((s−1)⊙y0 + (s⊙ℓ)·c) as peft's separate elementwise kernels. Without dropout
// `result` and `y0` are the same tensor.
void dora_combine_forward(const Matrix& result, const Matrix& y0, const Matrix& lora,
                          const std::vector<float>& s, float c, CombineBuffers& buf, Matrix& y);

struct CombineGrads {
  Matrix G_lora;  // c·G⊙s: flows into the LoRA GEMMs
  Matrix G_y0;    // G⊙s without dropout (y0 is result); G⊙(s−1) with dropout
  std::vector<float> dm;
};
struct CombineBackwardBuffers {
  Matrix Gc;   // G·c
  Matrix tmp;  // products before the reductions over tokens
  std::vector<float> ds_lora, ds_base;
};
// Autograd of dora_combine_forward: y0_is_result selects the no-dropout graph, where the base
// output receives both the direct gradient G and the DoRA term's G⊙(s−1).
void dora_combine_backward(const Matrix& G, const Matrix& y0, const Matrix& lora, const WeightNorm& norm,
                           float c, bool y0_is_result, CombineBackwardBuffers& buf, CombineGrads& out);

// ---- whole module -----------------------------------------------------------------------

struct Dropout {
  float p = 0.0f;  // lora_dropout; 0 = nn.Identity (peft reuses the base output)
  uint64_t seed = 0;
};

struct DoraForwardState {
  Matrix x_d;               // dropout(x), only when p > 0
  Matrix result;            // x·W0ᵀ
  Matrix y0_dropout;        // x_d·W0ᵀ: peft's second base GEMM, only when p > 0
  LoraForwardBuffers lora;  // h, ℓ (unscaled: DoRA applies c in the combine)
  WeightNorm norm;
  WeightNormWorkspace norm_ws;
  CombineBuffers combine;
  Matrix y;
};
DoraForwardState make_dora_forward_state(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r,
                                         const Dropout& dropout);
// Full peft DoRA forward. `external_norm`, when given, replaces the weight-norm computation:
// finite-difference tests hold the detached norm fixed while perturbing A and B.
void dora_forward(const DoraWeights& w, const Matrix& x, const Dropout& dropout, DoraForwardState& st,
                  const WeightNorm* external_norm = nullptr);

struct DoraGrads {
  Matrix dx, dA, dB;
  std::vector<float> dm;
};
struct DoraBackwardState {
  CombineBackwardBuffers combine;
  CombineGrads combine_grads;
  Matrix dh;
  Matrix dx_lora;  // dh·A
  Matrix dx_y0;    // (G⊙(s−1))·W0, second base dX with dropout
  DoraGrads grads;
};
DoraBackwardState make_dora_backward_state(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r);
// dX = (G⊙s)·W0 + ((c·G⊙s)·B)·A (dropout: base dX of x plus the masked dX of x_d), dA, dB, dm;
// no gradient for W0.
void dora_backward(const DoraWeights& w, const Matrix& x, const Dropout& dropout, const DoraForwardState& fwd,
                   const Matrix& G, DoraBackwardState& st);

}  // namespace zerosim::calib::cpu
