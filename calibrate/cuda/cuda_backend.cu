// The CUDA backend: every op of the catalogue at bf16 on one GPU, timed with CUDA events
// around each run, the L2 cache flushed between runs so small ops are not timed with their
// inputs already on chip (a training step streams through far more than L2 between them).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include "calibrate/backend.h"
#include "calibrate/cuda/dora_module.cuh"
#include "calibrate/cuda/eager_attention.cuh"
#include "calibrate/cuda/gemm.cuh"
#include "calibrate/cuda/kernels.cuh"

namespace zerosim::calib {

namespace {

using cuda::bf16;
using cuda::Context;
using cuda::DeviceBuffer;
using Runner = std::function<void(const Context&)>;

std::string version_text(int v) {  // 12040 → "12.4"
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

DeviceBuffer<bf16> random_bf16(const Context& ctx, int64_t n, uint64_t seed, float scale = 1.0f) {
  DeviceBuffer<bf16> b(n);
  cuda::fill_uniform(ctx, b.get(), n, seed, scale);
  return b;
}

Runner linear_runner(const Context& ctx, const OpKey& k) {
  auto x = std::make_shared<DeviceBuffer<bf16>>(random_bf16(ctx, k.tokens * k.d_in, 1));
  auto w = std::make_shared<DeviceBuffer<bf16>>(random_bf16(ctx, k.d_out * k.d_in, 2, 0.02f));
  auto g = std::make_shared<DeviceBuffer<bf16>>(random_bf16(ctx, k.tokens * k.d_out, 3));
  using cuda::Op;
  switch (k.op) {
    case OpId::linear_fwd: {
      auto y = std::make_shared<DeviceBuffer<bf16>>(k.tokens * k.d_out);
      return [=](const Context& c) {
        cuda::gemm(c, Op::none, Op::transpose, k.tokens, k.d_out, k.d_in, 1.0f, x->get(), w->get(), 0.0f,
                   y->get());
      };
    }
    case OpId::linear_dx: {
      auto dx = std::make_shared<DeviceBuffer<bf16>>(k.tokens * k.d_in);
      return [=](const Context& c) {
        cuda::gemm(c, Op::none, Op::none, k.tokens, k.d_in, k.d_out, 1.0f, g->get(), w->get(), 0.0f,
                   dx->get());
      };
    }
    default: {
      auto dw = std::make_shared<DeviceBuffer<bf16>>(k.d_out * k.d_in);
      return [=](const Context& c) {
        cuda::gemm(c, Op::transpose, Op::none, k.d_out, k.d_in, k.tokens, 1.0f, g->get(), x->get(), 0.0f,
                   dw->get());
      };
    }
  }
}

Runner module_runner(const Context& ctx, const OpKey& k) {
  const bool dropout = k.op == OpId::dora_fwd_dropout || k.op == OpId::dora_bwd_dropout;
  const bool combine = k.op == OpId::dora_combine_fwd || k.op == OpId::dora_combine_bwd;
  // The combine ops are keyed on (T, d_out) only; a 1-wide input and rank 1 keep the rest tiny.
  const cuda::ModuleShape shape{k.tokens, combine ? 1 : k.d_in, k.d_out, combine ? 1 : k.r};
  auto mod = std::make_shared<cuda::DoraModule>(shape, 2.0f, dropout ? 0.1f : 0.0f, 7);
  mod->weight_norm_fused(ctx);  // n, s for the ops that start after the norm
  switch (k.op) {
    case OpId::lora_fwd:
      return [mod](const Context& c) { mod->lora_forward(c); };
    case OpId::lora_bwd:
      mod->lora_forward(ctx);
      return [mod](const Context& c) { mod->lora_backward(c); };
    case OpId::dora_weight_norm:
      return [mod](const Context& c) { mod->weight_norm_peft(c); };
    case OpId::dora_weight_norm_fused:
      return [mod](const Context& c) { mod->weight_norm_fused(c); };
    case OpId::dora_combine_fwd:
      return [mod](const Context& c) { mod->combine_forward(c); };
    case OpId::dora_combine_bwd:
      return [mod](const Context& c) { mod->combine_backward(c); };
    case OpId::dora_fwd:
    case OpId::dora_fwd_dropout:
      return [mod](const Context& c) { mod->forward(c); };
    default:
      mod->forward(ctx);
      return [mod](const Context& c) { mod->backward(c); };
  }
}

Runner layer_runner(const Context& ctx, const OpKey& k, int64_t head_dim) {
  switch (k.op) {
    case OpId::rmsnorm_fwd:
    case OpId::rmsnorm_bwd: {
      struct S {
        DeviceBuffer<bf16> x, w, y, dy;
        DeviceBuffer<float> rstd;
      };
      auto s = std::make_shared<S>(S{random_bf16(ctx, k.tokens * k.d_in, 41), random_bf16(ctx, k.d_in, 42),
                                     DeviceBuffer<bf16>(k.tokens * k.d_in),
                                     random_bf16(ctx, k.tokens * k.d_in, 43), DeviceBuffer<float>(k.tokens)});
      cuda::rmsnorm_forward(ctx, s->x.get(), s->w.get(), s->y.get(), s->rstd.get(), k.tokens, k.d_in, 1e-5f);
      if (k.op == OpId::rmsnorm_fwd)
        return [=](const Context& c) {
          cuda::rmsnorm_forward(c, s->x.get(), s->w.get(), s->y.get(), s->rstd.get(), k.tokens, k.d_in,
                                1e-5f);
        };
      return [=](const Context& c) {
        cuda::rmsnorm_backward(c, s->dy.get(), s->x.get(), s->w.get(), s->rstd.get(), s->y.get(), k.tokens,
                               k.d_in);
      };
    }
    case OpId::swiglu_fwd:
    case OpId::swiglu_bwd: {
      const int64_t n = k.tokens * k.d_in;
      struct S {
        DeviceBuffer<bf16> g, u, dh, a, b;
      };
      auto s = std::make_shared<S>(S{random_bf16(ctx, n, 51, 3.0f), random_bf16(ctx, n, 52),
                                     random_bf16(ctx, n, 53), DeviceBuffer<bf16>(n), DeviceBuffer<bf16>(n)});
      if (k.op == OpId::swiglu_fwd)
        return [=](const Context& c) { cuda::swiglu_forward(c, s->g.get(), s->u.get(), s->a.get(), n); };
      return [=](const Context& c) {
        cuda::swiglu_backward(c, s->dh.get(), s->g.get(), s->u.get(), s->a.get(), s->b.get(), n);
      };
    }
    case OpId::rotary_fwd:
    case OpId::rotary_bwd: {
      struct S {
        DeviceBuffer<bf16> qk;
        DeviceBuffer<float> cos, sin;
      };
      auto s = std::make_shared<S>(S{random_bf16(ctx, k.tokens * k.d_out, 61),
                                     DeviceBuffer<float>(k.tokens * k.d_in),
                                     DeviceBuffer<float>(k.tokens * k.d_in)});
      cuda::fill_value(ctx, s->cos.get(), s->cos.size(), 0.8f);
      cuda::fill_value(ctx, s->sin.get(), s->sin.size(), 0.6f);
      const bool inverse = k.op == OpId::rotary_bwd;
      return [=](const Context& c) {
        cuda::rotary(c, s->qk.get(), s->cos.get(), s->sin.get(), k.tokens, k.d_out, k.d_in, inverse);
      };
    }
    case OpId::attention_fwd:
    case OpId::attention_bwd: {
      const cuda::AttentionDims dims{k.tokens, k.d_in, k.d_out / head_dim, k.r / head_dim, head_dim};
      auto att = std::make_shared<cuda::EagerAttention>(dims, 71);
      if (k.op == OpId::attention_fwd) return [att](const Context& c) { att->forward(c); };
      att->forward(ctx);
      return [att](const Context& c) { att->backward(c); };
    }
    default: {  // cross-entropy
      struct S {
        DeviceBuffer<bf16> logits, dlogits;
        DeviceBuffer<int32_t> targets;
        DeviceBuffer<float> lse, loss;
      };
      auto s = std::make_shared<S>(S{random_bf16(ctx, k.tokens * k.d_out, 81, 4.0f),
                                     DeviceBuffer<bf16>(k.tokens * k.d_out), DeviceBuffer<int32_t>(k.tokens),
                                     DeviceBuffer<float>(k.tokens), DeviceBuffer<float>(k.tokens)});
      std::vector<int32_t> targets(static_cast<size_t>(k.tokens));
      for (int64_t t = 0; t < k.tokens; ++t)
        targets[static_cast<size_t>(t)] = static_cast<int32_t>((t * 7919) % k.d_out);
      s->targets.upload(targets);
      cuda::cross_entropy_forward(ctx, s->logits.get(), s->targets.get(), s->lse.get(), s->loss.get(),
                                  k.tokens, k.d_out);
      if (k.op == OpId::cross_entropy_fwd)
        return [=](const Context& c) {
          cuda::cross_entropy_forward(c, s->logits.get(), s->targets.get(), s->lse.get(), s->loss.get(),
                                      k.tokens, k.d_out);
        };
      return [=](const Context& c) {
        cuda::cross_entropy_backward(c, s->logits.get(), s->targets.get(), s->lse.get(), s->dlogits.get(),
                                     k.tokens, k.d_out);
      };
    }
  }
}

Runner memcpy_runner(const OpKey& k) {
  auto src = std::make_shared<DeviceBuffer<char>>(k.tokens);
  auto dst = std::make_shared<DeviceBuffer<char>>(k.tokens);
  return [=](const Context& c) {
    cuda::check(cudaMemcpyAsync(dst->get(), src->get(), static_cast<size_t>(k.tokens),
                                cudaMemcpyDeviceToDevice, c.stream()),
                "cudaMemcpyAsync");
  };
}

Runner make_runner(const Context& ctx, const OpKey& k, int64_t head_dim) {
  switch (k.op) {
    case OpId::linear_fwd:
    case OpId::linear_dx:
    case OpId::linear_dw:
      return linear_runner(ctx, k);
    case OpId::memcpy_d2d:
      return memcpy_runner(k);
    case OpId::rmsnorm_fwd:
    case OpId::rmsnorm_bwd:
    case OpId::swiglu_fwd:
    case OpId::swiglu_bwd:
    case OpId::rotary_fwd:
    case OpId::rotary_bwd:
    case OpId::attention_fwd:
    case OpId::attention_bwd:
    case OpId::cross_entropy_fwd:
    case OpId::cross_entropy_bwd:
      return layer_runner(ctx, k, head_dim);
    default:
      return module_runner(ctx, k);
  }
}

class CudaBackend : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    cuda::check(cudaSetDevice(device_), "cudaSetDevice");
    ctx_ = std::make_unique<Context>();
    int l2 = 0;
    cuda::check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device_), "L2 size");
    flush_ = DeviceBuffer<char>(std::max<int64_t>(int64_t{2} * l2, int64_t{64} << 20));
    cuda::check(cudaEventCreate(&start_), "cudaEventCreate");
    cuda::check(cudaEventCreate(&stop_), "cudaEventCreate");
  }
  ~CudaBackend() override {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }

  DeviceDescription describe() const override {
    cudaDeviceProp p{};
    cuda::check(cudaGetDeviceProperties(&p, device_), "cudaGetDeviceProperties");
    auto attr = [&](cudaDeviceAttr a) {
      int v = 0;
      cuda::check(cudaDeviceGetAttribute(&v, a, device_), "cudaDeviceGetAttribute");
      return v;
    };
    DeviceDescription d;
    d.name = p.name;
    d.backend = "cuda";
    d.kind = "gpu";
    d.properties["compute_capability"] = std::to_string(p.major) + "." + std::to_string(p.minor);
    d.properties["multiprocessors"] = std::to_string(p.multiProcessorCount);
    d.properties["memory_bytes"] = std::to_string(p.totalGlobalMem);
    d.properties["l2_cache_bytes"] = std::to_string(p.l2CacheSize);
    d.properties["max_sm_clock_mhz"] = std::to_string(attr(cudaDevAttrClockRate) / 1000);
    d.properties["max_memory_clock_mhz"] = std::to_string(attr(cudaDevAttrMemoryClockRate) / 1000);
    d.properties["memory_bus_width_bits"] = std::to_string(attr(cudaDevAttrGlobalMemoryBusWidth));
    int runtime = 0, driver = 0, major = 0, minor = 0, patch = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    cublasGetProperty(MAJOR_VERSION, &major);
    cublasGetProperty(MINOR_VERSION, &minor);
    cublasGetProperty(PATCH_LEVEL, &patch);
    d.software["cuda_runtime"] = version_text(runtime);
    d.software["cuda_driver"] = version_text(driver);
    d.software["cublas"] = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    d.software["compiler"] = std::string(__VERSION__);
    return d;
  }
  Precision precision() const override { return {"bf16", "fp32", 2}; }
  std::map<std::string, std::string> settings() const override {
    return {
        {"attention_impl",
         "stand-in: eager attention (cuBLAS batched GEMMs + fp32 causal softmax), not a fused flash kernel; "
         "cuDNN fused attention is not used"},
        {"timer", "CUDA events per run, L2 flushed between runs"}};
  }
  int64_t peak_gemm_size() const override { return 8192; }

  std::vector<double> time_op(const OpKey& key, const TimingPlan& plan) override {
    check_key(key);
    const Runner run = make_runner(*ctx_, key, plan.attention_head_dim);
    for (int i = 0; i < plan.warmup; ++i) run(*ctx_);
    std::vector<double> samples;
    for (int i = 0; i < plan.repeats; ++i) {
      cuda::check(cudaMemsetAsync(flush_.get(), i & 0xff, static_cast<size_t>(flush_.size()), ctx_->stream()),
                  "L2 flush");
      cuda::check(cudaEventRecord(start_, ctx_->stream()), "cudaEventRecord");
      run(*ctx_);
      cuda::check(cudaEventRecord(stop_, ctx_->stream()), "cudaEventRecord");
      cuda::check(cudaEventSynchronize(stop_), "cudaEventSynchronize");
      float ms = 0;
      cuda::check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
      samples.push_back(static_cast<double>(ms) * 1e-3);
    }
    return samples;
  }

 private:
  int device_;
  std::unique_ptr<Context> ctx_;
  DeviceBuffer<char> flush_;
  cudaEvent_t start_{}, stop_{};
};

}  // namespace

bool built_with_cuda() { return true; }

std::unique_ptr<Backend> make_cuda_backend(int device_index) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess)
    throw NoDeviceError(std::string("--backend cuda: no usable CUDA device (cudaGetDeviceCount: ") +
                        cudaGetErrorString(e) + ")");
  if (count == 0) throw NoDeviceError("--backend cuda: no CUDA device found on this machine");
  if (device_index >= count)
    throw NoDeviceError("--device " + std::to_string(device_index) + ": this machine has " +
                        std::to_string(count) + " CUDA device(s), numbered 0.." + std::to_string(count - 1));
  return std::make_unique<CudaBackend>(device_index);
}

}  // namespace zerosim::calib
