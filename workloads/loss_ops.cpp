#include "workloads/loss_ops.h"

#include <algorithm>
#include <stdexcept>

namespace zerosim {

const char* loss_code_name(LossCode code) {
  switch (code) {
    case LossCode::hf_shifted_fp32:
      return "transformers 4.36-4.45 LlamaForCausalLM (fp32 logits, shifted fp32 copy)";
    case LossCode::hf_upcast_in_loss:
      return "transformers 4.46-4.48 ForCausalLMLoss (bf16 logits, fp32 upcast, shifted fp32 copy)";
    case LossCode::hf_padded_labels:
      return "transformers 4.49+ ForCausalLMLoss (bf16 logits, fp32 upcast, padded labels)";
    case LossCode::qwen_remote:
      return "Qwen-v1 modeling_qwen.py (bf16 logits, shifted bf16 copy)";
    case LossCode::torchtune_chunked:
      return "torchtune CEWithChunkedOutputLoss (8 chunks)";
    case LossCode::liger_fused:
      return "Liger Kernel LigerFusedLinearCrossEntropy";
    case LossCode::litgpt_chunked:
      return "litgpt chunked_cross_entropy (128-token chunks)";
  }
  return "?";
}

bool forward_autocasts(const RunConfig& c) {
  // Without DeepSpeed (train.engine: pytorch) the mixed and AMP precisions mean torch.autocast; DeepSpeed's
  // engine casts the module instead (docs/inputs.md, "train.engine").
  return c.train.engine == TrainingEngine::pytorch && c.train.precision != Precision::bf16_pure &&
         c.train.precision != Precision::fp32;
}

bool gradients_allocated_in_backward(const RunConfig& c) {
  return c.zero.stage <= 1 && c.train.grad_accum == 1;
}

LossCode resolve_loss_code(const RunConfig& c) {
  switch (c.train.loss) {
    case LossImpl::chunked:
      return LossCode::torchtune_chunked;
    case LossImpl::fused_linear_ce:
      return LossCode::liger_fused;
    case LossImpl::litgpt:
      return LossCode::litgpt_chunked;
    case LossImpl::hf:
    case LossImpl::hf_keep_outputs:
      break;
  }
  // Qwen-v1 runs its own remote code (trust_remote_code), whatever the transformers release.
  if (c.model.model_type == "qwen") return LossCode::qwen_remote;
  const Version v = c.versions.transformers;
  if (v < Version{4, 46, 0}) return LossCode::hf_shifted_fp32;    // #33902 + #34191: bf16 logits, loss_utils
  if (v < Version{4, 49, 0}) return LossCode::hf_upcast_in_loss;  // #35646 pads the labels instead
  return LossCode::hf_padded_labels;
}

int64_t torchtune_chunk_tokens(int64_t batch, int64_t seq_len) { return batch * ((seq_len + 7) / 8); }

int64_t litgpt_chunk_tokens(int64_t batch, int64_t seq_len) {
  return batch * std::min<int64_t>(128, seq_len);
}

int64_t liger_chunk_tokens(int64_t tokens, int64_t vocab, int64_t hidden) {
  const int64_t inc_factor = (vocab + hidden - 1) / hidden;
  const int64_t want = (tokens + inc_factor - 1) / inc_factor;
  int64_t pow2 = 1;
  while (pow2 < want) pow2 *= 2;
  return std::min(tokens, pow2);
}

namespace {

constexpr int64_t kBf16 = 2, kFp32 = 4;

// Bytes per logit element (T×V) of the transformers / remote-code losses, derived step by step in
// docs/memory-model.md "Logits and loss".
struct HfLoss {
  int64_t peak;       // live at the forward's largest point: bf16 lm_head output, copies, saved log-softmax
  int64_t saved;      // log-softmax output kept for backward
  int64_t returned;   // the logits the model returns (kept by a loop that holds `outputs`)
  int64_t bwd_extra;  // live above the saved output in backward (NLL gradient + log-softmax input gradient)
  double fwd_bytes;   // DRAM traffic of the forward passes
  double bwd_bytes;   // and of the backward passes (to the bf16 logits gradient)
};

HfLoss hf_loss(LossCode code, bool autocast, bool fp32) {
  if (fp32) {
    // fp32 training: the logits are fp32 and logits.float() returns them; the rest as below without the
    // upcast. Passes: shifted fp32 copy 8, log_softmax 12; backward NLL zero fill 4, log_softmax 16, slice
    // backward 12.
    switch (code) {
      case LossCode::hf_shifted_fp32:    // 4 returned + 4 shifted copy + 4 log-softmax = 12
      case LossCode::hf_upcast_in_loss:  // the same: the upcast in ForCausalLMLoss is a no-op
      case LossCode::qwen_remote:        // bf16 → fp32 nowhere: logits, shifted copy, log-softmax
        return {12, kFp32, kFp32, 8, 8 + 12, 4 + 16 + 12};
      case LossCode::hf_padded_labels:  // 4 returned + 4 log-softmax = 8
        return {8, kFp32, kFp32, 8, 12, 4 + 16};
      default:
        throw std::logic_error("hf_loss: not a transformers loss");
    }
  }
  // Passes, bytes per element: upcast bf16→fp32 6; fp32 contiguous copy 8, bf16 4; log_softmax fp32 12
  // (two reads, one write), bf16 6; NLL backward's zero fill fp32 4, bf16 2; log_softmax backward fp32 16,
  // bf16 8; slice backward (zero fill + copy) fp32 12, bf16 6; fp32→bf16 cast backward 6.
  switch (code) {
    case LossCode::hf_shifted_fp32:  // 2 → +4 upcast (bf16 freed) → +4 shift → +4 log-softmax = 12
      return {12, kFp32, kFp32, 8, 6 + 8 + 12, 4 + 16 + 12 + 6};
    case LossCode::hf_upcast_in_loss:  // 2 kept + 4 upcast + 4 shift + 4 log-softmax = 14
      return {14, kFp32, kBf16, 8, 6 + 8 + 12, 4 + 16 + 12 + 6};
    case LossCode::hf_padded_labels:  // 2 kept + 4 upcast + 4 log-softmax = 10
      return {10, kFp32, kBf16, 8, 6 + 12, 4 + 16 + 6};
    case LossCode::qwen_remote:
      // 2 kept + 2 shifted bf16 copy, then cross_entropy: autocast casts it to fp32 (+4) and keeps an fp32
      // log-softmax (+4) = 12; without autocast it runs in bf16 (+2) = 6.
      if (autocast) return {12, kFp32, kBf16, 8, 4 + 6 + 12, 4 + 16 + 6 + 6};
      return {6, kBf16, kBf16, 4, 4 + 6, 2 + 8 + 6};
    default:
      throw std::logic_error("hf_loss: not a transformers loss");
  }
}

class LossBuilder {
 public:
  LossBuilder(const RunConfig& c, int head, bool head_trains, int64_t head_saved)
      : c_(c),
        T_(c.train.tokens()),
        h_(c.model.hidden),
        V_(c.model.vocab),
        E_(c.train.tokens() * c.model.vocab),
        head_(head),
        head_trains_(head_trains),
        head_saved_(head_saved),
        autocast_(forward_autocasts(c)),
        fp32_(c.train.precision == Precision::fp32),
        lg_(fp32_ ? kFp32 : kBf16) {
    out_.code = resolve_loss_code(c);
  }

