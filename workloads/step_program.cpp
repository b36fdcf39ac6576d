#include "workloads/step_program.h"

#include <algorithm>

namespace zerosim {

// ---- formulas --------------------------------------------------------------------------------

double linear_flops(int64_t tokens, int64_t d_in, int64_t d_out) {
  return 2.0 * static_cast<double>(tokens) * static_cast<double>(d_in) * static_cast<double>(d_out);
}

double lora_forward_flops(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r) {
  const double t = static_cast<double>(tokens);
  return 2.0 * t * static_cast<double>(r) * static_cast<double>(d_in + d_out) + 2.0 * t * static_cast<double>(d_out);
}

double lora_backward_flops(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r) {
  const double t = static_cast<double>(tokens);
  return 4.0 * t * static_cast<double>(r) * static_cast<double>(d_in + d_out) + t * static_cast<double>(d_out);
}

double dora_weight_norm_flops(int64_t d_in, int64_t d_out, int64_t r) {
  const double i = static_cast<double>(d_in), o = static_cast<double>(d_out);
  return 2.0 * i * static_cast<double>(r) * (i + o) + 3.0 * i * o;
}

double dora_weight_norm_bytes(int64_t d_in, int64_t d_out, int64_t r) {
  // eye written and read (2·d_in²), x_eye·Aᵀ and B·(·) (r-wide), BA written, scaled, added to W0
  // (reads W0), squared-summed: ≈ 7 passes over d_in·d_out (reference/dora_zero.md §1.4), bf16.
  const double i = static_cast<double>(d_in), o = static_cast<double>(d_out), rr = static_cast<double>(r);
  return 2.0 * (2.0 * i * i + 7.0 * i * o + 2.0 * i * rr + 2.0 * rr * o);
}

int64_t dora_weight_norm_transient_bytes(int64_t d_in, int64_t d_out, int64_t r) {
  return 2 * (d_in * d_in + d_in * r + 3 * d_in * d_out);
}

double attention_forward_flops(int64_t batch, int64_t seq, int64_t q_dim, bool causal_flash) {
  // QKᵀ and PV: 4·b·s²·(heads·head_dim). Flash-attention skips masked tiles of a causal mask:
  // half the work. Eager attention computes the full s×s matrices and masks them.
  const double dense = 4.0 * static_cast<double>(batch) * static_cast<double>(seq) * static_cast<double>(seq) *
                       static_cast<double>(q_dim);
  return causal_flash ? dense / 2.0 : dense;
}

double adam_step_bytes_per_param(Precision precision, OptimizerImpl impl) {
  const bool mixed = precision == Precision::bf16_mixed;
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

// ---- the program -----------------------------------------------------------------------------

namespace {

constexpr int64_t kAct = 2;  // bf16 activations (bf16-mixed autocast and bf16-pure alike)

struct LayerModules {
  std::vector<int> base, lora_a, lora_b, magnitude;  // per linear index, -1 if absent
  int norm[2] = {-1, -1};
};

class Builder {
 public:
  explicit Builder(const RunConfig& c)
      : c_(c), m_(c.model), p_(c.peft), t_(c.train), T_(c.train.tokens()), full_(c.peft.method == PeftMethod::none) {
    prog_.modules = param_modules(m_, p_);
    index_modules();
  }

  StepProgram build() {
    emit_embedding();
    bool rg = full_ || t_.activation_checkpointing;  // HF enables input grads when checkpointing
    std::vector<std::vector<ComputeOp>> layer_backward(static_cast<size_t>(m_.layers));
    for (int l = 0; l < static_cast<int>(m_.layers); ++l) rg = emit_layer(l, rg, layer_backward[static_cast<size_t>(l)]);
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
    return prog_;
  }

 private:
  const RunConfig& c_;
  const ModelSpec& m_;
  const PeftSpec& p_;
  const TrainSpec& t_;
  const int64_t T_;
  const bool full_;
  StepProgram prog_;
  std::vector<LayerModules> layer_modules_;
  int embed_ = -1, final_norm_ = -1, lm_head_ = -1;

  // Per-layer bookkeeping while emitting.
  std::vector<ComputeOp> fwd_;        // this layer's forward ops
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
        case ModuleKind::norm: lm.norm[lm.norm[0] < 0 ? 0 : 1] = idx; break;
        case ModuleKind::linear: lm.base[li] = idx; break;
        case ModuleKind::lora_a: lm.lora_a[li] = idx; break;
        case ModuleKind::lora_b: lm.lora_b[li] = idx; break;
        case ModuleKind::dora_magnitude: lm.magnitude[li] = idx; break;
        default: break;
      }
    }
    if (lm_head_ < 0) lm_head_ = embed_;  // tied: the head reads the embedding matrix
  }

