#include "workloads/eager_op_bytes.h"

#include <algorithm>

namespace zerosim {

namespace {
constexpr double kF = 4;  // fp32, the dtype the norms compute in
double d(int64_t x) { return static_cast<double>(x); }
}  // namespace

double rmsnorm_bytes_per_element(bool backward, int64_t in_bytes, bool weight_trains) {
  const double b = d(in_bytes);
  const double cast = in_bytes == 4 ? 0.0 : b + kF;  // .to(float32) / .to(input_dtype); none when fp32
  if (!backward)
    // to(float32) · pow(2): r4 w4 · mean(-1): r4 · hidden * rsqrt: r4 w4 · to(input_dtype) · weight *: rb wb.
    return cast + 2 * kF + kF + 2 * kF + cast + 2 * b;
  // weight * x: grad·weight (rb wb; with a trainable weight also grad·x and its sum over tokens: 2b + 2b);
  // to(input_dtype): cast back; hidden * rsqrt: grad·rsqrt (r4 w4) and (grad·hidden).sum (r4 r4 w4, r4);
  // mean: grad.expand(...) / h (w4); pow(2): self.pow(1) is a copy (r4 w4), · 2 (r4 w4), grad · (r4 r4 w4)
  // (FunctionsManual.cpp pow_backward); the fp32 x's two gradients added (r4 r4 w4); to(float32): cast; the
  // residual stream's gradient added to the norm's (rb rb wb).
  return 2 * b + (weight_trains ? 4 * b : 0.0) + cast + 2 * kF + 4 * kF + kF + (2 * kF + 2 * kF + 3 * kF) +
         3 * kF + cast + 3 * b;
}

double layernorm_bytes_per_element(bool backward, int64_t in_bytes, bool weight_trains) {
  const double b = d(in_bytes);
  if (!backward) return 2 * b;  // native_layer_norm: reads x, writes y (and per-token mean, rstd)
  // native_layer_norm_backward: reads dy and x, writes dx; its gamma/beta kernel reads dy and x again; the
  // residual stream's gradient added.
  return 3 * b + (weight_trains ? 2 * b : 0.0) + 3 * b;
}

double rotary_bytes_per_element(bool backward, int64_t bytes, RotaryCode code) {
  const double b = d(bytes);
  const double casts = 2 * (b + kF);  // t.float() and .type_as(t), or their backward casts
  // Qwen-v1 with flash-attn (2.1+: flash_attn.layers.rotary's Triton kernel): one fused pass in fp32.
  if (code == RotaryCode::qwen_fused) return casts + 2 * kF;
  // Qwen-v1 without it: transformers' chain below in fp32, and the cat with the (empty) pass-through part.
  if (code == RotaryCode::qwen_eager)
    return casts + rotary_bytes_per_element(backward, 4) + (backward ? 0 : 2 * kF);
  // q·cos (rb wb), -x2 on half the width (rb/2 wb/2), cat (rb wb), ·sin (rb wb), the add (r2b wb).
  if (!backward) return 2 * b + b + 2 * b + 2 * b + 3 * b;
  // grad·sin, the negation's backward on half, each slice's backward (zeros of the full width, then the
  // half copied in), grad·cos, and the three gradients of q added (two adds).
  return 2 * b + b + 2 * (b + b) + 2 * b + 2 * (3 * b);
}

double swiglu_bytes_per_element(bool backward, int64_t bytes) {
  const double b = d(bytes);
  if (!backward) return 2 * b + 3 * b;  // silu(gate); silu(gate) · up
  return 3 * b + 3 * b + 3 * b;         // grad·up, grad·silu(gate), silu_backward(·, gate)
}

double gelu_bytes_per_element(bool backward, int64_t bytes) {
  const double b = d(bytes);
  return backward ? 3 * b : 2 * b;  // gelu; gelu_backward(grad, up)
}

double dora_combine_bytes_per_element(bool backward, int64_t base_bytes, int64_t lora_bytes,
                                      int64_t magnitude_bytes) {
  const double a = d(base_bytes), lr = d(lora_bytes);
  const double p1 = d(std::max(magnitude_bytes, base_bytes)), p2 = d(std::max(magnitude_bytes, lora_bytes));
  const double p3 = std::max(p1, p2);
  const double cast = p3 > a ? p3 + a : 0.0;  // result.to(torch_result_dtype)
  if (!backward)
    // (s−1)·base, s·lora, ·scaling, their sum, result + it (promoted), the cast back.
    return (a + p1) + (lr + p2) + 2 * p2 + (p1 + p2 + p3) + (a + 2 * p3) + cast;
  // The cast's and the promoted add's backward (casts), ·scaling's, s·lora's (d_lora = g·s, cast to the lora
  // dtype; d_s = (g·lora) summed over tokens), (s−1)·base's (d_base; d_s likewise), and d_base added to the
  // result's other gradient (r r w).
  return cast + cast + 2 * p2 + (p2 + lr) + (3 * p2 + lr) + (p1 + a) + (3 * p1 + a) + 3 * a;
}

double lora_forward_bytes(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r, int64_t bytes, bool dora) {
  // lora_A: reads x, writes h (T·r); lora_B: reads h, writes T·d_out; LoRA then `* scaling` (r w) and the
  // add into the base result (r r w): 6 passes over T·d_out. Both weights read once.
  const double t = d(tokens);
  return d(bytes) * (t * (d(d_in) + 2.0 * d(r) + (dora ? 1.0 : 6.0) * d(d_out)) + d(r) * d(d_in + d_out));
}

double lora_backward_bytes(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r, int64_t bytes, bool dora,
                           bool input_grad) {
  // LoRA's scaling: grad·scaling (r w); lora_B: dW reads the gradient and h, dX reads the gradient and writes
  // dh; lora_A: dW reads dh and x; with an input gradient, dX writes T·d_in and autograd adds it to the
  // gradient the base linear gives x (r r w).
  const double t = d(tokens);
  const double out = (dora ? 2.0 : 4.0) * d(d_out);
  const double in = input_grad ? 5.0 * d(d_in) : d(d_in);
  return d(bytes) * (t * (out + in + (input_grad ? 4.0 : 3.0) * d(r)) + 2.0 * d(r) * d(d_in + d_out));
}

}  // namespace zerosim
