#include "workloads/param_inventory.h"

namespace zerosim {

namespace {
const char* norm_name(int which) { return which == 0 ? "input_norm" : "post_attention_norm"; }
// Gemma-2's sublayer-output norms (post_attention_layernorm, post_feedforward_layernorm in its code).
const char* sublayer_norm_name(int which) { return which == 0 ? "attention_output_norm" : "mlp_output_norm"; }
bool attention_side(LinearRole r) {
  return r == LinearRole::q || r == LinearRole::k || r == LinearRole::v || r == LinearRole::qkv ||
         r == LinearRole::o;
}
}  // namespace

std::vector<ParamModule> param_modules(const ModelSpec& model, const PeftSpec& peft) {
  const bool full = peft.method == PeftMethod::none;
  std::vector<ParamModule> out;
  out.push_back({"embed_tokens", ModuleKind::embedding, -1, -1, model.embedding_params(),
                 model.embedding_params(), full});
  // modules_to_save: peft's ModulesToSaveWrapper keeps the original frozen (listed above, never called)
  // and runs a trainable full copy, listed after it so the step program reads the copy.
  if (peft.saves(SavedModule::embedding))
    out.push_back({"embed_tokens.modules_to_save", ModuleKind::embedding, -1, -1, model.embedding_params(),
                   model.embedding_params(), true});
  for (int layer = 0; layer < static_cast<int>(model.layers); ++layer) {
    const std::string prefix = "layers." + std::to_string(layer) + ".";
    bool mlp_norm_done = false;
    out.push_back(
        {prefix + norm_name(0), ModuleKind::norm, layer, -1, model.norm_params(), model.hidden, full});
    for (size_t i = 0; i < model.layer_linears.size(); ++i) {
      const LinearSpec& l = model.layer_linears[i];
      if (!attention_side(l.role) && !mlp_norm_done) {
        if (model.sandwich_norms)
          out.push_back({prefix + sublayer_norm_name(0), ModuleKind::norm, layer, -1, model.norm_params(),
                         model.hidden, full});
        out.push_back(
            {prefix + norm_name(1), ModuleKind::norm, layer, -1, model.norm_params(), model.hidden, full});
        mlp_norm_done = true;
      }
      const int li = static_cast<int>(i);
      const std::string name = prefix + l.name;
      // A mixture-of-experts linear is one module for its `experts` copies (each expert's own nn.Linear and
      // adapters in the model): numel counts them all.
      const int64_t e = l.experts;
      out.push_back({name, ModuleKind::linear, layer, li, e * (l.d_in * l.d_out + (l.bias ? l.d_out : 0)),
                     l.d_in * l.d_out, full, e});
      if (!peft.adapts(layer, i)) continue;
      const int64_t r = peft.rank(layer, i);
      out.push_back({name + ".lora_A", ModuleKind::lora_a, layer, li, e * r * l.d_in, r * l.d_in, true, e});
      out.push_back({name + ".lora_B", ModuleKind::lora_b, layer, li, e * l.d_out * r, l.d_out * r, true, e});
      if (peft.method == PeftMethod::dora)
        out.push_back({name + ".lora_magnitude_vector", ModuleKind::dora_magnitude, layer, li, e * l.d_out,
                       l.d_out, true, e});
    }
    if (model.sandwich_norms)
      out.push_back({prefix + sublayer_norm_name(1), ModuleKind::norm, layer, -1, model.norm_params(),
                     model.hidden, full});
  }
  out.push_back({"norm", ModuleKind::final_norm, -1, -1, model.norm_params(), model.hidden, full});
  if (!model.tied_embeddings)
    out.push_back(
        {"lm_head", ModuleKind::lm_head, -1, -1, model.lm_head_params(), model.lm_head_params(), full});
  if (peft.saves(SavedModule::lm_head))
    out.push_back({"lm_head.modules_to_save", ModuleKind::lm_head, -1, -1, model.lm_head_params(),
                   model.lm_head_params(), true});
  return out;
}

namespace {

// Per copy its weight, counted as `weight` elements, then the rest (a bias).
std::vector<int64_t> copy_tensors(const ParamModule& m, int64_t weight) {
  std::vector<int64_t> out;
  const int64_t rest = m.numel_per_copy() - m.largest_tensor;
  for (int64_t k = 0; k < m.copies; ++k) {
    if (m.largest_tensor > 0) out.push_back(weight);
    if (rest > 0) out.push_back(rest);
  }
  return out;
}

}  // namespace

std::vector<int64_t> ParamModule::tensor_numels() const { return copy_tensors(*this, largest_tensor); }

std::vector<int64_t> ParamModule::zero3_tensor_numels() const {
  return copy_tensors(*this, packed_weight > 0 ? packed_weight : largest_tensor);
}

int64_t ParamModule::zero3_numel() const {
  int64_t n = 0;
  for (const int64_t t : zero3_tensor_numels()) n += t;
  return n;
}

ParamCounts count_params(const std::vector<ParamModule>& modules) {
  ParamCounts c;
  for (const auto& m : modules) {
    c.total += m.numel;
    (m.trainable ? c.trainable : c.frozen) += m.numel;
  }
  return c;
}

}  // namespace zerosim
