// peft adapter_config.json fields through the binary (issue 13): real adapter files under
// tests/data/adapters/, counted as peft counts them (docs/inputs.md), and the memory model's share of
// the extra trainable parameters.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "unit/test_support.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::source_path;
using zerosim::testing::TempDir;

namespace {

// The names of rank 0's compute-track events of `zerosim simulate ARGS --trace` (the trace is removed).
std::vector<std::string> rank0_compute_ops(const std::string& args, const std::string& trace) {
  const auto r = run_zerosim("simulate " + args + " --trace " + trace + " --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(trace);
  const auto t = nlohmann::json::parse(in);
  std::remove(trace.c_str());
  std::vector<std::string> names;
  for (const auto& e : t["traceEvents"])
    if (e["ph"] == "X" && e["pid"] == 0 && e["tid"] == 0) names.push_back(e["name"]);
  return names;
}

struct Run {
  int exit_code;
  nlohmann::json json;
  std::string err;
};

Run memory_with(const std::string& adapter, const std::string& sets = "") {
  TempDir dir;
  const std::string config = dir.write(
      "run.yaml", "model: llama2-7b\ncluster: {gpus: 1}\npeft: {adapter: " +
                      source_path("tests/data/adapters/" + adapter + "/adapter_config.json") + "}\n");
  const auto r = run_zerosim("memory --format json --config " + config + sets);
  return {r.exit_code, r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json(), r.err};
}

}  // namespace

TEST_CASE("adapter_config.json rank_pattern {q_proj: 64}: 21,233,664 trainable", "[integration][peft]") {
  const Run r = memory_with("llama2-7b-dora-rank-pattern");
  REQUIRE(r.exit_code == 0);
  // q: 32·(64·8192 + 4096) = 16,908,288; v: 32·(16·8192 + 4096) = 4,325,376.
  CHECK(r.json["params"]["trainable"] == 21'233'664);
  CHECK(r.json["config"]["peft"]["rank_pattern"]["q_proj"] == 64);
  CHECK(r.err.empty());  // base_model_name_or_path is meta-llama/Llama-2-7b-hf: no warning
}

TEST_CASE("adapter_config.json regex naming layer 0's q_proj adapts one module", "[integration][peft]") {
  const Run r = memory_with("llama2-7b-dora-layer0-regex");
  REQUIRE(r.exit_code == 0);
  CHECK(r.json["params"]["trainable"] == 135'168);  // 16·4096 + 4096·16 + 4096
  CHECK(r.json["config"]["peft"]["layers_adapted"] == nlohmann::json::array({0}));
}

TEST_CASE("modules_to_save lm_head + embed_tokens: trainable copies with gradients and Adam states",
          "[integration][peft]") {
  // Trainable: 8,650,752 (DoRA q,v r=16) + 2·32000·4096 = 270,794,752.
  constexpr int64_t kTrainable = 270'794'752;
  const Run z0 = memory_with("llama2-7b-dora-modules-to-save", " --set zero.stage=0");
  REQUIRE(z0.exit_code == 0);
  CHECK(z0.json["params"]["trainable"] == kTrainable);
  CHECK(z0.json["params"]["frozen"] == 6'738'415'616);
  // Stage 0, one GPU: bf16 copies 2 B/param, fp32 master + Adam m, v 12 B/param.
  CHECK(z0.json["memory"]["breakdown"]["trainable_params"] == 2 * kTrainable);
  CHECK(z0.json["memory"]["breakdown"]["optimizer_states"] == 12 * kTrainable);
  // Stage 2 on 8 GPUs: the flat partition 270,794,752 / 8 = 33,849,344 → 12 · 33,849,344 = 406,192,128.
  const Run z2 = memory_with("llama2-7b-dora-modules-to-save", " --set zero.stage=2 --set cluster.gpus=8");
  REQUIRE(z2.exit_code == 0);
  CHECK(z2.json["memory"]["breakdown"]["optimizer_states"] == 406'192'128);
}

TEST_CASE("base_model_name_or_path naming another model: one warning line, JSON too", "[integration][peft]") {
  const Run r = memory_with("mistral-7b-dora-qv");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::StartsWith("zerosim: warning: ") && Catch::Contains("mistralai/Mistral-7B-v0.1") &&
                        Catch::Contains("llama2-7b"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.json["warnings"].size() == 1);
}

TEST_CASE("run config peft: rank_pattern and modules_to_save; refused keys exit 2", "[integration][peft]") {
  TempDir dir;
  const std::string ok = dir.write("ok.yaml",
                                   "model: llama2-7b\ncluster: {gpus: 1}\n"
                                   "peft: {method: dora, r: 16, rank_pattern: {q_proj: 64}}\n");
  const auto r = run_zerosim("memory --format json --config " + ok);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["params"]["trainable"] == 21'233'664);
  const std::string bad = dir.write("bad.yaml",
                                    "model: qwen2-7b\ncluster: {gpus: 1}\n"
                                    "peft: {method: lora, r: 8, bias: all}\n");
  const auto b = run_zerosim("memory --config " + bad);
  CHECK(b.exit_code == 2);
  CHECK_THAT(b.err, Catch::Contains(bad) && Catch::Contains("'peft.bias'") && Catch::Contains("allowed"));
  const std::string rep =
      dir.write("adapter_config.json", R"({"r": 8, "layer_replication": [[0, 16], [8, 32]]})");
  const std::string cfg = dir.write("rep.yaml", "model: llama2-7b\npeft: {adapter: " + rep + "}\n");
  const auto e = run_zerosim("memory --config " + cfg);
  CHECK(e.exit_code == 2);
  CHECK_THAT(e.err, Catch::Contains(rep) && Catch::Contains("'layer_replication'"));
}

TEST_CASE("Phi-3-mini: DoRA on the fused qkv_proj and gate_up_proj modules", "[peft][model]") {
  const auto r = run_zerosim(
      "memory --config workloads/configs/seed-dora-7b.yaml --set model=phi3-mini "
      "--set 'peft.target_modules=[qkv_proj, gate_up_proj]' --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  // r = 16 over 32 layers: qkv_proj 16 x (3072 + 9216) + magnitude 9216 = 205,824; gate_up_proj
  // 16 x (3072 + 16384) + 16384 = 327,680; (205,824 + 327,680) x 32 = 17,072,128.
  CHECK(j["params"]["trainable"] == 17'072'128);
  CHECK(j["params"]["frozen"] == 3'821'079'552);
}

TEST_CASE("Gemma-2: four norms per layer and soft-capped logits in the step; what is not modelled is exit 2",
          "[peft][model]") {
  const std::string args = "--config workloads/configs/seed-dora-7b.yaml --set model=gemma2-9b";
  const std::string base = "simulate " + args;
  int64_t norms = 0, softcap = 0;
  for (const std::string& name :
       rank0_compute_ops(args + " --set train.seq_len=512", "/tmp/zerosim-test-gemma2-trace.json")) {
    norms += name.rfind("L5.", 0) == 0 && name.find("norm.fwd") != std::string::npos;
    softcap += name.rfind("loss.logit_softcap", 0) == 0;
  }
  CHECK(norms == 4);    // input, attention output, pre-MLP, MLP output
  CHECK(softcap == 2);  // forward and backward
  auto r = run_zerosim(base + " --set train.loss=chunked");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.loss") && Catch::Contains("final_logit_softcapping"));
  r = run_zerosim(base + " --set train.flash_attention=false");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.flash_attention"));
  r = run_zerosim(base + " --set train.seq_len=8192");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.seq_len") && Catch::Contains("sliding window (4096)"));
}

TEST_CASE("Mixtral-8x7B: LoRA on every expert, QLoRA storage, and the experts' ops in the step",
          "[peft][model][moe]") {
  const std::string base =
      "--config workloads/configs/seed-dora-7b.yaml --set model=mixtral-8x7b --set peft.method=lora "
      "--set 'peft.target_modules=[w1, w2, w3]' --set quantization.method=nf4 --set train.seq_len=512";
  const auto r = run_zerosim("memory " + base + " --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  // r = 16 on 8 experts x (w1, w3: 16 x (4096 + 14336); w2: 16 x (14336 + 4096)) = 8 x 3 x 294,912 =
  // 7,077,888 per layer, x 32 = 226,492,416.
  CHECK(j["params"]["trainable"] == 226'492'416);
  CHECK(j["params"]["frozen"] == 46'702'792'704);
  int64_t routes = 0, combines = 0;
  for (const std::string& name : rank0_compute_ops(base, "/tmp/zerosim-test-mixtral-trace.json")) {
    routes += name.find("L3.moe_route_fwd") != std::string::npos;
    combines += name.find("L3.moe_combine_") != std::string::npos;
  }
  CHECK(routes >= 1);
  CHECK(combines >= 2);  // forward and backward
}

TEST_CASE("a Mixtral config.json the MoE block cannot take is exit 2 naming file and key",
          "[model][moe][errors]") {
  TempDir dir;
  const std::string model = dir.write(
      "m/config.json",
      R"({"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
          "num_attention_heads": 4, "vocab_size": 100, "num_local_experts": 2, "num_experts_per_tok": 3})");
  const auto r = run_zerosim("memory --config workloads/configs/seed-dora-7b.yaml --set model=" + model);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("config.json") && Catch::Contains("num_experts_per_tok"));
}
