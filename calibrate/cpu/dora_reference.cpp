#include "calibrate/cpu/dora_reference.h"

#include <cmath>
#include <stdexcept>

#include "calibrate/counter_random.h"
#include "calibrate/cpu/gemm.h"
#include "calibrate/cpu/parallel.h"

namespace zerosim::calib::cpu {

namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

void scale_into(const Matrix& in, float c, Matrix& out) {
  parallel_rows(in.rows, [&](int64_t i) {
    for (int64_t j = 0; j < in.cols; ++j) out.at(i, j) = c * in.at(i, j);
  });
}

void add_in_place(Matrix& acc, const Matrix& add) {
  parallel_rows(acc.rows, [&](int64_t i) {
    for (int64_t j = 0; j < acc.cols; ++j) acc.at(i, j) += add.at(i, j);
  });
}

// out[t, j] = row_vec[j] · in[t, j]: the broadcast multiply of a 1×d_out vector.
void mul_row_broadcast(const Matrix& in, const std::vector<float>& row_vec, Matrix& out) {
  parallel_rows(in.rows, [&](int64_t t) {
    for (int64_t j = 0; j < in.cols; ++j) out.at(t, j) = row_vec[static_cast<size_t>(j)] * in.at(t, j);
  });
}

void mul_elementwise(const Matrix& a, const Matrix& b, Matrix& out) {
  parallel_rows(a.rows, [&](int64_t t) {
    for (int64_t j = 0; j < a.cols; ++j) out.at(t, j) = a.at(t, j) * b.at(t, j);
  });
}

// Σ over tokens (rows) per column, accumulated in double so the reference is not the error.
void sum_over_rows(const Matrix& in, std::vector<float>& out) {
  out.assign(static_cast<size_t>(in.cols), 0.0f);
  std::vector<double> acc(static_cast<size_t>(in.cols), 0.0);
  for (int64_t t = 0; t < in.rows; ++t)
    for (int64_t j = 0; j < in.cols; ++j) acc[static_cast<size_t>(j)] += in.at(t, j);
  for (size_t j = 0; j < acc.size(); ++j) out[j] = static_cast<float>(acc[j]);
}

void apply_dropout(const Matrix& x, const Dropout& d, Matrix& x_d) {
  const float keep_scale = 1.0f / (1.0f - d.p);
  parallel_rows(x.rows, [&](int64_t t) {
    for (int64_t j = 0; j < x.cols; ++j) {
      const auto idx = static_cast<uint64_t>(t * x.cols + j);
      x_d.at(t, j) = dropout_keep(d.seed, idx, d.p) ? x.at(t, j) * keep_scale : 0.0f;
    }
  });
}

double row_sum_of_squares(const float* row, int64_t n) {
  double acc = 0;
  for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(row[j]) * row[j];
  return acc;
}

void divide_magnitude(const std::vector<float>& m, WeightNorm& out) {
  out.s.resize(m.size());
  for (size_t i = 0; i < m.size(); ++i) out.s[i] = m[i] / out.n[i];
}

}  // namespace

DoraWeights random_dora_weights(int64_t d_in, int64_t d_out, int64_t r, float scaling, uint64_t seed) {
  DoraWeights w{Matrix(d_out, d_in), Matrix(r, d_in), Matrix(d_out, r), {}, scaling};
  const float w_scale = 1.0f / std::sqrt(static_cast<float>(d_in));
  fill_uniform(w.W0, seed + 1, w_scale);
  fill_uniform(w.A, seed + 2, w_scale);
  fill_uniform(w.B, seed + 3, 1.0f / std::sqrt(static_cast<float>(r)));
  std::vector<float> jitter(static_cast<size_t>(d_out));
  fill_uniform(jitter, seed + 4, 0.1f);
  w.m.resize(static_cast<size_t>(d_out));
  for (int64_t i = 0; i < d_out; ++i)
    w.m[static_cast<size_t>(i)] = static_cast<float>(std::sqrt(row_sum_of_squares(w.W0.ptr(i, 0), d_in))) *
                                  (1.0f + jitter[static_cast<size_t>(i)]);
  return w;
}

