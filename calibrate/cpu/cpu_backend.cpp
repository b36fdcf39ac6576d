// The CPU backend: runs every op of the catalogue with the fp32 reference implementations
// (OpenBLAS GEMMs, OpenMP elementwise loops) and times it with a steady clock. Its file
// describes the CPU honestly (kind: cpu); it is useful to exercise the whole pipeline and as
// a model of CPU training, never as a stand-in for a GPU.
#include <cblas.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "calibrate/backend.h"
#include "calibrate/cpu/cpu_info.h"
#include "calibrate/cpu/dora_reference.h"
#include "calibrate/cpu/layer_reference.h"
#include "calibrate/cpu/parallel.h"

namespace zerosim::calib {

namespace {

using cpu::Matrix;

Matrix random_matrix(int64_t rows, int64_t cols, uint64_t seed, float scale = 1.0f) {
  Matrix m(rows, cols);
  cpu::fill_uniform(m, seed, scale);
  return m;
}

// The work of one op at one key, with inputs allocated up front.
using Runner = std::function<void()>;

Runner linear_runner(const OpKey& k) {
  auto x = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_in, 1));
  auto w = std::make_shared<Matrix>(random_matrix(k.d_out, k.d_in, 2, 0.02f));
  auto g = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_out, 3));
  auto out = std::make_shared<Matrix>();
  switch (k.op) {
    case OpId::linear_fwd:
      *out = Matrix(k.tokens, k.d_out);
      return [=] { cpu::linear_forward(*x, *w, *out); };
    case OpId::linear_dx:
      *out = Matrix(k.tokens, k.d_in);
      return [=] { cpu::linear_input_grad(*g, *w, *out); };
    default:
      *out = Matrix(k.d_out, k.d_in);
      return [=] { cpu::linear_weight_grad(*g, *x, *out); };
  }
}

struct DoraSetup {
  cpu::DoraWeights w;
  Matrix x, G;
  cpu::Dropout dropout;
  cpu::DoraForwardState fwd;
  cpu::DoraBackwardState bwd;
};

std::shared_ptr<DoraSetup> dora_setup(const OpKey& k, float dropout_p) {
  auto s = std::make_shared<DoraSetup>();
  s->w = cpu::random_dora_weights(k.d_in, k.d_out, k.r, 2.0f, 11);
  s->x = random_matrix(k.tokens, k.d_in, 12);
  s->G = random_matrix(k.tokens, k.d_out, 13);
  s->dropout = {dropout_p, 14};
  s->fwd = cpu::make_dora_forward_state(k.tokens, k.d_in, k.d_out, k.r, s->dropout);
  return s;
}

Runner adapter_runner(const OpKey& k) {
  const bool dropout = k.op == OpId::dora_fwd_dropout || k.op == OpId::dora_bwd_dropout;
  auto s = dora_setup(k, dropout ? 0.1f : 0.0f);
  switch (k.op) {
    case OpId::lora_fwd: {
      auto y = std::make_shared<Matrix>(k.tokens, k.d_out);
      return [s, y] { cpu::lora_forward(s->x, s->w.A, s->w.B, s->w.scaling, s->fwd.lora, *y); };
    }
    case OpId::lora_bwd: {
      auto buf = std::make_shared<cpu::LoraBackwardBuffers>(cpu::LoraBackwardBuffers{
          Matrix(k.tokens, k.d_out), Matrix(k.tokens, k.r), Matrix(k.tokens, k.d_in)});
      auto dA = std::make_shared<Matrix>(k.r, k.d_in);
      auto dB = std::make_shared<Matrix>(k.d_out, k.r);
      auto dx = std::make_shared<Matrix>(k.tokens, k.d_in);
      cpu::lora_forward(s->x, s->w.A, s->w.B, s->w.scaling, s->fwd.lora, s->fwd.y);
      return [=] {
        cpu::lora_backward(s->G, s->x, s->w.A, s->w.B, s->fwd.lora.h, s->w.scaling, *buf, *dA, *dB, *dx);
      };
    }
    case OpId::dora_fwd:
    case OpId::dora_fwd_dropout:
      return [s] { cpu::dora_forward(s->w, s->x, s->dropout, s->fwd); };
    default: {
      s->bwd = cpu::make_dora_backward_state(k.tokens, k.d_in, k.d_out, k.r);
      cpu::dora_forward(s->w, s->x, s->dropout, s->fwd);
      return [s] { cpu::dora_backward(s->w, s->x, s->dropout, s->fwd, s->G, s->bwd); };
    }
  }
}

