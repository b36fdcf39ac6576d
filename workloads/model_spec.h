#pragma once
// Shapes of a decoder-only transformer, from a preset or a Hugging Face config.json.
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/quantization.h"

namespace zerosim {

enum class MlpKind { swiglu, gelu };  // LLaMA gate/up/down vs. MPT/GPT up/down
enum class NormKind { rmsnorm, layernorm };

// Where a linear sits in the block; the step graph and memory model reason on roles,
// never on the model-specific module names.
enum class LinearRole { q, k, v, qkv, o, router, gate, up, down };

// The linears of a decoder layer in groups that read the same tensor, in forward order: the normalised
// layer input (attention inputs), the attention output, the normalised residual (MLP inputs), the
// activation output. Between two groups sits a non-linear part of the layer whose backward runs
// between theirs. A mixture-of-experts layer's router reads the normalised residual too, but it is its own
// group: the experts read a per-expert gathered copy of it, not the same tensor.
enum class LinearGroup { attention_input, attention_output, router, mlp_input, mlp_output };
LinearGroup group_of(LinearRole role);

struct LinearSpec {
  std::string name;  // peft's module name (q_proj, c_attn, Wqkv, ...)
  LinearRole role;
  int64_t d_in;
  int64_t d_out;
  bool bias;
  // Mixture of experts (Mixtral): the layer holds `experts` copies of this linear, and each token passes
  // through `routed` of them (top-k), so T·routed tokens cross it per layer, T·routed/experts per copy under
  // balanced routing. 1 and 1 for a dense linear.
  int64_t experts = 1;
  int64_t routed = 1;
};

struct ModelSpec {
  std::string name;        // preset name or config path
  std::string model_type;  // llama, mistral, qwen2, qwen, mpt
  int64_t hidden = 0;
  int64_t intermediate = 0;  // width of one MLP branch
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab = 0;
  bool tied_embeddings = false;
  MlpKind mlp = MlpKind::swiglu;
  NormKind norm = NormKind::rmsnorm;
  bool norm_bias = false;  // LayerNorm with a bias vector
  bool rotary = true;      // rotary position embedding (MPT uses ALiBi instead)
  // Gemma-2: a norm on each sublayer's output too (post_attention_layernorm, post_feedforward_layernorm):
  // four norms per layer instead of two.
  bool sandwich_norms = false;
  double final_logit_softcap = 0;  // logits = cap·tanh(logits/cap) before the loss (0: none)
  double attn_logit_softcap = 0;   // the same on attention scores (flash-attn >= 2.6 applies it in-kernel)
  int64_t sliding_window = 0;      // Gemma-2's every other layer attends this far back (0: none)
  int64_t experts = 1;             // Mixtral: num_local_experts per MoE layer (1: a dense MLP)
  int64_t experts_per_token = 1;   // Mixtral: num_experts_per_tok (top-k)
  std::vector<LinearSpec> layer_linears;  // one decoder layer, in forward order
  // config.json's quantization_config (bitsandbytes 4-bit); method none when the checkpoint is not quantized.
  QuantSpec quantization;

  bool moe() const { return experts > 1; }
  int64_t q_dim() const { return heads * head_dim; }
  int64_t kv_dim() const { return kv_heads * head_dim; }
  int64_t norm_params() const { return norm_bias ? 2 * hidden : hidden; }
  int64_t layer_linear_params() const;  // weights + biases of one layer's linears
  int64_t norms_per_layer() const { return sandwich_norms ? 4 : 2; }
  int64_t params_per_layer() const;  // linears + the layer's norms
  int64_t embedding_params() const { return vocab * hidden; }
  int64_t lm_head_params() const { return tied_embeddings ? 0 : vocab * hidden; }
  int64_t total_params() const;
  const LinearSpec* find_linear(const std::string& module_name) const;
  std::vector<size_t> linears_in(LinearGroup group) const;  // indices into layer_linears, forward order
};

// Where a preset's shapes come from: its "_zerosim_source" ("meta-llama/Llama-2-7b-hf config.json (...)"),
// "" for an unknown preset.
std::string model_source(const std::string& preset);

// A preset name (see preset_names()) or a path to a Hugging Face config.json.
// Throws ConfigError naming `source_file`/`key` on anything it cannot use.
ModelSpec load_model(const std::string& name_or_path, const std::string& source_file = "",
                     const std::string& key = "model");
ModelSpec model_from_hf_config(const std::string& json_text, const std::string& file);
std::vector<std::string> preset_names();

}  // namespace zerosim
