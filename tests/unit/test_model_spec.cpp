// Model shapes: the bundled presets against their published Hugging Face config.json values, exact
// parameter totals worked out by hand, and the config.json loader (llama, qwen v1, mpt; bad files).
#include <algorithm>
#include <catch2/catch.hpp>

#include "test_support.h"
#include "workloads/model_spec.h"

using zerosim::group_of;
using zerosim::LinearGroup;
using zerosim::LinearRole;
using zerosim::load_model;
using zerosim::ModelSpec;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;
using zerosim::testing::test_data;

namespace {

struct Published {
  const char* preset;
  const char* model_type;
  int64_t hidden, intermediate, layers, heads, kv_heads, vocab;
  bool tied;
};

// Values of each model's own config.json on the Hugging Face Hub.
const Published kPublished[] = {
    {"llama2-7b", "llama", 4096, 11008, 32, 32, 32, 32000, false},    // meta-llama/Llama-2-7b-hf
    {"llama2-13b", "llama", 5120, 13824, 40, 40, 40, 32000, false},   // meta-llama/Llama-2-13b-hf
    {"llama2-70b", "llama", 8192, 28672, 80, 64, 8, 32000, false},    // meta-llama/Llama-2-70b-hf (GQA)
    {"llama3-8b", "llama", 4096, 14336, 32, 32, 8, 128256, false},    // meta-llama/Meta-Llama-3-8B
    {"mistral-7b", "mistral", 4096, 14336, 32, 32, 8, 32000, false},  // mistralai/Mistral-7B-v0.1
    {"qwen2-7b", "qwen2", 3584, 18944, 28, 28, 4, 152064, false},     // Qwen/Qwen2-7B
};

}  // namespace

TEST_CASE("every preset matches its published Hugging Face config.json", "[model]") {
  for (const auto& p : kPublished) {
    INFO("preset " << p.preset);
    const ModelSpec m = load_model(p.preset);
    CHECK(m.model_type == p.model_type);
    CHECK(m.hidden == p.hidden);
    CHECK(m.intermediate == p.intermediate);
    CHECK(m.layers == p.layers);
    CHECK(m.heads == p.heads);
    CHECK(m.kv_heads == p.kv_heads);
    CHECK(m.vocab == p.vocab);
    CHECK(m.tied_embeddings == p.tied);
    CHECK(m.head_dim * m.heads == p.hidden);  // head_dim = hidden / heads for all six
    CHECK(m.layer_linears.size() == 7);       // q, k, v, o, gate, up, down
  }
}

TEST_CASE("preset names list the bundled models", "[model]") {
  const auto names = zerosim::preset_names();
  for (const auto& p : kPublished) CHECK(std::find(names.begin(), names.end(), p.preset) != names.end());
}

