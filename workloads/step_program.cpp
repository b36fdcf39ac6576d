#include "workloads/step_program.h"

#include <algorithm>

#include "workloads/eager_op_bytes.h"
#include "workloads/kernel_launches.h"
#include "workloads/loss_ops.h"

namespace zerosim {

// ---- formulas --------------------------------------------------------------------------------

double linear_flops(int64_t tokens, int64_t d_in, int64_t d_out) {
  return 2.0 * static_cast<double>(tokens) * static_cast<double>(d_in) * static_cast<double>(d_out);
}

double lora_forward_flops(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r) {
  const double t = static_cast<double>(tokens);
  return 2.0 * t * static_cast<double>(r) * static_cast<double>(d_in + d_out) +
         2.0 * t * static_cast<double>(d_out);
}

double lora_backward_flops(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r) {
  const double t = static_cast<double>(tokens);
  return 4.0 * t * static_cast<double>(r) * static_cast<double>(d_in + d_out) +
         t * static_cast<double>(d_out);
}

double dora_weight_norm_flops(int64_t d_in, int64_t d_out, int64_t r) {
  const double i = static_cast<double>(d_in), o = static_cast<double>(d_out);
  return 2.0 * i * static_cast<double>(r) * (i + o) + 3.0 * i * o;
}

double dora_weight_norm_bytes(int64_t d_in, int64_t d_out, int64_t r, AdapterDtype dtype) {
  // eye written and read (2·d_in²), x_eye·Aᵀ and B·(·) (r-wide), BA written, scaled, added to W0
  // (reads W0), squared-summed: ≈ 7 passes over d_in·d_out (docs/reference/dora-zero.md §1.4), bf16.
  const double i = static_cast<double>(d_in), o = static_cast<double>(d_out), rr = static_cast<double>(r);
  const double narrow = 2.0 * i * rr + 2.0 * rr * o;  // the r-wide products, in and out
  switch (dtype) {
    case AdapterDtype::fp32:
      // The same passes in fp32, plus W0.to(fp32) (reads 2, writes 4): per element of d_in·d_out BA 4,
      // the cast 6, the scaled copy 8, the sum 12, the norm 4 = 34 B; eye 8·d_in².
      return 8.0 * i * i + 34.0 * i * o + 4.0 * narrow;
    case AdapterDtype::fp32_autocast:
      // eye fp32 (4), autocast's bf16 cast of it (read 4, write 2), the GEMM reads it (2): 12·d_in²; BA bf16
      // (2), lora_weight.to(fp32) (6), W0.to(fp32) (6), the scaled copy (8), the sum (12), the norm (4): 38
      // B.
      return 12.0 * i * i + 38.0 * i * o + 2.0 * narrow;
    default:
      return 2.0 * (2.0 * i * i + 7.0 * i * o) + 2.0 * narrow;
  }
}

int64_t dora_weight_norm_transient_bytes(int64_t d_in, int64_t d_out, int64_t r, AdapterDtype dtype) {
  // peft dora.py DoraLinearLayer.forward / get_lora_weight / get_weight_norm. bf16: eye(d_in) (kept by
  // lora_A's saved input while the non-detached lora_weight lives), lora_A(eye), lora_weight, and the scaled
  // copy and W0 + c·BA; W0.to(x.dtype) is W0 itself.
  switch (dtype) {
    case AdapterDtype::fp32:  // the same tensors in fp32, plus W0.to(x.dtype): an fp32 copy of W0
      return 4 * (d_in * d_in + d_in * r + 4 * d_in * d_out);
    case AdapterDtype::fp32_autocast:
      // eye is fp32 but lora_A keeps autocast's bf16 cast of it (the fp32 eye dies with get_lora_weight);
      // lora_A(eye) and lora_B's output are bf16, lora_weight.to(fp32), W0.to(fp32), the scaled copy and
      // the sum are fp32.
      return 2 * d_in * d_in + 2 * d_in * r + 16 * d_in * d_out;
    default:
      return 2 * (d_in * d_in + d_in * r + 3 * d_in * d_out);
  }
}

double attention_forward_flops(int64_t batch, int64_t seq, int64_t q_dim, bool causal_flash) {
  // QKᵀ and PV: 4·b·s²·(heads·head_dim). Flash-attention skips masked tiles of a causal mask:
  // half the work. Eager attention computes the full s×s matrices and masks them.
  const double dense = 4.0 * static_cast<double>(batch) * static_cast<double>(seq) *
                       static_cast<double>(seq) * static_cast<double>(q_dim);
  return causal_flash ? dense / 2.0 : dense;
}

double adam_step_bytes_per_param(Precision precision, OptimizerImpl impl) {
  // fp32 weights, states and grads without a master copy (AMP, fp32 training): fused reads g, p, m, v and
  // writes p, m, v, 4 B each = 28; foreach 4p + 12e + 2g with p = e = g = 4 B = 72.
  if (fp32_weights(precision) || precision == Precision::fp32)
    return impl == OptimizerImpl::fused ? 28.0 : 72.0;
  const bool mixed = has_fp32_master(precision);
  if (impl == OptimizerImpl::fused)
    // One pass. Mixed: read the bf16 grad (2) and write its fp32 copy (4), read+write fp32 master, m, v
    // (24), write the bf16 param (2) = 32. Pure bf16: read g, p, m, v and write p, m, v, 2 B each = 14.
    return mixed ? 32.0 : 14.0;
  // torch _multi_tensor_adamw: p *= 1-lr·wd (2p), m.lerp_(g) (2e+g), v *= b2 (2e), v.addcmul_(g, g) (2e+g),
  // s = sqrt(v) (2e), s /= bc2 (2e), s += eps (2e), p.addcdiv_(m, s) (2p+2e) = 4p + 12e + 2g, with p, e, g
  // the bytes of param, state and grad. Pure bf16: 8 + 24 + 4 = 36. Mixed (fp32 master, states and
  // grads): 16 + 48 + 8 = 72, plus the bf16→fp32 grad copy (6) and the fp32→bf16 param copy (6) = 84.
  return mixed ? 84.0 : 36.0;
}

namespace {

std::vector<int64_t> allocations(int64_t total, const std::vector<int64_t>& tensors) {
  int64_t listed = 0;
  for (int64_t t : tensors) listed += t;
  if (tensors.empty() || listed > total)
    return total > 0 ? std::vector<int64_t>{total} : std::vector<int64_t>{};
  std::vector<int64_t> out = tensors;
  if (listed < total) out.push_back(total - listed);
  return out;
}

}  // namespace

ComputeOp compute_op(const std::string& name, const std::string& key, OpClass cls, Phase phase, double flops,
                     double bytes) {
  ComputeOp o;
  o.name = name;
  o.op = key;
  o.cls = cls;
  o.phase = phase;
  o.flops = flops;
  o.bytes = bytes;
  return o;
}

MatmulMath matmul_math(const RunConfig& c) {
  if (c.train.precision != Precision::fp32) return MatmulMath::tensor16;
  return c.train.tf32 ? MatmulMath::tf32 : MatmulMath::fp32;
}

std::vector<int64_t> saved_allocations(const ComputeOp& op) {
  return allocations(op.saved_bytes, op.saved_tensors);
}
std::vector<int64_t> transient_allocations(const ComputeOp& op) {
  return allocations(op.transient_bytes, op.transient_tensors);
}

// ---- the program -----------------------------------------------------------------------------

namespace {

struct LayerModules {
  std::vector<int> base, lora_a, lora_b, magnitude;  // per linear index, -1 if absent
  // In forward order: input, pre-MLP; with sandwich norms (Gemma-2): input, attention output, pre-MLP, MLP
  // output.
  int norm[4] = {-1, -1, -1, -1};
  int norms = 0;
};

class Builder {
 public:
  explicit Builder(const RunConfig& c)
      : c_(c),
        m_(c.model),
        p_(c.peft),
        t_(c.train),
        T_(c.train.tokens()),
        full_(c.peft.method == PeftMethod::none),
        fw_(framework_behaviour(c)) {
    prog_.modules = param_modules(m_, p_);
    // ZeRO-3 partitions a 4-bit weight as the 16-bit tensor bitsandbytes packed it into
    // (bnb_4bit_quant_storage; functional.py quantize_4bit: torch.zeros(((n + 1) // 4, 1), dtype=storage)).
    if (c.zero.stage == 3 && c.quantization.on() && c.quantization.storage_bytes == 2)
      for (ParamModule& pm : prog_.modules)
        if (quantized_module(pm, c)) pm.packed_weight = (pm.largest_tensor + 1) / 4;
    index_modules();
  }

