#include "workloads/training_loop.h"

namespace zerosim {

namespace {

// Modules peft adds around one adapted linear (peft tuners/lora/layer.py LoraLayer.__init__ and
// update_layer): the lora.Linear layer itself, lora_dropout (a ModuleDict and its Dropout or Identity),
// lora_A and lora_B (a ModuleDict and a Linear each), lora_embedding_A and lora_embedding_B
// (ParameterDicts, modules too); from 0.12 lora_magnitude_vector is a ModuleDict on every layer, and DoRA
// puts a DoraLinearLayer in it; before 0.12 DoRA alone created it, as a ParameterDict. Before 0.7.0 (#1106)
// lora.Linear was the nn.Linear itself, replacing the original instead of wrapping it as base_layer.
int64_t peft_modules_per_adapted_linear(const RunConfig& c) {
  const bool modern = c.versions.peft >= Version{0, 12, 0};
  const bool wraps_base_layer = c.versions.peft >= Version{0, 7, 0};
  int64_t n = 8 + (wraps_base_layer ? 1 : 0) + (modern ? 1 : 0);
  if (c.peft.method == PeftMethod::dora) n += 1;
  return n;
}

}  // namespace

int64_t module_tree_size(const RunConfig& c) {
  const ModelSpec& m = c.model;
  // XForCausalLM, XModel, embed_tokens, the layers' ModuleList, the final norm, lm_head (a module even when
  // its weight is tied), the model-level rotary embedding.
  int64_t n = 6 + (m.rotary ? 1 : 0);
  for (int layer = 0; layer < m.layers; ++layer) {
    // The decoder layer, its attention and MLP containers, the norms.
    n += 3 + m.norms_per_layer();
    // A dense MLP's activation module; a sparse block's experts ModuleList and, per expert, its container
    // and activation (transformers MixtralSparseMoeBlock, MixtralBlockSparseTop2MLP).
    n += m.moe() ? 1 + 2 * m.experts : 1;
    for (size_t i = 0; i < m.layer_linears.size(); ++i) {
      const LinearSpec& l = m.layer_linears[i];
      n += l.experts;
      if (c.peft.adapts(layer, i)) n += l.experts * peft_modules_per_adapted_linear(c);
    }
  }
  if (c.peft.method != PeftMethod::none) {
    n += 2;                                              // PeftModelForCausalLM and LoraModel
    n += 3 * static_cast<int64_t>(c.peft.saved.size());  // ModulesToSaveWrapper, its ModuleDict, the copy
  }
  // HF Trainer calls train() on model_wrapped: the DeepSpeed engine, or DDP over more than one GPU.
  if (c.train.engine == TrainingEngine::deepspeed || c.cluster.gpus > 1) n += 1;
  return n;
}

LoopHostWork loop_host_work(const RunConfig& c) {
  LoopHostWork w;
  const bool hf = c.train.loop == TrainingLoop::hf_trainer;
  if (hf) w.train_mode_walk_s = kTrainModeSecondsPerModule * static_cast<double>(module_tree_size(c));
  w.loss_sync = c.train.syncs_on_loss();
  w.sync_before_update = hf && c.train.engine == TrainingEngine::pytorch;
  return w;
}

}  // namespace zerosim
