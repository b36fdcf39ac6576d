#pragma once
// The one list of operations zerosim calibrates: names, what each key field means, and
// FLOPs/bytes formulas. The CPU and CUDA backends, the sweep, the calibration file and the
// simulator's lookup all iterate over this list, so they cannot drift apart.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zerosim::calib {

enum class OpId {
  linear_fwd,              // y = x·Wᵀ                         (tokens, d_in, d_out)
  linear_dx,               // dx = G·W                         (tokens, d_in, d_out)
  linear_dw,               // dW = Gᵀ·x                        (tokens, d_in, d_out)
  lora_fwd,                // h = x·Aᵀ, ℓ = h·Bᵀ, y += c·ℓ     (tokens, d_in, d_out, r)
  lora_bwd,                // c·G, dB, dh, dA, dx_lora, dx +=  (tokens, d_in, d_out, r)
  dora_weight_norm,        // peft: eye trick, W0 + c·BA, row norm, s = m/n   (d_in, d_out, r)
  dora_weight_norm_fused,  // row norms of W0 + c·BA without forming it        (d_in, d_out, r)
  dora_combine_fwd,  // y = y0 + (s−1)⊙y0 + c·s⊙ℓ, as peft's elementwise kernels (tokens, d_out)
  dora_combine_bwd,  // G_ℓ = c·G⊙s, G_y0 = G⊙s, dm = Σ_t(...)/n         (tokens, d_out)
  dora_fwd,          // whole peft DoRA module forward, lora_dropout = 0  (tokens, d_in, d_out, r)
  dora_fwd_dropout,  // same with lora_dropout > 0: mask + second base GEMM
  dora_bwd,          // whole DoRA module backward, lora_dropout = 0
  dora_bwd_dropout,  // same with lora_dropout > 0
  rmsnorm_fwd,       // (tokens, hidden, hidden)
  rmsnorm_bwd,       // input gradient only: the norm weight is frozen under PEFT
  swiglu_fwd,        // silu(gate)⊙up  (tokens, intermediate, intermediate)
  swiglu_bwd,
  rotary_fwd,  // q and k rotated in place  (tokens, head_dim, q_dim + kv_dim)
  rotary_bwd,
  attention_fwd,  // causal  (tokens, seq_len, heads·head_dim, kv_heads·head_dim)
  attention_bwd,
  cross_entropy_fwd,  // log-softmax + NLL over fp32-upcast logits  (tokens, hidden, vocab)
  cross_entropy_bwd,  // softmax − onehot, mean over tokens
  memcpy_d2d,         // device-to-device copy of `tokens` bytes
};

// What each of the four key fields of an op means; "" when the field is unused (always 0).
struct KeyMeaning {
  std::string_view tokens, d_in, d_out, r;
};

struct OpInfo {
  OpId id;
  std::string_view name;
  KeyMeaning key;
  std::string_view computes;  // one line for docs and --help
  bool simulator_op;          // emitted by the step graph; the rest check the decomposition
};

struct OpKey {
  OpId op;
  int64_t tokens = 0;
  int64_t d_in = 0;
  int64_t d_out = 0;
  int64_t r = 0;
  bool operator==(const OpKey&) const = default;
};

const std::vector<OpInfo>& op_catalogue();
const OpInfo& op_info(OpId id);
std::string_view op_name(OpId id);
std::optional<OpId> op_from_name(std::string_view name);
std::vector<std::string> op_names();

// Throws std::invalid_argument when a key field the op does not use is non-zero, or a used
// one is not positive: a wrong key would silently look up or time a different operation.
void check_key(const OpKey& key);

// Algorithmic floating-point operations of one run of the op (the formulas of docs/time-model.md
// and docs/reference/dora-zero.md §1.4; causal attention counts the half of the dense product it
// computes). Independent of the implementation, so efficiencies compare across backends.
double op_flops(const OpKey& key);

// Bytes read and written by one run when every tensor passes through memory once per kernel
// of the sequence the backends run, `element_bytes` per element (2 bf16, 4 fp32);
// fp32 reductions (norms, logsumexp) count 4 bytes.
double op_bytes(const OpKey& key, int element_bytes);

std::string describe(const OpKey& key);  // "linear_fwd tokens=512 d_in=4096 d_out=4096"

}  // namespace zerosim::calib
