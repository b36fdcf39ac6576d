#pragma once
// `zerosim import TOOL FILE`: a training front-end's own config (axolotl, LLaMA-Factory, HF Trainer) turned
// into a zerosim run config. The shared part: the settings an importer derives (each with where it came
// from, written as a comment), the fields it reads that change neither time nor memory (listed on stderr),
// refusals (ConfigError naming the source file and field), and the rendering as YAML. Each front-end's
// translation is its own file (import_<tool>.cpp), with the front-end's defaults read from its code.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zerosim {

// What the command line adds to a source file that does not say it (training configs name no GPUs).
struct ImportOptions {
  std::string model;         // --model: a preset or a config.json path, instead of the file's model
  std::string peft_adapter;  // --peft: a peft adapter_config.json (HF Trainer files have no adapter)
  // --weights-dtype: the dtype the model was loaded in (from_pretrained's torch_dtype), which
  // TrainingArguments do not say: "" = fp32, from_pretrained's default; hf-trainer only.
  std::string weights_dtype;
  int64_t seq_len = 0;  // --seq-len: tokens per sample (0: the file's, where it has one)
  std::string gpu;      // --gpu, --gpus, --gpus-per-node: the cluster ("" / 0: zerosim's defaults)
  int64_t gpus = 0;
  int64_t gpus_per_node = 0;
  std::string out_dir;  // where the run config is written (paths in it are made relative to it)
};

// One run-config key, its value as YAML text ("4", "true", "[q_proj, v_proj]"), and its origin.
struct ImportedSetting {
  std::string key;  // dotted: "train.micro_batch"
  std::string value;
  std::string origin;  // "per_device_train_batch_size: 4", "LLaMA-Factory default (...)", "--gpus"
};

struct ImportedConfig {
  std::string tool;  // "axolotl", "llamafactory", "hf-trainer"
  std::string file;
  std::vector<ImportedSetting> settings;  // in the order they were set
  std::vector<std::string> no_effect;     // "field: why it changes neither time nor memory"
};

// Collects an importer's settings; set() replaces an earlier value of the same key (and its origin).
class ImportBuilder {
 public:
  ImportBuilder(std::string tool, std::string file);
  void set(const std::string& key, const std::string& value, const std::string& origin);
  bool has(const std::string& key) const;
  void no_effect(const std::string& field, const std::string& why);
  // ConfigError(file, field, why): the field changes time or memory in a way zerosim does not model.
  [[noreturn]] void refuse(const std::string& field, const std::string& why) const;
  const std::string& file() const { return config_.file; }
  const std::string& tool() const { return config_.tool; }
  ImportedConfig finish() { return config_; }

 private:
  ImportedConfig config_;
};

// How an importer treats each field of its source: translate it (the handler), or say it has no effect
// on time or memory (with why), or refuse it (with why). Fields the front-end does not know are refused
// with the nearest known name, as the front-end's own argument parser refuses them.
struct FieldRule {
  std::function<void(const YAML::Node& value)> translate;  // empty: no_effect or refuse
  std::string no_effect;                                   // non-empty: listed on stderr
  std::string refuse;                                      // non-empty: exit 2
};
void apply_field_rules(ImportBuilder& b, const YAML::Node& root,
                       const std::map<std::string, FieldRule>& rules, const std::string& what);

// What the command line says, over the file: --model, --seq-len and the cluster flags.
void apply_command_line(ImportBuilder& b, const ImportOptions& options);

// The zerosim model preset whose source is this Hugging Face Hub id (case-insensitive; "-hf", "-chat",
// "-Instruct" variants of the same weights' shapes included; NousResearch's re-uploads of Meta's Llama
// repositories; Llama 3.1, whose config differs from Llama 3's in rope_scaling and context length only),
// or "" when none is. `note`, when given, gets what was assumed ("; NousResearch's re-upload of ...").
std::string preset_for_hub_id(const std::string& hub_id, std::string* note = nullptr);

// A model reference as a front-end or --model gives it, as the run config's `model:` value: a preset
// name; a config.json file, or a directory holding one (relative to the working directory, then to
// `source_file`), written relative to the output; or a Hub id of a preset. "" when it is none of these;
// `how` says which it was ("its config.json", "the zerosim preset of that Hub id ...").
std::string resolve_model(const std::string& reference, const std::string& source_file,
                          const std::string& out_dir, std::string& how);

// A source-relative path as the run config (written to options.out_dir) should name it.
std::string path_from_output(const std::string& path, const std::string& source_file,
                             const std::string& out_dir);

// HF TrainingArguments' `optim` as train.optimizer (transformers trainer.py
// get_optimizer_cls_and_kwargs): adamw_torch -> foreach, adamw_torch_fused -> fused; adamw_bnb_8bit and
// adamw_8bit -> bnb-8bit, paged_adamw_8bit -> bnb-paged-8bit, paged_adamw_32bit -> bnb-paged-32bit
// (bitsandbytes.optim.AdamW with optim_bits 8 when the name has "8bit", is_paged when it has "paged").
// nullopt for the names zerosim does not model.
struct HfOptimizer {
  std::string value;  // train.optimizer
  std::string what;   // the class it builds, for the origin comment
  bool bitsandbytes = false;
};
std::optional<HfOptimizer> hf_optimizer(const std::string& optim);
// TrainingArguments.max_grad_norm as HF Trainer reads it (Trainer._inner_training_loop clips when it is not
// None and > 0): the field's value, null as 0.
double hf_max_grad_norm(const YAML::Node& value, const std::string& file);
// Sets train.max_grad_norm from it (0 for no clipping), with `origin` for the comment.
void set_hf_max_grad_norm(ImportBuilder& b, double max_grad_norm, const std::string& origin);

// The optim names hf_optimizer knows, for refusals.
inline constexpr const char* kHfOptimsModelled =
    "adamw_torch, adamw_torch_fused, adamw_bnb_8bit, adamw_8bit, paged_adamw_8bit, paged_adamw_32bit";

// YAML text of a scalar for a run-config value: numbers and booleans as they are, strings quoted when
// YAML would read them as something else.
std::string yaml_scalar(const std::string& text);
std::string yaml_list(const std::vector<std::string>& items);

// The run config as YAML, one `# from ...` comment per key, sections in the order first set.
std::string render_run_config(const ImportedConfig& config);

// The importers (import_<tool>.cpp, registered in importers()). Each reads the file, applies the
// front-end's defaults, and returns the settings; ConfigError (file, field, why) for what it refuses or
// cannot find.
ImportedConfig import_axolotl(const std::string& file, const ImportOptions& options);
ImportedConfig import_hf_trainer(const std::string& file, const ImportOptions& options);
ImportedConfig import_llamafactory(const std::string& file, const ImportOptions& options);

// Tool name ("axolotl", "llamafactory", "hf-trainer") -> importer, for the command line and its --help.
using Importer = std::function<ImportedConfig(const std::string&, const ImportOptions&)>;
const std::map<std::string, Importer>& importers();

}  // namespace zerosim
