// The module-selection fields adapter_config.json and the run config's peft: share, read with
// LoraConfig's types (peft tuners/lora/config.py).
#include <algorithm>
#include <cctype>

#include "workloads/config_error.h"
#include "workloads/peft_spec.h"
#include "workloads/yaml_read.h"

namespace zerosim {

namespace {

template <typename T, typename Read>
std::vector<std::pair<std::string, T>> read_pattern(const YAML::Node& n, const std::string& file,
                                                    const std::string& key, Read read) {
  if (!n.IsMap())
    throw ConfigError(file, key,
                      "expected a map from module-name pattern to value, e.g. {\"q_proj\": 64}" + line_of(n));
  std::vector<std::pair<std::string, T>> out;
  for (const auto& kv : n) {
    const std::string k = read_string(kv.first, file, key);
    if (k.empty()) throw ConfigError(file, key, "an empty pattern key" + line_of(kv.first));
    out.emplace_back(k, read(kv.second, key + "." + k));
  }
  return out;
}

std::vector<int64_t> read_layer_indexes(const YAML::Node& n, const std::string& file,
                                        const std::string& key) {
  std::vector<int64_t> out;
  if (n.IsSequence()) {
    for (const auto& item : n) out.push_back(read_int_in(item, file, key, 0, 1 << 20));
  } else {
    out.push_back(read_int_in(n, file, key, 0, 1 << 20));  // peft: an int is one layer
  }
  return out;
}

}  // namespace

void read_peft_selection(const YAML::Node& m, PeftSpec& p, const std::string& file, const std::string& prefix,
                         bool json) {
  if (present(m["rank_pattern"]))
    p.rank_pattern = read_pattern<int64_t>(
        m["rank_pattern"], file, prefix + "rank_pattern",
        [&](const YAML::Node& v, const std::string& k) { return read_int_in(v, file, k, 1, 1 << 20); });
  if (present(m["alpha_pattern"]))
    p.alpha_pattern = read_pattern<double>(m["alpha_pattern"], file, prefix + "alpha_pattern",
                                           [&](const YAML::Node& v, const std::string& k) {
                                             const double a = read_double(v, file, k);
                                             if (a <= 0)
                                               throw ConfigError(file, k, "must be > 0" + line_of(v));
                                             return a;
                                           });
  if (present(m["exclude_modules"])) {
    const YAML::Node& e = m["exclude_modules"];
    const std::string key = prefix + "exclude_modules";
    p.exclude_modules =
        json && e.IsScalar() ? std::vector<std::string>{e.Scalar()} : read_string_list(e, file, key);
    p.exclude_regex = json ? e.IsScalar() : p.exclude_modules.size() == 1 && is_regex(p.exclude_modules[0]);
  }
  if (present(m["layers_to_transform"]))
    p.layers_to_transform =
        read_layer_indexes(m["layers_to_transform"], file, prefix + "layers_to_transform");
  if (present(m["layers_pattern"])) {
    const YAML::Node& lp = m["layers_pattern"];
    p.layers_pattern = json && lp.IsScalar() ? std::vector<std::string>{lp.Scalar()}
                                             : read_string_list(lp, file, prefix + "layers_pattern");
    if (p.layers_to_transform.empty())  // LoraConfig.__post_init__ raises the same
      throw ConfigError(file, prefix + "layers_pattern",
                        "is set without layers_to_transform (peft requires both)" + line_of(lp));
  }
  if (present(m["modules_to_save"]))
    p.modules_to_save = read_string_list(m["modules_to_save"], file, prefix + "modules_to_save");
  if (present(m["bias"])) {
    p.bias = read_string(m["bias"], file, prefix + "bias");
    if (p.bias != "none" && p.bias != "all" && p.bias != "lora_only")
      throw ConfigError(file, prefix + "bias",
                        "'" + p.bias + "' (allowed: none, all, lora_only)" + line_of(m["bias"]));
  }
}

namespace {

// "meta-llama/Llama-2-7b-hf" -> "llama27bhf": the name's letters and digits, lower case, without the
// organisation or directory.
std::string normalised(const std::string& name) {
  std::string base = name;
  while (!base.empty() && (base.back() == '/' || base.back() == '\\')) base.pop_back();
  base = base.substr(base.find_last_of("/\\") == std::string::npos ? 0 : base.find_last_of("/\\") + 1);
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0) base.resize(base.size() - 5);
  std::string out;
  for (const char c : base)
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string base_model_mismatch(const PeftSpec& p, const ModelSpec& model) {
  if (p.base_model.empty()) return "";
  const std::string a = normalised(p.base_model), b = normalised(model.name);
  if (a.empty() || b.empty() || a.find(b) != std::string::npos || b.find(a) != std::string::npos) return "";
  return (p.adapter_file.empty() ? std::string("adapter_config.json") : p.adapter_file) +
         ": base_model_name_or_path '" + p.base_model + "' names another model than model: " + model.name +
         " (zerosim simulates " + model.name + ")";
}

}  // namespace zerosim