  StepProgram build() {
    emit_embedding();
    // HF enables input grads when checkpointing; a trainable embedding (modules_to_save) makes them.
    bool rg = full_ || t_.activation_checkpointing || trains(embed_);
    std::vector<std::vector<ComputeOp>> layer_backward(static_cast<size_t>(m_.layers));
    for (int l = 0; l < static_cast<int>(m_.layers); ++l)
      rg = emit_layer(l, rg, layer_backward[static_cast<size_t>(l)]);
    emit_head_and_loss();
    for (int l = static_cast<int>(m_.layers) - 1; l >= 0; --l) {
      auto& ops = layer_backward[static_cast<size_t>(l)];
      for (auto it = ops.rbegin(); it != ops.rend(); ++it) prog_.backward.push_back(*it);
    }
    emit_embedding_backward();
    double useful = 0;
    for (const auto* list : {&prog_.forward, &prog_.backward})
      for (const auto& op : *list)
        if (op.phase != Phase::recompute) useful += op.flops;
    prog_.model_flops_per_token = useful / static_cast<double>(T_);
    const MatmulMath math = matmul_math(c_);
    for (auto* list : {&prog_.forward, &prog_.backward})
      for (auto& op : *list) op.math = math;
    annotate_host_launches(prog_, c_);
    annotate_gradient_hooks(prog_, c_);
    return prog_;
  }

 private:
  const RunConfig& c_;
  const ModelSpec& m_;
  const PeftSpec& p_;
  const TrainSpec& t_;
  // The tokens the ops being emitted process: the micro-step's, or T·k inside a mixture-of-experts linear
  // or activation (RoutedTokens).
  int64_t T_;
  const int64_t tokens_ = T_;  // the micro-step's tokens
  const bool full_;
  const FrameworkBehaviour fw_;
  const bool amp_ = fp32_weights(c_.train.precision);  // PyTorch AMP: fp32 weights, autocast casts (§8.6)
  // fp32 training (§8.7): every activation fp32, nothing cast.
  const bool fp32_ = c_.train.precision == Precision::fp32;
  // Bytes per activation element: bf16/fp16 (autocast, bf16-pure), 4 in fp32 training.
  const int64_t act_ = fp32_ ? 4 : 2;
  // Bytes bitsandbytes' MatMul4Bit (< 0.43.2) holds in ctx.tensors: they outlive backward (below).
  int64_t graph_retained_ = 0;
  // train.loss litgpt: the model is litgpt's GPT (lit_gpt/model.py, lora.py @ 8641822), whose RMSNorm,
  // attention and q/k/v LoRA keep other tensors than transformers' (litgpt_* below).
  const bool litgpt_ = c_.train.loss == LossImpl::litgpt;
  // litgpt's LoRAQKVLinear: one dropout for the fused q/k/v adapter, emitted with its first adapted module.
  bool fused_qkv_emitted_ = false;
  const double actd_ = static_cast<double>(act_);
  // Bytes per element of the residual stream: 4 under AMP and QLoRA's fp32 norms (§8.6, §9).
  const int64_t res_ = fw_.fp32_residual ? 4 : 2;
  // QLoRA's fp32 norms: gate and up are Linear4bit, which return their fp32 input's dtype, so the MLP's
  // intermediate tensors (and down's input) are fp32 (§9).
  const bool mlp32_ = fw_.kbit_fp32_params && mlp_input_quantized();
  bool input_fp32_ = false;  // the linears being emitted read an fp32 tensor (AMP: a norm's output)
  StepProgram prog_;
  std::vector<LayerModules> layer_modules_;
  int embed_ = -1, final_norm_ = -1, lm_head_ = -1;

  // Per-layer bookkeeping while emitting.
  std::vector<ComputeOp> fwd_;             // this layer's forward ops
  std::vector<ComputeOp>* bwd_ = nullptr;  // this layer's backward ops (forward order; reversed later)
  int layer_ = -1;

  void index_modules() {
    layer_modules_.resize(static_cast<size_t>(m_.layers));
    for (auto& lm : layer_modules_) {
      const size_t n = m_.layer_linears.size();
      lm.base.assign(n, -1), lm.lora_a.assign(n, -1), lm.lora_b.assign(n, -1), lm.magnitude.assign(n, -1);
    }
    for (size_t i = 0; i < prog_.modules.size(); ++i) {
      const ParamModule& pm = prog_.modules[i];
      const int idx = static_cast<int>(i);
      if (pm.layer < 0) {
        if (pm.kind == ModuleKind::embedding) embed_ = idx;
        if (pm.kind == ModuleKind::final_norm) final_norm_ = idx;
        if (pm.kind == ModuleKind::lm_head) lm_head_ = idx;
        continue;
      }
      LayerModules& lm = layer_modules_[static_cast<size_t>(pm.layer)];
      const auto li = static_cast<size_t>(std::max(pm.linear, 0));
      switch (pm.kind) {
        case ModuleKind::norm:
          if (lm.norms < 4) lm.norm[lm.norms++] = idx;
          break;
        case ModuleKind::linear:
          lm.base[li] = idx;
          break;
        case ModuleKind::lora_a:
          lm.lora_a[li] = idx;
          break;
        case ModuleKind::lora_b:
          lm.lora_b[li] = idx;
          break;
        case ModuleKind::dora_magnitude:
          lm.magnitude[li] = idx;
          break;
        default:
          break;
      }
    }
    if (lm_head_ < 0) lm_head_ = embed_;  // tied: the head reads the embedding matrix
  }

  ComputeOp make(const std::string& name, const std::string& op, OpClass cls, Phase phase, double flops,
                 double bytes) const {
    ComputeOp o = compute_op(layer_prefix(layer_) + name, op, cls, phase, flops, bytes);
    o.layer = layer_;
    return o;
  }

  // A base projection's forward GEMM `name` of linear li, keyed for calibration, reading its base weight.
  ComputeOp base_linear_forward(const std::string& name, size_t li, Phase phase) const {
    const LinearSpec& L = m_.layer_linears[li];
    const int64_t din = L.d_in, dout = L.d_out;
    ComputeOp o = make(L.name + name, "linear_fwd", OpClass::gemm, phase, linear_flops(T_, din, dout),
                       (td(din) + static_cast<double>(din * dout) + td(dout)) * actd_);
    keyed(o, T_, din, dout, 0);
    o.modules = {layer_modules().base[li]};
    return o;
  }

  // QLoRA (quantization.h): whether linear li of the layers is stored in 4 bits.
  // Whether the MLP's input projections (gate, up) are 4-bit: every layer alike (quantization.skip_modules
  // names linears, not layers).
  bool mlp_input_quantized() const {
    const std::vector<size_t> group = m_.linears_in(LinearGroup::mlp_input);
    return c_.quantization.on() && !group.empty() &&
           !c_.quantization.skips(m_.layer_linears[group.front()].name);
  }
  bool quantized(size_t li) const {
    return quantized_module(prog_.modules[static_cast<size_t>(layer_modules().base[li])], c_);
  }
  // A base weight held in LLM.int8() (bitsandbytes Linear8bitLt) rather than in 4 bits.
  bool int8_quantized(size_t li) const { return quantized(li) && c_.quantization.int8(); }
  int64_t dequantized_bytes(int64_t din, int64_t dout) const {
    return c_.quantization.compute_bytes * din * dout;
  }

  // bitsandbytes' dequantize_4bit of a d_in x d_out weight, `times` over (litgpt's chunked head): reads the
  // packed weight and its constants, writes the compute-dtype copy. `tokens` carries `times`.
  // An 8-bit weight's dequantization (CB.to(dtype) * SCB / 127: MatMul8bitLt's backward, peft's
  // dequantize_module_weight) reads int8 and the row scales and writes the copy, then scales it in place.
  ComputeOp dequantize_op(const std::string& name, int64_t din, int64_t dout, Phase phase,
                          int64_t times = 1) const {
    const int64_t n = din * dout;
    const double t = static_cast<double>(times);
    const bool int8 = c_.quantization.int8();
    ComputeOp o = make(name, int8 ? "int8_dequantize_weight" : "dequantize_4bit", OpClass::memory_bound,
                       phase, t * 2.0 * static_cast<double>(n),
                       t * static_cast<double>(quantized_weight_bytes(n, dout, c_.quantization) +
                                               (int8 ? 3 : 1) * dequantized_bytes(din, dout)));
    keyed(o, times, din, dout, 0);
    return o;
  }

  static ComputeOp& keyed(ComputeOp& o, int64_t tokens, int64_t d_in, int64_t d_out, int64_t r) {
    o.tokens = tokens, o.d_in = d_in, o.d_out = d_out, o.r = r;
    return o;
  }