  ComputeOp make(const std::string& name, const std::string& op, OpClass cls, Phase phase, double flops,
                 double bytes) const {
    ComputeOp o;
    o.name = (layer_ >= 0 ? "L" + std::to_string(layer_) + "." : std::string()) + name;
    o.op = op;
    o.cls = cls;
    o.phase = phase;
    o.layer = layer_;
    o.flops = flops;
    o.bytes = bytes;
    return o;
  }

  static ComputeOp& keyed(ComputeOp& o, int64_t tokens, int64_t d_in, int64_t d_out, int64_t r) {
    o.tokens = tokens, o.d_in = d_in, o.d_out = d_out, o.r = r;
    return o;
  }

  double td(int64_t x) const { return static_cast<double>(T_) * static_cast<double>(x); }

  // ---- embedding, head, loss ----
  void emit_embedding() {
    ComputeOp o = make("embed_tokens.fwd", "embedding_fwd", OpClass::memory_bound, Phase::forward, 0,
                       2.0 * td(m_.hidden) * kAct);
    keyed(o, T_, 0, m_.hidden, 0);
    o.modules = {embed_};
    o.transient_bytes = 0;
    prog_.forward.push_back(o);
  }

  void emit_embedding_backward() {
    if (!full_) return;  // frozen embedding: autograd stops before it
    ComputeOp o = make("embed_tokens.bwd", "embedding_bwd", OpClass::memory_bound, Phase::backward, td(m_.hidden),
                       td(m_.hidden) * kAct + static_cast<double>(m_.embedding_params()) * 4.0);
    keyed(o, T_, 0, m_.hidden, 0);
    o.modules = {embed_};
    prog_.backward.push_back(o);
  }

  void emit_head_and_loss() {
    layer_ = -1;
    const int64_t h = m_.hidden, V = m_.vocab;
    // Final norm: never checkpointed; its input requires grad.
    ComputeOp nf = norm_op("norm", Phase::forward, true);
    nf.modules = {final_norm_};
    prog_.forward.push_back(nf);
    const int64_t norm_saved = nf.saved_bytes;

    ComputeOp head = make("lm_head.linear_fwd", "linear_fwd", OpClass::gemm, Phase::forward, linear_flops(T_, h, V),
                          td(h) * kAct + static_cast<double>(h * V) * kAct + td(V) * kAct);
    keyed(head, T_, h, V, 0);
    head.modules = {lm_head_};
    if (full_) head.saved_bytes = 0;  // its input is the final norm's output, saved by the norm op's fp32 copy
    prog_.forward.push_back(head);

    // HF ForCausalLMLoss: logits.float() then cross_entropy; log_softmax keeps its fp32 output.
    ComputeOp ce = make("loss.cross_entropy_fwd", "cross_entropy_fwd", OpClass::memory_bound, Phase::forward,
                        5.0 * td(V), 14.0 * td(V));
    keyed(ce, T_, h, V, 0);
    ce.saved_bytes = 4 * T_ * V;
    ce.transient_bytes = 6 * T_ * V;  // bf16 logits + fp32 copy, freed once the loss is returned
    prog_.forward.push_back(ce);

    ComputeOp ceb = make("loss.cross_entropy_bwd", "cross_entropy_bwd", OpClass::memory_bound, Phase::backward,
                         4.0 * td(V), 14.0 * td(V));
    keyed(ceb, T_, h, V, 0);
    ceb.transient_bytes = 8 * T_ * V;  // grad of log-softmax output and its input grad, both fp32
    ceb.releases_bytes = ce.saved_bytes;
    prog_.backward.push_back(ceb);

    ComputeOp hb = make("lm_head.linear_dx", "linear_dx", OpClass::gemm, Phase::backward, linear_flops(T_, h, V),
                        td(V) * kAct + static_cast<double>(h * V) * kAct + td(h) * kAct);
    keyed(hb, T_, h, V, 0);
    hb.modules = {lm_head_};
    hb.transient_bytes = 2 * T_ * V + T_ * h * kAct;  // bf16 logits grad + dX
    prog_.backward.push_back(hb);
    if (full_) {
      ComputeOp hw = make("lm_head.linear_dw", "linear_dw", OpClass::gemm, Phase::backward, linear_flops(T_, h, V),
                          td(V) * kAct + td(h) * kAct + static_cast<double>(h * V) * kAct);
      keyed(hw, T_, h, V, 0);
      hw.modules = {lm_head_};
      prog_.backward.push_back(hw);
    }
    ComputeOp nb = norm_op("norm", Phase::backward, true);
    nb.modules = {final_norm_};
    nb.releases_bytes = norm_saved;
    prog_.backward.push_back(nb);
  }

