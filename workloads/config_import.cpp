#include "workloads/config_import.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

#include "workloads/closest_name.h"
#include "workloads/config_error.h"
#include "workloads/model_spec.h"
#include "workloads/yaml_read.h"

namespace zerosim {

ImportBuilder::ImportBuilder(std::string tool, std::string file) {
  config_.tool = std::move(tool);
  config_.file = std::move(file);
}

void ImportBuilder::set(const std::string& key, const std::string& value, const std::string& origin) {
  for (auto& s : config_.settings)
    if (s.key == key) {
      s.value = value;
      s.origin = origin;
      return;
    }
  config_.settings.push_back({key, value, origin});
}

bool ImportBuilder::has(const std::string& key) const {
  return std::any_of(config_.settings.begin(), config_.settings.end(),
                     [&](const ImportedSetting& s) { return s.key == key; });
}

void ImportBuilder::no_effect(const std::string& field, const std::string& why) {
  config_.no_effect.push_back(field + ": " + why);
}

void ImportBuilder::refuse(const std::string& field, const std::string& why) const {
  throw ConfigError(config_.file, field, why);
}

void apply_field_rules(ImportBuilder& b, const YAML::Node& root,
                       const std::map<std::string, FieldRule>& rules, const std::string& what) {
  if (!root.IsMap()) b.refuse("(file)", "is not a mapping of " + what + " fields");
  std::vector<std::string> known;
  known.reserve(rules.size());
  for (const auto& [name, rule] : rules) known.push_back(name);
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string field = it->first.Scalar();
    const auto rule = rules.find(field);
    if (rule == rules.end())
      b.refuse(field, "is not a " + what + " field" + did_you_mean(field, known) +
                          " (the front-end's own parser refuses it too)");
    if (!rule->second.refuse.empty()) b.refuse(field, rule->second.refuse);
    if (rule->second.translate) {
      rule->second.translate(it->second);
    } else {
      b.no_effect(field,
                  rule->second.no_effect.empty() ? "no effect on time or memory" : rule->second.no_effect);
    }
  }
}

void apply_command_line(ImportBuilder& b, const ImportOptions& o) {
  if (!o.weights_dtype.empty() && b.tool() != "hf-trainer")
    throw ConfigError("zerosim import", "--weights-dtype",
                      "only for hf-trainer: " + b.tool() + "'s file says which dtype the model is loaded in");
  if (!o.model.empty()) {
    std::string how;
    const std::string model = resolve_model(o.model, "", o.out_dir, how);
    if (model.empty())
      throw ConfigError("zerosim import", "--model",
                        "'" + o.model + "' is neither a preset (" + join(preset_names()) +
                            "), a config.json (or a directory holding one) nor the Hub id of a preset: "
                            "download the model's config.json and give its path");
    b.set("model", model, "--model " + o.model + " (" + how + ")");
  }
  if (o.seq_len > 0) b.set("train.seq_len", std::to_string(o.seq_len), "--seq-len");
  if (!o.gpu.empty()) b.set("cluster.gpu", yaml_scalar(o.gpu), "--gpu");
  if (o.gpus > 0) b.set("cluster.gpus", std::to_string(o.gpus), "--gpus");
  if (o.gpus_per_node > 0) b.set("cluster.gpus_per_node", std::to_string(o.gpus_per_node), "--gpus-per-node");
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "meta-llama/Llama-2-7b-chat-hf" -> "meta-llama/llama-2-7b": the suffixes of fine-tuned or re-packaged
// releases of the same architecture (chat, instruct, -hf) do not change a shape.
std::string base_repo(const std::string& hub_id) {
  std::string s = lower(hub_id);
  for (const char* suffix : {"-hf", "-chat", "-instruct", "-it", "-4k", "-128k", "-base"}) {
    const std::string sx(suffix);
    for (size_t at; (at = s.find(sx)) != std::string::npos;) s.erase(at, sx.size());
  }
  return s;
}

}  // namespace

namespace {
std::string preset_of_repo(const std::string& hub_id) {
  const std::string want = base_repo(hub_id);
  for (const std::string& name : preset_names()) {
    const std::string source = model_source(name);  // "meta-llama/Llama-2-7b-hf config.json (...)"
    const std::string repo = source.substr(0, source.find(' '));
    if (!repo.empty() && base_repo(repo) == want) return name;
  }
  return "";
}
}  // namespace

std::string preset_for_hub_id(const std::string& hub_id, std::string* note) {
  if (std::string preset = preset_of_repo(hub_id); !preset.empty()) return preset;
  // axolotl's and others' examples name NousResearch's re-uploads of Meta's repositories (the same
  // config.json), and Llama 3.1, whose config differs from Llama 3's in values, not shapes.
  std::string meta = hub_id, why;
  if (meta.rfind("NousResearch/", 0) == 0) {
    meta = "meta-llama/" + meta.substr(13);
    why = "; NousResearch's re-upload of " + meta;
  }
  if (const size_t at = meta.find("Llama-3.1-"); at != std::string::npos) {
    meta.replace(at, 10, "Llama-3-");
    why += "; Llama 3.1 has Llama 3's shapes (rope_scaling and max_position_embeddings differ)";
  }
  if (meta.rfind("meta-llama/Llama-3-", 0) == 0) meta.insert(11, "Meta-");  // Llama 3's repositories' names
  if (meta == hub_id) return "";
  std::string preset = preset_of_repo(meta);
  if (!preset.empty() && note) *note = why;
  return preset;
}

