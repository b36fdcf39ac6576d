#include "workloads/kernel_launches.h"

#include <algorithm>
#include <map>
#include <string>

#include "workloads/framework_behaviour.h"

namespace zerosim {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Kernels per op whose count does not depend on the setup. Forward counts are the aten calls that launch a
// kernel (views and reshapes launch none); backward counts are the autograd nodes' kernels, including the
// accumulation into a gradient that two consumers feed. docs/time-model.md lists each count's derivation.
const std::map<std::string, int>& fixed_counts() {
  static const std::map<std::string, int> counts = {
      {"embedding_fwd", 1},  // F.embedding
      {"embedding_bwd", 2},  // embedding_dense_backward: zero-fill and scatter-add
      {"rmsnorm_fwd", 8},    // LlamaRMSNorm: to(fp32), pow, mean, add eps, rsqrt, mul, to(dtype), mul weight
      {"rmsnorm_bwd", 12},   // the backward of each: mul x2, to x2, rsqrt, add, mean (expand), pow, plus
                             // accumulations
      {"layernorm_fwd", 1},  // native_layer_norm
      {"layernorm_bwd", 1},  // native_layer_norm_backward
      {"linear_fwd", 1},     // one cuBLAS GEMM (bias in the epilogue)
      {"linear_dx", 1},      // mm
      {"linear_dw", 1},      // mm
      // bitsandbytes LLM.int8() (MatMul8bitLt): A.to(fp16) and int8_vectorwise_quant; int8_linear_matmul;
      // int8_mm_dequant and .to(A.dtype); the weight's CB.to(dtype) and its scaling for dX.
      {"int8_quantize", 2},
      {"linear_fwd_int8", 1},
      {"int8_dequantize", 2},
      // With an outlier threshold: abs, >=, any, any(dim=0), argwhere before the quantization; the
      // outliers' index and contiguous copy, their weight rows' index, scale and cast, and addmm after it.
      {"int8_quantize_outliers", 7},
      {"int8_dequantize_outliers", 8},
      {"int8_dequantize_weight", 3},
      {"dropout_fwd", 1},        // native_dropout: mask and scale in one kernel
      {"dora_weight_norm", 7},   // peft DoraLinearLayer: eye, lora_A, lora_B, scale mul, add, norm, magnitude
                                 // / norm
      {"dora_combine_fwd", 6},   // (m - 1) * base + m * lora * scale, then result + that: sub, 3 mul, 2 add
      {"dora_combine_bwd", 10},  // grads of the 3 muls (2 each, one a token-sum for m), the divide,
                                 // accumulation
      {"rotary_fwd", 10},        // apply_rotary_pos_emb on q and k: q*cos, neg, cat, *sin, add (5 each)
      {"rotary_bwd", 10},        // their backward: 2 mul, neg, slice copies, add (5 each)
      {"swiglu_fwd", 2},         // act_fn(gate) * up: silu, mul
      {"swiglu_bwd", 3},         // silu_backward, 2 mul
      {"gelu_fwd", 1},
      {"gelu_bwd", 1},
      {"residual_add", 1},
      {"cross_entropy_fwd", 5},  // logits.float(), shift .contiguous(), log_softmax, nll_loss, / num_items
      {"cross_entropy_bwd", 6},  // nll_loss_backward (fill, scatter), log_softmax_backward, to, slice
                                 // backward (fill, copy)
      {"logit_softcap_fwd", 3},  // logits / cap, tanh, * cap (Gemma-2)
      // MixtralSparseMoeBlock (per expert where the op stands for every expert, `instances`):
      {"moe_route_fwd", 8},  // softmax(fp32), topk, sum, div, to(dtype), zeros(final), one_hot, permute copy
      {"moe_route_bwd", 5},  // to, div and sum backward, topk's scatter, softmax backward
      {"moe_dispatch_fwd", 2},   // torch.where on the expert's mask, hidden_states[None, top_x]
      {"moe_dispatch_bwd", 2},   // the index's backward: zero-fill and index_put accumulate
      {"moe_combine_fwd", 2},    // * routing_weights[top_x, idx, None], final.index_add_
      {"moe_combine_bwd", 4},    // index_add's gather, the mul's two gradients and the weight's sum
      {"logit_softcap_bwd", 3},  // their backward
  };
  return counts;
}

int lora_forward_kernels(const RunConfig& c) {
  // LoRA: lora_B(lora_A(x)) * scaling added to the result (2 GEMMs, mul, add); DoRA's scale and add are in
  // dora_combine_fwd, its lora_result is the 2 GEMMs.
  return c.peft.method == PeftMethod::dora ? 2 : 4;
}

int lora_backward_kernels(const RunConfig& c) {
  // dW and dX of lora_B and lora_A, the input gradient's accumulation; LoRA also the scaling mul's backward.
  return c.peft.method == PeftMethod::dora ? 5 : 6;
}

int attention_kernels(const ComputeOp& op, const RunConfig& c) {
  const bool fwd = op.phase != Phase::backward;
  if (c.train
          .flash_attention)  // flash_attn_func (bwd: dot(dO, O), the kernel, dq's conversion) + layout copies
    return fwd ? 2 : 5;
  // Eager attention: QKᵀ, mask add, fp32 softmax (to, softmax, to), PV, transpose copy; backward about as
  // many again for each input.
  return fwd ? 7 : 10;
}

// The chunked losses launch their kernels once per chunk: torchtune 8 chunks, litgpt 128-token chunks,
// Liger's fused linear cross-entropy chunks of about hidden-size tokens (its chunk_size rule).
int chunked_loss_kernels(const ComputeOp& op, const RunConfig& c) {
  const bool fwd = op.phase != Phase::backward;
  if (op.op == "fused_linear_ce_fwd" || op.op == "fused_linear_ce_bwd") {
    const int64_t chunks =
        std::max<int64_t>(1, ceil_div(std::max<int64_t>(op.tokens, 1), std::max<int64_t>(op.d_in, 1)));
    return fwd ? static_cast<int>(3 * chunks)
               : 1;  // forward: logits GEMM, CE kernel, grad-input GEMM per chunk
  }
  const int64_t chunks = c.train.loss == LossImpl::litgpt
                             ? std::max<int64_t>(1, ceil_div(std::max<int64_t>(op.tokens, 1), 128))
                             : 8;
  return static_cast<int>((fwd ? 3 : 4) *
                          chunks);  // .float(), log_softmax, nll (+ fill in backward) per chunk
}

}  // namespace

