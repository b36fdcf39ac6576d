#pragma once
// PEFT setup with peft's semantics (docs/reference/dora-zero.md §1-2): method, rank, alpha, targets.
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/model_spec.h"

namespace zerosim {

enum class PeftMethod { none, lora, dora };  // none = full fine-tuning

struct PeftSpec {
  PeftMethod method = PeftMethod::dora;
  int64_t r = 16;
  double alpha = 32;
  double dropout = 0.0;
  bool use_rslora = false;
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};  // as written (or "all-linear")
  std::string adapter_file;                                        // adapter_config.json it came from
  // adapter_config.json gave target_modules as one string: peft matches it with re.fullmatch against
  // every module path (a list is matched by name or dotted suffix instead).
  bool target_regex = false;
  std::vector<bool> adapted;  // resolved: one flag per model.layer_linears entry

  bool adapts(size_t linear_index) const { return method != PeftMethod::none && adapted[linear_index]; }
  double scaling() const;  // alpha / r (rsLoRA: alpha / sqrt(r))
};

const char* peft_method_name(PeftMethod m);

// Resolves target_modules against the model (peft's suffix match, "all-linear", or a regex
// string from adapter_config.json) and checks r. Throws ConfigError naming file and key.
void resolve_targets(PeftSpec& peft, const ModelSpec& model, const std::string& file);

// Reads a peft adapter_config.json (r, lora_alpha, target_modules, use_dora, lora_dropout, use_rslora).
PeftSpec peft_from_adapter_config(const std::string& path);

// Trainable parameters of one adapted linear: LoRA r·(d_in+d_out); DoRA adds the d_out magnitude.
int64_t lora_params(int64_t r, int64_t d_in, int64_t d_out);
int64_t dora_params(int64_t r, int64_t d_in, int64_t d_out);

}  // namespace zerosim