  const LayerModules& layer_modules() const { return layer_modules_[static_cast<size_t>(layer_)]; }

  double td(int64_t x) const { return static_cast<double>(T_) * static_cast<double>(x); }

  // ---- embedding, head, loss ----
  void emit_embedding() {
    ComputeOp o = make("embed_tokens.fwd", "embedding_fwd", OpClass::memory_bound, Phase::forward, 0,
                       2.0 * td(m_.hidden) * actd_);
    keyed(o, T_, 0, m_.hidden, 0);
    o.modules = {embed_};
    o.transient_bytes = 0;
    prog_.forward.push_back(o);
  }

  bool trains(int module) const { return prog_.modules[static_cast<size_t>(module)].trainable; }

  void emit_embedding_backward() {
    if (!trains(embed_)) return;  // frozen embedding: autograd stops before it
    ComputeOp o =
        make("embed_tokens.bwd", "embedding_bwd", OpClass::memory_bound, Phase::backward, td(m_.hidden),
             td(m_.hidden) * actd_ + static_cast<double>(m_.embedding_params()) * 4.0);
    keyed(o, T_, 0, m_.hidden, 0);
    o.modules = {embed_};
    prog_.backward.push_back(o);
  }

  void emit_head_and_loss() {
    layer_ = -1;
    // Final norm: never checkpointed; its input requires grad.
    ComputeOp nf = norm_op("norm", Phase::forward, true);
    nf.modules = {final_norm_};
    prog_.forward.push_back(nf);
    const int64_t norm_saved = nf.saved_bytes;

    // The head, the logits and the loss as the run's trainer computes them (loss_ops.h). Full fine-tuning:
    // the head's input is the final norm's output, which the norm op keeps. A trainable copy of the head
    // alone (modules_to_save) keeps that bf16 input for its weight gradient, and so does ZeRO-3's linear
    // wrapper for a frozen head (its input requires grad); under AMP the head also keeps autocast's bf16
    // cast of its fp32 weight for dX.
    const bool head_copy = trains(lm_head_) && !full_;
    const int64_t h = m_.hidden, V = m_.vocab;
    int64_t head_saved = 0;
    const bool head_4bit = quantized_module(prog_.modules[static_cast<size_t>(lm_head_)], c_);
    if (head_copy || (quantized_saves_input(head_4bit) && !full_) || (amp_ && full_))
      head_saved = act_ * T_ * h;
    // QLoRA's fp32 lm_head (prepare_model_for_kbit_training, unquantized) under autocast: the same cast.
    const bool autocast = has_fp32_master(c_.train.precision);  // the mixed modes run under autocast
    if (amp_ || (fw_.kbit_fp32_params && !head_4bit && autocast)) head_saved += act_ * h * V;
    LossOps loss = build_loss_ops(c_, lm_head_, trains(lm_head_), head_saved);
    if (head_4bit) dequantize_head(loss);
    if (head_4bit && fw_.bnb_4bit_saves_input && !full_) graph_retained_ += act_ * T_ * h;
    // A loop that holds the previous micro-step's outputs (litgpt's `logits` and `loss`, peft's run.py
    // `outputs`) keeps its autograd graph: MatMul4Bit's ctx.tensors live until the loss that rebinds them.
    const int64_t retained = loop_keeps_graph() ? graph_retained_ : 0;
    if (retained > 0) loss.forward.back().releases_oldest_bytes += retained;
    for (auto& op : loss.forward) prog_.forward.push_back(op);
    for (auto& op : loss.backward) prog_.backward.push_back(op);
    // Held over from the previous micro-step, live from the first op on, oldest first: its logits, then
    // its graph's retained inputs.
    ComputeOp& first = prog_.forward.front();
    std::vector<int64_t> carried;
    if (loss.previous_logits_bytes > 0) carried.push_back(loss.previous_logits_bytes);
    if (retained > 0) carried.push_back(retained);
    if (!carried.empty()) {
      for (const int64_t b : saved_allocations(first)) carried.push_back(b);
      first.saved_tensors = carried;
      first.saved_bytes += loss.previous_logits_bytes + retained;
    }
    ComputeOp nb = norm_op("norm", Phase::backward, true);
    nb.modules = {final_norm_};
    nb.releases_bytes = norm_saved;
    prog_.backward.push_back(nb);
  }

  // A 4-bit lm_head (quantization.skip_modules without lm_head: litgpt's bnb plugin) is dequantized before
  // each of its GEMMs, once per chunk where the trainer runs it in chunks (litgpt's 128-token head).
  void dequantize_head(LossOps& loss) const {
    const int64_t h = m_.hidden, V = m_.vocab;
    const int64_t chunk = litgpt_chunk_tokens(t_.micro_batch, t_.seq_len);
    const int64_t chunks = c_.train.loss == LossImpl::litgpt ? (T_ + chunk - 1) / chunk : 1;
    for (auto* ops : {&loss.forward, &loss.backward})
      for (size_t k = 0; k < ops->size(); ++k) {
        ComputeOp& op = (*ops)[k];
        const bool head = op.op == "linear_fwd" || op.op == "linear_dx";
        if (!head || op.name.rfind("lm_head.", 0) != 0) continue;
        op.transient_bytes += dequantized_bytes(h, V);
        const Phase phase = op.phase;
        ops->insert(ops->begin() + static_cast<std::ptrdiff_t>(k),
                    dequantize_op(op.name + ".dequantize", h, V, phase, chunks));
        ++k;
      }
  }

  // ---- norms ----
  ComputeOp norm_op(const std::string& name, Phase phase, bool input_rg) const {
    const int64_t h = m_.hidden;
    const bool fwd = phase != Phase::backward;
    const std::string kind = m_.norm == NormKind::rmsnorm ? "rmsnorm" : "layernorm";
    // Its kernels' bytes over the residual stream's dtype (eager_op_bytes.h).
    const double per_element = m_.norm == NormKind::rmsnorm ? rmsnorm_bytes_per_element(!fwd, res_, full_)
                                                            : layernorm_bytes_per_element(!fwd, res_, full_);
    ComputeOp o = make(name + (fwd ? ".fwd" : ".bwd"), kind + (fwd ? "_fwd" : "_bwd"), OpClass::memory_bound,
                       phase, (fwd ? 4.0 : 8.0) * td(h), per_element * td(h));
    keyed(o, T_, h, h, 0);
    if (fwd && (input_rg || full_)) {
      // HF LlamaRMSNorm upcasts to fp32 and autograd keeps that copy and the rsqrt (T fp32);
      // LayerNorm keeps its bf16 input, mean and rstd. A trainable weight also keeps the bf16 normalised x.
      // Under AMP the residual stream is fp32 already: the same fp32 x, and the normalised x is fp32.
      if (m_.norm == NormKind::rmsnorm && litgpt_ && res_ == 2)
        // lit_gpt/rmsnorm.py computes in the input's dtype: x * x and x * rsqrt(...) keep the 16-bit x and
        // the rsqrt (T values); weight * x_normed keeps the weight alone while it is frozen.
        o.saved_tensors = {res_ * T_ * h, res_ * T_};
      else if (m_.norm == NormKind::rmsnorm)
        o.saved_tensors = {4 * T_ * h, 4 * T_};
      else
        o.saved_tensors = {res_ * T_ * h, 4 * T_, 4 * T_};
      if (full_ && m_.norm == NormKind::rmsnorm) o.saved_tensors.push_back(res_ * T_ * h);
      for (int64_t t : o.saved_tensors) o.saved_bytes += t;
    }
    if (!fwd) o.transient_bytes = 4 * T_ * h;  // fp32 input grad before the cast
    return o;
  }

  // ---- linears with their adapters ----
  // Emits the forward ops of one linear into fwd_ and, for a forward pass, its backward ops into *bwd_
  // (forward order). Returns whether its output requires grad.
  bool emit_linear(size_t li, bool x_rg, bool save_input, Phase phase) {
    const LinearSpec& L = m_.layer_linears[li];
    const size_t fwd_from = fwd_.size(), bwd_from = bwd_->size();
    {
      RoutedTokens routed(*this, L.routed);
      emit_linear_forward(li, save_input, x_rg, phase);
      if (p_.adapts(layer_, li)) emit_adapter_forward(li, x_rg, phase);
      if (phase == Phase::forward) record_linear_backward(li, x_rg);
    }
    if (L.experts > 1) as_expert_instances(fwd_from, bwd_from, L.experts, L.routed, L.d_in * L.d_out);
    return p_.adapts(layer_, li) || full_ || x_rg;
  }

