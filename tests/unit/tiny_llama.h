#pragma once
// The tiny LLaMA whose every tensor the unit tests count by hand: hidden h = 64, intermediate i = 128,
// 2 layers, 4 heads (head_dim 16, q_dim 64), 2 KV heads (kv_dim 32), vocab V = 100, untied; T = 1 · 32 = 32
// tokens; DoRA r = 4 (dropout 0) on q_proj and v_proj unless `targets` says otherwise; one A100-80GB.
#include <string>
#include <vector>

#include "test_support.h"
#include "workloads/run_config.h"

namespace zerosim::testing {

inline constexpr const char* kTinyLlamaConfig =
    R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "tie_word_embeddings": false})";

struct TinyLlama {
  std::string train = "{micro_batch: 1, seq_len: 32}";  // the run config's train section
  TempDir dir;
  std::string model_path = dir.write("tiny/config.json", kTinyLlamaConfig);

  RunConfig config(const std::vector<Override>& more = {},
                   const std::string& targets = "[q_proj, v_proj]") const {
    const std::string yaml = "model: " + model_path +
                             "\npeft: {method: dora, r: 4, alpha: 8, target_modules: " + targets +
                             "}\ntrain: " + train + "\ncluster: {gpu: a100-80gb-sxm, gpus: 1}\n";
    return run_config_from_yaml(YAML::Load(yaml), dir.path("tiny.yaml"), more);
  }
};

}  // namespace zerosim::testing
