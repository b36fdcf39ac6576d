#include <cmath>

#include "calibrate/cuda/eager_attention.cuh"
#include "calibrate/cuda/gemm.cuh"
#include "calibrate/cuda/kernels.cuh"

namespace zerosim::calib::cuda {

namespace {

template <class T>
DeviceBuffer<T> table(const std::vector<T>& host) {
  DeviceBuffer<T> d(static_cast<int64_t>(host.size()));
  d.upload(host);
  return d;
}

}  // namespace

EagerAttention::EagerAttention(const AttentionDims& d, uint64_t seed)
    : q(d.tokens * d.heads * d.head_dim),
      k(d.tokens * d.kv_heads * d.head_dim),
      v(d.tokens * d.kv_heads * d.head_dim),
      out(d.tokens * d.heads * d.head_dim),
      dout(d.tokens * d.heads * d.head_dim),
      dq(d.tokens * d.heads * d.head_dim),
      dk(d.tokens * d.kv_heads * d.head_dim),
      dv(d.tokens * d.kv_heads * d.head_dim),
      probs(d.tokens / d.seq_len * d.heads * d.seq_len * d.seq_len),
      dprobs(d.tokens / d.seq_len * d.heads * d.seq_len * d.seq_len),
      dims(d) {
  if (d.heads % d.kv_heads || d.tokens % d.seq_len) throw std::invalid_argument("EagerAttention: shape");
  const int64_t batch = d.tokens / d.seq_len, group = d.heads / d.kv_heads, s = d.seq_len, hd = d.head_dim;
  const int64_t qd = d.heads * hd, kvd = d.kv_heads * hd;
  std::vector<const bf16*> qp, kp, vp, dop, pc, dpc;
  std::vector<bf16*> pp, dpp, op, dqp;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < d.heads; ++h) {
      const int64_t g = h / group, mat = b * d.heads + h;
      qp.push_back(q.get() + b * s * qd + h * hd);
      kp.push_back(k.get() + b * s * kvd + g * hd);
      vp.push_back(v.get() + b * s * kvd + g * hd);
      dop.push_back(dout.get() + b * s * qd + h * hd);
      pp.push_back(probs.get() + mat * s * s);
      pc.push_back(probs.get() + mat * s * s);
      dpp.push_back(dprobs.get() + mat * s * s);
      dpc.push_back(dprobs.get() + mat * s * s);
      op.push_back(out.get() + b * s * qd + h * hd);
      dqp.push_back(dq.get() + b * s * qd + h * hd);
    }
  q_ptrs_ = table(qp), k_ptrs_ = table(kp), v_ptrs_ = table(vp), dout_ptrs_ = table(dop);
  p_ptrs_ = table(pp), p_ptrs_c_ = table(pc), dp_ptrs_ = table(dpp), dp_ptrs_c_ = table(dpc);
  out_ptrs_ = table(op), dq_ptrs_ = table(dqp);
  for (int64_t gi = 0; gi < group; ++gi) {
    std::vector<const bf16*> gp, gdp, gq, gdo;
    std::vector<bf16*> gdk, gdv;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t g = 0; g < d.kv_heads; ++g) {
        const int64_t h = g * group + gi, mat = b * d.heads + h;
        gp.push_back(probs.get() + mat * s * s);
        gdp.push_back(dprobs.get() + mat * s * s);
        gq.push_back(q.get() + b * s * qd + h * hd);
        gdo.push_back(dout.get() + b * s * qd + h * hd);
        gdk.push_back(dk.get() + b * s * kvd + g * hd);
        gdv.push_back(dv.get() + b * s * kvd + g * hd);
      }
    grp_p_.push_back(table(gp)), grp_dp_.push_back(table(gdp)), grp_q_.push_back(table(gq));
    grp_dout_.push_back(table(gdo)), grp_dk_.push_back(table(gdk)), grp_dv_.push_back(table(gdv));
  }
  Context ctx;
  fill_uniform(ctx, q.get(), q.size(), seed + 1, 1.0f);
  fill_uniform(ctx, k.get(), k.size(), seed + 2, 1.0f);
  fill_uniform(ctx, v.get(), v.size(), seed + 3, 1.0f);
  fill_uniform(ctx, dout.get(), dout.size(), seed + 4, 1.0f);
  check(cudaStreamSynchronize(ctx.stream()), "EagerAttention init");
}

void EagerAttention::forward(const Context& ctx) {
  const int64_t s = dims.seq_len, hd = dims.head_dim, qd = dims.heads * hd, kvd = dims.kv_heads * hd;
  const int64_t mats = dims.tokens / s * dims.heads;
  gemm_batched(ctx, Op::none, Op::transpose, s, s, hd, 1.0f, q_ptrs_.get(), qd, k_ptrs_.get(), kvd, 0.0f,
               p_ptrs_.get(), s, mats);
  causal_softmax(ctx, probs.get(), mats, s, 1.0f / std::sqrt(static_cast<float>(hd)));
  gemm_batched(ctx, Op::none, Op::none, s, hd, s, 1.0f, p_ptrs_c_.get(), s, v_ptrs_.get(), kvd, 0.0f,
               out_ptrs_.get(), qd, mats);
}

void EagerAttention::backward(const Context& ctx) {
  const int64_t s = dims.seq_len, hd = dims.head_dim, qd = dims.heads * hd, kvd = dims.kv_heads * hd;
  const int64_t mats = dims.tokens / s * dims.heads, per_group = dims.tokens / s * dims.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  gemm_batched(ctx, Op::none, Op::transpose, s, s, hd, 1.0f, dout_ptrs_.get(), qd, v_ptrs_.get(), kvd, 0.0f,
               dp_ptrs_.get(), s, mats);         // dP = dO·Vᵀ
  for (size_t gi = 0; gi < grp_p_.size(); ++gi)  // dV = Σ_heads Pᵀ·dO
    gemm_batched(ctx, Op::transpose, Op::none, s, hd, s, 1.0f, grp_p_[gi].get(), s, grp_dout_[gi].get(), qd,
                 gi ? 1.0f : 0.0f, grp_dv_[gi].get(), kvd, per_group);
  softmax_backward(ctx, probs.get(), dprobs.get(), mats, s);  // dS (unscaled) in place
  gemm_batched(ctx, Op::none, Op::none, s, hd, s, scale, dp_ptrs_c_.get(), s, k_ptrs_.get(), kvd, 0.0f,
               dq_ptrs_.get(), qd, mats);         // dQ = scale·dS·K
  for (size_t gi = 0; gi < grp_dp_.size(); ++gi)  // dK = Σ_heads scale·dSᵀ·Q
    gemm_batched(ctx, Op::transpose, Op::none, s, hd, s, scale, grp_dp_[gi].get(), s, grp_q_[gi].get(), qd,
                 gi ? 1.0f : 0.0f, grp_dk_[gi].get(), kvd, per_group);
}

}  // namespace zerosim::calib::cuda
