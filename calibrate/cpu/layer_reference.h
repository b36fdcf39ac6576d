#pragma once
// The rest of a LLaMA decoder layer on the CPU: RMSNorm, SwiGLU, rotary embeddings, causal
// attention and the cross-entropy loss, forward and backward. Reference for the CUDA kernels
// and timed by the CPU backend.
#include <cstdint>
#include <vector>

#include "calibrate/cpu/matrix.h"

namespace zerosim::calib::cpu {

inline constexpr float kRmsNormEps = 1e-5f;

// y = x·rsqrt(mean(x²) + ε)·w per row; rstd (one per row) is saved for backward.
void rmsnorm_forward(const Matrix& x, const std::vector<float>& w, Matrix& y, std::vector<float>& rstd);
// dx only: under PEFT the norm weight is frozen.
void rmsnorm_backward(const Matrix& dy, const Matrix& x, const std::vector<float>& w,
                      const std::vector<float>& rstd, Matrix& dx);

// h = silu(gate)⊙up
void swiglu_forward(const Matrix& gate, const Matrix& up, Matrix& h);
void swiglu_backward(const Matrix& dh, const Matrix& gate, const Matrix& up, Matrix& dgate, Matrix& dup);

// cos/sin tables of HF's LlamaRotaryEmbedding for positions 0..tokens−1 (rows), head_dim columns.
struct RotaryTables {
  Matrix cos, sin;
};
RotaryTables rotary_tables(int64_t tokens, int64_t head_dim, float theta = 10000.0f);
// Rotates every head_dim-wide slice of each row of qk (q heads then k heads) in place,
// HF's rotate_half convention; backward applies the inverse rotation to the gradient.
void rotary_forward(Matrix& qk, const RotaryTables& tables);
void rotary_backward(Matrix& dqk, const RotaryTables& tables);

// Causal attention with grouped KV heads. q: T×(heads·head_dim), k, v: T×(kv_heads·head_dim),
// rows ordered (batch, position); softmax scale 1/√head_dim. Saves the per-row logsumexp and,
// like flash attention, recomputes probabilities in backward instead of storing T×seq_len.
struct AttentionShape {
  int64_t tokens, seq_len, heads, kv_heads, head_dim;
};
AttentionShape attention_shape(int64_t tokens, int64_t seq_len, int64_t q_dim, int64_t kv_dim,
                               int64_t head_dim);
void attention_forward(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                       Matrix& out, Matrix& lse /* T×heads */);
void attention_backward(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                        const Matrix& out, const Matrix& lse, const Matrix& dout, Matrix& dq, Matrix& dk,
                        Matrix& dv);

// Mean token NLL of logits (T×vocab); lse per row saved for backward. Backward writes
// (softmax − onehot)/T, the gradient of the mean.
double cross_entropy_forward(const Matrix& logits, const std::vector<int32_t>& targets,
                             std::vector<float>& lse);
void cross_entropy_backward(const Matrix& logits, const std::vector<int32_t>& targets,
                            const std::vector<float>& lse, Matrix& dlogits);

}  // namespace zerosim::calib::cpu