  // ---- norms ----
  ComputeOp norm_op(const std::string& name, Phase phase, bool input_rg) const {
    const int64_t h = m_.hidden;
    const bool fwd = phase != Phase::backward;
    const std::string kind = m_.norm == NormKind::rmsnorm ? "rmsnorm" : "layernorm";
    ComputeOp o = make(name + (fwd ? ".fwd" : ".bwd"), kind + (fwd ? "_fwd" : "_bwd"), OpClass::memory_bound, phase,
                       (fwd ? 4.0 : 8.0) * td(h), (fwd ? 12.0 : 16.0) * td(h));
    keyed(o, T_, h, h, 0);
    if (fwd && (input_rg || full_)) {
      // HF LlamaRMSNorm upcasts to fp32 and autograd keeps that copy and the rsqrt (T fp32);
      // LayerNorm keeps its bf16 input, mean and rstd. A trainable weight also keeps the bf16 normalised x.
      o.saved_bytes = m_.norm == NormKind::rmsnorm ? 4 * T_ * h + 4 * T_ : kAct * T_ * h + 8 * T_;
      if (full_ && m_.norm == NormKind::rmsnorm) o.saved_bytes += kAct * T_ * h;
    }
    if (!fwd) o.transient_bytes = 4 * T_ * h;  // fp32 input grad before the cast
    return o;
  }

