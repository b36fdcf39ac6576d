#include "workloads/model_spec.h"

#include <filesystem>
#include <map>

#include "workloads/config_error.h"
#include "workloads/yaml_read.h"

namespace zerosim {
namespace embedded {
const std::map<std::string, std::string>& model_presets();  // generated from workloads/models/*.json
}

int64_t ModelSpec::layer_linear_params() const {
  int64_t n = 0;
  for (const auto& l : layer_linears) n += l.experts * (l.d_in * l.d_out + (l.bias ? l.d_out : 0));
  return n;
}

int64_t ModelSpec::params_per_layer() const {
  return layer_linear_params() + norms_per_layer() * norm_params();
}

int64_t ModelSpec::total_params() const {
  return layers * params_per_layer() + embedding_params() + lm_head_params() + norm_params();
}

const LinearSpec* ModelSpec::find_linear(const std::string& module_name) const {
  for (const auto& l : layer_linears)
    if (l.name == module_name) return &l;
  return nullptr;
}

LinearGroup group_of(LinearRole role) {
  switch (role) {
    case LinearRole::q:
    case LinearRole::k:
    case LinearRole::v:
    case LinearRole::qkv:
      return LinearGroup::attention_input;
    case LinearRole::o:
      return LinearGroup::attention_output;
    case LinearRole::router:
      return LinearGroup::router;
    case LinearRole::gate:
    case LinearRole::up:
      return LinearGroup::mlp_input;
    case LinearRole::down:
      break;
  }
  return LinearGroup::mlp_output;
}

std::vector<size_t> ModelSpec::linears_in(LinearGroup group) const {
  std::vector<size_t> indices;
  for (size_t i = 0; i < layer_linears.size(); ++i)
    if (group_of(layer_linears[i].role) == group) indices.push_back(i);
  return indices;
}

namespace {

const std::vector<std::string> kModelTypes = {"llama", "mistral", "qwen2",  "qwen",
                                              "mpt",   "phi3",    "gemma2", "mixtral"};

// Upper bounds of the shapes a config.json may give. Every parameter, byte and FLOP count of the
// model is a product of these; the bounds keep each such product (e.g. hidden x 3·heads·head_dim,
// layers x params per layer) far inside int64, with room for the largest real models (hidden 16k-25k,
// vocab 256k, 126 layers). check_model_size below then bounds the whole model.
int64_t max_of(const std::string& key) {
  if (key == "hidden_size" || key == "d_model") return int64_t{1} << 20;
  if (key == "intermediate_size") return int64_t{1} << 23;  // qwen v1 counts both branches
  if (key == "vocab_size") return int64_t{1} << 24;
  if (key == "expansion_ratio") return 64;
  if (key == "num_local_experts" || key == "num_experts_per_tok") return 1024;
  return int64_t{1} << 14;  // layers, heads, key/value heads, head_dim
}

struct Reader {
  const YAML::Node& root;
  const std::string& file;

