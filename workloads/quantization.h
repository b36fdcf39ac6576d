#pragma once
// QLoRA's frozen base: bitsandbytes 4-bit weights (NF4 or FP4, optionally with double quantization) or
// 8-bit ones (LLM.int8(), Linear8bitLt) as transformers' integration and peft train them
// (docs/memory-model.md §9, docs/time-model.md "QLoRA", "8-bit").
// What it changes: the linears' weights are stored packed with their block constants; every forward and
// every input gradient dequantizes the weight to the compute dtype first (a transient copy and a
// memory-bound kernel); bitsandbytes' MatMul4Bit keeps its input for backward whenever autograd records it;
// peft's prepare_model_for_kbit_training casts every other parameter to fp32. No SimGrid here.
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/yaml_read.h"

namespace zerosim {

enum class QuantMethod { none, nf4, fp4, int8 };
const char* quant_method_name(QuantMethod m);  // "none", "nf4", "fp4", "int8"

struct QuantSpec {
  QuantMethod method = QuantMethod::none;
  bool double_quant = false;  // bnb_4bit_use_double_quant: the block absmax themselves 8-bit
  int64_t compute_bytes = 2;  // bnb_4bit_compute_dtype: bf16 or fp16 (fp32 is refused)
  std::string compute_dtype = "bf16";
  // Linears left unquantized, by module name (transformers' llm_int8_skip_modules; its default keeps the
  // output embedding, lm_head, in the model's dtype). litgpt's bnb plugin quantizes every Linear: [].
  std::vector<std::string> skip_modules = {"lm_head"};
  // peft.prepare_model_for_kbit_training was called (axolotl, peft's QLoRA examples): every parameter that
  // is not 4-bit (norms, embeddings, a skipped lm_head, biases) is cast to fp32.
  bool prepare_kbit_training = true;
  // LLM.int8()'s outlier threshold (llm_int8_threshold): input columns above it take an extra fp16 GEMM
  // (data-dependent, not counted); 0 turns the decomposition off.
  double int8_threshold = 6.0;
  // bnb_4bit_quant_storage: the dtype Params4bit packs its nibbles into (uint8, bitsandbytes' default, or
  // a float dtype: two nibbles per byte whatever it is). Only ZeRO-3 sees it: DeepSpeed partitions and
  // all-gathers the packed weight as a tensor of that dtype (docs/memory-model.md §9).
  std::string storage = "uint8";
  int64_t storage_bytes = 1;
  std::string source;  // where it was read: "quantization" (run config) or the config.json's path

  bool on() const { return method != QuantMethod::none; }
  bool int8() const { return method == QuantMethod::int8; }
  bool skips(const std::string& module) const;
};

// bitsandbytes 4-bit blocks: 64 weights per fp32 absmax; with double quantization the absmax are 8-bit in
// blocks of 256 with an fp32 absmax each and one fp32 offset per tensor (bitsandbytes/functional.py
// quantize_4bit, compress_statistics).
inline constexpr int64_t kQuantBlock = 64;
inline constexpr int64_t kDoubleQuantBlock = 256;

// Bytes a quantized weight of `numel` elements in `rows` output rows occupies: 4-bit, ⌈numel/2⌉ packed
// (uint8 storage) plus its block constants; 8-bit, one int8 per element plus one fp32 scale per row
// (Int8Params' CB and SCB, bitsandbytes int8_vectorwise_quant).
int64_t quantized_weight_bytes(int64_t numel, int64_t rows, const QuantSpec& q);

// The run config's `quantization` key (file, key and allowed values in every error).
QuantSpec parse_quantization(const YAML::Node& node, const std::string& file);
// A Hugging Face config.json's quantization_config (quant_method bitsandbytes, load_in_4bit or
// load_in_8bit); other methods (GPTQ, AWQ, ...) and an fp32 compute dtype are refused.
QuantSpec quantization_from_hf(const YAML::Node& node, const std::string& file);

}  // namespace zerosim