  LossOps build() {
    switch (out_.code) {
      case LossCode::torchtune_chunked:
        torchtune();
        break;
      case LossCode::liger_fused:
        liger();
        break;
      case LossCode::litgpt_chunked:
        litgpt();
        break;
      default:
        transformers();
        break;
    }
    return out_;
  }

 private:
  const RunConfig& c_;
  const int64_t T_, h_, V_, E_;  // tokens, hidden, vocabulary, logit elements T·V
  const int head_;
  const bool head_trains_;
  const int64_t head_saved_;
  const bool autocast_;
  const bool fp32_;   // fp32 training: fp32 logits, no casts
  const int64_t lg_;  // bytes per element of the head's logits and their gradient
  LossOps out_;

  double e(double per_element) const { return per_element * static_cast<double>(E_); }

  ComputeOp op(const std::string& name, const std::string& key, OpClass cls, Phase phase, double flops,
               double bytes) const {
    ComputeOp o = compute_op(name, key, cls, phase, flops, bytes);
    o.tokens = T_, o.d_in = h_, o.d_out = V_;
    return o;
  }

  // The head's GEMMs: logits = x·Wᵀ, dX = dlogits·W, dW = dlogitsᵀ·x (bf16 operands).
  ComputeOp head_gemm(const std::string& which, Phase phase) const {
    const double bytes = static_cast<double>(T_ * h_ + h_ * V_ + E_) * static_cast<double>(lg_);
    ComputeOp o = op("lm_head." + which, which, OpClass::gemm, phase, linear_flops(T_, h_, V_), bytes);
    o.modules = {head_};
    return o;
  }