  bool has(const std::string& key) const { return root[key] && !root[key].IsNull(); }
  int64_t positive(const std::string& key) const {
    if (!has(key)) throw ConfigError(file, key, "missing (a " + model_type() + " config.json needs it)");
    return read_int_in(root[key], file, key, 1, max_of(key));
  }
  int64_t positive_or(const std::string& key, int64_t fallback) const {
    return has(key) ? positive(key) : fallback;
  }
  bool flag_or(const std::string& key, bool fallback) const {
    return has(key) ? read_bool(root[key], file, key) : fallback;
  }
  std::string model_type() const { return has("model_type") ? root["model_type"].Scalar() : "?"; }
};

void set_heads(ModelSpec& m, const Reader& r, const std::string& hidden_key, const std::string& heads_key,
               const std::string& head_dim_key) {
  m.heads = r.positive(heads_key);
  if (r.has(head_dim_key)) {
    m.head_dim = r.positive(head_dim_key);
  } else {
    if (m.hidden % m.heads != 0)
      throw ConfigError(r.file, heads_key,
                        std::to_string(m.heads) + " does not divide " + hidden_key + " = " +
                            std::to_string(m.hidden) + " (give " + head_dim_key + " explicitly)");
    m.head_dim = m.hidden / m.heads;
  }
}

// The widths, depths and heads of transformers' LLaMA-style configs (llama, mistral, qwen2, phi3, gemma2).
void llama_shapes(ModelSpec& m, const Reader& r) {
  m.hidden = r.positive("hidden_size");
  m.intermediate = r.positive("intermediate_size");
  m.layers = r.positive("num_hidden_layers");
  set_heads(m, r, "hidden_size", "num_attention_heads", "head_dim");
  m.kv_heads = r.positive_or("num_key_value_heads", m.heads);
  if (m.heads % m.kv_heads != 0)
    throw ConfigError(
        r.file, "num_key_value_heads",
        std::to_string(m.kv_heads) + " must divide num_attention_heads = " + std::to_string(m.heads));
  m.vocab = r.positive("vocab_size");
  m.tied_embeddings = r.flag_or("tie_word_embeddings", false);
}

// LLaMA family: llama, mistral, qwen2 share the HF LlamaDecoderLayer structure.
void llama_like(ModelSpec& m, const Reader& r) {
  llama_shapes(m, r);
  const bool qkv_bias = m.model_type == "qwen2" ? true : r.flag_or("attention_bias", false);
  const bool mlp_bias = r.flag_or("mlp_bias", false);
  const bool o_bias = m.model_type == "qwen2" ? false : r.flag_or("attention_bias", false);
  m.mlp = MlpKind::swiglu;
  m.norm = NormKind::rmsnorm;
  m.layer_linears = {
      {"q_proj", LinearRole::q, m.hidden, m.q_dim(), qkv_bias},
      {"k_proj", LinearRole::k, m.hidden, m.kv_dim(), qkv_bias},
      {"v_proj", LinearRole::v, m.hidden, m.kv_dim(), qkv_bias},
      {"o_proj", LinearRole::o, m.q_dim(), m.hidden, o_bias},
      {"gate_proj", LinearRole::gate, m.hidden, m.intermediate, mlp_bias},
      {"up_proj", LinearRole::up, m.hidden, m.intermediate, mlp_bias},
      {"down_proj", LinearRole::down, m.intermediate, m.hidden, mlp_bias},
  };
}

// Phi-3 (transformers models/phi3/modeling_phi3.py): LLaMA's layer with q, k and v fused into qkv_proj
// (q_dim + 2·kv_dim wide) and gate and up fused into gate_up_proj (2·intermediate wide, chunked in two before
// SwiGLU), no biases. peft targets the fused modules. The residual and embedding dropouts are modules that
// keep masks: refused when non-zero (Phi-3's released configs have 0.0).
void phi3(ModelSpec& m, const Reader& r) {
  llama_shapes(m, r);
  for (const char* key : {"resid_pdrop", "embd_pdrop", "attention_dropout"})
    if (r.has(key) && read_double(r.root[key], r.file, key) != 0.0)
      throw ConfigError(r.file, key,
                        "a non-zero dropout in the model is not modelled (Phi-3's configs have 0.0)");
  m.mlp = MlpKind::swiglu;
  m.norm = NormKind::rmsnorm;
  m.layer_linears = {
      {"qkv_proj", LinearRole::qkv, m.hidden, m.q_dim() + 2 * m.kv_dim(), false},
      {"o_proj", LinearRole::o, m.q_dim(), m.hidden, false},
      {"gate_up_proj", LinearRole::up, m.hidden, 2 * m.intermediate, false},
      {"down_proj", LinearRole::down, m.intermediate, m.hidden, false},
  };
}

// Gemma-2 (transformers models/gemma2/modeling_gemma2.py): LLaMA's projections with an explicit head_dim
// (256 where hidden/heads is 224), a gated GELU MLP (gelu_pytorch_tanh(gate)·up: SwiGLU's shape), four
// RMSNorms per layer (the two sublayer outputs are normed too), tied 256k embeddings, soft-capped final
// logits and attention scores, and a sliding window on every other layer.
void gemma2(ModelSpec& m, const Reader& r) {
  llama_like(m, r);
  m.tied_embeddings = r.flag_or("tie_word_embeddings", true);
  m.sandwich_norms = true;
  const auto number_or = [&r](const char* key, double fallback) {
    return r.has(key) ? read_double(r.root[key], r.file, key) : fallback;
  };
  m.final_logit_softcap = number_or("final_logit_softcapping", 30.0);
  m.attn_logit_softcap = number_or("attn_logit_softcapping", 50.0);
  m.sliding_window = static_cast<int64_t>(number_or("sliding_window", 4096.0));
}

// Mixtral (transformers models/mixtral/modeling_mixtral.py): LLaMA's attention (no biases) and, in place of
// the MLP, MixtralSparseMoeBlock: a router `gate` (hidden -> num_local_experts) and num_local_experts
// MixtralBlockSparseTop2MLP experts (w1, w3: hidden -> intermediate, w2 back; SwiGLU), of which each token
// goes through num_experts_per_tok. peft's target names are the expert modules' own (w1, w2, w3) and the
// router's (gate). router_jitter_noise multiplies the input by a random mask in training: refused when
// non-zero (the released configs have none); output_router_logits keeps every layer's T x experts router
// logits for the auxiliary loss: kilobytes, no effect on time or memory.
void mixtral(ModelSpec& m, const Reader& r) {
  llama_shapes(m, r);
  m.experts = r.positive("num_local_experts");
  m.experts_per_token = r.positive("num_experts_per_tok");
  if (m.experts_per_token > m.experts)
    throw ConfigError(r.file, "num_experts_per_tok",
                      std::to_string(m.experts_per_token) +
                          " is more than num_local_experts = " + std::to_string(m.experts));
  if (r.has("router_jitter_noise") &&
      read_double(r.root["router_jitter_noise"], r.file, "router_jitter_noise") != 0.0)
    throw ConfigError(
        r.file, "router_jitter_noise",
        "a non-zero jitter noise (a random mask on every MoE input in training) is not modelled "
        "(Mixtral's released configs have none)");
  m.mlp = MlpKind::swiglu;
  m.norm = NormKind::rmsnorm;
  const int64_t e = m.experts, k = m.experts_per_token;
  m.layer_linears = {
      {"q_proj", LinearRole::q, m.hidden, m.q_dim(), false},
      {"k_proj", LinearRole::k, m.hidden, m.kv_dim(), false},
      {"v_proj", LinearRole::v, m.hidden, m.kv_dim(), false},
      {"o_proj", LinearRole::o, m.q_dim(), m.hidden, false},
      {"gate", LinearRole::router, m.hidden, e, false},
      {"w1", LinearRole::gate, m.hidden, m.intermediate, false, e, k},
      {"w3", LinearRole::up, m.hidden, m.intermediate, false, e, k},
      {"w2", LinearRole::down, m.intermediate, m.hidden, false, e, k},
  };
}

// Qwen (v1, trust_remote_code): fused c_attn with bias, SwiGLU with w1/w2 whose
// intermediate_size counts both branches, c_proj for both attention and MLP output.
void qwen_v1(ModelSpec& m, const Reader& r) {
  m.hidden = r.positive("hidden_size");
  const int64_t both_branches = r.positive("intermediate_size");
  if (both_branches % 2 != 0)
    throw ConfigError(r.file, "intermediate_size", "must be even for qwen (two MLP branches of half width)");
  m.intermediate = both_branches / 2;
  m.layers = r.positive("num_hidden_layers");
  set_heads(m, r, "hidden_size", "num_attention_heads", "kv_channels");
  m.kv_heads = m.heads;
  m.vocab = r.positive("vocab_size");
  m.tied_embeddings = r.flag_or("tie_word_embeddings", false);
  const bool bias = !r.flag_or("no_bias", true);
  m.mlp = MlpKind::swiglu;
  m.norm = NormKind::rmsnorm;
  m.layer_linears = {
      {"c_attn", LinearRole::qkv, m.hidden, 3 * m.q_dim(), true},
      {"c_proj", LinearRole::o, m.q_dim(), m.hidden, bias},
      {"w2", LinearRole::gate, m.hidden, m.intermediate, bias},
      {"w1", LinearRole::up, m.hidden, m.intermediate, bias},
      {"c_proj", LinearRole::down, m.intermediate, m.hidden, bias},
  };
}

// MPT: fused Wqkv, GELU MLP (up/down), LayerNorm, ALiBi, always-tied embeddings.
void mpt(ModelSpec& m, const Reader& r) {
  m.hidden = r.positive("d_model");
  m.layers = r.positive("n_layers");
  set_heads(m, r, "d_model", "n_heads", "head_dim");
  m.kv_heads = m.heads;
  m.intermediate = m.hidden * r.positive_or("expansion_ratio", 4);
  m.vocab = r.positive("vocab_size");
  m.tied_embeddings = true;
  const bool bias = !r.flag_or("no_bias", false);
  m.mlp = MlpKind::gelu;
  m.norm = NormKind::layernorm;
  m.norm_bias = bias;
  m.rotary = false;
  m.layer_linears = {
      {"Wqkv", LinearRole::qkv, m.hidden, 3 * m.q_dim(), bias},
      {"out_proj", LinearRole::o, m.q_dim(), m.hidden, bias},
      {"up_proj", LinearRole::up, m.hidden, m.intermediate, bias},
      {"down_proj", LinearRole::down, m.intermediate, m.hidden, bias},
  };
}

// Derived widths and the parameter count, computed in double before any int64 product is taken.
void check_model_size(const ModelSpec& m, const std::string& file) {
  constexpr int64_t kMaxWidth = int64_t{1} << 23;  // q_dim, kv_dim, the MLP branch
  const std::pair<const char*, double> widths[] = {
      {"num_attention_heads", static_cast<double>(m.heads) * static_cast<double>(m.head_dim)},
      {"intermediate_size", static_cast<double>(m.intermediate)}};
  for (const auto& [key, width] : widths)
    if (width > static_cast<double>(kMaxWidth))
      throw ConfigError(file, key,
                        "gives a layer width of " + std::to_string(static_cast<int64_t>(width)) +
                            " (heads x head_dim, or the MLP width), beyond zerosim's limit of " +
                            std::to_string(kMaxWidth) + " (2^23)");
  constexpr double kMaxParams = 17592186044416.0;  // 2^44 = 17.6 T parameters: bytes stay < 2^50
  double params = static_cast<double>(m.vocab) * static_cast<double>(m.hidden) * 2;
  for (const auto& l : m.layer_linears)
    params += static_cast<double>(m.layers) * static_cast<double>(l.experts) * static_cast<double>(l.d_in) *
              static_cast<double>(l.d_out + 1);
  if (params > kMaxParams)
    throw ConfigError(
        file, "num_hidden_layers",
        "the model would have about " + std::to_string(static_cast<int64_t>(params)) +
            " parameters (layers x hidden x widths + vocab x hidden), beyond zerosim's limit of "
            "17592186044416 (2^44)");
}

}  // namespace

ModelSpec model_from_hf_config(const std::string& json_text, const std::string& file) {
  const YAML::Node root = parse_yaml_text(json_text, file);
  if (!root.IsMap())
    throw ConfigError(file, "", "not a Hugging Face config.json (expected a JSON object at the top level)");
  Reader r{root, file};
  ModelSpec m;
  m.name = file;
  if (!r.has("model_type"))
    throw ConfigError(file, "model_type", "missing (supported model types: " + join(kModelTypes) + ")");
  m.model_type = read_string(root["model_type"], file, "model_type");
  if (m.model_type == "llama" || m.model_type == "mistral" || m.model_type == "qwen2")
    llama_like(m, r);
  else if (m.model_type == "qwen")
    qwen_v1(m, r);
  else if (m.model_type == "mpt")
    mpt(m, r);
  else if (m.model_type == "phi3")
    phi3(m, r);
  else if (m.model_type == "gemma2")
    gemma2(m, r);
  else if (m.model_type == "mixtral")
    mixtral(m, r);
  else
    throw ConfigError(file, "model_type",
                      "'" + m.model_type + "' is not supported (supported: " + join(kModelTypes) + ")");
  check_model_size(m, file);
  if (present(root["quantization_config"]))
    m.quantization = quantization_from_hf(root["quantization_config"], file);
  return m;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& [file, text] : embedded::model_presets())
    names.push_back(file.substr(0, file.size() - std::string(".json").size()));
  return names;
}

