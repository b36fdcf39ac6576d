// Mixture of experts (Mixtral's sparse MoE block) on a tiny model counted by hand: hidden h = 64,
// intermediate i = 128, 2 layers, 4 heads, 2 KV heads, vocab 100, 4 experts, top-2; T = 32 tokens (one
// sequence of 32); LoRA r = 4 on the experts' w1 (dropout 0). Every token crosses 2 experts: T·k = 64 token
// rows per expert linear per layer, 16 per expert under balanced routing.
#include <catch2/catch.hpp>

#include "program_ops.h"
#include "test_support.h"
#include "workloads/framework_behaviour.h"
#include "workloads/memory_model.h"
#include "workloads/param_inventory.h"
#include "workloads/step_program.h"
#include "workloads/zero3_schedule.h"

using namespace zerosim;
using zerosim::testing::find_op;
using zerosim::testing::TempDir;

namespace {

struct TinyMoe {
  TempDir dir;
  std::string model = dir.write("moe/config.json",
                                R"({"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 128,
      "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
      "num_local_experts": 4, "num_experts_per_tok": 2})");
  RunConfig config(const std::string& extra = "") const {
    return run_config_from_yaml(YAML::Load("model: " + model +
                                           "\npeft: {method: lora, r: 4, alpha: 8, target_modules: [w1]}\n"
                                           "train: {micro_batch: 1, seq_len: 32}\n"
                                           "cluster: {gpu: a100-80gb-sxm, gpus: 1}\n" +
                                           extra),
                                dir.path("moe.yaml"));
  }
};

}  // namespace

