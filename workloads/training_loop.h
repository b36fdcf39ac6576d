#pragma once
// The training loop around forward, backward and the optimizer step (train.loop): HF Trainer's host work on
// every micro-step, which the simulation puts on the training thread beside the kernels it launches
// (docs/time-model.md, "The training loop"). No SimGrid here.
#include <cstdint>

#include "workloads/run_config.h"

namespace zerosim {

// Host seconds per nn.Module that Module.train() visits (a recursive walk, one __setattr__ of `training`
// per module). unslothai/unsloth PR #10744 (2026, a PEFT-wrapped Qwen3.5-9B under HF Trainer on a B200
// node, Xeon Platinum 8562Y+): "a recursive walk over 2,099 modules with a __setattr__ each, about 54 ms of
// Python per step while the GPU waits", 4 micro-steps per step: 54 ms / (4 x 2,099) = 6.43 µs per module.
inline constexpr double kTrainModeSecondsPerModule = 54e-3 / (4.0 * 2099.0);

// The nn.Modules of the model the loop calls .train() on: transformers' module tree of the family (the
// causal-LM head, the base model, embedding, layer list, final norm, lm_head and a model-level rotary
// module; per layer the layer, its attention and MLP containers, activation, norms and every linear, each
// expert of a mixture of experts with its own container and activation), peft's wrappers (PeftModel and
// LoraModel; per adapted linear the lora.Linear layer, lora_dropout, lora_A and lora_B with their
// ModuleDicts, lora_embedding_A/B and, from peft 0.12, lora_magnitude_vector; DoRA's DoraLinearLayer, a
// ParameterDict before 0.12; ModulesToSaveWrapper, its ModuleDict and the trained copy per saved module),
// and the DeepSpeed engine or DDP module that wraps the model. Dropout and helper modules that only some
// families have (Qwen-v1's attn_dropout, MPT's resid dropouts) are not counted: a few per layer.
int64_t module_tree_size(const RunConfig& config);

// The host work the loop adds to each micro-step.
struct LoopHostWork {
  // HF Trainer.training_step calls model.train() first, on every micro-step (trainer.py, every release
  // zerosim models, 4.36-4.56).
  double train_mode_walk_s = 0;
  // train.loss_sync: the loop reads the micro-step's loss on the host, and bool() or .item() of a CUDA tensor
  // copies it to the host, so the training thread waits for the GPU. HF Trainer._inner_training_loop with
  // logging_nan_inf_filter (its default) evaluates `torch.isnan(tr_loss_step) or torch.isinf(tr_loss_step)`
  // after each training_step; a hand-written loop's `loss.item()` does the same.
  bool loss_sync = false;
  // Where the boundary micro-step's read sits: before the optimizer step (HF Trainer without DeepSpeed, whose
  // training_step returns after backward) or after it (under DeepSpeed accelerate's backward runs
  // engine.step() inside training_step; a plain loop logs the loss after its step).
  bool sync_before_update = false;
};
LoopHostWork loop_host_work(const RunConfig& config);

}  // namespace zerosim
