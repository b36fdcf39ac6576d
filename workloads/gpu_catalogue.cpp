#include "workloads/gpu_catalogue.h"

#include <cmath>
#include <map>

#include "workloads/config_error.h"
#include "workloads/units.h"
#include "workloads/yaml_read.h"

namespace zerosim {
namespace embedded {
const std::map<std::string, std::string>& platform_data();  // generated from platforms/gpus.yaml
}

std::vector<GpuSpec> gpu_catalogue() {
  static const std::vector<GpuSpec> catalogue = [] {
    const std::string file = "platforms/gpus.yaml";
    const YAML::Node root = parse_yaml_text(embedded::platform_data().at("gpus.yaml"), file);
    std::vector<GpuSpec> out;
    for (const auto& kv : root["gpus"]) {
      const std::string id = kv.first.Scalar();
      const YAML::Node& g = kv.second;
      const std::string key = "gpus." + id;
      GpuSpec spec;
      spec.id = id;
      spec.name = read_string(g["name"], file, key + ".name");
      spec.memory_bytes =
          std::llround(read_double(g["memory_gib"], file, key + ".memory_gib") * kBytesPerGiB);
      spec.bf16_flops = read_double(g["bf16_tflops"], file, key + ".bf16_tflops") * 1e12;
      spec.int8_ops = read_double(g["int8_tops"], file, key + ".int8_tops") * 1e12;
      spec.fp32_flops = read_double(g["fp32_tflops"], file, key + ".fp32_tflops") * 1e12;
      spec.tf32_flops = read_double(g["tf32_tflops"], file, key + ".tf32_tflops") * 1e12;
      spec.mem_bw_bytes_s = read_double(g["mem_bw_gbps"], file, key + ".mem_bw_gbps") * 1e9;
      spec.sms = read_int(g["sms"], file, key + ".sms");
      spec.gemm_efficiency = read_double(g["gemm_efficiency"], file, key + ".gemm_efficiency");
      spec.attention_efficiency = read_double(g["attention_efficiency"], file, key + ".attention_efficiency");
      spec.cuda_context_bytes = read_int(g["cuda_context_mib"], file, key + ".cuda_context_mib") * kMiB;
      spec.default_host = read_string(g["host"], file, key + ".host");
      spec.source = read_string(g["source"], file, key + ".source");
      out.push_back(spec);
    }
    return out;
  }();
  return catalogue;
}

std::vector<std::string> gpu_ids() {
  std::vector<std::string> ids;
  for (const auto& g : gpu_catalogue()) ids.push_back(g.id);
  return ids;
}

GpuSpec find_gpu(const std::string& id, const std::string& file, const std::string& key) {
  for (const auto& g : gpu_catalogue())
    if (g.id == id) return g;
  throw ConfigError(file, key, "unknown GPU '" + id + "' (known: " + join(gpu_ids()) + ")");
}

}  // namespace zerosim