void linear_forward(const Matrix& x, const Matrix& W, Matrix& y) {
  gemm(Op::none, Op::transpose, 1.0f, x, W, 0.0f, y);
}
void linear_input_grad(const Matrix& G, const Matrix& W, Matrix& dx) {
  gemm(Op::none, Op::none, 1.0f, G, W, 0.0f, dx);
}
void linear_weight_grad(const Matrix& G, const Matrix& x, Matrix& dW) {
  gemm(Op::transpose, Op::none, 1.0f, G, x, 0.0f, dW);
}

void lora_forward(const Matrix& x, const Matrix& A, const Matrix& B, float c, LoraForwardBuffers& buf,
                  Matrix& y) {
  gemm(Op::none, Op::transpose, 1.0f, x, A, 0.0f, buf.h);
  gemm(Op::none, Op::transpose, 1.0f, buf.h, B, 0.0f, buf.lora);
  scale_into(buf.lora, c, buf.lora);
  add_in_place(y, buf.lora);
}

void lora_backward(const Matrix& G, const Matrix& x, const Matrix& A, const Matrix& B, const Matrix& h,
                   float c, LoraBackwardBuffers& buf, Matrix& dA, Matrix& dB, Matrix& dx) {
  scale_into(G, c, buf.G_scaled);
  gemm(Op::transpose, Op::none, 1.0f, buf.G_scaled, h, 0.0f, dB);
  gemm(Op::none, Op::none, 1.0f, buf.G_scaled, B, 0.0f, buf.dh);
  gemm(Op::transpose, Op::none, 1.0f, buf.dh, x, 0.0f, dA);
  gemm(Op::none, Op::none, 1.0f, buf.dh, A, 0.0f, buf.dx_lora);
  add_in_place(dx, buf.dx_lora);
}

WeightNormWorkspace make_weight_norm_workspace(int64_t d_in, int64_t d_out, int64_t r) {
  return {Matrix(d_in, d_in), Matrix(d_in, r), Matrix(d_in, d_out), Matrix(d_out, d_in), Matrix(d_out, d_in)};
}

void dora_weight_norm_peft(const DoraWeights& w, WeightNormWorkspace& ws, WeightNorm& out) {
  const int64_t d_in = w.W0.cols, d_out = w.W0.rows;
  require(ws.eye.rows == d_in && ws.weight.rows == d_out, "dora_weight_norm_peft: workspace shape");
  // torch.eye(d_in): peft calls the lora modules on an identity so FSDP/ZeRO-3 hooks fire.
  parallel_rows(d_in, [&](int64_t i) {
    float* row = ws.eye.ptr(i, 0);
    for (int64_t j = 0; j < d_in; ++j) row[j] = 0.0f;
    row[i] = 1.0f;
  });
  gemm(Op::none, Op::transpose, 1.0f, ws.eye, w.A, 0.0f, ws.eye_a);   // lora_A(eye)
  gemm(Op::none, Op::transpose, 1.0f, ws.eye_a, w.B, 0.0f, ws.ba_t);  // lora_B(·) = (BA)ᵀ
  // c·lora_weight with lora_weight = (BA)ᵀ.T, then W0 + ·: two passes, as in peft.
  parallel_rows(d_out, [&](int64_t i) {
    for (int64_t j = 0; j < d_in; ++j) ws.scaled.at(i, j) = w.scaling * ws.ba_t.at(j, i);
  });
  parallel_rows(d_out, [&](int64_t i) {
    for (int64_t j = 0; j < d_in; ++j) ws.weight.at(i, j) = w.W0.at(i, j) + ws.scaled.at(i, j);
  });
  out.n.resize(static_cast<size_t>(d_out));
  parallel_rows(d_out, [&](int64_t i) {
    out.n[static_cast<size_t>(i)] =
        static_cast<float>(std::sqrt(row_sum_of_squares(ws.weight.ptr(i, 0), d_in)));
  });
  divide_magnitude(w.m, out);
}