TEST_CASE("MoE parameters: one module per expert linear stands for every expert", "[moe][params]") {
  TinyMoe t;
  const RunConfig c = t.config();
  const std::vector<ParamModule> mods = param_modules(c.model, c.peft);
  const auto find = [&](const std::string& name) {
    for (const auto& m : mods)
      if (m.name == name) return m;
    FAIL("no module " << name);
    return mods.front();
  };
  // w1: 4 experts x 64 x 128 = 32,768; its LoRA: A 4 x 4 x 64 = 1,024, B 4 x 128 x 4 = 2,048.
  const ParamModule w1 = find("layers.0.w1");
  CHECK(w1.numel == 32'768);
  CHECK(w1.copies == 4);
  CHECK(w1.largest_tensor == 8'192);
  CHECK(w1.tensor_numels() == std::vector<int64_t>(4, 8'192));
  CHECK(find("layers.0.w1.lora_A").numel == 1'024);
  CHECK(find("layers.0.w1.lora_B").numel == 2'048);
  CHECK(find("layers.0.gate").numel == 256);  // the router, 64 x 4
  CHECK(count_params(mods).trainable == 2 * 3'072);
  // ZeRO-3 checks each expert's weight against the persistence threshold on its own: 8,192 elements stay
  // whole under the default 1e5, and are all gathered with a threshold of 0.
  CHECK(zero3_gathered_numel(w1, 100'000) == 0);
  CHECK(zero3_gathered_numel(w1, 0) == 32'768);
  // The optimizer walks each expert's A and B: 8 tensors per layer.
  CHECK(optimizer_partition_tensors(mods, 0, 1).size() == 16);
  // QLoRA packs each expert's weight: NF4 ⌈8,192/2⌉ + 4·⌈8,192/64⌉ = 4,608 B each, 18,432 for the four.
  const RunConfig q = t.config("quantization: {method: nf4}\n");
  CHECK(module_param_bytes(w1, w1.numel, q, framework_behaviour(q)) == 18'432);
}

TEST_CASE("MoE step: the experts' ops stand for every expert on its share of the tokens", "[moe][step]") {
  TinyMoe t;
  const RunConfig c = t.config();
  const StepProgram p = build_step_program(c);
  // w1's forward GEMM: 2·(T·k)·64·128 = 2·64·64·128 = 1,048,576 FLOPs over the 4 experts; keyed by one
  // expert's 16 rows; bytes (64·64 + 64·128 + 64·128 + 64·128 ... ) as a dense GEMM of 64 rows, (64·64 +
  // 8,192 + 64·128)·2 = 40,960, plus the 3 further experts' weights 3·8,192·2 = 49,152: 90,112.
  const ComputeOp& w1 = find_op(p, "L0.w1.linear_fwd");
  CHECK(w1.flops == 1'048'576.0);
  CHECK(w1.tokens == 16);
  CHECK(w1.instances == 4);
  CHECK(w1.bytes == 90'112.0);
  CHECK(w1.kernels == 4);  // one GEMM per expert
  // SwiGLU over the 64 routed rows keeps gate, silu(gate) and up: 3·2·64·128 = 49,152.
  const ComputeOp& act = find_op(p, "L0.swiglu_fwd");
  CHECK(act.saved_bytes == 49'152);
  CHECK(act.instances == 4);
  // Layer 0's input needs no gradient and its router is frozen: the routing weights need none, so neither
  // softmax nor the combine's product keeps anything. In layer 1 (its input comes out of layer 0's adapted
  // experts) softmax keeps its fp32 output 4·T·E = 512 and topk its int64 indices 8·T·k = 512, and
  // expert_out * routing_weights keeps the experts' outputs for the weights' gradient: 2·64·64 = 8,192.
  CHECK(find_op(p, "L0.moe_route_fwd").saved_bytes == 0);
  CHECK(find_op(p, "L0.moe_combine_fwd").saved_bytes == 0);
  const ComputeOp& route = find_op(p, "L1.moe_route_fwd");
  CHECK(route.saved_bytes == 1'024);
  CHECK(find_op(p, "L1.moe_combine_fwd").saved_bytes == 8'192);
  // Reading the first expert's mask count (torch.where) makes the host wait for the GPU.
  CHECK(route.host_sync);
  CHECK(find_op(p, "L0.moe_dispatch_fwd").instances == 4);
  // w1's LoRA runs per expert on the same 16 rows.
  CHECK(find_op(p, "L0.w1.lora_fwd").tokens == 16);
  // The backward: combine, w2, SwiGLU, w1 (and its LoRA), dispatch, route, router, in that order.
  std::vector<std::string> order;
  for (const auto& op : p.backward)
    if (op.layer == 1 &&
        (op.name.find("moe_") != std::string::npos || op.name.find("gate.") != std::string::npos))
      order.push_back(op.name);
  CHECK(order == std::vector<std::string>{"L1.moe_combine_bwd", "L1.moe_dispatch_bwd", "L1.moe_route_bwd",
                                          "L1.gate.linear_dx"});
}

TEST_CASE("MoE with 8-bit experts: each expert's int8 weight read and dequantized on its own",
          "[moe][int8]") {
  TinyMoe t;
  const StepProgram p = build_step_program(t.config("quantization: {method: int8, threshold: 0}\n"));
  // w1's int8 GEMM reads the 64 routed rows (int8, 64·64), one expert's weight (8,192) and writes the int32
  // result (4·64·128 = 32,768): 4,096 + 8,192 + 32,768 = 45,056 B, plus the 3 further experts' int8 weights
  // (3·8,192 = 24,576): 69,632 B.
  const ComputeOp& w1 = find_op(p, "L1.w1.linear_fwd");
  CHECK(w1.op == "linear_fwd_int8");
  CHECK(w1.instances == 4);
  CHECK(w1.bytes == 69'632.0);
  // dX dequantizes each expert's weight: 4 instances, one expert's copy live at a time.
  const ComputeOp& dq = find_op(p, "L1.w1.dequantize_bwd");
  CHECK(dq.op == "int8_dequantize_weight");
  CHECK(dq.instances == 4);
}

TEST_CASE("MoE memory and time run through the simulator's paths", "[moe][memory]") {
  TinyMoe t;
  const MemoryResult m = predict_memory(t.config());
  CHECK(m.peak_allocated_bytes > 0);
  CHECK(m.unmatched_release_bytes == 0);
  // A dense model of the same shapes (one expert, top-1) holds less: the experts' weights are 4x.
  TinyMoe d;
  d.model = d.dir.write("dense/config.json",
                        R"({"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 128,
      "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
      "num_local_experts": 1, "num_experts_per_tok": 1})");
  CHECK(predict_memory(d.config()).states.frozen_params < m.states.frozen_params);
}
