#include "calibrate/cpu/layer_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "calibrate/cpu/gemm.h"
#include "calibrate/cpu/parallel.h"

namespace zerosim::calib::cpu {

namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Query rows handled per GEMM in attention: a block only needs the keys up to its last row,
// which is how a causal kernel skips (about) half of the dense work.
constexpr int64_t kQueryBlock = 128;

}  // namespace

void rmsnorm_forward(const Matrix& x, const std::vector<float>& w, Matrix& y, std::vector<float>& rstd) {
  const int64_t h = x.cols;
  rstd.resize(static_cast<size_t>(x.rows));
  parallel_rows(x.rows, [&](int64_t t) {
    double ss = 0;
    for (int64_t j = 0; j < h; ++j) ss += static_cast<double>(x.at(t, j)) * x.at(t, j);
    const float r = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(h) + kRmsNormEps));
    rstd[static_cast<size_t>(t)] = r;
    for (int64_t j = 0; j < h; ++j) y.at(t, j) = x.at(t, j) * r * w[static_cast<size_t>(j)];
  });
}

void rmsnorm_backward(const Matrix& dy, const Matrix& x, const std::vector<float>& w,
                      const std::vector<float>& rstd, Matrix& dx) {
  const int64_t h = x.cols;
  parallel_rows(x.rows, [&](int64_t t) {
    // y_j = x_j·r·w_j with r = (mean x² + ε)^−½  ⇒  dx_j = r·w_j·dy_j − x_j·r³/h·Σ_k w_k·dy_k·x_k
    const float r = rstd[static_cast<size_t>(t)];
    double dot = 0;
    for (int64_t j = 0; j < h; ++j)
      dot += static_cast<double>(w[static_cast<size_t>(j)]) * dy.at(t, j) * x.at(t, j);
    const float coef = static_cast<float>(dot / static_cast<double>(h)) * r * r * r;
    for (int64_t j = 0; j < h; ++j)
      dx.at(t, j) = r * w[static_cast<size_t>(j)] * dy.at(t, j) - x.at(t, j) * coef;
  });
}

void swiglu_forward(const Matrix& gate, const Matrix& up, Matrix& h) {
  parallel_rows(gate.rows, [&](int64_t t) {
    for (int64_t j = 0; j < gate.cols; ++j) {
      const float g = gate.at(t, j);
      h.at(t, j) = g * sigmoid(g) * up.at(t, j);
    }
  });
}

void swiglu_backward(const Matrix& dh, const Matrix& gate, const Matrix& up, Matrix& dgate, Matrix& dup) {
  parallel_rows(gate.rows, [&](int64_t t) {
    for (int64_t j = 0; j < gate.cols; ++j) {
      const float g = gate.at(t, j), sg = sigmoid(g);
      dup.at(t, j) = dh.at(t, j) * g * sg;
      dgate.at(t, j) = dh.at(t, j) * up.at(t, j) * sg * (1.0f + g * (1.0f - sg));
    }
  });
}

RotaryTables rotary_tables(int64_t tokens, int64_t head_dim, float theta) {
  RotaryTables tab{Matrix(tokens, head_dim), Matrix(tokens, head_dim)};
  const int64_t half = head_dim / 2;
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double inv_freq =
          std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
      const double angle = static_cast<double>(t) * inv_freq;
      tab.cos.at(t, i) = tab.cos.at(t, i + half) = static_cast<float>(std::cos(angle));
      tab.sin.at(t, i) = tab.sin.at(t, i + half) = static_cast<float>(std::sin(angle));
    }
  return tab;
}

