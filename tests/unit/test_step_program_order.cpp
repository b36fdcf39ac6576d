// The order in which one decoder layer's backward ops run, written out by hand from the layer's
// structure: autograd runs the forward ops' backwards in reverse, so each non-linear op (norm,
// rotary, attention, activation) sits between the backward ops of the linears that feed it and the
// linears it feeds. Checked for LLaMA (q/k/v, o, gate/up, down), Qwen v1 (c_attn, c_proj, w2/w1,
// and c_proj again as the MLP output) and MPT (Wqkv, out_proj, GELU up/down, no rotary).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_support.h"
#include "workloads/run_config.h"
#include "workloads/step_program.h"

using namespace zerosim;
using zerosim::testing::test_data;

namespace {

// No dropout, no activation checkpointing, flash attention; T = 1 · 64 tokens.
StepProgram program(const std::string& model, const std::string& peft) {
  const std::string yaml = "model: " + test_data("models/" + model) + "\npeft: " + peft +
                           "\ntrain: {micro_batch: 1, seq_len: 64, activation_checkpointing: false,"
                           " flash_attention: true}\ncluster: {gpu: a100-80gb-sxm, gpus: 1}\n";
  return build_step_program(run_config_from_yaml(YAML::Load(yaml), "order.yaml", {}));
}

// Names of layer 0's backward ops in execution order, without the "L0." prefix.
std::vector<std::string> layer0_backward(const StepProgram& p) {
  std::vector<std::string> names;
  for (const ComputeOp& op : p.backward)
    if (op.layer == 0 && op.phase == Phase::backward) names.push_back(op.name.substr(3));
  return names;
}

const char* kFull = "{method: none}";

}  // namespace

TEST_CASE("LLaMA layer 0, DoRA on q and v: no input gradient below the first adapted projections",
          "[step_program][order]") {
  // Layer 0's input (the frozen embedding's output) needs no gradient, so q, k, v get no linear_dx and
  // the input norm no backward; k is frozen and unused by backward. Everything from the attention on
  // requires grad (q and v are adapted), so o, gate, up, down each pass dX back.
  const std::vector<std::string> expected = {
      "down_proj.linear_dx",     "swiglu_bwd",       "up_proj.linear_dx",       "gate_proj.linear_dx",
      "post_attention_norm.bwd", "o_proj.linear_dx", "attention_bwd",           "rotary_bwd",
      "v_proj.dora_combine_bwd", "v_proj.lora_bwd",  "q_proj.dora_combine_bwd", "q_proj.lora_bwd"};
  CHECK(layer0_backward(
            program("tiny-llama.json", "{method: dora, r: 4, alpha: 8, target_modules: [q_proj, v_proj]}")) ==
        expected);
}

TEST_CASE("LLaMA layer 0, full fine-tuning: every linear's dW and dX, every norm's backward",
          "[step_program][order]") {
  const std::vector<std::string> expected = {
      "down_proj.linear_dw", "down_proj.linear_dx", "swiglu_bwd",          "up_proj.linear_dw",
      "up_proj.linear_dx",   "gate_proj.linear_dw", "gate_proj.linear_dx", "post_attention_norm.bwd",
      "o_proj.linear_dw",    "o_proj.linear_dx",    "attention_bwd",       "rotary_bwd",
      "v_proj.linear_dw",    "v_proj.linear_dx",    "k_proj.linear_dw",    "k_proj.linear_dx",
      "q_proj.linear_dw",    "q_proj.linear_dx",    "input_norm.bwd"};
  CHECK(layer0_backward(program("tiny-llama.json", kFull)) == expected);
}

TEST_CASE("Qwen v1 layer 0: the MLP's c_proj runs its backward before the SwiGLU's",
          "[step_program][order]") {
  // c_proj names both the attention output and the MLP output; their order comes from the model's
  // structure, not from the names. w2 is the gate branch, w1 the up branch (forward order w2, w1).
  SECTION("DoRA on c_attn") {
    const std::vector<std::string> expected = {
        "c_proj.linear_dx",        "swiglu_bwd",       "w1.linear_dx",  "w2.linear_dx",
        "post_attention_norm.bwd", "c_proj.linear_dx", "attention_bwd", "rotary_bwd",
        "c_attn.dora_combine_bwd", "c_attn.lora_bwd"};
    CHECK(layer0_backward(program("qwen-7b.json",
                                  "{method: dora, r: 8, alpha: 16, target_modules: [c_attn]}")) == expected);
  }
  SECTION("full fine-tuning") {
    const std::vector<std::string> expected = {
        "c_proj.linear_dw", "c_proj.linear_dx", "swiglu_bwd",    "w1.linear_dw",
        "w1.linear_dx",     "w2.linear_dw",     "w2.linear_dx",  "post_attention_norm.bwd",
        "c_proj.linear_dw", "c_proj.linear_dx", "attention_bwd", "rotary_bwd",
        "c_attn.linear_dw", "c_attn.linear_dx", "input_norm.bwd"};
    CHECK(layer0_backward(program("qwen-7b.json", kFull)) == expected);
  }
}

TEST_CASE("MPT layer 0, full fine-tuning: GELU between up and down, no rotary", "[step_program][order]") {
  const std::vector<std::string> expected = {
      "down_proj.linear_dw", "down_proj.linear_dx",     "gelu_bwd",           "up_proj.linear_dw",
      "up_proj.linear_dx",   "post_attention_norm.bwd", "out_proj.linear_dw", "out_proj.linear_dx",
      "attention_bwd",       "Wqkv.linear_dw",          "Wqkv.linear_dx",     "input_norm.bwd"};
  CHECK(layer0_backward(program("mpt-7b.json", kFull)) == expected);
}

// DoRA's weight norm reads and writes d_in x d_out tensors in the adapters' dtype (peft dora.py), worked for
// d_in = d_out = 4096, r = 16: i² = io = 16,777,216, narrow products 2·i·r + 2·r·o = 262,144 elements.
TEST_CASE("DoRA weight-norm bytes follow the adapters' dtype", "[step_program][dora]") {
  // bf16: 2·(2·i² + 7·io) + 2·262,144 = 2·150,994,944 + 524,288 = 302,514,176 B.
  CHECK(zerosim::dora_weight_norm_bytes(4096, 4096, 16) == Approx(302'514'176.0));
  // fp32: 8·i² + 34·io + 4·262,144 = 134,217,728 + 570,425,344 + 1,048,576 = 705,691,648 B.
  CHECK(zerosim::dora_weight_norm_bytes(4096, 4096, 16, zerosim::AdapterDtype::fp32) ==
        Approx(705'691'648.0));
  // fp32 under autocast: 12·i² + 38·io + 2·262,144 = 201,326,592 + 637,534,208 + 524,288 = 839,385,088 B.
  CHECK(zerosim::dora_weight_norm_bytes(4096, 4096, 16, zerosim::AdapterDtype::fp32_autocast) ==
        Approx(839'385'088.0));
}