  // Inside a mixture-of-experts linear or activation the ops see T·k tokens (every token through k experts).
  struct RoutedTokens {
    Builder& b;
    const int64_t outer;
    RoutedTokens(Builder& builder, int64_t routed) : b(builder), outer(builder.T_) { b.T_ = outer * routed; }
    ~RoutedTokens() { b.T_ = outer; }
    RoutedTokens(const RoutedTokens&) = delete;
    RoutedTokens& operator=(const RoutedTokens&) = delete;
  };

  // The ops emitted since fwd_from / bwd_from stand for `experts` instances, each on T·k/experts tokens under
  // balanced routing (HF Mixtral runs the experts one after the other): the calibration key is one expert's,
  // each GEMM reads its own expert's weight (d_in·d_out more bytes per further expert), and a dequantization
  // or DoRA weight norm is repeated per expert (its transient is one expert's at a time).
  void as_expert_instances(size_t fwd_from, size_t bwd_from, int64_t experts, int64_t routed,
                           int64_t weight) {
    const int64_t per_expert = (tokens_ * routed + experts - 1) / experts;
    const auto mark = [&](ComputeOp& o) {
      o.instances = experts;
      if (o.tokens == tokens_ * routed) o.tokens = per_expert;
      const double more = static_cast<double>(experts - 1);
      if (o.op == "linear_fwd" || o.op == "linear_dx" || o.op == "linear_dw")
        o.bytes += more * static_cast<double>(weight) * actd_;
      if (o.op == "linear_fwd_int8") o.bytes += more * static_cast<double>(weight);  // int8 weights
      if (o.op == "dequantize_4bit" || o.op == "int8_dequantize_weight" || o.op == "dora_weight_norm") {
        o.flops *= static_cast<double>(experts);
        o.bytes *= static_cast<double>(experts);
      }
    };
    for (size_t i = fwd_from; i < fwd_.size(); ++i) mark(fwd_[i]);
    for (size_t i = bwd_from; i < bwd_->size(); ++i) mark((*bwd_)[i]);
  }

  // The frozen (or fully trained) base projection.
  void emit_linear_forward(size_t li, bool save_input, bool x_rg, Phase phase) {
    const LinearSpec& L = m_.layer_linears[li];
    const int64_t din = L.d_in, dout = L.d_out;
    if (int8_quantized(li)) return emit_int8_forward(li, save_input, phase);
    ComputeOp base = base_linear_forward(".linear_fwd", li, phase);
    if (save_input) base.saved_bytes += act_ * T_ * din;  // shared by every consumer of this input
    if (quantized(li)) {  // MatMul4Bit: dequantize_4bit(W) to the compute dtype, then F.linear on it
      fwd_.push_back(dequantize_op(L.name + ".dequantize", din, dout, phase));
      base.transient_bytes += dequantized_bytes(din, dout);
    }
    // AMP: mm keeps autocast's bf16 cast of the fp32 weight for dX while x requires grad (a trainable
    // weight's cast also sits in autocast's cache): 2·d_in·d_out per linear until its backward.
    if (amp_ && (x_rg || full_)) base.saved_bytes += act_ * din * dout;
    fwd_.push_back(base);
  }

  // bitsandbytes' MatMul8bitLt (autograd/_functions.py) with a frozen int8 weight (LLM.int8()): the input
  // cast to fp16 (A.to(torch.float16), a copy unless it is fp16) and quantized row-wise into int8 CA
  // (int8_vectorwise_quant from 0.45.0; before, double_quant also made the transposed CAt, which it keeps,
  // and igemmlt a col32 copy), the int8 GEMM into int32, its dequantization to fp16 and the cast back to
  // the input's dtype. It keeps its input A for backward: the same tensor for every linear reading it, in
  // its own dtype (fp32 after a norm whose weight prepare_model_for_kbit_training made fp32).
  // With an outlier threshold (llm_int8_threshold, 6.0 by default) the quantization first finds the
  // outlier columns — A.abs() >= threshold, then `if outliers.any()` and argwhere (0.45.0+,
  // int8_vectorwise_quant), nnz_row_ptr[-1].item() (before, double_quant): the host reads the GPU, so the
  // training thread waits for it at every 8-bit linear — and the outlier columns then take an fp16 GEMM
  // (their index, the weights' rows dequantized, addmm), whose size depends on the data: its kernels are
  // counted, its FLOPs are not.
  void emit_int8_forward(size_t li, bool save_input, Phase phase) {
    const LinearSpec& L = m_.layer_linears[li];
    const int64_t din = L.d_in, dout = L.d_out;
    const bool before_045 = c_.versions.bitsandbytes < Version{0, 45, 0};
    const bool outliers = c_.quantization.int8_threshold > 0;
    const int64_t a = input_fp32_ ? 4 : act_;  // the input's bytes per element
    const bool copy16 = a == 4 || c_.train.precision != Precision::fp16_mixed;
    ComputeOp q = make(L.name + ".int8_quantize", outliers ? "int8_quantize_outliers" : "int8_quantize",
                       OpClass::memory_bound, phase, 2.0 * td(din),
                       td(din) * static_cast<double>(a + (copy16 ? 2 : 0) + 1 + (before_045 ? 2 : 0) +
                                                     (outliers ? 2 + 2 + 1 : 0)));
    keyed(q, T_, din, dout, 0);
    q.host_sync = outliers;
    // The fp16 copy, CA (and before 0.45.0 the col32 copy); with outliers A.abs() and the boolean mask.
    q.transient_bytes =
        (copy16 ? 2 : 0) * T_ * din + T_ * din + (before_045 ? T_ * din : 0) + (outliers ? 3 * T_ * din : 0);
    if (before_045 && save_input) q.saved_bytes = T_ * din;  // CAt
    fwd_.push_back(q);
    ComputeOp g =
        make(L.name + ".linear_fwd", "linear_fwd_int8", OpClass::gemm_int8, phase,
             linear_flops(T_, din, dout), td(din) + static_cast<double>(din * dout) + 4.0 * td(dout));
    keyed(g, T_, din, dout, 0);
    g.modules = {layer_modules().base[li]};
    g.transient_bytes = 4 * T_ * dout;  // the int32 result
    if (save_input) g.saved_bytes = a * T_ * din;
    fwd_.push_back(g);
    ComputeOp d =
        make(L.name + ".int8_dequantize", outliers ? "int8_dequantize_outliers" : "int8_dequantize",
             OpClass::memory_bound, phase, 2.0 * td(dout), td(dout) * static_cast<double>(4 + 2 + 2 + a));
    keyed(d, T_, din, dout, 0);
    d.transient_bytes = 2 * T_ * dout;  // the fp16 result before .to(A.dtype)
    fwd_.push_back(d);
  }

