#pragma once
// Every parameter tensor of the model as peft + DeepSpeed see it: base weights, biases, norms,
// embeddings and the adapter tensors (LoRA A, B; DoRA magnitude), each frozen or trainable,
// grouped into the modules whose hooks fetch them under ZeRO-3.
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/model_spec.h"
#include "workloads/peft_spec.h"

namespace zerosim {

enum class ModuleKind { embedding, norm, linear, lora_a, lora_b, dora_magnitude, final_norm, lm_head };

// A module with its own parameters (DeepSpeed fetches with recurse=False, so each is separate).
struct ParamModule {
  std::string name;  // e.g. "layers.3.q_proj.lora_A"
  ModuleKind kind;
  int layer = -1;              // -1 outside the decoder layers
  int linear = -1;             // index into ModelSpec::layer_linears for linear-related modules
  int64_t numel = 0;           // all its parameters (weight + bias)
  int64_t largest_tensor = 0;  // the persistence threshold is applied per tensor
  bool trainable = false;
  // Identical copies the module stands for (a mixture-of-experts layer's experts of one linear, each with
  // its weight of largest_tensor and its bias): numel counts all of them.
  int64_t copies = 1;

  // ZeRO-3's view of a 4-bit weight in bitsandbytes' 16-bit quant storage (bnb_4bit_quant_storage bf16 or
  // fp16): each copy's weight is a tensor of this many 16-bit elements, its ⌈numel/2⌉ bytes of packed
  // nibbles (docs/memory-model.md §9); 0: the weight as it is.
  int64_t packed_weight = 0;

  int64_t numel_per_copy() const { return numel / copies; }
  // Each tensor's elements in registration order: per copy its weight, then the rest (a bias).
  std::vector<int64_t> tensor_numels() const;
  // The tensors DeepSpeed's ZeRO-3 partitions, in their own elements: tensor_numels() with each packed
  // weight as packed_weight 16-bit elements.
  std::vector<int64_t> zero3_tensor_numels() const;
  int64_t zero3_numel() const;  // their sum
};

struct ParamCounts {
  int64_t total = 0;
  int64_t trainable = 0;
  int64_t frozen = 0;
};

// Modules in forward execution order. Tied embeddings appear once (the embedding).
std::vector<ParamModule> param_modules(const ModelSpec& model, const PeftSpec& peft);
ParamCounts count_params(const std::vector<ParamModule>& modules);

}  // namespace zerosim
