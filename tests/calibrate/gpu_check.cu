// calibrate_gpu_check <kernel>: runs one CUDA piece of calibrate/ on small shapes and compares
// it with the fp32 CPU reference computed from the same bf16-rounded inputs.
//
// Error measure: ‖gpu − cpu‖₂ / ‖cpu‖₂ over the whole output. Bounds (bf16 unit roundoff
// u = 2⁻⁸ ≈ 3.9e-3; GEMMs accumulate in fp32, so a single kernel's error is dominated by
// rounding its output to bf16, ≤ u/2 per element):
//   kOne   = 1e-2  one GEMM or one elementwise/reduction kernel
//   kChain = 3e-2  sequences that round several bf16 intermediates (DoRA forward/backward,
//                  the LoRA backward through dh, attention backward through P and dS)
// Exit codes: 0 within bounds, 1 outside, 77 no CUDA device (CTest reports it as skipped).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calibrate/cpu/dora_reference.h"
#include "calibrate/cpu/gemm.h"
#include "calibrate/cpu/layer_reference.h"
#include "calibrate/cuda/dora_module.cuh"
#include "calibrate/cuda/eager_attention.cuh"
#include "calibrate/cuda/gemm.cuh"
#include "calibrate/cuda/kernels.cuh"

namespace {

using namespace zerosim::calib;
using cpu::Matrix;
using cuda::bf16;
using cuda::Context;
using cuda::DeviceBuffer;

constexpr double kOne = 1e-2;
constexpr double kChain = 3e-2;

float round_bf16(float v) { return __bfloat162float(__float2bfloat16(v)); }
void round_all(std::vector<float>& v) {
  for (float& x : v) x = round_bf16(x);
}
void round_all(Matrix& m) { round_all(m.v); }

Matrix random_rounded(int64_t rows, int64_t cols, uint64_t seed, float scale = 1.0f) {
  Matrix m(rows, cols);
  cpu::fill_uniform(m, seed, scale);
  round_all(m);
  return m;
}

void upload(DeviceBuffer<bf16>& d, const std::vector<float>& host) {
  std::vector<bf16> b(host.size());
  for (size_t i = 0; i < host.size(); ++i) b[i] = __float2bfloat16(host[i]);
  d.upload(b);
}
void upload(DeviceBuffer<float>& d, const std::vector<float>& host) { d.upload(host); }

std::vector<float> download(const DeviceBuffer<bf16>& d) {
  const std::vector<bf16> b = d.download();
  std::vector<float> out(b.size());
  for (size_t i = 0; i < b.size(); ++i) out[i] = __bfloat162float(b[i]);
  return out;
}
std::vector<float> download(const DeviceBuffer<float>& d) { return d.download(); }

bool all_ok = true;

void expect_close(const std::string& what, const std::vector<float>& gpu, const std::vector<float>& ref,
                  double bound) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < ref.size() && i < gpu.size(); ++i) {
    diff += (static_cast<double>(gpu[i]) - ref[i]) * (static_cast<double>(gpu[i]) - ref[i]);
    norm += static_cast<double>(ref[i]) * ref[i];
  }
  const double rel = gpu.size() == ref.size() && norm > 0 ? std::sqrt(diff / norm) : INFINITY;
  const bool ok = rel <= bound;
  all_ok = all_ok && ok;
  std::printf("%-34s relative error %.3e (bound %.0e) %s\n", what.c_str(), rel, bound, ok ? "ok" : "FAIL");
}

void sync(const Context& ctx) { cuda::check(cudaStreamSynchronize(ctx.stream()), "sync"); }

struct Shape {
  int64_t T, d_in, d_out, r;
};
const std::vector<Shape> kShapes = {{64, 96, 80, 8}, {128, 256, 192, 16}};

