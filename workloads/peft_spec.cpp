#include "workloads/peft_spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "workloads/config_error.h"
#include "workloads/module_regex.h"

namespace zerosim {

bool is_regex(const std::string& s) { return s.find_first_of("*.()|[]\\^$+?") != std::string::npos; }

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

bool PeftSpec::saves(SavedModule m) const { return std::find(saved.begin(), saved.end(), m) != saved.end(); }

int64_t PeftSpec::max_rank() const {
  int64_t m = 0;
  for (const auto& s : slots)
    if (s.adapted) m = std::max(m, s.r);
  return m > 0 ? m : r;
}

bool PeftSpec::uniform() const {
  const size_t n = adapted.size();
  for (size_t i = n; i < slots.size(); ++i) {
    const AdapterSlot &a = slots[i], &b = slots[i % n];
    if (a.adapted != b.adapted || (a.adapted && (a.r != b.r || a.alpha != b.alpha))) return false;
  }
  return true;
}

std::vector<int> PeftSpec::layers_adapted() const {
  std::vector<int> out;
  const size_t n = adapted.size();
  for (size_t s = 0; n > 0 && s < slots.size(); ++s)
    if (slots[s].adapted && (out.empty() || out.back() != static_cast<int>(s / n)))
      out.push_back(static_cast<int>(s / n));
  return out;
}

int64_t lora_params(int64_t r, int64_t d_in, int64_t d_out) { return r * (d_in + d_out); }
int64_t dora_params(int64_t r, int64_t d_in, int64_t d_out) { return lora_params(r, d_in, d_out) + d_out; }

std::string module_path(const ModelSpec& model, int layer, const LinearSpec& l) {
  const bool attn = l.role == LinearRole::q || l.role == LinearRole::k || l.role == LinearRole::v ||
                    l.role == LinearRole::qkv || l.role == LinearRole::o;
  const std::string n = std::to_string(layer);
  if (model.model_type == "qwen") return "transformer.h." + n + (attn ? ".attn." : ".mlp.") + l.name;
  if (model.model_type == "mpt") return "transformer.blocks." + n + (attn ? ".attn." : ".ffn.") + l.name;
  return "model.layers." + n + (attn ? ".self_attn." : ".mlp.") + l.name;
}

namespace {

std::vector<std::string> module_names(const ModelSpec& model) {
  std::vector<std::string> names;
  for (const auto& l : model.layer_linears)
    if (std::find(names.begin(), names.end(), l.name) == names.end()) names.push_back(l.name);
  return names;
}

// One module path for messages ("model.layers.0.self_attn.q_proj").
std::string example_path(const ModelSpec& model) {
  return model.layer_linears.empty() ? std::string("(none)")
                                     : module_path(model, 0, model.layer_linears.front());
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

bool ends_with_dotted(const std::string& path, const std::string& suffix) {
  return path.size() > suffix.size() &&
         path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         path[path.size() - suffix.size() - 1] == '.';
}

// peft's list match (check_target_module_exists): the path equals the item or ends with "." + item.
bool list_match(const std::vector<std::string>& items, const std::string& path) {
  return std::any_of(items.begin(), items.end(),
                     [&](const std::string& t) { return path == t || ends_with_dotted(path, t); });
}

// Where a key's messages go: the adapter_config.json key, or the run config's peft.<key>.
struct Origin {
  std::string file, prefix;
  std::string key(const std::string& k) const { return prefix + k; }
};

ModuleRegex compile(const std::string& pattern, const Origin& at, const std::string& key,
                    const ModelSpec& model) {
  try {
    return ModuleRegex(pattern);
  } catch (const RegexError& e) {
    throw ConfigError(at.file, at.key(key),
                      "'" + quoted_pattern(pattern) + "' is not a usable regular expression: " + e.what() +
                          " (Python re syntax, matched against module paths like " + example_path(model) +
                          ")");
  }
}

// The target-selection rules of peft's check_target_module_exists (tuners/tuners_utils.py), applied
// to one module path of one layer.
class TargetMatcher {
 public:
  TargetMatcher(const PeftSpec& p, const ModelSpec& m, const Origin& at) : p_(p) {
    const bool run_config = p.adapter_file.empty();
    // adapter_config.json: a string is a regex and a list holds names, exactly as peft reads them. In a
    // run config (where a scalar is a comma-separated list, for --set) a single item with regex
    // characters is taken as the regex.
    regex_target_ = run_config ? p.target_modules.size() == 1 && is_regex(p.target_modules[0]) &&
                                     p.target_modules[0] != "all-linear"
                               : p.target_regex;
    if (regex_target_) target_.emplace(compile(p.target_modules[0], at, "target_modules", m));
    for (const auto& t : p.target_modules)
      if (t == "all-linear") {  // _maybe_include_all_linear_layers: every linear's name; lm_head excluded
        names_ = module_names(m);
      } else {
        names_.push_back(t);
      }
    if (p.exclude_regex) exclude_.emplace(compile(p.exclude_modules[0], at, "exclude_modules", m));
    for (const auto& lp : p.layers_pattern)  // re.match(rf".*?\.{pattern}\.(\d+)\.", key)
      layer_patterns_.push_back(compile("(?:.*?\\." + lp + "\\.(\\d+)\\.).*", at, "layers_pattern", m));
    if (p.layers_pattern.empty()) layer_patterns_.push_back(compile(".*?\\.[^.]*\\.(\\d+)\\..*", at, "", m));
  }

  bool regex_target() const { return regex_target_; }

  bool adapts(const std::string& path, int layer) const {
    if (exclude_ ? exclude_->full_match(path) : list_match(p_.exclude_modules, path)) return false;
    if (regex_target_) return target_->full_match(path);  // re.fullmatch(target_modules, key)
    if (std::find(names_.begin(), names_.end(), path) != names_.end()) return true;  // key in target_modules
    if (!list_match(names_, path)) return false;
    if (p_.layers_to_transform.empty()) return true;
    // The layer index is the path's numeric segment the pattern finds (module paths have only one).
    const bool indexed = std::any_of(layer_patterns_.begin(), layer_patterns_.end(),
                                     [&](const ModuleRegex& re) { return re.full_match(path); });
    const auto& l = p_.layers_to_transform;
    return indexed && std::find(l.begin(), l.end(), layer) != l.end();
  }

 private:
  const PeftSpec& p_;
  bool regex_target_ = false;
  std::optional<ModuleRegex> target_, exclude_;
  std::vector<std::string> names_;
  std::vector<ModuleRegex> layer_patterns_;
};

// peft's get_pattern_key (utils/other.py): the first key with re.match(rf"(.*\.)?({key})$", path).
template <typename T>
class PatternLookup {
 public:
  PatternLookup(const std::vector<std::pair<std::string, T>>& pattern, const Origin& at,
                const std::string& key, const ModelSpec& m) {
    for (const auto& [k, v] : pattern) keys_.push_back({compile("(?:.*\\.)?(?:" + k + ")", at, key, m), v});
  }
  T value(const std::string& path, T fallback) const {
    for (const auto& [re, v] : keys_)
      if (re.full_match(path)) return v;
    return fallback;
  }

 private:
  std::vector<std::pair<ModuleRegex, T>> keys_;
};

void check_rank(const PeftSpec& p, const ModelSpec& m, const Origin& at) {
  for (size_t s = 0; s < p.slots.size(); ++s) {
    if (!p.slots[s].adapted) continue;
    const LinearSpec& l = m.layer_linears[s % m.layer_linears.size()];
    const int64_t limit = std::min(l.d_in, l.d_out), r = p.slots[s].r;
    if (r > limit)
      throw ConfigError(at.file, at.key(p.rank_pattern.empty() ? "r" : "r' or 'rank_pattern"),
                        std::to_string(r) + " exceeds min(d_in, d_out) = " + std::to_string(limit) + " of " +
                            module_path(m, static_cast<int>(s / m.layer_linears.size()), l) +
                            " (allowed: 1 to " + std::to_string(limit) + ")");
  }
}

void check_target_names(const PeftSpec& p, const ModelSpec& m, const Origin& at) {
  const auto names = module_names(m);
  for (const auto& t : p.target_modules) {
    if (t == "all-linear") continue;
    bool found = false;
    for (int layer = 0; layer < static_cast<int>(m.layers) && !found; ++layer)
      for (const auto& l : m.layer_linears) found = found || list_match({t}, module_path(m, layer, l));
    if (!found)
      throw ConfigError(at.file, at.key("target_modules"),
                        "unknown target module '" + quoted_pattern(t) + "' for model type " + m.model_type +
                            " (allowed: " + join(names) +
                            ", all-linear, or a dotted suffix of a module path like " + example_path(m) +
                            ")");
  }
}

// peft's ModulesToSaveWrapper (utils/other.py _set_trainable): every module whose path ends with an
// entry keeps its frozen original and gets a trainable copy. zerosim models it for the embedding and the
// LM head, the modules users name (a decoder submodule would need a per-layer full copy).
void resolve_modules_to_save(PeftSpec& p, const ModelSpec& m, const Origin& at) {
  const std::string embedding =
      m.model_type == "qwen" || m.model_type == "mpt" ? "transformer.wte" : "model.embed_tokens";
  auto ends_with = [](const std::string& path, const std::string& e) {  // key.endswith(target_key)
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  for (const auto& e : p.modules_to_save) {
    std::vector<SavedModule> hits;
    if (ends_with(embedding, e)) hits.push_back(SavedModule::embedding);
    if (!m.tied_embeddings && ends_with("lm_head", e)) hits.push_back(SavedModule::lm_head);
    if (hits.empty())
      throw ConfigError(at.file, at.key("modules_to_save"),
                        "'" + quoted_pattern(e) + "' names no module zerosim can train in full (allowed: " +
                            embedding.substr(embedding.find('.') + 1) +
                            (m.tied_embeddings ? "" : ", lm_head") +
                            "; a full copy of a decoder submodule is not modelled)");
    if (m.tied_embeddings)
      throw ConfigError(at.file, at.key("modules_to_save"),
                        "'" + quoted_pattern(e) + "': " + m.name +
                            " ties the embedding and the LM head; peft's handling of a tied module to save "
                            "(modules_to_tie, ensure_weight_tying) is not modelled");
    for (const SavedModule s : hits)
      if (!p.saves(s)) p.saved.push_back(s);
  }
}

// bias = all | lora_only makes biases trainable (peft tuners_utils.py _mark_only_adapters_as_trainable);
// with no bias in the model (LLaMA) that changes nothing, otherwise it is not modelled.
void check_bias(const PeftSpec& p, const ModelSpec& m, const Origin& at) {
  if (p.bias == "none") return;
  for (size_t i = 0; i < m.layer_linears.size(); ++i)
    if (m.layer_linears[i].bias && (p.bias == "all" || p.adapted[i]))
      throw ConfigError(
          at.file, at.key("bias"),
          "'" + p.bias + "' trains the bias of " + m.layer_linears[i].name + " of " + m.name +
              ", which is not modelled (allowed: none; all and lora_only only for models without "
              "biases)");
  if (p.bias == "all" && m.norm_bias)
    throw ConfigError(at.file, at.key("bias"),
                      "'all' trains the LayerNorm biases of " + m.name +
                          ", which is not modelled (allowed: none, lora_only)");
}

}  // namespace

void resolve_targets(PeftSpec& peft, const ModelSpec& model, const std::string& file) {
  const size_t n = model.layer_linears.size();
  const auto layers = static_cast<int>(model.layers);
  peft.adapted.assign(n, false);
  peft.slots.assign(n * static_cast<size_t>(layers), AdapterSlot{});
  peft.saved.clear();
  if (peft.method == PeftMethod::none) return;

  const Origin at{peft.adapter_file.empty() ? file : peft.adapter_file,
                  peft.adapter_file.empty() ? "peft." : ""};
  if (peft.target_modules.empty())
    throw ConfigError(at.file, at.key("target_modules"),
                      "empty (allowed: " + join(module_names(model)) + ", or all-linear)");
  const TargetMatcher targets(peft, model, at);
  if (!targets.regex_target()) check_target_names(peft, model, at);
  const PatternLookup<int64_t> ranks(peft.rank_pattern, at, "rank_pattern", model);
  const PatternLookup<double> alphas(peft.alpha_pattern, at, "alpha_pattern", model);
  for (int layer = 0; layer < layers; ++layer)
    for (size_t i = 0; i < n; ++i) {
      const std::string path = module_path(model, layer, model.layer_linears[i]);
      if (!targets.adapts(path, layer)) continue;
      peft.slots[static_cast<size_t>(layer) * n + i] = {true, ranks.value(path, peft.r),
                                                        alphas.value(path, peft.alpha)};
      peft.adapted[i] = true;
    }
  if (std::none_of(peft.adapted.begin(), peft.adapted.end(), [](bool b) { return b; }))
    throw ConfigError(
        at.file, at.key("target_modules"),
        (targets.regex_target() ? "regex '" + quoted_pattern(peft.target_modules[0]) + "'"
                                : std::string("the target list")) +
            " matches no module once exclude_modules and layers_to_transform apply (module paths "
            "look like " +
            example_path(model) + ")");
  check_rank(peft, model, at);
  check_bias(peft, model, at);
  resolve_modules_to_save(peft, model, at);
}

}  // namespace zerosim
