// PEFT trainable-parameter counts with peft's semantics (docs/reference/dora-zero.md §2): LoRA adds
// r·(d_in+d_out) per adapted linear, DoRA adds the d_out magnitude on top; target resolution and
// adapter_config.json reading.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "workloads/param_inventory.h"
#include "workloads/peft_spec.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;
using zerosim::testing::test_data;

namespace {

ParamCounts counts(const ModelSpec& model, PeftMethod method, int64_t r, std::vector<std::string> targets) {
  PeftSpec p;
  p.method = method;
  p.r = r;
  p.target_modules = std::move(targets);
  resolve_targets(p, model, "test.yaml");
  return count_params(param_modules(model, p));
}

}  // namespace

TEST_CASE("per-module formulas: LoRA r·(d_in+d_out), DoRA adds d_out", "[peft]") {
  // q_proj of LLaMA-2-7B, r=16: 16·(4096+4096) = 131,072; DoRA + 4096 = 135,168
  CHECK(lora_params(16, 4096, 4096) == 131'072);
  CHECK(dora_params(16, 4096, 4096) == 135'168);
  // down_proj 11008→4096, r=8: 8·(11008+4096) = 120,832; DoRA + 4096 = 124,928
  CHECK(lora_params(8, 11008, 4096) == 120'832);
  CHECK(dora_params(8, 11008, 4096) == 124'928);
}

TEST_CASE("LLaMA-2-7B r=16 on q_proj+v_proj: LoRA 8,388,608, DoRA 8,650,752", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  // LoRA: 32 layers × 2 modules × 16 × (4096+4096) = 8,388,608
  const ParamCounts lora = counts(m, PeftMethod::lora, 16, {"q_proj", "v_proj"});
  CHECK(lora.trainable == 8'388'608);
  // DoRA: + 32 layers × 2 modules × 4096 (magnitude) = 262,144 → 8,650,752
  const ParamCounts dora = counts(m, PeftMethod::dora, 16, {"q_proj", "v_proj"});
  CHECK(dora.trainable == 8'650'752);
  // Frozen = the whole base model; total = base + adapters.
  CHECK(dora.frozen == 6'738'415'616);
  CHECK(dora.total == 6'738'415'616 + 8'650'752);
  CHECK(lora.frozen == 6'738'415'616);
}

TEST_CASE("LLaMA-2-7B q,v r=8 and r=64 (reference §2 table)", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  // q,v: 32·2·r·8192 = 524,288·r; magnitude 32·2·4096 = 262,144
  CHECK(counts(m, PeftMethod::lora, 8, {"q_proj", "v_proj"}).trainable == 4'194'304);    // 524,288·8
  CHECK(counts(m, PeftMethod::dora, 8, {"q_proj", "v_proj"}).trainable == 4'456'448);    // + 262,144
  CHECK(counts(m, PeftMethod::lora, 64, {"q_proj", "v_proj"}).trainable == 33'554'432);  // 524,288·64
  CHECK(counts(m, PeftMethod::dora, 64, {"q_proj", "v_proj"}).trainable == 33'816'576);  // + 262,144
}

TEST_CASE("LLaMA-2-7B all-linear r=8/16/64 (reference §2 table)", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  // Per layer Σ(d_in+d_out): q,k,v,o 4·8192 = 32,768; gate,up,down 3·(4096+11008) = 45,312 → 78,080
  // LoRA = 32·r·78,080 = 2,498,560·r; magnitude = 32·(4·4096 + 2·11008 + 4096) = 32·42,496 = 1,359,872
  struct Row {
    int64_t r, lora, dora;
  };
  const Row rows[] = {
      {8, 19'988'480, 21'348'352},     // 2,498,560·8;  + 1,359,872
      {16, 39'976'960, 41'336'832},    // 2,498,560·16; + 1,359,872
      {64, 159'907'840, 161'267'712},  // 2,498,560·64; + 1,359,872
  };
  for (const auto& row : rows) {
    INFO("r = " << row.r);
    CHECK(counts(m, PeftMethod::lora, row.r, {"all-linear"}).trainable == row.lora);
    CHECK(counts(m, PeftMethod::dora, row.r, {"all-linear"}).trainable == row.dora);
  }
  // Listing the seven modules is the same as all-linear.
  CHECK(counts(m, PeftMethod::dora, 16,
               {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})
            .trainable == 41'336'832);
}

TEST_CASE("GQA models: k_proj and v_proj adapters are narrower", "[peft]") {
  // Llama-3-8B: v_proj 4096→1024. r=16 q,v: 32·16·((4096+4096) + (4096+1024)) = 32·16·13,312 = 6,815,744
  // DoRA magnitude 32·(4096 + 1024) = 163,840 → 6,979,584
  const ModelSpec m = load_model("llama3-8b");
  CHECK(counts(m, PeftMethod::lora, 16, {"q_proj", "v_proj"}).trainable == 6'815'744);
  CHECK(counts(m, PeftMethod::dora, 16, {"q_proj", "v_proj"}).trainable == 6'979'584);
}

TEST_CASE("method none trains every parameter", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  const ParamCounts c = counts(m, PeftMethod::none, 16, {"q_proj", "v_proj"});
  CHECK(c.trainable == 6'738'415'616);
  CHECK(c.frozen == 0);
}

TEST_CASE("Qwen (v1): c_proj names two linears, peft adapts both", "[peft]") {
  const ModelSpec m = load_model(test_data("models/qwen-7b.json"));
  // c_proj: attention 4096→4096 and MLP 11008→4096. r=8:
  // 32·8·((4096+4096) + (11008+4096)) = 32·8·23,296 = 5,963,776
  CHECK(counts(m, PeftMethod::lora, 8, {"c_proj"}).trainable == 5'963'776);
  // c_attn 4096→12288: 32·8·16,384 = 4,194,304
  CHECK(counts(m, PeftMethod::lora, 8, {"c_attn"}).trainable == 4'194'304);
}

TEST_CASE("target resolution rejects unknown modules and ranks above min(d_in, d_out)", "[peft][errors]") {
  const ModelSpec m = load_model("llama2-7b");
  PeftSpec p;
  p.method = PeftMethod::dora;
  SECTION("unknown target module lists the allowed names") {
    p.target_modules = {"q_proj", "query_key_value"};
    const std::string msg = config_error_message([&] { resolve_targets(p, m, "run.yaml"); });
    CHECK_THAT(msg, Catch::Contains("run.yaml"));
    CHECK_THAT(msg, Catch::Contains("'peft.target_modules'"));
    CHECK_THAT(msg, Catch::Contains("query_key_value"));
    CHECK_THAT(msg, Catch::Contains("q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"));
    CHECK_THAT(msg, Catch::Contains("all-linear"));
  }
  SECTION("r larger than min(d_in, d_out): 4097 > 4096 for q_proj") {
    p.r = 4097;
    p.target_modules = {"q_proj"};
    const std::string msg = config_error_message([&] { resolve_targets(p, m, "run.yaml"); });
    CHECK_THAT(msg, Catch::Contains("'peft.r'"));
    CHECK_THAT(msg, Catch::Contains("4096"));
  }
  SECTION("r = 4096 = min(d_in, d_out) is allowed") {
    p.r = 4096;
    p.target_modules = {"q_proj"};
    CHECK_NOTHROW(resolve_targets(p, m, "run.yaml"));
  }
}

TEST_CASE("adapter_config.json: r, lora_alpha, target_modules list, use_dora, lora_dropout", "[peft]") {
  TempDir dir;
  const std::string path = dir.write("adapter/adapter_config.json", R"({
    "peft_type": "LORA", "r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "use_dora": true,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"], "bias": "none", "task_type": "CAUSAL_LM"})");
  PeftSpec p = peft_from_adapter_config(path);
  CHECK(p.method == PeftMethod::dora);
  CHECK(p.r == 8);
  CHECK(p.alpha == Approx(16.0));
  CHECK(p.dropout == Approx(0.05));
  CHECK(p.scaling() == Approx(2.0));  // 16 / 8
  CHECK(p.target_modules == std::vector<std::string>{"q_proj", "k_proj", "v_proj", "o_proj"});
  CHECK(p.adapter_file == path);

  const ModelSpec m = load_model("llama2-7b");
  resolve_targets(p, m, "run.yaml");
  // q,k,v,o: 32·4·8·8192 = 8,388,608 + magnitude 32·4·4096 = 524,288 → 8,912,896
  CHECK(count_params(param_modules(m, p)).trainable == 8'912'896);
}

TEST_CASE("adapter_config.json: use_dora false is LoRA, rsLoRA scaling, defaults", "[peft]") {
  TempDir dir;
  const std::string path = dir.write("adapter_config.json",
                                     R"({"r": 16, "lora_alpha": 32, "use_dora": false, "use_rslora": true})");
  const PeftSpec p = peft_from_adapter_config(path);
  CHECK(p.method == PeftMethod::lora);
  CHECK(p.scaling() == Approx(8.0));  // rsLoRA: 32 / √16
  CHECK(p.dropout == 0.0);
  // No target_modules: peft's llama default, q_proj and v_proj.
  CHECK(p.target_modules == std::vector<std::string>{"q_proj", "v_proj"});

  const std::string no_alpha = dir.write("b/adapter_config.json", R"({"r": 4})");
  CHECK(peft_from_adapter_config(no_alpha).alpha == Approx(8.0));  // peft's default lora_alpha
}

TEST_CASE("adapter_config.json: a regex string target is a full match over module paths", "[peft]") {
  TempDir dir;
  const std::string path = dir.write("adapter_config.json",
                                     R"json({"r": 16, "lora_alpha": 32, "use_dora": true,
                                         "target_modules": ".*\\.(q_proj|v_proj)"})json");
  PeftSpec p = peft_from_adapter_config(path);
  const ModelSpec m = load_model("llama2-7b");
  resolve_targets(p, m, "run.yaml");
  // Matches model.layers.N.self_attn.q_proj and .v_proj only: same as the q,v list, 8,650,752.
  CHECK(count_params(param_modules(m, p)).trainable == 8'650'752);

  const std::string all = dir.write("all/adapter_config.json", R"({"r": 8, "target_modules": "all-linear"})");
  PeftSpec q = peft_from_adapter_config(all);
  resolve_targets(q, m, "run.yaml");
  CHECK(count_params(param_modules(m, q)).trainable == 19'988'480);  // LoRA all-linear r=8

  const std::string none =
      dir.write("none/adapter_config.json", R"({"r": 8, "target_modules": ".*\\.nothing"})");
  PeftSpec n = peft_from_adapter_config(none);
  const std::string msg = config_error_message([&] { resolve_targets(n, m, "run.yaml"); });
  CHECK_THAT(msg, Catch::Contains(none));
  CHECK_THAT(msg, Catch::Contains("'target_modules'"));
}

TEST_CASE(
    "adapter_config.json: a string is always a regex, a list holds names or dotted suffixes, as in peft",
    "[peft]") {
  TempDir dir;
  const ModelSpec m = load_model("llama2-7b");
  // peft: re.fullmatch("q_proj", "model.layers.0.self_attn.q_proj") is None for every module, so peft
  // raises "Target modules q_proj not found"; zerosim says so instead of adapting q_proj.
  const std::string plain =
      dir.write("plain/adapter_config.json", R"({"r": 16, "target_modules": "q_proj"})");
  PeftSpec p = peft_from_adapter_config(plain);
  const std::string msg = config_error_message([&] { resolve_targets(p, m, "run.yaml"); });
  CHECK_THAT(msg, Catch::Contains("matches no module"));
  CHECK_THAT(msg, Catch::Contains("model.layers.0.self_attn.q_proj"));
  // A list item is a name or a dotted suffix of the module path (check_target_module_exists):
  // "self_attn.q_proj" is q_proj in every layer: LoRA r=16 on q only = 32 · 16 · (4096 + 4096) = 4,194,304.
  const std::string suffix =
      dir.write("suffix/adapter_config.json", R"({"r": 16, "target_modules": ["self_attn.q_proj"]})");
  PeftSpec q = peft_from_adapter_config(suffix);
  resolve_targets(q, m, "run.yaml");
  CHECK(count_params(param_modules(m, q)).trainable == 4'194'304);
  // In a list, regex characters are literal: peft finds no module called "model.*q_proj".
  const std::string listed =
      dir.write("listed/adapter_config.json", R"({"r": 16, "target_modules": [".*q_proj"]})");
  PeftSpec l = peft_from_adapter_config(listed);
  CHECK_THAT(config_error_message([&] { resolve_targets(l, m, "run.yaml"); }),
             Catch::Contains("unknown target module"));
  // A suffix naming one layer's index adapts that layer only (peft:
  // key.endswith(".layers.3.self_attn.q_proj")): LoRA r=16 on one q_proj = 16 · (4096 + 4096) = 131,072.
  const std::string layer =
      dir.write("layer/adapter_config.json", R"({"r": 16, "target_modules": ["layers.3.self_attn.q_proj"]})");
  PeftSpec y = peft_from_adapter_config(layer);
  resolve_targets(y, m, "run.yaml");
  CHECK(count_params(param_modules(m, y)).trainable == 131'072);
  CHECK(y.layers_adapted() == std::vector<int>{3});
}

TEST_CASE("bad adapter_config.json values name the file and the key", "[peft][errors]") {
  TempDir dir;
  SECTION("r <= 0") {
    const std::string path = dir.write("a.json", R"({"r": 0})");
    const std::string msg = config_error_message([&] { peft_from_adapter_config(path); });
    CHECK_THAT(msg, Catch::Contains(path));
    CHECK_THAT(msg, Catch::Contains("'r'"));
    CHECK_THAT(msg, Catch::Contains("allowed"));
  }
  SECTION("not JSON") {
    const std::string path = dir.write("b.json", "{\"r\": 8,\n\"lora_alpha\": }\n");
    const std::string msg = config_error_message([&] { peft_from_adapter_config(path); });
    CHECK_THAT(msg, Catch::Contains(path));
    CHECK_THAT(msg, Catch::Contains("line"));
  }
  SECTION("missing file") {
    const std::string path = dir.path("missing/adapter_config.json");
    const std::string msg = config_error_message([&] { peft_from_adapter_config(path); });
    CHECK_THAT(msg, Catch::Contains(path));
  }
  SECTION("another peft type") {
    const std::string path = dir.write("c.json", R"({"peft_type": "IA3", "r": 8})");
    const std::string msg = config_error_message([&] { peft_from_adapter_config(path); });
    CHECK_THAT(msg, Catch::Contains("'peft_type'"));
    CHECK_THAT(msg, Catch::Contains("LORA"));
  }
}

namespace {

// LLaMA-2-7B DoRA q_proj, r=16: 16·4096 + 4096·16 + 4096 (magnitude) = 135,168 per layer.
constexpr int64_t kDoraQ16 = 135'168;

ParamCounts adapter_counts(const std::string& json, const ModelSpec& m) {
  TempDir dir;
  PeftSpec p = peft_from_adapter_config(dir.write("adapter_config.json", json));
  resolve_targets(p, m, "run.yaml");
  return count_params(param_modules(m, p));
}

std::string adapter_error(const std::string& json, const std::string& model = "llama2-7b") {
  TempDir dir;
  const std::string path = dir.write("adapter_config.json", json);
  return config_error_message([&] {
    PeftSpec p = peft_from_adapter_config(path);
    resolve_targets(p, load_model(model), "run.yaml");
  });
}

}  // namespace

TEST_CASE("rank_pattern: per-module rank, key matched as peft's get_pattern_key", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  // DoRA q,v r=16 with {"q_proj": 64}: q = 32·(64·8192 + 4096) = 32·528,384 = 16,908,288;
  // v = 32·(16·8192 + 4096) = 32·135,168 = 4,325,376; sum 21,233,664 (not 8,650,752).
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                           "rank_pattern": {"q_proj": 64}})",
                       m)
            .trainable == 21'233'664);
  // re.match(r"(.*\.)?(layers\.0\.self_attn\.q_proj)$", path): only layer 0's q_proj gets r=64:
  // 8,650,752 − 135,168 + (64·8192 + 4096) = 8,650,752 − 135,168 + 528,384 = 9,043,968.
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                           "rank_pattern": {"layers\\.0\\.self_attn\\.q_proj": 64}})",
                       m)
            .trainable == 9'043'968);
  // The first key that matches wins (dict order): "q_proj" before ".*_proj".
  // q at 8: 32·(8·8192 + 4096) = 2,228,224; v at 4: 32·(4·8192 + 4096) = 1,179,648 → 3,407,872.
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                           "rank_pattern": {"q_proj": 8, ".*_proj": 4}})",
                       m)
            .trainable == 3'407'872);
  // "proj" matches neither: (.*\.)?(proj)$ needs the key right after a dot or at the start of the path.
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                           "rank_pattern": {"proj": 64}})",
                       m)
            .trainable == 8'650'752);
  // alpha_pattern changes the scaling only, not the count; the slot records it.
  TempDir dir;
  PeftSpec p = peft_from_adapter_config(dir.write("a.json", R"({"r": 16, "lora_alpha": 32,
      "alpha_pattern": {"v_proj": 8}})"));
  resolve_targets(p, m, "run.yaml");
  CHECK(p.uniform());
  CHECK(p.max_rank() == 16);
}

