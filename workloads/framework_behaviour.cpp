#include "workloads/framework_behaviour.h"

#include <utility>

namespace zerosim {

const char* adapter_dtype_name(AdapterDtype d) {
  switch (d) {
    case AdapterDtype::fp32:
      return "fp32";
    case AdapterDtype::fp32_autocast:
      return "fp32-autocast";
    default:
      return "bf16";
  }
}

namespace {

// Whether peft leaves the adapter weights in fp32. Before 0.7.0 it never cast them: lora_A and lora_B are
// nn.Linear in torch's default fp32, moved to the weight's device only (0.5.x tuners/lora.py
// LoraLayer.update_layer: self.to(self.weight.device); 0.6.x tuners/lora/layer.py update_layer reads
// getattr(self, "weight", None) while Linear.__init__ has skipped nn.Linear's and before
// model.py _replace_module sets the weight, so nothing is cast, and _replace_module moves lora_ modules
// to the device only). 0.7.0 (#1106, the base-layer refactor) to 0.11 cast them to the base weight's dtype
// (update_layer: self.to(weight.device, dtype=weight.dtype)); from 0.12.0 PeftModel.__init__ upcasts
// bf16/fp16 adapters to fp32 again (_cast_adapter_dtype -> tuners_utils.py cast_adapter_dtype) unless
// autocast_adapter_dtype=False.
bool peft_fp32_adapters(const RunConfig& c) {
  if (c.peft.method == PeftMethod::none) return false;
  if (c.versions.peft < Version{0, 7, 0}) return true;
  return c.peft.autocast_adapter_dtype && c.versions.peft >= Version{0, 12, 0};
}

// Whether the engine leaves peft's fp32 adapters alone. engine.py _configure_distributed_model: up to
// 0.19.1 module.bfloat16() / half() casts every parameter; from 0.19.2 _cast_module_mixed_precision skips
// the cast for a zero.Init model (ZeRO-3, parameters with ds_id), and _convert_to_zero_parameters keeps
// the dtype of the parameters peft added after zero.Init.
bool deepspeed_keeps_fp32_adapters(const RunConfig& c) {
  return c.zero.stage == 3 && built_in_zero_init(c) && c.versions.deepspeed >= Version{0, 19, 2};
}

AdapterDtype resolve_adapter_dtype(const RunConfig& c) {
  // fp32 training: peft creates the adapters in (or casts them to) the base weight's fp32; nothing casts.
  if (c.train.precision == Precision::fp32) return AdapterDtype::base;
  // AMP: the adapters are created in (or upcast to) the fp32 of the weights and run under autocast.
  if (fp32_weights(c.train.precision))
    return c.peft.method == PeftMethod::none ? AdapterDtype::base : AdapterDtype::fp32_autocast;
  if (!peft_fp32_adapters(c)) return AdapterDtype::base;
  if (c.train.engine == TrainingEngine::deepspeed)
    // DeepSpeed's bf16/fp16 modes never enable torch.autocast unless ds_config torch_autocast says so
    // (not modelled): the fp32 adapters run in fp32.
    return deepspeed_keeps_fp32_adapters(c) ? AdapterDtype::fp32 : AdapterDtype::base;
  // Without DeepSpeed nothing casts the model back; the *-mixed precisions run under torch.autocast.
  return c.train.precision == Precision::bf16_pure ? AdapterDtype::fp32 : AdapterDtype::fp32_autocast;
}

}  // namespace

FrameworkBehaviour framework_behaviour(const RunConfig& c) {
  FrameworkBehaviour b;
  b.adapter_dtype = resolve_adapter_dtype(c);
  b.foreach_adam_intermediates = c.versions.torch < Version{2, 1, 0} ? 2 : 1;
  b.fp32_weights = fp32_weights(c.train.precision) || c.train.precision == Precision::fp32;
  // peft utils/other.py prepare_model_for_kbit_training: "cast all non INT8 parameters to fp32" (every
  // fp16/bf16 parameter whose class is not Params4bit; peft 0.4+). DeepSpeed's engine then casts every
  // floating parameter back to the precision's dtype (engine.py _configure_distributed_model: module.half()
  // / bfloat16() up to 0.19.1, _cast_module_mixed_precision from 0.19.2; a quantized model is never a
  // zero.Init model: built_in_zero_init), which leaves the packed weights alone (uint8 is not floating; a
  // 16-bit quant storage is already the precision's dtype).
  b.kbit_fp32_params = c.quantization.on() && c.quantization.prepare_kbit_training &&
                       c.train.engine == TrainingEngine::pytorch;
  b.fp32_residual = b.fp32_weights || b.kbit_fp32_params;
  const bool z3 = c.zero.stage == 3 && c.train.engine == TrainingEngine::deepspeed;
  // partition_parameters.py: Init's patch_init_and_builtins installs zero3_linear_wrap
  // (memory_efficient_linear, default true) in every release 0.10.0-0.19.5; from 0.19.4 (#8189)
  // Init(module=...) installs it too, the path deepspeed.initialize takes for a model built outside zero.Init
  // (parameter_offload.py _convert_to_zero_parameters).
  b.zero3_linear_saves_input = z3 && (built_in_zero_init(c) || c.versions.deepspeed >= Version{0, 19, 4});
  b.bnb_4bit_saves_input = c.quantization.on() && c.versions.bitsandbytes < Version{0, 43, 2};
  // partition_parameters.py all_gather_coalesced: num_partitions == 1 (0.10.0-0.19.3) / every parameter's
  // partition world size 1 (0.19.4+) → _no_gather_coalesced; NoGatherHandle sets param.data =
  // ds_tensor.to(device), which is the partition itself on the GPU and a copy from the host with
  // offload_param.
  b.zero3_gathers = z3 && (c.cluster.gpus > 1 || c.zero.offload_param == "cpu");
  // stage_1_and_2.py: up to 0.17.1 backward() allocates the bucket(s) before loss.backward(); from 0.17.2
  // (#6993) process_gradients → backward_prologue (setup_buckets from 0.18.3) allocates them in the first
  // trainable parameter's gradient hook.
  b.ipg_bucket_at_first_gradient = c.versions.deepspeed >= Version{0, 17, 2};
  // stage_1_and_2.py / stage3.py grad_handling_hook: from 0.18.3 (#7665) the first hook of a backward counts
  // the used parameters; 0.18.5-0.18.6 (#7780) every hook does; 0.18.7 (#7886) counts once per backward
  // phase.
  const Version v = c.versions.deepspeed;
  if (c.train.engine == TrainingEngine::deepspeed && c.zero.stage >= 1 && v >= Version{0, 18, 3})
    b.grad_hook_count = v >= Version{0, 18, 5} && v < Version{0, 18, 7} ? GradHookCount::every_hook
                                                                        : GradHookCount::once_per_backward;
  return b;
}

int64_t param_element_bytes(const ParamModule& m, const FrameworkBehaviour& b) {
  const bool adapter =
      m.kind == ModuleKind::lora_a || m.kind == ModuleKind::lora_b || m.kind == ModuleKind::dora_magnitude;
  return adapter ? b.adapter_bytes() : b.base_bytes();
}

bool quantized_module(const ParamModule& m, const RunConfig& c) {
  const QuantSpec& q = c.quantization;
  if (!q.on()) return false;
  if (m.kind == ModuleKind::linear)
    return !q.skips(c.model.layer_linears[static_cast<size_t>(m.linear)].name);
  return m.kind == ModuleKind::lm_head && !c.model.tied_embeddings && !q.skips("lm_head");
}

bool built_in_zero_init(const RunConfig& c) { return c.zero.zero3_init && !c.quantization.on(); }

namespace {

// A quantized module's weight per copy and its output rows (an lm_head's: the vocabulary).
std::pair<int64_t, int64_t> quantized_weight_shape(const ParamModule& m, const RunConfig& c) {
  if (m.kind == ModuleKind::lm_head) return {c.model.vocab * c.model.hidden, c.model.vocab};
  const auto& l = c.model.layer_linears[static_cast<size_t>(m.linear)];
  return {l.d_in * l.d_out, l.d_out};
}

}  // namespace

int64_t quant_state_bytes(const ParamModule& m, const RunConfig& c) {
  if (!quantized_module(m, c)) return 0;
  const auto [weight, rows] = quantized_weight_shape(m, c);
  return quantized_weight_bytes(weight, rows, c.quantization) -
         (c.quantization.int8() ? weight : (weight + 1) / 2);
}

int64_t module_param_bytes(const ParamModule& m, int64_t numel, const RunConfig& c,
                           const FrameworkBehaviour& b) {
  const QuantSpec& q = c.quantization;
  const int64_t element = param_element_bytes(m, b);
  if (!q.on() || m.trainable) return element * numel;
  // prepare_model_for_kbit_training casts every 16-bit parameter that is not Params4bit to fp32, unless
  // DeepSpeed's engine casts them back (framework_behaviour).
  const int64_t other = b.kbit_fp32_params ? 4 : element;
  if (!quantized_module(m, c)) return other * numel;
  const auto [weight, rows] = quantized_weight_shape(m, c);
  // Each expert's weight is packed on its own; the bias stays as it was.
  const int64_t weights = numel >= m.numel ? m.copies : 1;
  return weights * quantized_weight_bytes(weight, rows, q) + other * (numel - weights * weight);
}

}  // namespace zerosim
