#include "workloads/peft_spec.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "workloads/config_error.h"
#include "workloads/module_regex.h"
#include "workloads/yaml_read.h"

namespace zerosim {

const char* peft_method_name(PeftMethod m) {
  switch (m) {
    case PeftMethod::none:
      return "none";
    case PeftMethod::lora:
      return "lora";
    case PeftMethod::dora:
      return "dora";
  }
  return "?";
}

double PeftSpec::scaling() const {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r);
}

int64_t lora_params(int64_t r, int64_t d_in, int64_t d_out) { return r * (d_in + d_out); }
int64_t dora_params(int64_t r, int64_t d_in, int64_t d_out) { return lora_params(r, d_in, d_out) + d_out; }

namespace {

// The module path peft matches regex targets against (layer 0 stands for every layer).
std::string module_path(const ModelSpec& model, const LinearSpec& l) {
  const bool attn = l.role == LinearRole::q || l.role == LinearRole::k || l.role == LinearRole::v ||
                    l.role == LinearRole::qkv || l.role == LinearRole::o;
  if (model.model_type == "qwen") return std::string("transformer.h.0.") + (attn ? "attn." : "mlp.") + l.name;
  if (model.model_type == "mpt")
    return std::string("transformer.blocks.0.") + (attn ? "attn." : "ffn.") + l.name;
  return std::string("model.layers.0.") + (attn ? "self_attn." : "mlp.") + l.name;
}

std::vector<std::string> module_names(const ModelSpec& model) {
  std::vector<std::string> names;
  for (const auto& l : model.layer_linears)
    if (std::find(names.begin(), names.end(), l.name) == names.end()) names.push_back(l.name);
  return names;
}

// One module path for messages ("model.layers.0.self_attn.q_proj").
std::string example_path(const ModelSpec& model) {
  return model.layer_linears.empty() ? std::string("(none)")
                                     : module_path(model, model.layer_linears.front());
}

// A pattern for a one-line message: control characters escaped, at most 120 characters shown.
std::string quoted_pattern(const std::string& pattern) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < pattern.size() && i < 120; ++i) {
    const auto c = static_cast<unsigned char>(pattern[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return pattern.size() > 120 ? out + "..." : out;
}

bool is_regex(const std::string& s) { return s.find_first_of("*.()|[]\\^$+?") != std::string::npos; }

}  // namespace

void resolve_targets(PeftSpec& peft, const ModelSpec& model, const std::string& file) {
  const size_t n = model.layer_linears.size();
  peft.adapted.assign(n, false);
  if (peft.method == PeftMethod::none) return;

  const auto names = module_names(model);
  const std::string key = peft.adapter_file.empty() ? "peft.target_modules" : "target_modules";
  const std::string where = peft.adapter_file.empty() ? file : peft.adapter_file;
  if (peft.target_modules.empty())
    throw ConfigError(where, key, "empty (allowed: " + join(names) + ", or all-linear)");

  // adapter_config.json: a string is a regex and a list holds names, exactly as peft reads them. In a
  // run config (where a scalar is a comma-separated list, for --set) a single item with regex
  // characters is taken as the regex.
  const bool single_regex = peft.adapter_file.empty()
                                ? peft.target_modules.size() == 1 && is_regex(peft.target_modules[0]) &&
                                      peft.target_modules[0] != "all-linear"
                                : peft.target_regex;
  if (single_regex) {  // peft: a string target is a full-match regex over module paths (re.fullmatch)
    const std::string& pattern = peft.target_modules[0];
    // Messages quote a long pattern (up to ModuleRegex::kMaxPatternLength, or over it) by its start,
    // and control characters escaped: the message stays on one line.
    const std::string shown = quoted_pattern(pattern);
    std::optional<ModuleRegex> re;
    try {
      re.emplace(pattern);
    } catch (const RegexError& e) {
      throw ConfigError(where, key,
                        "'" + shown + "' is not a usable regular expression: " + e.what() +
                            " (Python re syntax, matched in full against module paths like " +
                            example_path(model) + ")");
    }
    for (size_t i = 0; i < n; ++i)
      peft.adapted[i] = re->full_match(module_path(model, model.layer_linears[i]));
    if (std::none_of(peft.adapted.begin(), peft.adapted.end(), [](bool b) { return b; }))
      throw ConfigError(
          where, key,
          "regex '" + shown + "' matches no module (module paths look like " + example_path(model) + ")");
  } else {
    for (const auto& t : peft.target_modules) {
      if (t == "all-linear") {  // every linear of the decoder layers; lm_head is excluded by peft
        peft.adapted.assign(n, true);
        continue;
      }
      // peft's check_target_module_exists: the module's path equals the target or ends with "." + target.
      // zerosim adapts every layer alike, so a target naming one layer's index cannot be honoured.
      std::stringstream parts(t);
      for (std::string part; std::getline(parts, part, '.');)
        if (!part.empty() &&
            std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); }))
          throw ConfigError(where, key,
                            "'" + quoted_pattern(t) + "' names layer " + part +
                                "; adapters in a subset of layers are not supported yet (name the module: " +
                                join(names) + ")");
      bool found = false;
      for (size_t i = 0; i < n; ++i) {
        const std::string path = module_path(model, model.layer_linears[i]);
        const bool suffix = path.size() > t.size() &&
                            path.compare(path.size() - t.size(), t.size(), t) == 0 &&
                            path[path.size() - t.size() - 1] == '.';
        if (model.layer_linears[i].name == t || path == t || suffix) peft.adapted[i] = found = true;
      }
      if (!found)
        throw ConfigError(where, key,
                          "unknown target module '" + t + "' for model type " + model.model_type +
                              " (allowed: " + join(names) + ", all-linear)");
    }
  }

  const std::string rkey = peft.adapter_file.empty() ? "peft.r" : "r";
  for (size_t i = 0; i < n; ++i) {
    if (!peft.adapted[i]) continue;
    const auto& l = model.layer_linears[i];
    const int64_t limit = std::min(l.d_in, l.d_out);
    if (peft.r > limit)
      throw ConfigError(where, rkey,
                        std::to_string(peft.r) + " exceeds min(d_in, d_out) = " + std::to_string(limit) +
                            " of " + l.name + " (allowed: 1 to " + std::to_string(limit) + ")");
  }
}