// A GPU module and CPU weights holding the same bf16-rounded values.
struct Pair {
  cuda::DoraModule gpu;
  cpu::DoraWeights w;
  Matrix x, G;
  cpu::Dropout dropout;
};
std::unique_ptr<Pair> make_pair(const Shape& s, float dropout_p, uint64_t seed) {
  auto p =
      std::unique_ptr<Pair>(new Pair{cuda::DoraModule({s.T, s.d_in, s.d_out, s.r}, 2.0f, dropout_p, seed),
                                     cpu::random_dora_weights(s.d_in, s.d_out, s.r, 2.0f, seed),
                                     Matrix(),
                                     Matrix(),
                                     {}});
  round_all(p->w.W0), round_all(p->w.A), round_all(p->w.B);
  p->x = random_rounded(s.T, s.d_in, seed + 10);
  p->G = random_rounded(s.T, s.d_out, seed + 11);
  p->dropout = {dropout_p, p->gpu.dropout_seed};
  upload(p->gpu.W0, p->w.W0.v), upload(p->gpu.A, p->w.A.v), upload(p->gpu.B, p->w.B.v),
      upload(p->gpu.m, p->w.m);
  upload(p->gpu.x, p->x.v), upload(p->gpu.G, p->G.v);
  return p;
}

std::string tag(const char* name, const Shape& s) {
  return std::string(name) + " " + std::to_string(s.T) + "x" + std::to_string(s.d_in) + "->" +
         std::to_string(s.d_out) + " r" + std::to_string(s.r);
}

void check_linear(const Context& ctx) {
  for (const Shape& s : kShapes) {
    auto p = make_pair(s, 0.0f, 1);
    DeviceBuffer<bf16> dx(s.T * s.d_in), dw(s.d_out * s.d_in);
    p->gpu.linear_forward(ctx);
    cuda::gemm(ctx, cuda::Op::none, cuda::Op::none, s.T, s.d_in, s.d_out, 1.0f, p->gpu.G.get(),
               p->gpu.W0.get(), 0.0f, dx.get());
    cuda::gemm(ctx, cuda::Op::transpose, cuda::Op::none, s.d_out, s.d_in, s.T, 1.0f, p->gpu.G.get(),
               p->gpu.x.get(), 0.0f, dw.get());
    sync(ctx);
    Matrix y(s.T, s.d_out), rdx(s.T, s.d_in), rdw(s.d_out, s.d_in);
    cpu::linear_forward(p->x, p->w.W0, y);
    cpu::linear_input_grad(p->G, p->w.W0, rdx);
    cpu::linear_weight_grad(p->G, p->x, rdw);
    expect_close(tag("linear_fwd", s), download(p->gpu.result), y.v, kOne);
    expect_close(tag("linear_dx", s), download(dx), rdx.v, kOne);
    expect_close(tag("linear_dw", s), download(dw), rdw.v, kOne);
  }
}

void check_lora(const Context& ctx, bool backward) {
  for (const Shape& s : kShapes) {
    auto p = make_pair(s, 0.0f, 2);
    Matrix y = random_rounded(s.T, s.d_out, 50);
    upload(p->gpu.y, y.v);
    cuda::check(cudaMemset(p->gpu.dx.get(), 0, sizeof(bf16) * static_cast<size_t>(p->gpu.dx.size())),
                "memset");
    p->gpu.lora_forward(ctx);
    if (backward) p->gpu.lora_backward(ctx);
    sync(ctx);
    cpu::LoraForwardBuffers fb{Matrix(s.T, s.r), Matrix(s.T, s.d_out)};
    cpu::lora_forward(p->x, p->w.A, p->w.B, p->w.scaling, fb, y);
    if (!backward) {
      expect_close(tag("lora_fwd y", s), download(p->gpu.y), y.v, kOne);
      expect_close(tag("lora_fwd h", s), download(p->gpu.h), fb.h.v, kOne);
      continue;
    }
    cpu::LoraBackwardBuffers bb{Matrix(s.T, s.d_out), Matrix(s.T, s.r), Matrix(s.T, s.d_in)};
    Matrix dA(s.r, s.d_in), dB(s.d_out, s.r), dx(s.T, s.d_in);
    cpu::lora_backward(p->G, p->x, p->w.A, p->w.B, fb.h, p->w.scaling, bb, dA, dB, dx);
    expect_close(tag("lora_bwd dA", s), download(p->gpu.dA), dA.v, kChain);
    expect_close(tag("lora_bwd dB", s), download(p->gpu.dB), dB.v, kChain);
    expect_close(tag("lora_bwd dx", s), download(p->gpu.dx), dx.v, kChain);
  }
}

