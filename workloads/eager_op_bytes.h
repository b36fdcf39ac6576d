#pragma once
// The DRAM bytes of the memory-bound ops eager PyTorch runs one kernel at a time: every kernel of the
// op's code reads its inputs from and writes its output to device memory (nothing is fused), so an op
// moves the sum over its kernels. The kernel lists are those of docs/time-model.md ("Kernels per op",
// "Bytes per op") read from the code that runs (transformers' LlamaRMSNorm, apply_rotary_pos_emb,
// LlamaMLP; peft's lora.Linear.forward) and from PyTorch's autograd formulas for their backward
// (tools/autograd/derivatives.yaml, torch/csrc/autograd/FunctionsManual.cpp). Bytes are per element of
// the op's main tensor; tensors of one element per token (a norm's variance) and the broadcast cos/sin
// are left out.
#include <cstdint>

namespace zerosim {

// LlamaRMSNorm on a tensor of `in_bytes` per element (2 for bf16, 4 for the fp32 residual stream of AMP,
// fp32 training or QLoRA's fp32 norms). `weight_trains`: full fine-tuning's weight gradient.
double rmsnorm_bytes_per_element(bool backward, int64_t in_bytes, bool weight_trains);
// torch.nn.LayerNorm: native_layer_norm and its backward, one kernel each.
double layernorm_bytes_per_element(bool backward, int64_t in_bytes, bool weight_trains);
// Which code applies the rotary embedding: transformers' apply_rotary_pos_emb (LLaMA, Mistral, Qwen2, ...)
// or Qwen-v1's remote code, which upcasts q and k to fp32 first and then runs flash-attn's fused rotary
// kernel where flash-attn is installed (modeling_qwen.py apply_rotary_pos_emb).
enum class RotaryCode { transformers, qwen_fused, qwen_eager };
// The rotary embedding of q or k, per element of q and k, whose dtype has `bytes` per element.
double rotary_bytes_per_element(bool backward, int64_t bytes, RotaryCode code = RotaryCode::transformers);
// silu(gate) · up, per element of the intermediate width; GELU on `up`.
double swiglu_bytes_per_element(bool backward, int64_t bytes);
double gelu_bytes_per_element(bool backward, int64_t bytes);

// peft's DoRA combine, (s − 1)·base_result + s·lora_result·scaling added into the result (variants.py /
// dora.py DoraLinearLayer.forward, lora/layer.py Linear.forward), per element of the T × d_out output: the
// base result in `base_bytes`, lora_result in `lora_bytes`, the scale s = magnitude / ‖W‖ in
// `magnitude_bytes`; each product takes the wider dtype (PyTorch's type promotion) and the sum is cast
// back to the base result's dtype.
double dora_combine_bytes_per_element(bool backward, int64_t base_bytes, int64_t lora_bytes,
                                      int64_t magnitude_bytes);

// peft's LoRA branch of a d_in → d_out linear over `tokens` rows in `bytes` per element: lora_A, lora_B,
// and (LoRA, not DoRA, whose scale and add are its combine op) `* scaling` and the add into the result.
double lora_forward_bytes(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r, int64_t bytes, bool dora);
// Its backward: the scaling's gradient (LoRA), lora_B's dW and dX, lora_A's dW, and with `input_grad` its dX
// and the add of that into the input's other gradient.
double lora_backward_bytes(int64_t tokens, int64_t d_in, int64_t d_out, int64_t r, int64_t bytes, bool dora,
                           bool input_grad);

}  // namespace zerosim