TEST_CASE("LLaMA-2-7B has exactly 6,738,415,616 parameters", "[model]") {
  // Per layer: q,k,v,o 4·4096² = 67,108,864; gate,up,down 3·4096·11008 = 135,266,304;
  //            two RMSNorm weights 2·4096 = 8,192                  → 202,383,360
  // 32 layers: 6,476,267,520; embed + untied lm_head 2·32000·4096 = 262,144,000; final norm 4,096
  // Total: 6,476,267,520 + 262,144,000 + 4,096 = 6,738,415,616 (docs/reference/dora-zero.md §2)
  const ModelSpec m = load_model("llama2-7b");
  CHECK(m.params_per_layer() == 202'383'360);
  CHECK(m.embedding_params() == 131'072'000);
  CHECK(m.lm_head_params() == 131'072'000);
  CHECK(m.total_params() == 6'738'415'616);
}

TEST_CASE("Llama-3-8B has exactly 8,030,261,248 parameters", "[model]") {
  // GQA: 8 KV heads × head_dim 128 → k,v are 4096→1024.
  // Per layer: q,o 2·4096² = 33,554,432; k,v 2·4096·1024 = 8,388,608;
  //            gate,up,down 3·4096·14336 = 176,160,768; norms 8,192   → 218,112,000
  // 32 layers: 6,979,584,000; embed + lm_head 2·128256·4096 = 1,050,673,152; final norm 4,096
  // Total: 6,979,584,000 + 1,050,673,152 + 4,096 = 8,030,261,248
  const ModelSpec m = load_model("llama3-8b");
  CHECK(m.kv_dim() == 1024);
  CHECK(m.params_per_layer() == 218'112'000);
  CHECK(m.total_params() == 8'030'261'248);
}

TEST_CASE("Qwen2-7B has exactly 7,615,616,512 parameters (q/k/v carry a bias)", "[model]") {
  // head_dim 3584/28 = 128, 4 KV heads → k,v are 3584→512.
  // Per layer: q 3584² + 3584 (bias) = 12,848,640; k,v 2·(3584·512 + 512) = 3,671,040;
  //            o 3584² = 12,845,056; gate,up,down 3·3584·18944 = 203,685,888; norms 7,168
  //            → 233,057,792
  // 28 layers: 6,525,618,176; embed + lm_head 2·152064·3584 = 1,089,994,752; final norm 3,584
  // Total: 6,525,618,176 + 1,089,994,752 + 3,584 = 7,615,616,512
  const ModelSpec m = load_model("qwen2-7b");
  CHECK(m.params_per_layer() == 233'057'792);
  CHECK(m.total_params() == 7'615'616'512);
}

TEST_CASE("LLaMA-2-13B has exactly 13,015,864,320 parameters", "[model]") {
  // Per layer: 4·5120² = 104,857,600; 3·5120·13824 = 212,336,640; norms 10,240 → 317,204,480
  // 40 layers: 12,688,179,200; embed + lm_head 2·32000·5120 = 327,680,000; final norm 5,120
  // Total: 12,688,179,200 + 327,680,000 + 5,120 = 13,015,864,320
  const ModelSpec m = load_model("llama2-13b");
  CHECK(m.params_per_layer() == 317'204'480);
  CHECK(m.total_params() == 13'015'864'320);
}

TEST_CASE("LLaMA-2-70B has exactly 68,976,648,192 parameters (grouped-query attention)", "[model]") {
  // 8 KV heads × 128 → k,v are 8192→1024.
  // Per layer: q,o 2·8192² = 134,217,728; k,v 2·8192·1024 = 16,777,216;
  //            gate,up,down 3·8192·28672 = 704,643,072; norms 16,384 → 855,654,400
  // 80 layers: 68,452,352,000; embed + lm_head 2·32000·8192 = 524,288,000; final norm 8,192
  // Total: 68,452,352,000 + 524,288,000 + 8,192 = 68,976,648,192
  const ModelSpec m = load_model("llama2-70b");
  CHECK(m.kv_dim() == 1024);
  CHECK(m.params_per_layer() == 855'654'400);
  CHECK(m.total_params() == 68'976'648'192);
}

TEST_CASE("Mistral-7B-v0.1 has exactly 7,241,732,096 parameters", "[model]") {
  // As Llama-3-8B per layer (218,112,000) but vocab 32000:
  // 32·218,112,000 = 6,979,584,000; 2·32000·4096 = 262,144,000; + 4,096 → 7,241,732,096
  CHECK(load_model("mistral-7b").total_params() == 7'241'732'096);
}

TEST_CASE("a LLaMA config.json loads from a path, a directory, or relative to the run config", "[model]") {
  TempDir dir;
  const std::string text = R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
    "tie_word_embeddings": true})";
  const std::string path = dir.write("tiny/config.json", text);
  const ModelSpec m = load_model(path);
  CHECK(m.hidden == 64);
  CHECK(m.intermediate == 128);
  CHECK(m.layers == 2);
  CHECK(m.heads == 4);
  CHECK(m.kv_heads == 2);
  CHECK(m.head_dim == 16);  // 64 / 4
  CHECK(m.kv_dim() == 32);  // 2 · 16
  CHECK(m.vocab == 100);
  CHECK(m.tied_embeddings);
  // q 64·64 + k 64·32 + v 64·32 + o 64·64 = 12,288; gate,up,down 3·64·128 = 24,576; norms 128
  // → 36,992 per layer; 2 layers 73,984; tied embedding 6,400 once; final norm 64 → 80,448
  CHECK(m.params_per_layer() == 36'992);
  CHECK(m.lm_head_params() == 0);
  CHECK(m.total_params() == 80'448);

  // A directory holding config.json, and a path relative to the run config's folder.
  CHECK(load_model(dir.path("tiny")).total_params() == 80'448);
  CHECK(load_model("tiny/config.json", dir.path("run.yaml")).total_params() == 80'448);
}

TEST_CASE("Llama-3.2-3B config.json: explicit head_dim and tied embeddings", "[model]") {
  // 24 heads × head_dim 128 = 3072; 8 KV heads → k,v 3072→1024.
  // Per layer: q,o 2·3072² = 18,874,368; k,v 2·3072·1024 = 6,291,456;
  //            gate,up,down 3·3072·8192 = 75,497,472; norms 6,144 → 100,669,440
  // 28 layers: 2,818,744,320; tied embedding 128256·3072 = 394,002,432 once; final norm 3,072
  // Total: 2,818,744,320 + 394,002,432 + 3,072 = 3,212,749,824
  const ModelSpec m = load_model(test_data("models/llama-3.2-3b.json"));
  CHECK(m.head_dim == 128);
  CHECK(m.tied_embeddings);
  CHECK(m.total_params() == 3'212'749'824);
}

TEST_CASE("Qwen (v1) config.json: fused c_attn with bias, intermediate_size counts both MLP branches",
          "[model]") {
  const ModelSpec m = load_model(test_data("models/qwen-7b.json"));
  CHECK(m.model_type == "qwen");
  CHECK(m.hidden == 4096);
  CHECK(m.intermediate == 11008);  // 22016 / 2: w1 and w2 are each 4096→11008
  CHECK(m.layers == 32);
  CHECK(m.heads == 32);
  CHECK(m.head_dim == 128);  // kv_channels
  CHECK(m.vocab == 151936);
  REQUIRE(m.layer_linears.size() == 5);
  CHECK(m.layer_linears[0].name == "c_attn");
  CHECK(m.layer_linears[0].d_out == 3 * 4096);
  CHECK(m.layer_linears[0].bias);
  // Per layer: c_attn 4096·12288 + 12288 = 50,343,936; attn c_proj 4096² = 16,777,216;
  //            w1,w2 2·4096·11008 = 90,177,536; mlp c_proj 11008·4096 = 45,088,768; norms 8,192
  //            → 202,395,648
  // 32 layers: 6,476,660,736; wte + lm_head 2·151936·4096 = 1,244,659,712; ln_f 4,096
  // Total: 6,476,660,736 + 1,244,659,712 + 4,096 = 7,721,324,544 (Qwen-7B's published 7.72B)
  CHECK(m.params_per_layer() == 202'395'648);
  CHECK(m.total_params() == 7'721'324'544);
}

TEST_CASE("linears grouped by the tensor they read: two c_proj in Qwen (v1) fall in different groups",
          "[model]") {
  using zerosim::LinearGroup;
  const ModelSpec llama = load_model("llama2-7b");
  // q_proj k_proj v_proj | o_proj | gate_proj up_proj | down_proj
  CHECK(llama.linears_in(LinearGroup::attention_input) == std::vector<size_t>{0, 1, 2});
  CHECK(llama.linears_in(LinearGroup::attention_output) == std::vector<size_t>{3});
  CHECK(llama.linears_in(LinearGroup::mlp_input) == std::vector<size_t>{4, 5});
  CHECK(llama.linears_in(LinearGroup::mlp_output) == std::vector<size_t>{6});
  const ModelSpec qwen = load_model(test_data("models/qwen-7b.json"));
  // c_attn | c_proj | w2 w1 | c_proj
  CHECK(qwen.linears_in(LinearGroup::attention_input) == std::vector<size_t>{0});
  CHECK(qwen.linears_in(LinearGroup::attention_output) == std::vector<size_t>{1});
  CHECK(qwen.linears_in(LinearGroup::mlp_input) == std::vector<size_t>{2, 3});
  CHECK(qwen.linears_in(LinearGroup::mlp_output) == std::vector<size_t>{4});
}

TEST_CASE("MPT config.json: Wqkv, GELU MLP with expansion_ratio, bias-free LayerNorm, tied", "[model]") {
  const ModelSpec m = load_model(test_data("models/mpt-7b.json"));
  CHECK(m.model_type == "mpt");
  CHECK(m.hidden == 4096);
  CHECK(m.intermediate == 16384);  // 4 · 4096
  CHECK(m.layers == 32);
  CHECK(m.mlp == zerosim::MlpKind::gelu);
  CHECK(m.norm == zerosim::NormKind::layernorm);
  CHECK_FALSE(m.norm_bias);  // no_bias: true
  CHECK_FALSE(m.rotary);     // ALiBi
  CHECK(m.tied_embeddings);
  // Per layer: Wqkv 4096·12288 = 50,331,648; out_proj 4096² = 16,777,216;
  //            up,down 2·4096·16384 = 134,217,728; two LayerNorm weights 8,192 → 201,334,784
  // 32 layers: 6,442,713,088; tied wte 50432·4096 = 206,569,472; norm_f 4,096
  // Total: 6,442,713,088 + 206,569,472 + 4,096 = 6,649,286,656 (MPT-7B's published 6.65B)
  CHECK(m.params_per_layer() == 201'334'784);
  CHECK(m.total_params() == 6'649'286'656);
}

TEST_CASE("bad model inputs are ConfigErrors naming the file and the key", "[model][errors]") {
  TempDir dir;
  SECTION("unknown preset lists the presets") {
    const std::string msg = config_error_message([] { load_model("llama9-7b", "run.yaml", "model"); });
    CHECK_THAT(msg, Catch::Contains("run.yaml"));
    CHECK_THAT(msg, Catch::Contains("'model'"));
    CHECK_THAT(msg, Catch::Contains("llama9-7b"));
    CHECK_THAT(msg, Catch::Contains("llama2-7b"));
    CHECK_THAT(msg, Catch::Contains("qwen2-7b"));
  }
  SECTION("unreadable config.json names the path") {
    const std::string missing = dir.path("nowhere/config.json");
    const std::string msg = config_error_message([&] { load_model(missing, "run.yaml", "model"); });
    CHECK_THAT(msg, Catch::Contains(missing));
  }
  SECTION("non-JSON config.json names the file and the line") {
    const std::string bad =
        dir.write("bad/config.json", "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": [4096\n");
    const std::string msg = config_error_message([&] { load_model(bad, "run.yaml", "model"); });
    CHECK_THAT(msg, Catch::Contains(bad));
    CHECK_THAT(msg, Catch::Contains("line"));
  }
  SECTION("a config.json that is not an object") {
    const std::string bad = dir.write("scalar/config.json", "just some text\n");
    const std::string msg = config_error_message([&] { load_model(bad); });
    CHECK_THAT(msg, Catch::Contains(bad));
  }
  SECTION("unsupported model_type lists the supported ones") {
    const std::string bad = dir.write("gpt2/config.json", R"({"model_type": "gpt2", "n_embd": 768})");
    const std::string msg = config_error_message([&] { load_model(bad); });
    CHECK_THAT(msg, Catch::Contains("'model_type'"));
    CHECK_THAT(msg, Catch::Contains("gpt2"));
    CHECK_THAT(msg, Catch::Contains("llama") && Catch::Contains("mpt"));
  }
  SECTION("a missing required key is named") {
    const std::string bad =
        dir.write("nohidden/config.json",
                  R"({"model_type": "llama", "intermediate_size": 128, "num_hidden_layers": 2,
                                          "num_attention_heads": 4, "vocab_size": 100})");
    const std::string msg = config_error_message([&] { load_model(bad); });
    CHECK_THAT(msg, Catch::Contains("'hidden_size'"));
  }
  SECTION("heads that do not divide hidden_size") {
    const std::string bad = dir.write("heads/config.json",
                                      R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
                                          "num_hidden_layers": 2, "num_attention_heads": 5, "vocab_size": 100})");
    const std::string msg = config_error_message([&] { load_model(bad); });
    CHECK_THAT(msg, Catch::Contains("'num_attention_heads'"));
  }
  SECTION("a negative size is out of range") {
    const std::string bad = dir.write("neg/config.json",
                                      R"({"model_type": "llama", "hidden_size": -64, "intermediate_size": 128,
                                          "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100})");
    const std::string msg = config_error_message([&] { load_model(bad); });
    CHECK_THAT(msg, Catch::Contains("'hidden_size'"));
    CHECK_THAT(msg, Catch::Contains("allowed"));
  }
}

TEST_CASE("Phi-3-mini has exactly 3,821,079,552 parameters (fused qkv_proj and gate_up_proj)", "[model]") {
  const ModelSpec m = load_model("phi3-mini");
  CHECK(m.model_type == "phi3");
  // Per layer: qkv_proj 3072 x 9216 = 28,311,552; o_proj 3072 x 3072 = 9,437,184; gate_up_proj
  // 3072 x 16384 = 50,331,648; down_proj 8192 x 3072 = 25,165,824; two norms 6,144: 113,252,352.
  // x 32 layers = 3,624,075,264; embedding and lm_head 32064 x 3072 = 98,500,608 each; final norm 3,072.
  CHECK(m.params_per_layer() == 113'252'352);
  CHECK(m.total_params() == 3'821'079'552);
  REQUIRE(m.layer_linears.size() == 4);
  CHECK(m.layer_linears[0].name == "qkv_proj");
  CHECK(m.layer_linears[2].name == "gate_up_proj");
  CHECK(m.layer_linears[2].d_out == 2 * m.intermediate);
}

TEST_CASE("Phi-3 with grouped-query attention: qkv_proj is q_dim + 2 kv_dim wide; dropouts refused",
          "[model]") {
  const std::string medium = R"({"model_type": "phi3", "hidden_size": 5120, "intermediate_size": 17920,
      "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 10, "vocab_size": 32064,
      "resid_pdrop": 0.0})";
  const ModelSpec m = zerosim::model_from_hf_config(medium, "phi3-medium.json");
  CHECK(m.layer_linears[0].d_out == 5120 + 2 * 1280);
  // Phi-3-medium-4k: per layer qkv 5120 x 7680, o 5120², gate_up 5120 x 35840, down 17920 x 5120, 2 norms
  // = 340,797,440; x 40 + 2 x 32064 x 5120 + 5120 = 13,960,238,080 (the Hub rounds it to 14.0B).
  CHECK(m.total_params() == 13'960'238'080);
  CHECK_THAT(zerosim::testing::config_error_message([] {
               zerosim::model_from_hf_config(
                   R"({"model_type": "phi3", "hidden_size": 64, "intermediate_size": 128,
                   "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 100, "resid_pdrop": 0.1})",
                   "p.json");
             }),
             Catch::Contains("resid_pdrop"));
}

TEST_CASE("Gemma-2-9B has exactly 9,241,705,984 parameters (four norms per layer, tied 256k embeddings)",
          "[model]") {
  const ModelSpec m = load_model("gemma2-9b");
  CHECK(m.model_type == "gemma2");
  CHECK(m.head_dim == 256);  // not 3584 / 16 = 224
  CHECK(m.tied_embeddings);
  CHECK(m.norms_per_layer() == 4);
  CHECK(m.final_logit_softcap == 30.0);
  CHECK(m.sliding_window == 4096);
  // Per layer: q 3584 x 4096 and o 4096 x 3584 = 14,680,064 each; k, v 3584 x 2048 = 7,340,032 each;
  // gate, up, down 3584 x 14336 = 51,380,224 each; four norms 4 x 3584 = 14,336: 198,195,200.
  // x 42 = 8,324,198,400; the tied embedding 256,000 x 3584 = 917,504,000; final norm 3,584.
  CHECK(m.params_per_layer() == 198'195'200);
  CHECK(m.total_params() == 9'241'705'984);
}

TEST_CASE("Mixtral-8x7B has exactly 46,702,792,704 parameters (8 experts per layer, top-2)", "[model][moe]") {
  const ModelSpec m = load_model("mixtral-8x7b");
  CHECK(m.model_type == "mixtral");
  CHECK(m.moe());
  CHECK(m.experts == 8);
  CHECK(m.experts_per_token == 2);
  // Per layer: q 4096 x 4096 = 16,777,216 and o the same; k, v 4096 x 1024 = 4,194,304 each; the router
  // gate 4096 x 8 = 32,768; 8 experts x (w1, w3 4096 x 14336 and w2 14336 x 4096 = 176,160,768) =
  // 1,409,286,144; two norms 8,192: 1,451,270,144. x 32 = 46,440,644,608; embedding and lm_head
  // 32000 x 4096 = 131,072,000 each; final norm 4,096.
  CHECK(m.params_per_layer() == 1'451'270'144);
  CHECK(m.total_params() == 46'702'792'704);
  REQUIRE(m.layer_linears.size() == 8);
  CHECK(m.layer_linears[4].name == "gate");
  CHECK(m.layer_linears[4].role == LinearRole::router);
  CHECK(group_of(LinearRole::router) == LinearGroup::router);
  CHECK(m.layer_linears[5].name == "w1");
  CHECK(m.layer_linears[5].experts == 8);
  CHECK(m.layer_linears[5].routed == 2);
  CHECK(m.layer_linears[7].name == "w2");
  CHECK(m.layer_linears[7].d_in == 14336);
}

TEST_CASE("Mixtral config.json: what the sparse MoE block cannot take is refused, naming the key",
          "[model][moe][errors]") {
  const std::string base = R"({"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 128,
      "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, )";
  CHECK_THAT(zerosim::testing::config_error_message([&] {
               zerosim::model_from_hf_config(base + R"("num_local_experts": 4, "num_experts_per_tok": 5})",
                                             "m.json");
             }),
             Catch::Contains("num_experts_per_tok") && Catch::Contains("num_local_experts"));
  CHECK_THAT(zerosim::testing::config_error_message(
                 [&] { zerosim::model_from_hf_config(base + R"("num_experts_per_tok": 2})", "m.json"); }),
             Catch::Contains("num_local_experts") && Catch::Contains("missing"));
  CHECK_THAT(zerosim::testing::config_error_message([&] {
               zerosim::model_from_hf_config(
                   base + R"("num_local_experts": 4, "num_experts_per_tok": 2, "router_jitter_noise": 0.1})",
                   "m.json");
             }),
             Catch::Contains("router_jitter_noise"));
  // output_router_logits and router_aux_loss_coef change the loss's value, not its time or memory.
  const ModelSpec ok = zerosim::model_from_hf_config(
      base + R"("num_local_experts": 4, "num_experts_per_tok": 2, "output_router_logits": true,
      "router_aux_loss_coef": 0.02, "router_jitter_noise": 0.0})",
      "m.json");
  CHECK(ok.experts == 4);
}
