#pragma once
// What DeepSpeed and peft do for one run, resolved from the releases (`versions:`), who wraps the model
// (`train.engine`), the precision and the ZeRO setup. Each rule cites the code it follows and the releases
// it holds for (docs/memory-model.md §8); the step program and the memory model read only this.
#include <cstdint>

#include "workloads/param_inventory.h"
#include "workloads/run_config.h"

namespace zerosim {

// How peft's adapter weights (LoRA A, B, DoRA magnitude) are stored and run.
enum class AdapterDtype {
  base,  // the base model's 2-byte dtype: peft < 0.12, autocast_adapter_dtype=False, or DeepSpeed cast them
  fp32,  // fp32, no autocast: peft casts each adapted module's input to fp32 and the adapter runs in fp32
  fp32_autocast,  // fp32 under torch.autocast: the fp32 input copy is cast back to bf16 by every autocast op
};
const char* adapter_dtype_name(AdapterDtype d);  // "bf16" | "fp32" | "fp32-autocast"

// How often DeepSpeed's ZeRO gradient hooks count the parameters the running backward uses
// (runtime/utils.py count_used_parameters_in_backward: a Python walk over every trainable parameter).
enum class GradHookCount {
  none,               // up to 0.18.2: not counted
  once_per_backward,  // 0.18.3-0.18.4 (the first hook), 0.18.7+ (should_refresh_expected_hook_count, #7886)
  every_hook,         // 0.18.5-0.18.6 (#7780 put the call in every hook: O(n²) per backward)
};

struct FrameworkBehaviour {
  AdapterDtype adapter_dtype = AdapterDtype::base;
  // fp32 weights and residual stream: PyTorch AMP (train.precision amp-bf16 / amp-fp16, bf16 casts per op)
  // and fp32 training (no casts).
  bool fp32_weights = false;
  // QLoRA after peft's prepare_model_for_kbit_training, with nothing casting the model back (train.engine
  // pytorch): every base parameter that is not Params4bit (norms, embeddings, an unquantized lm_head,
  // biases) is fp32.
  bool kbit_fp32_params = false;
  // The residual stream is fp32 (AMP; or kbit_fp32_params: the fp32 embedding output, fp32 norm weights
  // times their input, bitsandbytes' Linear4bit returning its input's dtype, fp32 + 16-bit residual adds).
  bool fp32_residual = false;
  // ZeRO-3's LinearFunctionForZeroStage3 replaces F.linear and saves its input whenever autograd records it
  // (the input, or the weight, requires grad), frozen weight or not.
  bool zero3_linear_saves_input = false;
  // bitsandbytes' MatMul4Bit (a 4-bit weight's matmul, autograd/_functions.py) keeps its input A whenever A
  // or B needs grad: ctx.tensors = (A, B) up to 0.43.1; from 0.43.2 (#1270, "delete useless buffered
  // activation") ctx.tensors = (None, B), its backward needing only the weight.
  bool bnb_4bit_saves_input = false;
  // ZeRO-3 all-gathers into fresh buffers; at world size 1 without parameter offload it aliases the
  // partition.
  bool zero3_gathers = false;
  // ZeRO-1/2 allocate the IPG bucket(s) when the first trainable gradient is ready, not when backward starts.
  bool ipg_bucket_at_first_gradient = false;
  // ZeRO-1/2/3 under DeepSpeed's engine: the gradient hooks' parameter count, per release.
  GradHookCount grad_hook_count = GradHookCount::none;
  // Full-size intermediates torch's foreach Adam/AdamW holds at once (torch/optim/adamw.py
  // _multi_tensor_adamw): up to 2.0.x exp_avg_sq_sqrt = _foreach_sqrt(v) and denom = _foreach_add(
  // exp_avg_sq_sqrt, eps), both alive at _foreach_addcdiv_; from 2.1.0 (#104898, "minimize intermediates")
  // the eps is added in place: one.
  int64_t foreach_adam_intermediates = 1;

  int64_t base_bytes() const { return fp32_weights ? 4 : 2; }
  int64_t adapter_bytes() const { return adapter_dtype == AdapterDtype::base ? base_bytes() : 4; }
  bool adapters_fp32() const { return adapter_dtype != AdapterDtype::base; }
};

FrameworkBehaviour framework_behaviour(const RunConfig& config);

// Bytes per element of a parameter tensor on the GPU: adapters in their resolved dtype, the rest in the
// weights' dtype (2 bytes, 4 under AMP).
int64_t param_element_bytes(const ParamModule& module, const FrameworkBehaviour& behaviour);

// Whether QLoRA stores this module's weight in 4 bits: a decoder linear, or an untied lm_head, that
// quantization.skip_modules does not name (transformers replaces every nn.Linear but those).
bool quantized_module(const ParamModule& module, const RunConfig& config);

// Bytes of `numel` of the module's parameters as they sit on the GPU: element bytes x numel, except under
// QLoRA (quantization.h): a quantized weight packed with its block constants, and with
// prepare_model_for_kbit_training every other base parameter (its bias, norms, embeddings) in fp32.
int64_t module_param_bytes(const ParamModule& module, int64_t numel, const RunConfig& config,
                           const FrameworkBehaviour& behaviour);

// A quantized module's bitsandbytes quant state per copy of its weight: the block absmax (and with double
// quantization their own constants), or LLM.int8()'s row scales: quantized_weight_bytes less the packed
// weight. A Python attribute of the parameter (weight.quant_state), which ZeRO-3 does not partition.
int64_t quant_state_bytes(const ParamModule& module, const RunConfig& config);

// Whether the model was built inside deepspeed.zero.Init (ZeRO-3): zero.zero3_init, except for a quantized
// model, which transformers never builds there (modeling_utils.py get_init_context: zero.Init only when
// is_deepspeed_zero3_enabled() and not is_quantized).
bool built_in_zero_init(const RunConfig& config);

}  // namespace zerosim