  // peft's LoRA / DoRA forward on top of the base output (lora/layer.py Linear.forward, variants.py
  // DoraLinearVariant.forward, dora.py DoraLinearLayer.forward), in the adapters' resolved dtype
  // (framework_behaviour.h). With fp32 adapters peft first casts x to fp32 (x.to(lora_A.weight.dtype) up to
  // 0.14, _cast_input_dtype from 0.15): one copy per adapted module, live until the module returns.
  void emit_adapter_forward(size_t li, bool x_rg, Phase phase) {
    const LinearSpec& L = m_.layer_linears[li];
    const LayerModules& lm = layer_modules();
    const int64_t din = L.d_in, dout = L.d_out, r = p_.rank(layer_, li);
    const bool dora = p_.method == PeftMethod::dora;
    const bool dropout = p_.dropout > 0;
    const AdapterDtype dt = fw_.adapter_dtype;
    const bool autocast = dt == AdapterDtype::fp32_autocast;
    const int64_t in_bytes = dt == AdapterDtype::base ? act_ : 4;  // x as the adapter sees it
    // The fp32 copy of x: lora_A keeps it when it reads it directly (fp32, no dropout); otherwise it is
    // transient of every adapter op of the module.
    const int64_t x32 =
        fw_.adapters_fp32() && !input_fp32_ ? 4 * T_ * din : 0;  // AMP: a norm's output is fp32
    const bool x32_saved = dt == AdapterDtype::fp32 && !dropout;
    const int64_t x32_live = x32_saved ? 0 : x32;
    // peft's x.to(fp32) (_cast_input_dtype): a pass over x before the adapter's first op; autocast then
    // casts lora_A's fp32 input back to bf16 (another pass).
    const double x_casts = x32 > 0 ? (actd_ + 4.0) * td(din) : 0.0;
    const double autocast_cast = autocast ? (4.0 + 2.0) * td(din) : 0.0;
    // litgpt's LoRAQKVLinear adapts q, k and v as one module: its first adapted linear stands for it.
    const bool fused_qkv = litgpt_ && group_of(L.role) == LinearGroup::attention_input;
    const bool fused_rest = fused_qkv && fused_qkv_emitted_;
    // peft: one nn.Dropout per adapted module; keeps its mask, and lora_A keeps dropout(x).
    if (dropout && !fused_rest) {
      // native_dropout on x as the adapter sees it: reads it, writes the output and the 1-byte mask.
      ComputeOp d = make(L.name + ".lora_dropout", "dropout_fwd", OpClass::memory_bound, phase, td(din),
                         td(din) * static_cast<double>(2 * in_bytes + 1) + x_casts);
      keyed(d, T_, din, din, 0);
      // Under autocast lora_A keeps the bf16 cast of dropout(x) instead (lora_fwd below).
      d.saved_bytes = T_ * din * (autocast ? 1 : in_bytes + 1);
      d.transient_bytes = x32_live + (autocast ? 4 * T_ * din : 0);
      fwd_.push_back(d);
    }
    if (dora) {
      // fp32 training: the base dtype's tensors and passes, each element 4 B instead of 2.
      const int64_t wide = fp32_ ? 2 : 1;
      ComputeOp wn =
          make(L.name + ".dora_weight_norm", "dora_weight_norm", OpClass::memory_bound, phase,
               dora_weight_norm_flops(din, dout, r),
               // Under AMP W0 is fp32 already: W0.to(fp32) (2 read, 4 written) is W0 itself.
               static_cast<double>(wide) * dora_weight_norm_bytes(din, dout, r, dt) -
                   (amp_ && dt != AdapterDtype::base ? 6.0 * static_cast<double>(din * dout) : 0.0));
      keyed(wn, 0, din, dout, r);
      wn.modules = {lm.base[li], lm.lora_a[li], lm.lora_b[li], lm.magnitude[li]};
      // x32 is made before it; under AMP W0.to(x.dtype) is W0 itself, not an fp32 copy.
      wn.transient_bytes =
          wide * dora_weight_norm_transient_bytes(din, dout, r, dt) - (amp_ ? 4 * din * dout : 0) + x32;
      // peft's dequantize_module_weight: a 4-bit W0 is dequantized first and lives through the module.
      if (quantized(li)) {
        fwd_.push_back(dequantize_op(L.name + ".dora_dequantize", din, dout, phase));
        wn.transient_bytes += dequantized_bytes(din, dout);
      }
      fwd_.push_back(wn);
    }
    ComputeOp lf = lora_forward_op(li, dt, dropout, x32_live, phase);
    lf.bytes += (dropout ? 0.0 : x_casts) + autocast_cast;
    if (fused_qkv && !fused_rest) {
      lf.saved_bytes += litgpt_zero_pad_source();
      fused_qkv_emitted_ = true;
    }
    fwd_.push_back(lf);
    if (!dora) return;
    if (dropout) fwd_.push_back(dora_base_forward_op(li, dt, x_rg, x32_live, phase));
    ComputeOp cf =
        make(L.name + ".dora_combine_fwd", "dora_combine_fwd", OpClass::memory_bound, phase, 5.0 * td(dout),
             dora_combine_bytes_per_element(false, act_, adapter_compute_bytes(dt), fw_.adapter_bytes()) *
                 td(dout));
    keyed(cf, T_, 0, dout, 0);
    cf.modules = {lm.magnitude[li]};
    // (m/‖W‖ − 1)·base_result + m/‖W‖·lora_result·c: the muls keep base_result (bf16), lora_result (fp32
    // when the adapters run in fp32, bf16 under autocast) and the s and n vectors (the magnitude's dtype).
    cf.saved_bytes = (act_ + adapter_compute_bytes(dt)) * T_ * dout + 3 * fw_.adapter_bytes() * dout;
    cf.transient_bytes = x32_live;
    fwd_.push_back(cf);
  }

  // Bytes per element the adapter's GEMMs read and write (and DoRA's lora_result): fp32 adapters without
  // autocast run in fp32, otherwise the activations' dtype (bf16 under autocast).
  int64_t adapter_compute_bytes(AdapterDtype dt) const { return dt == AdapterDtype::fp32 ? 4 : act_; }

  ComputeOp lora_forward_op(size_t li, AdapterDtype dt, bool dropout, int64_t x32_live, Phase phase) const {
    const LinearSpec& L = m_.layer_linears[li];
    const LayerModules& lm = layer_modules();
    const int64_t din = L.d_in, dout = L.d_out, r = p_.rank(layer_, li);
    ComputeOp lf =
        make(L.name + ".lora_fwd", "lora_fwd", OpClass::gemm, phase, lora_forward_flops(T_, din, dout, r),
             lora_forward_bytes(T_, din, dout, r, adapter_compute_bytes(dt), p_.method == PeftMethod::dora));
    keyed(lf, T_, din, dout, r);
    lf.modules = {lm.lora_a[li], lm.lora_b[li]};
    switch (dt) {
      case AdapterDtype::fp32:  // h = x·Aᵀ in fp32, and lora_A's own fp32 input when no dropout precedes it
        lf.saved_bytes = 4 * T_ * r + (dropout ? 0 : 4 * T_ * din);
        break;
      case AdapterDtype::fp32_autocast:
        // autocast casts lora_A's fp32 input to bf16 (kept for dA), h comes out bf16, and the bf16 copies of
        // the fp32 A and B weights stay in autocast's cache and in the saved tensors (autocast_mode.cpp
        // cached_cast: fp32 leaves that require grad); with dropout its fp32 output is live here too.
        lf.saved_bytes = act_ * T_ * din + act_ * T_ * r + act_ * r * (din + dout);
        lf.transient_bytes = dropout ? 4 * T_ * din : 0;
        break;
      default:  // h = x·Aᵀ, kept for dB (lora_A's input x or dropout(x) is kept by another op)
        lf.saved_bytes = act_ * T_ * r;
        break;
    }
    lf.transient_bytes += x32_live;
    return lf;
  }

  // DoRA with lora_dropout > 0: peft recomputes the base output on dropout(x) with W0.to(x.dtype)
  // (dora.py DoraLinearLayer.forward, base_result=None). With fp32 adapters that weight is an fp32 copy of
  // W0, and the matmul keeps it (or autocast's bf16 cast of it) for dX when x requires grad.
  ComputeOp dora_base_forward_op(size_t li, AdapterDtype dt, bool x_rg, int64_t x32_live, Phase phase) const {
    const LinearSpec& L = m_.layer_linears[li];
    const int64_t din = L.d_in, dout = L.d_out;
    ComputeOp b2 = base_linear_forward(".dora_base_fwd", li, phase);
    // A 4-bit W0 is used dequantized (the weight norm's copy): F.linear keeps that bf16 copy for dX.
    if (quantized(li) && dt == AdapterDtype::base && x_rg) b2.saved_bytes = dequantized_bytes(din, dout);
    if (dt != AdapterDtype::base) {
      const int64_t w32 = amp_ ? 0 : 4 * din * dout;  // AMP: W0 is fp32 already
      const int64_t kept = x_rg ? (dt == AdapterDtype::fp32 ? w32 : act_ * din * dout) : 0;
      b2.saved_bytes = kept;
      b2.transient_bytes = x32_live + (kept == w32 ? 0 : w32);
    }
    return b2;
  }

  // Backward ops in forward order (the layer's list is reversed later), so autograd's order comes
  // out as: DoRA combine backward, LoRA backward, base input gradient.
  void record_linear_backward(size_t li, bool x_rg) {
    const LinearSpec& L = m_.layer_linears[li];
    const int64_t din = L.d_in, dout = L.d_out;
    if (x_rg) {
      ComputeOp dx = input_grad_op(li, L.name + ".linear_dx");
      // MatMul4Bit.backward dequantizes W again for dX (pushed after dX: the layer's list is reversed).
      // MatMul8bitLt.backward too, into the input's dtype (CB.to(ctx.dtype_A)); before 0.45.0 it first
      // double-quantized the output gradient (an fp16 copy and two int8 ones), weight frozen or not.
      const bool int8 = int8_quantized(li);
      const int64_t a = int8 && input_fp32_ ? 4 : c_.quantization.compute_bytes;
      if (quantized(li)) dx.transient_bytes += a * din * dout;
      bwd_->push_back(dx);
      if (quantized(li))
        bwd_->push_back(dequantize_op(L.name + ".dequantize_bwd", din, dout, Phase::backward));
      if (int8 && c_.versions.bitsandbytes < Version{0, 45, 0}) {
        ComputeOp gq = make(L.name + ".int8_grad_quantize", "int8_quantize", OpClass::memory_bound,
                            Phase::backward, 2.0 * td(dout), td(dout) * (2.0 + 2.0 + 2.0));
        keyed(gq, T_, din, dout, 0);
        gq.transient_bytes = 4 * T_ * dout;
        bwd_->push_back(gq);
      }
    }
    if (full_) {
      ComputeOp dw =
          make(L.name + ".linear_dw", "linear_dw", OpClass::gemm, Phase::backward,
               linear_flops(T_, din, dout), (td(dout) + td(din) + static_cast<double>(din * dout)) * actd_);
      keyed(dw, T_, din, dout, 0);
      dw.modules = {layer_modules().base[li]};
      bwd_->push_back(dw);
    }
    if (p_.adapts(layer_, li)) record_adapter_backward(li, x_rg);
  }