namespace {
// out = x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁]; sign = −1 applies the inverse.
void rotate_rows(Matrix& qk, const RotaryTables& tab, float sign) {
  const int64_t hd = tab.cos.cols, half = hd / 2;
  if (qk.cols % hd != 0) throw std::invalid_argument("rotary: row width is not a multiple of head_dim");
  parallel_rows(qk.rows, [&](int64_t t) {
    for (int64_t head = 0; head < qk.cols / hd; ++head) {
      float* x = qk.ptr(t, head * hd);
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = x[i], x2 = x[i + half];
        const float c1 = tab.cos.at(t, i), s1 = sign * tab.sin.at(t, i);
        const float c2 = tab.cos.at(t, i + half), s2 = sign * tab.sin.at(t, i + half);
        x[i] = x1 * c1 - x2 * s1;
        x[i + half] = x2 * c2 + x1 * s2;
      }
    }
  });
}
}  // namespace

void rotary_forward(Matrix& qk, const RotaryTables& tables) { rotate_rows(qk, tables, 1.0f); }
// The rotation is orthogonal: its gradient is the rotation by the opposite angle.
void rotary_backward(Matrix& dqk, const RotaryTables& tables) { rotate_rows(dqk, tables, -1.0f); }

AttentionShape attention_shape(int64_t tokens, int64_t seq_len, int64_t q_dim, int64_t kv_dim,
                               int64_t head_dim) {
  if (head_dim <= 0 || q_dim % head_dim || kv_dim % head_dim || tokens % seq_len)
    throw std::invalid_argument(
        "attention: q_dim, kv_dim must be multiples of head_dim and tokens of seq_len");
  const AttentionShape s{tokens, seq_len, q_dim / head_dim, kv_dim / head_dim, head_dim};
  if (s.heads % s.kv_heads) throw std::invalid_argument("attention: heads must be a multiple of kv_heads");
  return s;
}

void attention_forward(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                       Matrix& out, Matrix& lse) {
  const int64_t qd = s.heads * s.head_dim, kvd = s.kv_heads * s.head_dim, group = s.heads / s.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  std::vector<float> scores(static_cast<size_t>(kQueryBlock * s.seq_len));
  for (int64_t b = 0; b < s.tokens / s.seq_len; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t row0 = b * s.seq_len, g = h / group;
      for (int64_t i0 = 0; i0 < s.seq_len; i0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, s.seq_len - i0), keys = i0 + rows;
        gemm_strided(Op::none, Op::transpose, rows, keys, s.head_dim, scale, q.ptr(row0 + i0, h * s.head_dim),
                     qd, k.ptr(row0, g * s.head_dim), kvd, 0.0f, scores.data(), keys);
        parallel_rows(rows, [&](int64_t i) {
          float* p = &scores[static_cast<size_t>(i * keys)];
          const int64_t visible = i0 + i + 1;  // causal: query i sees keys 0..i
          float mx = -std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j < visible; ++j) mx = std::max(mx, p[j]);
          double sum = 0;
          for (int64_t j = 0; j < visible; ++j) sum += (p[j] = std::exp(p[j] - mx));
          const float inv = static_cast<float>(1.0 / sum);
          for (int64_t j = 0; j < visible; ++j) p[j] *= inv;
          for (int64_t j = visible; j < keys; ++j) p[j] = 0.0f;
          lse.at(row0 + i0 + i, h) = mx + static_cast<float>(std::log(sum));
        });
        gemm_strided(Op::none, Op::none, rows, s.head_dim, keys, 1.0f, scores.data(), keys,
                     v.ptr(row0, g * s.head_dim), kvd, 0.0f, out.ptr(row0 + i0, h * s.head_dim), qd);
      }
    }
}