std::string resolve_model(const std::string& reference, const std::string& source_file,
                          const std::string& out_dir, std::string& how) {
  const auto& names = preset_names();
  if (std::find(names.begin(), names.end(), reference) != names.end()) {
    how = "a zerosim preset";
    return reference;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const fs::path& p : {fs::path(reference), fs::path(source_file).parent_path() / reference}) {
    if (fs::is_regular_file(p, ec)) {
      how = "its config.json";
      return yaml_scalar(path_from_output(p.string(), "", out_dir));
    }
    if (fs::is_regular_file(p / "config.json", ec)) {
      how = "its config.json";
      return yaml_scalar(path_from_output((p / "config.json").string(), "", out_dir));
    }
  }
  std::string note;
  if (std::string preset = preset_for_hub_id(reference, &note); !preset.empty()) {
    how = "the zerosim preset of that Hub id: same shapes" + note;
    return preset;
  }
  return "";
}

std::string path_from_output(const std::string& path, const std::string& source_file,
                             const std::string& out_dir) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (p.is_relative()) p = fs::path(source_file).parent_path() / p;
  const fs::path base = out_dir.empty() ? fs::current_path() : fs::path(out_dir);
  std::error_code ec;
  const fs::path rel = fs::proximate(fs::weakly_canonical(p, ec), fs::weakly_canonical(base, ec), ec);
  return ec ? p.lexically_normal().string() : rel.string();
}

double hf_max_grad_norm(const YAML::Node& v, const std::string& file) {
  return !v.IsDefined() || v.IsNull() ? 0.0 : read_double(v, file, "max_grad_norm");
}

void set_hf_max_grad_norm(ImportBuilder& b, double max_grad_norm, const std::string& origin) {
  std::ostringstream value;
  value << std::max(0.0, max_grad_norm);
  b.set("train.max_grad_norm", value.str(),
        origin + " (HF Trainer's clip_grad_norm_ before each update when > 0)");
}

std::optional<HfOptimizer> hf_optimizer(const std::string& optim) {
  if (optim == "adamw_torch") return HfOptimizer{"foreach", "torch.optim.AdamW, foreach on CUDA", false};
  if (optim == "adamw_torch_fused") return HfOptimizer{"fused", "torch.optim.AdamW(fused=True)", false};
  if (optim == "adamw_bnb_8bit" || optim == "adamw_8bit")
    return HfOptimizer{"bnb-8bit", "bitsandbytes.optim.AdamW(optim_bits=8)", true};
  if (optim == "paged_adamw_8bit")
    return HfOptimizer{"bnb-paged-8bit", "bitsandbytes.optim.AdamW(optim_bits=8, is_paged=True)", true};
  if (optim == "paged_adamw_32bit")
    return HfOptimizer{"bnb-paged-32bit", "bitsandbytes.optim.AdamW(optim_bits=32, is_paged=True)", true};
  return std::nullopt;
}

std::string yaml_scalar(const std::string& text) {
  YAML::Emitter e;
  e << text;
  // yaml-cpp's emitter leaves `on`, `yes`, `null`, `1e3` bare, which a reader takes as a bool, a null or
  // a number: quote what would not read back as this very string.
  const YAML::Node back = YAML::Load(e.c_str());
  bool as_bool = false;
  double as_number = 0;
  if (back.IsScalar() && back.Scalar() == text && !YAML::convert<bool>::decode(back, as_bool) &&
      !YAML::convert<double>::decode(back, as_number))
    return e.c_str();
  YAML::Emitter quoted;
  quoted << YAML::DoubleQuoted << text;
  return quoted.c_str();
}

std::string yaml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + yaml_scalar(items[i]);
  return out + "]";
}

namespace {

// A nested section of the rendered file: its keys in the order first set.
struct Section {
  std::vector<std::string> order;
  std::map<std::string, Section> children;
  std::map<std::string, const ImportedSetting*> leaves;
};

void place(Section& root, const ImportedSetting& s) {
  Section* at = &root;
  std::string rest = s.key;
  for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    const std::string part = rest.substr(0, dot);
    if (!at->children.count(part)) at->order.push_back(part);
    at = &at->children[part];
  }
  if (!at->leaves.count(rest)) at->order.push_back(rest);
  at->leaves[rest] = &s;
}

void write(std::ostringstream& out, const Section& sec, int depth) {
  const std::string indent(static_cast<size_t>(2 * depth), ' ');
  for (const std::string& name : sec.order) {
    if (const auto leaf = sec.leaves.find(name); leaf != sec.leaves.end()) {
      out << indent << name << ": " << leaf->second->value << "  # from " << leaf->second->origin << "\n";
      continue;
    }
    out << indent << name << ":\n";
    write(out, sec.children.at(name), depth + 1);
  }
}

}  // namespace

std::string render_run_config(const ImportedConfig& config) {
  std::ostringstream out;
  out << "# zerosim run config written by `zerosim import " << config.tool << " " << config.file << "`.\n"
      << "# Each key says where it came from: a field of the file, the front-end's default (with the code\n"
      << "# that sets it), or the command line. Fields with no effect on time or memory are listed on "
         "stderr.\n";
  Section root;
  for (const auto& s : config.settings) place(root, s);
  write(out, root, 0);
  return out.str();
}

const std::map<std::string, Importer>& importers() {
  static const std::map<std::string, Importer> all = {
      {"axolotl", import_axolotl},
      {"hf-trainer", import_hf_trainer},
      {"llamafactory", import_llamafactory},
  };
  return all;
}

}  // namespace zerosim