void check_weight_norm(const Context& ctx, bool fused) {
  for (const Shape& s : kShapes) {
    auto p = make_pair(s, 0.0f, 3);
    fused ? p->gpu.weight_norm_fused(ctx) : p->gpu.weight_norm_peft(ctx);
    sync(ctx);
    cpu::WeightNorm ref;
    cpu::dora_weight_norm_fused(p->w, ref);  // exact fp32 norm of W0 + c·B·A
    expect_close(tag(fused ? "weight_norm_fused n" : "weight_norm_peft n", s), download(p->gpu.n), ref.n,
                 kOne);
    expect_close(tag(fused ? "weight_norm_fused s" : "weight_norm_peft s", s), download(p->gpu.s), ref.s,
                 kOne);
  }
}

void check_combine(const Context& ctx, bool backward) {
  for (const Shape& s : kShapes) {
    auto p = make_pair(s, 0.0f, 4);
    Matrix result = random_rounded(s.T, s.d_out, 60), lora = random_rounded(s.T, s.d_out, 61);
    cpu::WeightNorm norm;
    cpu::dora_weight_norm_fused(p->w, norm);
    upload(p->gpu.result, result.v), upload(p->gpu.lora, lora.v), upload(p->gpu.n, norm.n),
        upload(p->gpu.s, norm.s);
    backward ? p->gpu.combine_backward(ctx) : p->gpu.combine_forward(ctx);
    sync(ctx);
    if (!backward) {
      cpu::CombineBuffers buf{{}, Matrix(s.T, s.d_out), Matrix(s.T, s.d_out)};
      Matrix y(s.T, s.d_out);
      cpu::dora_combine_forward(result, result, lora, norm.s, p->w.scaling, buf, y);
      expect_close(tag("combine_fwd y", s), download(p->gpu.y), y.v, kOne);
      continue;
    }
    cpu::CombineBackwardBuffers buf{Matrix(s.T, s.d_out), Matrix(s.T, s.d_out), {}, {}};
    cpu::CombineGrads g{Matrix(s.T, s.d_out), Matrix(s.T, s.d_out), {}};
    cpu::dora_combine_backward(p->G, result, lora, norm, p->w.scaling, true, buf, g);
    expect_close(tag("combine_bwd G_lora", s), download(p->gpu.G_lora), g.G_lora.v, kOne);
    expect_close(tag("combine_bwd G_y0", s), download(p->gpu.G_y0), g.G_y0.v, kOne);
    expect_close(tag("combine_bwd dm", s), download(p->gpu.dm), g.dm, kChain);
  }
}

void check_dora(const Context& ctx, bool backward, float dropout_p) {
  for (const Shape& s : kShapes) {
    auto p = make_pair(s, dropout_p, 5);
    p->gpu.forward(ctx);
    if (backward) p->gpu.backward(ctx);
    sync(ctx);
    auto fwd = cpu::make_dora_forward_state(s.T, s.d_in, s.d_out, s.r, p->dropout);
    cpu::dora_forward(p->w, p->x, p->dropout, fwd);
    const std::string name =
        std::string(backward ? "dora_bwd" : "dora_fwd") + (dropout_p > 0 ? "_dropout" : "");
    if (!backward) {
      expect_close(tag((name + " y").c_str(), s), download(p->gpu.y), fwd.y.v, kChain);
      continue;
    }
    auto bwd = cpu::make_dora_backward_state(s.T, s.d_in, s.d_out, s.r);
    cpu::dora_backward(p->w, p->x, p->dropout, fwd, p->G, bwd);
    expect_close(tag((name + " dx").c_str(), s), download(p->gpu.dx), bwd.grads.dx.v, kChain);
    expect_close(tag((name + " dA").c_str(), s), download(p->gpu.dA), bwd.grads.dA.v, kChain);
    expect_close(tag((name + " dB").c_str(), s), download(p->gpu.dB), bwd.grads.dB.v, kChain);
    expect_close(tag((name + " dm").c_str(), s), download(p->gpu.dm), bwd.grads.dm, kChain);
  }
}

