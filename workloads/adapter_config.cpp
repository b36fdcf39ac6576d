// peft's adapter_config.json (a serialised LoraConfig, peft tuners/lora/config.py and config.py
// PeftConfig), read field by field: each one modelled, refused, or listed as having no effect on time
// or memory (docs/inputs.md keeps the same list).
#include <algorithm>
#include <cctype>

#include "workloads/config_error.h"
#include "workloads/peft_spec.h"
#include "workloads/yaml_read.h"

namespace zerosim {

namespace {

// null, false, "", {} or []: the LoraConfig default of an optional feature.
bool is_default(const YAML::Node& n) {
  if (!present(n)) return true;
  if (n.IsScalar()) return n.Scalar() == "false" || n.Scalar().empty();
  return n.size() == 0;
}

// Fields that do not change step time or memory: initialisation, bookkeeping, inference-only switches.
const std::vector<std::string> kNoEffect = {
    "revision",          "inference_mode", "auto_mapping",      "peft_version",       "fan_in_fan_out",
    "init_lora_weights", "loftq_config",   "eva_config",        "corda_config",       "lora_ga_config",
    "runtime_config",    "megatron_core",  "qalora_group_size", "ensure_weight_tying"};

// Fields zerosim reads (modelled).
const std::vector<std::string> kModelled = {"peft_type",
                                            "task_type",
                                            "base_model_name_or_path",
                                            "r",
                                            "lora_alpha",
                                            "lora_dropout",
                                            "use_dora",
                                            "use_rslora",
                                            "target_modules",
                                            "exclude_modules",
                                            "layers_to_transform",
                                            "layers_pattern",
                                            "rank_pattern",
                                            "alpha_pattern",
                                            "modules_to_save",
                                            "bias"};

// Features that change the trained modules in ways zerosim does not model: refused unless left at
// their default, each with the reason.
struct Refused {
  const char* key;
  const char* why;
};
const Refused kRefused[] = {
    {"layer_replication", "stacks copies of decoder layers (more layers sharing base weights), not modelled"},
    {"trainable_token_indices", "trains selected embedding rows (TrainableTokensWrapper), not modelled"},
    {"target_parameters", "adapts nn.Parameter tensors (e.g. MoE experts), not modelled"},
    {"megatron_config", "Megatron tensor-parallel LoRA layers are not modelled"},
    {"lora_bias", "a bias on lora_B is not modelled"},
    {"use_qalora", "QALoRA on a quantized model is not modelled"},
    {"alora_invocation_tokens", "activated LoRA (aLoRA) is not modelled"},
    {"use_bdlora", "block-diagonal LoRA is not modelled"},
    {"velora_config", "VeLoRA's compressed activations are not modelled"},
    {"monteclora_config", "MonteCLoRA is not modelled"},
    {"kasa_config", "KaSA is not modelled"},
    {"arrow_config", "Arrow routing is not modelled"},
};

// An unknown field is ignored with a warning, as peft's PeftConfig.from_peft_type does (config.py:
// "Unexpected keyword arguments ... these are ignored"), e.g. a field of a newer peft release.
void check_fields(const YAML::Node& root, const std::string& path, std::vector<std::string>& warnings) {
  for (const auto& kv : root) {
    const std::string key = read_string(kv.first, path, "(a field name)");
    const auto known = [&](const std::vector<std::string>& v) {
      return std::find(v.begin(), v.end(), key) != v.end();
    };
    if (known(kModelled) || known(kNoEffect)) continue;
    const auto r = std::find_if(std::begin(kRefused), std::end(kRefused),
                                [&](const Refused& f) { return key == f.key; });
    if (r == std::end(kRefused)) {
      warnings.push_back(
          path + ": '" + key +
          "' is not a LoraConfig field zerosim knows; ignored, as peft ignores unexpected fields "
          "(docs/inputs.md lists the fields)");
      continue;
    }
    if (!is_default(kv.second))
      throw ConfigError(path, key, std::string("is set: ") + r->why + " (allowed: null)");
  }
}

void check_task_type(const YAML::Node& root, const std::string& path) {
  if (!present(root["task_type"])) return;
  const std::string task = read_string(root["task_type"], path, "task_type");
  if (task == "CAUSAL_LM") return;
  const std::string why =
      task == "SEQ_CLS" ? "a sequence-classification model has a 'score' head (added to modules_to_save by "
                          "peft) that the causal-LM models zerosim knows lack"
                        : "zerosim models causal-LM fine-tuning only";
  throw ConfigError(path, "task_type", "'" + task + "': " + why + " (allowed: CAUSAL_LM or null)");
}

}  // namespace

PeftSpec peft_from_adapter_config(const std::string& path) {
  const YAML::Node root = parse_yaml_file(path, "adapter_config.json");
  if (!root.IsMap()) throw ConfigError(path, "", "not a peft adapter_config.json (expected a JSON object)");
  PeftSpec p;
  p.adapter_file = path;
  if (present(root["peft_type"])) {
    const std::string type = read_string(root["peft_type"], path, "peft_type");
    if (type != "LORA")
      throw ConfigError(path, "peft_type",
                        "'" + type + "' is not supported (allowed: LORA, with use_dora for DoRA)");
  }
  check_fields(root, path, p.warnings);
  check_task_type(root, path);
  if (!root["r"]) throw ConfigError(path, "r", "missing");
  p.r = read_int_in(root["r"], path, "r", 1, 1 << 20);
  p.alpha = root["lora_alpha"] ? read_double(root["lora_alpha"], path, "lora_alpha") : 8.0;  // peft default
  p.dropout = present(root["lora_dropout"]) ? read_double(root["lora_dropout"], path, "lora_dropout") : 0.0;
  if (p.dropout < 0 || p.dropout >= 1) throw ConfigError(path, "lora_dropout", "must be in [0, 1)");
  const bool dora = present(root["use_dora"]) && read_bool(root["use_dora"], path, "use_dora");
  p.method = dora ? PeftMethod::dora : PeftMethod::lora;
  p.use_rslora = present(root["use_rslora"]) && read_bool(root["use_rslora"], path, "use_rslora");
  if (present(root["target_modules"])) {
    const YAML::Node& t = root["target_modules"];
    p.target_modules =
        t.IsScalar() ? std::vector<std::string>{t.Scalar()} : read_string_list(t, path, "target_modules");
    p.target_regex = t.IsScalar() && t.Scalar() != "all-linear";
  }  // else: peft's per-model default, q_proj and v_proj for llama-family models (kept from PeftSpec)
  if (present(root["base_model_name_or_path"]))
    p.base_model = read_string(root["base_model_name_or_path"], path, "base_model_name_or_path");
  read_peft_selection(root, p, path, "", true);
  if (p.target_regex &&
      (!p.layers_to_transform.empty() || !p.layers_pattern.empty()))  // LoraConfig.__post_init__
    throw ConfigError(
        path, p.layers_to_transform.empty() ? "layers_pattern" : "layers_to_transform",
        "cannot be used when target_modules is a string (a regex), as peft's LoraConfig refuses");
  return p;
}

}  // namespace zerosim
