#pragma once
// PEFT setup with peft's semantics (docs/reference/dora-zero.md §1-2): method, rank, alpha, targets,
// resolved per module of every decoder layer (layers may differ: rank_pattern, layers_to_transform,
// a regex naming some layers), plus the modules peft trains in full (modules_to_save).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "workloads/model_spec.h"

namespace YAML {
class Node;
}

namespace zerosim {

enum class PeftMethod { none, lora, dora };  // none = full fine-tuning

// What peft puts on one linear of one layer (LoraModel._create_and_replace).
struct AdapterSlot {
  bool adapted = false;
  int64_t r = 0;
  double alpha = 0;
};

// A top-level module peft wraps in ModulesToSaveWrapper: the original stays frozen and a full copy
// is trained (peft utils/other.py).
enum class SavedModule { embedding, lm_head };

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
  // peft's per-module rank and alpha, in the order written (the first key that matches wins).
  std::vector<std::pair<std::string, int64_t>> rank_pattern;
  std::vector<std::pair<std::string, double>> alpha_pattern;
  std::vector<std::string> exclude_modules;  // a list, or one regex when exclude_regex
  bool exclude_regex = false;
  std::vector<int64_t> layers_to_transform;  // empty: every layer
  std::vector<std::string> layers_pattern;
  std::vector<std::string> modules_to_save;  // as written
  std::string bias = "none";                 // none | all | lora_only: which biases train
  // get_peft_model(..., autocast_adapter_dtype=True), peft >= 0.12: bf16/fp16 adapter weights are upcast to
  // fp32 (tuners_utils.py cast_adapter_dtype). Whether they stay fp32: workloads/framework_behaviour.h.
  bool autocast_adapter_dtype = true;
  std::string base_model;             // adapter_config.json's base_model_name_or_path
  std::vector<std::string> warnings;  // one line each: printed on stderr and in the JSON's `warnings`

  // Resolved by resolve_targets:
  std::vector<AdapterSlot> slots;  // layer-major: slots[layer * layer_linears + linear]
  std::vector<bool> adapted;       // per layer_linears entry: adapted in at least one layer
  std::vector<SavedModule> saved;  // modules_to_save resolved against the model

  bool adapts(int layer, size_t linear) const {
    return method != PeftMethod::none && slot(layer, linear).adapted;
  }
  int64_t rank(int layer, size_t linear) const { return slot(layer, linear).r; }
  bool saves(SavedModule m) const;
  int64_t max_rank() const;  // the largest rank of any adapted module (r when none)
  bool uniform() const;      // every layer adapts the same modules with the same rank and alpha
  std::vector<int> layers_adapted() const;  // decoder layers with at least one adapter
  double scaling() const;                   // alpha / r (rsLoRA: alpha / sqrt(r)) of the default r and alpha

 private:
  const AdapterSlot& slot(int layer, size_t linear) const {
    return slots[static_cast<size_t>(layer) * adapted.size() + linear];
  }
};

const char* peft_method_name(PeftMethod m);

// Resolves target_modules against every module path of the model (peft's suffix match, "all-linear",
// or a regex string from adapter_config.json), exclude_modules, layers_to_transform, rank_pattern,
// alpha_pattern and modules_to_save, and checks each rank. Throws ConfigError naming file and key.
void resolve_targets(PeftSpec& peft, const ModelSpec& model, const std::string& file);

// The module path peft sees for a linear of a decoder layer ("model.layers.3.self_attn.q_proj").
std::string module_path(const ModelSpec& model, int layer, const LinearSpec& linear);

// Reads a peft adapter_config.json: every LoraConfig field is modelled, refused or has no effect
// (docs/inputs.md).
PeftSpec peft_from_adapter_config(const std::string& path);

// The module-selection fields adapter_config.json and the run config's peft: share (rank_pattern,
// alpha_pattern, exclude_modules, layers_to_transform, layers_pattern, modules_to_save, bias); keys
// are named prefix + field in messages. In a run config (json = false) a single string item with
// regex characters is a regex, as for target_modules.
void read_peft_selection(const YAML::Node& map, PeftSpec& p, const std::string& file,
                         const std::string& prefix, bool json);

// A warning line when base_model_name_or_path names another model than `model` (empty if not).
std::string base_model_mismatch(const PeftSpec& p, const ModelSpec& model);

// Trainable parameters of one adapted linear: LoRA r·(d_in+d_out); DoRA adds the d_out magnitude.
int64_t lora_params(int64_t r, int64_t d_in, int64_t d_out);
int64_t dora_params(int64_t r, int64_t d_in, int64_t d_out);

// A target_modules / exclude_modules string that peft treats as a regex (it holds a regex character).
bool is_regex(const std::string& s);

}  // namespace zerosim
