#pragma once
// The GPU catalogue (platforms/gpus.yaml, compiled into the binary): capacity, peaks, source notes.
#include <cstdint>
#include <string>
#include <vector>

namespace zerosim {

struct GpuSpec {
  std::string id;                   // catalogue key, e.g. a100-80gb-sxm
  std::string name;                 // marketing name
  int64_t memory_bytes = 0;         // what the framework can allocate
  double bf16_flops = 0;            // dense BF16 tensor peak, FLOP/s
  double int8_ops = 0;              // dense INT8 tensor peak, OP/s (LLM.int8()'s GEMMs)
  double fp32_flops = 0;            // FP32 peak on the CUDA cores (non-tensor), FLOP/s (fp32 training)
  double tf32_flops = 0;            // dense TF32 tensor peak, FLOP/s (fp32 training with train.tf32)
  double mem_bw_bytes_s = 0;        // peak DRAM bandwidth, B/s
  int64_t sms = 0;                  // streaming multiprocessors
  double gemm_efficiency = 0;       // sustained fraction of bf16_flops for large GEMMs
  double attention_efficiency = 0;  // sustained fraction for FlashAttention-2 forward+backward
  int64_t cuda_context_bytes = 0;
  std::string default_host;  // the node it usually comes in (platforms/hosts.yaml id): CPU offload's host
  std::string source;
};

// Throws ConfigError naming `file`/`key` and listing the known GPUs.
GpuSpec find_gpu(const std::string& id, const std::string& file = "", const std::string& key = "cluster.gpu");
std::vector<GpuSpec> gpu_catalogue();
std::vector<std::string> gpu_ids();

}  // namespace zerosim