std::string model_source(const std::string& preset) {
  const auto& presets = embedded::model_presets();
  const auto it = presets.find(preset + ".json");
  if (it == presets.end()) return "";
  const YAML::Node root = YAML::Load(it->second);
  return root["_zerosim_source"] ? root["_zerosim_source"].as<std::string>() : "";
}

ModelSpec load_model(const std::string& name_or_path, const std::string& source_file,
                     const std::string& key) {
  const auto& presets = embedded::model_presets();
  if (auto it = presets.find(name_or_path + ".json"); it != presets.end()) {
    ModelSpec m = model_from_hf_config(it->second, "workloads/models/" + it->first);
    m.name = name_or_path;
    return m;
  }
  namespace fs = std::filesystem;
  fs::path path(name_or_path);
  // error_code overloads: a name longer than NAME_MAX makes the throwing ones raise filesystem_error.
  std::error_code exists_ec;
  if (path.is_relative() && !source_file.empty() && !fs::exists(path, exists_ec))
    path = fs::path(source_file).parent_path() / path;  // relative to the run config
  if (name_or_path.find('/') == std::string::npos && name_or_path.find(".json") == std::string::npos &&
      !fs::exists(path, exists_ec))
    throw ConfigError(source_file, key,
                      "unknown model '" + name_or_path + "' (presets: " + join(preset_names()) +
                          "; or a path to a Hugging Face config.json)");
  std::error_code ec;
  if (fs::is_directory(path, ec)) path /= "config.json";
  ModelSpec m = model_from_hf_config(read_text_file(path.string(), "model config.json"), path.string());
  m.name = name_or_path;
  return m;
}

}  // namespace zerosim