  // ---- linears with their adapters ----
  // Emits the forward ops of one linear into fwd_ and its backward ops into *bwd_ (forward order).
  // Returns whether its output requires grad.
  bool emit_linear(size_t li, bool x_rg, bool save_input, Phase phase) {
    const LinearSpec& L = m_.layer_linears[li];
    const LayerModules& lm = layer_modules_[static_cast<size_t>(layer_)];
    const int64_t din = L.d_in, dout = L.d_out, r = p_.r;
    const bool adapted = p_.adapts(li);
    const bool dora = adapted && p_.method == PeftMethod::dora;
    const bool dropout = adapted && p_.dropout > 0;
    const std::string n = L.name;

    ComputeOp base = make(n + ".linear_fwd", "linear_fwd", OpClass::gemm, phase, linear_flops(T_, din, dout),
                          (td(din) + static_cast<double>(din * dout) + td(dout)) * kAct);
    keyed(base, T_, din, dout, 0);
    base.modules = {lm.base[li]};
    if (save_input) base.saved_bytes += kAct * T_ * din;  // shared by every consumer of this input
    fwd_.push_back(base);

    if (adapted) {
      if (dropout) {  // peft: one nn.Dropout per adapted module; keeps dropout(x) and its mask
        ComputeOp d = make(n + ".lora_dropout", "dropout_fwd", OpClass::memory_bound, phase, td(din),
                           td(din) * (kAct + kAct + 1));
        keyed(d, T_, din, din, 0);
        d.saved_bytes = T_ * din * (kAct + 1);
        fwd_.push_back(d);
      }
      if (dora) {
        ComputeOp wn = make(n + ".dora_weight_norm", "dora_weight_norm", OpClass::memory_bound, phase,
                            dora_weight_norm_flops(din, dout, r), dora_weight_norm_bytes(din, dout, r));
        keyed(wn, 0, din, dout, r);
        wn.modules = {lm.base[li], lm.lora_a[li], lm.lora_b[li], lm.magnitude[li]};
        wn.transient_bytes = dora_weight_norm_transient_bytes(din, dout, r);
        fwd_.push_back(wn);
      }
      ComputeOp lf = make(n + ".lora_fwd", "lora_fwd", OpClass::gemm, phase, lora_forward_flops(T_, din, dout, r),
                          (td(din) + 2.0 * td(r) + 2.0 * td(dout)) * kAct);
      keyed(lf, T_, din, dout, r);
      lf.modules = {lm.lora_a[li], lm.lora_b[li]};
      lf.saved_bytes = kAct * T_ * r;  // h = x·Aᵀ, kept for dB
      fwd_.push_back(lf);
      if (dora) {
        if (dropout) {  // peft recomputes the base output on dropout(x) when lora_dropout > 0
          ComputeOp b2 = make(n + ".dora_base_fwd", "linear_fwd", OpClass::gemm, phase, linear_flops(T_, din, dout),
                              (td(din) + static_cast<double>(din * dout) + td(dout)) * kAct);
          keyed(b2, T_, din, dout, 0);
          b2.modules = {lm.base[li]};
          fwd_.push_back(b2);
        }
        ComputeOp cf = make(n + ".dora_combine_fwd", "dora_combine_fwd", OpClass::memory_bound, phase, 5.0 * td(dout),
                            7.0 * td(dout) * kAct);
        keyed(cf, T_, 0, dout, 0);
        cf.modules = {lm.magnitude[li]};
        cf.saved_bytes = 2 * kAct * T_ * dout + 3 * kAct * dout;  // base_result, lora_result, s and n vectors
        fwd_.push_back(cf);
      }
    }
    if (phase == Phase::recompute) return adapted || full_ || x_rg;

    // Backward ops in forward order (the layer's list is reversed later), so autograd's order comes
    // out as: DoRA combine backward, LoRA backward, base input gradient.
    if (x_rg) {
      ComputeOp dx = make(n + ".linear_dx", "linear_dx", OpClass::gemm, Phase::backward, linear_flops(T_, din, dout),
                          (td(dout) + static_cast<double>(din * dout) + td(din)) * kAct);
      keyed(dx, T_, din, dout, 0);
      dx.modules = {lm.base[li]};
      dx.transient_bytes = kAct * T_ * din;
      bwd_->push_back(dx);
    }
    if (full_) {
      ComputeOp dw = make(n + ".linear_dw", "linear_dw", OpClass::gemm, Phase::backward, linear_flops(T_, din, dout),
                          (td(dout) + td(din) + static_cast<double>(din * dout)) * kAct);
      keyed(dw, T_, din, dout, 0);
      dw.modules = {lm.base[li]};
      bwd_->push_back(dw);
    }
    if (adapted) {
      double f = lora_backward_flops(T_, din, dout, r);
      if (!x_rg && !dropout) f -= 2.0 * td(r) * static_cast<double>(din);  // no dx through A
      ComputeOp lb = make(n + ".lora_bwd", "lora_bwd", OpClass::gemm, Phase::backward, f,
                          (td(din) * 2.0 + 3.0 * td(r) + 2.0 * td(dout)) * kAct);
      keyed(lb, T_, din, dout, r);
      lb.modules = {lm.lora_a[li], lm.lora_b[li]};
      lb.transient_bytes = kAct * T_ * dout;  // c·G⊙s
      bwd_->push_back(lb);
      if (dora && dropout && x_rg) {
        ComputeOp b2 = make(n + ".dora_base_dx", "linear_dx", OpClass::gemm, Phase::backward,
                            linear_flops(T_, din, dout), (td(dout) + static_cast<double>(din * dout) + td(din)) * kAct);
        keyed(b2, T_, din, dout, 0);
        b2.modules = {lm.base[li]};
        b2.transient_bytes = kAct * T_ * din;
        bwd_->push_back(b2);
      }
    }
    if (dora) {
      ComputeOp cb = make(n + ".dora_combine_bwd", "dora_combine_bwd", OpClass::memory_bound, Phase::backward,
                          8.0 * td(dout), 15.0 * td(dout) * kAct);
      keyed(cb, T_, 0, dout, 0);
      cb.modules = {lm.magnitude[li]};
      cb.transient_bytes = 2 * kAct * T_ * dout;
      bwd_->push_back(cb);
    }
    return adapted || full_ || x_rg;
  }

  bool saves_input(size_t li) const { return full_ || p_.adapts(li); }