  // What the head's forward keeps for its backward (the caller's rule: its bf16 input where a weight
  // gradient or ZeRO-3's linear wrapper needs it, AMP's bf16 cast of the weight).
  int64_t head_input_saved() const { return head_saved_; }

  // A vocabulary-sized amount of `bytes_per_element` B per logit element as the tensors the code makes: one
  // bf16 (2 B) where the amount is not a multiple of 4, then fp32 (4 B) tensors — what the caching-allocator
  // replay allocates (docs/memory-model.md §5).
  std::vector<int64_t> logit_tensors(int64_t bytes_per_element) const {
    std::vector<int64_t> out;
    if (bytes_per_element % 4 != 0) out.push_back(kBf16 * E_);
    for (int64_t b = bytes_per_element % 4 != 0 ? kBf16 : 0; b + kFp32 <= bytes_per_element; b += kFp32)
      out.push_back(kFp32 * E_);
    return out;
  }

  // Backward of the unfused head: dX while the bf16 logits gradient (2·T·V) is live, then dW.
  void head_backward() {
    ComputeOp dx = head_gemm("linear_dx", Phase::backward);
    dx.transient_bytes = lg_ * E_ + lg_ * T_ * h_;
    if (!head_trains_) {
      dx.releases_bytes = head_input_saved();  // a frozen head's last use of what it kept
      out_.backward.push_back(dx);
      return;
    }
    out_.backward.push_back(dx);
    ComputeOp dw = head_gemm("linear_dw", Phase::backward);
    dw.releases_bytes = head_input_saved();
    out_.backward.push_back(dw);
  }

  // transformers' LlamaForCausalLM / ForCausalLMLoss and Qwen-v1's remote code.
  void transformers() {
    const HfLoss l = hf_loss(out_.code, autocast_, fp32_);
    const bool keep = c_.train.loss == LossImpl::hf_keep_outputs;
    ComputeOp fwd = head_gemm("linear_fwd", Phase::forward);
    fwd.saved_bytes = head_input_saved();
    fwd.transient_bytes = lg_ * E_;  // the logits it writes
    out_.forward.push_back(fwd);
    if (c_.model.final_logit_softcap > 0) out_.forward.push_back(softcap_forward());

    double bytes = e(static_cast<double>(l.fwd_bytes));
    // HF Trainer without DeepSpeed: accelerate's convert_outputs_to_fp32 copies bf16 logits to fp32 after
    // the forward (6 B per element); it is live with the log-softmax and the bf16 logits only (≤ peak).
    if (c_.train.loss == LossImpl::hf && autocast_ && l.returned == kBf16) bytes += e(6);
    ComputeOp ce =
        op("loss.cross_entropy_fwd", "cross_entropy_fwd", OpClass::memory_bound, Phase::forward, e(5), bytes);
    const int64_t kept = keep ? l.returned * E_ : 0;
    ce.saved_bytes = l.saved * E_ + kept;
    ce.transient_bytes = l.peak * E_ - ce.saved_bytes;
    ce.transient_tensors = logit_tensors(l.peak - l.saved - (keep ? l.returned : 0));
    if (keep) {
      // `outputs = model(**batch)` drops the previous step's outputs only once this forward returns. This
      // step's kept logits are saved before the log-softmax output, so backward frees that one first.
      out_.previous_logits_bytes = kept;
      ce.saved_tensors = {kept, l.saved * E_};
      ce.releases_oldest_bytes = kept;
    }
    out_.forward.push_back(ce);

    ComputeOp ceb = op("loss.cross_entropy_bwd", "cross_entropy_bwd", OpClass::memory_bound, Phase::backward,
                       e(4), e(l.bwd_bytes));
    ceb.transient_bytes = l.bwd_extra * E_;
    ceb.transient_tensors = logit_tensors(l.bwd_extra);
    ceb.releases_bytes = l.saved * E_;
    out_.backward.push_back(ceb);
    if (c_.model.final_logit_softcap > 0) out_.backward.push_back(softcap_backward());
    head_backward();
  }