Runner weight_norm_runner(const OpKey& k) {
  auto w = std::make_shared<cpu::DoraWeights>(cpu::random_dora_weights(k.d_in, k.d_out, k.r, 2.0f, 21));
  auto norm = std::make_shared<cpu::WeightNorm>();
  if (k.op == OpId::dora_weight_norm_fused) return [w, norm] { cpu::dora_weight_norm_fused(*w, *norm); };
  auto ws = std::make_shared<cpu::WeightNormWorkspace>(cpu::make_weight_norm_workspace(k.d_in, k.d_out, k.r));
  return [w, ws, norm] { cpu::dora_weight_norm_peft(*w, *ws, *norm); };
}

Runner combine_runner(const OpKey& k) {
  struct State {
    Matrix y0, lora, G, y;
    cpu::WeightNorm norm;
    cpu::CombineBuffers fwd;
    cpu::CombineBackwardBuffers bwd;
    cpu::CombineGrads grads;
  };
  auto s = std::make_shared<State>();
  s->y0 = random_matrix(k.tokens, k.d_out, 31);
  s->lora = random_matrix(k.tokens, k.d_out, 32);
  s->G = random_matrix(k.tokens, k.d_out, 33);
  s->y = Matrix(k.tokens, k.d_out);
  s->norm.n.assign(static_cast<size_t>(k.d_out), 1.5f);
  s->norm.s.assign(static_cast<size_t>(k.d_out), 1.1f);
  s->fwd = {{}, Matrix(k.tokens, k.d_out), Matrix(k.tokens, k.d_out)};
  s->bwd = {Matrix(k.tokens, k.d_out), Matrix(k.tokens, k.d_out), {}, {}};
  s->grads = {Matrix(k.tokens, k.d_out), Matrix(k.tokens, k.d_out), {}};
  if (k.op == OpId::dora_combine_fwd)
    return [s] { cpu::dora_combine_forward(s->y0, s->y0, s->lora, s->norm.s, 2.0f, s->fwd, s->y); };
  return [s] { cpu::dora_combine_backward(s->G, s->y0, s->lora, s->norm, 2.0f, true, s->bwd, s->grads); };
}

Runner layer_runner(const OpKey& k, int64_t head_dim) {
  switch (k.op) {
    case OpId::rmsnorm_fwd:
    case OpId::rmsnorm_bwd: {
      auto x = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_in, 41));
      auto dy = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_in, 42));
      auto y = std::make_shared<Matrix>(k.tokens, k.d_in);
      auto w = std::make_shared<std::vector<float>>(static_cast<size_t>(k.d_in), 1.0f);
      auto rstd = std::make_shared<std::vector<float>>();
      cpu::rmsnorm_forward(*x, *w, *y, *rstd);
      if (k.op == OpId::rmsnorm_fwd) return [=] { cpu::rmsnorm_forward(*x, *w, *y, *rstd); };
      return [=] { cpu::rmsnorm_backward(*dy, *x, *w, *rstd, *y); };
    }
    case OpId::swiglu_fwd:
    case OpId::swiglu_bwd: {
      auto g = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_in, 51, 3.0f));
      auto u = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_in, 52));
      auto dh = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_in, 53));
      auto a = std::make_shared<Matrix>(k.tokens, k.d_in), b = std::make_shared<Matrix>(k.tokens, k.d_in);
      if (k.op == OpId::swiglu_fwd) return [=] { cpu::swiglu_forward(*g, *u, *a); };
      return [=] { cpu::swiglu_backward(*dh, *g, *u, *a, *b); };
    }
    case OpId::rotary_fwd:
    case OpId::rotary_bwd: {
      auto qk = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_out, 61));
      auto tab = std::make_shared<cpu::RotaryTables>(cpu::rotary_tables(k.tokens, k.d_in));
      if (k.op == OpId::rotary_fwd) return [=] { cpu::rotary_forward(*qk, *tab); };
      return [=] { cpu::rotary_backward(*qk, *tab); };
    }
    case OpId::attention_fwd:
    case OpId::attention_bwd: {
      const auto shape = cpu::attention_shape(k.tokens, k.d_in, k.d_out, k.r, head_dim);
      auto q = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_out, 71));
      auto kk = std::make_shared<Matrix>(random_matrix(k.tokens, k.r, 72));
      auto v = std::make_shared<Matrix>(random_matrix(k.tokens, k.r, 73));
      auto o = std::make_shared<Matrix>(k.tokens, k.d_out);
      auto lse = std::make_shared<Matrix>(k.tokens, shape.heads);
      cpu::attention_forward(shape, *q, *kk, *v, *o, *lse);
      if (k.op == OpId::attention_fwd) return [=] { cpu::attention_forward(shape, *q, *kk, *v, *o, *lse); };
      auto dout = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_out, 74));
      auto dq = std::make_shared<Matrix>(k.tokens, k.d_out);
      auto dk = std::make_shared<Matrix>(k.tokens, k.r), dv = std::make_shared<Matrix>(k.tokens, k.r);
      return [=] { cpu::attention_backward(shape, *q, *kk, *v, *o, *lse, *dout, *dq, *dk, *dv); };
    }
    default: {  // cross-entropy
      auto logits = std::make_shared<Matrix>(random_matrix(k.tokens, k.d_out, 81, 4.0f));
      auto targets = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(k.tokens));
      for (int64_t t = 0; t < k.tokens; ++t)
        (*targets)[static_cast<size_t>(t)] = static_cast<int32_t>((t * 7919) % k.d_out);
      auto lse = std::make_shared<std::vector<float>>();
      cpu::cross_entropy_forward(*logits, *targets, *lse);
      if (k.op == OpId::cross_entropy_fwd)
        return [=] { cpu::cross_entropy_forward(*logits, *targets, *lse); };
      auto d = std::make_shared<Matrix>(k.tokens, k.d_out);
      return [=] { cpu::cross_entropy_backward(*logits, *targets, *lse, *d); };
    }
  }
}

