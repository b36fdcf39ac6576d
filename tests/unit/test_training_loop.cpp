// The training loop's host work (train.loop, train.loss_sync; docs/time-model.md, "The training loop"),
// counted by hand on the tiny LLaMA of tiny_llama.h: 2 layers of 7 linears, RMSNorm, rotary; DoRA r = 4 on
// q_proj and v_proj.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/step_graph.h"
#include "workloads/step_program.h"
#include "workloads/training_loop.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::TinyLlama;

namespace {

// The compute stream's hook tasks, in order, by name.
std::vector<std::string> hooks(const RunConfig& c) {
  const StepGraph g = build_step_graph(c, build_step_program(c));
  std::vector<std::string> out;
  for (const TaskId v : g.compute_order)
    if (g.graph[v].kind == TaskKind::hook) out.push_back(g.graph[v].name + (g.graph[v].host_sync ? "!" : ""));
  return out;
}

}  // namespace

TEST_CASE("module_tree_size counts transformers' and peft's modules", "[loop]") {
  TinyLlama tiny;
  // Top: LlamaForCausalLM, LlamaModel, embed_tokens, the layers' ModuleList, norm, lm_head, rotary_emb = 7.
  // Per layer: the layer, self_attn, mlp, two RMSNorms, act_fn, 7 linears = 13; 2 layers = 26.
  // DoRA on q and v (peft 0.20): per adapted linear the lora.Linear, lora_dropout + Identity, lora_A +
  // Linear, lora_B + Linear, lora_embedding_A, lora_embedding_B, lora_magnitude_vector, DoraLinearLayer =
  // 11; 4 adapted linears = 44. PeftModelForCausalLM + LoraModel = 2. The DeepSpeed engine = 1.
  // 7 + 26 + 44 + 2 + 1 = 80.
  CHECK(module_tree_size(tiny.config()) == 80);
  // LoRA: no DoraLinearLayer, 10 per adapted linear: 80 - 4 = 76.
  CHECK(module_tree_size(tiny.config({{"peft.method", "lora"}})) == 76);
  // peft 0.9: lora_magnitude_vector only for DoRA (a ParameterDict): DoRA 10, LoRA 9 per adapted linear.
  CHECK(module_tree_size(tiny.config({{"versions.peft", "0.9.0"}})) == 76);
  CHECK(module_tree_size(tiny.config({{"versions.peft", "0.9.0"}, {"peft.method", "lora"}})) == 72);
  // peft 0.6 (before #1106): lora.Linear is the nn.Linear itself, no base_layer: 8 per adapted linear, 72
  // - 4.
  CHECK(module_tree_size(tiny.config({{"versions.peft", "0.6.2"}, {"peft.method", "lora"}})) == 68);
  // Without DeepSpeed on one GPU nothing wraps the model: 79; on two, DistributedDataParallel does.
  CHECK(module_tree_size(tiny.config({{"train.engine", "pytorch"}})) == 79);
  // Full fine-tuning: the model and the engine, 7 + 26 + 1 = 34.
  CHECK(module_tree_size(tiny.config({{"peft.method", "none"}})) == 34);
  // modules_to_save: ModulesToSaveWrapper, its ModuleDict and the trained copy, 3 each.
  CHECK(module_tree_size(tiny.config({{"peft.modules_to_save", "[lm_head]"}})) == 83);
}

TEST_CASE("HF Trainer's model.train() costs 54 ms / (4 x 2,099) per module", "[loop]") {
  TinyLlama tiny;
  const LoopHostWork w = loop_host_work(tiny.config());
  // unsloth #10744: 4 walks of 2,099 modules in 54 ms: 6.4316 µs per module; 80 modules: 514.5 µs.
  CHECK(w.train_mode_walk_s == Approx(80 * 54e-3 / (4 * 2099)).epsilon(1e-12));
  CHECK(w.train_mode_walk_s == Approx(514.5e-6).epsilon(1e-3));
  CHECK(w.loss_sync);                 // logging_nan_inf_filter's default
  CHECK_FALSE(w.sync_before_update);  // under DeepSpeed engine.step() runs inside training_step
  CHECK(loop_host_work(tiny.config({{"train.engine", "pytorch"}})).sync_before_update);
  const LoopHostWork plain = loop_host_work(tiny.config({{"train.loop", "plain"}}));
  CHECK(plain.train_mode_walk_s == 0.0);
  CHECK_FALSE(plain.loss_sync);
  CHECK(loop_host_work(tiny.config({{"train.loop", "plain"}, {"train.loss_sync", "true"}})).loss_sync);
  CHECK_FALSE(loop_host_work(tiny.config({{"train.loss_sync", "false"}})).loss_sync);
}

TEST_CASE("the step graph: a walk before every micro-step, a loss read after each", "[loop]") {
  TinyLlama tiny;
  // Three micro-steps under DeepSpeed: micro-steps 1 and 2 start with model.train(); 0 and 1 end with the
  // loss read ("!": it waits for the GPU); the boundary's comes after engine.step(), and the next step's
  // first walk after it.
  CHECK(hooks(tiny.config({{"train.grad_accum", "3"}})) ==
        std::vector<std::string>{"m0.loop.loss_sync!", "m1.trainer.model_train", "m1.loop.loss_sync!",
                                 "m2.trainer.model_train", "m2.loop.loss_sync!",
                                 "m2.trainer.model_train.next_step"});
  // Without DeepSpeed the boundary's read comes before the optimizer: the same hooks, and the update
  // between the last two.
  const RunConfig amp = tiny.config({{"train.grad_accum", "3"}, {"train.engine", "pytorch"}});
  const StepGraph g = build_step_graph(amp, build_step_program(amp));
  std::vector<std::string> tail;
  for (const TaskId v : g.compute_order) tail.push_back(g.graph[v].name);
  tail.erase(tail.begin(), tail.end() - 3);
  CHECK(tail == std::vector<std::string>{"m2.loop.loss_sync", "m2.optimizer.adam_step",
                                         "m2.trainer.model_train.next_step"});
  // A plain loop adds nothing; with loss_sync it reads the loss after every micro-step.
  CHECK(hooks(tiny.config({{"train.loop", "plain"}})).empty());
  CHECK(
      hooks(tiny.config({{"train.loop", "plain"}, {"train.loss_sync", "true"}, {"train.grad_accum", "2"}})) ==
      std::vector<std::string>{"m0.loop.loss_sync!", "m1.loop.loss_sync!"});
}

TEST_CASE("train.loop and train.loss_sync refuse what they do not know", "[loop][config]") {
  TinyLlama tiny;
  const std::string loop = config_error_message([&] { tiny.config({{"train.loop", "trainer"}}); });
  CHECK_THAT(loop, Catch::Contains("train.loop"));
  CHECK_THAT(loop, Catch::Contains("hf-trainer"));
  CHECK_THAT(loop, Catch::Contains("plain"));
  const std::string sync = config_error_message([&] { tiny.config({{"train.loss_sync", "sometimes"}}); });
  CHECK_THAT(sync, Catch::Contains("train.loss_sync"));
}