  void record_adapter_backward(size_t li, bool x_rg) {
    const LinearSpec& L = m_.layer_linears[li];
    const LayerModules& lm = layer_modules();
    const int64_t din = L.d_in, dout = L.d_out, r = p_.rank(layer_, li);
    const bool dora = p_.method == PeftMethod::dora;
    const bool dropout = p_.dropout > 0;
    double f = lora_backward_flops(T_, din, dout, r);
    if (!x_rg && !dropout) f -= 2.0 * td(r) * static_cast<double>(din);  // no dx through A
    ComputeOp lb = make(L.name + ".lora_bwd", "lora_bwd", OpClass::gemm, Phase::backward, f,
                        lora_backward_bytes(T_, din, dout, r, adapter_compute_bytes(fw_.adapter_dtype), dora,
                                            x_rg || dropout));
    // The backward of peft's x.to(fp32) (and of autocast's cast back) when x needs a gradient.
    if (x_rg && fw_.adapters_fp32() && !input_fp32_)
      lb.bytes += (4.0 + actd_) * td(din) +
                  (fw_.adapter_dtype == AdapterDtype::fp32_autocast ? (2.0 + 4.0) * td(din) : 0.0);
    keyed(lb, T_, din, dout, r);
    lb.modules = {lm.lora_a[li], lm.lora_b[li]};
    // c·G⊙s, in fp32 when the adapters run in fp32 without autocast
    lb.transient_bytes = adapter_compute_bytes(fw_.adapter_dtype) * T_ * dout;
    bwd_->push_back(lb);
    if (!dora) return;
    if (dropout && x_rg) bwd_->push_back(input_grad_op(li, L.name + ".dora_base_dx"));
    ComputeOp cb = make(L.name + ".dora_combine_bwd", "dora_combine_bwd", OpClass::memory_bound,
                        Phase::backward, 8.0 * td(dout),
                        dora_combine_bytes_per_element(true, act_, adapter_compute_bytes(fw_.adapter_dtype),
                                                       fw_.adapter_bytes()) *
                            td(dout));
    keyed(cb, T_, 0, dout, 0);
    cb.modules = {lm.magnitude[li]};
    // The gradients of the combine's two terms; fp32 whenever the magnitude is (its output is fp32).
    cb.transient_bytes = 2 * (fw_.adapters_fp32() ? 4 : act_) * T_ * dout;
    bwd_->push_back(cb);
  }

  // dX = dY·W of the base weight.
  ComputeOp input_grad_op(size_t li, const std::string& name) const {
    const int64_t din = m_.layer_linears[li].d_in, dout = m_.layer_linears[li].d_out;
    ComputeOp dx = make(name, "linear_dx", OpClass::gemm, Phase::backward, linear_flops(T_, din, dout),
                        (td(dout) + static_cast<double>(din * dout) + td(din)) * actd_);
    keyed(dx, T_, din, dout, 0);
    dx.modules = {layer_modules().base[li]};
    dx.transient_bytes = act_ * T_ * din;
    return dx;
  }

  // Who keeps the bf16 input x of a linear for backward: a trainable weight (full fine-tuning); lora_A
  // when it reads x itself (bf16 adapters and no dropout: nn.Identity passes x through; with dropout it
  // keeps dropout(x), with fp32 adapters its own fp32 copy); ZeRO-3's linear wrapper whenever x requires
  // grad; bitsandbytes' MatMul4Bit for a 4-bit weight up to 0.43.1 (autograd/_functions.py: ctx.tensors =
  // (A, B) whenever A or B needs grad; (None, B) from 0.43.2); its 8-bit matmul (emit_int8_forward). A
  // frozen linear under PyTorch's own F.linear keeps only its weight (mm saves mat1 only for mat2's
  // gradient).
  bool saves_input(size_t li, bool x_rg) const {
    if (full_ || (quantized_saves_input(quantized(li)) && x_rg)) return true;
    return p_.adapts(layer_, li) && !fw_.adapters_fp32() && p_.dropout == 0;
  }

  // Whether a frozen linear whose input requires grad keeps it. A quantized one runs bitsandbytes' own
  // autograd function, inside which ZeRO-3's F.linear wrapper (called from its forward, where autograd
  // records nothing) saves nothing: MatMul4Bit keeps A as its release does, the 8-bit matmul always.
  bool quantized_saves_input(bool quantized_weight) const {
    if (!quantized_weight) return fw_.zero3_linear_saves_input;
    return c_.quantization.int8() || fw_.bnb_4bit_saves_input;
  }

  // lit_gpt/lora.py LoRAQKVLinear.zero_pad: with some of q, k, v not adapted it scatters the adapter's
  // output into a full-width zero tensor with index_copy, whose backward (derivatives.yaml: source's
  // gradient is grad.index_select(...).expand_as(source)) keeps the source: T x the adapted widths.
  int64_t litgpt_zero_pad_source() const {
    const std::vector<size_t> group = m_.linears_in(LinearGroup::attention_input);
    int64_t adapted = 0;
    size_t count = 0;
    for (const size_t li : group)
      if (p_.adapts(layer_, li)) {
        adapted += m_.layer_linears[li].d_out;
        ++count;
      }
    return count < group.size() ? act_ * T_ * adapted : 0;
  }

  bool loop_keeps_graph() const { return litgpt_ || c_.train.loss == LossImpl::hf_keep_outputs; }

  // MatMul4Bit up to bitsandbytes 0.43.1 keeps A as a ctx attribute (ctx.tensors = (A, B)), not through
  // save_for_backward: autograd's release after backward (PyNode::release_variables) clears only saved
  // variables, so A lives as long as the graph does. Without checkpointing every layer's graph is the
  // step's own (a reentrant checkpoint's recompute graph goes with its backward).
  bool ctx_keeps_input(size_t li) const {
    return quantized(li) && !int8_quantized(li) && fw_.bnb_4bit_saves_input && !t_.activation_checkpointing;
  }

  // The linears of one group read the same tensor: the first that needs it for backward keeps it for
  // all (autograd saves one storage however many ops save it), unless `input_kept` (another op keeps it
  // already). Returns whether any output requires grad.
  bool emit_group(LinearGroup group, bool x_rg, bool input_kept, Phase phase) {
    bool rg_out = false, saved = input_kept;
    // An fp32 input (AMP's or QLoRA's fp32 norm output; QLoRA's fp32 MLP product) is cast to bf16 by each
    // linear that reads it (autocast; Linear4bit's x.to(compute_dtype)), so each keeps its own cast.
    // fp32 training casts nothing: the linears share their fp32 input like 16-bit ones do.
    input_fp32_ = (fw_.fp32_residual && !fp32_ &&
                   (group == LinearGroup::attention_input || group == LinearGroup::mlp_input)) ||
                  (mlp32_ && group == LinearGroup::mlp_output);
    bool retained = false;
    if (group == LinearGroup::attention_input) fused_qkv_emitted_ = false;
    for (const size_t li : m_.linears_in(group)) {
      // LLM.int8() keeps the input tensor itself (shared), where the others keep their own cast of an fp32
      // one.
      const bool own_cast = input_fp32_ && !int8_quantized(li);
      const bool save = saves_input(li, x_rg) && (!saved || own_cast);
      saved = saved || save;
      if (phase == Phase::forward && x_rg && ctx_keeps_input(li) && (!retained || own_cast)) {
        graph_retained_ += act_ * T_ * m_.layer_linears[li].d_in;
        retained = true;
      }
      rg_out = emit_linear(li, x_rg, save, phase) || rg_out;
    }
    return rg_out;
  }

  // ---- the non-linear parts of a decoder layer ----
  // Each emits its forward op and, for a forward pass where autograd reaches it, records its backward
  // op at the same point, so the reversed list runs them between the linears' backward ops.

  // Backward runs when the norm's input requires grad (always under full fine-tuning).
  void emit_norm(const std::string& name, int module, bool input_rg, Phase phase) {
    ComputeOp f = norm_op(name, phase, input_rg);
    f.modules = {module};
    fwd_.push_back(f);
    if (phase != Phase::forward || !(input_rg || full_)) return;
    ComputeOp b = norm_op(name, Phase::backward, input_rg);
    b.modules = {module};
    bwd_->push_back(b);
  }