void dora_weight_norm_fused(const DoraWeights& w, WeightNorm& out) {
  const int64_t d_in = w.W0.cols, d_out = w.W0.rows, r = w.A.rows;
  constexpr int64_t kRowsPerBlock = 32;  // a 32×d_in tile of B·A lives in cache, never the whole matrix
  out.n.resize(static_cast<size_t>(d_out));
  const int64_t blocks = (d_out + kRowsPerBlock - 1) / kRowsPerBlock;
  parallel_rows(blocks, [&](int64_t blk) {
    const int64_t row0 = blk * kRowsPerBlock;
    const int64_t rows = std::min(kRowsPerBlock, d_out - row0);
    // tile = c·B[rows]·A by axpy over r (no BLAS call: OpenBLAS is not re-entered from OpenMP threads).
    std::vector<float> tile(static_cast<size_t>(rows * d_in), 0.0f);
    for (int64_t i = 0; i < rows; ++i) {
      float* out_row = &tile[static_cast<size_t>(i * d_in)];
      for (int64_t k = 0; k < r; ++k) {
        const float b = w.scaling * w.B.at(row0 + i, k);
        const float* a_row = w.A.ptr(k, 0);
        for (int64_t j = 0; j < d_in; ++j) out_row[j] += b * a_row[j];
      }
    }
    for (int64_t i = 0; i < rows; ++i) {
      const float* w0 = w.W0.ptr(row0 + i, 0);
      const float* ba = &tile[static_cast<size_t>(i * d_in)];
      double acc = 0;
      for (int64_t j = 0; j < d_in; ++j) {
        const double v = static_cast<double>(w0[j]) + ba[j];
        acc += v * v;
      }
      out.n[static_cast<size_t>(row0 + i)] = static_cast<float>(std::sqrt(acc));
    }
  });
  divide_magnitude(w.m, out);
}

void dora_combine_forward(const Matrix& result, const Matrix& y0, const Matrix& lora,
                          const std::vector<float>& s, float c, CombineBuffers& buf, Matrix& y) {
  buf.s_minus_1.resize(s.size());
  for (size_t j = 0; j < s.size(); ++j) buf.s_minus_1[j] = s[j] - 1.0f;
  mul_row_broadcast(y0, buf.s_minus_1, buf.a);  // (s−1)·base_result
  mul_row_broadcast(lora, s, buf.b);            // s·lora_result
  scale_into(buf.b, c, buf.b);                  // ·scaling
  add_in_place(buf.a, buf.b);                   // dora
  parallel_rows(y.rows, [&](int64_t t) {        // result + dora
    for (int64_t j = 0; j < y.cols; ++j) y.at(t, j) = result.at(t, j) + buf.a.at(t, j);
  });
}

void dora_combine_backward(const Matrix& G, const Matrix& y0, const Matrix& lora, const WeightNorm& norm,
                           float c, bool y0_is_result, CombineBackwardBuffers& buf, CombineGrads& out) {
  scale_into(G, c, buf.Gc);
  mul_row_broadcast(buf.Gc, norm.s, out.G_lora);
  mul_elementwise(buf.Gc, lora, buf.tmp);
  sum_over_rows(buf.tmp, buf.ds_lora);
  std::vector<float> s_minus_1(norm.s.size());
  for (size_t j = 0; j < s_minus_1.size(); ++j) s_minus_1[j] = norm.s[j] - 1.0f;
  mul_row_broadcast(G, s_minus_1, out.G_y0);
  mul_elementwise(G, y0, buf.tmp);
  sum_over_rows(buf.tmp, buf.ds_base);
  if (y0_is_result) add_in_place(out.G_y0, G);
  out.dm.resize(norm.n.size());
  for (size_t j = 0; j < out.dm.size(); ++j) out.dm[j] = (buf.ds_lora[j] + buf.ds_base[j]) / norm.n[j];
}

DoraForwardState make_dora_forward_state(int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                         const Dropout& dropout) {
  DoraForwardState st;
  if (dropout.p > 0) {
    st.x_d = Matrix(T, d_in);
    st.y0_dropout = Matrix(T, d_out);
  }
  st.result = Matrix(T, d_out);
  st.lora = {Matrix(T, r), Matrix(T, d_out)};
  st.norm_ws = make_weight_norm_workspace(d_in, d_out, r);
  st.combine = {{}, Matrix(T, d_out), Matrix(T, d_out)};
  st.y = Matrix(T, d_out);
  return st;
}

