// The run config (docs/architecture.md): documented defaults, --set overrides, DeepSpeed ds_config.json with
// HF "auto" values, and every bad input of issue 2 as a ConfigError naming file, key and allowed values.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "workloads/deepspeed_config.h"
#include "workloads/run_config.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;

namespace {

RunConfig from_text(const std::string& yaml, const std::vector<Override>& overrides = {}) {
  return run_config_from_yaml(YAML::Load(yaml), "run.yaml", overrides);
}

// Loads a run config written to a real file (so messages carry its path and YAML line numbers).
std::string error_of_file(const TempDir& dir, const std::string& yaml,
                          const std::vector<Override>& overrides = {}) {
  const std::string path = dir.write("run.yaml", yaml);
  return config_error_message([&] { load_run_config(path, overrides); });
}

}  // namespace

TEST_CASE("an empty run config resolves to the documented defaults", "[config]") {
  const RunConfig c = from_text("");
  CHECK(c.model.name == "llama2-7b");
  CHECK(c.peft.method == PeftMethod::dora);
  CHECK(c.peft.r == 16);
  CHECK(c.peft.alpha == Approx(32.0));
  CHECK(c.peft.dropout == 0.0);
  CHECK(c.peft.target_modules == std::vector<std::string>{"q_proj", "v_proj"});
  CHECK(c.train.micro_batch == 1);
  CHECK(c.train.seq_len == 2048);
  CHECK(c.train.grad_accum == 1);
  CHECK_FALSE(c.train.activation_checkpointing);
  CHECK(c.train.flash_attention);
  CHECK(c.train.precision == Precision::bf16_mixed);
  // DeepSpeed's code defaults (docs/reference/dora-zero.md §3.4).
  CHECK(c.zero.stage == 0);
  CHECK(c.zero.reduce_bucket_size == 500'000'000);
  CHECK(c.zero.allgather_bucket_size == 500'000'000);
  CHECK(c.zero.stage3_prefetch_bucket_size == 50'000'000);
  CHECK(c.zero.stage3_max_live_parameters == 1'000'000'000);
  CHECK(c.zero.stage3_max_reuse_distance == 1'000'000'000);
  CHECK(c.zero.stage3_param_persistence_threshold == 100'000);
  CHECK_FALSE(c.zero.overlap());  // None → False for stages 0-2
  CHECK(c.zero.contiguous_gradients);
  CHECK(c.zero.offload_optimizer == "none");
  CHECK(c.zero.offload_param == "none");
  CHECK(c.cluster.gpu == "a100-80gb-sxm");
  CHECK(c.cluster.gpus == 1);
  CHECK(c.cluster.gpus_per_node == 8);
  CHECK(c.cluster.intra == "auto");  // resolved per GPU when the platform is built
  CHECK(c.cluster.inter == "ib-hdr200");
  CHECK_FALSE(c.memory.fragmentation.has_value());  // replayed through the caching allocator
  CHECK_FALSE(c.memory.allocator.expandable_segments);
  CHECK_FALSE(c.memory.allocator.max_split_size_mb.has_value());
  CHECK(c.memory.allocator.roundup_power2_divisions == 0);
  CHECK(c.train.seq_len_distribution.empty());
  CHECK(c.gpu.id == "a100-80gb-sxm");
}

TEST_CASE("overlap_comm defaults to true for stage 3 only", "[config]") {
  CHECK(from_text("zero: {stage: 3}").zero.overlap());
  CHECK_FALSE(from_text("zero: {stage: 2}").zero.overlap());
  CHECK_FALSE(from_text("zero: {stage: 3, overlap_comm: false}").zero.overlap());
}

TEST_CASE("parse_override splits key=value at the first '='", "[config][set]") {
  const Override o = parse_override("zero.stage=3");
  CHECK(o.key == "zero.stage");
  CHECK(o.value == "3");
  const Override eq = parse_override("model=path/with=sign.json");
  CHECK(eq.key == "model");
  CHECK(eq.value == "path/with=sign.json");
  const std::string msg = config_error_message([] { parse_override("zero.stage"); });
  CHECK_THAT(msg, Catch::Contains("--set"));
  CHECK_THAT(msg, Catch::Contains("key=value"));
  CHECK_THAT(config_error_message([] { parse_override("=3"); }), Catch::Contains("key=value"));
}

TEST_CASE("set overrides (--set) change any key, including lists and new sections", "[config][set]") {
  const RunConfig c =
      from_text("zero: {stage: 0}\ncluster: {gpus: 1}",
                {parse_override("zero.stage=3"), parse_override("cluster.gpus=8"),
                 parse_override("peft.target_modules=[q_proj,k_proj]"),
                 parse_override("train.activation_checkpointing=true"), parse_override("peft.method=lora")});
  CHECK(c.zero.stage == 3);
  CHECK(c.cluster.gpus == 8);
  CHECK(c.train.activation_checkpointing);
  CHECK(c.peft.method == PeftMethod::lora);
  CHECK(c.peft.target_modules == std::vector<std::string>{"q_proj", "k_proj"});
  // Resolved: q_proj (index 0) and k_proj (index 1) adapted, v_proj not.
  REQUIRE(c.peft.adapted.size() == 7);
  CHECK(c.peft.adapted[0]);
  CHECK(c.peft.adapted[1]);
  CHECK_FALSE(c.peft.adapted[2]);

  // apply_override on a raw tree.
  YAML::Node root = YAML::Load("zero: {stage: 1}");
  apply_override(root, parse_override("zero.reduce_bucket_size=1e6"), "run.yaml");
  CHECK(root["zero"]["reduce_bucket_size"].as<double>() == 1e6);
  CHECK(root["zero"]["stage"].as<int>() == 1);
  // "model" is a value, not a section.
  const std::string msg = config_error_message([] {
    YAML::Node r = YAML::Load("model: llama2-7b");
    apply_override(r, parse_override("model.hidden=4"), "run.yaml");
  });
  CHECK_THAT(msg, Catch::Contains("model.hidden"));
}

TEST_CASE("ds_config.json: zero_optimization block with HF \"auto\" values", "[config][deepspeed]") {
  TempDir dir;
  // Hugging Face's ZeRO-3 template (transformers docs, deepspeed.md).
  dir.write("ds_z3.json", R"({
    "bf16": {"enabled": "auto"},
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
    "zero_optimization": {
      "stage": 3,
      "overlap_comm": true,
      "contiguous_gradients": true,
      "sub_group_size": 1e9,
      "reduce_bucket_size": "auto",
      "stage3_prefetch_bucket_size": "auto",
      "stage3_param_persistence_threshold": "auto",
      "stage3_max_live_parameters": 1e9,
      "stage3_max_reuse_distance": 1e9,
      "stage3_gather_16bit_weights_on_model_save": true
    }})");
  const std::string run =
      dir.write("run.yaml", "model: llama2-7b\ndeepspeed: ds_z3.json\ntrain: {micro_batch: 2}\n");
  const RunConfig c = load_run_config(run);
  CHECK(c.zero.stage == 3);
  CHECK(c.zero.overlap());
  // hidden = 4096: reduce_bucket_size = hidden² = 16,777,216
  CHECK(c.zero.reduce_bucket_size == 16'777'216);
  CHECK(auto_reduce_bucket_size(4096) == 16'777'216);
  // stage3_prefetch_bucket_size = 0.9·hidden² = 15,099,494.4 → 15,099,494 elements
  CHECK(c.zero.stage3_prefetch_bucket_size == 15'099'494);
  CHECK(auto_stage3_prefetch_bucket_size(4096) == 15'099'494);
  // stage3_param_persistence_threshold = 10·hidden = 40,960
  CHECK(c.zero.stage3_param_persistence_threshold == 40'960);
  CHECK(auto_stage3_persistence_threshold(4096) == 40'960);
  CHECK(c.zero.stage3_max_live_parameters == 1'000'000'000);
  // "auto" micro-batch takes the run config's value.
  CHECK(c.train.micro_batch == 2);

  // Explicit run-config zero keys win over the ds_config.
  const std::string run2 =
      dir.write("run2.yaml", "deepspeed: ds_z3.json\nzero: {stage: 2, reduce_bucket_size: 1000}\n");
  const RunConfig c2 = load_run_config(run2);
  CHECK(c2.zero.stage == 2);
  CHECK(c2.zero.reduce_bucket_size == 1000);

  // A different model's hidden size changes the auto values: Qwen2-7B hidden 3584 → 3584² = 12,845,056.
  const std::string run3 = dir.write("run3.yaml", "model: qwen2-7b\ndeepspeed: ds_z3.json\n");
  CHECK(load_run_config(run3).zero.reduce_bucket_size == 12'845'056);
}

TEST_CASE("ds_config.json: numeric values and offload devices", "[config][deepspeed]") {
  TempDir dir;
  dir.write("ds.json", R"({"train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 8,
    "bf16": {"enabled": true},
    "zero_optimization": {"stage": 2, "reduce_bucket_size": 5e7, "overlap_comm": false,
                          "offload_optimizer": {"device": "cpu", "pin_memory": true}}})");
  const RunConfig c = load_run_config(dir.write("run.yaml", "deepspeed: ds.json\n"));
  CHECK(c.zero.stage == 2);
  CHECK(c.zero.reduce_bucket_size == 50'000'000);
  CHECK(c.zero.offload_optimizer == "cpu");
  CHECK(c.train.micro_batch == 4);
  CHECK(c.train.grad_accum == 8);
  // A disagreeing explicit train.micro_batch is an error naming the ds_config key.
  const std::string msg = config_error_message(
      [&] { load_run_config(dir.write("run2.yaml", "deepspeed: ds.json\ntrain: {micro_batch: 1}\n")); });
  CHECK_THAT(msg, Catch::Contains("ds.json"));
  CHECK_THAT(msg, Catch::Contains("train_micro_batch_size_per_gpu"));
}

// ---- every bad input of issue 2 -------------------------------------------------------------------

TEST_CASE("unknown key: names the file, the key and the allowed keys", "[config][errors]") {
  TempDir dir;
  SECTION("top level") {
    const std::string msg = error_of_file(dir, "model: llama2-7b\ntrian: {micro_batch: 1}\n");
    CHECK_THAT(msg, Catch::Contains(dir.path("run.yaml")));
    CHECK_THAT(msg, Catch::Contains("'trian'"));
    CHECK_THAT(msg, Catch::Contains("line 2"));
    CHECK_THAT(msg, Catch::Contains("model, peft, train, zero"));
  }
  SECTION("inside a section") {
    const std::string msg = error_of_file(dir, "train: {micro_bath: 1}\n");
    CHECK_THAT(msg, Catch::Contains("'train.micro_bath'"));
    CHECK_THAT(msg, Catch::Contains("micro_batch, seq_len"));
  }
  SECTION("through --set") {
    const std::string msg = error_of_file(dir, "model: llama2-7b\n", {parse_override("zero.stgae=3")});
    CHECK_THAT(msg, Catch::Contains("'zero.stgae'"));
    CHECK_THAT(msg, Catch::Contains("stage"));
  }
}

TEST_CASE("unknown preset or GPU lists the known ones", "[config][errors]") {
  TempDir dir;
  const std::string model = error_of_file(dir, "model: llama4-7b\n");
  CHECK_THAT(model, Catch::Contains(dir.path("run.yaml")));
  CHECK_THAT(model, Catch::Contains("'model'"));
  CHECK_THAT(model, Catch::Contains("llama2-7b, llama2-70b") || Catch::Contains("llama2-7b"));
  CHECK_THAT(model, Catch::Contains("mistral-7b"));
  const std::string gpu = error_of_file(dir, "cluster: {gpu: h300}\n");
  CHECK_THAT(gpu, Catch::Contains(dir.path("run.yaml")));
  CHECK_THAT(gpu, Catch::Contains("'cluster.gpu'"));
  CHECK_THAT(gpu, Catch::Contains("h300"));
  CHECK_THAT(gpu, Catch::Contains("a100-80gb-sxm") && Catch::Contains("rtx-3090") && Catch::Contains("l40s"));
}

TEST_CASE("ZeRO stage outside 0-3", "[config][errors]") {
  TempDir dir;
  for (const char* stage : {"4", "5", "-1"}) {
    INFO("stage " << stage);
    const std::string msg = error_of_file(dir, std::string("zero: {stage: ") + stage + "}\n");
    CHECK_THAT(msg, Catch::Contains(dir.path("run.yaml")));
    CHECK_THAT(msg, Catch::Contains("'zero.stage'"));
    CHECK_THAT(msg, Catch::Contains("0, 1, 2, 3"));
  }
  // ... also in a ds_config.json, named by its own path and key.
  dir.write("ds.json", R"({"zero_optimization": {"stage": 5}})");
  const std::string msg = error_of_file(dir, "deepspeed: ds.json\n");
  CHECK_THAT(msg, Catch::Contains("ds.json"));
  CHECK_THAT(msg, Catch::Contains("'zero_optimization.stage'"));
  CHECK_THAT(msg, Catch::Contains("0, 1, 2, 3"));
}

TEST_CASE("r <= 0 and r > min(d_in, d_out)", "[config][errors]") {
  TempDir dir;
  for (const char* r : {"0", "-8"}) {
    INFO("r = " << r);
    const std::string msg = error_of_file(dir, std::string("peft: {method: lora, r: ") + r + "}\n");
    CHECK_THAT(msg, Catch::Contains("'peft.r'"));
    CHECK_THAT(msg, Catch::Contains("allowed: 1"));
  }
  // LLaMA-2-7B q_proj and v_proj are 4096→4096: r = 5000 > 4096.
  const std::string big =
      error_of_file(dir, "peft: {method: dora, r: 5000, target_modules: [q_proj, v_proj]}\n");
  CHECK_THAT(big, Catch::Contains(dir.path("run.yaml")));
  CHECK_THAT(big, Catch::Contains("'peft.r'"));
  CHECK_THAT(big, Catch::Contains("4096"));
  // Llama-3-8B v_proj is 4096→1024: r = 2048 fits q_proj but not v_proj.
  const std::string gqa =
      error_of_file(dir, "model: llama3-8b\npeft: {r: 2048, target_modules: [q_proj, v_proj]}\n");
  CHECK_THAT(gqa, Catch::Contains("'peft.r'"));
  CHECK_THAT(gqa, Catch::Contains("1024"));
}

TEST_CASE("unknown target module", "[config][errors]") {
  TempDir dir;
  const std::string msg = error_of_file(dir, "peft: {target_modules: [q_proj, qkv_proj]}\n");
  CHECK_THAT(msg, Catch::Contains(dir.path("run.yaml")));
  CHECK_THAT(msg, Catch::Contains("'peft.target_modules'"));
  CHECK_THAT(msg, Catch::Contains("qkv_proj"));
  CHECK_THAT(msg, Catch::Contains("gate_proj") && Catch::Contains("all-linear"));
}

TEST_CASE("micro_batch or seq_len <= 0", "[config][errors]") {
  TempDir dir;
  for (const char* yaml : {"train: {micro_batch: 0}\n", "train: {micro_batch: -2}\n"}) {
    const std::string msg = error_of_file(dir, yaml);
    CHECK_THAT(msg, Catch::Contains(dir.path("run.yaml")));
    CHECK_THAT(msg, Catch::Contains("'train.micro_batch'"));
    CHECK_THAT(msg, Catch::Contains("allowed: 1"));
  }
  for (const char* yaml : {"train: {seq_len: 0}\n", "train: {seq_len: -2048}\n"}) {
    const std::string msg = error_of_file(dir, yaml);
    CHECK_THAT(msg, Catch::Contains("'train.seq_len'"));
    CHECK_THAT(msg, Catch::Contains("allowed: 1"));
  }
  const std::string text = error_of_file(dir, "train: {seq_len: long}\n");
  CHECK_THAT(text, Catch::Contains("'train.seq_len'"));
  CHECK_THAT(text, Catch::Contains("integer"));
}

TEST_CASE("unreadable or non-JSON config.json named by the run config", "[config][errors]") {
  TempDir dir;
  const std::string missing = dir.path("nowhere/config.json");
  const std::string unreadable = error_of_file(dir, "model: " + missing + "\n");
  CHECK_THAT(unreadable, Catch::Contains(missing));
  CHECK_THAT(unreadable, Catch::Contains("config.json"));

  // A truncated download: the syntax error names the file and the line.
  const std::string broken =
      dir.write("broken/config.json", "{\"model_type\": \"llama\",\n\"hidden_size\": [4096\n");
  const std::string msg = error_of_file(dir, "model: " + broken + "\n");
  CHECK_THAT(msg, Catch::Contains(broken));
  CHECK_THAT(msg, Catch::Contains("line"));
  // An HTML error page saved as config.json: not a JSON object.
  const std::string html = dir.write("html/config.json", "<!DOCTYPE html>\n<html><body>404</body></html>\n");
  const std::string page = error_of_file(dir, "model: " + html + "\n");
  CHECK_THAT(page, Catch::Contains(html));
  CHECK_THAT(page, Catch::Contains("JSON"));
}

TEST_CASE("YAML syntax errors carry the line number", "[config][errors]") {
  TempDir dir;
  // Line 4 is indented less than the map it continues.
  const std::string msg = error_of_file(dir, "model: llama2-7b\ntrain:\n  micro_batch: 1\n seq_len: 2048\n");
  CHECK_THAT(msg, Catch::Contains(dir.path("run.yaml")));
  CHECK_THAT(msg, Catch::Contains("line 4"));
  // An unterminated flow mapping on line 2.
  const std::string flow = error_of_file(dir, "model: llama2-7b\npeft: {method: dora, r: 16\n");
  CHECK_THAT(flow, Catch::Contains("line"));
  // A missing run config is named.
  const std::string none = config_error_message([&] { load_run_config(dir.path("absent.yaml")); });
  CHECK_THAT(none, Catch::Contains(dir.path("absent.yaml")));
}

TEST_CASE("other enumerated keys list their allowed values", "[config][errors]") {
  TempDir dir;
  CHECK_THAT(error_of_file(dir, "peft: {method: qlora}\n"), Catch::Contains("none, lora, dora"));
  CHECK_THAT(error_of_file(dir, "train: {precision: fp16}\n"),
             Catch::Contains("bf16-mixed, fp16-mixed, bf16-pure"));
  CHECK_THAT(error_of_file(dir, "cluster: {intra: infiniband}\n"),
             Catch::Contains("auto, nvswitch, nvlink-bridge, pcie"));
  CHECK_THAT(error_of_file(dir, "cluster: {nccl_algo: nvlsring}\n"),
             Catch::Contains("auto, ring, tree, nvls, nvlstree, collnet, pat"));
  CHECK_THAT(error_of_file(dir, "zero: {stage: 2, offload_param: cpu}\n"),
             Catch::Contains("'zero.offload_param'"));
}

TEST_CASE("memory.allocator: PYTORCH_CUDA_ALLOC_CONF's options with PyTorch's limits",
          "[config][allocator]") {
  const RunConfig c = from_text(
      "memory: {allocator: {expandable_segments: true, max_split_size_mb: 512, roundup_power2_divisions: "
      "4}}");
  CHECK(c.memory.allocator.expandable_segments);
  CHECK(c.memory.allocator.max_split_size_mb == 512);
  CHECK(c.memory.allocator.roundup_power2_divisions == 4);
  CHECK_FALSE(c.memory.fragmentation.has_value());
  const nlohmann::json echo = c.echo()["memory"];
  CHECK(echo["fragmentation"] == "replay");
  CHECK(echo["allocator"]["expandable_segments"] == true);
  CHECK(echo["allocator"]["max_split_size_mb"] == 512);
  CHECK(from_text("").echo()["memory"]["allocator"]["max_split_size_mb"].is_null());

  TempDir dir;
  // PyTorch refuses max_split_size_mb ≤ 20 (kLargeBuffer): such blocks must stay splittable.
  CHECK_THAT(error_of_file(dir, "memory: {allocator: {max_split_size_mb: 20}}\n"),
             Catch::Contains("memory.allocator.max_split_size_mb") && Catch::Contains("21"));
  CHECK_THAT(error_of_file(dir, "memory: {allocator: {roundup_power2_divisions: 3}}\n"),
             Catch::Contains("memory.allocator.roundup_power2_divisions") && Catch::Contains("power of two"));
  CHECK_THAT(error_of_file(dir, "memory: {allocator: {roundup_power2_divisions: 1}}\n"),
             Catch::Contains("power of two"));
  CHECK_THAT(error_of_file(dir, "memory: {allocator: {garbage_collection_threshold: 0.6}}\n"),
             Catch::Contains("memory.allocator.garbage_collection_threshold") &&
                 Catch::Contains("expandable_segments"));
  CHECK_THAT(error_of_file(dir, "memory: {allocator: expandable_segments}\n"),
             Catch::Contains("memory.allocator") && Catch::Contains("a map of"));
}

TEST_CASE("memory.fragmentation: 'replay' by default, or a fixed fraction that replaces the replay",
          "[config][allocator]") {
  CHECK_FALSE(from_text("memory: {fragmentation: replay}").memory.fragmentation.has_value());
  const RunConfig fixed = from_text("memory: {fragmentation: 0.1}");
  REQUIRE(fixed.memory.fragmentation.has_value());
  CHECK(*fixed.memory.fragmentation == Approx(0.1));
  CHECK(fixed.echo()["memory"]["fragmentation"] == Approx(0.1));
  TempDir dir;
  CHECK_THAT(error_of_file(dir, "memory: {fragmentation: 1.5}\n"),
             Catch::Contains("memory.fragmentation") && Catch::Contains("replay"));
  CHECK_THAT(error_of_file(dir, "memory: {fragmentation: lots}\n"), Catch::Contains("memory.fragmentation"));
  // A fixed factor and allocator options contradict each other: one would be ignored.
  CHECK_THAT(error_of_file(dir, "memory: {fragmentation: 0.1, allocator: {expandable_segments: true}}\n"),
             Catch::Contains("memory.allocator") && Catch::Contains("no effect"));
}

TEST_CASE("train.seq_len_distribution: fixed, ramp, or a list of lengths up to seq_len",
          "[config][allocator]") {
  CHECK(from_text("train: {seq_len_distribution: fixed}").train.seq_len_distribution.empty());
  // ramp: 8 steps at ⌈seq_len·k/8⌉ = 256, 512, ..., 2048 for seq_len 2048.
  const RunConfig ramp = from_text("train: {seq_len: 2048, seq_len_distribution: ramp}");
  CHECK(ramp.train.seq_len_distribution == std::vector<int64_t>{256, 512, 768, 1024, 1280, 1536, 1792, 2048});
  // 1000 · k / 8 rounded up: 125, 250, 375, 500, 625, 750, 875, 1000.
  CHECK(from_text("train: {seq_len: 1000, seq_len_distribution: ramp}").train.seq_len_distribution.front() ==
        125);
  const RunConfig list = from_text("train: {seq_len: 4096, seq_len_distribution: [4096, 700, 2048]}");
  CHECK(list.train.seq_len_distribution == std::vector<int64_t>{4096, 700, 2048});
  CHECK(list.echo()["train"]["seq_len_distribution"] == nlohmann::json({4096, 700, 2048}));
  CHECK_FALSE(from_text("").echo()["train"].contains("seq_len_distribution"));  // echoed only when set

  TempDir dir;
  CHECK_THAT(error_of_file(dir, "train: {seq_len: 1024, seq_len_distribution: [512, 2048]}\n"),
             Catch::Contains("train.seq_len_distribution[1]") && Catch::Contains("1024"));
  CHECK_THAT(error_of_file(dir, "train: {seq_len_distribution: []}\n"),
             Catch::Contains("train.seq_len_distribution") && Catch::Contains("fixed, ramp"));
  CHECK_THAT(error_of_file(dir, "train: {seq_len_distribution: gaussian}\n"), Catch::Contains("fixed, ramp"));
}
