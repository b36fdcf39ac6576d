#include <cmath>

#include "calibrate/cuda/dora_module.cuh"
#include "calibrate/cuda/gemm.cuh"
#include "calibrate/cuda/kernels.cuh"

namespace zerosim::calib::cuda {

DoraModule::DoraModule(const ModuleShape& sh, float c, float p, uint64_t seed)
    : x(sh.tokens * sh.d_in),
      G(sh.tokens * sh.d_out),
      W0(sh.d_out * sh.d_in),
      A(sh.r * sh.d_in),
      B(sh.d_out * sh.r),
      m(sh.d_out),
      x_d(p > 0 ? sh.tokens * sh.d_in : 0),
      result(sh.tokens * sh.d_out),
      y0_dropout(p > 0 ? sh.tokens * sh.d_out : 0),
      h(sh.tokens * sh.r),
      lora(sh.tokens * sh.d_out),
      y(sh.tokens * sh.d_out),
      n(sh.d_out),
      s(sh.d_out),
      G_lora(sh.tokens * sh.d_out),
      G_y0(sh.tokens * sh.d_out),
      dx(sh.tokens * sh.d_in),
      dA(sh.r * sh.d_in),
      dB(sh.d_out * sh.r),
      dm(sh.d_out),
      shape(sh),
      scaling(c),
      dropout_p(p),
      dropout_seed(seed + 99),
      eye_(sh.d_in * sh.d_in),
      eye_a_(sh.d_in * sh.r),
      ba_t_(sh.d_in * sh.d_out),
      scaled_(sh.d_in * sh.d_out),
      weight_(sh.d_out * sh.d_in),
      comb_a_(sh.tokens * sh.d_out),
      comb_b_(sh.tokens * sh.d_out),
      Gc_(sh.tokens * sh.d_out),
      tmp_(sh.tokens * sh.d_out),
      dh_(sh.tokens * sh.r),
      dx_lora_(sh.tokens * sh.d_in),
      dx_y0_(p > 0 ? sh.tokens * sh.d_in : 0),
      s_minus_1_(sh.d_out),
      ds_lora_(sh.d_out),
      ds_base_(sh.d_out) {
  // Random defaults so the backend can time without uploads; the checks overwrite them.
  Context ctx;
  const float w_scale = 1.0f / std::sqrt(static_cast<float>(sh.d_in));
  fill_uniform(ctx, x.get(), x.size(), seed + 1, 1.0f);
  fill_uniform(ctx, G.get(), G.size(), seed + 2, 1.0f);
  fill_uniform(ctx, W0.get(), W0.size(), seed + 3, w_scale);
  fill_uniform(ctx, A.get(), A.size(), seed + 4, w_scale);
  fill_uniform(ctx, B.get(), B.size(), seed + 5, 1.0f / std::sqrt(static_cast<float>(sh.r)));
  fill_value(ctx, m.get(), m.size(), 0.6f);
  check(cudaStreamSynchronize(ctx.stream()), "DoraModule init");
}

void DoraModule::linear_forward(const Context& ctx) {
  gemm(ctx, Op::none, Op::transpose, shape.tokens, shape.d_out, shape.d_in, 1.0f, x.get(), W0.get(), 0.0f,
       result.get());
}

void DoraModule::lora_forward(const Context& ctx) {
  const int64_t T = shape.tokens, td = T * shape.d_out;
  gemm(ctx, Op::none, Op::transpose, T, shape.r, shape.d_in, 1.0f, lora_input(), A.get(), 0.0f, h.get());
  gemm(ctx, Op::none, Op::transpose, T, shape.d_out, shape.r, 1.0f, h.get(), B.get(), 0.0f, lora.get());
  scale(ctx, lora.get(), scaling, lora.get(), td);
  add(ctx, y.get(), lora.get(), y.get(), td);
}

void DoraModule::lora_backward(const Context& ctx) {
  const int64_t T = shape.tokens;
  scale(ctx, G.get(), scaling, Gc_.get(), T * shape.d_out);
  gemm(ctx, Op::transpose, Op::none, shape.d_out, shape.r, T, 1.0f, Gc_.get(), h.get(), 0.0f, dB.get());
  gemm(ctx, Op::none, Op::none, T, shape.r, shape.d_out, 1.0f, Gc_.get(), B.get(), 0.0f, dh_.get());
  gemm(ctx, Op::transpose, Op::none, shape.r, shape.d_in, T, 1.0f, dh_.get(), lora_input(), 0.0f, dA.get());
  gemm(ctx, Op::none, Op::none, T, shape.d_in, shape.r, 1.0f, dh_.get(), A.get(), 0.0f, dx_lora_.get());
  add(ctx, dx.get(), dx_lora_.get(), dx.get(), T * shape.d_in);
}

void DoraModule::weight_norm_peft(const Context& ctx) {
  const int64_t di = shape.d_in, dout = shape.d_out, r = shape.r;
  fill_eye(ctx, eye_.get(), di);  // torch.eye(d_in)
  gemm(ctx, Op::none, Op::transpose, di, r, di, 1.0f, eye_.get(), A.get(), 0.0f,
       eye_a_.get());  // lora_A(eye)
  gemm(ctx, Op::none, Op::transpose, di, dout, r, 1.0f, eye_a_.get(), B.get(), 0.0f,
       ba_t_.get());  // lora_B(·)
  // scaling·lora_weight keeps the transposed layout (PyTorch preserves strides); the add with
  // the contiguous W0 then reads it transposed.
  scale(ctx, ba_t_.get(), scaling, scaled_.get(), di * dout);
  add_transposed(ctx, W0.get(), scaled_.get(), weight_.get(), dout, di);
  row_l2_norm(ctx, weight_.get(), n.get(), dout, di);
  div_vec(ctx, m.get(), n.get(), s.get(), dout);
}

void DoraModule::weight_norm_fused(const Context& ctx) {
  fused_weight_norm(ctx, W0.get(), A.get(), B.get(), m.get(), scaling, n.get(), s.get(), shape.d_in,
                    shape.d_out, shape.r);
}

void DoraModule::combine_forward(const Context& ctx) {
  const int64_t T = shape.tokens, td = T * shape.d_out;
  add_scalar_vec(ctx, s.get(), -1.0f, s_minus_1_.get(), shape.d_out);             // s − 1
  mul_row_broadcast(ctx, y0(), s_minus_1_.get(), comb_a_.get(), T, shape.d_out);  // (s−1)·base_result
  mul_row_broadcast(ctx, lora.get(), s.get(), comb_b_.get(), T, shape.d_out);     // s·lora_result
  scale(ctx, comb_b_.get(), scaling, comb_b_.get(), td);                          // ·scaling
  add(ctx, comb_a_.get(), comb_b_.get(), comb_a_.get(), td);                      // dora
  add(ctx, result.get(), comb_a_.get(), y.get(), td);                             // result + dora
}

void DoraModule::combine_backward(const Context& ctx) {
  const int64_t T = shape.tokens, td = T * shape.d_out;
  scale(ctx, G.get(), scaling, Gc_.get(), td);
  mul_row_broadcast(ctx, Gc_.get(), s.get(), G_lora.get(), T, shape.d_out);
  mul(ctx, Gc_.get(), lora.get(), tmp_.get(), td);
  sum_over_rows(ctx, tmp_.get(), ds_lora_.get(), T, shape.d_out);
  add_scalar_vec(ctx, s.get(), -1.0f, s_minus_1_.get(), shape.d_out);
  mul_row_broadcast(ctx, G.get(), s_minus_1_.get(), G_y0.get(), T, shape.d_out);
  mul(ctx, G.get(), y0(), tmp_.get(), td);
  sum_over_rows(ctx, tmp_.get(), ds_base_.get(), T, shape.d_out);
  if (dropout_p == 0.0f)
    add(ctx, G_y0.get(), G.get(), G_y0.get(), td);  // base output is `result`: G + G⊙(s−1)
  add_vec(ctx, ds_lora_.get(), ds_base_.get(), dm.get(), shape.d_out);
  div_vec(ctx, dm.get(), n.get(), dm.get(), shape.d_out);
}

void DoraModule::forward(const Context& ctx) {
  const int64_t T = shape.tokens;
  linear_forward(ctx);
  if (dropout_p > 0) dropout_forward(ctx, x.get(), x_d.get(), T * shape.d_in, dropout_p, dropout_seed);
  weight_norm_peft(ctx);
  gemm(ctx, Op::none, Op::transpose, T, shape.r, shape.d_in, 1.0f, lora_input(), A.get(), 0.0f, h.get());
  gemm(ctx, Op::none, Op::transpose, T, shape.d_out, shape.r, 1.0f, h.get(), B.get(), 0.0f, lora.get());
  if (dropout_p > 0)  // peft's second base GEMM: F.linear(dropout(x), W0)
    gemm(ctx, Op::none, Op::transpose, T, shape.d_out, shape.d_in, 1.0f, x_d.get(), W0.get(), 0.0f,
         y0_dropout.get());
  combine_forward(ctx);
}

void DoraModule::backward(const Context& ctx) {
  const int64_t T = shape.tokens;
  combine_backward(ctx);
  gemm(ctx, Op::transpose, Op::none, shape.d_out, shape.r, T, 1.0f, G_lora.get(), h.get(), 0.0f, dB.get());
  gemm(ctx, Op::none, Op::none, T, shape.r, shape.d_out, 1.0f, G_lora.get(), B.get(), 0.0f, dh_.get());
  gemm(ctx, Op::transpose, Op::none, shape.r, shape.d_in, T, 1.0f, dh_.get(), lora_input(), 0.0f, dA.get());
  gemm(ctx, Op::none, Op::none, T, shape.d_in, shape.r, 1.0f, dh_.get(), A.get(), 0.0f, dx_lora_.get());
  if (dropout_p == 0.0f) {
    gemm(ctx, Op::none, Op::none, T, shape.d_in, shape.d_out, 1.0f, G_y0.get(), W0.get(), 0.0f, dx.get());
    add(ctx, dx.get(), dx_lora_.get(), dx.get(), T * shape.d_in);
    return;
  }
  gemm(ctx, Op::none, Op::none, T, shape.d_in, shape.d_out, 1.0f, G.get(), W0.get(), 0.0f, dx.get());
  gemm(ctx, Op::none, Op::none, T, shape.d_in, shape.d_out, 1.0f, G_y0.get(), W0.get(), 0.0f, dx_y0_.get());
  add(ctx, dx_y0_.get(), dx_lora_.get(), dx_y0_.get(), T * shape.d_in);
  dropout_backward_accumulate(ctx, dx_y0_.get(), dx.get(), T * shape.d_in, dropout_p, dropout_seed);
}

}  // namespace zerosim::calib::cuda