  // Rotary embedding of q and k, then the attention core; `rg` says whether q, k or v require grad.
  void emit_attention(bool rg, Phase phase) {
    if (m_.rotary) fwd_.push_back(rotary_op(phase));
    fwd_.push_back(attention_forward_op(rg, phase));
    if (phase != Phase::forward || !rg) return;
    if (m_.rotary) bwd_->push_back(rotary_op(Phase::backward));
    bwd_->push_back(attention_backward_op());
  }

  // Qwen-v1's remote code runs flash-attn's fused rotary kernel where flash-attn is installed, which
  // train.flash_attention says it is (modeling_qwen.py: apply_rotary_emb_func from flash_attn.layers.rotary).
  RotaryCode rotary_code() const {
    if (m_.model_type != "qwen") return RotaryCode::transformers;
    return t_.flash_attention ? RotaryCode::qwen_fused : RotaryCode::qwen_eager;
  }

  ComputeOp rotary_op(Phase phase) const {
    const int64_t qk = m_.q_dim() + m_.kv_dim();
    const std::string name = phase == Phase::backward ? "rotary_bwd" : "rotary_fwd";
    ComputeOp o = make(name, name, OpClass::memory_bound, phase, 3.0 * td(qk),
                       rotary_bytes_per_element(phase == Phase::backward, act_, rotary_code()) * td(qk));
    keyed(o, T_, m_.head_dim, qk, 0);
    return o;
  }

  // Score and probability elements of eager attention: b·heads·s².
  double attention_probs() const {
    const double s = static_cast<double>(t_.seq_len);
    return static_cast<double>(t_.micro_batch * m_.heads) * s * s;
  }

  ComputeOp attention_forward_op(bool rg, Phase phase) const {
    const int64_t q = m_.q_dim(), kv = m_.kv_dim();
    const bool flash = t_.flash_attention;
    const double probs = attention_probs();
    ComputeOp at = make("attention_fwd", "attention_fwd", OpClass::attention, phase,
                        attention_forward_flops(t_.micro_batch, t_.seq_len, q, flash),
                        flash ? td(2 * q + 2 * kv) * actd_ : td(2 * q + 2 * kv) * actd_ + 16.0 * probs);
    keyed(at, T_, t_.seq_len, q, kv);
    if (rg) {
      const auto p = static_cast<int64_t>(probs);
      // flash-attn keeps q, k, v, out and the row log-sum-exp; so does PyTorch SDPA's memory-efficient
      // kernel, which runs fp32 attention (flash-attn runs fp16/bf16 only).
      // litgpt's CausalSelfAttention takes q, k and v as views of the fused qkv output (view, permute, split,
      // reshape); rope and cat make new q and k, but v stays a view, so what SDPA keeps for v holds the whole
      // qkv output.
      const int64_t v_kept = litgpt_ ? act_ * T_ * (q + 2 * kv) : act_ * T_ * kv;
      if (flash)
        at.saved_tensors = {act_ * T_ * q, act_ * T_ * kv, v_kept, act_ * T_ * q, 4 * T_ * m_.heads};
      else if (fp32_)  // eager in fp32: the fp32 softmax output is used as it is (.to(fp32) returns it)
        at.saved_tensors = {act_ * T_ * q, act_ * T_ * q, act_ * T_ * q, p * 4};
      else  // eager: q, k and v repeated to all heads, fp32 softmax output and its bf16 copy
        at.saved_tensors = {act_ * T_ * q, act_ * T_ * q, act_ * T_ * q, p * 4, p * act_};
      for (int64_t t : at.saved_tensors) at.saved_bytes += t;
    }
    if (!flash) at.transient_bytes = static_cast<int64_t>(probs) * act_;  // raw scores
    return at;
  }

  ComputeOp attention_backward_op() const {
    const int64_t q = m_.q_dim(), kv = m_.kv_dim();
    const bool flash = t_.flash_attention;
    const double probs = attention_probs();
    const double af = attention_forward_flops(t_.micro_batch, t_.seq_len, q, flash);
    ComputeOp atb =
        make("attention_bwd", "attention_bwd", OpClass::attention, Phase::backward, (flash ? 2.5 : 2.0) * af,
             flash ? 2.0 * td(2 * q + 2 * kv) * actd_ + td(q) * 4.0 : td(4 * q) * actd_ + 20.0 * probs);
    keyed(atb, T_, t_.seq_len, q, kv);
    // dq, dk, dv, and flash-attn's fp32 dq accumulator or eager attention's fp32 score gradient.
    atb.transient_tensors = {act_ * T_ * q, act_ * T_ * kv, act_ * T_ * kv,
                             flash ? 4 * T_ * q : static_cast<int64_t>(probs) * 4};
    for (int64_t t : atb.transient_tensors) atb.transient_bytes += t;
    return atb;
  }

  // SwiGLU (silu(gate)·up) or GELU (gelu(up)) between the MLP's input and output linears; `rg` says
  // whether its inputs require grad.
  void emit_activation(bool rg, Phase phase) {
    const int64_t i = m_.intermediate;
    const bool swiglu = m_.mlp == MlpKind::swiglu;
    const std::string fwd_name = swiglu ? "swiglu_fwd" : "gelu_fwd";
    const int64_t el = mlp32_ ? 4 : act_;  // QLoRA's fp32 norms: gate's and up's outputs are fp32
    ComputeOp act =
        make(fwd_name, fwd_name, OpClass::memory_bound, phase, (swiglu ? 5.0 : 8.0) * td(i),
             (swiglu ? swiglu_bytes_per_element(false, el) : gelu_bytes_per_element(false, el)) * td(i));
    keyed(act, T_, i, i, 0);
    if (rg) {  // gate, silu(gate), up | up
      act.saved_tensors.assign(swiglu ? 3 : 1, el * T_ * i);
      act.saved_bytes = (swiglu ? 3 : 1) * el * T_ * i;
    }
    fwd_.push_back(act);
    if (phase != Phase::forward || !rg) return;
    const std::string bwd_name = swiglu ? "swiglu_bwd" : "gelu_bwd";
    ComputeOp actb =
        make(bwd_name, bwd_name, OpClass::memory_bound, Phase::backward, (swiglu ? 8.0 : 10.0) * td(i),
             (swiglu ? swiglu_bytes_per_element(true, el) : gelu_bytes_per_element(true, el)) * td(i));
    keyed(actb, T_, i, i, 0);
    actb.transient_tensors.assign(swiglu ? 3 : 1, el * T_ * i);
    actb.transient_bytes = (swiglu ? 3 : 1) * el * T_ * i;
    bwd_->push_back(actb);
  }

  void emit_residual_add(const std::string& name, Phase phase) {
    // Two inputs and an output in the residual stream's dtype (fp32 under AMP and QLoRA's fp32 norms).
    ComputeOp add = make(name, "residual_add", OpClass::memory_bound, phase, td(m_.hidden),
                         3.0 * td(m_.hidden) * static_cast<double>(res_));
    keyed(add, T_, m_.hidden, m_.hidden, 0);
    fwd_.push_back(add);
  }

  // ---- one decoder layer ----
  // Emits forward (or recompute) ops into fwd_ and, for a forward pass, backward ops into *bwd_.
  // Returns whether the layer output requires grad.
  bool emit_layer_ops(bool rg_in, Phase phase) {
    const bool rg_h1 = emit_attention_block(rg_in, phase);
    return emit_mlp_block(rg_h1, phase) || rg_h1;
  }

  // input norm → attention inputs → attention → attention output → residual add. Returns whether the
  // residual stream after it requires grad.
  bool emit_attention_block(bool rg_in, Phase phase) {
    emit_norm("input_norm", layer_modules().norm[0], rg_in, phase);
    const bool rg_attn = emit_group(LinearGroup::attention_input, rg_in || full_, false, phase);
    emit_attention(rg_attn, phase);
    // lora_A keeps its input for dA even when that input needs no gradient; flash-attn already keeps
    // the attention output when anything before it requires grad.
    const bool attn_out_kept = t_.flash_attention && rg_attn;
    const bool rg_o = emit_group(LinearGroup::attention_output, rg_attn, attn_out_kept, phase);
    if (m_.sandwich_norms) emit_norm("attention_output_norm", layer_modules().norm[1], rg_o, phase);
    emit_residual_add("residual_add_1", phase);
    return rg_in || rg_o;
  }