  // Gemma-2's final soft-capping (modeling_gemma2.py Gemma2ForCausalLM.forward): logits / cap, tanh, · cap,
  // each a new bf16 logits tensor; tanh keeps its output for backward. Backward: the two products' and
  // tanh's input gradients, one at a time next to the incoming one.
  ComputeOp softcap_forward() const {
    ComputeOp o = op("loss.logit_softcap_fwd", "logit_softcap_fwd", OpClass::memory_bound, Phase::forward,
                     e(3), e(static_cast<double>(3 * 2 * lg_)));
    o.saved_bytes = lg_ * E_;      // tanh's output
    o.transient_bytes = lg_ * E_;  // logits / cap, and the head's output until then
    return o;
  }
  ComputeOp softcap_backward() const {
    ComputeOp o = op("loss.logit_softcap_bwd", "logit_softcap_bwd", OpClass::memory_bound, Phase::backward,
                     e(4), e(static_cast<double>(3 * 2 * lg_ + lg_)));
    o.transient_bytes = 2 * lg_ * E_;
    o.releases_bytes = lg_ * E_;
    return o;
  }

  // torchtune: the output projection in 8 sequence chunks (a list of bf16 logits), CEWithChunkedOutputLoss
  // upcasts one chunk at a time; the recipe deletes the logits before backward.
  void torchtune() {
    const int64_t Ec = torchtune_chunk_tokens(c_.train.micro_batch, c_.train.seq_len) * V_;
    ComputeOp fwd = head_gemm("linear_fwd", Phase::forward);
    fwd.saved_bytes = head_input_saved();
    fwd.transient_bytes = kBf16 * E_;
    out_.forward.push_back(fwd);
    ComputeOp ce = op("loss.chunked_ce_fwd", "chunked_cross_entropy_fwd", OpClass::memory_bound,
                      Phase::forward, e(5), e(6 + 12));
    ce.saved_bytes = kFp32 * E_;                   // every chunk's fp32 log-softmax
    ce.transient_bytes = kBf16 * E_ + kFp32 * Ec;  // the bf16 logits + one chunk's fp32 copy
    out_.forward.push_back(ce);
    ComputeOp ceb = op("loss.chunked_ce_bwd", "chunked_cross_entropy_bwd", OpClass::memory_bound,
                       Phase::backward, e(4), e(4 + 16 + 6));
    ceb.transient_bytes = 2 * kFp32 * Ec;  // one chunk's NLL and log-softmax input gradients
    ceb.releases_bytes = kFp32 * E_;
    out_.backward.push_back(ceb);
    head_backward();
  }

