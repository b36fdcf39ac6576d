#pragma once
// The ops from the lm_head to the loss and back as each trainer's code computes them (train.loss,
// versions.transformers, the model type, autocast): which vocabulary-sized (T×V) tensors are live, in
// which dtype and for how long (saved / transient / released bytes), and the passes over them (FLOPs and
// DRAM bytes for the time model). docs/memory-model.md "Logits and loss" cites the code of each.
#include <cstdint>
#include <vector>

#include "workloads/step_program.h"

namespace zerosim {

// The code that computes the logits and the loss of one run.
enum class LossCode {
  hf_shifted_fp32,    // transformers 4.36-4.45 LlamaForCausalLM.forward: logits.float(), shifted fp32 copy
  hf_upcast_in_loss,  // 4.46-4.48 ForCausalLMLoss: bf16 logits returned; upcast and shifted fp32 copy
  hf_padded_labels,   // 4.49+ ForCausalLMLoss: upcast, labels padded and shifted instead of the logits
  qwen_remote,        // Qwen-v1 modeling_qwen.py: shifted bf16 copy, cross_entropy in the autocast dtype
  torchtune_chunked,  // torchtune chunked output + CEWithChunkedOutputLoss (8 chunks, eager)
  liger_fused,        // Liger Kernel LigerFusedLinearCrossEntropyFunction
  litgpt_chunked,     // litgpt lm_head_chunk_size=128 + chunked_cross_entropy(chunk_size=128)
};
const char* loss_code_name(LossCode code);
LossCode resolve_loss_code(const RunConfig& c);

// Whether the forward runs under torch.autocast: mixed precision without DeepSpeed's engine (zero.stage 0
// and no ds_config): HF Trainer through accelerate (prepare_model wraps forward in autocast), Lightning
// Fabric's bf16-mixed, a torch AMP loop. DeepSpeed's bf16/fp16 modes cast the module instead.
bool forward_autocasts(const RunConfig& c);

// Whether each trainable module's gradient is allocated during backward (stages 0-1 without gradient
// accumulation, as memory_model's model_states counts it) rather than held across micro-steps.
bool gradients_allocated_in_backward(const RunConfig& c);

// Chunk sizes the trainers' code uses (in tokens of one chunk, over the whole micro-batch).
int64_t torchtune_chunk_tokens(int64_t batch, int64_t seq_len);  // batch · ⌈seq/8⌉ (torch.chunk, 8 chunks)
int64_t litgpt_chunk_tokens(int64_t batch, int64_t seq_len);     // batch · min(128, seq) (split(128, dim=1))
// Liger: min(BT, next_pow2(⌈BT / ⌈V/H⌉⌉)), the chunk whose logits take about as much memory as the input.
int64_t liger_chunk_tokens(int64_t tokens, int64_t vocab, int64_t hidden);

struct LossOps {
  std::vector<ComputeOp> forward;   // lm_head forward to the loss (Liger: also the head's gradient GEMMs)
  std::vector<ComputeOp> backward;  // loss backward to the lm_head's gradients
  // Logits of the previous micro-step the training loop still holds when this forward starts (litgpt's
  // `logits`, a loop's `outputs`): the caller adds them to the first forward op; an op above releases them.
  int64_t previous_logits_bytes = 0;
  LossCode code = LossCode::hf_padded_labels;
};

// The head and loss ops for `c`; `head` is the lm_head's module index (the embedding when tied),
// `head_trains` whether it has a gradient, `head_saved` the bytes its forward keeps for backward (its bf16
// input where a weight gradient or ZeRO-3's linear wrapper needs it; AMP's bf16 weight cast).
LossOps build_loss_ops(const RunConfig& c, int head, bool head_trains, int64_t head_saved);

}  // namespace zerosim