  // post-attention norm → MLP inputs → activation → MLP output → residual add. Returns whether the
  // MLP output requires grad.
  bool emit_mlp_block(bool rg_h1, Phase phase) {
    emit_norm("post_attention_norm", layer_modules().norm[m_.sandwich_norms ? 2 : 1], rg_h1, phase);
    if (m_.moe()) return emit_moe_block(rg_h1, phase);
    const bool rg_mlp = emit_group(LinearGroup::mlp_input, rg_h1 || full_, false, phase);
    emit_activation(rg_mlp, phase);
    const bool rg_down = emit_group(LinearGroup::mlp_output, rg_mlp, false, phase);
    if (m_.sandwich_norms) emit_norm("mlp_output_norm", layer_modules().norm[3], rg_down, phase);
    emit_residual_add("residual_add_2", phase);
    return rg_down;
  }

  // MixtralSparseMoeBlock.forward (transformers models/mixtral/modeling_mixtral.py, 4.36+): the router's
  // logits, their softmax in fp32, top-k and renormalisation; then per expert torch.where on its mask
  // (reading the count on the host), the gather of its tokens, the expert's SwiGLU MLP, the product with its
  // routing weights and index_add_ into the output. The experts' ops stand for every expert (instances) on
  // T·k/experts tokens each: balanced routing, the load-imbalance assumption (docs/time-model.md).
  bool emit_moe_block(bool rg_h1, Phase phase) {
    const int64_t h = m_.hidden, e = m_.experts, k = m_.experts_per_token;
    const bool rg_router = emit_group(LinearGroup::router, rg_h1 || full_, false, phase);
    const bool rg_weights = rg_router || rg_h1;
    ComputeOp route = make("moe_route_fwd", "moe_route_fwd", OpClass::memory_bound, phase, 6.0 * td(e),
                           td(e) * (2.0 + 4.0 * 3.0) + td(k) * 16.0);
    keyed(route, T_, h, e, 0);
    // The first expert's torch.where makes the host wait for the GPU (the further experts' are not modelled).
    route.host_sync = true;
    if (rg_weights) {  // softmax keeps its fp32 output, topk its indices
      route.saved_tensors = {4 * T_ * e, 8 * T_ * k};
      route.saved_bytes = 4 * T_ * e + 8 * T_ * k;
    }
    fwd_.push_back(route);
    const size_t fwd_from = fwd_.size(), bwd_from = bwd_->size();
    bool rg_down = false;
    {
      RoutedTokens routed(*this, k);
      ComputeOp dispatch =
          make("moe_dispatch_fwd", "moe_dispatch_fwd", OpClass::memory_bound, phase, 0, 2.0 * td(h) * actd_);
      keyed(dispatch, T_, h, h, 0);
      fwd_.push_back(dispatch);
      if (phase == Phase::forward && rg_h1) {
        ComputeOp back = make("moe_dispatch_bwd", "moe_dispatch_bwd", OpClass::memory_bound, Phase::backward,
                              td(h), (2.0 * td(h) + 2.0 * static_cast<double>(tokens_ * h)) * actd_);
        keyed(back, T_, h, h, 0);
        back.transient_bytes = act_ * tokens_ * h;  // the input gradient the experts' parts are added into
        bwd_->push_back(back);
      }
    }
    as_expert_instances(fwd_from, bwd_from, e, k, 0);
    const bool rg_mlp = emit_group(LinearGroup::mlp_input, rg_h1 || full_, false, phase);
    const size_t act_fwd = fwd_.size(), act_bwd = bwd_->size();
    {
      RoutedTokens routed(*this, k);
      emit_activation(rg_mlp, phase);
    }
    as_expert_instances(act_fwd, act_bwd, e, k, 0);
    rg_down = emit_group(LinearGroup::mlp_output, rg_mlp, false, phase);
    const size_t comb_fwd = fwd_.size(), comb_bwd = bwd_->size();
    {
      RoutedTokens routed(*this, k);
      // expert_out * routing_weights keeps the expert's output for the weights' gradient (when they need
      // one).
      ComputeOp combine = make("moe_combine_fwd", "moe_combine_fwd", OpClass::memory_bound, phase,
                               2.0 * td(h), (3.0 * td(h) + 2.0 * static_cast<double>(tokens_ * h)) * actd_);
      keyed(combine, T_, h, h, 0);
      if (rg_weights) combine.saved_bytes = act_ * T_ * h;
      fwd_.push_back(combine);
      if (phase == Phase::forward && (rg_weights || rg_down)) {
        ComputeOp back = make("moe_combine_bwd", "moe_combine_bwd", OpClass::memory_bound, Phase::backward,
                              3.0 * td(h), 5.0 * td(h) * actd_);
        keyed(back, T_, h, h, 0);
        back.transient_bytes = 2 * act_ * T_ * h / e;  // one expert's gathered gradient and its product
        bwd_->push_back(back);
      }
    }
    as_expert_instances(comb_fwd, comb_bwd, e, k, 0);
    if (phase == Phase::forward && rg_weights) {
      ComputeOp back = make("moe_route_bwd", "moe_route_bwd", OpClass::memory_bound, Phase::backward,
                            6.0 * td(e), td(e) * 4.0 * 4.0);
      keyed(back, T_, h, e, 0);
      back.transient_bytes = 3 * 4 * T_ * e;  // fp32 gradients of the routing weights and the softmax
      // Pushed before the router's backward in forward order: the reversed list runs it after the experts'.
      bwd_->insert(bwd_->begin() + static_cast<std::ptrdiff_t>(bwd_from), back);
    }
    if (m_.sandwich_norms) emit_norm("mlp_output_norm", layer_modules().norm[3], rg_down, phase);
    emit_residual_add("residual_add_2", phase);
    return rg_down || rg_weights;
  }

  bool emit_layer(int l, bool rg_in, std::vector<ComputeOp>& backward) {
    layer_ = l;
    bwd_ = &backward;
    fwd_.clear();
    const bool rg_out = emit_layer_ops(rg_in, Phase::forward);
    int64_t saved = 0;
    for (const auto& op : fwd_) saved += op.saved_bytes;

    if (t_.activation_checkpointing) {
      // Forward runs without keeping tensors (their lifetime is the op); the layer input is the
      // checkpoint; backward first recomputes the layer forward, which keeps them until backward.
      for (auto& op : fwd_) {
        op.transient_tensors = transient_allocations(op);
        for (int64_t t : saved_allocations(op)) op.transient_tensors.push_back(t);
        op.transient_bytes += op.saved_bytes;
        op.saved_bytes = 0;
        op.saved_tensors.clear();
      }
      prog_.checkpoint_bytes_per_layer = res_ * T_ * m_.hidden;
      fwd_.front().saved_bytes = prog_.checkpoint_bytes_per_layer;
      std::vector<ComputeOp> forward_ops = fwd_;
      fwd_.clear();
      emit_layer_ops(rg_in, Phase::recompute);
      std::vector<ComputeOp> recompute = fwd_;
      // Backward list is in forward order and reversed later: put the recompute at its end, reversed.
      for (auto it = recompute.rbegin(); it != recompute.rend(); ++it) backward.push_back(*it);
      saved = prog_.checkpoint_bytes_per_layer;
      for (const auto& op : recompute) saved += op.saved_bytes;
      fwd_ = forward_ops;
    }
    // The first backward op of the layer's reversed list is backward.back(); the last one to run
    // is backward.front() (or the earliest recompute-free op): it releases the layer's tensors.
    size_t last = 0;
    while (last < backward.size() && backward[last].phase == Phase::recompute) ++last;
    if (last < backward.size())
      backward[last].releases_bytes += saved;
    else if (!backward.empty())
      backward.front().releases_bytes += saved;
    for (auto& op : fwd_) prog_.forward.push_back(op);
    return rg_out;
  }
};

}  // namespace

StepProgram build_step_program(const RunConfig& config) { return Builder(config).build(); }

bool produces_trainable_gradient(const ComputeOp& op, const StepProgram& program) {
  if (op.phase != Phase::backward || op.op == "linear_dx") return false;
  return std::any_of(op.modules.begin(), op.modules.end(),
                     [&](int m) { return m >= 0 && program.modules[static_cast<size_t>(m)].trainable; });
}

std::string layer_prefix(int layer) { return layer >= 0 ? "L" + std::to_string(layer) + "." : std::string(); }

std::string module_task_name(const ParamModule& m) {
  const std::string inventory_prefix = "layers." + std::to_string(m.layer) + ".";  // param_inventory.cpp
  if (m.layer < 0 || m.name.rfind(inventory_prefix, 0) != 0) return m.name;
  return layer_prefix(m.layer) + m.name.substr(inventory_prefix.size());
}

}  // namespace zerosim