  // litgpt finetune/lora.py under Lightning Fabric: model(input_ids, lm_head_chunk_size=128) returns a list
  // of 128-token logits chunks, bf16 as the head writes them (under autocast too), and Fabric's
  // _FabricModule.forward then converts every floating output to torch's default dtype
  // (precision.convert_output → _convert_fp_tensor(..., torch.get_default_dtype()): fp32, in every precision
  // plugin, bf16-true, bf16-mixed and bitsandbytes alike). The loop keeps that fp32 list (`logits`) through
  // backward and until the next forward returns; chunked_cross_entropy runs on each fp32 chunk, outside
  // Fabric's forward context.
  void litgpt() {
    const int64_t Ec = litgpt_chunk_tokens(c_.train.micro_batch, c_.train.seq_len) * V_;
    out_.previous_logits_bytes = kFp32 * E_;
    ComputeOp fwd = head_gemm("linear_fwd", Phase::forward);
    fwd.saved_bytes = head_input_saved() + kFp32 * E_;  // the fp32 list, held past this micro-step
    fwd.saved_tensors = {kFp32 * E_};                   // the list first: backward frees the head input first
    if (head_input_saved() > 0) fwd.saved_tensors.push_back(head_input_saved());
    fwd.transient_bytes = kBf16 * E_;  // the bf16 chunks, until the conversion has copied them
    fwd.releases_oldest_bytes = out_.previous_logits_bytes;  // `logits = model(...)` drops the previous list
    out_.forward.push_back(fwd);
    // Fabric's conversion (read 2, write 4) and the loss: the last chunk is sliced ([..., :-1, :]) and
    // reshaped, an fp32 copy of one chunk; log_softmax reads and writes fp32, nll_loss reads it.
    ComputeOp ce = op("loss.chunked_ce_fwd", "chunked_cross_entropy_fwd", OpClass::memory_bound,
                      Phase::forward, e(5), e(6 + 12) + static_cast<double>(8 * Ec));
    ce.saved_bytes = kFp32 * E_;
    ce.transient_bytes = kFp32 * Ec;
    out_.forward.push_back(ce);
    // One chunk's fp32 NLL and log-softmax input gradients, and the conversion's backward: a bf16 chunk.
    ComputeOp ceb = op("loss.chunked_ce_bwd", "chunked_cross_entropy_bwd", OpClass::memory_bound,
                       Phase::backward, e(4), e(4 + 16 + 6));
    ceb.transient_bytes = 2 * kFp32 * Ec + kBf16 * Ec;
    ceb.releases_bytes = kFp32 * E_;
    out_.backward.push_back(ceb);
    head_backward();
  }

  // Liger fused_linear_cross_entropy_forward: per chunk of c tokens, logits = x_c·Wᵀ (bf16), the CE kernel
  // writes the logits gradient in place, then grad_input[c] = g·W and grad_weight += gᵀ·x_c — all in
  // forward. grad_input (and grad_weight) are allocated up front and saved for backward, which only scales
  // them by the incoming gradient.
  void liger() {
    const int64_t chunk = liger_chunk_tokens(T_, V_, h_) * V_ * kBf16;
    const int64_t grad_input = kBf16 * T_ * h_;
    const int64_t grad_weight = head_trains_ ? kBf16 * V_ * h_ : 0;
    // With gradients allocated in backward (stages 0-1, no accumulation) grad_weight becomes the head's
    // .grad, which the memory model allocates at the backward op that names the head; otherwise it is
    // extra until backward hands it to the gradient hooks.
    const bool becomes_grad = gradients_allocated_in_backward(c_);
    ComputeOp fwd = head_gemm("linear_fwd", Phase::forward);
    fwd.saved_bytes = grad_input + grad_weight;
    fwd.transient_bytes = chunk + kFp32 * T_;  // one logits chunk, the fp32 per-token losses
    out_.forward.push_back(fwd);
    ComputeOp ce = op("loss.fused_linear_ce_fwd", "fused_linear_ce_fwd", OpClass::memory_bound,
                      Phase::forward, e(9), e(6));
    ce.transient_bytes = chunk + kFp32 * T_;
    out_.forward.push_back(ce);
    ComputeOp dx = head_gemm("linear_dx", Phase::forward);
    dx.transient_bytes = chunk;
    out_.forward.push_back(dx);
    if (head_trains_) {
      ComputeOp dw = head_gemm("linear_dw", Phase::forward);
      dw.transient_bytes = chunk;
      if (becomes_grad) dw.releases_bytes = grad_weight;
      out_.forward.push_back(dw);
    }
    const double scaled = static_cast<double>(T_ * h_ + (head_trains_ ? V_ * h_ : 0));
    ComputeOp b = op("loss.fused_linear_ce_bwd", "fused_linear_ce_bwd", OpClass::memory_bound,
                     Phase::backward, scaled, 2.0 * kBf16 * scaled);
    if (head_trains_) b.modules = {head_};
    b.releases_bytes = grad_input + (becomes_grad ? 0 : grad_weight);
    out_.backward.push_back(b);
  }
};

}  // namespace

LossOps build_loss_ops(const RunConfig& c, int head, bool head_trains, int64_t head_saved) {
  return LossBuilder(c, head, head_trains, head_saved).build();
}

}  // namespace zerosim