PeftSpec peft_from_adapter_config(const std::string& path) {
  const YAML::Node root = parse_yaml_file(path, "adapter_config.json");
  if (!root.IsMap()) throw ConfigError(path, "", "not a peft adapter_config.json (expected a JSON object)");
  PeftSpec p;
  p.adapter_file = path;
  if (root["peft_type"] && !root["peft_type"].IsNull()) {
    const std::string type = read_string(root["peft_type"], path, "peft_type");
    if (type != "LORA")
      throw ConfigError(path, "peft_type",
                        "'" + type + "' is not supported (allowed: LORA, with use_dora for DoRA)");
  }
  if (!root["r"]) throw ConfigError(path, "r", "missing");
  p.r = read_int_in(root["r"], path, "r", 1, 1 << 20);
  p.alpha = root["lora_alpha"] ? read_double(root["lora_alpha"], path, "lora_alpha") : 8.0;  // peft default
  p.dropout = root["lora_dropout"] && !root["lora_dropout"].IsNull()
                  ? read_double(root["lora_dropout"], path, "lora_dropout")
                  : 0.0;
  if (p.dropout < 0 || p.dropout >= 1) throw ConfigError(path, "lora_dropout", "must be in [0, 1)");
  const bool dora =
      root["use_dora"] && !root["use_dora"].IsNull() && read_bool(root["use_dora"], path, "use_dora");
  p.method = dora ? PeftMethod::dora : PeftMethod::lora;
  p.use_rslora =
      root["use_rslora"] && !root["use_rslora"].IsNull() && read_bool(root["use_rslora"], path, "use_rslora");
  if (root["target_modules"] && !root["target_modules"].IsNull()) {
    const YAML::Node& t = root["target_modules"];
    p.target_modules =
        t.IsScalar() ? std::vector<std::string>{t.Scalar()} : read_string_list(t, path, "target_modules");
    p.target_regex = t.IsScalar() && t.Scalar() != "all-linear";
  }  // else: peft's per-model default, q_proj and v_proj for llama-family models (kept from PeftSpec)
  if (root["layers_to_transform"] && !root["layers_to_transform"].IsNull())
    throw ConfigError(path, "layers_to_transform", "is not supported yet (adapters in every layer only)");
  return p;
}

}  // namespace zerosim