TEST_CASE("regex target_modules: matched in full against every layer's module paths", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  // One module: layer 0's q_proj, 135,168 (not 32 × 135,168 = 4,325,376).
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true,
                           "target_modules": "model\\.layers\\.0\\.self_attn\\.q_proj"})",
                       m)
            .trainable == kDoraQ16);
  // Layers 16-31, q and v: 16 layers × 2 modules × 135,168 = 4,325,376.
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true,
                           "target_modules": ".*layers\\.(1[6-9]|2[0-9]|3[01])\\..*(q|v)_proj"})",
                       m)
            .trainable == 4'325'376);
}

TEST_CASE("layers_to_transform and layers_pattern select layers as peft does", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  // Layers 0 and 1, q and v: 2 × 2 × 135,168 = 540,672.
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                           "layers_to_transform": [0, 1]})",
                       m)
            .trainable == 540'672);
  // An int is one layer; layers_pattern "layers" finds ".layers.<n>.": 2 × 135,168 = 270,336.
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                           "layers_to_transform": 5, "layers_pattern": "layers"})",
                       m)
            .trainable == 270'336);
  // A layers_pattern absent from the paths selects nothing: peft finds no target.
  CHECK_THAT(adapter_error(R"({"r": 16, "target_modules": ["q_proj"], "layers_to_transform": [1],
                               "layers_pattern": ["h"]})"),
             Catch::Contains("matches no module"));
  // peft's LoraConfig refuses layers_to_transform with a regex string, and layers_pattern alone.
  CHECK_THAT(adapter_error(R"({"r": 16, "target_modules": ".*q_proj", "layers_to_transform": [1]})"),
             Catch::Contains("'layers_to_transform'"));
  CHECK_THAT(adapter_error(R"({"r": 16, "layers_pattern": "layers"})"), Catch::Contains("'layers_pattern'"));
}