void dora_forward(const DoraWeights& w, const Matrix& x, const Dropout& dropout, DoraForwardState& st,
                  const WeightNorm* external_norm) {
  require(dropout.p >= 0 && dropout.p < 1, "dora_forward: dropout must be in [0, 1)");
  linear_forward(x, w.W0, st.result);  // result = base_layer(x)
  const bool with_dropout = dropout.p > 0;
  if (with_dropout) apply_dropout(x, dropout, st.x_d);
  const Matrix& x_d = with_dropout ? st.x_d : x;
  if (external_norm)
    st.norm = *external_norm;
  else
    dora_weight_norm_peft(w, st.norm_ws, st.norm);
  gemm(Op::none, Op::transpose, 1.0f, x_d, w.A, 0.0f, st.lora.h);           // lora_A(x_d)
  gemm(Op::none, Op::transpose, 1.0f, st.lora.h, w.B, 0.0f, st.lora.lora);  // lora_B(·)
  if (with_dropout) linear_forward(x_d, w.W0, st.y0_dropout);               // peft's second base GEMM
  const Matrix& y0 = with_dropout ? st.y0_dropout : st.result;
  dora_combine_forward(st.result, y0, st.lora.lora, st.norm.s, w.scaling, st.combine, st.y);
}

DoraBackwardState make_dora_backward_state(int64_t T, int64_t d_in, int64_t d_out, int64_t r) {
  DoraBackwardState st;
  st.combine = {Matrix(T, d_out), Matrix(T, d_out), {}, {}};
  st.combine_grads = {Matrix(T, d_out), Matrix(T, d_out), {}};
  st.dh = Matrix(T, r);
  st.dx_lora = Matrix(T, d_in);
  st.dx_y0 = Matrix(T, d_in);
  st.grads = {Matrix(T, d_in), Matrix(r, d_in), Matrix(d_out, r), {}};
  return st;
}

void dora_backward(const DoraWeights& w, const Matrix& x, const Dropout& dropout, const DoraForwardState& fwd,
                   const Matrix& G, DoraBackwardState& st) {
  const bool with_dropout = dropout.p > 0;
  const Matrix& x_d = with_dropout ? fwd.x_d : x;
  const Matrix& y0 = with_dropout ? fwd.y0_dropout : fwd.result;
  dora_combine_backward(G, y0, fwd.lora.lora, fwd.norm, w.scaling, !with_dropout, st.combine,
                        st.combine_grads);
  const Matrix& G_lora = st.combine_grads.G_lora;
  gemm(Op::transpose, Op::none, 1.0f, G_lora, fwd.lora.h, 0.0f, st.grads.dB);  // dB = G_ℓᵀ·h
  gemm(Op::none, Op::none, 1.0f, G_lora, w.B, 0.0f, st.dh);                    // dh = G_ℓ·B
  gemm(Op::transpose, Op::none, 1.0f, st.dh, x_d, 0.0f, st.grads.dA);          // dA = dhᵀ·x_d
  gemm(Op::none, Op::none, 1.0f, st.dh, w.A, 0.0f, st.dx_lora);                // dx_lora = dh·A
  st.grads.dm = st.combine_grads.dm;
  if (!with_dropout) {
    linear_input_grad(st.combine_grads.G_y0, w.W0, st.grads.dx);  // (G⊙s)·W0
    add_in_place(st.grads.dx, st.dx_lora);
    return;
  }
  linear_input_grad(G, w.W0, st.grads.dx);                   // base_layer(x): G·W0
  linear_input_grad(st.combine_grads.G_y0, w.W0, st.dx_y0);  // second base GEMM: (G⊙(s−1))·W0
  add_in_place(st.dx_y0, st.dx_lora);                        // gradient w.r.t. x_d
  const float keep_scale = 1.0f / (1.0f - dropout.p);
  parallel_rows(x.rows, [&](int64_t t) {  // dropout backward, then + base dX
    for (int64_t j = 0; j < x.cols; ++j) {
      const auto idx = static_cast<uint64_t>(t * x.cols + j);
      const float mask = dropout_keep(dropout.seed, idx, dropout.p) ? keep_scale : 0.0f;
      st.grads.dx.at(t, j) += mask * st.dx_y0.at(t, j);
    }
  });
}

}  // namespace zerosim::calib::cpu