void attention_backward(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                        const Matrix& out, const Matrix& lse, const Matrix& dout, Matrix& dq, Matrix& dk,
                        Matrix& dv) {
  const int64_t qd = s.heads * s.head_dim, kvd = s.kv_heads * s.head_dim, group = s.heads / s.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  std::fill(dk.v.begin(), dk.v.end(), 0.0f);
  std::fill(dv.v.begin(), dv.v.end(), 0.0f);
  std::vector<float> p(static_cast<size_t>(kQueryBlock * s.seq_len)), dp(p.size());
  for (int64_t b = 0; b < s.tokens / s.seq_len; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t row0 = b * s.seq_len, g = h / group;
      const float* K = k.ptr(row0, g * s.head_dim);
      const float* V = v.ptr(row0, g * s.head_dim);
      for (int64_t i0 = 0; i0 < s.seq_len; i0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, s.seq_len - i0), keys = i0 + rows;
        const float* Q = q.ptr(row0 + i0, h * s.head_dim);
        const float* dO = dout.ptr(row0 + i0, h * s.head_dim);
        // Recompute P = exp(scale·QKᵀ − lse) on the causal part.
        gemm_strided(Op::none, Op::transpose, rows, keys, s.head_dim, scale, Q, qd, K, kvd, 0.0f, p.data(),
                     keys);
        gemm_strided(Op::none, Op::transpose, rows, keys, s.head_dim, 1.0f, dO, qd, V, kvd, 0.0f, dp.data(),
                     keys);
        parallel_rows(rows, [&](int64_t i) {
          float* pr = &p[static_cast<size_t>(i * keys)];
          float* dpr = &dp[static_cast<size_t>(i * keys)];
          const int64_t visible = i0 + i + 1;
          const float l = lse.at(row0 + i0 + i, h);
          double delta = 0;  // D_i = Σ_d dO_id·O_id = Σ_j P_ij·dP_ij
          for (int64_t d = 0; d < s.head_dim; ++d)
            delta += static_cast<double>(dout.at(row0 + i0 + i, h * s.head_dim + d)) *
                     out.at(row0 + i0 + i, h * s.head_dim + d);
          for (int64_t j = 0; j < keys; ++j) {
            pr[j] = j < visible ? std::exp(pr[j] - l) : 0.0f;
            dpr[j] = pr[j] * (dpr[j] - static_cast<float>(delta));  // dS
          }
        });
        // dV += Pᵀ·dO ; dQ = scale·dS·K ; dK += scale·dSᵀ·Q  (KV heads shared by `group` query heads)
        gemm_strided(Op::transpose, Op::none, keys, s.head_dim, rows, 1.0f, p.data(), keys, dO, qd, 1.0f,
                     dv.ptr(row0, g * s.head_dim), kvd);
        gemm_strided(Op::none, Op::none, rows, s.head_dim, keys, scale, dp.data(), keys, K, kvd, 0.0f,
                     dq.ptr(row0 + i0, h * s.head_dim), qd);
        gemm_strided(Op::transpose, Op::none, keys, s.head_dim, rows, scale, dp.data(), keys, Q, qd, 1.0f,
                     dk.ptr(row0, g * s.head_dim), kvd);
      }
    }
}

double cross_entropy_forward(const Matrix& logits, const std::vector<int32_t>& targets,
                             std::vector<float>& lse) {
  lse.resize(static_cast<size_t>(logits.rows));
  std::vector<double> loss(static_cast<size_t>(logits.rows));
  parallel_rows(logits.rows, [&](int64_t t) {
    const float* row = logits.ptr(t, 0);
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < logits.cols; ++j) mx = std::max(mx, row[j]);
    double sum = 0;
    for (int64_t j = 0; j < logits.cols; ++j) sum += std::exp(static_cast<double>(row[j] - mx));
    const double l = mx + std::log(sum);
    lse[static_cast<size_t>(t)] = static_cast<float>(l);
    loss[static_cast<size_t>(t)] = l - row[targets[static_cast<size_t>(t)]];
  });
  double total = 0;
  for (double l : loss) total += l;
  return total / static_cast<double>(logits.rows);
}

void cross_entropy_backward(const Matrix& logits, const std::vector<int32_t>& targets,
                            const std::vector<float>& lse, Matrix& dlogits) {
  const float inv_t = 1.0f / static_cast<float>(logits.rows);
  parallel_rows(logits.rows, [&](int64_t t) {
    const float l = lse[static_cast<size_t>(t)];
    for (int64_t j = 0; j < logits.cols; ++j) dlogits.at(t, j) = std::exp(logits.at(t, j) - l) * inv_t;
    dlogits.at(t, targets[static_cast<size_t>(t)]) -= inv_t;
  });
}

}  // namespace zerosim::calib::cpu