TEST_CASE("exclude_modules: a list by name or dotted suffix, a string as a full-match regex", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  // q,v DoRA r=16 minus layer 0's q_proj: 8,650,752 − 135,168 = 8,515,584.
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                           "exclude_modules": ["layers.0.self_attn.q_proj"]})",
                       m)
            .trainable == 8'515'584);
  // Regex: every v_proj excluded: 32 × 135,168 = 4,325,376 left.
  CHECK(adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                           "exclude_modules": ".*v_proj"})",
                       m)
            .trainable == 4'325'376);
}

TEST_CASE("modules_to_save: a frozen original and a trainable full copy", "[peft]") {
  const ModelSpec m = load_model("llama2-7b");
  // DoRA q,v r=16 (8,650,752) + lm_head and embed_tokens copies 2 × 32000 × 4096 = 262,144,000.
  const ParamCounts c = adapter_counts(R"({"r": 16, "use_dora": true, "target_modules": ["q_proj", "v_proj"],
                                           "modules_to_save": ["lm_head", "embed_tokens"]})",
                                       m);
  CHECK(c.trainable == 270'794'752);  // 8,650,752 + 262,144,000
  CHECK(c.frozen == 6'738'415'616);   // the originals stay, frozen
  // Tied embeddings and decoder submodules are refused.
  CHECK_THAT(adapter_error(R"({"r": 8, "modules_to_save": ["q_proj"]})"),
             Catch::Contains("'modules_to_save'"));
  CHECK_THAT(adapter_error(R"({"r": 8, "modules_to_save": ["classifier"]})"), Catch::Contains("lm_head"));
}

