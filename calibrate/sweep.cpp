#include "calibrate/sweep.h"

#include <algorithm>
#include <initializer_list>

namespace zerosim::calib {

namespace {

std::string shape_label(const LinearShape& s) {
  return s.modules + " " + std::to_string(s.d_in) + "→" + std::to_string(s.d_out);
}

bool uses_rotary(const ModelSpec& m) { return m.model_type != "mpt"; }  // MPT uses ALiBi

}  // namespace

std::vector<LinearShape> distinct_linear_shapes(const ModelSpec& model) {
  std::vector<LinearShape> shapes;
  auto add = [&](int64_t d_in, int64_t d_out, const std::string& name) {
    for (auto& s : shapes)
      if (s.d_in == d_in && s.d_out == d_out) {
        s.modules += "," + name;
        return;
      }
    shapes.push_back({d_in, d_out, name});
  };
  for (const auto& l : model.layer_linears) add(l.d_in, l.d_out, l.name);
  add(model.hidden, model.vocab, "lm_head");
  return shapes;
}

std::vector<SweepGroup> plan_sweep(const ModelSpec& model, const SweepRequest& req) {
  std::vector<SweepGroup> groups;
  auto per_token = [&](const std::string& label, std::initializer_list<OpId> ops, int64_t d_in, int64_t d_out,
                       int64_t r) {
    SweepGroup g{label, {}};
    for (int64_t T : req.tokens)
      for (OpId op : ops) g.keys.push_back({op, T, d_in, d_out, r});
    groups.push_back(std::move(g));
  };

  const std::vector<LinearShape> shapes = distinct_linear_shapes(model);
  for (const auto& s : shapes)
    per_token(shape_label(s) + " base GEMMs", {OpId::linear_fwd, OpId::linear_dx, OpId::linear_dw}, s.d_in,
              s.d_out, 0);

  // Adapters go on the decoder layer's linears (peft never adapts lm_head by default).
  std::vector<int64_t> combine_d_out;
  for (const auto& s : shapes) {
    if (s.modules == "lm_head") continue;
    for (int64_t r : req.ranks) {
      SweepGroup g{shape_label(s) + " r=" + std::to_string(r) + " LoRA/DoRA", {}};
      g.keys.push_back({OpId::dora_weight_norm, 0, s.d_in, s.d_out, r});
      g.keys.push_back({OpId::dora_weight_norm_fused, 0, s.d_in, s.d_out, r});
      for (int64_t T : req.tokens) {
        g.keys.push_back({OpId::lora_fwd, T, s.d_in, s.d_out, r});
        g.keys.push_back({OpId::lora_bwd, T, s.d_in, s.d_out, r});
        if (req.include_composites)
          for (OpId op : {OpId::dora_fwd, OpId::dora_fwd_dropout, OpId::dora_bwd, OpId::dora_bwd_dropout})
            g.keys.push_back({op, T, s.d_in, s.d_out, r});
      }
      groups.push_back(std::move(g));
    }
    if (std::find(combine_d_out.begin(), combine_d_out.end(), s.d_out) == combine_d_out.end())
      combine_d_out.push_back(s.d_out);
  }
  for (int64_t d_out : combine_d_out)
    per_token("DoRA combine d_out=" + std::to_string(d_out), {OpId::dora_combine_fwd, OpId::dora_combine_bwd},
              0, d_out, 0);

  if (model.norm == NormKind::rmsnorm)
    per_token("RMSNorm hidden=" + std::to_string(model.hidden), {OpId::rmsnorm_fwd, OpId::rmsnorm_bwd},
              model.hidden, model.hidden, 0);
  if (model.mlp == MlpKind::swiglu)
    per_token("SwiGLU intermediate=" + std::to_string(model.intermediate),
              {OpId::swiglu_fwd, OpId::swiglu_bwd}, model.intermediate, model.intermediate, 0);
  if (uses_rotary(model))
    per_token("rotary head_dim=" + std::to_string(model.head_dim), {OpId::rotary_fwd, OpId::rotary_bwd},
              model.head_dim, model.q_dim() + model.kv_dim(), 0);

  SweepGroup attention{
      "causal attention q_dim=" + std::to_string(model.q_dim()) + " kv_dim=" + std::to_string(model.kv_dim()),
      {}};
  for (int64_t T : req.tokens)
    for (int64_t s : req.seq_lens)
      if (s <= T && T % s == 0)
        for (OpId op : {OpId::attention_fwd, OpId::attention_bwd})
          attention.keys.push_back({op, T, s, model.q_dim(), model.kv_dim()});
  if (!attention.keys.empty()) groups.push_back(std::move(attention));

  per_token("cross-entropy vocab=" + std::to_string(model.vocab),
            {OpId::cross_entropy_fwd, OpId::cross_entropy_bwd}, model.hidden, model.vocab, 0);

  SweepGroup copy{"device-to-device copy", {}};
  for (int64_t bytes : req.memcpy_bytes) copy.keys.push_back({OpId::memcpy_d2d, bytes, 0, 0, 0});
  if (!copy.keys.empty()) groups.push_back(std::move(copy));
  return groups;
}

}  // namespace zerosim::calib