Runner memcpy_runner(const OpKey& k) {
  auto src = std::make_shared<std::vector<char>>(static_cast<size_t>(k.tokens), 1);
  auto dst = std::make_shared<std::vector<char>>(static_cast<size_t>(k.tokens), 0);
  return [src, dst] { std::memcpy(dst->data(), src->data(), src->size()); };
}

Runner make_runner(const OpKey& k, int64_t head_dim) {
  switch (k.op) {
    case OpId::linear_fwd:
    case OpId::linear_dx:
    case OpId::linear_dw:
      return linear_runner(k);
    case OpId::lora_fwd:
    case OpId::lora_bwd:
    case OpId::dora_fwd:
    case OpId::dora_fwd_dropout:
    case OpId::dora_bwd:
    case OpId::dora_bwd_dropout:
      return adapter_runner(k);
    case OpId::dora_weight_norm:
    case OpId::dora_weight_norm_fused:
      return weight_norm_runner(k);
    case OpId::dora_combine_fwd:
    case OpId::dora_combine_bwd:
      return combine_runner(k);
    case OpId::memcpy_d2d:
      return memcpy_runner(k);
    default:
      return layer_runner(k, head_dim);
  }
}

class CpuBackend : public Backend {
 public:
  DeviceDescription describe() const override {
    DeviceDescription d;
    d.name = cpu::read_cpu_info().model;
    d.backend = "cpu";
    d.kind = "cpu";
    d.properties["hardware_threads"] = std::to_string(std::thread::hardware_concurrency());
    d.properties["blas_threads"] = std::to_string(openblas_get_num_threads());
    d.properties["elementwise_threads"] = std::to_string(cpu::elementwise_threads());
    d.software["openblas"] = openblas_get_config();
    d.software["compiler"] = std::string(__VERSION__);
    return d;
  }
  Precision precision() const override { return {"fp32", "fp32", 4}; }
  std::map<std::string, std::string> settings() const override {
    return {
        {"attention_impl", "cpu blocked causal attention (sgemm per 128-query block, recompute in backward)"},
        {"timer", "std::chrono::steady_clock"}};
  }
  int64_t peak_gemm_size() const override { return 2048; }

  std::vector<double> time_op(const OpKey& key, const TimingPlan& plan) override {
    check_key(key);
    const Runner run = make_runner(key, plan.attention_head_dim);
    for (int i = 0; i < plan.warmup; ++i) run();
    std::vector<double> samples;
    for (int i = 0; i < plan.repeats; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      run();
      samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return samples;
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace zerosim::calib