TEST_CASE("adapter_config.json fields: refused, no effect, or unknown", "[peft][errors]") {
  CHECK_THAT(adapter_error(R"({"r": 8, "layer_replication": [[0, 16], [8, 24]]})"),
             Catch::Contains("'layer_replication'"));
  CHECK_THAT(adapter_error(R"({"r": 8, "task_type": "SEQ_CLS"})"), Catch::Contains("score"));
  CHECK_THAT(adapter_error(R"({"r": 8, "lora_bias": true})"), Catch::Contains("'lora_bias'"));
  CHECK_THAT(adapter_error(R"({"r": 8, "target_parameters": ["experts.gate_up_proj"]})"),
             Catch::Contains("'target_parameters'"));
  {  // an unknown field: ignored with a warning, as peft does
    TempDir dir;
    const PeftSpec w = peft_from_adapter_config(dir.write("w.json", R"({"r": 8, "lora_rank": 8})"));
    REQUIRE(w.warnings.size() == 1);
    CHECK_THAT(w.warnings[0], Catch::Contains("'lora_rank'"));
  }
  CHECK_THAT(adapter_error(R"({"r": 8, "bias": "some"})"), Catch::Contains("none, all, lora_only"));
  // Left at their defaults these are accepted, and the no-effect fields change nothing:
  // q,v LoRA r=8 = 524,288 · 8 = 4,194,304.
  const ModelSpec m = load_model("llama2-7b");
  CHECK(adapter_counts(R"({"r": 8, "layer_replication": null, "lora_bias": false, "inference_mode": true,
                           "init_lora_weights": "gaussian", "revision": null, "fan_in_fan_out": false,
                           "task_type": "CAUSAL_LM", "bias": "all", "use_qalora": false,
                           "runtime_config": {"ephemeral_gpu_offload": false}})",
                       m)
            .trainable == 4'194'304);  // bias: all — LLaMA has no biases
  // Qwen2 has q/k/v biases: bias all / lora_only would train them, not modelled.
  CHECK_THAT(adapter_error(R"({"r": 8, "bias": "lora_only"})", "qwen2-7b"), Catch::Contains("'bias'"));
}

TEST_CASE("base_model_name_or_path naming another model: a warning line", "[peft]") {
  PeftSpec p;
  p.adapter_file = "a/adapter_config.json";
  const ModelSpec m = load_model("llama2-7b");
  p.base_model = "meta-llama/Llama-2-7b-hf";
  CHECK(base_model_mismatch(p, m).empty());
  p.base_model = "mistralai/Mistral-7B-v0.1";
  CHECK_THAT(base_model_mismatch(p, m), Catch::Contains("Mistral-7B-v0.1"));
}