void check_rmsnorm(const Context& ctx) {
  const int64_t T = 64, h = 512;
  Matrix x = random_rounded(T, h, 70), dy = random_rounded(T, h, 71);
  Matrix wm = random_rounded(1, h, 72);
  DeviceBuffer<bf16> dx_(T * h), dw_(h), y_(T * h), ddy(T * h);
  DeviceBuffer<float> rstd_(T);
  upload(dx_, x.v), upload(dw_, wm.v), upload(ddy, dy.v);
  DeviceBuffer<bf16> gdx(T * h);
  cuda::rmsnorm_forward(ctx, dx_.get(), dw_.get(), y_.get(), rstd_.get(), T, h, cpu::kRmsNormEps);
  cuda::rmsnorm_backward(ctx, ddy.get(), dx_.get(), dw_.get(), rstd_.get(), gdx.get(), T, h);
  sync(ctx);
  Matrix y(T, h), rdx(T, h);
  std::vector<float> rstd;
  cpu::rmsnorm_forward(x, wm.v, y, rstd);
  cpu::rmsnorm_backward(dy, x, wm.v, rstd, rdx);
  expect_close("rmsnorm_fwd", download(y_), y.v, kOne);
  expect_close("rmsnorm_bwd", download(gdx), rdx.v, kOne);
}

void check_swiglu(const Context& ctx) {
  const int64_t T = 64, n = 64 * 300;
  Matrix g = random_rounded(T, 300, 80, 3.0f), u = random_rounded(T, 300, 81),
         dh = random_rounded(T, 300, 82);
  DeviceBuffer<bf16> dg(n), du(n), ddh(n), h(n), gg(n), gu(n);
  upload(dg, g.v), upload(du, u.v), upload(ddh, dh.v);
  cuda::swiglu_forward(ctx, dg.get(), du.get(), h.get(), n);
  cuda::swiglu_backward(ctx, ddh.get(), dg.get(), du.get(), gg.get(), gu.get(), n);
  sync(ctx);
  Matrix rh(T, 300), rg(T, 300), ru(T, 300);
  cpu::swiglu_forward(g, u, rh);
  cpu::swiglu_backward(dh, g, u, rg, ru);
  expect_close("swiglu_fwd", download(h), rh.v, kOne);
  expect_close("swiglu_bwd dgate", download(gg), rg.v, kOne);
  expect_close("swiglu_bwd dup", download(gu), ru.v, kOne);
}

void check_rotary(const Context& ctx) {
  const int64_t T = 48, hd = 64, width = 3 * hd;
  Matrix qk = random_rounded(T, width, 90);
  const cpu::RotaryTables tab = cpu::rotary_tables(T, hd);
  DeviceBuffer<bf16> d(T * width);
  DeviceBuffer<float> c(T * hd), sn(T * hd);
  upload(d, qk.v), upload(c, tab.cos.v), upload(sn, tab.sin.v);
  cuda::rotary(ctx, d.get(), c.get(), sn.get(), T, width, hd, false);
  sync(ctx);
  Matrix ref = qk;
  cpu::rotary_forward(ref, tab);
  expect_close("rotary_fwd", download(d), ref.v, kOne);
  cuda::rotary(ctx, d.get(), c.get(), sn.get(), T, width, hd, true);
  sync(ctx);
  cpu::rotary_backward(ref, tab);
  expect_close("rotary_bwd", download(d), ref.v, kOne);
}

void check_attention(const Context& ctx) {
  for (const auto& dims : {cuda::AttentionDims{128, 64, 4, 4, 32}, cuda::AttentionDims{192, 96, 4, 2, 32}}) {
    cuda::EagerAttention att(dims, 100);
    const int64_t qd = dims.heads * dims.head_dim, kvd = dims.kv_heads * dims.head_dim;
    Matrix q = random_rounded(dims.tokens, qd, 101), k = random_rounded(dims.tokens, kvd, 102);
    Matrix v = random_rounded(dims.tokens, kvd, 103), dout = random_rounded(dims.tokens, qd, 104);
    upload(att.q, q.v), upload(att.k, k.v), upload(att.v, v.v), upload(att.dout, dout.v);
    att.forward(ctx);
    att.backward(ctx);
    sync(ctx);
    const auto shape = cpu::attention_shape(dims.tokens, dims.seq_len, qd, kvd, dims.head_dim);
    Matrix out(dims.tokens, qd), lse(dims.tokens, dims.heads), dq(dims.tokens, qd), dk(dims.tokens, kvd),
        dv(dims.tokens, kvd);
    cpu::attention_forward(shape, q, k, v, out, lse);
    cpu::attention_backward(shape, q, k, v, out, lse, dout, dq, dk, dv);
    const std::string t =
        " b" + std::to_string(dims.tokens / dims.seq_len) + " kv" + std::to_string(dims.kv_heads);
    expect_close("attention_fwd" + t, download(att.out), out.v, kOne);
    expect_close("attention_bwd dq" + t, download(att.dq), dq.v, kChain);
    expect_close("attention_bwd dk" + t, download(att.dk), dk.v, kChain);
    expect_close("attention_bwd dv" + t, download(att.dv), dv.v, kChain);
  }
}