  // ---- one decoder layer ----
  // Emits forward (or recompute) ops into fwd_ and, for a forward pass, backward ops into *bwd_.
  bool emit_layer_ops(bool rg_in, Phase phase) {
    const int64_t h = m_.hidden, s = t_.seq_len, b = t_.micro_batch;
    const LayerModules& lm = layer_modules_[static_cast<size_t>(layer_)];
    const bool record_bwd = phase == Phase::forward;

    ComputeOp n1 = norm_op("input_norm", phase, rg_in);
    n1.modules = {lm.norm[0]};
    fwd_.push_back(n1);
    const bool rg_x1 = rg_in || full_;

    // Attention projections share the normalised input x1.
    bool rg_attn = false, saved_x1 = false;
    size_t li = 0;
    for (; li < m_.layer_linears.size(); ++li) {
      const LinearRole role = m_.layer_linears[li].role;
      if (role == LinearRole::o) break;
      const bool save = saves_input(li) && !saved_x1;
      saved_x1 = saved_x1 || save;
      rg_attn = emit_linear(li, rg_x1, save, phase) || rg_attn;
    }
    const int64_t q = m_.q_dim(), kv = m_.kv_dim();
    if (m_.rotary) {
      ComputeOp ro = make("rotary_fwd", "rotary_fwd", OpClass::memory_bound, phase, 3.0 * td(q + kv),
                          4.0 * td(q + kv) * kAct);
      keyed(ro, T_, m_.head_dim, q + kv, 0);
      fwd_.push_back(ro);
    }
    // Attention core.
    const bool flash = t_.flash_attention;
    const double af = attention_forward_flops(b, s, q, flash);
    const double probs = static_cast<double>(b * m_.heads) * static_cast<double>(s) * static_cast<double>(s);
    ComputeOp at = make("attention_fwd", "attention_fwd", OpClass::attention, phase, af,
                        flash ? td(2 * q + 2 * kv) * kAct : td(2 * q + 2 * kv) * kAct + 16.0 * probs);
    keyed(at, T_, s, q, kv);
    if (rg_attn) {
      if (flash)  // flash-attn keeps q, k, v, out and the row log-sum-exp
        at.saved_bytes = kAct * T_ * (2 * q + 2 * kv) + 4 * T_ * m_.heads;
      else  // eager: q, k and v repeated to all heads, fp32 softmax output and its bf16 copy
        at.saved_bytes = kAct * T_ * 3 * q + static_cast<int64_t>(probs) * (4 + kAct);
    }
    if (!flash) at.transient_bytes = static_cast<int64_t>(probs) * kAct;  // raw scores
    fwd_.push_back(at);

    // Output projection: its input is the attention output (kept by flash-attn already).
    const size_t o_index = li;
    // lora_A keeps its input for dA even when that input needs no gradient; flash-attn already keeps
    // the attention output when anything before it requires grad.
    const bool o_save = saves_input(o_index) && (!flash || !rg_attn);
    const bool rg_o = emit_linear(o_index, rg_attn, o_save, phase);
    ComputeOp add1 = make("residual_add_1", "residual_add", OpClass::memory_bound, phase, td(h), 3.0 * td(h) * kAct);
    keyed(add1, T_, h, h, 0);
    fwd_.push_back(add1);
    const bool rg_h1 = rg_in || rg_o;

    ComputeOp n2 = norm_op("post_attention_norm", phase, rg_h1);
    n2.modules = {lm.norm[1]};
    fwd_.push_back(n2);
    const bool rg_x2 = rg_h1 || full_;

    // MLP: SwiGLU (gate, up → silu(gate)·up → down) or GELU (up → gelu → down).
    const int64_t i_dim = m_.intermediate;
    bool rg_mlp = false, saved_x2 = false;
    size_t down = 0;
    for (size_t k = o_index + 1; k < m_.layer_linears.size(); ++k) {
      if (m_.layer_linears[k].role == LinearRole::down) {
        down = k;
        break;
      }
      const bool save = saves_input(k) && !saved_x2;
      saved_x2 = saved_x2 || save;
      rg_mlp = emit_linear(k, rg_x2, save, phase) || rg_mlp;
    }
    const bool swiglu = m_.mlp == MlpKind::swiglu;
    ComputeOp act = make(swiglu ? "swiglu_fwd" : "gelu_fwd", swiglu ? "swiglu_fwd" : "gelu_fwd",
                         OpClass::memory_bound, phase, (swiglu ? 5.0 : 8.0) * td(i_dim),
                         (swiglu ? 4.0 : 2.0) * td(i_dim) * kAct);
    keyed(act, T_, i_dim, i_dim, 0);
    if (rg_mlp) act.saved_bytes = (swiglu ? 3 : 1) * kAct * T_ * i_dim;  // gate, silu(gate), up | up
    fwd_.push_back(act);
    const bool rg_down = emit_linear(down, rg_mlp, saves_input(down), phase);
    ComputeOp add2 = make("residual_add_2", "residual_add", OpClass::memory_bound, phase, td(h), 3.0 * td(h) * kAct);
    keyed(add2, T_, h, h, 0);
    fwd_.push_back(add2);

    if (record_bwd) {
      // Backward of the non-linear ops, interleaved where autograd runs them (forward order here).
      std::vector<ComputeOp> extra;
      ComputeOp n1b = norm_op("input_norm", Phase::backward, rg_in);
      n1b.modules = {lm.norm[0]};
      ComputeOp atb = make("attention_bwd", "attention_bwd", OpClass::attention, Phase::backward,
                           (flash ? 2.5 : 2.0) * af,
                           flash ? 2.0 * td(2 * q + 2 * kv) * kAct + td(q) * 4.0 : td(4 * q) * kAct + 20.0 * probs);
      keyed(atb, T_, s, q, kv);
      atb.transient_bytes = kAct * T_ * (q + 2 * kv) + (flash ? 4 * T_ * q : static_cast<int64_t>(probs) * 4);
      ComputeOp rob = make("rotary_bwd", "rotary_bwd", OpClass::memory_bound, Phase::backward, 3.0 * td(q + kv),
                           4.0 * td(q + kv) * kAct);
      keyed(rob, T_, m_.head_dim, q + kv, 0);
      ComputeOp n2b = norm_op("post_attention_norm", Phase::backward, rg_h1);
      n2b.modules = {lm.norm[1]};
      ComputeOp actb = make(swiglu ? "swiglu_bwd" : "gelu_bwd", swiglu ? "swiglu_bwd" : "gelu_bwd",
                            OpClass::memory_bound, Phase::backward, (swiglu ? 8.0 : 10.0) * td(i_dim),
                            (swiglu ? 6.0 : 3.0) * td(i_dim) * kAct);
      keyed(actb, T_, i_dim, i_dim, 0);
      actb.transient_bytes = (swiglu ? 3 : 1) * kAct * T_ * i_dim;
      // Place them in forward order among the linears' backward ops already recorded.
      std::vector<ComputeOp> ordered;
      const auto& rec = *bwd_;
      bool placed_attn = false, placed_act = false, placed_n2 = false;
      if (rg_in || full_) ordered.push_back(n1b);
      for (const auto& op : rec) {
        const bool is_o = op.name.find("." + m_.layer_linears[o_index].name + ".") != std::string::npos;
        const bool is_down = op.name.find("." + m_.layer_linears[down].name + ".") != std::string::npos &&
                             m_.layer_linears[down].name != m_.layer_linears[o_index].name;
        if (is_o && !placed_attn && rg_attn) {
          if (m_.rotary) ordered.push_back(rob);
          ordered.push_back(atb);
          placed_attn = true;
        }
        const bool mlp_side = op.name.find(".gate_proj.") != std::string::npos ||
                              op.name.find(".up_proj.") != std::string::npos ||
                              op.name.find(".w1.") != std::string::npos || op.name.find(".w2.") != std::string::npos ||
                              is_down;
        if (mlp_side && !placed_n2) {
          if (rg_h1) ordered.push_back(n2b);
          placed_n2 = true;
        }
        if (is_down && !placed_act && rg_mlp) {
          ordered.push_back(actb);
          placed_act = true;
        }
        ordered.push_back(op);
      }
      if (!placed_attn && rg_attn) {
        if (m_.rotary) ordered.push_back(rob);
        ordered.push_back(atb);
      }
      if (!placed_n2 && rg_h1) ordered.push_back(n2b);
      if (!placed_act && rg_mlp) ordered.push_back(actb);
      *bwd_ = ordered;
    }
    return rg_h1 || rg_down;
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
        op.transient_bytes += op.saved_bytes;
        op.saved_bytes = 0;
      }
      prog_.checkpoint_bytes_per_layer = kAct * T_ * m_.hidden;
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
    if (last < backward.size()) backward[last].releases_bytes += saved;
    else if (!backward.empty()) backward.front().releases_bytes += saved;
    for (auto& op : fwd_) prog_.forward.push_back(op);
    return rg_out;
  }
};

}  // namespace

StepProgram build_step_program(const RunConfig& config) { return Builder(config).build(); }

}  // namespace zerosim