int kernels_launched(const ComputeOp& op, const RunConfig& c) {
  if (op.op == "lora_fwd") return lora_forward_kernels(c);
  // bitsandbytes dequantize_4bit (with double quantization a dequantize_blockwise of the absmax first), once
  // per dequantization the op stands for (`tokens`).
  if (op.op == "dequantize_4bit")
    return static_cast<int>(std::max<int64_t>(1, op.tokens) * (c.quantization.double_quant ? 2 : 1));
  if (op.op == "lora_bwd") return lora_backward_kernels(c);
  if (op.op == "attention_fwd" || op.op == "attention_bwd") return attention_kernels(op, c);
  if (op.op.rfind("chunked_cross_entropy", 0) == 0 || op.op.rfind("fused_linear_ce", 0) == 0)
    return chunked_loss_kernels(op, c);
  const auto& counts = fixed_counts();
  const auto it = counts.find(op.op);
  return it == counts.end() ? 1 : it->second;
}

double host_issue_seconds(const ComputeOp& op, int kernels, const RunConfig& c,
                          const HostLaunchCosts& costs) {
  if (c.train.cuda_graphs) return 0.0;
  const double per_kernel = op.phase == Phase::backward ? costs.backward_kernel_s : costs.forward_kernel_s;
  return per_kernel * static_cast<double>(kernels);
}

double python_issue_seconds(int kernels, const RunConfig& c, const HostLaunchCosts& costs) {
  return c.train.cuda_graphs ? 0.0 : costs.forward_kernel_s * static_cast<double>(kernels);
}

void annotate_host_launch(ComputeOp& op, const RunConfig& c) {
  op.kernels = kernels_launched(op, c) * static_cast<int>(std::max<int64_t>(1, op.instances));
  op.host_s = host_issue_seconds(op, op.kernels, c);
}

void annotate_gradient_hooks(StepProgram& program, const RunConfig& c) {
  const GradHookCount count = framework_behaviour(c).grad_hook_count;
  if (count == GradHookCount::none || c.train.cuda_graphs) return;
  int64_t trainable_tensors = 0;
  for (const auto& m : program.modules)
    if (m.trainable) trainable_tensors += static_cast<int64_t>(m.tensor_numels().size());
  const double walk = static_cast<double>(trainable_tensors) * kHookCountVisitSeconds;
  std::vector<bool> fired(program.modules.size(), false);
  bool first = true;
  for (ComputeOp& op : program.backward) {
    if (!produces_trainable_gradient(op, program)) continue;
    int64_t hooks = 0;
    for (int m : op.modules)
      if (m >= 0 && program.modules[static_cast<size_t>(m)].trainable && !fired[static_cast<size_t>(m)]) {
        fired[static_cast<size_t>(m)] = true;
        hooks += static_cast<int64_t>(program.modules[static_cast<size_t>(m)].tensor_numels().size());
      }
    if (hooks == 0) continue;
    if (count == GradHookCount::every_hook) {
      op.host_s += static_cast<double>(hooks) * walk;
    } else if (first) {
      op.host_s += walk;
    }
    first = false;
  }
}

void annotate_host_launches(StepProgram& program, const RunConfig& c) {
  for (auto* ops : {&program.forward, &program.backward})
    for (ComputeOp& op : *ops) annotate_host_launch(op, c);
}

}  // namespace zerosim
