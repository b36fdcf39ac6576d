#pragma once
// Which releases of the training frameworks a run uses (run config `versions:`). Behaviour that changed
// between releases is modelled per release range, and each range cites the change (docs/inputs.md,
// "versions"; docs/reference/deepspeed-offload.md).
#include <yaml-cpp/yaml.h>

#include <compare>
#include <string>

namespace zerosim {

struct Version {
  int major = 0, minor = 0, patch = 0;
  auto operator<=>(const Version&) const = default;
  std::string text() const;  // "0.19.5"
};

// The DeepSpeed releases whose offload code paths zerosim models (read from the tags' source).
inline constexpr Version kDeepSpeedOldest{0, 10, 0};
inline constexpr Version kDeepSpeedNewest{0, 19, 5};
// The transformers releases whose causal-LM loss code zerosim models (LlamaForCausalLM.forward and
// loss/loss_utils.py ForCausalLMLoss, docs/memory-model.md "Logits and loss"): 4.36 is the oldest read
// (ms-swift 1.x pinned transformers<4.37), 4.56 the newest (ForCausalLMLoss unchanged since 4.49).
inline constexpr Version kTransformersOldest{4, 36, 0};
inline constexpr Version kTransformersNewest{4, 56, 0};
// The peft releases whose adapter-dtype code zerosim models (tuners/lora.py, tuners/lora/layer.py,
// tuners_utils.py): 0.5.0 is the oldest read (the Qwen-1 fine-tuning stack of late 2023).
inline constexpr Version kPeftOldest{0, 5, 0};
inline constexpr Version kPeftNewest{0, 20, 0};

// The NCCL releases whose algorithm availability, NCCL_ALGO fallback and NVLSTree chunking zerosim
// models (src/enqueue.cc, src/graph/tuning.cc, src/transport/nvls.cc; docs/time-model.md "NCCL releases").
inline constexpr Version kNcclOldest{2, 12, 0};
inline constexpr Version kNcclNewest{2, 30, 0};

// The bitsandbytes releases whose MatMul8bitLt zerosim models (bitsandbytes/autograd/_functions.py): 0.41.0
// to 0.44.x quantize the input both ways (double_quant) and keep the transposed copy, 0.45.0 onwards take
// the fast path for a frozen weight (int8_vectorwise_quant) and keep the input alone (docs/memory-model.md
// §9); the 4-bit path is the same in all of them.
inline constexpr Version kBitsandbytesOldest{0, 41, 0};
inline constexpr Version kBitsandbytesNewest{0, 48, 1};

// The PyTorch releases whose code zerosim models: the foreach AdamW's intermediates (torch/optim/adamw.py
// _multi_tensor_adamw: two until 2.0.x, one from 2.1.0, #104898) and the caching allocator's options
// (expandable_segments from 2.1.0, #96995; c10/cuda/CUDACachingAllocator.cpp, docs/memory-model.md §5).
inline constexpr Version kTorchOldest{2, 0, 0};
inline constexpr Version kTorchNewest{2, 6, 0};

struct FrameworkVersions {
  Version deepspeed = kDeepSpeedNewest;
  Version transformers = kTransformersNewest;
  Version peft = kPeftNewest;
  Version nccl = kNcclNewest;
  Version bitsandbytes = kBitsandbytesNewest;
  Version torch = kTorchNewest;
};

// `versions: {deepspeed: "0.16.4", transformers: "4.46.3", peft: "0.15.2", nccl: "2.21.5", torch: "2.4"}`; a
// release outside the modelled range is a ConfigError naming it.
FrameworkVersions parse_versions(const YAML::Node& node, const std::string& file);

}  // namespace zerosim
