#include "calibrate/op_catalogue.h"

#include <stdexcept>

namespace zerosim::calib {

namespace {

constexpr KeyMeaning kLinearKey{"T", "d_in", "d_out", ""};
constexpr KeyMeaning kAdapterKey{"T", "d_in", "d_out", "r"};
constexpr KeyMeaning kWeightNormKey{"", "d_in", "d_out", "r"};
constexpr KeyMeaning kCombineKey{"T", "", "d_out", ""};

const std::vector<OpInfo> kCatalogue = {
    {OpId::linear_fwd, "linear_fwd", kLinearKey, "y = x·Wᵀ (GEMM)", true},
    {OpId::linear_dx, "linear_dx", kLinearKey, "dx = G·W (GEMM)", true},
    {OpId::linear_dw, "linear_dw", kLinearKey, "dW = Gᵀ·x (GEMM), trainable weights only", true},
    {OpId::lora_fwd, "lora_fwd", kAdapterKey, "h = x·Aᵀ, ℓ = h·Bᵀ, ℓ·c, y += ℓ", true},
    {OpId::lora_bwd, "lora_bwd", kAdapterKey,
     "G·c, dB = (cG)ᵀh, dh = cG·B, dA = dhᵀx, dx_lora = dh·A, dx +=", true},
    {OpId::dora_weight_norm, "dora_weight_norm", kWeightNormKey,
     "peft: eye(d_in), eye·Aᵀ, ·Bᵀ, c·(BA), W0 + c·BA, row L2 norm n, s = m/n", true},
    {OpId::dora_weight_norm_fused, "dora_weight_norm_fused", kWeightNormKey,
     "one kernel: n_i = ‖W0_i + c·B_i·A‖ without forming d_out×d_in, s = m/n", true},
    {OpId::dora_combine_fwd, "dora_combine_fwd", kCombineKey,
     "peft's elementwise kernels: (s−1)⊙y0, s⊙ℓ, ·c, add, add", true},
    {OpId::dora_combine_bwd, "dora_combine_bwd", kCombineKey,
     "G·c, ⊙s, Σ_t(cG⊙ℓ), G⊙(s−1), Σ_t(G⊙y0), G + ·, dm = ds/n", true},
    {OpId::dora_fwd, "dora_fwd", kAdapterKey, "whole peft DoRA forward, lora_dropout = 0 (base GEMM reused)",
     false},
    {OpId::dora_fwd_dropout, "dora_fwd_dropout", kAdapterKey,
     "whole peft DoRA forward, lora_dropout > 0 (dropout + second base GEMM)", false},
    {OpId::dora_bwd, "dora_bwd", kAdapterKey, "whole DoRA backward: dX, dA, dB, dm, lora_dropout = 0", false},
    {OpId::dora_bwd_dropout, "dora_bwd_dropout", kAdapterKey,
     "whole DoRA backward with lora_dropout > 0 (second base dX, mask)", false},
    {OpId::rmsnorm_fwd, "rmsnorm_fwd", {"T", "hidden", "hidden", ""}, "x·rsqrt(mean(x²)+ε)·w (fused)", true},
    {OpId::rmsnorm_bwd, "rmsnorm_bwd", {"T", "hidden", "hidden", ""}, "dx of RMSNorm (fused)", true},
    {OpId::swiglu_fwd,
     "swiglu_fwd",
     {"T", "intermediate", "intermediate", ""},
     "silu(gate)⊙up (fused)",
     true},
    {OpId::swiglu_bwd, "swiglu_bwd", {"T", "intermediate", "intermediate", ""}, "d gate, d up (fused)", true},
    {OpId::rotary_fwd, "rotary_fwd", {"T", "head_dim", "q_dim+kv_dim", ""}, "rotate q and k (fused)", true},
    {OpId::rotary_bwd,
     "rotary_bwd",
     {"T", "head_dim", "q_dim+kv_dim", ""},
     "inverse rotation of dq, dk",
     true},
    {OpId::attention_fwd,
     "attention_fwd",
     {"T", "seq_len", "heads·head_dim", "kv_heads·head_dim"},
     "causal softmax(QKᵀ/√d)·V",
     true},
    {OpId::attention_bwd,
     "attention_bwd",
     {"T", "seq_len", "heads·head_dim", "kv_heads·head_dim"},
     "dQ, dK, dV of causal attention",
     true},
    {OpId::cross_entropy_fwd,
     "cross_entropy_fwd",
     {"T", "hidden", "vocab", ""},
     "log-softmax + NLL over fp32 logits (the lm_head GEMM is a linear_fwd)",
     true},
    {OpId::cross_entropy_bwd,
     "cross_entropy_bwd",
     {"T", "hidden", "vocab", ""},
     "(softmax − onehot)/T",
     true},
    {OpId::memcpy_d2d, "memcpy_d2d", {"bytes", "", "", ""}, "device-to-device copy", true},
};

double d(int64_t v) { return static_cast<double>(v); }

// Kernel-by-kernel sums; each helper follows the sequence in op_catalogue.h and docs/calibration.md.
double linear_gemm_flops(int64_t T, int64_t di, int64_t dout) { return 2.0 * d(T) * d(di) * d(dout); }
double lora_gemm_flops(int64_t T, int64_t di, int64_t dout, int64_t r) {
  return 2.0 * d(T) * d(r) * (d(di) + d(dout));
}
double weight_norm_peft_flops(int64_t di, int64_t dout, int64_t r) {
  // eye·Aᵀ costs 2·d_in²·r instead of B·A's 2·d_in·r·d_out: the price of peft's eye trick.
  return 2.0 * d(di) * d(r) * (d(di) + d(dout)) + 4.0 * d(di) * d(dout) + d(dout);
}
double weight_norm_fused_flops(int64_t di, int64_t dout, int64_t r) {
  return d(di) * d(dout) * (2.0 * d(r) + 4.0) + d(dout);
}
double combine_fwd_flops(int64_t T, int64_t dout) { return 5.0 * d(T) * d(dout) + d(dout); }
double combine_bwd_flops(int64_t T, int64_t dout) { return 8.0 * d(T) * d(dout) + 3.0 * d(dout); }

double linear_bytes(int64_t T, int64_t di, int64_t dout, double e) {
  return e * (d(T) * d(di) + d(di) * d(dout) + d(T) * d(dout));
}
double lora_gemm_fwd_bytes(int64_t T, int64_t di, int64_t dout, int64_t r, double e) {
  return e * (d(T) * d(di) + d(r) * (d(di) + d(dout)) + 2.0 * d(T) * d(r) + d(T) * d(dout));
}
double lora_gemm_bwd_bytes(int64_t T, int64_t di, int64_t dout, int64_t r, double e) {
  // dB, dh read G_ℓ twice; dA, dx_lora read dh twice.
  return e * (2.0 * d(T) * d(dout) + 4.0 * d(T) * d(r) + 2.0 * d(r) * (d(di) + d(dout)) + 2.0 * d(T) * d(di));
}
double weight_norm_peft_bytes(int64_t di, int64_t dout, int64_t r, double e) {
  // eye write + read, eye·Aᵀ out, BA write, c·BA read/write, W0 + · (2 reads, 1 write), norm read.
  return e *
         (2.0 * d(di) * d(di) + 2.0 * d(di) * d(r) + d(r) * d(dout) + 7.0 * d(di) * d(dout) + 4.0 * d(dout));
}
double weight_norm_fused_bytes(int64_t di, int64_t dout, int64_t r, double e) {
  return e * (d(di) * d(dout) + d(r) * (d(di) + d(dout)) + 3.0 * d(dout));
}
double combine_fwd_bytes(int64_t T, int64_t dout, double e) {
  return e * (12.0 * d(T) * d(dout) + 3.0 * d(dout));
}
double combine_bwd_bytes(int64_t T, int64_t dout, double e) {
  return e * (17.0 * d(T) * d(dout) + 6.0 * d(dout));
}
double elementwise_add_bytes(int64_t n, double e) { return 3.0 * e * d(n); }
double dropout_bytes(int64_t n, double e) { return 2.0 * e * d(n) + d(n); }  // + a 1-byte mask

bool used(std::string_view meaning) { return !meaning.empty(); }

}  // namespace

const std::vector<OpInfo>& op_catalogue() { return kCatalogue; }

const OpInfo& op_info(OpId id) {
  for (const auto& info : kCatalogue)
    if (info.id == id) return info;
  throw std::logic_error("op_info: OpId missing from the catalogue");
}

std::string_view op_name(OpId id) { return op_info(id).name; }

std::optional<OpId> op_from_name(std::string_view name) {
  for (const auto& info : kCatalogue)
    if (info.name == name) return info.id;
  return std::nullopt;
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  names.reserve(kCatalogue.size());
  for (const auto& info : kCatalogue) names.emplace_back(info.name);
  return names;
}

void check_key(const OpKey& key) {
  const OpInfo& info = op_info(key.op);
  auto check = [&](std::string_view field, std::string_view meaning, int64_t value) {
    if (used(meaning) && value <= 0)
      throw std::invalid_argument(std::string(info.name) + ": " + std::string(field) + " (" +
                                  std::string(meaning) + ") must be positive");
    if (!used(meaning) && value != 0)
      throw std::invalid_argument(std::string(info.name) + ": " + std::string(field) +
                                  " is unused and must be 0");
  };
  check("tokens", info.key.tokens, key.tokens);
  check("d_in", info.key.d_in, key.d_in);
  check("d_out", info.key.d_out, key.d_out);
  check("r", info.key.r, key.r);
  if (key.op == OpId::attention_fwd || key.op == OpId::attention_bwd) {
    if (key.tokens % key.d_in != 0)
      throw std::invalid_argument("attention: tokens must be a multiple of seq_len (d_in)");
  }
}

double op_flops(const OpKey& k) {
  const int64_t T = k.tokens, di = k.d_in, dout = k.d_out, r = k.r;
  switch (k.op) {
    case OpId::linear_fwd:
    case OpId::linear_dx:
    case OpId::linear_dw:
      return linear_gemm_flops(T, di, dout);
    case OpId::lora_fwd:
      return lora_gemm_flops(T, di, dout, r) + 2.0 * d(T) * d(dout);
    case OpId::lora_bwd:
      return 2.0 * lora_gemm_flops(T, di, dout, r) + d(T) * d(dout) + d(T) * d(di);
    case OpId::dora_weight_norm:
      return weight_norm_peft_flops(di, dout, r);
    case OpId::dora_weight_norm_fused:
      return weight_norm_fused_flops(di, dout, r);
    case OpId::dora_combine_fwd:
      return combine_fwd_flops(T, dout);
    case OpId::dora_combine_bwd:
      return combine_bwd_flops(T, dout);
    case OpId::dora_fwd:
      return linear_gemm_flops(T, di, dout) + lora_gemm_flops(T, di, dout, r) +
             weight_norm_peft_flops(di, dout, r) + combine_fwd_flops(T, dout);
    case OpId::dora_fwd_dropout:
      return op_flops({OpId::dora_fwd, T, di, dout, r}) + linear_gemm_flops(T, di, dout) + d(T) * d(di);
    case OpId::dora_bwd:
      return combine_bwd_flops(T, dout) + 2.0 * lora_gemm_flops(T, di, dout, r) +
             linear_gemm_flops(T, di, dout) + d(T) * d(di);
    case OpId::dora_bwd_dropout:
      return op_flops({OpId::dora_bwd, T, di, dout, r}) + linear_gemm_flops(T, di, dout) + 2.0 * d(T) * d(di);
    case OpId::rmsnorm_fwd:
      return 4.0 * d(T) * d(di);
    case OpId::rmsnorm_bwd:
      return 6.0 * d(T) * d(di);
    case OpId::swiglu_fwd:
      return 5.0 * d(T) * d(di);
    case OpId::swiglu_bwd:
      return 10.0 * d(T) * d(di);
    case OpId::rotary_fwd:
    case OpId::rotary_bwd:
      return 3.0 * d(T) * d(dout);
    case OpId::attention_fwd: {
      // Dense QKᵀ and PV cost 4·b·s²·q_dim; causal masking skips half. T = b·s, so b·s² = T·s.
      return 2.0 * d(T) * d(di) * d(dout);
    }
    case OpId::attention_bwd:
      return 2.5 * op_flops({OpId::attention_fwd, T, di, dout, r});
    case OpId::cross_entropy_fwd:
    case OpId::cross_entropy_bwd:
      return 4.0 * d(T) * d(dout);
    case OpId::memcpy_d2d:
      return 0.0;
  }
  throw std::logic_error("op_flops: unhandled op");
}

double op_bytes(const OpKey& k, int element_bytes) {
  const double e = element_bytes;
  const int64_t T = k.tokens, di = k.d_in, dout = k.d_out, r = k.r;
  switch (k.op) {
    case OpId::linear_fwd:
    case OpId::linear_dx:
    case OpId::linear_dw:
      return linear_bytes(T, di, dout, e);
    case OpId::lora_fwd:
      // GEMMs, then ℓ·c (read, write) and y += ℓ (two reads, one write).
      return lora_gemm_fwd_bytes(T, di, dout, r, e) + 5.0 * e * d(T) * d(dout);
    case OpId::lora_bwd:
      return 2.0 * e * d(T) * d(dout) + lora_gemm_bwd_bytes(T, di, dout, r, e) +
             elementwise_add_bytes(T * di, e);
    case OpId::dora_weight_norm:
      return weight_norm_peft_bytes(di, dout, r, e);
    case OpId::dora_weight_norm_fused:
      return weight_norm_fused_bytes(di, dout, r, e);
    case OpId::dora_combine_fwd:
      return combine_fwd_bytes(T, dout, e);
    case OpId::dora_combine_bwd:
      return combine_bwd_bytes(T, dout, e);
    case OpId::dora_fwd:
      return linear_bytes(T, di, dout, e) + lora_gemm_fwd_bytes(T, di, dout, r, e) +
             weight_norm_peft_bytes(di, dout, r, e) + combine_fwd_bytes(T, dout, e);
    case OpId::dora_fwd_dropout:
      return op_bytes({OpId::dora_fwd, T, di, dout, r}, element_bytes) + linear_bytes(T, di, dout, e) +
             dropout_bytes(T * di, e);
    case OpId::dora_bwd:
      return combine_bwd_bytes(T, dout, e) + lora_gemm_bwd_bytes(T, di, dout, r, e) +
             linear_bytes(T, di, dout, e) + elementwise_add_bytes(T * di, e);
    case OpId::dora_bwd_dropout:
      return op_bytes({OpId::dora_bwd, T, di, dout, r}, element_bytes) + linear_bytes(T, di, dout, e) +
             dropout_bytes(T * di, e) + elementwise_add_bytes(T * di, e);
    case OpId::rmsnorm_fwd:
      return e * (2.0 * d(T) * d(di) + d(di)) + 4.0 * d(T);
    case OpId::rmsnorm_bwd:
      return e * (3.0 * d(T) * d(di) + d(di)) + 4.0 * d(T);
    case OpId::swiglu_fwd:
      return 3.0 * e * d(T) * d(di);
    case OpId::swiglu_bwd:
      return 5.0 * e * d(T) * d(di);
    case OpId::rotary_fwd:
    case OpId::rotary_bwd:
      return e * (2.0 * d(T) * d(dout) + 2.0 * d(T) * d(di));
    case OpId::attention_fwd:
      // Fused (flash) traffic: read Q, K, V, write O. The op models flash attention.
      return e * d(T) * (2.0 * d(dout) + 2.0 * d(r));
    case OpId::attention_bwd:
      return e * d(T) * (4.0 * d(dout) + 4.0 * d(r));
    case OpId::cross_entropy_fwd:
      return e * d(T) * d(dout) + 8.0 * d(T);
    case OpId::cross_entropy_bwd:
      return 2.0 * e * d(T) * d(dout) + 8.0 * d(T);
    case OpId::memcpy_d2d:
      return 2.0 * d(T);
  }
  throw std::logic_error("op_bytes: unhandled op");
}

std::string describe(const OpKey& key) {
  const OpInfo& info = op_info(key.op);
  std::string s(info.name);
  auto field = [&](std::string_view label, std::string_view meaning, int64_t value) {
    if (used(meaning)) s += " " + std::string(label) + "=" + std::to_string(value);
  };
  field("tokens", info.key.tokens, key.tokens);
  field("d_in", info.key.d_in, key.d_in);
  field("d_out", info.key.d_out, key.d_out);
  field("r", info.key.r, key.r);
  return s;
}

}  // namespace zerosim::calib
