#include "workloads/quantization.h"

#include <algorithm>

#include "workloads/config_error.h"

namespace zerosim {

namespace {

// transformers' BitsAndBytesConfig.to_dict(): every key it writes. The 8-bit ones have no effect on a 4-bit
// model's time or memory; the storage dtype only under ZeRO-3 (docs/inputs.md, "QLoRA").
const std::vector<std::string> kHfQuantKeys = {"quant_method",
                                               "load_in_4bit",
                                               "load_in_8bit",
                                               "_load_in_4bit",
                                               "_load_in_8bit",
                                               "bnb_4bit_quant_type",
                                               "bnb_4bit_use_double_quant",
                                               "bnb_4bit_compute_dtype",
                                               "bnb_4bit_quant_storage",
                                               "llm_int8_skip_modules",
                                               "llm_int8_threshold",
                                               "llm_int8_has_fp16_weight",
                                               "llm_int8_enable_fp32_cpu_offload"};

const std::vector<std::string> kQuantKeys = {"method",       "double_quant",          "compute_dtype",
                                             "skip_modules", "prepare_kbit_training", "threshold",
                                             "quant_storage"};

// bnb_4bit_quant_storage by zerosim's or torch's name.
void set_storage(QuantSpec& q, const std::string& dtype, const std::string& file, const std::string& key) {
  if (dtype == "uint8")
    q.storage = "uint8", q.storage_bytes = 1;
  else if (dtype == "bf16" || dtype == "bfloat16")
    q.storage = "bf16", q.storage_bytes = 2;
  else if (dtype == "fp16" || dtype == "float16")
    q.storage = "fp16", q.storage_bytes = 2;
  else if (dtype == "fp32" || dtype == "float32")
    q.storage = "fp32", q.storage_bytes = 4;
  else
    throw ConfigError(file, key, "'" + dtype + "' is not allowed (allowed: uint8, bf16, fp16, fp32)");
}

// LLM.int8()'s threshold: a non-negative number (0 turns the outlier decomposition off).
double read_threshold(const YAML::Node& node, const std::string& file, const std::string& key) {
  const double t = read_double(node, file, key);
  if (!(t >= 0.0 && t <= 1e6))
    throw ConfigError(file, key, "must be a number from 0 (no outlier decomposition) to 1e6" + line_of(node));
  return t;
}

void set_compute_dtype(QuantSpec& q, const std::string& dtype, const std::string& file,
                       const std::string& key) {
  if (dtype == "fp32" || dtype == "float32")
    throw ConfigError(
        file, key,
        "an fp32 compute dtype runs every dequantized GEMM in fp32, which zerosim does not model "
        "(its GPU catalogue has bf16/fp16 tensor-core peaks); set bf16 or fp16 as QLoRA setups do");
  q.compute_dtype = (dtype == "fp16" || dtype == "float16") ? "fp16" : "bf16";
  q.compute_bytes = 2;
}

}  // namespace

const char* quant_method_name(QuantMethod m) {
  switch (m) {
    case QuantMethod::nf4:
      return "nf4";
    case QuantMethod::fp4:
      return "fp4";
    case QuantMethod::int8:
      return "int8";
    case QuantMethod::none:
      break;
  }
  return "none";
}

bool QuantSpec::skips(const std::string& module) const {
  return std::find(skip_modules.begin(), skip_modules.end(), module) != skip_modules.end();
}

int64_t quantized_weight_bytes(int64_t numel, int64_t rows, const QuantSpec& q) {
  if (q.int8()) return numel + 4 * rows;
  const int64_t blocks = (numel + kQuantBlock - 1) / kQuantBlock;
  const int64_t packed = (numel + 1) / 2;
  if (!q.double_quant) return packed + 4 * blocks;  // fp32 absmax per block
  // uint8 absmax per block, an fp32 absmax per 256 of them, one fp32 offset.
  return packed + blocks + 4 * ((blocks + kDoubleQuantBlock - 1) / kDoubleQuantBlock) + 4;
}

QuantSpec parse_quantization(const YAML::Node& node, const std::string& file) {
  QuantSpec q;
  q.source = "quantization";
  if (!present(node)) return q;
  if (!node.IsMap())
    throw ConfigError(file, "quantization", "a mapping (keys: " + join(kQuantKeys) + ")" + line_of(node));
  check_keys(node, kQuantKeys, file, "quantization");
  if (present(node["method"])) {
    const std::string v =
        read_one_of(node["method"], file, "quantization.method", {"none", "nf4", "fp4", "int8"});
    q.method = v == "nf4"    ? QuantMethod::nf4
               : v == "fp4"  ? QuantMethod::fp4
               : v == "int8" ? QuantMethod::int8
                             : QuantMethod::none;
  }
  if (present(node["double_quant"]))
    q.double_quant = read_bool(node["double_quant"], file, "quantization.double_quant");
  if (present(node["compute_dtype"]))
    set_compute_dtype(
        q, read_one_of(node["compute_dtype"], file, "quantization.compute_dtype", {"bf16", "fp16", "fp32"}),
        file, "quantization.compute_dtype");
  if (present(node["skip_modules"]))
    q.skip_modules = read_string_list(node["skip_modules"], file, "quantization.skip_modules");
  if (present(node["prepare_kbit_training"]))
    q.prepare_kbit_training =
        read_bool(node["prepare_kbit_training"], file, "quantization.prepare_kbit_training");
  if (present(node["threshold"])) {
    if (!q.int8())
      throw ConfigError(file, "quantization.threshold",
                        "LLM.int8()'s outlier threshold applies to method: int8 only");
    q.int8_threshold = read_threshold(node["threshold"], file, "quantization.threshold");
  }
  if (present(node["quant_storage"])) {
    if (q.int8())
      throw ConfigError(file, "quantization.quant_storage",
                        "bnb_4bit_quant_storage packs 4-bit weights; 8-bit weights are int8 tensors");
    set_storage(q, read_string(node["quant_storage"], file, "quantization.quant_storage"), file,
                "quantization.quant_storage");
  }
  if (q.int8() && q.double_quant)
    throw ConfigError(file, "quantization.double_quant",
                      "double quantization is bitsandbytes' 4-bit storage; 8-bit weights have none");
  return q;
}

QuantSpec quantization_from_hf(const YAML::Node& node, const std::string& file) {
  QuantSpec q;
  q.source = file;
  const std::string key = "quantization_config";
  if (!node.IsMap()) throw ConfigError(file, key, "expected an object" + line_of(node));
  const std::string method = present(node["quant_method"])
                                 ? read_string(node["quant_method"], file, key + ".quant_method")
                                 : "bitsandbytes";
  if (method != "bitsandbytes")
    throw ConfigError(file, key + ".quant_method",
                      "'" + method + "'" + line_of(node["quant_method"]) +
                          ": only bitsandbytes 4-bit (QLoRA) is modelled (GPTQ, AWQ and the others are not)");
  check_keys(node, kHfQuantKeys, file, key);
  const bool four =
      present(node["load_in_4bit"]) && read_bool(node["load_in_4bit"], file, key + ".load_in_4bit");
  const bool eight =
      present(node["load_in_8bit"]) && read_bool(node["load_in_8bit"], file, key + ".load_in_8bit");
  if (four && eight)
    throw ConfigError(file, key + ".load_in_8bit", "load_in_4bit and load_in_8bit cannot both be true");
  if (!four && !eight)
    throw ConfigError(file, key, "neither load_in_4bit nor load_in_8bit is true: nothing to model");
  if (eight) {
    // Linear8bitLt (transformers' replace_with_bnb_linear): int8 weights with per-row scales; the
    // bnb_4bit_* keys have no effect on it.
    q.method = QuantMethod::int8;
    if (present(node["llm_int8_threshold"]))
      q.int8_threshold = read_threshold(node["llm_int8_threshold"], file, key + ".llm_int8_threshold");
    for (const char* flag : {"llm_int8_has_fp16_weight", "llm_int8_enable_fp32_cpu_offload"})
      if (present(node[flag]) && read_bool(node[flag], file, key + "." + flag))
        throw ConfigError(
            file, key + "." + flag,
            std::string(flag) == "llm_int8_has_fp16_weight"
                ? "fp16 master weights beside the int8 ones (training the 8-bit layers) are not "
                  "modelled (false: frozen int8 weights, as for LoRA)"
                : "offloading modules to the CPU in fp32 is not modelled");
    if (present(node["llm_int8_skip_modules"]))
      q.skip_modules = read_string_list(node["llm_int8_skip_modules"], file, key + ".llm_int8_skip_modules");
    return q;
  }
  // transformers' BitsAndBytesConfig defaults: fp4, no double quantization, fp32 compute dtype.
  const std::string type =
      present(node["bnb_4bit_quant_type"])
          ? read_one_of(node["bnb_4bit_quant_type"], file, key + ".bnb_4bit_quant_type", {"nf4", "fp4"})
          : "fp4";
  q.method = type == "nf4" ? QuantMethod::nf4 : QuantMethod::fp4;
  if (present(node["bnb_4bit_use_double_quant"]))
    q.double_quant = read_bool(node["bnb_4bit_use_double_quant"], file, key + ".bnb_4bit_use_double_quant");
  const std::string dtype =
      present(node["bnb_4bit_compute_dtype"])
          ? read_string(node["bnb_4bit_compute_dtype"], file, key + ".bnb_4bit_compute_dtype")
          : "float32";
  if (dtype != "bfloat16" && dtype != "float16" && dtype != "float32" && dtype != "bf16" && dtype != "fp16")
    throw ConfigError(file, key + ".bnb_4bit_compute_dtype",
                      "'" + dtype + "' is not allowed (allowed: bfloat16, float16)");
  set_compute_dtype(q, dtype, file, key + ".bnb_4bit_compute_dtype");
  if (present(node["bnb_4bit_quant_storage"]))
    set_storage(q, read_string(node["bnb_4bit_quant_storage"], file, key + ".bnb_4bit_quant_storage"), file,
                key + ".bnb_4bit_quant_storage");
  if (present(node["llm_int8_skip_modules"]))
    q.skip_modules = read_string_list(node["llm_int8_skip_modules"], file, key + ".llm_int8_skip_modules");
  return q;
}

}  // namespace zerosim