void check_cross_entropy(const Context& ctx) {
  const int64_t T = 32, V = 1000;
  Matrix logits = random_rounded(T, V, 110, 4.0f);
  std::vector<int32_t> targets(T);
  for (int64_t t = 0; t < T; ++t) targets[static_cast<size_t>(t)] = static_cast<int32_t>((t * 37) % V);
  DeviceBuffer<bf16> dl(T * V), dd(T * V);
  DeviceBuffer<int32_t> dt(T);
  DeviceBuffer<float> lse(T), loss(T);
  upload(dl, logits.v);
  dt.upload(targets);
  cuda::cross_entropy_forward(ctx, dl.get(), dt.get(), lse.get(), loss.get(), T, V);
  cuda::cross_entropy_backward(ctx, dl.get(), dt.get(), lse.get(), dd.get(), T, V);
  sync(ctx);
  std::vector<float> rlse;
  cpu::cross_entropy_forward(logits, targets, rlse);
  Matrix rd(T, V);
  cpu::cross_entropy_backward(logits, targets, rlse, rd);
  expect_close("cross_entropy_fwd lse", download(lse), rlse, 1e-4);  // fp32 all the way
  expect_close("cross_entropy_bwd", download(dd), rd.v, kOne);
}

void check_memcpy(const Context& ctx) {
  const int64_t n = 1 << 20;
  Matrix src = random_rounded(1, n, 120);
  DeviceBuffer<bf16> a(n), b(n);
  upload(a, src.v);
  cuda::check(cudaMemcpyAsync(b.get(), a.get(), sizeof(bf16) * n, cudaMemcpyDeviceToDevice, ctx.stream()),
              "copy");
  sync(ctx);
  expect_close("memcpy_d2d", download(b), src.v, 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("skipped: no CUDA device on this machine\n");
    return 77;
  }
  const std::map<std::string, std::function<void(const Context&)>> checks = {
      {"linear", check_linear},
      {"lora_fwd", [](const Context& c) { check_lora(c, false); }},
      {"lora_bwd", [](const Context& c) { check_lora(c, true); }},
      {"weight_norm_peft", [](const Context& c) { check_weight_norm(c, false); }},
      {"weight_norm_fused", [](const Context& c) { check_weight_norm(c, true); }},
      {"combine_fwd", [](const Context& c) { check_combine(c, false); }},
      {"combine_bwd", [](const Context& c) { check_combine(c, true); }},
      {"dora_fwd", [](const Context& c) { check_dora(c, false, 0.0f); }},
      {"dora_fwd_dropout", [](const Context& c) { check_dora(c, false, 0.1f); }},
      {"dora_bwd", [](const Context& c) { check_dora(c, true, 0.0f); }},
      {"dora_bwd_dropout", [](const Context& c) { check_dora(c, true, 0.1f); }},
      {"rmsnorm", check_rmsnorm},
      {"swiglu", check_swiglu},
      {"rotary", check_rotary},
      {"attention", check_attention},
      {"cross_entropy", check_cross_entropy},
      {"memcpy", check_memcpy},
  };
  if (argc != 2 || !checks.count(argv[1])) {
    std::fprintf(stderr, "usage: calibrate_gpu_check <kernel>; kernels:");
    for (const auto& [name, fn] : checks) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  try {
    Context ctx;
    checks.at(argv[1])(ctx);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return all_ok ? 0 : 1;
}
